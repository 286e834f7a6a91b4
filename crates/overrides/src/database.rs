//! The loaded database and how a package's overrides are resolved.
//!
//! Merge rules, applied entry by entry in order (community layer, then
//! user, then project; inside a file, top to bottom), over every entry whose
//! `versions` range holds the package version:
//!
//! - lists (`native`, `tools`, `build-requires`, `patches`) are *extended*,
//!   keeping the first position of a repeated value;
//! - `env` is merged key by key, the later value winning;
//! - `prefer` and `bundled` are replaced by the later value;
//! - `replace = ["native", ...]` first empties the named fields, so an entry
//!   can drop what earlier entries or layers said (for `prefer`, it resets it
//!   to "no preference" unless the entry sets one).

use crate::error::OverrideError;
use crate::layer::{LayerKind, LayerSource};
use crate::load::{normalize_name, Loaded};
use crate::providers::Providers;
use crate::schema::{Field, Preference};
use crate::version_range::VersionRange;
use lock2build_model::Ecosystem;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Where an entry was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Origin {
    /// Its layer.
    pub layer: LayerKind,
    /// The file (package file or `lock2build.toml`).
    pub file: PathBuf,
    /// 1-based position of the entry in that file's list for the package.
    pub entry: usize,
    /// 1-based line of its `versions` key, when known.
    pub line: Option<usize>,
    /// Its `versions` range as written.
    pub versions: String,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} layer, {}", self.layer, self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, " (entry {}, versions \"{}\")", self.entry, self.versions)
    }
}

/// One checked entry of a package.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Where it was written.
    pub origin: Origin,
    /// Which versions it applies to.
    pub range: VersionRange,
    /// Native library ids.
    pub native: Vec<String>,
    /// Of `native`, the optional features (missing: built without them).
    pub optional: Vec<String>,
    /// Tool ids.
    pub tools: Vec<String>,
    /// PEP 508 build requirements (PyPI).
    pub build_requires: Vec<String>,
    /// Environment knobs.
    pub env: BTreeMap<String, String>,
    /// Patches, as absolute paths.
    pub patches: Vec<PathBuf>,
    /// Binary or source.
    pub prefer: Option<Preference>,
    /// Whether `native` is bundled unless a knob says otherwise.
    pub bundled: Option<Bundled>,
    /// Fields this entry replaces rather than extends.
    pub replace: Vec<Field>,
    /// Free text: why, and where the fact comes from.
    pub note: Option<String>,
}

/// What one entry contributed to one field of a [`Resolved`] package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contribution {
    /// The field.
    pub field: Field,
    /// The entry.
    pub origin: Origin,
    /// The values it brought (ids, requirements, `KEY=value`, patch paths,
    /// the preference).
    pub values: Vec<String>,
    /// Whether it emptied the field first (`replace`).
    pub replaced: bool,
}

/// Everything the database says about one package version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Resolved {
    /// Native library ids.
    pub native: Vec<String>,
    /// Of `native`, the optional features: a missing one is built without,
    /// and named, not a refusal.
    pub optional: Vec<String>,
    /// Tool ids.
    pub tools: Vec<String>,
    /// PEP 508 build requirements (PyPI source builds).
    pub build_requires: Vec<String>,
    /// Environment knobs.
    pub env: BTreeMap<String, String>,
    /// Patches to apply with `patch -p1`, in order.
    pub patches: Vec<PathBuf>,
    /// Binary or source; `None`: no opinion.
    pub prefer: Option<Preference>,
    /// The package builds a bundled copy of `native` unless one of these
    /// knobs is on; `None`: it always wants the host's.
    pub bundled: Option<Bundled>,
    /// Notes of the entries that applied.
    pub notes: Vec<(Origin, String)>,
    /// Who said what, in the order it was applied. A contribution made
    /// before a `replace` of the same field stays listed, with the replacing
    /// one marked `replaced`.
    pub provenance: Vec<Contribution>,
}

/// The knobs that make a package which bundles its native libraries use
/// the host's instead (`bundled = { system-env, system-features }`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Bundled {
    /// `NAME` (on when set to anything but empty or `0`) or `NAME=VALUE`.
    pub system_env: Vec<String>,
    /// Features of the package that switch to the system library.
    pub system_features: Vec<String>,
}

