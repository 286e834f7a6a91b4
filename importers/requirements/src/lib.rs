//! Imports a hashed `requirements.txt` (the output of
//! `pip-compile --generate-hashes` or `uv pip compile --generate-hashes`,
//! with or without `--universal`) as a lock, into the lock2build
//! [`Graph`](lock2build_model::Graph).
//!
//! # Accepted grammar
//!
//! Lines are read as pip reads them (module `lines`): `\` at the end of a
//! line continues it, `#` at the start of a line or after whitespace starts a
//! comment, blank lines are skipped. Each logical line is then one of:
//!
//! ```text
//! name[extra,…]==1.0 ; marker --hash=sha256:<hex> --hash=sha256:<hex>
//! name[extra,…]===1.0 …                       # arbitrary equality, same
//! name @ https://host/name-1.0.tar.gz#sha256=<hex> ; marker [--hash=…]
//! name @ git+https://host/repo.git@<full commit>[#subdirectory=dir]
//! -r other.txt | --requirement other.txt      # include, relative to this file, inside the lockfile's directory
//! -c constraints.txt | --constraint …         # ignored with a warning
//! -e ./path | --editable ./path[#egg=name]    # a local project (editable)
//! -i URL | --index-url URL                    # the index (default https://pypi.org/simple)
//! --extra-index-url URL | -f URL | --find-links URL | --no-index
//! --no-binary X | --only-binary X             # ignored with a warning
//! --pre | --prefer-binary | --require-hashes | --trusted-host H | --use-feature F
//! ```
//!
//! Every requirement must be pinned (`==`/`===` one version, or a direct
//! URL) and hashed (`--hash` or a URL `#sha256=` fragment; a git URL is
//! pinned by its full commit instead). Anything else is refused with an
//! [`ImportError`](lock2build_model::ImportError) naming the file and line:
//! a file that pins ranges or has no hashes is not a lock. Environment
//! variables (`${VAR}`) are not expanded.
//!
//! # The graph
//!
//! - One root package named after the file's stem (`requirements`), with
//!   source `Virtual { path: "." }` and an empty version, and a normal edge
//!   (with the line's marker and extras) to every requirement. `-e` projects
//!   are `Directory { editable: true }` packages under the root.
//! - One package per distinct pin. The same name pinned twice under markers
//!   (`uv pip compile --universal`: `numpy==2.0.2 ; python_version < "3.10"`
//!   and `numpy==2.2.6 ; python_version >= "3.10"`) gives two packages, one
//!   root edge each with its marker. The same name pinned twice where either
//!   pin has no marker is an error, as it is for pip.
//! - `# via a` annotations (pip-compile, uv) add an edge from each package
//!   named `a` to the annotated one, under its marker. They are hints for
//!   dependency trees (SBOMs): the root already reaches every package.
//! - Source: `Registry { url }` with the `--index-url` (or, with
//!   `--no-index`, the first `--find-links`); extra indexes and find-links
//!   are reported in `Graph::warnings`, since a package records one source.
//!
//! # Artifacts: hashes without file names
//!
//! A requirements file pins the hashes of the files pip may install, not
//! their names or URLs. Each `--hash` becomes one artifact of kind
//! [`ArtifactKind::Archive`](lock2build_model::ArtifactKind::Archive) with
//! no file name, no URL and that single hash. The binary resolves these
//! against the simple index of the package's registry: the index file whose
//! hash matches gives the real file name, URL and kind (wheel or sdist), and
//! files of the release that match no hash are never used. A `name @ URL`
//! requirement has one artifact with that URL, its file name and the kind
//! the file name says, carrying all of the line's hashes.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod collect;
mod graph;
mod lines;
mod options;
mod requirement;

use lock2build_model::{Graph, ImportError, LockInput};

/// Reads a hashed requirements file and the files it includes (through
/// `input.files`, relative to the file's directory).
pub fn import(input: &LockInput) -> Result<Graph, ImportError> {
    let collected = collect::collect(input)?;
    graph::build(input, collected)
}
