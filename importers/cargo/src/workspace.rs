//! Finding the project's own packages from its manifests: where each path
//! package lives and which are workspace members.
//!
//! Cargo.lock names path packages but not their directories. They are found
//! the way cargo finds them, from `Cargo.toml` beside the lock:
//!
//! - the root package (`[package]` in `Cargo.toml`), directory `.`;
//! - `[workspace] members`: plain paths are read directly. Globs
//!   (`crates/*`) cannot be listed through [`ProjectFiles`], which only reads
//!   known paths, so each wildcard component is tried with the name of every
//!   path package in the lock (`crates/<name>`), and with every path
//!   dependency found, keeping those that match and have a manifest;
//! - path dependencies (`path = "…"`, also through
//!   `[workspace.dependencies]`) of every manifest found, transitively, and
//!   the `path` of `[patch.*]` / `[replace]` entries.
//!
//! Members are the root package, the `members` (less `exclude`), and, when
//! there is a `[workspace]`, the path dependencies of members that lie
//! inside the workspace directory: cargo's rule.

use crate::manifest::Manifest;
use crate::paths;
use lock2build_model::{ImportError, ProjectFiles};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Stop following path dependencies after this many manifests.
const MAX_MANIFESTS: usize = 10_000;

/// The local packages found from the manifests.
pub(crate) struct Workspace {
    /// `Cargo.toml` beside the lock, if there is one.
    pub(crate) root: Option<Manifest>,
    /// Every package manifest found (root package, members, path
    /// dependencies), each directory once, root first.
    pub(crate) manifests: Vec<Manifest>,
    /// Directories of the workspace members.
    pub(crate) members: BTreeSet<String>,
    /// Member entries whose manifest could not be read.
    pub(crate) unreadable_members: Vec<String>,
}

/// A local package as its manifest names it.
pub(crate) struct LocalPackage<'a> {
    /// Its directory.
    pub(crate) dir: &'a str,
    /// Whether it is a workspace member.
    pub(crate) member: bool,
}

impl Workspace {
    /// Reads `Cargo.toml` and follows members and path dependencies.
    /// `local_names` are the names of the lock's path packages (to expand
    /// globs).
    pub(crate) fn discover(
        files: &dyn ProjectFiles,
        local_names: &[&str],
    ) -> Result<Workspace, ImportError> {
        let root = Manifest::read(files, ".")?;
        let mut ws = Workspace {
            root: None,
            manifests: Vec::new(),
            members: BTreeSet::new(),
            unreadable_members: Vec::new(),
        };
        let Some(root) = root else { return Ok(ws) };

        let has_workspace = root.has_workspace();
        let excluded: Vec<String> = root
            .workspace_list("exclude")
            .iter()
            .map(|e| paths::join(".", e))
            .collect();
        let is_excluded = |dir: &str| excluded.iter().any(|e| paths::is_inside(dir, e));
        let patterns = root.workspace_list("members");

        // Directories to visit, with whether they are members.
        let mut queue: VecDeque<(String, bool)> = VecDeque::new();
        if root.package_name().is_some() {
            queue.push_back((".".to_owned(), true));
        }
        for pattern in &patterns {
            if paths::is_glob(pattern) {
                for dir in glob_candidates(pattern, local_names) {
                    if !is_excluded(&dir)
                        && files
                            .read(std::path::Path::new(&paths::manifest_of(&dir)))
                            .is_some()
                    {
                        queue.push_back((dir, true));
                    }
                }
            } else {
                let dir = paths::join(".", pattern);
                if !is_excluded(&dir) {
                    queue.push_back((dir, true));
                }
            }
        }
        let patch_dirs = root.patch_paths();
        queue.extend(patch_dirs.into_iter().map(|d| (d, false)));

        let mut manifests: Vec<Manifest> = Vec::new();
        // Directory -> visited as a member.
        let mut seen: BTreeMap<String, bool> = BTreeMap::new();
        while let Some((dir, member)) = queue.pop_front() {
            match seen.get(&dir) {
                Some(&was_member) if was_member || !member => continue,
                _ => {}
            }
            let first_visit = seen.insert(dir.clone(), member).is_none();
            if manifests.len() >= MAX_MANIFESTS {
                break;
            }
            let Some(manifest) = Manifest::read(files, &dir)? else {
                if member && first_visit {
                    ws.unreadable_members.push(dir);
                }
                continue;
            };
            if manifest.package_name().is_none() {
                continue; // A virtual manifest (the root) is no package.
            }
            if member {
                ws.members.insert(dir.clone());
            }
            for dep in manifest.dependencies(Some(&root)) {
                let Some(path) = dep.path else { continue };
                let excluded = is_excluded(&path);
                // A glob member may be reached first as a path dependency.
                let by_glob = patterns
                    .iter()
                    .any(|p| paths::is_glob(p) && paths::glob_matches(p, &path));
                let inside = has_workspace && paths::is_inside(&path, ".");
                queue.push_back((path, !excluded && ((member && inside) || by_glob)));
            }
            if first_visit {
                manifests.push(manifest);
            }
        }
        ws.manifests = manifests;
        ws.root = Some(root);
        Ok(ws)
    }

