//! What can be wrong with a graph, or with running it.

use std::path::PathBuf;

/// A graph that cannot be used, or a node that could not be made.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// The document could not be read.
    #[error("cannot read the build graph {}: {source}", path.display())]
    Read {
        /// The document.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not something to read as a graph at all.
    #[error("{} is not a build graph: {why}", path.display())]
    NotADocument {
        /// The path given.
        path: PathBuf,
        /// Why not.
        why: String,
    },
    /// An error in a named document.
    #[error("{}: {source}", path.display())]
    InFile {
        /// The document.
        path: PathBuf,
        /// What is wrong with it.
        source: Box<GraphError>,
    },
    /// Not JSON, or not the shape of a graph.
    #[error("not a valid build graph: {0}")]
    Parse(String),
    /// Another kind of document (a plan, say).
    #[error("this is a `{0}` document, not a `lock2build-build-graph`; make one with `lock2build graph --json`")]
    Kind(String),
    /// A version this lock2build does not read.
    #[error("this build graph is version {0}, and this lock2build reads version {v}; make it again with this lock2build (`lock2build graph --json`)", v = crate::GRAPH_VERSION)]
    Version(String),
    /// An id that is not a valid store name.
    #[error("node id `{0}` is not a valid store name (letters, digits and `+-._?=`, at most 211, not starting with `.`)")]
    BadId(String),
    /// Two nodes with one id.
    #[error("node id `{0}` appears twice")]
    Duplicate(String),
    /// A node id not in the graph.
    #[error("node `{0}` is not in the build graph (`lock2build graph --json` lists its nodes)")]
    UnknownNode(String),
    /// An input that is not a node.
    #[error("node `{0}` takes `{1}` as input, which is not a node of the graph")]
    UnknownInput(String, String),
    /// An input listed after the node that takes it (or a cycle).
    #[error("node `{0}` takes `{1}` as input, but `{1}` does not come before it (a cycle, or an unordered graph)")]
    Order(String, String),
    /// A toolchain that the graph does not describe.
    #[error("node `{0}` uses toolchain `{1}`, which the graph's `toolchains` does not describe")]
    UnknownToolchain(String, String),
    /// A fixed output without an SRI hash.
    #[error(
        "node `{0}` has fixed-output hash `{1}`, which is not an SRI hash (`sha256-<base64>`)"
    )]
    BadHash(String, String),
    /// A node's build failed.
    #[error("{node}: {message}")]
    Failed {
        /// The node's id.
        node: String,
        /// The realiser's message (the build's log tail, the fix).
        message: String,
    },
}

impl GraphError {
    /// This error, said of the document at `path`.
    pub(crate) fn in_file(self, path: &std::path::Path) -> GraphError {
        GraphError::InFile {
            path: path.to_path_buf(),
            source: Box::new(self),
        }
    }
}
