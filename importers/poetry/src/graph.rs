//! Builds the [`Graph`] from a parsed lockfile and the project's manifest.
//!
//! Edges are resolved by name. When the lock holds one package of that name
//! the edge goes to it; when it holds several (a multiple-constraints
//! dependency, e.g. two numpy releases for two Python ranges), each
//! alternative goes to the releases its constraint allows, and the target
//! packages' own markers (lock 2.1) tell which one applies.

use crate::constraint::Constraint;
use crate::lockfile::{self, LockVersion, RawLock, RawMarkers, RawPackage, KNOWN_MINORS};
use crate::manifest::{self, RootRequirement};
use crate::requirement::{self, Requirement};
use crate::{content_hash, source};
use lock2build_model::{
    line_column, normalize_python_name, DepKind, Dependency, Diagnostic, Ecosystem, Graph,
    ImportError, LineIndex, LockInput, Package, PackageIndex, Source,
};
use pep440_rs::Version;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

const PYPROJECT: &str = "pyproject.toml";
const RELOCK: &str = "run `poetry lock` to bring poetry.lock in step with pyproject.toml";

/// Imports a poetry.lock and its pyproject.toml.
pub(crate) fn import(input: &LockInput<'_>) -> Result<Graph, ImportError> {
    let path = input.path;
    let text = input.contents;
    let version = lockfile::lock_version(path, text)?;
    let raw = lockfile::parse(path, text)?;

    let mut graph = Graph::new(Ecosystem::Pypi, path, format!("poetry.lock {version}"));
    if KNOWN_MINORS
        .iter()
        .any(|&(major, minor)| major == version.major && version.minor > minor)
    {
        graph.warnings.push(Diagnostic {
            file: path.to_path_buf(),
            line: None,
            message: format!(
                "lock-version {version} is newer than this importer knows; it was read as {}.{}",
                version.major,
                KNOWN_MINORS
                    .iter()
                    .find(|(m, _)| *m == version.major)
                    .map_or(0, |(_, n)| *n)
            ),
        });
    }
    graph.requires_python = raw.metadata.python_versions.as_deref().map(|p| {
        Constraint::parse(p)
            .and_then(|c| c.to_pep440())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| p.to_owned())
    });

    let locked = add_packages(&mut graph, &raw, path, text, version)?;
    add_package_edges(&mut graph, &raw, &locked, path, text)?;

    let pyproject_text = input.files.read(Path::new(PYPROJECT));
    let pyproject_path = path
        .parent()
        .map_or_else(|| PathBuf::from(PYPROJECT), |dir| dir.join(PYPROJECT));
    let root = match pyproject_text {
        Some(pyproject_text) => {
            let table: toml::Table = toml::from_str(&pyproject_text).map_err(|e| {
                lockfile::toml_error(
                    &pyproject_path,
                    &pyproject_text,
                    &e,
                    "pyproject.toml is not valid TOML",
                )
                .with_help("fix the syntax error in pyproject.toml")
            })?;
            check_content_hash(&mut graph, &raw, &table, path, text);
            let manifest = manifest::read(&table).map_err(|message| {
                ImportError::new(&pyproject_path, message).with_help("fix pyproject.toml")
            })?;
            root_from_manifest(
                &mut graph,
                &locked,
                &manifest,
                &pyproject_path,
                &pyproject_text,
            )?
        }
        None => {
            graph.warnings.push(Diagnostic {
                file: pyproject_path.clone(),
                line: None,
                message: "pyproject.toml not found: the project's own dependencies are taken to be every \
                          package of the lock's main group"
                    .into(),
            });
            root_without_manifest(&mut graph, &raw)
        }
    };
    graph.roots.push(root);
    Ok(graph)
}

/// The locked packages by normalised name, with their parsed versions.
struct Locked {
    by_name: BTreeMap<String, Vec<(PackageIndex, Option<Version>)>>,
}

