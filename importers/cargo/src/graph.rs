//! Building the [`Graph`] from the parsed lock and the workspace found from
//! the manifests: packages, their sources and artifacts, edges and roots.
//!
//! A `dependencies` entry is resolved to the `[[package]]` with the same
//! name and version; when several have both (the same crate from two
//! sources), the one whose source matches the entry's, commit aside.

use crate::lock::ParsedLock;
use crate::source::{self, SourceProblem};
use crate::workspace::Workspace;
use lock2build_model::{
    Dependency, Diagnostic, Ecosystem, Graph, ImportError, Package, PackageIndex, Source,
};
use std::collections::HashMap;
use std::path::Path;

/// Builds the graph.
pub(crate) fn build(
    path: &Path,
    parsed: &ParsedLock,
    workspace: &Workspace,
) -> Result<Graph, ImportError> {
    let lock = &parsed.lockfile;
    let mut graph = Graph::new(
        Ecosystem::Crates,
        path,
        format!("Cargo.lock v{}", parsed.version_number()),
    );
    let warn = |graph: &mut Graph, line: Option<usize>, message: String| {
        graph.warnings.push(Diagnostic {
            file: path.to_path_buf(),
            line,
            message,
        });
    };

    let entries: Vec<(&cargo_lock::Package, Option<usize>)> = lock
        .packages
        .iter()
        .zip(parsed.package_lines.iter().copied())
        .chain(lock.root.as_ref().map(|r| (r, parsed.root_line)))
        .collect();

    if workspace.root.is_none() {
        warn(
            &mut graph,
            None,
            "no Cargo.toml beside Cargo.lock: path packages get the path `.`, all of them are roots, \
             and the lock is not checked against the manifests"
                .to_owned(),
        );
    }
    for dir in &workspace.unreadable_members {
        warn(
            &mut graph,
            None,
            format!("workspace member `{dir}` has no readable Cargo.toml"),
        );
    }

    let mut members: Vec<PackageIndex> = Vec::new();
    for &(package, line) in &entries {
        let name = package.name.as_str();
        let version = package.version.to_string();
        let at = |message: String| {
            let e = ImportError::new(path, message);
            match line {
                Some(line) => e.at_line(line),
                None => e,
            }
        };
        let mut imported = match &package.source {
            None => {
                let found = workspace.find(name, &version);
                let dir = match &found {
                    Some(local) => local.dir.to_owned(),
                    None => {
                        if workspace.root.is_some() {
                            warn(
                                &mut graph,
                                line,
                                format!("path package `{name} {version}` was not found from Cargo.toml; assuming the directory `.`"),
                            );
                        }
                        ".".to_owned()
                    }
                };
                let member = found.is_some_and(|l| l.member);
                let p = Package::new(
                    name,
                    &version,
                    Source::Directory {
                        path: dir,
                        editable: false,
                    },
                );
                if member {
                    members.push(PackageIndex(graph.packages.len()));
                }
                p
            }
            Some(source_id) => {
                let checksum = package
                    .checksum
                    .clone()
                    .or_else(|| parsed.v1_metadata_checksum(package));
                match source::remote(name, &version, source_id, checksum.as_ref()) {
                    Ok((source, artifacts)) => {
                        let mut p = Package::new(name, &version, source);
                        p.artifacts = artifacts;
                        p
                    }
                    Err(SourceProblem::NoChecksum) => {
                        let (what, help) = if parsed.version_number() == 1 {
                            (
                                format!("registry crate `{name} {version}` has no checksum in `[metadata]`"),
                                "cargo refuses such a version 1 lock too; regenerate it with \
                                 `cargo generate-lockfile` (this re-resolves versions and writes the current format)",
                            )
                        } else {
                            (
                                format!("registry crate `{name} {version}` has no `checksum`"),
                                "without it the download cannot be verified; run `cargo generate-lockfile` \
                                 (re-resolves versions) or restore Cargo.lock from version control",
                            )
                        };
                        return Err(at(what).with_help(help));
                    }
                    Err(SourceProblem::NoCommit) => {
                        return Err(at(format!(
                            "git package `{name} {version}` has no commit (`#<sha>`) in its source"
                        ))
                        .with_help(format!("run `cargo update -p {name}` to pin the commit")));
                    }
                }
            }
        };
        imported.line = line;
        graph.push(imported);
    }

    // Edges.
    let mut by_name_version: HashMap<(&str, String), Vec<usize>> = HashMap::new();
    for (i, (package, _)) in entries.iter().enumerate() {
        by_name_version
            .entry((package.name.as_str(), package.version.to_string()))
            .or_default()
            .push(i);
    }
    for (i, &(package, line)) in entries.iter().enumerate() {
        let wanted = package.dependencies.iter().chain(package.replace.as_ref());
        let mut edges = Vec::new();
        for dep in wanted {
            let candidates = by_name_version
                .get(&(dep.name.as_str(), dep.version.to_string()))
                .map(Vec::as_slice)
                .unwrap_or_default();
            let target = match candidates {
                [only] => Some(*only),
                several => {
                    let wanted = dep.source.as_ref().map(source::identity);
                    let matching: Vec<usize> = several
                        .iter()
                        .copied()
                        .filter(|&c| {
                            entries
                                .get(c)
                                .and_then(|(p, _)| p.source.as_ref())
                                .map(source::identity)
                                == wanted
                        })
                        .collect();
                    match matching.as_slice() {
                        [only] => Some(*only),
                        _ => None,
                    }
                }
            };
            let Some(target) = target else {
                let mut e = ImportError::new(
                    path,
                    format!("`{}` depends on `{dep}`, which matches no single [[package]] of Cargo.lock", package.name),
                )
                .with_help("Cargo.lock is inconsistent: restore it from version control, or run `cargo generate-lockfile`");
                e.line = line;
                return Err(e);
            };
            edges.push(Dependency::new(dep.name.as_str(), PackageIndex(target)));
        }
        if let Some(p) = graph.packages.get_mut(i) {
            p.dependencies = edges;
        }
    }

    // Roots.
    if members.is_empty() {
        members = graph
            .packages
            .iter()
            .enumerate()
            .filter(|(_, p)| matches!(p.source, Source::Directory { .. }))
            .map(|(i, _)| PackageIndex(i))
            .collect();
        if workspace.root.is_some() && !members.is_empty() {
            warn(
                &mut graph,
                None,
                "no workspace member of Cargo.toml is in Cargo.lock: every path package is taken as a root".to_owned(),
            );
        }
    }
    graph.roots = members;
    Ok(graph)
}
