//! The ecosystem-neutral dependency graph that every lockfile importer
//! produces, and that selection, planning and export read.
//!
//! This crate does no I/O. An importer turns the bytes of one lockfile (and,
//! where the format needs it, its manifest) into a [`Graph`]:
//!
//! - [`Package`]: one locked package (name, version, where it comes from),
//!   with its candidate [`Artifact`]s (every wheel and sdist of a Python
//!   release, the npm tarball, the `.crate`, a git checkout) and their
//!   [`Hash`]es;
//! - [`Dependency`]: an edge to another package of the same graph, with the
//!   condition under which it applies (a PEP 508 marker, a dev/optional/peer
//!   kind, the extras or groups that enable it);
//! - roots: the project itself (or the workspace members), as packages whose
//!   [`Source`] is local.
//!
//! Errors and warnings carry the file and line they are about, see
//! [`ImportError`] and [`Diagnostic`].
#![forbid(unsafe_code)]

mod error;
mod hash;
mod input;
pub mod markers;
pub mod names;

pub use error::{line_column, Diagnostic, ImportError, LineIndex};
pub use hash::{Hash, HashAlgorithm, HashNotation, HashParseError};
pub use input::{LockInput, MemoryFiles, ProjectFiles};

use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The package ecosystem a graph (and each package in it) belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    /// Python packages (PyPI and other PEP 503 indexes).
    Pypi,
    /// npm packages.
    Npm,
    /// Rust crates (crates.io and alternative registries).
    Crates,
}

impl Ecosystem {
    /// The lowercase name used in plans, overrides paths and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Ecosystem::Pypi => "pypi",
            Ecosystem::Npm => "npm",
            Ecosystem::Crates => "crates",
        }
    }
}

impl std::fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Index of a package inside [`Graph::packages`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct PackageIndex(pub usize);

/// One lockfile, imported.
#[derive(Debug, Clone, Serialize)]
pub struct Graph {
    /// The ecosystem of every package in this graph.
    pub ecosystem: Ecosystem,
    /// The lockfile this graph was read from, as given to the importer.
    pub lockfile: PathBuf,
    /// The lock format and its version, e.g. `poetry.lock 2.1`,
    /// `package-lock.json v3`, `Cargo.lock v4`.
    pub format: String,
    /// Every locked package, the roots included.
    pub packages: Vec<Package>,
    /// The project package(s): the app itself, or every workspace member.
    pub roots: Vec<PackageIndex>,
    /// Python only: the project's `requires-python`, when the lock records it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requires_python: Option<String>,
    /// Python only: PEP 508 markers of the environments the lock was made
    /// for (PEP 751 `environments`); empty when it does not say. A target
    /// that satisfies none is refused.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub environments: Vec<String>,
    /// Things the user should know that do not stop the import.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Diagnostic>,
    /// Where the lock no longer matches its manifest (poetry's
    /// content-hash, a requirement the lock does not meet): building it
    /// builds what was locked, not what the manifest asks for. Commands warn;
    /// `--locked` makes them errors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stale: Vec<Diagnostic>,
}

impl Graph {
    /// An empty graph for `lockfile`.
    pub fn new(
        ecosystem: Ecosystem,
        lockfile: impl Into<PathBuf>,
        format: impl Into<String>,
    ) -> Self {
        Graph {
            ecosystem,
            lockfile: lockfile.into(),
            format: format.into(),
            packages: Vec::new(),
            roots: Vec::new(),
            requires_python: None,
            environments: Vec::new(),
            warnings: Vec::new(),
            stale: Vec::new(),
        }
    }

    /// Adds a package and returns its index.
    pub fn push(&mut self, package: Package) -> PackageIndex {
        self.packages.push(package);
        PackageIndex(self.packages.len() - 1)
    }

    /// The package at `index`.
    ///
    /// # Panics
    /// When `index` does not come from this graph.
    pub fn package(&self, index: PackageIndex) -> &Package {
        &self.packages[index.0]
    }

    /// Indices of every package with this (already normalised) name.
    pub fn find(&self, name: &str) -> impl Iterator<Item = PackageIndex> + '_ {
        let name = name.to_owned();
        self.packages
            .iter()
            .enumerate()
            .filter(move |(_, p)| p.name == name)
            .map(|(i, _)| PackageIndex(i))
    }
}

