//! The Rust builder's build graph (docs/graph.md, "Rust"): a Cargo
//! project's steps as data, made by the one executor (`exec.rs`) or by
//! another engine through `lock2build realise`.
//!
//! ```text
//! fetch-url       one .crate the host build compiles                  fixed: the lock's sha256
//! cargo-stubs     the lock's crates the host does not compile, as      fixed: NAR hash (realise reads
//!                 manifests from the registry index (cargo_resolve.rs)  the index again)
//! git-checkout    a git source's commit, without .git                 fixed: NAR hash
//! cargo-git       the lock's git crates laid out (cargo_git.rs)        ← the git-checkouts
//! cargo-crate     one .crate unpacked, patches applied                 ← its fetch-url
//! cargo-vendor    cargo's directory source: links to the crates,       ← every cargo-crate, the stubs,
//!                 stubs and git crates                                    the git crates
//! local-tree      the project's files                                  (read in place; Nix copies them)
//! cargo-skeleton  the workspace's manifests, lock and empty targets    fixed: NAR hash, so an edit of the
//!                                                                         code keeps it (← local-tree)
//! cargo-deps      the dependencies compiled: the target directory      ← vendor, skeleton
//! cargo-app       the project compiled from deps' target: bin/         ← vendor, deps, local-tree
//! ```
//!
//! The built nodes keep the store identities `rust.rs` always gave them
//! (the skeleton's tree hash in the deps' identity, the project's in the
//! app's): graph inputs are a superset of identity inputs. Each node's
//! recipe holds all its step needs (the selection, the binaries, the
//! toolchain's sysroot, the git sources; the override environment is the
//! node's `env`), so `lock2build realise` makes it from the graph and its
//! inputs' paths alone.

use super::cargo_git::{
    checkout_source, lay_out_sources, link_laid_out, source_spec, GitCrates, GitSource,
};
use super::cargo_resolve::stubs;
use super::cargo_vendor::{
    crate_id, link_tree, unpack_crate, RustToolchain, Vendor, VendoredCrate, GIT_SOURCES,
};
use super::cargo_workspace::{
    vendor_for_host, write_skeleton, LockedWorkspace, Skeleton, SkeletonDir, VendorContext,
};
use super::exec::{self, input, recipe, Ctx, Inputs, Kind, Out};
use super::rust::{root_package, CargoStep, StepKind};
use super::{open_store, patch_hashes, AppConfig, AppOptions};
use crate::overrides;
use crate::progress::StepName;
use anyhow::{anyhow, bail, Context, Result};
use lock2build_fetch::FetchRequest;
use lock2build_graph::{FixedOutput, Graph, HashMode, Node as GraphNode, Output, Recipe};
use lock2build_model::{Ecosystem, Hash};
use lock2build_overrides::{native_versions, Database};
use lock2build_plan::plan::{Node, Plan};
use lock2build_store::{NodeId, Store};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// How the nodes of the Rust builder are made.
pub(crate) const KINDS: &[Kind] = &[
    Kind {
        name: "cargo-stubs",
        existing: Some(stored),
        make: make_stubs,
    },
    Kind {
        name: "cargo-git",
        existing: None,
        make: make_git,
    },
    Kind {
        name: "cargo-crate",
        existing: None,
        make: make_crate,
    },
    Kind {
        name: "cargo-vendor",
        existing: None,
        make: make_vendor,
    },
    Kind {
        name: "cargo-skeleton",
        existing: Some(stored),
        make: make_skeleton,
    },
    Kind {
        name: "cargo-deps",
        existing: None,
        make: |ctx, node, inputs, out| make_step(ctx, node, inputs, out, true),
    },
    Kind {
        name: "cargo-app",
        existing: None,
        make: |ctx, node, inputs, out| make_step(ctx, node, inputs, out, false),
    },
];

