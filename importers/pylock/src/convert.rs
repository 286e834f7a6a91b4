//! Turns the raw `pylock.toml` document into a [`Graph`].

use crate::marker;
use crate::raw::{RawFile, RawLock, RawPackage, RawVcs, VersionProbe};
use lock2build_model::{
    line_column, normalize_python_name, Artifact, ArtifactKind, DepKind, Dependency, Diagnostic,
    Ecosystem, Graph, Hash, HashAlgorithm, ImportError, LockInput, Package, PackageIndex, Source,
};
use std::ops::Range;
use toml::Spanned;

const RELOCK: &str =
    "re-create the lock with its tool (`uv export --format pylock.toml -o pylock.toml`, `pip lock`, `pdm export --format pylock`)";

/// Where packages without an `index` (pip lock writes none) come from.
const PYPI: &str = "https://pypi.org/simple";

/// Reads a `pylock.toml`. See the crate documentation for what is accepted.
pub fn import(input: &LockInput) -> Result<Graph, ImportError> {
    let reader = Reader { input };
    let probe: VersionProbe = toml::from_str(input.contents).map_err(|e| reader.toml_error(&e))?;
    reader.check_version(probe.lock_version)?;
    let lock: RawLock = toml::from_str(input.contents).map_err(|e| reader.toml_error(&e))?;
    reader.build(lock)
}

struct Reader<'a> {
    input: &'a LockInput<'a>,
}

