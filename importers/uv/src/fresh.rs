//! Is the `uv.lock` up to date with the `pyproject.toml`s it was made for?
//!
//! uv records, for each workspace member (a root package with a local
//! source), the requirements it was locked for:
//!
//! ```toml
//! [package.metadata]
//! requires-dist = [{ name = "numpy", specifier = ">=1.24" }, { name = "pyyaml", marker = "extra == 'yaml'", specifier = ">=6" }]
//! [package.metadata.requires-dev]
//! dev = [{ name = "iniconfig", specifier = ">=2" }]
//! ```
//!
//! The member's `pyproject.toml` (`[project] dependencies`,
//! `[project.optional-dependencies]`, `[dependency-groups]`, the older
//! `[tool.uv] dev-dependencies`) is compared
//! with that: a requirement whose version specifier no locked version of
//! its name meets, or whose name or specifier is not what the lock was made
//! for (added, removed or changed since `uv lock`), makes the lock stale
//! (as `uv lock --check` would say). Members with `dynamic` dependencies
//! and locks without `[package.metadata]` are only checked for the first.
//! Findings go to [`Graph::stale`]: the lock still imports.

use crate::raw::{RawLock, RawRequirement};
use lock2build_model::{normalize_python_name, Diagnostic, Graph, ProjectFiles, Source};
use pep508_rs::pep440_rs::{Version, VersionSpecifiers};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

const RELOCK: &str =
    "run `uv lock` and commit the new uv.lock (or build with `--locked` to refuse a stale lock)";

/// One requirement: its name and its version specifier, normalised.
type Wanted = BTreeMap<String, BTreeSet<String>>;

/// Adds to `graph.stale` what does not match.
pub(crate) fn check(graph: &mut Graph, lock: &RawLock, files: &dyn ProjectFiles, lock_path: &Path) {
    let lock_dir = lock_path.parent().unwrap_or(Path::new(""));
    let mut stale = Vec::new();
    for (index, raw) in lock.packages.iter().enumerate() {
        if !graph.roots.iter().any(|r| r.0 == index) {
            continue;
        }
        let dir = match &graph.packages[index].source {
            Source::Directory { path, .. } | Source::Virtual { path } => path.clone(),
            _ => continue,
        };
        let rel = Path::new(&dir).join("pyproject.toml");
        let Some(text) = files.read(&rel) else {
            continue;
        };
        let Ok(table) = toml::from_str::<toml::Table>(&text) else {
            continue; // the builder names a broken pyproject.toml
        };
        let display = lock_dir.join(normal(&rel));
        let declared = declared(&table);
        let line_of = |name: &str| find_line(&text, name);
        // 1. Each specifier met by a locked version of its name.
        for (name, specifiers) in &declared.wanted {
            let versions: Vec<&str> = graph
                .packages
                .iter()
                .filter(|p| p.name == *name)
                .map(|p| p.version.as_str())
                .collect();
            if versions.is_empty() {
                continue; // (2) names it
            }
            for spec in specifiers.iter().filter(|s| !s.is_empty()) {
                let Ok(parsed) = VersionSpecifiers::from_str(spec) else {
                    continue;
                };
                let met = versions
                    .iter()
                    .any(|v| Version::from_str(v).is_ok_and(|v| parsed.contains(&v)));
                if !met {
                    stale.push(Diagnostic {
                        file: display.clone(),
                        line: line_of(name),
                        message: format!(
                            "uv.lock is out of date: pyproject.toml asks for `{name}{spec}` but uv.lock has {name} {}; {RELOCK}",
                            versions.join(", ")
                        ),
                    });
                }
            }
        }
        // 2. The same requirements as when it was locked.
        let Some(metadata) = raw.get_ref().metadata.as_ref() else {
            continue;
        };
        if declared.dynamic {
            continue;
        }
        let mut locked = Wanted::new();
        for r in metadata
            .requires_dist
            .iter()
            .chain(metadata.requires_dev.values().flatten())
        {
            add_locked(&mut locked, r);
        }
        for (name, specs) in &declared.wanted {
            match locked.get(name) {
                None => stale.push(Diagnostic {
                    file: display.clone(),
                    line: line_of(name),
                    message: format!(
                        "uv.lock is out of date: pyproject.toml requires `{name}`, which was added after the lock was made; {RELOCK}"
                    ),
                }),
                Some(was) if was != specs => stale.push(Diagnostic {
                    file: display.clone(),
                    line: line_of(name),
                    message: format!(
                        "uv.lock is out of date: pyproject.toml asks for `{name}{}`, uv.lock was made for `{name}{}`; {RELOCK}",
                        specs.iter().cloned().collect::<Vec<_>>().join(" | "),
                        was.iter().cloned().collect::<Vec<_>>().join(" | ")
                    ),
                }),
                Some(_) => {}
            }
        }
        for name in locked.keys().filter(|n| !declared.wanted.contains_key(*n)) {
            stale.push(Diagnostic {
                file: display.clone(),
                line: None,
                message: format!(
                    "uv.lock is out of date: it was made for a requirement on `{name}` that pyproject.toml no longer has; {RELOCK}"
                ),
            });
        }
    }
    stale.dedup();
    graph.stale.extend(stale);
}

