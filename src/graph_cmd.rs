//! `lock2build graph` and `lock2build realise`: the build graph as data
//! (crates/graph, docs/graph.md), and one node of it made on request, the
//! entry point other engines (Nix: `nix/`) call.
//!
//! The graph is the builder's (`app::graph_for`: rust_graph, node_graph,
//! python_graph, in crates/build); its sources are each a *fixed* node
//! (`fetch-url`: its URLs and the lock's hash; `git-checkout`: its URL,
//! commit and the checkout's NAR sha256). `realise` makes those, and every
//! built kind of `exec::KINDS`; it refuses a kind it cannot make.

use crate::fetch_plan::{checkout_or_recover, git_options};
use anyhow::{anyhow, bail, Context, Result};
use lock2build_fetch::{fetch_all, FetchOptions, FetchRequest};
use lock2build_git::{nar_sha256, GitSpec};
use lock2build_graph::{Graph, HashMode, Node, Output};
use lock2build_model::Hash;
use lock2build_store::Store;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
    // What a built node embeds (launchers, a sandbox's mount points).
    let out = &std::path::absolute(out)?;
    let inputs: Vec<(String, PathBuf)> = inputs
        .iter()
        .map(|(id, path)| Ok((id.clone(), std::path::absolute(path)?)))
        .collect::<std::io::Result<_>>()?;
    let inputs = inputs.as_slice();
    if std::fs::symlink_metadata(out).is_ok() {
        bail!("{} exists; realise writes a new output only", out.display());
    }
    let scratch = tempfile::Builder::new()
        .prefix("lock2build-realise-")
        .tempdir()
        .context("creating a scratch directory")?;
    // Whatever realise and its steps cache goes to the scratch directory,
    // never the caller's home (Nix's builds have HOME=/homeless-shelter,
    // which must not appear: Nix refuses to build while it exists).
    let home = scratch.path().join("home");
    std::fs::create_dir(&home)?;
    std::env::set_var("HOME", &home);
    std::env::set_var("XDG_CACHE_HOME", home.join(".cache"));
    std::env::remove_var("LOCK2BUILD_CACHE");
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
    (kind.make)(&ctx, node, &inputs, &out)
        .with_context(|| format!("realising node `{}`", node.id))
        .map_err(|e| with_logs(e, &ctx.logs_dir))
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
        // One file (an npm lock): the sha256 of its bytes.
        let expected = node.recipe.params.get("tree").and_then(|t| t.as_str());
        let got = if std::fs::symlink_metadata(path)?.is_file() {
            use sha2::Digest;
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            hex::encode(sha2::Sha256::digest(bytes))
        } else {
            crate::app::tree_hash(path)?
        };
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
    let spec = git_spec_of(node)?;
    let git_options = git_options(options, false);
    let checkout = checkout_or_recover(store, &spec, &git_options)?;
    copy_out(&checkout.dir, made)?;
    Ok(())
}

/// The git source a `git-checkout` node checks out.
fn git_spec_of(node: &Node) -> Result<GitSpec> {
    let param = |key: &str| {
        node.recipe
            .params
            .get(key)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("git-checkout node `{}` has no `{key}`", node.id))
    };
    Ok(GitSpec {
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
    })
}

/// Copies a file or a whole tree (links kept as links, modes as they are;
/// nothing left out: a checkout's `target/` is part of its NAR hash).
fn copy_out(from: &Path, to: &Path) -> std::io::Result<()> {
    if std::fs::symlink_metadata(from)?.is_dir() {
        crate::app::copy_all(from, to)
    } else {
        std::fs::copy(from, to).map(|_| ())
    }
}
