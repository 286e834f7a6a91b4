//! The build graph document (`lock2build graph --json`, docs/graph.md).
//!
//! ```json
//! {
//!   "kind": "lock2build-build-graph",
//!   "version": 1,
//!   "target": "x86_64-linux-gnu",
//!   "toolchains": { "python": { "path": "/usr/bin/python3.11", "id": "sha256-…" } },
//!   "nodes": [
//!     { "id": "3ka9…-flask-3.0.3.whl", "name": "flask-3.0.3.whl",
//!       "recipe": { "kind": "fetch-url", "urls": ["https://…"] },
//!       "output": { "fixed": { "hash": "sha256-…", "mode": "flat" } } },
//!     { "id": "7qd1…-flask-3.0.3", "name": "flask-3.0.3",
//!       "recipe": { "kind": "python-wheel", "wheel": "flask-3.0.3-py3-none-any.whl" },
//!       "inputs": ["3ka9…-flask-3.0.3.whl"], "toolchains": ["python"] }
//!   ],
//!   "result": "…-env"
//! }
//! ```
//!
//! A node is either *fixed* (its output is known by a content hash before it
//! is made: a source file, a git checkout's NAR hash; any engine may fetch
//! it with network) or *built* (named by the hash of its recipe, inputs and
//! toolchains; made without network from its inputs only).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the `kind` field of every graph says.
pub const GRAPH_KIND: &str = "lock2build-build-graph";

/// The version of the document this crate reads and writes.
pub const GRAPH_VERSION: u32 = 1;

/// Every node `lock2build app` would run, and what each needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Graph {
    /// Always [`GRAPH_KIND`].
    pub kind: String,
    /// The document's version ([`GRAPH_VERSION`]).
    pub version: u32,
    /// What the graph builds for (the host's triple by default).
    pub target: String,
    /// The host tools nodes use, by the name nodes refer to them with.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub toolchains: BTreeMap<String, Toolchain>,
    /// The native libraries nodes link, by the overrides' name (a node's
    /// `native`), with what provides them to engines that have nixpkgs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub native: BTreeMap<String, NativeLibrary>,
    /// The nodes, each after every node it takes as input.
    pub nodes: Vec<Node>,
    /// The node whose output is the app (`result`), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
}

/// A host tool (python3, cargo, node, cc), as builds see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Toolchain {
    /// The absolute path builds run.
    pub path: String,
    /// What identifies the tool in node ids (its binary's hash).
    pub id: String,
    /// The nixpkgs attribute that provides it, for engines that have
    /// nixpkgs (`python311`, `cargo`, `nodejs_20`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nixpkgs: Option<String>,
}

/// A native library nodes link (an overrides provider, `[native.<id>]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NativeLibrary {
    /// The nixpkgs attributes that provide it (`openssl`; every one is
    /// needed), for engines that have nixpkgs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nixpkgs: Vec<String>,
}

/// One step: how its output is made, and from what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Its identity: unique in the graph, a valid store path name.
    pub id: String,
    /// A readable name (`flask-3.0.3`).
    pub name: String,
    /// How the output is made.
    pub recipe: Recipe,
    /// The nodes whose outputs it reads, by id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<String>,
    /// The toolchains it runs, by name (keys of [`Graph::toolchains`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub toolchains: Vec<String>,
    /// Environment variables its build step gets (overrides' knobs).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Host native libraries it links (overrides' names: `libpq`, `zlib`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub native: Vec<String>,
    /// Whether its output is known by content before it is made.
    #[serde(default, skip_serializing_if = "Output::is_built")]
    pub output: Output,
}

/// A recipe: its kind (`fetch-url`, `git-checkout`, `python-wheel`, …) and
/// the kind's own parameters, kept as they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recipe {
    /// What makes the output; docs/graph.md lists the kinds.
    pub kind: String,
    /// The kind's parameters.
    #[serde(flatten)]
    pub params: serde_json::Map<String, serde_json::Value>,
}

/// How a node's output is named.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Output {
    /// By the hash of its recipe, inputs and toolchains (its id).
    #[default]
    Built,
    /// By its content, known in advance.
    Fixed(FixedOutput),
}

impl Output {
    /// Whether the output is made by a build (not known by content).
    pub fn is_built(&self) -> bool {
        matches!(self, Output::Built)
    }
}

/// A content hash an output must have.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixedOutput {
    /// An SRI hash (`sha256-<base64>`, `sha512-…`).
    pub hash: String,
    /// What is hashed: the file itself, or the NAR serialisation of a tree.
    pub mode: HashMode,
}

/// What a fixed output's hash covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HashMode {
    /// The bytes of one file (Nix `outputHashMode = "flat"`).
    Flat,
    /// The NAR serialisation of a tree (Nix `"recursive"`).
    Nar,
}

impl Graph {
    /// An empty graph for `target`.
    pub fn new(target: impl Into<String>) -> Graph {
        Graph {
            kind: GRAPH_KIND.to_string(),
            version: GRAPH_VERSION,
            target: target.into(),
            toolchains: BTreeMap::new(),
            native: BTreeMap::new(),
            nodes: Vec::new(),
            result: None,
        }
    }

    /// The node named `id`.
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }
}