/// What a pyproject.toml declares.
struct Declared {
    wanted: Wanted,
    /// `[project] dynamic` names the dependencies: uv resolved them from
    /// the build backend, not from this file.
    dynamic: bool,
}

fn declared(table: &toml::Table) -> Declared {
    let mut wanted = Wanted::new();
    let project = table.get("project").and_then(toml::Value::as_table);
    let strings = |v: Option<&toml::Value>| -> Vec<String> {
        v.and_then(toml::Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut all = strings(project.and_then(|p| p.get("dependencies")));
    // uv before PEP 735: `[tool.uv] dev-dependencies`, locked as group `dev`.
    all.extend(strings(
        table
            .get("tool")
            .and_then(|t| t.get("uv"))
            .and_then(|u| u.get("dev-dependencies")),
    ));
    let tables = [
        project.and_then(|p| p.get("optional-dependencies")),
        table.get("dependency-groups"),
    ];
    for group in tables
        .into_iter()
        .flatten()
        .filter_map(toml::Value::as_table)
    {
        for list in group.values() {
            all.extend(strings(Some(list)));
        }
    }
    for text in all {
        let Ok(req) = pep508_rs::Requirement::<pep508_rs::VerbatimUrl>::from_str(&text) else {
            continue;
        };
        let spec = match &req.version_or_url {
            Some(pep508_rs::VersionOrUrl::VersionSpecifier(s)) => normal_specifiers(&s.to_string()),
            _ => String::new(),
        };
        wanted
            .entry(normalize_python_name(req.name.as_ref()))
            .or_default()
            .insert(spec);
    }
    let dynamic = project
        .and_then(|p| p.get("dynamic"))
        .and_then(toml::Value::as_array)
        .is_some_and(|d| {
            d.iter()
                .any(|x| matches!(x.as_str(), Some("dependencies" | "optional-dependencies")))
        });
    Declared { wanted, dynamic }
}

fn add_locked(locked: &mut Wanted, r: &RawRequirement) {
    let spec = r
        .specifier
        .as_deref()
        .map(normal_specifiers)
        .unwrap_or_default();
    locked
        .entry(normalize_python_name(&r.name))
        .or_default()
        .insert(spec);
}

/// `>=1.0,<2` and `<2, >=1.0` alike: parsed, sorted, joined.
fn normal_specifiers(text: &str) -> String {
    match VersionSpecifiers::from_str(text) {
        Ok(specs) => {
            let mut parts: Vec<String> = specs.iter().map(|s| s.to_string()).collect();
            parts.sort();
            parts.join(",")
        }
        Err(_) => text.replace(' ', ""),
    }
}

/// `./pyproject.toml` → `pyproject.toml`.
fn normal(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

/// The first line of `text` that starts a requirement on `name` (a quoted
/// string beginning with it), 1-based.
fn find_line(text: &str, name: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            let quoted = line.trim_start();
            let t = quoted.trim_start_matches(['"', '\'']);
            let (Some(head), Some(rest)) = (t.get(..name.len()), t.get(name.len()..)) else {
                return false;
            };
            (quoted.starts_with('"') || quoted.starts_with('\''))
                && normalize_python_name(head) == *name
                && !rest.starts_with(|c: char| {
                    c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'
                })
        })
        .map(|i| i + 1)
}
