//! Turns lock entries into the graph: one package per installed location,
//! edges found with Node's module resolution, and the roots.
//!
//! Resolution: a dependency `d` of the package at location `L` is the first
//! of `L/node_modules/d`, then `P/node_modules/d` for each parent directory
//! `P` of `L` (directories named `node_modules` are skipped), ending with
//! `node_modules/d` at the project's top. A link entry (`"link": true`)
//! resolves to the package at its target, and a package that is a link
//! target resolves its own dependencies from its real directory, as Node does
//! without `--preserve-symlinks`.
//!
//! A link is not a package of its own: the target directory is.
//!
//! Unresolvable dependencies: optional and peer ones are skipped (npm leaves
//! out optional packages that failed or do not apply, and does not install
//! peers under `legacy-peer-deps`); a normal one is an error; a dev one is an
//! error on the root and workspace members, and skipped elsewhere (npm does
//! not promise the dev dependencies of `file:` directories).

use crate::context::{Context, HELP_REGENERATE, HELP_REPAIR};
use crate::entry::LockEntry;
use crate::source::origin;
use crate::workspaces::WorkspacePatterns;
use lock2build_model::{
    DepKind, Dependency, Graph, Hash, ImportError, Package, PackageIndex, Source,
};
use std::collections::HashMap;

/// Builds the graph. `entries[0]` is the root.
pub(crate) fn build_graph(
    ctx: &Context,
    mut graph: Graph,
    mut entries: Vec<LockEntry>,
    workspaces: &WorkspacePatterns,
) -> Result<Graph, ImportError> {
    unbundle_project_bundles(&mut entries);
    let by_location: HashMap<&str, usize> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.location.as_str(), i))
        .collect();

    // Packages, in lock order, links left out.
    let mut package_of_entry: Vec<Option<PackageIndex>> = vec![None; entries.len()];
    for (i, entry) in entries.iter().enumerate() {
        if entry.link.is_none() {
            let package = make_package(ctx, entry, i == 0)?;
            package_of_entry[i] = Some(graph.push(package));
        }
    }
    // Links point at their target's package.
    for (i, entry) in entries.iter().enumerate() {
        if let Some(target) = &entry.link {
            let target_package = by_location
                .get(target.as_str())
                .and_then(|&t| package_of_entry[t]);
            let Some(target_package) = target_package else {
                return Err(ctx
                    .lock_error(
                        format!(
                            "the link `{}` points at `{target}`, which is not in the lock",
                            entry.location
                        ),
                        entry.line,
                    )
                    .with_help(HELP_REPAIR));
            };
            package_of_entry[i] = Some(target_package);
        }
    }

    let is_member = |entry: &LockEntry| {
        entry.link.is_none()
            && !entry.location.is_empty()
            && crate::entry::is_top_location(&entry.location)
            && workspaces.matches(&entry.location)
    };

    for (i, entry) in entries.iter().enumerate() {
        let Some(from) = package_of_entry[i] else {
            continue;
        };
        if entry.link.is_some() {
            continue;
        }
        let strict_dev = i == 0 || is_member(entry);
        let mut edges = Vec::with_capacity(entry.dependencies.len());
        for declared in &entry.dependencies {
            let target = resolve(&entry.location, &declared.name, &by_location)
                .and_then(|t| package_of_entry.get(t).copied().flatten());
            match target {
                Some(target) => {
                    let mut edge = Dependency::new(declared.name.clone(), target);
                    edge.kind = declared.kind;
                    if declared.optional_peer {
                        edge.groups = vec![String::from("optional")];
                    }
                    edges.push(edge);
                }
                None => {
                    let required = match declared.kind {
                        DepKind::Normal | DepKind::Build => true,
                        DepKind::Dev => strict_dev,
                        DepKind::Optional | DepKind::Peer => false,
                    };
                    if required {
                        let message = format!(
                            "`{}` ({}) depends on `{}@{}`, but the lock has no `node_modules/{}` it can use",
                            entry.name,
                            if entry.location.is_empty() { "the project" } else { entry.location.as_str() },
                            declared.name,
                            declared.spec,
                            declared.name
                        );
                        let error = match declared.in_manifest {
                            Some(line) => ctx.manifest_error(message, line),
                            None => ctx.lock_error(message, entry.line),
                        };
                        return Err(error.with_help(HELP_REPAIR));
                    }
                }
            }
        }
        if let Some(package) = graph.packages.get_mut(from.0) {
            package.dependencies = edges;
        }
    }

    let mut roots = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        if i == 0 || is_member(entry) {
            if let Some(package) = package_of_entry[i] {
                roots.push(package);
            }
        }
    }
    graph.roots = roots;
    Ok(graph)
}