impl Bundled {
    /// The knob among these that is on, given the build's environment and
    /// the package's enabled features.
    pub fn system_knob(
        &self,
        env: &BTreeMap<String, String>,
        features: &[String],
    ) -> Option<String> {
        let env_on = self
            .system_env
            .iter()
            .find(|knob| match knob.split_once('=') {
                Some((name, value)) => env.get(name).is_some_and(|v| v == value),
                None => env
                    .get(knob.as_str())
                    .is_some_and(|v| !v.is_empty() && v != "0"),
            });
        if let Some(knob) = env_on {
            return Some(knob.clone());
        }
        self.system_features
            .iter()
            .find(|f| features.contains(f))
            .map(|f| format!("feature `{f}`"))
    }

    /// How files and `overrides why` write it.
    fn values(&self) -> Vec<String> {
        self.system_env
            .iter()
            .map(|e| format!("system-env {e}"))
            .chain(
                self.system_features
                    .iter()
                    .map(|f| format!("system-feature {f}")),
            )
            .collect()
    }
}

impl Resolved {
    /// The native libraries the build cannot do without.
    pub fn required_native(&self) -> impl Iterator<Item = &String> {
        self.native.iter().filter(|id| !self.optional.contains(id))
    }

    /// The native library ids the build needs from the host: all of
    /// `native`, unless the package bundles them and no knob of
    /// [`Resolved::bundled`] is on in `env` (the build's environment) or
    /// among `features` (the package's enabled features).
    pub fn demanded_native(
        &self,
        env: &BTreeMap<String, String>,
        features: &[String],
    ) -> &[String] {
        match &self.bundled {
            Some(b) if b.system_knob(env, features).is_none() => &[],
            _ => &self.native,
        }
    }

    /// Whether no entry applied.
    pub fn is_empty(&self) -> bool {
        self.provenance.is_empty() && self.notes.is_empty()
    }

    /// The entry that brought `value` into `field` and is still in effect
    /// (for `env`, `value` is the key).
    pub fn origin_of(&self, field: Field, value: &str) -> Option<&Origin> {
        let mut found = None;
        for contribution in self.provenance.iter().filter(|c| c.field == field) {
            if contribution.replaced {
                found = None;
            }
            let hit = contribution.values.iter().any(|v| match field {
                Field::Env => v.split_once('=').is_some_and(|(k, _)| k == value),
                _ => v == value,
            });
            // Lists keep the first contributor; env, prefer and bundled the last.
            if hit
                && (found.is_none() || matches!(field, Field::Env | Field::Prefer | Field::Bundled))
            {
                found = Some(&contribution.origin);
            }
        }
        found
    }
}

/// All layers, loaded and checked.
#[derive(Debug, Clone, Default)]
pub struct Database {
    providers: Providers,
    packages: BTreeMap<(Ecosystem, String), Vec<Entry>>,
}

/// The database, unless loading it found problems.
fn checked(
    (database, errors): (Database, Vec<OverrideError>),
) -> Result<Database, Vec<OverrideError>> {
    if errors.is_empty() {
        Ok(database)
    } else {
        Err(errors)
    }
}

impl Database {
    /// Loads `sources` in order (lowest priority first); every problem in
    /// every file is returned.
    pub fn load(sources: &[LayerSource]) -> Result<Database, Vec<OverrideError>> {
        checked(Database::load_lenient(sources))
    }

    /// Loads what can be loaded and returns the problems next to it (for
    /// `doctor`-like commands that still want to answer).
    pub fn load_lenient(sources: &[LayerSource]) -> (Database, Vec<OverrideError>) {
        Database::load_lenient_only(sources, None)
    }

    /// [`Database::load`] of the package files of `ecosystems` only (the
    /// provider table and the configuration layers whole): what a build
    /// of those ecosystems asks, read and parsed without the others'.
    pub fn load_only(
        sources: &[LayerSource],
        ecosystems: &[Ecosystem],
    ) -> Result<Database, Vec<OverrideError>> {
        checked(Database::load_lenient_only(
            sources,
            Some(ecosystems.to_vec()),
        ))
    }

