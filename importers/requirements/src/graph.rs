//! Builds the [`Graph`]: one root for the file, one package per distinct
//! pin, root edges with the requirement's marker and extras, and edges from
//! the `# via` annotations.

use crate::collect::{Collected, Located};
use crate::requirement::{version_from_filename, Pin};
use lock2build_model::{
    normalize_python_name, Artifact, ArtifactKind, Dependency, Diagnostic, Ecosystem, Graph, Hash,
    ImportError, LockInput, Package, PackageIndex, Source,
};
use std::collections::BTreeMap;
use std::path::Path;

/// The index pip uses when the file names none.
pub(crate) const DEFAULT_INDEX: &str = "https://pypi.org/simple";

/// Turns what was collected into the graph.
pub(crate) fn build(input: &LockInput, collected: Collected) -> Result<Graph, ImportError> {
    let format = match collected.generator {
        Some(tool) => format!("requirements.txt ({tool})"),
        None => "requirements.txt".to_owned(),
    };
    let mut graph = Graph::new(Ecosystem::Pypi, input.path, format);
    graph.warnings = collected.warnings;
    let registry = registry(
        input.path,
        &collected.index_url,
        &collected.find_links,
        collected.no_index,
        &mut graph.warnings,
    );
    let remember = |graph: &mut Graph, url: &str, what: &str| {
        graph.warnings.push(Diagnostic {
            file: input.path.to_path_buf(),
            line: None,
            message: format!(
                "{what} `{url}` is not recorded per package: artifacts are looked up by hash in `{registry}`"
            ),
        })
    };
    for url in &collected.extra_index_urls {
        remember(&mut graph, url, "extra index");
    }
    if !collected.no_index {
        for url in &collected.find_links {
            remember(&mut graph, url, "find-links location");
        }
    }

    let stem = input
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut root = Package::new(
        normalize_python_name(&stem),
        "",
        Source::Virtual {
            path: ".".to_owned(),
        },
    );
    root.line = Some(1);
    let root_index = graph.push(root);
    graph.roots.push(root_index);

    for editable in &collected.editables {
        let package = Package::new(
            editable.name.clone(),
            "",
            Source::Directory {
                path: editable.path.clone(),
                editable: true,
            },
        );
        let index = graph.push(package);
        let edge = Dependency::new(editable.name.clone(), index);
        graph.packages[root_index.0].dependencies.push(edge);
    }

    let top = crate::collect::top_file(input);
    // One package per (name, version, source); the first line that pins it
    // is the one reported.
    let mut by_key: BTreeMap<(String, String, String), PackageIndex> = BTreeMap::new();
    let mut first_line: BTreeMap<PackageIndex, &Located> = BTreeMap::new();
    let mut targets = Vec::with_capacity(collected.requirements.len());
    for located in &collected.requirements {
        let (package, key) = package_for(located, &registry, &top);
        let index = match by_key.get(&key) {
            Some(&index) => {
                merge_artifacts(&mut graph.packages[index.0], package.artifacts);
                index
            }
            None => {
                check_double(&graph, &first_line, located)?;
                let index = graph.push(package);
                by_key.insert(key, index);
                first_line.insert(index, located);
                index
            }
        };
        targets.push(index);
        let requirement = &located.requirement;
        let mut edge = Dependency::new(requirement.name.clone(), index);
        edge.marker = requirement.marker.clone();
        edge.extras = requirement.extras.clone();
        let root = &mut graph.packages[root_index.0];
        if !root
            .dependencies
            .iter()
            .any(|e| e.target == edge.target && *e == edge)
        {
            root.dependencies.push(edge);
        }
    }

    add_via_edges(&mut graph, root_index, &collected.requirements, &targets);
    Ok(graph)
}

/// The registry every pinned package comes from.
fn registry(
    file: &Path,
    index_url: &Option<String>,
    find_links: &[String],
    no_index: bool,
    warnings: &mut Vec<Diagnostic>,
) -> String {
    if no_index {
        if let Some(first) = find_links.first() {
            return first.clone();
        }
        warnings.push(Diagnostic {
            file: file.to_path_buf(),
            line: None,
            message: format!(
                "`--no-index` without `--find-links`: looking packages up in `{DEFAULT_INDEX}`"
            ),
        });
    }
    index_url
        .clone()
        .unwrap_or_else(|| DEFAULT_INDEX.to_owned())
}

