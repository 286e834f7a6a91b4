//! Finding the index URLs of many Python lockfiles at once.
//!
//! [`pyindex::resolve_urls`] reads one index page per package. Over a tree
//! of projects the same packages come back again and again (`idna 3.10` in
//! fifty locks), and each page, cached on disk, would be read and parsed
//! once per lockfile. Here every Python package of every graph goes into one
//! merged graph, keyed by (index, name, version), with the union of their
//! locked files; its URLs are resolved once, and copied back to each graph.
//!
//! When the merged resolution fails (a locked file the index no longer
//! lists, an index that cannot be reached), each graph is resolved on its
//! own instead, so the error lands on the lockfiles it is about.

use anyhow::Result;
use lock2build_model::{Artifact, Ecosystem, Graph, Package, PackageIndex, Source};
use lock2build_plan::pyindex::{self, IndexClient};
use std::collections::HashMap;

/// Fills in the URLs of every Python package of `graphs`; one result per
/// graph (`Ok` for graphs of other ecosystems).
pub fn resolve_python_urls(graphs: &mut [&mut Graph], client: &IndexClient) -> Vec<Result<()>> {
    let mut merged = Graph::new(Ecosystem::Pypi, "(all Python lockfiles)", "merged");
    let mut by_key: HashMap<(String, String, String), usize> = HashMap::new();
    // (graph, package, artifact) -> (merged package, merged artifact)
    let mut links: Vec<(usize, usize, usize, usize, usize)> = Vec::new();
    for (g, graph) in graphs.iter().enumerate() {
        if graph.ecosystem != Ecosystem::Pypi {
            continue;
        }
        for (p, package) in graph.packages.iter().enumerate() {
            let Source::Registry { url } = &package.source else {
                continue;
            };
            let key = (url.clone(), package.name.clone(), package.version.clone());
            let m = *by_key.entry(key).or_insert_with(|| {
                merged.packages.push(Package::new(
                    &package.name,
                    &package.version,
                    package.source.clone(),
                ));
                merged.packages.len() - 1
            });
            for (a, artifact) in package.artifacts.iter().enumerate() {
                if artifact.url.is_some() {
                    continue;
                }
                let Some(target) = merged.packages.get_mut(m) else {
                    continue;
                };
                let same =
                    |x: &Artifact| x.hashes == artifact.hashes && x.filename == artifact.filename;
                let ma = match target.artifacts.iter().position(same) {
                    Some(i) => i,
                    None => {
                        target.artifacts.push(artifact.clone());
                        target.artifacts.len() - 1
                    }
                };
                links.push((g, p, a, m, ma));
            }
        }
    }
    if links.is_empty() {
        return graphs.iter().map(|_| Ok(())).collect();
    }
    let all: Vec<PackageIndex> = (0..merged.packages.len()).map(PackageIndex).collect();
    if pyindex::resolve_urls(&mut merged, &all, client).is_err() {
        return graphs
            .iter_mut()
            .map(|graph| {
                if graph.ecosystem != Ecosystem::Pypi {
                    return Ok(());
                }
                let all: Vec<PackageIndex> = (0..graph.packages.len()).map(PackageIndex).collect();
                pyindex::resolve_urls(graph, &all, client)
            })
            .collect();
    }
    for (g, p, a, m, ma) in links {
        let resolved = merged
            .packages
            .get(m)
            .and_then(|pk| pk.artifacts.get(ma))
            .cloned();
        let slot = graphs
            .get_mut(g)
            .and_then(|graph| graph.packages.get_mut(p))
            .and_then(|pk| pk.artifacts.get_mut(a));
        if let (Some(resolved), Some(slot)) = (resolved, slot) {
            *slot = resolved;
        }
    }
    graphs.iter().map(|_| Ok(())).collect()
}
