//! Reading layers: directories with the community layout and `[overrides]`
//! tables of `lock2build.toml`, checked strictly. Every problem is
//! collected, never just the first one.

use crate::database::{Entry, Origin};
use crate::error::OverrideError;
use crate::layer::{LayerKind, LayerSource};
use crate::providers::{IdKind, Providers};
use crate::schema::{EntryDoc, PackageFileDoc};
use crate::version_range::VersionRange;
use lock2build_model::Ecosystem;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;
use toml::Spanned;

/// The ecosystems, in the order their directories are read.
pub const ECOSYSTEMS: [Ecosystem; 3] = [Ecosystem::Pypi, Ecosystem::Npm, Ecosystem::Crates];

/// Parses `pypi`, `npm` or `crates`.
pub fn parse_ecosystem(name: &str) -> Option<Ecosystem> {
    ECOSYSTEMS.into_iter().find(|e| e.as_str() == name)
}

/// The name under which a package is looked up: PEP 503 for PyPI,
/// lowercase with `_` as `-` for crates (crates.io treats them as one),
/// lowercase for npm.
pub fn normalize_name(ecosystem: Ecosystem, name: &str) -> String {
    match ecosystem {
        Ecosystem::Pypi => lock2build_model::normalize_python_name(name),
        Ecosystem::Crates => name.trim().to_ascii_lowercase().replace('_', "-"),
        Ecosystem::Npm => name.trim().to_ascii_lowercase(),
    }
}

/// An id used by an entry, checked once every layer's providers are known.
pub(crate) struct PendingId {
    pub file: PathBuf,
    pub text: Option<String>,
    pub offset: usize,
    pub key: String,
    pub id: String,
    pub expected: IdKind,
}

/// Everything read from the layers, before ids are checked.
#[derive(Default)]
pub(crate) struct Loaded {
    pub providers: Providers,
    pub packages: BTreeMap<(Ecosystem, String), Vec<Entry>>,
    pub pending: Vec<PendingId>,
    pub errors: Vec<OverrideError>,
    /// The ecosystems whose package files a layer directory gives (all
    /// when `None`): a build reads only its own.
    pub only: Option<Vec<Ecosystem>>,
}

impl Loaded {
    pub fn load_source(&mut self, source: &LayerSource) {
        match source {
            LayerSource::Dir { kind, root } => self.load_dir(*kind, root),
            LayerSource::ConfigText { kind, file, text } => {
                self.load_config(*kind, file, text, true)
            }
            LayerSource::ConfigValue { kind, file, value } => {
                let mut wrapper = toml::Table::new();
                wrapper.insert("overrides".to_owned(), value.clone());
                match toml::to_string(&wrapper) {
                    Ok(text) => self.load_config(*kind, file, &text, false),
                    Err(e) => self.errors.push(
                        OverrideError::new(
                            file,
                            format!("the [overrides] table cannot be read: {e}"),
                        )
                        .with_key("overrides"),
                    ),
                }
            }
        }
    }

    /// Checks every pending id against the final provider table.
    pub fn check_ids(&mut self) {
        for pending in std::mem::take(&mut self.pending) {
            let problem = match self.providers.kind_of(&pending.id) {
                Some(kind) if kind == pending.expected => continue,
                Some(IdKind::Tool) => format!("`{}` is a tool: list it under `tools`", pending.id),
                Some(IdKind::Native) => format!(
                    "`{}` is a native library: list it under `native`",
                    pending.id
                ),
                None => format!(
                    "unknown {} id `{}`",
                    kind_word(pending.expected),
                    pending.id
                ),
            };
            let help = match self.suggest(&pending.id, pending.expected) {
                Some(near) => format!("did you mean `{near}`? Ids are defined in providers.toml"),
                None => "define it in providers.toml (any layer) or use an existing id".to_owned(),
            };
            self.errors.push(
                OverrideError::new(&pending.file, problem)
                    .with_key(pending.key)
                    .at_offset(pending.text.as_deref(), Some(pending.offset))
                    .with_help(help),
            );
        }
    }

