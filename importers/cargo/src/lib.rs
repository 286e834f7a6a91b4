//! Imports a `Cargo.lock` (format versions 1 to 4) into the lock2build
//! [`Graph`](lock2build_model::Graph).
//!
//! The lockfile is parsed by the [`cargo-lock`](https://crates.io/crates/cargo-lock)
//! crate; a first pass with `toml` gives line numbers for errors and for each
//! `[[package]]`. The manifests beside the lock (`Cargo.toml`, the workspace
//! members', the path dependencies') are read through
//! [`ProjectFiles`](lock2build_model::ProjectFiles) to find where path
//! packages live, which of them are workspace members (the graph's roots),
//! and whether every dependency they declare is locked.
//!
//! What each kind of `source` becomes:
//!
//! | `source` in Cargo.lock | [`Source`](lock2build_model::Source) | artifact |
//! | --- | --- | --- |
//! | `registry+https://github.com/rust-lang/crates.io-index`, `sparse+https://index.crates.io/` | `Registry { url }` | `.crate` from `https://static.crates.io/crates/<name>/<name>-<version>.crate`, sha256 = `checksum` |
//! | other `registry+URL` / `sparse+URL` (alternative registries) | `Registry { url }` (`sparse+` kept) | `.crate` with the checksum and **no URL**: the download URL comes from the registry's `config.json` (`dl` template), which only the fetcher can read |
//! | `git+URL?branch=B#COMMIT` | `Git { url, reference: "branch=B", commit }` | `git` checkout of `url` at `commit`, no hash (the commit is the pin) |
//! | none (a workspace member or a path dependency) | `Directory { path }`, relative to the lockfile's directory (`.` when unknown) | none |
//!
//! Cargo.lock does not say whether an edge is a normal, dev or build
//! dependency, nor for which target: every edge is
//! [`DepKind::Normal`](lock2build_model::DepKind::Normal).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod consistency;
mod graph;
mod lock;
mod manifest;
mod paths;
mod source;
mod workspace;

use lock2build_model::{Graph, ImportError, LockInput};

/// Imports `input` (a `Cargo.lock`; its `Cargo.toml` and member manifests
/// are read through `input.files`).
///
/// Fails when the lock is not valid TOML, has an unknown format version,
/// pins a registry crate without a checksum, has a dependency that matches
/// no `[[package]]`, or when a manifest declares a dependency the lock does
/// not have (the lock is out of date).
pub fn import(input: &LockInput<'_>) -> Result<Graph, ImportError> {
    let parsed = lock::parse(input.path, input.contents)?;
    let local_names: Vec<&str> = parsed.local_package_names().collect();
    let workspace = workspace::Workspace::discover(input.files, &local_names)?;
    let graph = graph::build(input.path, &parsed, &workspace)?;
    consistency::check(&graph, &workspace)?;
    Ok(graph)
}