/// The package a requirement pins, and its identity key.
fn package_for(
    located: &Located,
    registry: &str,
    top: &Path,
) -> (Package, (String, String, String)) {
    let requirement = &located.requirement;
    let name = requirement.name.clone();
    let hashes: Vec<Hash> = requirement
        .hashes
        .iter()
        .map(|(hash, _)| hash.clone())
        .collect();
    let mut package = match &requirement.pin {
        Pin::Version(version) => {
            let mut package = Package::new(
                name.clone(),
                version.clone(),
                Source::Registry {
                    url: registry.to_owned(),
                },
            );
            // The file names are not known yet: one artifact per hash, for
            // the binary to match against the index.
            package.artifacts = hashes
                .into_iter()
                .map(|hash| Artifact {
                    kind: ArtifactKind::Archive,
                    filename: None,
                    url: None,
                    hashes: vec![hash],
                    size: None,
                })
                .collect();
            package
        }
        Pin::Url {
            url,
            subdirectory,
            fragment_hashes,
        } => {
            let filename = url
                .rsplit('/')
                .next()
                .filter(|f| !f.is_empty())
                .map(str::to_owned);
            let version = filename
                .as_deref()
                .and_then(|f| version_from_filename(&name, f))
                .unwrap_or_default();
            let mut all = fragment_hashes.clone();
            all.extend(hashes.into_iter().filter(|h| !fragment_hashes.contains(h)));
            let mut package = Package::new(
                name.clone(),
                version,
                Source::Url {
                    url: url.clone(),
                    subdirectory: subdirectory.clone(),
                },
            );
            package.artifacts.push(Artifact {
                kind: filename
                    .as_deref()
                    .map_or(ArtifactKind::Archive, ArtifactKind::python_from_filename),
                filename,
                url: Some(url.clone()),
                hashes: all,
                size: None,
            });
            package
        }
        Pin::Git {
            url,
            commit,
            subdirectory,
        } => {
            let mut package = Package::new(
                name.clone(),
                "",
                Source::Git {
                    url: url.clone(),
                    reference: None,
                    commit: commit.clone(),
                    subdirectory: subdirectory.clone(),
                },
            );
            package.artifacts.push(Artifact {
                kind: ArtifactKind::Git,
                filename: None,
                url: Some(url.clone()),
                hashes: Vec::new(),
                size: None,
            });
            package
        }
    };
    package.line = Some(located.line);
    if located.relative != top {
        // The line is in an included file: say which.
        package.location = Some(located.relative.display().to_string());
    }
    let source_key = match &package.source {
        Source::Url { url, .. } | Source::Git { url, .. } => url.clone(),
        _ => String::new(),
    };
    let key = (name, package.version.clone(), source_key);
    (package, key)
}

/// Adds the hashes of a repeated pin that the package lacks.
fn merge_artifacts(package: &mut Package, artifacts: Vec<Artifact>) {
    for artifact in artifacts {
        if artifact.kind == ArtifactKind::Archive && artifact.url.is_none() {
            if !package.artifacts.contains(&artifact) {
                package.artifacts.push(artifact);
            }
        } else if let Some(existing) = package.artifacts.iter_mut().find(|a| a.url == artifact.url)
        {
            for hash in artifact.hashes {
                if !existing.hashes.contains(&hash) {
                    existing.hashes.push(hash);
                }
            }
        }
    }
}

/// pip refuses two different pins of one name ("Double requirement given")
/// unless markers keep them apart, as `uv pip compile --universal` writes.
fn check_double(
    graph: &Graph,
    first_line: &BTreeMap<PackageIndex, &Located>,
    located: &Located,
) -> Result<(), ImportError> {
    let name = &located.requirement.name;
    for other in graph.find(name) {
        let Some(previous) = first_line.get(&other) else {
            continue;
        };
        if previous.requirement.marker.is_none() || located.requirement.marker.is_none() {
            return Err(ImportError::new(
                &located.file,
                format!(
                    "`{name}` is pinned twice: {} here and {} at {}:{}",
                    describe(located),
                    describe(previous),
                    previous.file.display(),
                    previous.line
                ),
            )
            .at_line(located.line)
            .with_help("keep one pin, or give both exclusive environment markers (`; python_version < \"3.10\"`)"));
        }
    }
    Ok(())
}

fn describe(located: &Located) -> String {
    match &located.requirement.pin {
        Pin::Version(version) => format!("=={version}"),
        Pin::Url { url, .. } => format!("@ {url}"),
        Pin::Git { url, commit, .. } => format!("@ git+{url}@{commit}"),
    }
}

/// `# via a` under the pin of `b` means `a` depends on `b`: an edge from
/// every package named `a` (each fork of it) to `b`, under `b`'s marker.
/// The root keeps its edge to every package, so all stay reachable.
fn add_via_edges(
    graph: &mut Graph,
    root: PackageIndex,
    requirements: &[Located],
    targets: &[PackageIndex],
) {
    for (located, &target) in requirements.iter().zip(targets) {
        for via in &located.via {
            if via.starts_with('-') {
                continue; // `-r file` / `-c file`: the root asked for it.
            }
            let name_end = via
                .find(|c: char| c == '[' || c == '(' || c.is_whitespace())
                .unwrap_or(via.len());
            let name = normalize_python_name(via.get(..name_end).unwrap_or_default());
            let sources: Vec<PackageIndex> = graph
                .find(&name)
                .filter(|&i| i != root && i != target)
                .collect();
            for source in sources {
                let mut edge = Dependency::new(located.requirement.name.clone(), target);
                edge.marker = located.requirement.marker.clone();
                if let Some(package) = graph.packages.get_mut(source.0) {
                    if !package.dependencies.contains(&edge) {
                        package.dependencies.push(edge);
                    }
                }
            }
        }
    }
}
