//! One executor for every builder: a build graph's nodes made in the store.
//!
//! A builder turns its project into a [`Graph`] (docs/graph.md): sources as
//! fixed nodes, the project's own files as a `local-tree` node, and its
//! steps (vendor, compile, install, compose) as built nodes whose ids are
//! the store identities it always had. [`run`] then makes what the goals
//! need with [`lock2build_graph::execute`]: inputs first, `-j` at a time,
//! each built node once through [`Store::build_output`], so the same
//! failure, the same lock and the same read-only output for every kind.
//!
//! How a node of each kind is made is a [`Kind`] in the [`KINDS`] table:
//! the builders' modules each add theirs. The same function makes the node
//! under `lock2build realise` (another engine, Nix), where `building` and
//! `final_path` are the engine's output path and the inputs are the
//! engine's paths.

use anyhow::{anyhow, Context, Result};
use lock2build_fetch::FetchOptions;
use lock2build_graph::{Executed, Graph, Node, Observer, Realiser};
use lock2build_sandbox::Sandbox;
use lock2build_store::{NodeId, Store};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The outputs of a node's inputs, by input id.
pub type Inputs = BTreeMap<String, PathBuf>;

/// Where a kind writes its node's output.
pub struct Out<'a> {
    /// The empty directory to fill.
    pub building: &'a Path,
    /// Where the output will live (what it may embed: a sandboxed step
    /// mounts `building` here).
    pub final_path: &'a Path,
}

/// What a kind may use besides its node and its inputs.
pub struct Ctx<'a> {
    /// The graph the node is part of (its toolchains, its other nodes).
    pub graph: &'a Graph,
    /// Where sources are found by hash and outputs go (under `realise`, a
    /// scratch store).
    pub store: &'a Store,
    /// How build steps run.
    pub sandbox: &'a Sandbox,
    /// How build steps are shown (`-L`, `-K`, live lines).
    pub steps: &'a crate::progress::BuildProgress,
    /// Downloads (a kind that fetches: `fetch-url`).
    pub fetch: &'a FetchOptions,
    /// Parallelism inside one node (installs, vendoring).
    pub jobs: usize,
    /// Where build logs go (`<store>/logs`).
    pub logs_dir: PathBuf,
    /// The running builder's own state, which its kinds downcast to their
    /// type (Python: the sdists it unpacked, the overrides database, what
    /// backends ask for at build time); `None` under `realise`, where a
    /// kind has its node and inputs only.
    pub builder: Option<&'a (dyn std::any::Any + Send + Sync)>,
}

impl<'a> Ctx<'a> {
    /// The context `lock2build app` runs `graph` in: `options`' sandbox,
    /// progress, downloads and jobs, logs in the store's `logs/` (made here).
    pub fn for_app(
        options: &'a super::AppOptions,
        graph: &'a Graph,
        store: &'a Store,
        builder: Option<&'a (dyn std::any::Any + Send + Sync)>,
    ) -> Result<Ctx<'a>> {
        let logs_dir = store.logs_dir();
        std::fs::create_dir_all(&logs_dir)
            .with_context(|| format!("creating {}", logs_dir.display()))?;
        Ok(Ctx {
            graph,
            store,
            sandbox: &options.sandbox,
            steps: &options.steps,
            fetch: &options.fetch,
            jobs: options.jobs,
            logs_dir,
            builder,
        })
    }
}

/// How the nodes of one recipe kind are made.
pub struct Kind {
    /// The recipe kind (`cargo-deps`, `python-wheel`, …).
    pub name: &'static str,
    /// Where the node's output already is with no work, if anywhere: for
    /// a built kind, `None` means its store output ([`Store::output`]).
    pub existing: Option<fn(&Ctx, &Node) -> Option<PathBuf>>,
    /// Fills `out` from the inputs' outputs; the error is the message the
    /// user sees (what failed, the log, what to do).
    pub make: fn(&Ctx, &Node, &Inputs, &Out) -> Result<()>,
}

/// Every kind this lock2build makes, the builders' tables in turn.
pub const KINDS: &[&[Kind]] = &[
    LOCAL,
    super::rust_graph::KINDS,
    super::node_graph::KINDS,
    super::python_graph::KINDS,
];

/// The kind of `name`, if this lock2build makes it.
pub fn kind(name: &str) -> Option<&'static Kind> {
    KINDS.iter().flat_map(|k| k.iter()).find(|k| k.name == name)
}

/// Node `node` of a graph run with the toolchains an engine gives
/// (`lock2build realise` under `LOCK2BUILD_NIXPKGS`: toolchain name →
/// package): what its recipe names of the host's toolchains becomes
/// those packages' (npm kinds: node and npm; other kinds read the graph's
/// toolchains, which realise replaces itself).
pub fn use_given_toolchains(node: &mut Node, given: &BTreeMap<String, PathBuf>) -> Result<()> {
    super::node_graph::use_given_node(node, given)
}