/// One locked package.
#[derive(Debug, Clone, Serialize)]
pub struct Package {
    /// The package name, normalised the way its ecosystem compares names
    /// (PEP 503 for Python: lowercase, runs of `-_.` become `-`).
    pub name: String,
    /// The locked version, as written in the lockfile.
    pub version: String,
    /// Where the package comes from.
    pub source: Source,
    /// Candidate artifacts; selection picks one. Empty for local and virtual
    /// packages.
    pub artifacts: Vec<Artifact>,
    /// Edges to other packages of the same graph.
    pub dependencies: Vec<Dependency>,
    /// A PEP 508 marker under which the package applies at all (poetry 2.x
    /// `markers`, joined over groups; uv fork markers are on the edges).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
    /// Dependency groups the lock says this package belongs to (poetry
    /// `groups`, e.g. `main`, `dev`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Flags the lockfile records about how the package is used.
    #[serde(skip_serializing_if = "PackageFlags::is_empty")]
    pub flags: PackageFlags,
    /// npm `os`/`cpu`/`libc` restrictions.
    #[serde(skip_serializing_if = "Platform::is_empty")]
    pub platform: Platform,
    /// Executables the package provides (npm `bin`), name to path.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub bin: BTreeMap<String, String>,
    /// Where the package sits in the lockfile's own addressing, when it has
    /// one (npm: `node_modules/a/node_modules/b`). Used for messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The line of the lockfile where this package is described, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

impl Package {
    /// A package with no artifacts, edges or flags.
    pub fn new(name: impl Into<String>, version: impl Into<String>, source: Source) -> Self {
        Package {
            name: name.into(),
            version: version.into(),
            source,
            artifacts: Vec::new(),
            dependencies: Vec::new(),
            marker: None,
            groups: Vec::new(),
            flags: PackageFlags::default(),
            platform: Platform::default(),
            bin: BTreeMap::new(),
            location: None,
            line: None,
        }
    }
}

/// npm's per-package usage flags (other formats set what applies).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PackageFlags {
    /// Only needed for development (npm `dev`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dev: bool,
    /// Only reached through optional edges (npm `optional`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
    /// Optional, and only for development (npm `devOptional`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dev_optional: bool,
    /// Only reached through peer edges (npm `peer`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub peer: bool,
    /// Shipped inside its parent's tarball (npm `inBundle`): nothing to fetch.
    /// Packages the project itself bundles (the root's `bundleDependencies`)
    /// are fetched like any other and do not have it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub in_bundle: bool,
    /// Runs install scripts (npm `hasInstallScript`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub has_install_script: bool,
}

impl PackageFlags {
    /// True when no flag is set.
    pub fn is_empty(&self) -> bool {
        *self == PackageFlags::default()
    }
}

/// Platform restrictions (npm `os`, `cpu`, `libc`; `!x` negates).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Platform {
    /// Operating systems, e.g. `linux`, `!win32`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub os: Vec<String>,
    /// CPUs, e.g. `x64`, `arm64`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cpu: Vec<String>,
    /// C libraries, e.g. `glibc`, `musl`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub libc: Vec<String>,
}

impl Platform {
    /// True when the package runs anywhere.
    pub fn is_empty(&self) -> bool {
        self.os.is_empty() && self.cpu.is_empty() && self.libc.is_empty()
    }
}

/// Where a package comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Source {
    /// A package registry or index: the PyPI simple index URL, the npm
    /// registry, a Cargo registry (`https://github.com/rust-lang/crates.io-index`
    /// or `sparse+https://…`).
    Registry {
        /// The index or registry URL.
        url: String,
    },
    /// A git repository at a fixed commit.
    Git {
        /// The repository URL, without the fragment.
        url: String,
        /// The branch, tag or ref the user asked for, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        /// The full commit the lock pins.
        commit: String,
        /// The package's directory inside the repository, if not the top.
        #[serde(skip_serializing_if = "Option::is_none")]
        subdirectory: Option<String>,
    },
    /// A direct URL to an archive.
    Url {
        /// The archive URL.
        url: String,
        /// The package's directory inside the archive, if not the top.
        #[serde(skip_serializing_if = "Option::is_none")]
        subdirectory: Option<String>,
    },
    /// A local archive file, relative to the lockfile's directory.
    File {
        /// The path.
        path: String,
    },
    /// A local source directory (the project, a path dependency, a
    /// workspace member), relative to the lockfile's directory.
    Directory {
        /// The path.
        path: String,
        /// Installed in development (editable) mode.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        editable: bool,
    },
    /// A project that is not itself built or installed (uv `virtual`), only
    /// its dependencies are.
    Virtual {
        /// The path.
        path: String,
    },
}