    fn suggest(&self, id: &str, expected: IdKind) -> Option<String> {
        self.providers
            .iter()
            .filter(|p| p.kind == expected)
            .map(|p| (edit_distance(id, &p.id), p.id.clone()))
            .filter(|(distance, _)| *distance <= 2)
            .min()
            .map(|(_, known)| known)
    }

    fn load_dir(&mut self, kind: LayerKind, root: &Path) {
        if !root.is_dir() {
            self.errors.push(
                OverrideError::new(root, "overrides layer directory does not exist")
                    .with_help("create it, or remove it from the layer list"),
            );
            return;
        }
        let providers = root.join("providers.toml");
        match std::fs::read_to_string(&providers) {
            Ok(text) => {
                let errors = &mut self.errors;
                self.providers
                    .merge_text(kind, &providers, &text, true, errors);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if kind == LayerKind::Community {
                    self.errors.push(
                        OverrideError::new(&providers, "the community layer has no providers.toml")
                            .with_help("point $LOCK2BUILD_OVERRIDES at the repository's overrides/ directory"),
                    );
                }
            }
            Err(e) => self
                .errors
                .push(OverrideError::new(&providers, format!("cannot read: {e}"))),
        }
        for ecosystem in ECOSYSTEMS {
            if self
                .only
                .as_ref()
                .is_some_and(|only| !only.contains(&ecosystem))
            {
                continue;
            }
            let dir = root.join(ecosystem.as_str());
            if dir.is_dir() {
                for (name, file) in package_files(ecosystem, &dir, &mut self.errors) {
                    match std::fs::read_to_string(&file) {
                        Ok(text) => self.load_package_text(kind, ecosystem, &name, &file, &text),
                        Err(e) => self
                            .errors
                            .push(OverrideError::new(&file, format!("cannot read: {e}"))),
                    }
                }
            }
        }
    }

    fn load_package_text(
        &mut self,
        kind: LayerKind,
        ecosystem: Ecosystem,
        name: &str,
        file: &Path,
        text: &str,
    ) {
        let doc: PackageFileDoc = match toml::from_str(text) {
            Ok(doc) => doc,
            Err(e) => {
                self.errors.push(
                    OverrideError::new(file, e.message().trim().to_owned())
                        .at_offset(Some(text), e.span().map(|s| s.start))
                        .with_help("see overrides/README.md, section \"Package files\""),
                );
                return;
            }
        };
        if doc.entries.is_empty() {
            self.errors.push(
                OverrideError::new(file, "no [[entry]] in this file")
                    .with_help("add one, or delete the file"),
            );
        }
        let base = file.parent().unwrap_or(Path::new(".")).to_path_buf();
        let context = FileContext {
            kind,
            ecosystem,
            file: file.to_path_buf(),
            text: Some(text.to_owned()),
            base,
        };
        for (index, entry) in doc.entries.into_iter().enumerate() {
            self.add_entry(
                &context,
                name,
                index,
                format!("entry[{}]", index + 1),
                entry,
            );
        }
    }