impl Locked {
    /// The packages a requirement can resolve to (see the module docs).
    fn resolve(&self, graph: &Graph, req: &Requirement) -> Vec<PackageIndex> {
        let Some(candidates) = self.by_name.get(&req.name) else {
            return Vec::new();
        };
        let all: Vec<PackageIndex> = candidates.iter().map(|(i, _)| *i).collect();
        if all.len() <= 1 {
            return all;
        }
        if let Some(constraint) = &req.constraint {
            let matching: Vec<PackageIndex> = candidates
                .iter()
                .filter(|(_, v)| v.as_ref().is_some_and(|v| constraint.contains(v)))
                .map(|(i, _)| *i)
                .collect();
            if !matching.is_empty() {
                return matching;
            }
        }
        if req.direct {
            let direct: Vec<PackageIndex> = all
                .iter()
                .copied()
                .filter(|i| {
                    graph
                        .packages
                        .get(i.0)
                        .is_some_and(|p| !matches!(p.source, Source::Registry { .. }))
                })
                .collect();
            if !direct.is_empty() {
                return direct;
            }
        }
        all
    }
}

fn package_line(lines: &LineIndex, span: std::ops::Range<usize>) -> usize {
    lines.line_at(span.start)
}

fn add_packages(
    graph: &mut Graph,
    raw: &RawLock,
    path: &Path,
    text: &str,
    version: LockVersion,
) -> Result<Locked, ImportError> {
    let mut name_counts: BTreeMap<String, usize> = BTreeMap::new();
    for package in &raw.package {
        *name_counts
            .entry(normalize_python_name(&package.get_ref().name))
            .or_default() += 1;
    }
    let metadata_files: BTreeMap<String, &Vec<lockfile::RawFile>> = raw
        .metadata
        .files
        .iter()
        .map(|(name, files)| (normalize_python_name(name), files))
        .collect();

    let mut locked = Locked {
        by_name: BTreeMap::new(),
    };
    let lines = LineIndex::new(text);
    for spanned in &raw.package {
        let line = package_line(&lines, spanned.span());
        let raw_package = spanned.get_ref();
        let at = |message: String| ImportError::new(path, message).at_line(line);
        let name = normalize_python_name(&raw_package.name);
        let source =
            source::source(raw_package.source.as_ref(), raw_package.develop).map_err(|m| {
                at(format!("package `{name}`: {m}"))
                    .with_help("re-create the lockfile with `poetry lock`")
            })?;

        let files: Vec<&lockfile::RawFile> = if !raw_package.files.is_empty() || version.major >= 2
        {
            raw_package.files.iter().collect()
        } else {
            match metadata_files.get(&name) {
                Some(files) if name_counts.get(&name).copied().unwrap_or(0) > 1 => {
                    source::files_for_version(files, &raw_package.version)
                }
                Some(files) => files.iter().collect(),
                None => Vec::new(),
            }
        };
        let artifacts = source::artifacts(&source, &files).map_err(|m| {
            at(format!("package `{name}`: {m}"))
                .with_help("re-create the lockfile with `poetry lock`")
        })?;

        let mut package = Package::new(name.clone(), raw_package.version.clone(), source);
        package.artifacts = artifacts;
        package.line = Some(line);
        package.groups = if raw_package.groups.is_empty() {
            raw_package.category.iter().cloned().collect()
        } else {
            raw_package.groups.clone()
        };
        package.marker = package_marker(raw_package);
        package.flags.optional = raw_package.optional;
        package.flags.dev =
            !package.groups.is_empty() && !package.groups.iter().any(|g| g == "main");

        let parsed_version = Version::from_str(&raw_package.version).ok();
        let index = graph.push(package);
        locked
            .by_name
            .entry(name)
            .or_default()
            .push((index, parsed_version));
    }
    Ok(locked)
}