impl Source {
    /// True for sources that live in the user's tree (no download).
    pub fn is_local(&self) -> bool {
        matches!(
            self,
            Source::File { .. } | Source::Directory { .. } | Source::Virtual { .. }
        )
    }
}

/// A downloadable (or local) form of a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Artifact {
    /// What kind of file it is.
    pub kind: ArtifactKind,
    /// The file name (for wheels it carries the tags).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// Where to download it from; `None` when the lockfile has no URL and it
    /// must be looked up (poetry.lock, requirements.txt) or rebuilt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Hashes the lockfile pins for the file.
    pub hashes: Vec<Hash>,
    /// Size in bytes, when the lockfile records it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// The kind of an [`Artifact`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ArtifactKind {
    /// A Python wheel (`.whl`).
    Wheel,
    /// A Python source distribution (`.tar.gz`, `.zip`).
    Sdist,
    /// An npm package tarball (`.tgz`).
    Npm,
    /// A Rust `.crate` file.
    Crate,
    /// A git checkout of a fixed commit.
    Git,
    /// Any other archive, by URL or local path.
    Archive,
    /// A local directory.
    Directory,
}

impl ArtifactKind {
    /// Guesses the kind of a Python distribution from its file name.
    pub fn python_from_filename(filename: &str) -> ArtifactKind {
        if filename.ends_with(".whl") {
            ArtifactKind::Wheel
        } else {
            ArtifactKind::Sdist
        }
    }
}

/// An edge from one package to another of the same graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dependency {
    /// The name the dependent uses for it (npm aliases differ from the
    /// target's real name).
    pub name: String,
    /// The package it resolves to.
    pub target: PackageIndex,
    /// What kind of dependency this is.
    #[serde(skip_serializing_if = "DepKind::is_normal")]
    pub kind: DepKind,
    /// For [`DepKind::Optional`]: the extras (Python) or features that turn
    /// it on. For [`DepKind::Dev`]: the dependency groups it belongs to.
    /// For [`DepKind::Peer`] (npm): `["optional"]` when
    /// `peerDependenciesMeta` marks the peer optional.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// A PEP 508 marker under which the edge applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
    /// Extras (Python) requested of the target.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extras: Vec<String>,
}

impl Dependency {
    /// A plain run-time edge.
    pub fn new(name: impl Into<String>, target: PackageIndex) -> Self {
        Dependency {
            name: name.into(),
            target,
            kind: DepKind::Normal,
            groups: Vec::new(),
            marker: None,
            extras: Vec::new(),
        }
    }
}

/// What a [`Dependency`] is needed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DepKind {
    /// Needed at run time.
    #[default]
    Normal,
    /// Needed only for development (dev groups, npm devDependencies).
    Dev,
    /// Needed only when an extra/feature/optional install is asked for.
    Optional,
    /// npm peer dependency (provided by the dependent's parent).
    Peer,
    /// Needed only to build the dependent.
    Build,
}

impl DepKind {
    /// True for [`DepKind::Normal`].
    pub fn is_normal(&self) -> bool {
        *self == DepKind::Normal
    }
}

/// PEP 503 normalisation of a Python distribution name.
pub fn normalize_python_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut last_sep = false;
    for c in name.chars() {
        if c == '-' || c == '_' || c == '.' {
            if !last_sep {
                out.push('-');
            }
            last_sep = true;
        } else {
            out.push(c.to_ascii_lowercase());
            last_sep = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pep503_names() {
        assert_eq!(
            normalize_python_name("Flask_SQLAlchemy"),
            "flask-sqlalchemy"
        );
        assert_eq!(normalize_python_name("zope.interface"), "zope-interface");
        assert_eq!(normalize_python_name("a-_.b"), "a-b");
        assert_eq!(normalize_python_name("PyYAML"), "pyyaml");
    }
}