/// Clears `inBundle` on what the project (or a workspace member, a `file:`
/// directory) bundles itself: its `bundleDependencies` are in the lock
/// flagged `inBundle` like those shipped in a dependency's tarball, but no
/// fetched tarball holds them (npm/cli's own lock bundles all of npm's
/// dependencies). A bundled package's bundler is the package whose
/// `node_modules` holds it; one nested in a package the project bundles is
/// the project's too.
fn unbundle_project_bundles(entries: &mut [LockEntry]) {
    let mut order: Vec<usize> = (0..entries.len()).collect();
    let depth: Vec<usize> = entries
        .iter()
        .map(|e| e.location.matches("node_modules/").count())
        .collect();
    order.sort_by_key(|&i| depth[i]);
    let mut fetched: std::collections::HashSet<String> = std::collections::HashSet::new();
    for i in order {
        let entry = &mut entries[i];
        if !entry.flags.in_bundle {
            continue;
        }
        let Some((parent, _)) = entry.location.rsplit_once("node_modules/") else {
            continue;
        };
        let parent = parent.trim_end_matches('/');
        if crate::entry::is_top_location(parent) || fetched.contains(parent) {
            entry.flags.in_bundle = false;
            fetched.insert(entry.location.clone());
        }
    }
}

/// The entry a dependency `name` of the package at `location` resolves to.
fn resolve(location: &str, name: &str, by_location: &HashMap<&str, usize>) -> Option<usize> {
    let mut directory = location;
    let mut candidate = String::with_capacity(location.len() + name.len() + 14);
    loop {
        let last_segment = directory.rsplit('/').next().unwrap_or(directory);
        if last_segment != "node_modules" {
            candidate.clear();
            if !directory.is_empty() {
                candidate.push_str(directory);
                candidate.push('/');
            }
            candidate.push_str("node_modules/");
            candidate.push_str(name);
            if let Some(&found) = by_location.get(candidate.as_str()) {
                return Some(found);
            }
        }
        if directory.is_empty() {
            return None;
        }
        directory = match directory.rfind('/') {
            Some(slash) => &directory[..slash],
            None => "",
        };
    }
}

fn make_package(ctx: &Context, entry: &LockEntry, is_root: bool) -> Result<Package, ImportError> {
    let hashes = match &entry.integrity {
        Some(integrity) => Hash::parse_sri_list(integrity).map_err(|e| {
            ctx.lock_error(
                format!("the `integrity` of `{}` is not valid: {e}", entry.location),
                entry.line,
            )
            .with_help(HELP_REGENERATE)
        })?,
        None => Vec::new(),
    };
    let (source, artifacts) = if is_root {
        (
            Source::Directory {
                path: String::from("."),
                editable: false,
            },
            Vec::new(),
        )
    } else if crate::entry::is_top_location(&entry.location) {
        // A workspace member or a `file:` directory, where the lock keeps it.
        (
            Source::Directory {
                path: entry.location.clone(),
                editable: false,
            },
            Vec::new(),
        )
    } else {
        let origin = origin(
            &entry.name,
            &entry.version,
            entry.resolved.as_deref(),
            hashes,
            entry.flags.in_bundle,
        )
        .map_err(|reason| {
            ctx.lock_error(
                format!(
                    "cannot tell where `{}` comes from: {reason}",
                    entry.location
                ),
                entry.line,
            )
            .with_help(HELP_REPAIR)
        })?;
        (origin.source, origin.artifacts)
    };
    let mut package = Package::new(entry.name.clone(), entry.version.clone(), source);
    package.artifacts = artifacts;
    package.flags = entry.flags.clone();
    package.platform = entry.platform.clone();
    package.bin = entry.bin.clone();
    package.location = Some(entry.location.clone());
    package.line = entry.line;
    Ok(package)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_resolution_walks_up() {
        let locations = [
            "node_modules/a",
            "node_modules/a/node_modules/b",
            "node_modules/c",
            "node_modules/@s/d",
            "node_modules/@s/d/node_modules/c",
            "packages/x/node_modules/c",
        ];
        let map: HashMap<&str, usize> =
            locations.iter().enumerate().map(|(i, l)| (*l, i)).collect();
        assert_eq!(resolve("node_modules/a/node_modules/b", "b", &map), Some(1));
        assert_eq!(resolve("node_modules/a/node_modules/b", "c", &map), Some(2));
        assert_eq!(resolve("node_modules/@s/d", "c", &map), Some(4));
        assert_eq!(resolve("node_modules/a", "b", &map), Some(1));
        assert_eq!(resolve("node_modules/c", "b", &map), None);
        assert_eq!(resolve("", "a", &map), Some(0));
        assert_eq!(resolve("packages/x", "c", &map), Some(5));
        assert_eq!(resolve("packages/y", "c", &map), Some(2));
    }
}