/// Lock 2.1 `markers`: a string, or per-group markers joined with `or`. A
/// group listed in `groups` without a marker applies everywhere.
fn package_marker(raw: &RawPackage) -> Option<String> {
    match raw.markers.as_ref()? {
        RawMarkers::Single(marker) => Some(marker.clone()),
        RawMarkers::PerGroup(per_group) => {
            if raw.groups.iter().any(|g| !per_group.contains_key(g)) {
                return None;
            }
            let mut parts: Vec<&String> = Vec::new();
            for marker in per_group.values() {
                if !parts.contains(&marker) {
                    parts.push(marker);
                }
            }
            match parts.as_slice() {
                [] => None,
                [one] => Some((*one).clone()),
                many => Some(
                    many.iter()
                        .map(|m| format!("({m})"))
                        .collect::<Vec<_>>()
                        .join(" or "),
                ),
            }
        }
    }
}

fn add_package_edges(
    graph: &mut Graph,
    raw: &RawLock,
    locked: &Locked,
    path: &Path,
    text: &str,
) -> Result<(), ImportError> {
    let lines = LineIndex::new(text);
    for (index, spanned) in raw.package.iter().enumerate() {
        let line = package_line(&lines, spanned.span());
        let raw_package = spanned.get_ref();
        let mut edges = Vec::new();
        for (dep_name, value) in &raw_package.dependencies {
            let requirements = requirement::from_poetry(dep_name, value).map_err(|m| {
                ImportError::new(path, format!("package `{}`: {m}", raw_package.name))
                    .at_line(line)
                    .with_help("re-create the lockfile with `poetry lock`")
            })?;
            for req in requirements {
                let targets = locked.resolve(graph, &req);
                if targets.is_empty()
                    && !req.optional
                    && !marker_mentions_extra(req.marker.as_deref())
                {
                    graph.warnings.push(Diagnostic {
                        file: path.to_path_buf(),
                        line: Some(line),
                        message: format!(
                            "`{}` depends on `{}`, which is not in the lock (skipped)",
                            raw_package.name, req.name
                        ),
                    });
                }
                let (kind, groups) = if req.optional {
                    (
                        DepKind::Optional,
                        extras_mentioning(&raw_package.extras, &req.name),
                    )
                } else {
                    (DepKind::Normal, Vec::new())
                };
                for target in targets {
                    push_unique(&mut edges, edge(&req, target, kind, groups.clone()));
                }
            }
        }
        if let Some(package) = graph.packages.get_mut(index) {
            package.dependencies = edges;
        }
    }
    Ok(())
}

fn marker_mentions_extra(marker: Option<&str>) -> bool {
    marker.is_some_and(|m| m.contains("extra"))
}

/// The extras of `[package.extras]` whose requirement list names `name`.
fn extras_mentioning(extras: &BTreeMap<String, Vec<String>>, name: &str) -> Vec<String> {
    extras
        .iter()
        .filter(|(_, reqs)| {
            reqs.iter()
                .any(|r| requirement::requirement_name(r).as_deref() == Some(name))
        })
        .map(|(extra, _)| extra.clone())
        .collect()
}

fn edge(req: &Requirement, target: PackageIndex, kind: DepKind, groups: Vec<String>) -> Dependency {
    let mut dependency = Dependency::new(req.name.clone(), target);
    dependency.kind = kind;
    dependency.groups = groups;
    dependency.marker = req.marker.clone();
    dependency.extras = req.extras.clone();
    dependency
}

fn push_unique(edges: &mut Vec<Dependency>, dependency: Dependency) {
    // Compare targets first: a root with thousands of edges stays fast.
    if !edges
        .iter()
        .any(|e| e.target == dependency.target && *e == dependency)
    {
        edges.push(dependency);
    }
}

