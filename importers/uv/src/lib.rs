//! Imports a `uv.lock` (format `version = 1`, any `revision`) into the
//! lock2build [`Graph`](lock2build_model::Graph).
//!
//! # What is read
//!
//! ```toml
//! version = 1                      # required; any other version is refused
//! revision = 3                     # optional, recorded in Graph::format
//! requires-python = ">=3.9"        # -> Graph::requires_python
//! resolution-markers = [...]       # fork markers: not needed, edges carry markers
//!
//! [manifest]
//! members = ["a", "b"]             # workspace members -> Graph::roots
//! requirements = [{ name = "idna", specifier = "==3.10", marker = "…", extras = [] }]
//!                                  # a PEP 723 script's dependencies (`uv lock --script`)
//!
//! [[package]]
//! name = "numpy"
//! version = "2.0.2"                # absent for dynamic-version source trees -> ""
//! source = { registry = "https://pypi.org/simple" }   # see the `source` module
//! sdist = { url = "…", hash = "sha256:…", size = 1 }  # or `path`, or just `hash`
//! wheels = [{ url = "…", hash = "sha256:…", size = 1 }, { filename = "…", hash = "…" }]
//! dependencies = [{ name = "x", version = "1", source = {…}, marker = "…", extra = ["e"] }]
//!
//! [package.optional-dependencies]  # extra -> edges of kind Optional, groups [extra]
//! socks = [{ name = "pysocks" }]
//!
//! [package.dev-dependencies]       # group -> edges of kind Dev, groups [group]
//! dev = [{ name = "pytest" }]
//! ```
//!
//! `[package.metadata]` of the project packages (what they were locked for)
//! is compared with their `pyproject.toml`: see `fresh.rs`; a mismatch goes
//! to `Graph::stale`.
//!
//! Everything else (`upload-time`, `[options]`,
//! `conflicts`, …) is ignored.
//!
//! # Forks
//!
//! When uv forks the resolution (say numpy 2.0 for Python < 3.10 and 2.2
//! above), the lock lists both packages and each dependency entry carries the
//! marker of its fork plus the `version`/`source` that picks the package.
//! The importer keeps one [`Package`](lock2build_model::Package) per entry
//! and puts the markers on the edges, so selection can pick by target.
//!
//! # Artifacts
//!
//! Each sdist and wheel becomes an [`Artifact`](lock2build_model::Artifact)
//! with its URL (or, for local archives, none), file name, hash and size. An
//! entry of a `url` source without its own URL gets the source URL; a git
//! package gets one `Git` artifact whose URL is the repository. Local
//! projects (`directory`, `editable`, `virtual`) have no artifacts.
//!
//! # Roots
//!
//! The workspace members of `[manifest]`; with no members, the packages whose
//! source is `.` (`editable = "."`, `virtual = "."` or `directory = "."`).
//! With neither, `[manifest] requirements` (a script's lock, `tool.py.lock`)
//! give a virtual root named after the file (`tool`) with an edge to each.
//! A lock with none of these (the empty lock `uv lock` writes for a
//! pyproject without `[project]`) has no root, and a warning says so.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod convert;
mod fresh;
mod raw;
mod source;

pub use convert::import;
