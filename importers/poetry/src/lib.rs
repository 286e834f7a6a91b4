//! Imports a `poetry.lock` (lock-version 1.1, 2.0 and 2.1) and the
//! project's `pyproject.toml` into a [`lock2build_model::Graph`].
//!
//! - every `[[package]]` becomes a [`lock2build_model::Package`] with its
//!   source (PyPI, a `legacy` index, a URL, a local file or directory, a git
//!   commit) and one artifact per listed file (wheel or sdist, with its
//!   hash; the lock has no URLs, they are looked up in the index later);
//! - `[package.dependencies]` become edges, resolved to the locked release
//!   that satisfies each alternative's constraint;
//! - the project itself is the root, with edges read from `pyproject.toml`
//!   (`[project]`, `[tool.poetry]`, groups, extras); a stale
//!   `[metadata] content-hash` is reported as a warning.
//!
//! The modules: [`lockfile`](self) (the document), `constraint` (Poetry
//! version constraints), `requirement` (dependency values), `manifest`
//! (`pyproject.toml`), `source` (sources and artifacts), `content_hash`
//! (Poetry's freshness hash) and `graph` (putting it together).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod constraint;
mod content_hash;
mod graph;
mod lockfile;
mod manifest;
mod requirement;
mod source;

use lock2build_model::{Graph, ImportError, LockInput};

/// Imports `input.contents` (a poetry.lock; `input.path` names it in
/// messages), reading `pyproject.toml` beside it through `input.files`.
pub fn import(input: &LockInput<'_>) -> Result<Graph, ImportError> {
    graph::import(input)
}
