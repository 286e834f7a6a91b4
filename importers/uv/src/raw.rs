//! The `uv.lock` document as serde reads it, before any meaning is given to
//! it. Field names follow uv's own spelling; unknown fields are ignored so
//! later revisions of version 1 still load.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// Just enough of the document to check the format version first, so that a
/// lock of another version gets a clear message instead of a field error.
#[derive(Debug, Deserialize)]
pub(crate) struct VersionProbe {
    pub version: Option<Spanned<toml::Value>>,
}

/// The whole lockfile.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RawLock {
    pub revision: Option<i64>,
    pub requires_python: Option<String>,
    pub manifest: Option<RawManifest>,
    #[serde(default, rename = "package")]
    pub packages: Vec<Spanned<RawPackage>>,
}

/// `[manifest]`: written for workspaces, and for a PEP 723 script's lock
/// (`uv lock --script`), whose `requirements` are the script's
/// dependencies.
#[derive(Debug, Deserialize)]
pub(crate) struct RawManifest {
    #[serde(default)]
    pub members: Vec<String>,
    #[serde(default)]
    pub requirements: Vec<Spanned<RawRequirement>>,
}

/// One requirement: a `[manifest] requirements` entry (`{ name = "idna",
/// specifier = "==3.10", marker = "…", extras = ["x"] }`), or one of a
/// local project's `requires-dist` / `requires-dev`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RawRequirement {
    pub name: String,
    pub specifier: Option<String>,
    pub marker: Option<String>,
    #[serde(default)]
    pub extras: Vec<String>,
}

/// One `[[package]]` table.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RawPackage {
    pub name: Spanned<String>,
    /// uv omits it for source trees with a dynamic version.
    pub version: Option<String>,
    pub source: Spanned<RawSource>,
    pub sdist: Option<Spanned<RawArtifact>>,
    #[serde(default)]
    pub wheels: Vec<Spanned<RawArtifact>>,
    #[serde(default)]
    pub dependencies: Vec<Spanned<RawDependency>>,
    #[serde(default)]
    pub optional_dependencies: BTreeMap<String, Vec<Spanned<RawDependency>>>,
    #[serde(default)]
    pub dev_dependencies: BTreeMap<String, Vec<Spanned<RawDependency>>>,
    /// What a local project was locked for (see the `fresh` module).
    pub metadata: Option<RawMetadata>,
}

/// `[package.metadata]` of a local project: its requirements when locked.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RawMetadata {
    #[serde(default)]
    pub requires_dist: Vec<RawRequirement>,
    #[serde(default)]
    pub requires_dev: BTreeMap<String, Vec<RawRequirement>>,
}

/// `source = { <kind> = "<where>", ... }`: exactly one kind key is expected.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct RawSource {
    pub registry: Option<String>,
    pub git: Option<String>,
    pub url: Option<String>,
    pub path: Option<String>,
    pub directory: Option<String>,
    pub editable: Option<String>,
    #[serde(rename = "virtual")]
    pub virtual_: Option<String>,
    pub subdirectory: Option<String>,
}

/// An `sdist = {...}` or one entry of `wheels = [...]`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawArtifact {
    pub url: Option<String>,
    pub path: Option<String>,
    pub filename: Option<String>,
    pub hash: Option<String>,
    pub size: Option<u64>,
}

/// One entry of `dependencies`, `optional-dependencies.<extra>` or
/// `dev-dependencies.<group>`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawDependency {
    pub name: String,
    pub version: Option<String>,
    pub source: Option<RawSource>,
    pub marker: Option<String>,
    #[serde(default)]
    pub extra: Vec<String>,
}