/// A Cargo project's graph, with what `rust::build` reports from.
pub(super) struct RustGraph<'p> {
    pub graph: Graph,
    /// The lock's crates.
    pub nodes: Vec<&'p Node>,
    /// What `overrides check` names (empty: the workspace).
    pub selected: Vec<&'p Node>,
    /// The package the app is named after.
    pub root: (String, String),
    pub db: std::sync::Arc<Database>,
    pub notes: Vec<String>,
    /// The `.crate` downloads the vendor directory needs.
    pub requests: Vec<FetchRequest>,
    pub crates: usize,
    pub vendor: NodeId,
    pub deps: Option<NodeId>,
    pub app: NodeId,
    /// What the app step builds, as reports name it.
    pub label: String,
    pub project_dir: PathBuf,
}

/// The graph of `lock2build graph` for a Cargo project.
pub(crate) fn graph(options: &AppOptions, plan: &Plan, project: usize) -> Result<Graph> {
    Ok(plan_graph(options, plan, project, false)?.graph)
}

/// The parameters of the cargo steps (`cargo-deps`, `cargo-app`).
#[derive(Serialize, Deserialize)]
struct StepParams {
    /// How the step is shown (`-L` prefix) and named in its lines.
    shown: String,
    label: String,
    /// `rustc --print sysroot` (the toolchains `rustc` and `cargo` are in
    /// its `bin/`).
    sysroot: PathBuf,
    /// `NAME@VERSION` to build instead of the workspace.
    packages: Vec<String>,
    /// `--features …`, `--no-default-features`.
    selection: Vec<String>,
    /// `--bin NAME` each (the app).
    bins: Vec<String>,
    vendor: String,
    /// The skeleton (deps) or the project's tree (app).
    tree: String,
    /// The deps' node (the app of a workspace build).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    deps: Option<String>,
    /// The lock's git sources (the cargo configuration replaces them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    git: Vec<GitSource>,
}

/// The parameters of a `cargo-crate` node.
#[derive(Serialize, Deserialize)]
struct CrateParams {
    name: String,
    version: String,
    sha256: String,
    /// The `.crate` (a `fetch-url` node).
    source: String,
    /// Override patches, by path and sha256 (hex).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    patches: Vec<(PathBuf, String)>,
}

