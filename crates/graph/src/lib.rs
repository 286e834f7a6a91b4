//! The build graph as data, and the one executor that runs it.
//!
//! A [`Graph`] lists every node a build runs: its recipe (kind and
//! parameters), its inputs (other nodes), the toolchains and environment it
//! uses, and whether its output is known by content in advance (a source:
//! *fixed*) or named by its inputs (*built*). The document is versioned and
//! described in `docs/graph.md`; [`Graph::read`] checks it whole before
//! anything runs. [`execute`] makes what a goal needs through a
//! [`Realiser`]: lock2build's store and sandbox, or any other engine's.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod check;
mod error;
mod exec;
mod model;

pub use error::GraphError;
pub use exec::{execute, Executed, Observer, Realiser, Silent};
pub use model::{
    FixedOutput, Graph, HashMode, NativeLibrary, Node, Output, Recipe, Toolchain, GRAPH_KIND,
    GRAPH_VERSION,
};