    fn load_lenient_only(
        sources: &[LayerSource],
        only: Option<Vec<Ecosystem>>,
    ) -> (Database, Vec<OverrideError>) {
        let mut loaded = Loaded {
            only,
            ..Loaded::default()
        };
        for source in sources {
            loaded.load_source(source);
        }
        loaded.check_ids();
        (
            Database {
                providers: loaded.providers,
                packages: loaded.packages,
            },
            loaded.errors,
        )
    }

    /// The provider table, all layers merged.
    pub fn providers(&self) -> &Providers {
        &self.providers
    }

    /// Names (normalised) of the packages of `ecosystem` with entries.
    pub fn packages(&self, ecosystem: Ecosystem) -> impl Iterator<Item = &str> {
        self.packages
            .keys()
            .filter(move |(e, _)| *e == ecosystem)
            .map(|(_, name)| name.as_str())
    }

    /// Every entry for a package, in the order they apply, matching or not.
    pub fn entries(&self, ecosystem: Ecosystem, name: &str) -> &[Entry] {
        self.packages
            .get(&(ecosystem, normalize_name(ecosystem, name)))
            .map_or(&[], Vec::as_slice)
    }

    /// What applies to `name` at `version`.
    pub fn resolve(&self, ecosystem: Ecosystem, name: &str, version: &str) -> Resolved {
        let mut resolved = Resolved::default();
        for entry in self
            .entries(ecosystem, name)
            .iter()
            .filter(|e| e.range.matches(version))
        {
            apply(&mut resolved, entry);
        }
        resolved
    }
}

fn apply(resolved: &mut Resolved, entry: &Entry) {
    if entry.replace.contains(&Field::Native) {
        resolved.optional.clear();
    }
    for id in &entry.optional {
        if !resolved.optional.contains(id) {
            resolved.optional.push(id.clone());
        }
    }
    let replaces = |field| entry.replace.contains(&field);
    let mut contribute = |resolved: &mut Resolved, field: Field, values: Vec<String>| {
        if !values.is_empty() || replaces(field) {
            resolved.provenance.push(Contribution {
                field,
                origin: entry.origin.clone(),
                values,
                replaced: replaces(field),
            });
        }
    };
    extend_field(
        resolved,
        Field::Native,
        entry,
        |r| &mut r.native,
        &entry.native,
        &mut contribute,
    );
    extend_field(
        resolved,
        Field::Tools,
        entry,
        |r| &mut r.tools,
        &entry.tools,
        &mut contribute,
    );
    extend_field(
        resolved,
        Field::BuildRequires,
        entry,
        |r| &mut r.build_requires,
        &entry.build_requires,
        &mut contribute,
    );
    let patches: Vec<String> = entry
        .patches
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    if replaces(Field::Patches) {
        resolved.patches.clear();
    }
    for patch in &entry.patches {
        if !resolved.patches.contains(patch) {
            resolved.patches.push(patch.clone());
        }
    }
    contribute(resolved, Field::Patches, patches);
    if replaces(Field::Env) {
        resolved.env.clear();
    }
    resolved
        .env
        .extend(entry.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    contribute(
        resolved,
        Field::Env,
        entry.env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
    );
    if replaces(Field::Prefer) {
        resolved.prefer = None;
    }
    if let Some(prefer) = entry.prefer {
        resolved.prefer = Some(prefer);
    }
    contribute(
        resolved,
        Field::Prefer,
        entry
            .prefer
            .map(|p| p.as_str().to_owned())
            .into_iter()
            .collect(),
    );
    if replaces(Field::Bundled) {
        resolved.bundled = None;
    }
    if let Some(bundled) = &entry.bundled {
        resolved.bundled = Some(bundled.clone());
    }
    contribute(
        resolved,
        Field::Bundled,
        entry
            .bundled
            .as_ref()
            .map(Bundled::values)
            .unwrap_or_default(),
    );
    if let Some(note) = &entry.note {
        resolved.notes.push((entry.origin.clone(), note.clone()));
    }
}

fn extend_field(
    resolved: &mut Resolved,
    field: Field,
    entry: &Entry,
    target: impl Fn(&mut Resolved) -> &mut Vec<String>,
    values: &[String],
    contribute: &mut impl FnMut(&mut Resolved, Field, Vec<String>),
) {
    let list = target(resolved);
    if entry.replace.contains(&field) {
        list.clear();
    }
    for value in values {
        if !list.contains(value) {
            list.push(value.clone());
        }
    }
    contribute(resolved, field, values.to_vec());
}