/// Makes the graph of the Cargo project `project` of `plan`: what the
/// host build compiles is learnt first (the skeleton, the stubs: the
/// registry index), so the `.crate` nodes are those cargo needs.
/// `say_app`: print `app`'s first progress line.
pub(super) fn plan_graph<'p>(
    options: &AppOptions,
    plan: &'p Plan,
    project: usize,
    say_app: bool,
) -> Result<RustGraph<'p>> {
    let lockfile = plan.projects[project].lockfile.clone();
    let lock_display = options.dir.join(&lockfile).display().to_string();
    let nodes: Vec<&Node> = plan
        .packages
        .iter()
        .filter(|n| n.project == project)
        .collect();
    let project_dir = std::path::absolute(&options.dir)?;
    let lock_dir = project_dir.join(lockfile.parent().unwrap_or(Path::new("")));
    let toolchain = RustToolchain::find()?;
    if options.progress && say_app {
        eprintln!(
            "lock2build app: {} ({}, {} crate{}) with {}",
            options.dir.display(),
            lockfile.display(),
            nodes.len(),
            if nodes.len() == 1 { "" } else { "s" },
            toolchain.ids[0].version
        );
    }
    let db = overrides::load_for(&options.dir, Ecosystem::Crates)?;
    let mut notes = Vec::new();
    let selected = selected_crates(options, &nodes, &lock_display, &mut notes)?;
    let store = open_store()?;
    let packages: Vec<String> = selected
        .iter()
        .map(|n| format!("{}@{}", n.name, n.version))
        .collect();
    let (selection, bins) = selection_and_bins(options, !packages.is_empty())?;
    // The workspace's skeleton: what the dependencies build from, and what
    // says which crates cargo compiles on this host.
    let skeleton = Skeleton::remembered(&toolchain, &project_dir, &project_dir)?;
    // What the lock holds: registry crates to vendor (those the host build
    // compiles), path crates inside the project, git crates by commit.
    let workspace = LockedWorkspace {
        nodes: nodes.clone(),
        lock_dir: lock_dir.clone(),
        root: project_dir.clone(),
        display: lock_display.clone(),
        skeleton: Some(SkeletonDir::Remembered(&skeleton)),
    };
    let cx = VendorContext {
        store,
        toolchain: &toolchain,
        db: &db,
        fetch: &options.fetch,
        index: &options.plan.index,
    };
    let all_crates = workspace.registry_vendor(&db)?;
    let for_host = vendor_for_host(&cx, &[workspace], &selection, &selected, &mut notes)?;
    let built_nodes = for_host.built(&nodes);
    let env = for_host.checked_env(&built_nodes, &db)?;
    let native_ids = native_ids(&built_nodes, &db);
    let steps = Steps {
        options,
        toolchain: &toolchain,
        target: plan.target.describe_platform(),
        lockfile: &lockfile,
        native: native_versions(db.providers(), &native_ids),
        native_ids,
        env,
        packages,
        selection,
        bins,
        vendor: &for_host.vendor,
        root: root_package(&nodes),
    };
    let deps_id = steps.deps_id(&skeleton.tree_hash)?;
    let project_tree = super::remembered_tree_hash(&project_dir)?;
    let app_id = steps.app_id(deps_id.as_ref(), &project_tree)?;

    // The .crate files the vendor directory needs.
    let vendor = steps.vendor;
    let (mut requests, _) = crate::fetch_plan::requests(plan)?;
    let wanted = vendor.hashes();
    requests.retain(|r| r.hashes.iter().any(|h| wanted.contains(&h.to_sri())));

    let mut graph = Graph::new(steps.target.clone());
    add_toolchains(&mut graph, &toolchain);
    let checkouts = git_checkouts(store, options, vendor)?;
    add_vendor(&mut graph, vendor, &all_crates.crates, &requests, checkouts)?;
    let tree = exec::local_tree_node(&steps.root.0, &project_dir, &project_tree)?;
    let tree_id = tree.id.clone();
    graph.nodes.push(tree);
    let label = app_label(&steps, &selected);
    let made = step_nodes(
        &graph,
        &steps,
        &skeleton.nar,
        &tree_id,
        deps_id.as_ref(),
        &app_id,
        &selected,
    )?;
    graph.nodes.extend(made);
    graph.result = Some(app_id.to_string());
    graph.check().map_err(|e| anyhow!("{e}"))?;
    Ok(RustGraph {
        graph,
        nodes,
        selected,
        root: steps.root.clone(),
        db,
        notes,
        requests,
        crates: vendor.crates.len(),
        vendor: vendor.id.clone(),
        deps: deps_id,
        app: app_id,
        label,
        project_dir,
    })
}

/// The native libraries the overrides give the crates `built` (their
/// versions go into the ids: an upgraded OpenSSL rebuilds), sorted.
fn native_ids(built: &[&Node], db: &lock2build_overrides::Database) -> Vec<String> {
    built
        .iter()
        .flat_map(|n| db.resolve(Ecosystem::Crates, &n.name, &n.version).native)
        .collect::<BTreeSet<String>>()
        .into_iter()
        .collect()
}

