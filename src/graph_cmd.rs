//! `lock2build graph` and `lock2build realise`: the build graph as data
//! (crates/graph, docs/graph.md), and one node of it made on request, the
//! entry point other engines (Nix: `nix/`) call.
//!
//! What the graph holds today: the plan's sources, each a *fixed* node
//! (`fetch-url`: its URLs and the lock's hash; `git-checkout`: its URL,
//! commit and the checkout's NAR sha256, learnt by checking it out once
//! when the store does not know it yet). The builders' own nodes (wheel
//! installs, PEP 517 builds, cargo, npm) join it as the builders move onto
//! the executor (issue #14); `realise` refuses a kind it cannot make.

use crate::fetch_plan::{checkout_or_recover, git_options, git_specs, requests};
use anyhow::{anyhow, bail, Context, Result};
use lock2build_fetch::{fetch_all, FetchOptions, FetchRequest, ProgressMode};
use lock2build_git::{nar_sha256, GitSpec};
use lock2build_graph::{FixedOutput, Graph, HashMode, Node, Output, Recipe};
use lock2build_model::Hash;
use lock2build_plan::plan::Plan;
use lock2build_store::{NodeId, Store};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The graph of `plan`'s sources. Git sources whose NAR hash the plan
/// does not know yet are checked out (verified) to learn it.
pub fn source_graph(plan: &Plan, store: &Store, options: &FetchOptions) -> Result<Graph> {
    let mut graph = Graph::new(plan.target.describe_platform());
    let (fetches, _) = requests(plan)?;
    let mut seen = std::collections::BTreeSet::new();
    for request in &fetches {
        let node = fetch_node(request)?;
        if seen.insert(node.id.clone()) {
            graph.nodes.push(node);
        }
    }
    let git_options = git_options(options, !matches!(options.progress, ProgressMode::Quiet));
    for (_, spec) in git_specs(plan)? {
        let checkout = checkout_or_recover(store, &spec, &git_options)?;
        let node = git_node(&spec, &checkout.nar_sha256)?;
        if seen.insert(node.id.clone()) {
            graph.nodes.push(node);
        }
    }
    graph.check().map_err(|e| anyhow!("{e}"))?;
    Ok(graph)
}