    /// The directory (and membership) of the path package `name` `version`:
    /// the manifest with that name, and that version when several have the
    /// name.
    pub(crate) fn find(&self, name: &str, version: &str) -> Option<LocalPackage<'_>> {
        let named: Vec<&Manifest> = self
            .manifests
            .iter()
            .filter(|m| m.package_name() == Some(name))
            .collect();
        let chosen = match named.as_slice() {
            [] => return None,
            [only] => *only,
            several => several
                .iter()
                .find(|m| m.package_version(self.root.as_ref()).as_deref() == Some(version))
                .or(several.first())
                .copied()?,
        };
        Some(LocalPackage {
            dir: &chosen.dir,
            member: self.members.contains(&chosen.dir),
        })
    }
}

/// Directories a `members` glob may stand for: every wildcard component
/// replaced by the name of a path package from the lock, kept when the
/// result matches the glob.
fn glob_candidates(pattern: &str, local_names: &[&str]) -> BTreeSet<String> {
    let normalized = paths::normalize(pattern);
    let mut found = BTreeSet::new();
    for name in local_names {
        let candidate: Vec<&str> = normalized
            .split('/')
            .filter(|c| *c != "**")
            .map(|component| {
                if paths::is_glob(component) {
                    name
                } else {
                    component
                }
            })
            .collect();
        let candidate = candidate.join("/");
        if paths::glob_matches(&normalized, &candidate) {
            found.insert(candidate);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use lock2build_model::MemoryFiles;

    fn package(name: &str, deps: &str) -> String {
        format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\n[dependencies]\n{deps}\n")
    }

    #[test]
    fn globs_path_deps_and_membership() {
        let files = MemoryFiles::empty()
            .with("Cargo.toml", "[workspace]\nmembers = [\"crates/*\"]\nexclude = [\"crates/skip\"]\n")
            .with("crates/app/Cargo.toml", package("app", "u = { package = \"ws-util\", path = \"../util\" }\nout = { path = \"../../../outside\" }"))
            .with("crates/util/Cargo.toml", package("ws-util", ""))
            .with("crates/skip/Cargo.toml", package("skip", ""))
            .with("../outside/Cargo.toml", package("outside", ""));
        let ws = Workspace::discover(&files, &["app", "ws-util", "skip", "outside"]).unwrap();
        let dirs: Vec<&str> = ws.manifests.iter().map(|m| m.dir.as_str()).collect();
        assert_eq!(dirs, ["crates/app", "crates/util", "../outside"]);
        assert_eq!(
            ws.members.iter().map(String::as_str).collect::<Vec<_>>(),
            ["crates/app", "crates/util"]
        );
        let util = ws.find("ws-util", "0.1.0").unwrap();
        assert_eq!((util.dir, util.member), ("crates/util", true));
        let outside = ws.find("outside", "0.1.0").unwrap();
        assert_eq!((outside.dir, outside.member), ("../outside", false));
        assert!(ws.find("skip", "0.1.0").is_none());
    }

    #[test]
    fn single_package_without_workspace_table() {
        let files = MemoryFiles::empty()
            .with("Cargo.toml", package("root", "d = { path = \"d\" }"))
            .with("d/Cargo.toml", package("d", ""));
        let ws = Workspace::discover(&files, &["root", "d"]).unwrap();
        assert!(ws.find("root", "0.1.0").unwrap().member);
        let d = ws.find("d", "0.1.0").unwrap();
        assert_eq!((d.dir, d.member), ("d", false));
    }
}