/// What the app's progress calls it: the selected packages, or the root.
fn app_label(steps: &Steps, selected: &[&Node]) -> String {
    match selected.is_empty() {
        true => format!("{} {}", steps.root.0, steps.root.1),
        false => selected
            .iter()
            .map(|n| format!("{} {}", n.name, n.version))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The cargo steps: the skeleton and `cargo-deps` (when the lock has
/// dependencies to build), then `cargo-app`.
fn step_nodes(
    graph: &Graph,
    steps: &Steps,
    skeleton_nar: &str,
    tree_id: &str,
    deps_id: Option<&NodeId>,
    app_id: &NodeId,
    selected: &[&Node],
) -> Result<Vec<lock2build_graph::Node>> {
    let vendor = steps.vendor;
    let mut made = Vec::new();
    if let Some(deps_id) = deps_id {
        let skeleton = skeleton_node(&steps.root.0, skeleton_nar, tree_id, steps.toolchain)?;
        let label = format!("dependencies of {}", steps.root.0);
        let params = steps.params(
            format!("{}-deps", steps.root.0),
            label,
            &skeleton.id,
            None,
            &[],
        );
        let inputs = vec![vendor.id.to_string(), skeleton.id.clone()];
        made.push(skeleton);
        made.push(steps.node(graph, deps_id, "cargo-deps", inputs, &params)?);
    }
    let shown = selected.first().map_or(&steps.root.0, |n| &n.name).clone();
    let params = steps.params(
        shown,
        app_label(steps, selected),
        tree_id,
        deps_id,
        &steps.bins,
    );
    let inputs = std::iter::once(vendor.id.to_string())
        .chain(deps_id.map(|d| d.to_string()))
        .chain([tree_id.to_string()])
        .collect();
    made.push(steps.node(graph, app_id, "cargo-app", inputs, &params)?);
    Ok(made)
}

/// The crates the step builds: none (the workspace), or those `overrides
/// check` names (one it does not is a note; none at all an error).
fn selected_crates<'p>(
    options: &AppOptions,
    nodes: &[&'p Node],
    lock_display: &str,
    notes: &mut Vec<String>,
) -> Result<Vec<&'p Node>> {
    let mut selected: Vec<&Node> = Vec::new();
    for name in &options.from_source {
        let hits: Vec<&Node> = nodes
            .iter()
            .copied()
            .filter(|n| n.name == *name || n.name.replace('_', "-") == name.replace('_', "-"))
            .collect();
        if hits.is_empty() {
            notes.push(format!("{name} is not a crate of {lock_display}"));
        }
        selected.extend(hits);
    }
    if !options.from_source.is_empty() && selected.is_empty() {
        return Err(anyhow!("{}", notes.join("\n")));
    }
    Ok(selected)
}

/// The git sources' checkouts as `git-checkout` nodes, by their NAR hash
/// (the store knows it once checked out).
pub(super) fn git_checkouts(
    store: &Store,
    options: &AppOptions,
    vendor: &Vendor,
) -> Result<Vec<GraphNode>> {
    let Some(git) = &vendor.git else {
        return Ok(Vec::new());
    };
    let git_options = crate::fetch_plan::git_options(&options.fetch, false);
    git.sources
        .iter()
        .map(|source| {
            let checkout = checkout_source(store, source, &git_options)?;
            crate::source_nodes::git_node(&source_spec(source), &checkout.nar_sha256)
        })
        .collect()
}

/// What the cargo steps (deps, app) share: their identities' fields (as
/// `rust.rs` always computed them) and their recipes'.
struct Steps<'a> {
    options: &'a AppOptions,
    toolchain: &'a RustToolchain,
    target: String,
    lockfile: &'a Path,
    env: BTreeMap<String, String>,
    native_ids: Vec<String>,
    /// The host libraries' versions.
    native: BTreeMap<String, String>,
    packages: Vec<String>,
    selection: Vec<String>,
    bins: Vec<String>,
    vendor: &'a Vendor,
    root: (String, String),
}

impl Steps<'_> {
    fn identity(&self, recipe: &str, tree: &str, bins: &[String]) -> serde_json::Value {
        serde_json::json!({
            "recipe": recipe,
            "sandboxed": self.options.sandbox.is_sandboxed(),
            "tree": tree,
            "lockfile": self.lockfile,
            "env": self.env,
            "native": self.native,
            "packages": self.packages,
            "selection": self.selection,
            "bins": bins,
            "profile": "release",
        })
    }

    /// The dependencies build from the workspace's skeleton, so editing
    /// the project's code does not rebuild them (a whole-workspace build
    /// only).
    fn deps_id(&self, skeleton_hash: &str) -> Result<Option<NodeId>> {
        if !self.packages.is_empty() {
            return Ok(None);
        }
        Ok(Some(NodeId::compute(
            &format!("{}-deps", self.root.0),
            &self.identity("cargo-deps/1", skeleton_hash, &[]),
            std::slice::from_ref(&self.vendor.id),
            &self.toolchain.ids,
            &self.target,
        )?))
    }

    fn app_id(&self, deps: Option<&NodeId>, project_tree: &str) -> Result<NodeId> {
        let inputs: Vec<NodeId> = std::iter::once(self.vendor.id.clone())
            .chain(deps.cloned())
            .collect();
        let name = match self.packages.is_empty() {
            true => self.root.0.clone(),
            false => format!("{}-check", self.root.0),
        };
        Ok(NodeId::compute(
            &name,
            &self.identity("cargo-build/1", project_tree, &self.bins),
            &inputs,
            &self.toolchain.ids,
            &self.target,
        )?)
    }

    fn params(
        &self,
        shown: String,
        label: String,
        tree: &str,
        deps: Option<&NodeId>,
        bins: &[String],
    ) -> StepParams {
        StepParams {
            shown,
            label,
            sysroot: self.toolchain.sysroot.clone(),
            packages: self.packages.clone(),
            selection: self.selection.clone(),
            bins: bins.to_vec(),
            vendor: self.vendor.id.to_string(),
            tree: tree.to_owned(),
            deps: deps.map(|d| d.to_string()),
            git: self
                .vendor
                .git
                .iter()
                .flat_map(|g| g.sources.clone())
                .collect(),
        }
    }

    fn node(
        &self,
        graph: &Graph,
        id: &NodeId,
        kind: &str,
        inputs: Vec<String>,
        params: &StepParams,
    ) -> Result<GraphNode> {
        let mut node = built_node(id, kind, inputs, serde_json::to_value(params)?)?;
        node.toolchains = graph.toolchains.keys().cloned().collect();
        node.env = self.env.clone();
        node.native = self.native_ids.clone();
        Ok(node)
    }
}