    fn load_config(&mut self, kind: LayerKind, file: &Path, text: &str, real_text: bool) {
        let shown = real_text.then_some(text);
        let doc: ConfigDoc = match toml::from_str(text) {
            Ok(doc) => doc,
            Err(e) => {
                self.errors.push(
                    OverrideError::new(file, e.message().trim().to_owned())
                        .at_offset(shown, e.span().map(|s| s.start))
                        .with_help("see overrides/README.md, section \"Layers\""),
                );
                return;
            }
        };
        let Some(overrides) = doc.overrides else {
            return;
        };
        if let Some(providers) = overrides.providers {
            let providers_text = render_providers(&providers);
            match providers_text {
                Ok(t) => {
                    let errors = &mut self.errors;
                    self.providers.merge_text(kind, file, &t, false, errors);
                }
                Err(e) => self
                    .errors
                    .push(OverrideError::new(file, e).with_key("overrides.providers")),
            }
        }
        let base = file.parent().unwrap_or(Path::new(".")).to_path_buf();
        for (ecosystem, table) in [
            (Ecosystem::Pypi, overrides.pypi),
            (Ecosystem::Npm, overrides.npm),
            (Ecosystem::Crates, overrides.crates),
        ] {
            let context = FileContext {
                kind,
                ecosystem,
                file: file.to_path_buf(),
                text: shown.map(str::to_owned),
                base: base.clone(),
            };
            for (name, package) in table {
                let prefix = format!("overrides.{}.{}", ecosystem.as_str(), name.get_ref());
                // Inline tables may spell names as the registry shows them.
                if let Some(problem) =
                    name_problem(ecosystem, &normalize_name(ecosystem, name.get_ref()))
                {
                    self.errors.push(
                        OverrideError::new(file, problem)
                            .with_key(prefix.clone())
                            .at_offset(shown, Some(name.span().start)),
                    );
                    continue;
                }
                let key = normalize_name(ecosystem, name.get_ref());
                match package.into_entries(name.span().start) {
                    Ok(entries) => {
                        for (index, entry) in entries.into_iter().enumerate() {
                            self.add_entry(
                                &context,
                                &key,
                                index,
                                format!("{prefix}.entry[{}]", index + 1),
                                entry,
                            );
                        }
                    }
                    Err(message) => self.errors.push(
                        OverrideError::new(file, message)
                            .with_key(prefix)
                            .at_offset(shown, Some(name.span().start)),
                    ),
                }
            }
        }
    }

    fn add_entry(
        &mut self,
        cx: &FileContext,
        name: &str,
        index: usize,
        key: String,
        doc: EntryDoc,
    ) {
        let mut check = EntryCheck {
            cx,
            key: &key,
            errors: Vec::new(),
        };
        let range = match VersionRange::parse(cx.ecosystem, doc.versions.get_ref()) {
            Ok(range) => range,
            Err(message) => {
                check.push(
                    check
                        .error(doc.versions.span().start, "versions", message)
                        .with_help(range_help(cx.ecosystem)),
                );
                VersionRange::Any
            }
        };
        for (field, ids, expected) in [
            ("native", &doc.native, IdKind::Native),
            ("tools", &doc.tools, IdKind::Tool),
        ] {
            for id in ids {
                self.pending.push(PendingId {
                    file: cx.file.clone(),
                    text: cx.text.clone(),
                    offset: id.span().start,
                    key: format!("{key}.{field}"),
                    id: id.get_ref().clone(),
                    expected,
                });
            }
        }
        check.optional(&doc);
        let build_requires = check.build_requires(&doc);
        let env = check.env(&doc);
        check.bundled(&doc);
        let patches = check.patches(&doc);
        if !check.errors.is_empty() {
            self.errors.append(&mut check.errors);
            return;
        }
        let origin = Origin {
            layer: cx.kind,
            file: cx.file.clone(),
            entry: index + 1,
            line: cx
                .text
                .as_deref()
                .map(|t| lock2build_model::line_column(t, doc.versions.span().start).0),
            versions: doc.versions.get_ref().clone(),
        };
        let bundled = doc.bundled.as_ref().map(|b| crate::database::Bundled {
            system_env: b.system_env.iter().map(|e| e.get_ref().clone()).collect(),
            system_features: b
                .system_features
                .iter()
                .map(|f| f.get_ref().clone())
                .collect(),
        });
        let entry = Entry {
            origin,
            range,
            native: doc.native.iter().map(|s| s.get_ref().clone()).collect(),
            optional: doc.optional.iter().map(|s| s.get_ref().clone()).collect(),
            tools: doc.tools.iter().map(|s| s.get_ref().clone()).collect(),
            build_requires,
            env,
            patches,
            prefer: doc.prefer.map(|p| p.into_inner()),
            bundled,
            replace: doc.replace.into_iter().map(|f| f.into_inner()).collect(),
            note: doc.note,
        };
        self.packages
            .entry((cx.ecosystem, name.to_owned()))
            .or_default()
            .push(entry);
    }
}

