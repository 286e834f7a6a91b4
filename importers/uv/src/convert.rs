//! Turns the raw `uv.lock` document into a [`Graph`].

use crate::raw::{
    RawArtifact, RawDependency, RawLock, RawPackage, RawRequirement, RawSource, VersionProbe,
};
use crate::source;
use lock2build_model::{
    line_column, normalize_python_name, Artifact, ArtifactKind, DepKind, Dependency, Diagnostic,
    Ecosystem, Graph, Hash, ImportError, LockInput, Package, PackageIndex, Source,
};
use std::collections::BTreeMap;
use std::ops::Range;
use toml::Spanned;

const RELOCK: &str = "re-create the lock with a current uv: `uv lock`";

/// Reads a `uv.lock`. See the crate documentation for what is accepted.
pub fn import(input: &LockInput) -> Result<Graph, ImportError> {
    let reader = Reader { input };
    let probe: VersionProbe = toml::from_str(input.contents).map_err(|e| reader.toml_error(&e))?;
    reader.check_version(probe.version)?;
    let lock: RawLock = toml::from_str(input.contents).map_err(|e| reader.toml_error(&e))?;
    reader.build(lock)
}

/// The input, and how to point into it.
struct Reader<'a> {
    input: &'a LockInput<'a>,
}

impl Reader<'_> {
    fn error(&self, message: impl Into<String>) -> ImportError {
        ImportError::new(self.input.path, message)
    }

    fn error_at(&self, span: &Range<usize>, message: impl Into<String>) -> ImportError {
        self.error(message)
            .at_offset(self.input.contents, span.start)
    }

    fn line(&self, span: &Range<usize>) -> usize {
        line_column(self.input.contents, span.start).0
    }

    fn toml_error(&self, e: &toml::de::Error) -> ImportError {
        let message = format!("this uv.lock cannot be read: {}", e.message().trim());
        let error = match e.span() {
            Some(span) => self.error_at(&span, message),
            None => self.error(message),
        };
        error.with_help(format!("the file is damaged or not a uv.lock; {RELOCK}"))
    }

    fn check_version(&self, version: Option<Spanned<toml::Value>>) -> Result<(), ImportError> {
        let Some(version) = version else {
            return Err(self
                .error("this file has no top-level `version`, so it is not a uv.lock")
                .at_line(1)
                .with_help(RELOCK));
        };
        match version.get_ref() {
            toml::Value::Integer(1) => Ok(()),
            other => Err(self
                .error_at(
                    &version.span(),
                    format!("uv.lock version {other} is not supported: lock2build reads version 1, the format uv writes"),
                )
                .with_help(format!("{RELOCK} (uv 0.3 and later write version 1)"))),
        }
    }

    fn build(&self, lock: RawLock) -> Result<Graph, ImportError> {
        let format = match lock.revision {
            Some(revision) => format!("uv.lock v1 (revision {revision})"),
            None => "uv.lock v1".to_owned(),
        };
        let mut graph = Graph::new(Ecosystem::Pypi, self.input.path, format);
        graph.requires_python = lock.requires_python.clone();

        // First every package, so edges can point at any of them.
        let mut by_name: BTreeMap<String, Vec<PackageIndex>> = BTreeMap::new();
        let mut raw_sources = Vec::with_capacity(lock.packages.len());
        for raw in &lock.packages {
            let package = self.package(raw)?;
            let name = package.name.clone();
            let index = graph.push(package);
            by_name.entry(name).or_default().push(index);
            raw_sources.push(raw.get_ref().source.get_ref().clone());
        }
        let resolver = Resolver {
            by_name: &by_name,
            graph: &graph,
            raw_sources: &raw_sources,
        };

        let mut edges = Vec::with_capacity(lock.packages.len());
        for raw in &lock.packages {
            let raw = raw.get_ref();
            let mut deps = Vec::new();
            for dep in &raw.dependencies {
                deps.push(self.edge(&resolver, raw, dep, DepKind::Normal, None)?);
            }
            for (extra, list) in &raw.optional_dependencies {
                for dep in list {
                    deps.push(self.edge(&resolver, raw, dep, DepKind::Optional, Some(extra))?);
                }
            }
            for (group, list) in &raw.dev_dependencies {
                for dep in list {
                    deps.push(self.edge(&resolver, raw, dep, DepKind::Dev, Some(group))?);
                }
            }
            edges.push(deps);
        }
        for (package, deps) in graph.packages.iter_mut().zip(edges) {
            package.dependencies = deps;
        }

        let (members, requirements) = lock
            .manifest
            .as_ref()
            .map(|m| (m.members.clone(), m.requirements.clone()))
            .unwrap_or_default();
        graph.roots = self.roots(&graph, members)?;
        if graph.roots.is_empty() && !requirements.is_empty() {
            let root = self.requirements_root(&resolver_of(&by_name, &graph), &requirements)?;
            let index = graph.push(root);
            graph.roots.push(index);
        }
        if graph.roots.is_empty() {
            graph.warnings.push(Diagnostic {
                file: self.input.path.to_path_buf(),
                line: None,
                message: format!(
                    "this uv.lock has no project package (no `[manifest] members`, no package with source `.`, no `[manifest] requirements`){}: nothing to build from it",
                    if graph.packages.is_empty() { " and no packages" } else { "" }
                ),
            });
        }
        crate::fresh::check(&mut graph, &lock, self.input.files, self.input.path);
        Ok(graph)
    }

    fn package(&self, raw: &Spanned<RawPackage>) -> Result<Package, ImportError> {
        let line = self.line(&raw.span());
        let raw = raw.get_ref();
        let name = normalize_python_name(raw.name.get_ref());
        let source = source::convert(raw.source.get_ref()).map_err(|message| {
            self.error_at(&raw.source.span(), format!("package `{name}`: {message}"))
                .with_help(RELOCK)
        })?;
        let mut package = Package::new(name, raw.version.clone().unwrap_or_default(), source);
        package.line = Some(line);
        if let Some(sdist) = &raw.sdist {
            package
                .artifacts
                .push(self.artifact(&package, sdist, ArtifactKind::Sdist)?);
        }
        for wheel in &raw.wheels {
            package
                .artifacts
                .push(self.artifact(&package, wheel, ArtifactKind::Wheel)?);
        }
        if let Source::Git { url, .. } = &package.source {
            package.artifacts.push(Artifact {
                kind: ArtifactKind::Git,
                filename: None,
                url: Some(url.clone()),
                hashes: Vec::new(),
                size: None,
            });
        }
        Ok(package)
    }

    /// An `sdist` or `wheels` entry. Entries of `url` and `path` sources may
    /// leave out where the file is: it is then the source itself.
    fn artifact(
        &self,
        package: &Package,
        raw: &Spanned<RawArtifact>,
        kind: ArtifactKind,
    ) -> Result<Artifact, ImportError> {
        let span = raw.span();
        let raw = raw.get_ref();
        let url = raw.url.clone().or_else(|| match &package.source {
            Source::Url { url, .. } => Some(url.clone()),
            _ => None,
        });
        let local_path = raw.path.clone().or_else(|| match &package.source {
            Source::File { path } => Some(path.clone()),
            _ => None,
        });
        let filename = raw
            .filename
            .clone()
            .or_else(|| url.as_deref().and_then(source::basename))
            .or_else(|| local_path.as_deref().and_then(source::basename));
        let mut hashes = Vec::new();
        if let Some(hash) = &raw.hash {
            let hash = Hash::parse_prefixed(hash).map_err(|e| {
                self.error_at(&span, format!("package `{}`: {e}", package.name))
                    .with_help(RELOCK)
            })?;
            hashes.push(hash);
        }
        Ok(Artifact {
            kind,
            filename,
            url,
            hashes,
            size: raw.size,
        })
    }

    fn edge(
        &self,
        resolver: &Resolver<'_>,
        from: &RawPackage,
        dep: &Spanned<RawDependency>,
        kind: DepKind,
        group: Option<&String>,
    ) -> Result<Dependency, ImportError> {
        let raw = dep.get_ref();
        let target = resolver.resolve(raw).map_err(|message| {
            self.error_at(
                &dep.span(),
                format!("package `{}`: {message}", from.name.get_ref()),
            )
            .with_help(RELOCK)
        })?;
        let mut edge = Dependency::new(normalize_python_name(&raw.name), target);
        edge.kind = kind;
        edge.groups = group.into_iter().cloned().collect();
        edge.marker = raw.marker.clone();
        edge.extras = raw.extra.clone();
        Ok(edge)
    }

    /// The workspace members, or else the project at `.`.
    fn roots(&self, graph: &Graph, members: Vec<String>) -> Result<Vec<PackageIndex>, ImportError> {
        let mut roots = Vec::new();
        if members.is_empty() {
            for (i, package) in graph.packages.iter().enumerate() {
                let at_top = match &package.source {
                    Source::Directory { path, .. } | Source::Virtual { path } => {
                        path == "." || path.is_empty()
                    }
                    _ => false,
                };
                if at_top {
                    roots.push(PackageIndex(i));
                }
            }
        } else {
            for member in &members {
                let name = normalize_python_name(member);
                let found: Vec<_> = graph
                    .find(&name)
                    .filter(|&i| graph.package(i).source.is_local())
                    .collect();
                if found.is_empty() {
                    return Err(self
                        .error(format!(
                            "workspace member `{member}` has no local package in the lock"
                        ))
                        .with_help(RELOCK));
                }
                roots.extend(found);
            }
        }
        Ok(roots)
    }

    /// The root of a lock with only `[manifest] requirements` (a PEP 723
    /// script's): a virtual package named after the script (`tool.py.lock`
    /// → `tool`), an edge to each requirement.
    fn requirements_root(
        &self,
        resolver: &Resolver<'_>,
        requirements: &[Spanned<RawRequirement>],
    ) -> Result<Package, ImportError> {
        let file = self
            .input
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = file
            .strip_suffix(".py.lock")
            .or_else(|| file.strip_suffix(".lock"))
            .unwrap_or(&file);
        let mut root = Package::new(
            normalize_python_name(name),
            "",
            Source::Virtual { path: ".".into() },
        );
        for requirement in requirements {
            let raw = requirement.get_ref();
            let dep = RawDependency {
                name: raw.name.clone(),
                version: None,
                source: None,
                marker: None,
                extra: Vec::new(),
            };
            let target = resolver.resolve(&dep).map_err(|message| {
                self.error_at(
                    &requirement.span(),
                    format!("`[manifest] requirements`: {message}"),
                )
                .with_help(RELOCK)
            })?;
            let mut edge = Dependency::new(normalize_python_name(&raw.name), target);
            edge.marker = raw.marker.clone();
            edge.extras = raw.extras.clone();
            root.dependencies.push(edge);
        }
        Ok(root)
    }
}