/// Features and binaries: the command line, else lock2build.toml (no
/// binaries for `overrides check`, which builds packages).
fn selection_and_bins(options: &AppOptions, packages: bool) -> Result<(Vec<String>, Vec<String>)> {
    let config = AppConfig::read(&options.dir)?;
    let mut selection = Vec::new();
    let features = if options.features.is_empty() {
        config.features.clone().unwrap_or_default()
    } else {
        options.features.clone()
    };
    if !features.is_empty() {
        selection.extend(["--features".to_owned(), features.join(",")]);
    }
    if options.no_default_features || config.no_default_features.unwrap_or(false) {
        selection.push("--no-default-features".to_owned());
    }
    let bins: Vec<String> = if packages {
        Vec::new()
    } else if options.scripts.is_empty() {
        config.scripts.clone().unwrap_or_default()
    } else {
        options.scripts.clone()
    };
    Ok((selection, bins))
}

/// rustc, cargo and cc as the graph names them.
fn add_toolchains(graph: &mut Graph, toolchain: &RustToolchain) {
    for id in &toolchain.ids {
        graph.toolchains.insert(
            id.name.clone(),
            lock2build_graph::Toolchain {
                path: id.path.display().to_string(),
                id: format!("sha256:{}", id.sha256),
                nixpkgs: None,
            },
        );
    }
}

