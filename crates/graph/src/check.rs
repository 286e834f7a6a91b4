//! Reading a graph document and checking it before anything runs: its kind
//! and version, unique and well-formed ids, inputs and toolchains that
//! exist, no cycle, fixed hashes in SRI form.

use crate::error::GraphError;
use crate::model::{Graph, Output, GRAPH_KIND, GRAPH_VERSION};
use std::collections::BTreeMap;
use std::path::Path;

/// The largest graph document read (a 2,000-package lock is ~5 MB).
const MAX_DOCUMENT: u64 = 256 << 20;

impl Graph {
    /// Reads and checks the graph document at `path`.
    pub fn read(path: &Path) -> Result<Graph, GraphError> {
        let io = |source| GraphError::Read {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        if !meta.is_file() || meta.len() > MAX_DOCUMENT {
            return Err(GraphError::NotADocument {
                path: path.to_path_buf(),
                why: if meta.is_file() {
                    format!("it is larger than {} MiB", MAX_DOCUMENT >> 20)
                } else {
                    "it is not a regular file".into()
                },
            });
        }
        let bytes = std::fs::read(path).map_err(io)?;
        Graph::from_json(&bytes).map_err(|e| e.in_file(path))
    }

    /// Parses and checks a graph document.
    pub fn from_json(bytes: &[u8]) -> Result<Graph, GraphError> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| GraphError::Parse(e.to_string()))?;
        let kind = value.get("kind").and_then(|k| k.as_str()).unwrap_or("");
        let version = value.get("version").and_then(|v| v.as_u64());
        if kind != GRAPH_KIND {
            return Err(GraphError::Kind(kind.to_string()));
        }
        if version != Some(u64::from(GRAPH_VERSION)) {
            return Err(GraphError::Version(
                version.map_or_else(|| "none".to_string(), |v| v.to_string()),
            ));
        }
        let graph: Graph =
            serde_json::from_value(value).map_err(|e| GraphError::Parse(e.to_string()))?;
        graph.check()?;
        Ok(graph)
    }

    /// Checks what [`Graph::from_json`] checks, for a graph made in memory.
    pub fn check(&self) -> Result<(), GraphError> {
        let mut index = BTreeMap::new();
        for (i, node) in self.nodes.iter().enumerate() {
            check_id(&node.id)?;
            if index.insert(node.id.as_str(), i).is_some() {
                return Err(GraphError::Duplicate(node.id.clone()));
            }
        }
        for (i, node) in self.nodes.iter().enumerate() {
            for input in &node.inputs {
                match index.get(input.as_str()) {
                    None => return Err(GraphError::UnknownInput(node.id.clone(), input.clone())),
                    // Inputs come first: that also rules out cycles.
                    Some(&j) if j >= i => {
                        return Err(GraphError::Order(node.id.clone(), input.clone()))
                    }
                    Some(_) => {}
                }
            }
            for tool in &node.toolchains {
                if !self.toolchains.contains_key(tool) {
                    return Err(GraphError::UnknownToolchain(node.id.clone(), tool.clone()));
                }
            }
            if let Output::Fixed(fixed) = &node.output {
                check_sri(&node.id, &fixed.hash)?;
            }
        }
        match &self.result {
            Some(result) if !index.contains_key(result.as_str()) => {
                Err(GraphError::UnknownNode(result.clone()))
            }
            _ => Ok(()),
        }
    }
}

/// An id is also a file name in every store (ours and Nix's): the
/// characters Nix allows in a store path name, at most 211 of them.
fn check_id(id: &str) -> Result<(), GraphError> {
    let ok = !id.is_empty()
        && id.len() <= 211
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-._?=".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(GraphError::BadId(id.to_string()))
    }
}