/// A download: named by the lock's strongest hash, fetched from its URLs.
pub(crate) fn fetch_node(request: &FetchRequest) -> Result<Node> {
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
pub(crate) fn git_node(spec: &GitSpec, nar: &str) -> Result<Node> {
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

/// Makes node `id` of the graph at `graph_path` into `out` (which must not
/// exist), from `inputs` (node id → path). The inputs are checked first:
/// every one the node takes, no other, each fixed one by its hash.
pub fn realise(
    graph_path: &Path,
    id: &str,
    inputs: &[(String, PathBuf)],
    out: &Path,
    options: &FetchOptions,
) -> Result<()> {
    let graph = Graph::read(graph_path).map_err(|e| anyhow!("{e}"))?;
    let node = graph
        .node(id)
        .ok_or_else(|| anyhow!("{}", lock2build_graph::GraphError::UnknownNode(id.into())))?;
    check_inputs(&graph, node, inputs)?;
    if std::fs::symlink_metadata(out).is_ok() {
        bail!("{} exists; realise writes a new output only", out.display());
    }
    let scratch = tempfile::Builder::new()
        .prefix("lock2build-realise-")
        .tempdir()
        .context("creating a scratch directory")?;
    let store = Store::open(scratch.path().join("store"))?;
    let made = scratch.path().join("out");
    match node.recipe.kind.as_str() {
        "fetch-url" => realise_fetch(node, &store, &made, options)?,
        "git-checkout" => realise_git(node, &store, &made, options)?,
        other => match crate::app::exec::kind(other) {
            // A built node, or a fixed one lock2build writes (a skeleton).
            Some(kind) => {
                realise_built(kind, &graph, node, &store, inputs, (&made, out), options)?
            }
            _ => bail!(
                "node `{id}` is a `{other}` node, which this lock2build cannot realise (kinds it realises: {})",
                realisable().join(", ")
            ),
        },
    }
    check_content(node, &made)?;
    std::fs::rename(&made, out)
        .or_else(|_| copy_out(&made, out))
        .with_context(|| format!("writing {}", out.display()))
}

/// The kinds `realise` makes.
fn realisable() -> Vec<&'static str> {
    let mut kinds = vec!["fetch-url", "git-checkout"];
    for kind in crate::app::exec::KINDS.iter().flat_map(|k| k.iter()) {
        if kind.name != "local-tree" && !kinds.contains(&kind.name) {
            kinds.push(kind.name);
        }
    }
    kinds
}

/// Makes a built node with its kind, as `lock2build app` would, into
/// `made` for `final_path`: the builder runs in the sandbox without
/// network (`lock2build realise` under Nix: inside Nix's build).
fn realise_built(
    kind: &crate::app::exec::Kind,
    graph: &Graph,
    node: &Node,
    store: &Store,
    inputs: &[(String, PathBuf)],
    (made, final_path): (&Path, &Path),
    options: &FetchOptions,
) -> Result<()> {
    use crate::app::exec::{Ctx, Out};
    let sandbox = lock2build_sandbox::Sandbox::detect()?;
    let steps =
        crate::progress::BuildProgress::new(crate::progress::StepDisplay::Quiet, false, None);
    let ctx = Ctx {
        graph,
        store,
        sandbox: &sandbox,
        steps: &steps,
        fetch: options,
        jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
        logs_dir: store.logs_dir(),
    };
    std::fs::create_dir_all(&ctx.logs_dir)?;
    std::fs::create_dir(made).with_context(|| format!("creating {}", made.display()))?;
    let inputs = inputs.iter().cloned().collect();
    let out = Out {
        building: made,
        final_path,
    };
    (kind.make)(&ctx, node, &inputs, &out).map_err(|e| with_logs(e, &ctx.logs_dir))
}

/// A failed step's error with the end of its logs: the scratch store
/// (and the log in it) is removed when `realise` ends, and an engine shows
/// only what `realise` prints.
fn with_logs(e: anyhow::Error, logs_dir: &Path) -> anyhow::Error {
    let mut text = format!("{e:#}");
    for entry in std::fs::read_dir(logs_dir).into_iter().flatten().flatten() {
        let tail = lock2build_store::read_tail(&entry.path(), 64 << 10);
        let lines: Vec<&str> = tail.lines().collect();
        text.push_str(&format!(
            "\n--- the last lines of {} ---\n{}",
            entry.file_name().to_string_lossy(),
            lines[lines.len().saturating_sub(40)..].join("\n")
        ));
    }
    anyhow!("{text}")
}

fn check_inputs(graph: &Graph, node: &Node, given: &[(String, PathBuf)]) -> Result<()> {
    let given: BTreeMap<&str, &PathBuf> = given.iter().map(|(k, v)| (k.as_str(), v)).collect();
    for (id, path) in &given {
        if !node.inputs.iter().any(|i| i == id) {
            bail!("node `{}` does not take `{id}` as input", node.id);
        }
        let input = graph
            .node(id)
            .ok_or_else(|| anyhow!("`{id}` is not in the graph"))?;
        check_content(input, path)
            .with_context(|| format!("input `{id}` ({}) of node `{}`", path.display(), node.id))?;
    }
    if let Some(missing) = node.inputs.iter().find(|i| !given.contains_key(i.as_str())) {
        bail!(
            "node `{}` needs input `{missing}`: pass --input {missing}=PATH",
            node.id
        );
    }
    Ok(())
}

/// A fixed node's output must hash to its hash (a file: its bytes; a
/// tree: its NAR serialisation).
fn check_content(node: &Node, path: &Path) -> Result<()> {
    if node.recipe.kind == "local-tree" {
        // The project's files: their tree hash (what the app's id has).
        let expected = node.recipe.params.get("tree").and_then(|t| t.as_str());
        let got = crate::app::tree_hash(path)?;
        return match expected {
            Some(tree) if tree == got => Ok(()),
            _ => bail!(
                "the contents of {} do not match node `{}`: its files hash to {got}, not {}",
                path.display(),
                node.id,
                expected.unwrap_or("(none recorded)")
            ),
        };
    }
    let Output::Fixed(fixed) = &node.output else {
        return Ok(());
    };
    let why = match fixed.mode {
        HashMode::Flat => {
            let expected = Hash::parse_sri(&fixed.hash).map_err(|e| anyhow!("{e}"))?;
            lock2build_store::check_source_file(path, std::slice::from_ref(&expected)).err()
        }
        HashMode::Nar => {
            let got = nar_sha256(path).map_err(|e| anyhow!("{e}"))?;
            (got != fixed.hash).then(|| format!("expected {}, got {got}", fixed.hash))
        }
    };
    match why {
        None => Ok(()),
        Some(why) => bail!(
            "the contents of {} do not match node `{}`: {why}",
            path.display(),
            node.id
        ),
    }
}

fn realise_fetch(node: &Node, store: &Store, made: &Path, options: &FetchOptions) -> Result<()> {
    let Output::Fixed(fixed) = &node.output else {
        bail!("fetch-url node `{}` has no fixed hash", node.id);
    };
    let urls: Vec<String> =
        serde_json::from_value(node.recipe.params.get("urls").cloned().unwrap_or_default())
            .with_context(|| format!("node `{}`: `urls`", node.id))?;
    let request = FetchRequest {
        label: node.name.clone(),
        urls,
        hashes: vec![Hash::parse_sri(&fixed.hash).map_err(|e| anyhow!("{e}"))?],
        size: node.recipe.params.get("size").and_then(|s| s.as_u64()),
        // The graph writes hashes as SRI.
        notation: lock2build_model::HashNotation::Sri,
    };
    let report = fetch_all(store, std::slice::from_ref(&request), options)?;
    let item = report
        .items
        .first()
        .ok_or_else(|| anyhow!("nothing fetched"))?;
    std::fs::copy(&item.path, made).with_context(|| format!("copying to {}", made.display()))?;
    Ok(())
}

fn realise_git(node: &Node, store: &Store, made: &Path, options: &FetchOptions) -> Result<()> {
    let param = |key: &str| {
        node.recipe
            .params
            .get(key)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("git-checkout node `{}` has no `{key}`", node.id))
    };
    let spec = GitSpec {
        label: node.name.clone(),
        url: param("url")?,
        commit: param("commit")?,
        reference: None,
        submodules: node
            .recipe
            .params
            .get("submodules")
            .and_then(|v| v.as_bool())
            .unwrap_or(true),
    };
    let git_options = git_options(options, false);
    let checkout = checkout_or_recover(store, &spec, &git_options)?;
    copy_out(&checkout.dir, made)?;
    Ok(())
}

/// Copies a file or a tree (links kept as links, modes as they are).
fn copy_out(from: &Path, to: &Path) -> std::io::Result<()> {
    if std::fs::symlink_metadata(from)?.is_dir() {
        crate::app::copy_tree(from, to)
    } else {
        std::fs::copy(from, to).map(|_| ())
    }
}