/// The vendor directory's nodes: a `fetch-url` and a `cargo-crate` per
/// crate, the stubs, the git crates, the directory itself. `all` are the
/// lock's registry crates (what the stubs are made of).
pub(super) fn add_vendor(
    graph: &mut Graph,
    vendor: &Vendor,
    all: &[VendoredCrate],
    requests: &[FetchRequest],
    checkouts: Vec<GraphNode>,
) -> Result<()> {
    // The ids in the graph, not searched node by node (870 nodes).
    let mut known: std::collections::HashSet<String> =
        graph.nodes.iter().map(|n| n.id.clone()).collect();
    let mut fetch_of: BTreeMap<String, String> = BTreeMap::new();
    for request in requests {
        let node = crate::source_nodes::fetch_node(request)?;
        for h in &request.hashes {
            fetch_of.insert(h.to_sri(), node.id.clone());
        }
        if known.insert(node.id.clone()) {
            graph.nodes.push(node);
        }
    }
    let mut inputs = Vec::new();
    let mut dirs = Vec::new();
    for c in &vendor.crates {
        let id = crate_id(c)?;
        let source = c
            .hashes
            .iter()
            .find_map(|h| fetch_of.get(&h.to_sri()))
            .ok_or_else(|| anyhow!("internal: no download for {} {}", c.name, c.version))?;
        let params = CrateParams {
            name: c.name.clone(),
            version: c.version.clone(),
            sha256: c.sha256.clone(),
            source: source.clone(),
            patches: c
                .patches
                .iter()
                .cloned()
                .zip(patch_hashes(&c.patches)?)
                .collect(),
        };
        let node = built_node(
            &id,
            "cargo-crate",
            vec![source.clone()],
            serde_json::to_value(params)?,
        )?;
        if known.insert(node.id.clone()) {
            graph.nodes.push(node);
        }
        inputs.push(id.to_string());
        dirs.push(serde_json::json!({ "node": id.to_string(), "dir": format!("{}-{}", c.name, c.version) }));
    }
    let mut params = serde_json::json!({ "crates": dirs });
    if let Some(set) = &vendor.stubs {
        // A store output, never written again: its NAR hash is remembered
        // by its path (its id) and its directory's stamp (a removed and
        // remade output has another inode and ctime).
        let nar = lock2build_store::remembered_probe(
            "NAR sha256 of a store output",
            &[&set.stubs.path],
            &[],
            || lock2build_git::nar_sha256(&set.stubs.path).map_err(|e| anyhow!("{e}")),
        )?;
        let crates: Vec<serde_json::Value> = all
            .iter()
            .map(|c| serde_json::json!({ "name": c.name, "version": c.version, "sha256": c.sha256, "registry": c.registry }))
            .collect();
        let mut node = built_node(
            &set.stubs.id,
            "cargo-stubs",
            vec![],
            serde_json::json!({ "crates": crates }),
        )?;
        node.output = Output::Fixed(FixedOutput {
            hash: nar,
            mode: HashMode::Nar,
        });
        graph.nodes.push(node);
        inputs.push(set.stubs.id.to_string());
        params["stubs"] =
            serde_json::json!({ "node": set.stubs.id.to_string(), "names": set.names });
    }
    if let Some(git) = &vendor.git {
        let ids: Vec<String> = checkouts.iter().map(|c| c.id.clone()).collect();
        for checkout in checkouts {
            if graph.node(&checkout.id).is_none() {
                graph.nodes.push(checkout);
            }
        }
        graph.nodes.push(built_node(
            &git.id,
            "cargo-git",
            ids.clone(),
            serde_json::json!({ "sources": git.sources, "checkouts": ids }),
        )?);
        inputs.push(git.id.to_string());
        params["git"] = serde_json::json!(git.id.to_string());
    }
    graph
        .nodes
        .push(built_node(&vendor.id, "cargo-vendor", inputs, params)?);
    Ok(())
}

/// The skeleton whose NAR hash is `nar`, as a fixed node: named by it,
/// so the deps' node (and Nix's derivation of it) stays the same when only
/// the project's code changes.
fn skeleton_node(
    root: &str,
    nar: &str,
    tree: &str,
    toolchain: &RustToolchain,
) -> Result<GraphNode> {
    let id = NodeId::compute(
        &format!("{root}-skeleton"),
        &serde_json::json!({ "fixed": nar }),
        &[],
        &[],
        "",
    )?;
    let mut node = built_node(
        &id,
        "cargo-skeleton",
        vec![tree.to_owned()],
        // The tree is the one input, not a parameter: the node as an input
        // of the deps (what Nix's derivation of them reads) stays the same
        // when the tree changes.
        serde_json::json!({ "sysroot": toolchain.sysroot }),
    )?;
    node.toolchains = vec!["cargo".into(), "rustc".into()];
    node.output = Output::Fixed(FixedOutput {
        hash: nar.to_owned(),
        mode: HashMode::Nar,
    });
    Ok(node)
}