fn resolver_of<'a>(
    by_name: &'a BTreeMap<String, Vec<PackageIndex>>,
    graph: &'a Graph,
) -> Resolver<'a> {
    Resolver {
        by_name,
        graph,
        raw_sources: &[],
    }
}

/// Finds the package a dependency entry means.
struct Resolver<'a> {
    by_name: &'a BTreeMap<String, Vec<PackageIndex>>,
    graph: &'a Graph,
    raw_sources: &'a [RawSource],
}

impl Resolver<'_> {
    /// uv leaves out `version` and `source` when the name alone is
    /// unambiguous; when one name has several entries (a fork, or the same
    /// version from two sources) it writes what tells them apart.
    fn resolve(&self, dep: &RawDependency) -> Result<PackageIndex, String> {
        let name = normalize_python_name(&dep.name);
        let all = self
            .by_name
            .get(&name)
            .map(Vec::as_slice)
            .unwrap_or_default();
        if all.is_empty() {
            return Err(format!("depends on `{name}`, which the lock does not list"));
        }
        let matching: Vec<PackageIndex> = all
            .iter()
            .copied()
            .filter(|&i| {
                let version_ok = dep.version.as_ref().is_none_or(|v| {
                    self.graph
                        .packages
                        .get(i.0)
                        .is_some_and(|p| &p.version == v)
                });
                let source_ok = dep
                    .source
                    .as_ref()
                    .is_none_or(|s| self.raw_sources.get(i.0).is_some_and(|r| r == s));
                version_ok && source_ok
            })
            .collect();
        match matching.as_slice() {
            [one] => Ok(*one),
            [] => Err(format!(
                "depends on `{name}`{}, but no such package is listed",
                dep.version.as_ref().map(|v| format!(" {v}")).unwrap_or_default()
            )),
            _ => Err(format!(
                "depends on `{name}`, which has {} entries, without the version or source that picks one",
                matching.len()
            )),
        }
    }
}
