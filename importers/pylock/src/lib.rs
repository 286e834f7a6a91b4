//! Imports a PEP 751 `pylock.toml` (or `pylock.<name>.toml`; `lock-version`
//! 1.x) into the lock2build [`Graph`](lock2build_model::Graph). Written by
//! `uv export --format pylock.toml`, `pip lock` and PDM.
//!
//! # What is read
//!
//! ```toml
//! lock-version = "1.0"             # required; a major version other than 1 is refused
//! created-by = "uv"                # recorded in Graph::format
//! requires-python = ">=3.9"        # -> Graph::requires_python
//! extras = ["socks"]               # the extras the lock can install
//! dependency-groups = ["dev"]      # the groups it can install
//! default-groups = ["dev"]         # installed unless asked otherwise
//! environments = [...]             # not needed: each package has its marker
//!
//! [[packages]]
//! name = "idna"
//! version = "3.10"                 # absent for source trees
//! marker = "python_version >= '3.10' and 'socks' in extras"
//! index = "https://pypi.org/simple"          # else the files' URLs are all there is
//! sdist = { name = "…", url = "…", path = "…", size = 1, hashes = { sha256 = "…" } }
//! wheels = [{ name = "…", url = "…", size = 1, hashes = { sha256 = "…" } }]
//! vcs = { type = "git", url = "…", requested-revision = "v1", commit-id = "…", subdirectory = "…" }
//! directory = { path = ".", editable = true, subdirectory = "…" }
//! archive = { url = "…", path = "…", size = 1, hashes = { sha256 = "…" }, subdirectory = "…" }
//! ```
//!
//! `dependencies`, `attestation-identities`, `upload-time` and `[tool]`
//! are ignored.
//!
//! # The graph
//!
//! A pylock.toml is a flat list: which packages to install is decided by
//! each package's `marker` alone. So the graph has one root, the package
//! whose `directory` is `.` (the project), or else a virtual root named
//! `pylock`, and one edge from it to every other package, carrying the
//! package's marker:
//!
//! - a conjunct `'x' in extras` (or several joined by `or`) makes the
//!   edge optional for those extras (`--extra x`); nested deeper, it is
//!   rewritten to PEP 508's `extra == "x"`;
//! - a conjunct `'g' in dependency_groups` makes it a dev edge of those
//!   groups (`--group g`), or a normal one when one of them is in
//!   `default-groups`. Deeper, it cannot be told apart and is refused;
//! - the rest of the marker stays on the edge, evaluated for the target.
//!
//! Groups follow lock2build's rule for every format: `--group g` adds to
//! what is installed by default. (PEP 751 installers such as
//! `uv pip install --group g -r pylock.toml` install the named groups
//! *instead of* `default-groups`.)
//!
//! # Sources and artifacts
//!
//! | pylock.toml                | [`Source`](lock2build_model::Source) | artifacts        |
//! |----------------------------|--------------------------------------|------------------|
//! | `sdist`/`wheels` (+`index`)| `Registry { index or PyPI }`         | each file        |
//! | `vcs` (git)                | `Git { url, reference, commit }`     | one `Git`        |
//! | `directory`                | `Directory { path, editable }`       | none             |
//! | `archive` with `url`       | `Url { url, subdirectory }`          | the archive      |
//! | `archive` with `path`      | `File { path }`                      | the archive      |
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod convert;
mod marker;
mod raw;

pub use convert::import;