fn built_node(
    id: &NodeId,
    kind: &str,
    inputs: Vec<String>,
    params: serde_json::Value,
) -> Result<GraphNode> {
    let serde_json::Value::Object(params) = params else {
        bail!("internal: the parameters of {id} are not an object");
    };
    Ok(GraphNode {
        id: id.to_string(),
        name: id
            .as_str()
            .split_once('-')
            .map_or(id.as_str(), |(_, n)| n)
            .to_owned(),
        recipe: Recipe {
            kind: kind.into(),
            params,
        },
        inputs,
        toolchains: Vec::new(),
        env: BTreeMap::new(),
        native: Vec::new(),
        output: Output::Built,
    })
}

/// A fixed node lock2build made before, in the store.
fn stored(ctx: &Ctx, node: &GraphNode) -> Option<PathBuf> {
    ctx.store.output(&NodeId::parse(&node.id).ok()?)
}

/// The toolchain a node names: the graph's `rustc` and `cargo`, in
/// `sysroot`'s bin/.
fn toolchain(ctx: &Ctx, node: &GraphNode, sysroot: &Path) -> Result<RustToolchain> {
    let tool = |name: &str| {
        ctx.graph
            .toolchains
            .get(name)
            .map(|t| PathBuf::from(&t.path))
            .ok_or_else(|| anyhow!("node `{}`: the graph has no `{name}` toolchain", node.id))
    };
    Ok(RustToolchain {
        sysroot: sysroot.to_owned(),
        cargo: tool("cargo")?,
        rustc: tool("rustc")?,
        ids: Vec::new(),
    })
}

fn make_crate(ctx: &Ctx, node: &GraphNode, inputs: &Inputs, out: &Out) -> Result<()> {
    let p: CrateParams = recipe(node)?;
    let (paths, hashes): (Vec<PathBuf>, Vec<String>) = p.patches.into_iter().unzip();
    if patch_hashes(&paths)? != hashes {
        bail!(
            "node `{}`: an override patch of {} {} changed since the graph was made\n  help: make the graph again (`lock2build graph`)",
            node.id,
            p.name,
            p.version
        );
    }
    let c = VendoredCrate {
        hashes: vec![
            Hash::from_hex(lock2build_model::HashAlgorithm::Sha256, &p.sha256)
                .map_err(|e| anyhow!("node `{}`: {e}", node.id))?,
        ],
        name: p.name,
        version: p.version,
        sha256: p.sha256,
        patches: paths,
        registry: String::new(),
    };
    // The .crate file given, or (a tree recovered from the archive) the
    // store's.
    let file = input(inputs, &p.source, node)?;
    let from = file.is_file().then_some(file);
    unpack_crate(ctx.store, &c, from, out.building)
}

/// The git crates laid out from their sources' checkouts.
fn make_git(ctx: &Ctx, node: &GraphNode, inputs: &Inputs, out: &Out) -> Result<()> {
    #[derive(Deserialize)]
    struct GitParams {
        sources: Vec<GitSource>,
        checkouts: Vec<String>,
    }
    let p: GitParams = recipe(node)?;
    let dirs: Vec<PathBuf> = p
        .checkouts
        .iter()
        .map(|id| input(inputs, id, node).map(Path::to_owned))
        .collect::<Result<_>>()?;
    if dirs.len() != p.sources.len() {
        bail!("node `{}`: one checkout per git source", node.id);
    }
    // Each crate its own output (shared by every lock with it at this
    // commit), linked into the directory.
    let (laid_out, _) = lay_out_sources(ctx.store, &p.sources, &dirs)?;
    link_laid_out(&laid_out, out.building).map_err(|e| anyhow!("node `{}`: {e}", node.id))
}

fn make_vendor(_: &Ctx, node: &GraphNode, inputs: &Inputs, out: &Out) -> Result<()> {
    #[derive(Deserialize)]
    struct Dir {
        node: String,
        dir: String,
    }
    #[derive(Deserialize)]
    struct Stubs {
        node: String,
        names: Vec<String>,
    }
    #[derive(Deserialize)]
    struct VendorParams {
        crates: Vec<Dir>,
        stubs: Option<Stubs>,
        git: Option<String>,
    }
    let p: VendorParams = recipe(node)?;
    let mut links: Vec<(PathBuf, String)> = Vec::new();
    for c in &p.crates {
        links.push((input(inputs, &c.node, node)?.join(&c.dir), c.dir.clone()));
    }
    if let Some(stubs) = &p.stubs {
        let dir = input(inputs, &stubs.node, node)?;
        links.extend(stubs.names.iter().map(|n| (dir.join(n), n.clone())));
    }
    if let Some(git) = &p.git {
        links.push((input(inputs, git, node)?.to_owned(), GIT_SOURCES.to_owned()));
    }
    for (from, name) in &links {
        link_tree(from, &out.building.join(name))
            .with_context(|| format!("linking {} into the vendor directory", from.display()))?;
    }
    Ok(())
}

