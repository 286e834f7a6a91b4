//! Reading one `Cargo.toml`: the package's name and version, and the
//! dependencies it declares.
//!
//! Dependency tables read: `[dependencies]`, `[dev-dependencies]`,
//! `[build-dependencies]` (and the old `dev_dependencies` /
//! `build_dependencies` spellings), each also under
//! `[target.'<cfg or triple>'.…]`. An entry is a version string
//! (`log = "0.4"`) or a table with `version`, `path`, `git`, `registry`,
//! `package` (a rename: the key is the name the code uses, `package` the
//! crate's real name), `optional`, or `workspace = true` (the entry is taken
//! from the root manifest's `[workspace.dependencies]`).

use crate::paths;
use lock2build_model::{ImportError, ProjectFiles};
use std::path::{Path, PathBuf};

/// One manifest that was found and parsed.
pub(crate) struct Manifest {
    /// The manifest's path relative to the lockfile's directory.
    pub(crate) path: PathBuf,
    /// The package directory (normalised, `.` for the lockfile's own).
    pub(crate) dir: String,
    /// The text, for line numbers.
    pub(crate) text: String,
    /// The parsed TOML.
    pub(crate) table: toml::Table,
}

/// Which table a dependency is declared in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeclaredKind {
    /// `[dependencies]`.
    Normal,
    /// `[dev-dependencies]`.
    Dev,
    /// `[build-dependencies]`.
    Build,
}

/// A dependency as a manifest declares it, `workspace = true` resolved.
#[derive(Debug, Clone)]
pub(crate) struct DeclaredDependency {
    /// The key in the manifest (the name the code uses).
    pub(crate) key: String,
    /// The crate's real name (`package = …`, or the key).
    pub(crate) package: String,
    /// The table it is declared in, as the user would write its header
    /// (`dependencies`, `target.'cfg(unix)'.dev-dependencies`).
    pub(crate) table: String,
    /// Normal, dev or build.
    pub(crate) kind: DeclaredKind,
    /// The version requirement, if any.
    pub(crate) version_req: Option<String>,
    /// The path dependency's directory, relative to the lockfile's
    /// directory.
    pub(crate) path: Option<String>,
    /// `optional = true`.
    pub(crate) optional: bool,
}

const TABLES: [(&str, DeclaredKind); 5] = [
    ("dependencies", DeclaredKind::Normal),
    ("dev-dependencies", DeclaredKind::Dev),
    ("dev_dependencies", DeclaredKind::Dev),
    ("build-dependencies", DeclaredKind::Build),
    ("build_dependencies", DeclaredKind::Build),
];

impl Manifest {
    /// Reads `<dir>/Cargo.toml`: `Ok(None)` when there is no such file, an
    /// error with the line when it is not valid TOML.
    pub(crate) fn read(
        files: &dyn ProjectFiles,
        dir: &str,
    ) -> Result<Option<Manifest>, ImportError> {
        let path = PathBuf::from(paths::manifest_of(dir));
        let Some(text) = files.read(&path) else {
            return Ok(None);
        };
        let table: toml::Table = match toml::from_str(&text) {
            Ok(table) => table,
            Err(error) => {
                let mut e = ImportError::new(
                    &path,
                    format!("not a valid Cargo.toml: {}", error.message().trim()),
                )
                .with_help("fix the manifest: cargo cannot read it either");
                if let Some(span) = error.span() {
                    e = e.at_offset(&text, span.start);
                }
                return Err(e);
            }
        };
        Ok(Some(Manifest {
            path,
            dir: dir.to_owned(),
            text,
            table,
        }))
    }

    /// `[package] name`.
    pub(crate) fn package_name(&self) -> Option<&str> {
        self.table.get("package")?.get("name")?.as_str()
    }