/// The checks of one entry's fields, and the errors they found.
struct EntryCheck<'a> {
    cx: &'a FileContext,
    /// `ecosystem.name.entry[N]`.
    key: &'a str,
    errors: Vec<OverrideError>,
}

impl EntryCheck<'_> {
    fn error(&self, offset: usize, field: &str, message: String) -> OverrideError {
        OverrideError::new(&self.cx.file, message)
            .with_key(format!("{}.{field}", self.key))
            .at_offset(self.cx.text.as_deref(), Some(offset))
    }

    fn push(&mut self, error: OverrideError) {
        self.errors.push(error);
    }

    /// Every `optional` library is one of `native`.
    fn optional(&mut self, doc: &EntryDoc) {
        for id in &doc.optional {
            if !doc.native.iter().any(|n| n.get_ref() == id.get_ref()) {
                let e = self.error(
                    id.span().start,
                    "optional",
                    format!("`{}` is not in this entry's `native`", id.get_ref()),
                )
                .with_help("list the optional library under `native` too: `optional` marks which of them the build can do without");
                self.push(e);
            }
        }
    }

    /// PEP 508 requirements, for PyPI packages only.
    fn build_requires(&mut self, doc: &EntryDoc) -> Vec<String> {
        let mut build_requires = Vec::new();
        for requirement in &doc.build_requires {
            let at = requirement.span().start;
            if self.cx.ecosystem != Ecosystem::Pypi {
                let e = self
                    .error(
                        at,
                        "build-requires",
                        "`build-requires` is for PyPI packages only".to_owned(),
                    )
                    .with_help("for npm and crates, list programs under `tools`");
                self.push(e);
                continue;
            }
            match pep508_rs::Requirement::<pep508_rs::VerbatimUrl>::from_str(requirement.get_ref())
            {
                Ok(_) => build_requires.push(requirement.get_ref().trim().to_owned()),
                Err(e) => {
                    let e = self
                        .error(
                            at,
                            "build-requires",
                            format!("not a PEP 508 requirement: {e}"),
                        )
                        .with_help("e.g. \"setuptools>=67\", \"cython>=3,<4\"");
                    self.push(e);
                }
            }
        }
        build_requires
    }

    /// Environment variables, by valid names.
    fn env(&mut self, doc: &EntryDoc) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        for (name, value) in &doc.env {
            if !is_env_name(name.get_ref()) {
                let e = self
                    .error(
                        name.span().start,
                        "env",
                        format!("`{}` is not an environment variable name", name.get_ref()),
                    )
                    .with_help("use letters, digits and `_`, not starting with a digit");
                self.push(e);
            }
            env.insert(name.get_ref().clone(), value.get_ref().clone());
        }
        env
    }

    /// `bundled.system-env` knobs are `NAME` or `NAME=VALUE`.
    fn bundled(&mut self, doc: &EntryDoc) {
        for knob in doc.bundled.iter().flat_map(|b| &b.system_env) {
            let name = knob
                .get_ref()
                .split_once('=')
                .map_or(knob.get_ref().as_str(), |(n, _)| n);
            if !is_env_name(name) {
                let e = self.error(
                    knob.span().start,
                    "bundled.system-env",
                    format!("`{}` is not `NAME` or `NAME=VALUE`", knob.get_ref()),
                )
                .with_help("e.g. \"ZSTD_SYS_USE_PKG_CONFIG\" (on when set, not empty, not 0) or \"LIBGIT2_NO_VENDOR=1\"");
                self.push(e);
            }
        }
    }

    /// Patch files: relative paths inside the layer, that exist.
    fn patches(&mut self, doc: &EntryDoc) -> Vec<PathBuf> {
        let mut patches = Vec::new();
        for patch in &doc.patches {
            let relative = Path::new(patch.get_ref());
            let escapes = relative.is_absolute()
                || relative
                    .components()
                    .any(|c| matches!(c, Component::ParentDir | Component::Prefix(_)));
            let full = self.cx.base.join(relative);
            let at = patch.span().start;
            if escapes {
                let e = self
                    .error(
                        at,
                        "patches",
                        format!(
                            "`{}` must be a relative path inside the layer",
                            patch.get_ref()
                        ),
                    )
                    .with_help(
                        "put the patch next to the package file, e.g. `pillow/fix-build.patch`",
                    );
                self.push(e);
            } else if !full.is_file() {
                let e = self
                    .error(
                        at,
                        "patches",
                        format!(
                            "patch `{}` not found (looked at {})",
                            patch.get_ref(),
                            full.display()
                        ),
                    )
                    .with_help("paths are relative to the file that lists them");
                self.push(e);
            }
            patches.push(full);
        }
        patches
    }
}