fn make_stubs(ctx: &Ctx, node: &GraphNode, _: &Inputs, out: &Out) -> Result<()> {
    #[derive(Deserialize)]
    struct Listed {
        name: String,
        version: String,
        sha256: String,
        registry: String,
    }
    #[derive(Deserialize)]
    struct StubsParams {
        crates: Vec<Listed>,
    }
    let p: StubsParams = recipe(node)?;
    let crates: Vec<VendoredCrate> = p
        .crates
        .into_iter()
        .map(|c| VendoredCrate {
            name: c.name,
            version: c.version,
            hashes: Vec::new(),
            sha256: c.sha256,
            patches: Vec::new(),
            registry: c.registry,
        })
        .collect();
    // Made in a store of its own (the executor holds this node's entry).
    let scratch = tempfile::Builder::new()
        .prefix("lock2build-stubs-")
        .tempdir_in(lock2build_store::scratch_dir())?;
    let store = Store::open(scratch.path().join("store"))?;
    let index = lock2build_plan::pyindex::IndexOptions::new(
        scratch.path().join("index"),
        ctx.fetch.offline,
    );
    let made = stubs(&store, &crates, &index)?;
    if made.id.as_str() != node.id {
        bail!("node `{}`: its crates make the stubs {}", node.id, made.id);
    }
    link_tree(&made.path, out.building).context("copying the stubs")
}

fn make_skeleton(ctx: &Ctx, node: &GraphNode, inputs: &Inputs, out: &Out) -> Result<()> {
    #[derive(Deserialize)]
    struct SkeletonParams {
        sysroot: PathBuf,
    }
    let p: SkeletonParams = recipe(node)?;
    let toolchain = toolchain(ctx, node, &p.sysroot)?;
    let [tree_id] = node.inputs.as_slice() else {
        bail!("node `{}`: a skeleton is made from one tree", node.id);
    };
    let tree = input(inputs, tree_id, node)?;
    write_skeleton(&toolchain, tree, tree, out.building)?;
    Ok(())
}

/// A cargo step (the deps or the app) through `CargoStep::run`.
fn make_step(ctx: &Ctx, node: &GraphNode, inputs: &Inputs, out: &Out, deps: bool) -> Result<()> {
    let p: StepParams = recipe(node)?;
    let toolchain = toolchain(ctx, node, &p.sysroot)?;
    // The cargo configuration needs the sources only.
    let git = match p.git.is_empty() {
        true => None,
        false => Some(GitCrates {
            id: NodeId::parse(&node.id)?,
            path: PathBuf::new(),
            sources: p.git.clone(),
        }),
    };
    let vendor = input(inputs, &p.vendor, node)?;
    let tree = input(inputs, &p.tree, node)?;
    let step = CargoStep {
        sandbox: ctx.sandbox,
        steps: ctx.steps,
        toolchain: &toolchain,
        git: git.as_ref(),
        vendor,
        env: &node.env,
        packages: &p.packages,
        selection: &p.selection,
        bins: &p.bins,
    };
    let kind = if deps {
        StepKind::Deps { skeleton: tree }
    } else {
        StepKind::App {
            project: tree,
            deps: p
                .deps
                .as_deref()
                .map(|d| input(inputs, d, node))
                .transpose()?,
        }
    };
    let log = ctx.logs_dir.join(format!("{}.log", node.id));
    let shown = StepName {
        name: &p.shown,
        label: &format!("{} (cargo)", p.label),
    };
    step.run(&kind, (out.building, out.final_path), &log, shown)
}