    /// `[package] version`, following `version.workspace = true` to the
    /// root manifest's `[workspace.package]`; cargo's default `0.0.0` when
    /// absent.
    pub(crate) fn package_version(&self, root: Option<&Manifest>) -> Option<String> {
        let package = self.table.get("package")?;
        match package.get("version") {
            None => Some("0.0.0".to_owned()),
            Some(toml::Value::String(v)) => Some(v.clone()),
            Some(v) if inherits(v) => root?
                .table
                .get("workspace")?
                .get("package")?
                .get("version")?
                .as_str()
                .map(str::to_owned),
            Some(_) => None,
        }
    }

    /// True when the manifest has a `[workspace]` table.
    pub(crate) fn has_workspace(&self) -> bool {
        self.table.contains_key("workspace")
    }

    /// `[workspace] members` or `exclude`.
    pub(crate) fn workspace_list(&self, key: &str) -> Vec<String> {
        self.table
            .get("workspace")
            .and_then(|w| w.get(key))
            .and_then(toml::Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every dependency declared, with `workspace = true` entries taken from
    /// `root`'s `[workspace.dependencies]` (paths there are relative to the
    /// root's directory).
    pub(crate) fn dependencies(&self, root: Option<&Manifest>) -> Vec<DeclaredDependency> {
        let mut found = Vec::new();
        for (name, kind) in TABLES {
            if let Some(table) = self.table.get(name).and_then(toml::Value::as_table) {
                self.collect(table, name, kind, root, &mut found);
            }
        }
        let targets = self.table.get("target").and_then(toml::Value::as_table);
        for (target, tables) in targets.into_iter().flatten() {
            for (name, kind) in TABLES {
                if let Some(table) = tables.get(name).and_then(toml::Value::as_table) {
                    self.collect(
                        table,
                        &format!("target.'{target}'.{name}"),
                        kind,
                        root,
                        &mut found,
                    );
                }
            }
        }
        found
    }

    /// The `path` of every `[patch.<registry>]` and `[replace]` entry,
    /// relative to the lockfile's directory: those packages are path
    /// packages in the lock too.
    pub(crate) fn patch_paths(&self) -> Vec<String> {
        let mut found = Vec::new();
        let patch_tables = self
            .table
            .get("patch")
            .and_then(toml::Value::as_table)
            .into_iter()
            .flat_map(|p| p.values());
        let replace = self.table.get("replace").into_iter();
        for table in patch_tables
            .chain(replace)
            .filter_map(toml::Value::as_table)
        {
            for spec in table.values() {
                if let Some(path) = spec.get("path").and_then(toml::Value::as_str) {
                    found.push(paths::join(&self.dir, path));
                }
            }
        }
        found
    }

    fn collect(
        &self,
        table: &toml::Table,
        table_name: &str,
        kind: DeclaredKind,
        root: Option<&Manifest>,
        found: &mut Vec<DeclaredDependency>,
    ) {
        for (key, spec) in table {
            let optional = spec
                .get("optional")
                .and_then(toml::Value::as_bool)
                .unwrap_or(false);
            let (spec, base_dir) = match spec.get("workspace") {
                Some(w) if w.as_bool() == Some(true) => {
                    let inherited = root.and_then(|r| {
                        r.table
                            .get("workspace")?
                            .get("dependencies")?
                            .get(key)
                            .map(|s| (s, r.dir.as_str()))
                    });
                    match inherited {
                        Some(found) => found,
                        // cargo rejects this manifest; nothing to check.
                        None => continue,
                    }
                }
                _ => (spec, self.dir.as_str()),
            };
            let (version_req, package, path) = match spec {
                toml::Value::String(req) => (Some(req.clone()), key.clone(), None),
                toml::Value::Table(t) => (
                    t.get("version")
                        .and_then(toml::Value::as_str)
                        .map(str::to_owned),
                    t.get("package")
                        .and_then(toml::Value::as_str)
                        .unwrap_or(key)
                        .to_owned(),
                    t.get("path")
                        .and_then(toml::Value::as_str)
                        .map(|p| paths::join(base_dir, p)),
                ),
                _ => continue,
            };
            found.push(DeclaredDependency {
                key: key.clone(),
                package,
                table: table_name.to_owned(),
                kind,
                version_req,
                path,
                optional,
            });
        }
    }

    /// The line where `dependency` is declared, found in the text: a
    /// `key = …` or `key.x = …` line, or a `[….key]` header, after the
    /// table's header when that can be found.
    pub(crate) fn line_of(&self, dependency: &DeclaredDependency) -> Option<usize> {
        let lines: Vec<&str> = self.text.lines().collect();
        let header = format!("[{}]", dependency.table);
        let start = lines
            .iter()
            .position(|l| l.trim().replace(['"', '\''], "") == header.replace(['"', '\''], ""))
            .unwrap_or(0);
        let declares = |line: &str| {
            let line = line.trim();
            let unquoted = line.trim_start_matches(['"', '\'']);
            if let Some(rest) = unquoted.strip_prefix(dependency.key.as_str()) {
                let rest = rest.trim_start_matches(['"', '\'']).trim_start();
                if rest.starts_with('=') || rest.starts_with('.') {
                    return true;
                }
            }
            line.starts_with('[')
                && line
                    .trim_end_matches(']')
                    .trim_end_matches(['"', '\''])
                    .ends_with(&format!(".{}", dependency.key))
        };
        let index = lines
            .iter()
            .skip(start)
            .position(|l| declares(l))
            .map(|i| i + start);
        let index = index.or_else(|| lines.iter().position(|l| declares(l)))?;
        Some(index + 1)
    }

    /// The manifest's path, for messages.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

/// True for `{ workspace = true }`.
fn inherits(value: &toml::Value) -> bool {
    value.get("workspace").and_then(toml::Value::as_bool) == Some(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lock2build_model::MemoryFiles;

    const ROOT: &str = r#"
[workspace]
members = ["crates/*"]
[workspace.package]
version = "2.1.0"
[workspace.dependencies]
serde = { version = "1", features = ["derive"] }
shared = { path = "libs/shared" }
"#;

    const MEMBER: &str = r#"
[package]
name = "app"
version.workspace = true

[dependencies]
serde = { workspace = true, optional = true }
logging = { package = "log", version = "0.4" }
shared.workspace = true

[target.'cfg(unix)'.dependencies]
libc = "0.2"

[dev-dependencies.itoa]
version = "1"
"#;

    #[test]
    fn reads_declared_dependencies() {
        let files = MemoryFiles::empty()
            .with("Cargo.toml", ROOT)
            .with("crates/app/Cargo.toml", MEMBER);
        let root = Manifest::read(&files, ".").unwrap().unwrap();
        let app = Manifest::read(&files, "crates/app").unwrap().unwrap();
        assert_eq!(app.package_name(), Some("app"));
        assert_eq!(app.package_version(Some(&root)).as_deref(), Some("2.1.0"));
        let deps = app.dependencies(Some(&root));
        let summary: Vec<_> = deps
            .iter()
            .map(|d| {
                (
                    d.key.as_str(),
                    d.package.as_str(),
                    d.version_req.as_deref(),
                    d.path.as_deref(),
                    d.optional,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("serde", "serde", Some("1"), None, true),
                ("logging", "log", Some("0.4"), None, false),
                ("shared", "shared", None, Some("libs/shared"), false),
                ("itoa", "itoa", Some("1"), None, false),
                ("libc", "libc", Some("0.2"), None, false),
            ]
        );
        let line = |key: &str| app.line_of(deps.iter().find(|d| d.key == key).unwrap());
        assert_eq!(line("logging"), Some(8));
        assert_eq!(line("libc"), Some(12));
        assert_eq!(line("itoa"), Some(14));
        assert_eq!(line("shared"), Some(9));
    }

    #[test]
    fn malformed_manifest_has_a_line() {
        let files = MemoryFiles::empty().with("Cargo.toml", "[package]\nname = \n");
        let e = Manifest::read(&files, ".").err().unwrap();
        assert_eq!(e.file, PathBuf::from("Cargo.toml"));
        assert_eq!(e.line, Some(2));
    }
}
