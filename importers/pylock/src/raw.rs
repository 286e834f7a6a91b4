//! The `pylock.toml` document as serde reads it. Field names follow PEP
//! 751; unknown fields are ignored (the spec lets tools add `[tool]` and
//! later minor versions add keys).

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// Just `lock-version`, read first so another major version gets a clear
/// message instead of a field error.
#[derive(Debug, Deserialize)]
pub(crate) struct VersionProbe {
    #[serde(rename = "lock-version")]
    pub lock_version: Option<Spanned<toml::Value>>,
}

/// The whole lockfile.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RawLock {
    pub created_by: Option<String>,
    pub requires_python: Option<String>,
    #[serde(default)]
    pub extras: Vec<String>,
    #[serde(default)]
    pub dependency_groups: Vec<String>,
    #[serde(default)]
    pub default_groups: Vec<String>,
    #[serde(default)]
    pub packages: Vec<Spanned<RawPackage>>,
}

/// One `[[packages]]` table.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RawPackage {
    pub name: Spanned<String>,
    pub version: Option<String>,
    pub marker: Option<Spanned<String>>,
    pub index: Option<String>,
    pub vcs: Option<Spanned<RawVcs>>,
    pub directory: Option<RawDirectory>,
    pub archive: Option<Spanned<RawFile>>,
    pub sdist: Option<Spanned<RawFile>>,
    #[serde(default)]
    pub wheels: Vec<Spanned<RawFile>>,
}

/// `vcs = { ... }`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RawVcs {
    #[serde(rename = "type")]
    pub kind: String,
    pub url: Option<String>,
    pub path: Option<String>,
    pub requested_revision: Option<String>,
    pub commit_id: Option<String>,
    pub subdirectory: Option<String>,
}

/// `directory = { ... }`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawDirectory {
    pub path: String,
    #[serde(default)]
    pub editable: bool,
    pub subdirectory: Option<String>,
}

/// An `sdist`, one of `wheels`, or an `archive`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawFile {
    pub name: Option<String>,
    pub url: Option<String>,
    pub path: Option<String>,
    pub size: Option<u64>,
    #[serde(default)]
    pub hashes: BTreeMap<String, String>,
    pub subdirectory: Option<String>,
}