struct FileContext {
    kind: LayerKind,
    ecosystem: Ecosystem,
    file: PathBuf,
    text: Option<String>,
    base: PathBuf,
}

fn kind_word(kind: IdKind) -> &'static str {
    match kind {
        IdKind::Native => "native",
        IdKind::Tool => "tool",
    }
}

fn range_help(ecosystem: Ecosystem) -> &'static str {
    match ecosystem {
        Ecosystem::Pypi => "PyPI ranges are PEP 440 specifiers, e.g. \">=2.9,<3\", or \"*\"",
        Ecosystem::Npm => {
            "npm ranges are node-semver ranges, e.g. \">=2 <3\", \"^5 || ^6\", or \"*\""
        }
        Ecosystem::Crates => {
            "crate ranges are Cargo requirements, e.g. \">=0.9, <0.11\", \"0.14\", or \"*\""
        }
    }
}

fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Why `name` cannot be a package file name of `ecosystem`, if it cannot.
pub(crate) fn name_problem(ecosystem: Ecosystem, name: &str) -> Option<String> {
    let plain = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    match ecosystem {
        Ecosystem::Pypi => {
            let normal = normalize_name(ecosystem, name);
            if !plain(name) {
                Some(format!("`{name}` is not a PyPI project name"))
            } else if normal != name {
                Some(format!(
                    "PyPI names are written normalised (PEP 503): use `{normal}`, not `{name}`"
                ))
            } else {
                None
            }
        }
        Ecosystem::Crates => {
            let ok = plain(name) && !name.contains('.') && name == name.to_ascii_lowercase();
            (!ok).then(|| format!("`{name}` is not a lowercase crate name"))
        }
        Ecosystem::Npm => {
            let bare = match name.strip_prefix('@') {
                Some(scoped) => scoped
                    .split_once('/')
                    .is_some_and(|(scope, rest)| plain(scope) && plain(rest)),
                None => plain(name),
            };
            let ok = bare && name == name.to_ascii_lowercase();
            (!ok).then(|| format!("`{name}` is not a lowercase npm package name"))
        }
    }
}