impl Reader<'_> {
    fn error_at(&self, span: &Range<usize>, message: impl Into<String>) -> ImportError {
        ImportError::new(self.input.path, message).at_offset(self.input.contents, span.start)
    }

    fn toml_error(&self, e: &toml::de::Error) -> ImportError {
        let message = format!("this pylock.toml cannot be read: {}", e.message().trim());
        let error = match e.span() {
            Some(span) => self.error_at(&span, message),
            None => ImportError::new(self.input.path, message),
        };
        error.with_help(format!(
            "the file is damaged or not a PEP 751 lock; {RELOCK}"
        ))
    }

    fn check_version(&self, version: Option<Spanned<toml::Value>>) -> Result<(), ImportError> {
        let Some(version) = version else {
            return Err(ImportError::new(
                self.input.path,
                "this file has no top-level `lock-version`, so it is not a PEP 751 lock",
            )
            .at_line(1)
            .with_help(RELOCK));
        };
        match version.get_ref() {
            toml::Value::String(v) if v.split('.').next() == Some("1") => Ok(()),
            other => Err(self
                .error_at(
                    &version.span(),
                    format!(
                        "pylock.toml lock-version {other} is not supported: lock2build reads 1.x"
                    ),
                )
                .with_help(RELOCK)),
        }
    }

    fn build(&self, lock: RawLock) -> Result<Graph, ImportError> {
        let format = match &lock.created_by {
            Some(tool) => format!("pylock.toml 1.0 (by {tool})"),
            None => "pylock.toml 1.0".to_owned(),
        };
        let mut graph = Graph::new(Ecosystem::Pypi, self.input.path, format);
        graph.requires_python = lock.requires_python.clone();
        let mut conditions = Vec::new();
        for raw in &lock.packages {
            let package = self.package(raw)?;
            conditions.push(self.condition(raw.get_ref())?);
            graph.push(package);
        }
        let mut roots: Vec<PackageIndex> = (0..graph.packages.len())
            .map(PackageIndex)
            .filter(|&i| is_project(&graph.package(i).source))
            .collect();
        if roots.is_empty() {
            let root = Package::new("pylock", "", Source::Virtual { path: ".".into() });
            roots.push(graph.push(root));
        }
        self.check_names(&mut graph, &lock, &conditions);
        let edges: Vec<Dependency> = conditions
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !roots.contains(&PackageIndex(*i)))
            .map(|(i, condition)| self.edge(&graph, PackageIndex(i), condition, &lock))
            .collect();
        for &root in &roots {
            graph.packages[root.0].dependencies = edges.clone();
        }
        graph.roots = roots;
        Ok(graph)
    }

    /// Extras and groups a marker tests that the lock does not list: a
    /// hand edit, or a tool that disagrees with PEP 751. Warned about.
    fn check_names(&self, graph: &mut Graph, lock: &RawLock, conditions: &[marker::Condition]) {
        let listed = |list: &[String], name: &str| {
            list.iter()
                .any(|l| normalize_python_name(l) == normalize_python_name(name))
        };
        for (package, condition) in graph.packages.iter().zip(conditions) {
            let unknown_extras = condition.extras.iter().filter(|e| !listed(&lock.extras, e));
            let unknown_groups = condition
                .groups
                .iter()
                .filter(|g| !listed(&lock.dependency_groups, g));
            for (what, name) in unknown_extras
                .map(|e| ("extra", e))
                .chain(unknown_groups.map(|g| ("dependency group", g)))
            {
                graph.warnings.push(Diagnostic {
                    file: self.input.path.to_path_buf(),
                    line: package.line,
                    message: format!(
                        "package `{}` is for the {what} `{name}`, which the lock's top-level list does not name",
                        package.name
                    ),
                });
            }
        }
    }

    fn condition(&self, raw: &RawPackage) -> Result<marker::Condition, ImportError> {
        let Some(m) = &raw.marker else {
            return Ok(marker::Condition::default());
        };
        marker::condition(m.get_ref()).map_err(|message| {
            self.error_at(&m.span(), format!("package `{}`: {message}", raw.name.get_ref()))
                .with_help("lock it for the groups you build (`uv export --format pylock.toml --group G`), which writes no group markers")
        })
    }

    /// The root's edge to package `i`. A group in `default-groups` is
    /// installed by default: its edge is a normal one.
    fn edge(
        &self,
        graph: &Graph,
        i: PackageIndex,
        condition: marker::Condition,
        lock: &RawLock,
    ) -> Dependency {
        let mut edge = Dependency::new(graph.package(i).name.clone(), i);
        edge.marker = condition.marker;
        let default_group = condition.groups.iter().any(|g| {
            lock.default_groups
                .iter()
                .any(|d| d.eq_ignore_ascii_case(g))
        });
        if !condition.extras.is_empty() {
            edge.kind = DepKind::Optional;
            edge.groups = condition.extras;
        } else if !condition.groups.is_empty() && !default_group {
            edge.kind = DepKind::Dev;
            edge.groups = condition.groups;
        }
        edge
    }

    fn package(&self, raw: &Spanned<RawPackage>) -> Result<Package, ImportError> {
        let span = raw.span();
        let line = line_column(self.input.contents, span.start).0;
        let raw = raw.get_ref();
        let name = normalize_python_name(raw.name.get_ref());
        let fail = |span: &Range<usize>, message: String| {
            self.error_at(span, format!("package `{name}`: {message}"))
                .with_help(RELOCK)
        };
        let kinds = [
            raw.vcs.is_some(),
            raw.directory.is_some(),
            raw.archive.is_some(),
            raw.sdist.is_some() || !raw.wheels.is_empty(),
        ];
        if kinds.iter().filter(|&&k| k).count() != 1 {
            return Err(fail(
                &span,
                "a package needs exactly one of `vcs`, `directory`, `archive`, or `sdist`/`wheels`"
                    .into(),
            ));
        }
        let mut artifacts = Vec::new();
        let source = if let Some(vcs) = &raw.vcs {
            let source = git_source(vcs.get_ref()).map_err(|m| fail(&vcs.span(), m))?;
            if let Source::Git { url, .. } = &source {
                artifacts.push(Artifact {
                    kind: ArtifactKind::Git,
                    filename: None,
                    url: Some(url.clone()),
                    hashes: Vec::new(),
                    size: None,
                });
            }
            source
        } else if let Some(dir) = &raw.directory {
            Source::Directory {
                path: join_subdirectory(&dir.path, dir.subdirectory.as_deref()),
                editable: dir.editable,
            }
        } else if let Some(archive) = &raw.archive {
            let a = archive.get_ref();
            let artifact = self
                .artifact(a, None)
                .map_err(|m| fail(&archive.span(), m))?;
            artifacts.push(artifact);
            match (&a.url, &a.path) {
                (Some(url), _) => Source::Url {
                    url: url.clone(),
                    subdirectory: a.subdirectory.clone(),
                },
                (None, Some(path)) => Source::File { path: path.clone() },
                (None, None) => {
                    return Err(fail(
                        &archive.span(),
                        "`archive` has neither `url` nor `path`".into(),
                    ))
                }
            }
        } else {
            if let Some(sdist) = &raw.sdist {
                let artifact = self
                    .artifact(sdist.get_ref(), Some(ArtifactKind::Sdist))
                    .map_err(|m| fail(&sdist.span(), m))?;
                artifacts.push(artifact);
            }
            for wheel in &raw.wheels {
                let artifact = self
                    .artifact(wheel.get_ref(), Some(ArtifactKind::Wheel))
                    .map_err(|m| fail(&wheel.span(), m))?;
                artifacts.push(artifact);
            }
            Source::Registry {
                url: raw.index.clone().unwrap_or_else(|| PYPI.to_owned()),
            }
        };
        let version = raw
            .version
            .clone()
            .or_else(|| self.tree_version(&source))
            .unwrap_or_default();
        let mut package = Package::new(name, version, source);
        package.artifacts = artifacts;
        package.line = Some(line);
        Ok(package)
    }

    /// A source tree's version, which uv and pip leave out of the lock:
    /// its `pyproject.toml`'s `[project] version` (or Poetry's), if static.
    fn tree_version(&self, source: &Source) -> Option<String> {
        let Source::Directory { path, .. } = source else {
            return None;
        };
        let dir: std::path::PathBuf = std::path::Path::new(path)
            .components()
            .filter(|c| *c != std::path::Component::CurDir)
            .collect();
        let text = self.input.files.read(&dir.join("pyproject.toml"))?;
        let doc: toml::Table = toml::from_str(&text).ok()?;
        let table = |t: &toml::Table, key: &str| t.get(key)?.as_table().cloned();
        let project = table(&doc, "project")
            .or_else(|| table(&doc, "tool").and_then(|tool| table(&tool, "poetry")))?;
        project.get("version")?.as_str().map(str::to_owned)
    }

    /// A file entry: its name (or that of its URL or path), URL, hashes
    /// and size. Every file must be hashed (PEP 751 requires it).
    fn artifact(&self, raw: &RawFile, kind: Option<ArtifactKind>) -> Result<Artifact, String> {
        let filename = raw
            .name
            .clone()
            .or_else(|| raw.url.as_deref().and_then(basename))
            .or_else(|| raw.path.as_deref().and_then(basename));
        if raw.url.is_none() && raw.path.is_none() {
            return Err(format!(
                "the file `{}` has neither `url` nor `path`",
                filename.as_deref().unwrap_or("?")
            ));
        }
        if raw.hashes.is_empty() {
            return Err(format!(
                "the file `{}` has no `hashes`",
                filename.as_deref().unwrap_or("?")
            ));
        }
        let mut hashes = Vec::new();
        for (algorithm, hex) in &raw.hashes {
            // Algorithms lock2build does not verify are left aside; one it
            // knows must be there.
            let Some(known) = HashAlgorithm::parse(algorithm) else {
                continue;
            };
            hashes.push(Hash::from_hex(known, hex).map_err(|e| format!("{algorithm} hash: {e}"))?);
        }
        if hashes.is_empty() {
            return Err(format!(
                "the file `{}` has no hash lock2build can check (sha256, sha384, sha512 or sha1)",
                filename.as_deref().unwrap_or("?")
            ));
        }
        let kind = kind.unwrap_or_else(|| {
            ArtifactKind::python_from_filename(filename.as_deref().unwrap_or_default())
        });
        Ok(Artifact {
            kind,
            filename,
            url: raw.url.clone(),
            hashes,
            size: raw.size,
        })
    }
}