fn check_content_hash(
    graph: &mut Graph,
    raw: &RawLock,
    pyproject: &toml::Table,
    path: &Path,
    text: &str,
) {
    let Some(locked_hash) = raw.metadata.content_hash.as_ref() else {
        return;
    };
    let Some(current) = content_hash::content_hash(pyproject, true) else {
        return;
    };
    let mut fresh = current == *locked_hash.get_ref();
    if !fresh {
        // Poetry before 2.3 did not hash [dependency-groups].
        let old_poetry = lockfile::generated_by(text).is_some_and(|v| v < vec![2, 3, 0]);
        if old_poetry {
            fresh = content_hash::content_hash(pyproject, false).as_deref()
                == Some(locked_hash.get_ref());
        }
    }
    if !fresh {
        graph.stale.push(Diagnostic {
            file: path.to_path_buf(),
            line: Some(line_column(text, locked_hash.span().start).0),
            message: format!(
                "poetry.lock is out of date: pyproject.toml changed since it was locked \
                 (content-hash {} != {current}); {RELOCK}",
                locked_hash.get_ref()
            ),
        });
    }
}

fn root_from_manifest(
    graph: &mut Graph,
    locked: &Locked,
    manifest: &manifest::Manifest,
    pyproject_path: &Path,
    pyproject_text: &str,
) -> Result<PackageIndex, ImportError> {
    let mut edges = Vec::new();
    for RootRequirement {
        requirement: req,
        kind,
        groups,
        declared_in,
    } in &manifest.requirements
    {
        let targets = locked.resolve(graph, req);
        if targets.is_empty() {
            let line = find_line(pyproject_text, &req.name);
            if req.marker.is_some() {
                // Poetry leaves out dependencies whose markers never hold
                // for the project's Python range.
                graph.warnings.push(Diagnostic {
                    file: pyproject_path.to_path_buf(),
                    line,
                    message: format!(
                        "`{}` ({declared_in}) is not in poetry.lock; its marker `{}` may never apply",
                        req.name,
                        req.marker.as_deref().unwrap_or_default()
                    ),
                });
                continue;
            }
            let mut error = ImportError::new(
                pyproject_path,
                format!("`{}` ({declared_in}) is not in poetry.lock: the lock and pyproject.toml disagree", req.name),
            )
            .with_help(RELOCK);
            error.line = line;
            return Err(error);
        }
        for target in targets {
            push_unique(&mut edges, edge(req, target, *kind, groups.clone()));
        }
    }
    let name = manifest
        .name
        .as_deref()
        .map(normalize_python_name)
        .unwrap_or_else(|| project_name(graph));
    let version = manifest.version.clone().unwrap_or_else(|| "0".into());
    let source = if manifest.is_virtual {
        Source::Virtual { path: ".".into() }
    } else {
        Source::Directory {
            path: ".".into(),
            editable: false,
        }
    };
    let mut root = Package::new(name, version, source);
    root.dependencies = edges;
    Ok(graph.push(root))
}

/// Without a manifest: edges to every package of the main group (lock 2.1
/// `groups`, lock 1.1 `category`; every package when the lock says neither).
fn root_without_manifest(graph: &mut Graph, raw: &RawLock) -> PackageIndex {
    let mut edges = Vec::new();
    for (index, package) in graph.packages.iter().enumerate() {
        let main = package.groups.is_empty() || package.groups.iter().any(|g| g == "main");
        if !main {
            continue;
        }
        let mut dependency = Dependency::new(package.name.clone(), PackageIndex(index));
        if package.flags.optional {
            dependency.kind = DepKind::Optional;
            dependency.groups = extras_mentioning(&raw.extras, &package.name);
        }
        edges.push(dependency);
    }
    let mut root = Package::new(
        project_name(graph),
        "0",
        Source::Directory {
            path: ".".into(),
            editable: false,
        },
    );
    root.dependencies = edges;
    graph.push(root)
}

/// The name of the lockfile's directory, for a project whose manifest does
/// not name it.
fn project_name(graph: &Graph) -> String {
    graph
        .lockfile
        .parent()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str())
        .map(normalize_python_name)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "project".into())
}

/// The first line of `text` that starts (after quotes and spaces) with the
/// dependency `name`, compared normalised.
fn find_line(text: &str, name: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            let trimmed = line.trim_start().trim_start_matches(['"', '\'']);
            let head: String = trimmed
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .collect();
            !head.is_empty() && normalize_python_name(&head) == name
        })
        .map(|i| i + 1)
}