/// `(package name, file)` for every package file of an ecosystem directory:
/// `*.toml` directly in it, plus `@scope/*.toml` for npm. Other files and
/// directories (patches, `build-systems/`) are not package files.
fn package_files(
    ecosystem: Ecosystem,
    dir: &Path,
    errors: &mut Vec<OverrideError>,
) -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    let mut scan = |dir: &Path,
                    prefix: &str,
                    errors: &mut Vec<OverrideError>,
                    scopes: &mut Vec<PathBuf>| {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                errors.push(OverrideError::new(dir, format!("cannot list: {e}")));
                return;
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let file_name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if ecosystem == Ecosystem::Npm && prefix.is_empty() && file_name.starts_with('@') {
                    scopes.push(path);
                }
                continue;
            }
            let Some(stem) = file_name.strip_suffix(".toml") else {
                continue;
            };
            let name = format!("{prefix}{stem}");
            match name_problem(ecosystem, &name) {
                Some(problem) => errors.push(
                    OverrideError::new(&path, problem)
                        .with_help("the file name is the package name, as its registry writes it"),
                ),
                None => found.push((normalize_name(ecosystem, &name), path)),
            }
        }
    };
    let mut scopes = Vec::new();
    scan(dir, "", errors, &mut scopes);
    for scope in scopes {
        let prefix = format!(
            "{}/",
            scope.file_name().unwrap_or_default().to_string_lossy()
        );
        scan(&scope, &prefix, errors, &mut Vec::new());
    }
    found.sort();
    found
}

/// `lock2build.toml`: only `[overrides]` is read here; other keys belong to
/// other parts of lock2build.
#[derive(Deserialize)]
struct ConfigDoc {
    overrides: Option<OverridesTableDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OverridesTableDoc {
    providers: Option<toml::Table>,
    #[serde(default)]
    pypi: BTreeMap<Spanned<String>, InlinePackageDoc>,
    #[serde(default)]
    npm: BTreeMap<Spanned<String>, InlinePackageDoc>,
    #[serde(default)]
    crates: BTreeMap<Spanned<String>, InlinePackageDoc>,
}

/// `[overrides.<ecosystem>.<name>]`: either one entry written inline
/// (`versions` optional, default `*`) or `entry = [...]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct InlinePackageDoc {
    #[serde(default)]
    entry: Vec<EntryDoc>,
    versions: Option<Spanned<String>>,
    #[serde(default)]
    native: Vec<Spanned<String>>,
    #[serde(default)]
    optional: Vec<Spanned<String>>,
    #[serde(default)]
    tools: Vec<Spanned<String>>,
    #[serde(default)]
    build_requires: Vec<Spanned<String>>,
    #[serde(default)]
    env: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    patches: Vec<Spanned<String>>,
    prefer: Option<Spanned<crate::schema::Preference>>,
    bundled: Option<crate::schema::BundledDoc>,
    #[serde(default)]
    replace: Vec<Spanned<crate::schema::Field>>,
    note: Option<String>,
}

impl InlinePackageDoc {
    fn into_entries(self, name_offset: usize) -> Result<Vec<EntryDoc>, String> {
        let inline_used = self.versions.is_some()
            || !self.native.is_empty()
            || !self.optional.is_empty()
            || !self.tools.is_empty()
            || !self.build_requires.is_empty()
            || !self.env.is_empty()
            || !self.patches.is_empty()
            || self.prefer.is_some()
            || self.bundled.is_some()
            || !self.replace.is_empty()
            || self.note.is_some();
        match (self.entry.is_empty(), inline_used) {
            (false, true) => {
                Err("write either one inline entry or `entry = [...]`, not both".to_owned())
            }
            (false, false) => Ok(self.entry),
            (true, _) => Ok(vec![EntryDoc {
                versions: self
                    .versions
                    .unwrap_or_else(|| Spanned::new(name_offset..name_offset, "*".to_owned())),
                native: self.native,
                optional: self.optional,
                tools: self.tools,
                build_requires: self.build_requires,
                env: self.env,
                patches: self.patches,
                prefer: self.prefer,
                bundled: self.bundled,
                replace: self.replace,
                note: self.note,
            }]),
        }
    }
}

/// Re-renders `[overrides.providers]` so the strict providers.toml reader
/// checks it (without line numbers).
fn render_providers(table: &toml::Table) -> Result<String, String> {
    toml::to_string(table).map_err(|e| e.to_string())
}

/// Levenshtein distance, for "did you mean" hints.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}