/// The project's own files, made by no one: the executor reads them where
/// they are (builders copy what they need, skipping [`super::skipped`]
/// names); Nix copies them with `builtins.path` and the same filter.
/// Sources are the store's: a builder fetches them before it runs the
/// graph (in bulk, with progress), so the executor only finds them.
const LOCAL: &[Kind] = &[
    Kind {
        name: "local-tree",
        existing: Some(|_, node| node.recipe.params.get("path")?.as_str().map(PathBuf::from)),
        make: |_, node, _, _| {
            Err(anyhow!(
                "node `{}`: the project tree is read in place, not made",
                node.id
            ))
        },
    },
    Kind {
        name: "fetch-url",
        existing: Some(stored_source),
        make: |_, node, _, _| Err(not_fetched(node)),
    },
    Kind {
        name: "git-checkout",
        existing: Some(|ctx, node| {
            let commit = node.recipe.params.get("commit")?.as_str()?;
            let submodules = node.recipe.params.get("submodules")?.as_bool()?;
            lock2build_git::find_checkout(ctx.store, commit, submodules).map(|c| c.dir)
        }),
        make: |_, node, _, _| Err(not_fetched(node)),
    },
];

/// A fetch-url node's file in the store, or (when only its tree came back
/// from the archive) that tree: its users unpack it from the store.
fn stored_source(ctx: &Ctx, node: &Node) -> Option<PathBuf> {
    let lock2build_graph::Output::Fixed(fixed) = &node.output else {
        return None;
    };
    let hash = lock2build_model::Hash::parse_sri(&fixed.hash).ok()?;
    let hashes = std::slice::from_ref(&hash);
    ctx.store
        .source(hashes)
        .or_else(|| lock2build_archive::find_tree(ctx.store, hashes).map(|(tree, _)| tree))
}

fn not_fetched(node: &Node) -> anyhow::Error {
    anyhow!(
        "node `{}` ({}) is not in the store: a builder fetches its sources before it runs the graph",
        node.id,
        node.recipe.kind
    )
}

/// A node for the project's own files at `dir`, named by their
/// [`tree_hash`](super::tree_hash) `tree` (no copy is made).
pub(crate) fn local_tree_node(name: &str, dir: &Path, tree: &str) -> Result<Node> {
    let id = NodeId::compute(
        &format!("{name}-source"),
        &serde_json::json!({ "local-tree": tree }),
        &[],
        &[],
        "",
    )?;
    let mut params = serde_json::Map::new();
    params.insert("path".into(), serde_json::json!(dir));
    params.insert("tree".into(), serde_json::json!(tree));
    params.insert("exclude".into(), serde_json::json!(super::NOT_SOURCE));
    params.insert("exclude_prefixes".into(), serde_json::json!(["result-"]));
    Ok(Node {
        id: id.to_string(),
        name: format!("{name}-source"),
        recipe: lock2build_graph::Recipe {
            kind: "local-tree".into(),
            params,
        },
        inputs: Vec::new(),
        toolchains: Vec::new(),
        env: BTreeMap::new(),
        native: Vec::new(),
        output: lock2build_graph::Output::Built,
    })
}

/// A node's recipe parameters, as its kind's own type.
pub(crate) fn recipe<T: serde::de::DeserializeOwned>(node: &Node) -> Result<T> {
    serde_json::from_value(serde_json::Value::Object(node.recipe.params.clone()))
        .with_context(|| format!("node `{}`: its `{}` recipe", node.id, node.recipe.kind))
}

/// The path of input `id` of `node`.
pub(crate) fn input<'a>(inputs: &'a Inputs, id: &str, node: &Node) -> Result<&'a Path> {
    inputs
        .get(id)
        .map(PathBuf::as_path)
        .ok_or_else(|| anyhow!("node `{}` needs input `{id}`", node.id))
}

/// Makes `goals` (every node when empty) and what they need, in the store.
pub(crate) fn run(ctx: &Ctx, goals: &[&str], observer: &dyn Observer) -> Result<Executed> {
    let realiser = StoreRealiser { ctx };
    lock2build_graph::execute(ctx.graph, goals, ctx.jobs, &realiser, observer).map_err(
        |e| match e {
            lock2build_graph::GraphError::Failed { message, .. } => anyhow!("{message}"),
            other => anyhow!("{other}"),
        },
    )
}

/// Makes nodes with their [`Kind`], built ones into the store.
struct StoreRealiser<'a> {
    ctx: &'a Ctx<'a>,
}

impl Realiser for StoreRealiser<'_> {
    fn existing(&self, node: &Node) -> Option<PathBuf> {
        match kind(&node.recipe.kind).and_then(|k| k.existing) {
            Some(existing) => existing(self.ctx, node),
            None if node.output.is_built() => self.ctx.store.output(&NodeId::parse(&node.id).ok()?),
            None => None,
        }
    }

    fn realise(&self, node: &Node, inputs: &Inputs) -> Result<PathBuf, String> {
        let kind = kind(&node.recipe.kind).ok_or_else(|| {
            format!(
                "node `{}` is a `{}` node, which this lock2build cannot make",
                node.id, node.recipe.kind
            )
        })?;
        let id = NodeId::parse(&node.id).map_err(|e| e.to_string())?;
        // What the output refers to: its built inputs in the store.
        let references: Vec<NodeId> = node
            .inputs
            .iter()
            .filter_map(|i| NodeId::parse(i).ok())
            .filter(|i| self.ctx.store.output(i).is_some())
            .collect();
        let made = self
            .ctx
            .store
            .build_output(&id, &references, |dirs| {
                let out = Out {
                    building: &dirs.building,
                    final_path: &dirs.final_path,
                };
                (kind.make)(self.ctx, node, inputs, &out).map_err(|e| format!("{e:#}").into())
            })
            .map_err(|e| super::build_cause(&e))?;
        Ok(made.path)
    }
}