fn check_sri(node: &str, hash: &str) -> Result<(), GraphError> {
    let ok = ["sha256-", "sha512-", "sha1-"]
        .iter()
        .any(|p| hash.strip_prefix(p).is_some_and(|rest| !rest.is_empty()));
    if ok {
        Ok(())
    } else {
        Err(GraphError::BadHash(node.to_string(), hash.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FixedOutput, HashMode, Node, Recipe};

    fn node(id: &str, inputs: &[&str]) -> Node {
        Node {
            id: id.into(),
            name: id.into(),
            recipe: Recipe {
                kind: "test".into(),
                params: Default::default(),
            },
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            toolchains: vec![],
            env: Default::default(),
            native: vec![],
            output: Output::Built,
        }
    }

    fn graph(nodes: Vec<Node>) -> Graph {
        let mut g = Graph::new("x86_64-linux-gnu");
        g.nodes = nodes;
        g
    }

    #[test]
    fn a_graph_round_trips_through_its_json() {
        let mut src = node("aaaa-six-1.16.0.tar.gz", &[]);
        src.output = Output::Fixed(FixedOutput {
            hash: "sha256-HmHDdHehYmRY42f7HYKqXJsJT6SAKJIHLknenGDEySY=".into(),
            mode: HashMode::Flat,
        });
        let mut g = graph(vec![
            src,
            node("bbbb-six-1.16.0", &["aaaa-six-1.16.0.tar.gz"]),
        ]);
        g.result = Some("bbbb-six-1.16.0".into());
        let json = serde_json::to_vec(&g).unwrap();
        assert_eq!(Graph::from_json(&json).unwrap(), g);
        let text = String::from_utf8(json).unwrap();
        assert!(
            text.contains(r#""output":{"fixed":{"hash":"sha256-"#),
            "{text}"
        );
    }

    #[test]
    fn another_version_or_kind_is_refused_by_name() {
        let err = Graph::from_json(br#"{"kind":"lock2build-build-graph","version":2}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("version 2") && err.contains("version 1"),
            "{err}"
        );
        let err = Graph::from_json(br#"{"kind":"lock2build-plan","version":1}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("lock2build-plan"), "{err}");
    }

    #[test]
    fn inputs_must_exist_and_come_first() {
        let g = graph(vec![node("a", &["b"]), node("b", &[])]);
        assert!(matches!(g.check(), Err(GraphError::Order(..))));
        let g = graph(vec![node("a", &["zz"])]);
        let err = g.check().unwrap_err().to_string();
        assert!(err.contains("`a`") && err.contains("`zz`"), "{err}");
        let g = graph(vec![node("a", &["a"])]);
        assert!(matches!(g.check(), Err(GraphError::Order(..))));
    }

    #[test]
    fn ids_are_store_names_and_unique() {
        for bad in ["", "../x", "a/b", ".hidden", "a b"] {
            assert!(
                matches!(
                    graph(vec![node(bad, &[])]).check(),
                    Err(GraphError::BadId(_))
                ),
                "{bad:?}"
            );
        }
        let g = graph(vec![node("a", &[]), node("a", &[])]);
        assert!(matches!(g.check(), Err(GraphError::Duplicate(_))));
    }

    #[test]
    fn toolchains_and_the_result_must_exist() {
        let mut n = node("a", &[]);
        n.toolchains = vec!["python".into()];
        assert!(matches!(
            graph(vec![n]).check(),
            Err(GraphError::UnknownToolchain(..))
        ));
        let mut g = graph(vec![node("a", &[])]);
        g.result = Some("b".into());
        assert!(matches!(g.check(), Err(GraphError::UnknownNode(_))));
    }

    #[test]
    fn fixed_outputs_carry_an_sri_hash() {
        let mut n = node("a", &[]);
        n.output = Output::Fixed(FixedOutput {
            hash: "1e61c37477a1626458e36f7b1d82aa5c".into(),
            mode: HashMode::Flat,
        });
        let err = graph(vec![n]).check().unwrap_err().to_string();
        assert!(err.contains("SRI"), "{err}");
    }
}
