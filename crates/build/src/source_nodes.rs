//! The graph's fixed nodes for a plan's sources: a download (`fetch-url`,
//! named by the lock's strongest hash) and a git checkout
//! (`git-checkout`, named by its NAR sha256), as every builder's graph
//! holds them (docs/graph.md).

use anyhow::{anyhow, Result};
use lock2build_fetch::FetchRequest;
use lock2build_git::GitSpec;
use lock2build_graph::{FixedOutput, HashMode, Node, Output, Recipe};
use lock2build_model::Hash;
use lock2build_store::NodeId;
use std::collections::BTreeMap;

/// A download: named by the lock's strongest hash, fetched from its URLs.
pub fn fetch_node(request: &FetchRequest) -> Result<Node> {
    let hash = Hash::strongest(&request.hashes)
        .ok_or_else(|| anyhow!("{}: no hash", request.label))?
        .to_sri();
    let name = request
        .urls
        .first()
        .and_then(|u| u.rsplit('/').next())
        .map(|n| n.split(['?', '#']).next().unwrap_or(n))
        .unwrap_or("source");
    let id = NodeId::compute(name, &serde_json::json!({ "fixed": hash }), &[], &[], "")?;
    let mut params = serde_json::Map::new();
    params.insert("urls".into(), serde_json::json!(request.urls));
    params.insert("label".into(), serde_json::json!(request.label));
    if let Some(size) = request.size {
        params.insert("size".into(), serde_json::json!(size));
    }
    Ok(fixed_node(
        id,
        name,
        "fetch-url",
        params,
        hash,
        HashMode::Flat,
    ))
}

/// A git checkout (without `.git`): named by its NAR hash.
pub fn git_node(spec: &GitSpec, nar: &str) -> Result<Node> {
    let short = spec.commit.get(..12).unwrap_or(&spec.commit);
    let base = spec
        .url
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("git")
        .trim_end_matches(".git");
    let name = format!("{base}-{short}");
    let id = NodeId::compute(&name, &serde_json::json!({ "fixed": nar }), &[], &[], "")?;
    let mut params = serde_json::Map::new();
    params.insert("url".into(), serde_json::json!(spec.url));
    params.insert("commit".into(), serde_json::json!(spec.commit));
    params.insert("submodules".into(), serde_json::json!(spec.submodules));
    params.insert("label".into(), serde_json::json!(spec.label));
    Ok(fixed_node(
        id,
        &name,
        "git-checkout",
        params,
        nar.to_string(),
        HashMode::Nar,
    ))
}

fn fixed_node(
    id: NodeId,
    name: &str,
    kind: &str,
    params: serde_json::Map<String, serde_json::Value>,
    hash: String,
    mode: HashMode,
) -> Node {
    Node {
        id: id.to_string(),
        name: id
            .to_string()
            .split_once('-')
            .map_or(name, |(_, n)| n)
            .to_string(),
        recipe: Recipe {
            kind: kind.into(),
            params,
        },
        inputs: Vec::new(),
        toolchains: Vec::new(),
        env: BTreeMap::new(),
        native: Vec::new(),
        output: Output::Fixed(FixedOutput { hash, mode }),
    }
}