/// `vcs = { type = "git", url, requested-revision, commit-id, subdirectory }`.
fn git_source(vcs: &RawVcs) -> Result<Source, String> {
    if vcs.kind != "git" {
        return Err(format!(
            "`vcs` of type `{}`: lock2build fetches git repositories only",
            vcs.kind
        ));
    }
    let url = vcs
        .url
        .clone()
        .or_else(|| vcs.path.clone())
        .ok_or("`vcs` has neither `url` nor `path`")?;
    let commit = vcs
        .commit_id
        .clone()
        .ok_or("`vcs` has no `commit-id` (PEP 751 requires the resolved commit)")?;
    if commit.is_empty() || !commit.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!("`vcs` pins `{commit}`, which is not a commit hash"));
    }
    Ok(Source::Git {
        url,
        reference: vcs.requested_revision.clone(),
        commit: commit.to_ascii_lowercase(),
        subdirectory: vcs.subdirectory.clone(),
    })
}

/// The project: a `directory` package at `.`.
fn is_project(source: &Source) -> bool {
    matches!(source, Source::Directory { path, .. } if matches!(path.as_str(), "." | "" | "./"))
}

fn join_subdirectory(path: &str, subdirectory: Option<&str>) -> String {
    match subdirectory {
        Some(sub) if !sub.is_empty() => format!("{}/{sub}", path.trim_end_matches('/')),
        _ => path.to_owned(),
    }
}

/// The last segment of a URL or path, without query or fragment.
fn basename(url_or_path: &str) -> Option<String> {
    let end = url_or_path.find(['?', '#']).unwrap_or(url_or_path.len());
    let name = url_or_path.get(..end)?.rsplit(['/', '\\']).next()?;
    (!name.is_empty()).then(|| name.to_owned())
}
