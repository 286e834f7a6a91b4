//! The Python builder of `lock2build app`: the plan of a poetry.lock, uv.lock
//! or hashed requirements.txt built into an environment, `./result`.
//!
//! The nodes, each a store output named by its identity:
//!
//! ```text
//! wheel     a locked wheel installed (install_wheel)        ← the wheel's hash, python
//! build-env the pinned build systems, composed              ← their wheel nodes
//! sdist     an sdist built in the sandbox, then installed   ← the sdist's hash, build-env, overrides, python, cc
//! project   the project's own tree, built the same way      ← the tree's hash, build-env, python, cc
//! editable  (shell) the project installed editable (PEP 660)  ← its path, pyproject.toml/setup.*, build-env
//! git       a git package's checkout (or its subdirectory)  ← commit, git tree, build-env, python, cc
//! env       the app's environment (`result`)                ← every node above it, the script selection
//! ```
//!
//! Before anything is built: the native libraries and tools the source
//! builds need (overrides database) are checked on the host, all at once.
//! Everything is fetched (verified) in one parallel pass. These nodes are
//! then the graph [`python_graph::prepare`] makes (docs/graph.md), run by
//! the one executor (`exec.rs`): inputs first, `-j` at a time, each built
//! node once into the store. A build's log is kept in
//! `<store>/logs/<node>.log`; a failure shows its last lines.

use super::build_requirements::{AskedAtBuildTime, BuildRequirements, SourceBuild};
use super::cargo_git::{GitCrates, GitSource};
use super::cargo_vendor::{cargo_config_for, RustToolchain, Vendor, VendoredCrate};
use super::cargo_workspace::{
    own_workspace_root, vendor_for_host, write_skeleton, LockedWorkspace, SkeletonDir,
    VendorContext,
};
use super::{
    copy_tree, distinct_artifacts, downloads, exec, failure_message, link_and_record, python_graph,
    require_native, tree_hash, AppConfig, AppOptions, AppReport,
};
use crate::progress::StepName;
use anyhow::{anyhow, bail, Context, Result};
use lock2build_model::{Ecosystem, Hash, Source};
use lock2build_overrides::{build_systems_requirements, Database, Resolved};
use lock2build_plan::discover::{FoundLock, LockKind};
use lock2build_plan::plan::{self, Node, Plan, PlanOptions};
use lock2build_python::{
    build_editable, build_wheel, compile_bytecode, install_wheel, pth_wheel, EditableProject,
    PythonInfo, ScriptSelection, WheelBuild,
};
use lock2build_sandbox::{Mount, Sandbox};
use lock2build_store::{NodeId, OutputDirs, Store, ToolchainId};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// How a package node is made.
#[derive(Debug, Clone)]
pub(super) enum Recipe {
    /// Install this wheel (from the store, found by its hashes).
    Wheel { hashes: Vec<Hash>, filename: String },
    /// Build this unpacked sdist in the sandbox, install the wheel.
    Sdist {
        source: PathBuf,
        overrides: Resolved,
    },
    /// Build (a copy of) the project directory in the sandbox, install the wheel.
    Project { dir: PathBuf, overrides: Resolved },
    /// Install the project at `dir` editable (`AppOptions::develop`): its
    /// backend's `build_editable` in the sandbox, or (no `[build-system]`,
    /// `backend` false; or no such hook) a `.pth` to its source.
    Editable {
        dir: PathBuf,
        overrides: Resolved,
        backend: bool,
    },
}

impl Recipe {
    /// A source build's override (none for a wheel).
    pub(super) fn overrides(&self) -> Option<&Resolved> {
        match self {
            Recipe::Wheel { .. } => None,
            Recipe::Sdist { overrides, .. }
            | Recipe::Project { overrides, .. }
            | Recipe::Editable { overrides, .. } => Some(overrides),
        }
    }
}

/// A composed environment of pinned build systems.
#[derive(Debug, Clone)]
pub(super) struct BuildEnv {
    pub path: PathBuf,
    /// The package outputs it refers to.
    pub inputs: Vec<PathBuf>,
}

/// One package node to make.
#[derive(Debug, Clone)]
pub(super) struct Job {
    pub label: String,
    pub name: String,
    pub version: String,
    pub id: NodeId,
    pub recipe: Recipe,
    /// The Rust crates its build compiles (an extension built by maturin
    /// or setuptools-rust from the Cargo.lock it ships).
    pub rust: Option<RustBuild>,
    /// A source build's build requirements.
    pub requirements: Option<SourceBuild>,
}

/// What a source build with Rust code gets: its Cargo.lock's crates as a
/// vendor directory, and the crates' override knobs.
#[derive(Debug, Clone)]
pub(super) struct RustDeps {
    pub vendor: Vendor,
    /// The locks' registry crates (what the vendor's stubs stand for).
    pub all: Vec<VendoredCrate>,
    /// The `.crate` downloads of the vendored crates.
    pub requests: Vec<lock2build_fetch::FetchRequest>,
    pub env: BTreeMap<String, String>,
}

/// What a source build with Rust code compiles with: the vendor
/// directory made (its node's output), the toolchain, the git sources the
/// cargo configuration replaces, the crates' override knobs.
#[derive(Debug, Clone)]
pub(super) struct RustBuild {
    pub vendor: PathBuf,
    /// `rustc --print sysroot` (cargo and rustc in its `bin/`).
    pub sysroot: PathBuf,
    pub git: Vec<GitSource>,
    pub env: BTreeMap<String, String>,
}

impl Job {
    /// The job making `node` by `recipe`, its identity computed from
    /// `identity` (what the recipe reads), `inputs`, `toolchains` and `target`.
    pub(super) fn new(
        node: &Node,
        identity: &serde_json::Value,
        inputs: &[NodeId],
        toolchains: &[ToolchainId],
        target: &str,
        recipe: Recipe,
    ) -> Result<Job> {
        let name = format!("{}-{}", node.name, node.version);
        // Every package output is byte-compiled (outputs from before that
        // have other identities, so they are rebuilt once).
        let mut identity = identity.clone();
        identity["pyc"] = lock2build_python::PYC_INVALIDATION_MODE.into();
        Ok(Job {
            label: format!("{} {}", node.name, node.version),
            name: node.name.clone(),
            version: node.version.clone(),
            id: NodeId::compute(&name, &identity, inputs, toolchains, target)?,
            recipe,
            rust: None,
            requirements: None,
        })
    }
}

/// The toolchains node identities include.
pub(super) struct Toolchains {
    pub python: ToolchainId,
    pub cc: Option<ToolchainId>,
}

/// Builds the Python project `project` of `plan`. A backend that asks at
/// build time for requirements its environment lacks gets them resolved
/// into the build lock, and the build runs again (what was built is kept).
pub(super) fn build(options: &AppOptions, plan: Plan, project: usize) -> Result<AppReport> {
    let (mut report, mut built, notes) = resolving_asked(options, &plan, project, || {
        build_once(options, plan.clone(), project)
    })?;
    report.notes.extend(notes);
    built.append(&mut report.built);
    report.built = built;
    Ok(report)
}

/// The project's complete graph for `lock2build graph`: the source builds
/// (the nodes whose backends may ask for more at build time) are made by
/// the executor first, and what their backends ask for is resolved into
/// the build lock ([`resolving_asked`], refused under `--locked`) before
/// the graph is made again; the graph returned needs nothing more.
pub(super) fn complete_graph(
    options: &AppOptions,
    plan: &Plan,
    project: usize,
) -> Result<lock2build_graph::Graph> {
    let (graph, _, notes) = resolving_asked(options, plan, project, || {
        let made = python_graph::prepare(options, plan, project)?;
        let goals: Vec<String> = made
            .graph
            .nodes
            .iter()
            .filter(|n| SOURCE_BUILDS.contains(&n.recipe.kind.as_str()))
            .map(|n| n.id.clone())
            .collect();
        let (run, built) = run_goals(options, &made, &goals)?;
        let asked = made.take_asked();
        if !asked.is_empty() {
            return Err(AskedAtBuildTime(asked, built).into());
        }
        run?;
        Ok(made.graph)
    })?;
    crate::progress::warn(&notes);
    Ok(graph)
}

/// The kinds of the nodes that run a PEP 517 backend.
const SOURCE_BUILDS: &[&str] = &["python-sdist", "python-project", "python-editable"];

/// Runs `once` until no backend asks at build time for requirements its
/// environment lacks, recording what they ask for in the build lock
/// between runs: its value, the labels built by the runs that asked, and
/// the notes of the build lock.
fn resolving_asked<T>(
    options: &AppOptions,
    plan: &Plan,
    project: usize,
    mut once: impl FnMut() -> Result<T>,
) -> Result<(T, Vec<String>, Vec<String>)> {
    let mut notes = Vec::new();
    let mut built = Vec::new();
    let mut last_asked: Vec<(String, Vec<String>)> = Vec::new();
    loop {
        let asked = match once() {
            Ok(value) => return Ok((value, built, notes)),
            Err(e) => e.downcast::<AskedAtBuildTime>()?,
        };
        built.extend(asked.1.iter().cloned());
        let now: Vec<(String, Vec<String>)> = asked
            .0
            .iter()
            .map(|(b, more)| (format!("{} {}", b.name, b.version), more.clone()))
            .collect();
        if now == last_asked {
            bail!(
                "{}: the build backend still asks for requirements it lacks after they were resolved and installed: {}\n  help: its backend checks for something other than the installed distributions; see its build log",
                now.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>().join(", "),
                now.iter().flat_map(|(_, r)| r.iter().map(String::as_str)).collect::<Vec<_>>().join(", ")
            );
        }
        notes.extend(record_asked(options, plan, project, &asked)?);
        for (label, more) in &now {
            if options.progress {
                eprintln!(
                    "{label}: its build backend asks at build time for {}; resolved, building again",
                    more.join(", ")
                );
            }
        }
        last_asked = now;
    }
}

/// Resolves what the backends of `asked` asked for at build time into the
/// build lock (refused under `--locked`).
fn record_asked(
    options: &AppOptions,
    plan: &Plan,
    project: usize,
    asked: &AskedAtBuildTime,
) -> Result<Vec<String>> {
    let lock_dir = std::path::absolute(&options.dir)?.join(
        plan.projects[project]
            .lockfile
            .parent()
            .unwrap_or(Path::new("")),
    );
    let nodes: Vec<&Node> = plan
        .packages
        .iter()
        .filter(|n| n.project == project)
        .collect();
    let (pins, path) = build_systems_plan(&options.plan)?;
    let mut requirements = BuildRequirements::new(pins, path, &lock_dir, &nodes, options.locked)?;
    for (build, _) in &asked.0 {
        requirements.record(build, &options.plan)?;
    }
    requirements.finish()
}

/// One build of the project; [`AskedAtBuildTime`] when backends asked for
/// more than their environments have. Its graph
/// ([`python_graph::prepare`]) run by the one executor.
fn build_once(options: &AppOptions, plan: Plan, project: usize) -> Result<AppReport> {
    let started = Instant::now();
    let made = python_graph::prepare(options, &plan, project)?;
    let graph = &made.graph;
    let store = &made.store;
    let to_install = graph
        .nodes
        .iter()
        .filter(|n| n.recipe.kind == "python-wheel" && !output_exists(store, &n.id))
        .count();
    if to_install > 0 && options.progress {
        eprintln!(
            "installing {to_install} wheel{}…",
            if to_install == 1 { "" } else { "s" }
        );
    }
    let result = graph
        .result
        .clone()
        .ok_or_else(|| anyhow!("internal: the graph has no result"))?;
    let (run, built) = run_goals(options, &made, &[result.clone()])?;
    let asked = made.take_asked();
    if !asked.is_empty() {
        return Err(AskedAtBuildTime(asked, built).into());
    }
    run?;
    let env_path = store
        .output(&NodeId::parse(&result)?)
        .ok_or_else(|| anyhow!("internal: the app environment was not made"))?;
    let built_ids: Vec<NodeId> = made
        .labels
        .keys()
        .map(|id| NodeId::parse(id))
        .collect::<Result<_, _>>()?;
    let reused = built_ids.len() - built.len();
    let logs = made
        .source_labels
        .iter()
        .map(|(id, label)| (label.clone(), store.logs_dir().join(format!("{id}.log"))))
        .collect();

    // `result`, a gc root; the plan's sources and outputs recorded as live.
    let project_dir = std::path::absolute(&options.dir)?;
    link_and_record(
        options,
        store,
        &project_dir,
        &env_path,
        &made.requests,
        built_ids,
    )?;

    if options.progress {
        eprintln!("done in {:.1}s", started.elapsed().as_secs_f64());
    }
    let (downloaded, bytes_downloaded) = downloads(&made.fetched);
    Ok(AppReport {
        link: options.out_link.clone(),
        scripts: list_scripts(&env_path),
        output: env_path,
        artifacts: distinct_artifacts(&made.requests),
        downloaded,
        bytes_downloaded,
        built,
        reused,
        logs,
        notes: made.notes,
    })
}

/// Runs the executor on `made`'s graph for `goals`: the run's result and
/// the labels of the nodes it made, in the graph's order.
fn run_goals(
    options: &AppOptions,
    made: &python_graph::PythonGraph,
    goals: &[String],
) -> Result<(Result<()>, Vec<String>)> {
    let (graph, store) = (&made.graph, &made.store);
    let ctx = exec::Ctx::for_app(options, graph, store, Some(made.runtime()))?;
    let observer = Made::default();
    let goals: Vec<&str> = goals.iter().map(String::as_str).collect();
    let run = exec::run(&ctx, &goals, &observer).map(|_| ());
    let mut made_ids = observer.ids.into_inner().unwrap_or_else(|e| e.into_inner());
    made_ids.sort_by_key(|id| graph.nodes.iter().position(|n| &n.id == id));
    let built = made_ids
        .iter()
        .filter_map(|id| made.labels.get(id).cloned())
        .collect();
    Ok((run, built))
}

fn output_exists(store: &Store, id: &str) -> bool {
    NodeId::parse(id).is_ok_and(|id| store.output(&id).is_some())
}

/// The nodes a run made, as they finish.
#[derive(Default)]
struct Made {
    ids: std::sync::Mutex<Vec<String>>,
}

impl lock2build_graph::Observer for Made {
    fn finished(&self, node: &lock2build_graph::Node, ok: bool, _: std::time::Duration) {
        if ok {
            self.ids
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(node.id.clone());
        }
    }
}

/// The checkouts of the git sources among `builds` (fetched by their
/// locked commit, verified; none needed when the store has them), by
/// node id.
pub(super) fn git_checkouts(
    plan: &Plan,
    builds: &[&Node],
    store: &Store,
    options: &AppOptions,
) -> Result<BTreeMap<String, lock2build_git::Checkout>> {
    let git_options = crate::fetch_plan::git_options(&options.fetch, options.progress);
    let mut found = BTreeMap::new();
    for (id, spec) in crate::fetch_plan::git_specs(plan)? {
        if builds.iter().any(|n| n.id == id) {
            let checkout = crate::fetch_plan::checkout_or_recover(store, &spec, &git_options)?;
            found.insert(id, checkout);
        }
    }
    Ok(found)
}

/// What a build's backend asked for at build time that its environment
/// lacks, if that is why it failed.
pub(super) fn asked_at_build_time(error: &anyhow::Error) -> Option<&[String]> {
    error.chain().find_map(
        |c| match c.downcast_ref::<lock2build_python::PythonError>() {
            Some(lock2build_python::PythonError::MissingBuildRequirements {
                requirements, ..
            }) => Some(requirements.as_slice()),
            _ => None,
        },
    )
}

/// The plan's Python must be the interpreter's (`--python-version` without
/// `--python` would select wheels it cannot import).
pub(super) fn check_interpreter(plan: &Plan, python: &PythonInfo) -> Result<()> {
    let planned: Vec<&str> = plan.target.python.version.split('.').take(2).collect();
    if planned != python.version_short().split('.').collect::<Vec<_>>() {
        bail!(
            "the plan is for Python {} but {} is Python {}\n  help: pass the interpreter to build for with --python PATH (not --python-version)",
            plan.target.python.version,
            python.executable.display(),
            python.version_short()
        );
    }
    Ok(())
}

/// The plan of the pinned build systems, for the same target.
pub(super) fn build_systems_plan(options: &PlanOptions) -> Result<(Plan, PathBuf)> {
    let path = build_systems_requirements().ok_or_else(|| {
        anyhow!(
            "the community overrides database (with pypi/build-systems/requirements.txt) was not found\n  help: set LOCK2BUILD_OVERRIDES to the `overrides/` directory of a lock2build checkout"
        )
    })?;
    let lock = FoundLock {
        kind: LockKind::Requirements,
        display: path.clone(),
        path: path.clone(),
    };
    let options = PlanOptions {
        select: Default::default(),
        ..options.clone()
    };
    let plan = plan::plan_lockfiles(&[lock], &options)
        .context("planning the pinned build systems")?
        .plan;
    Ok((plan, path))
}

/// The host check of every native library and tool the source builds
/// need, and of the interpreter's headers when something compiles C.
/// Returns the notes naming the optional libraries (features) that are
/// missing, which the builds go without.
pub(super) fn check_native(
    nodes: &[&Node],
    db: &Database,
    python: &PythonInfo,
) -> Result<Vec<String>> {
    let sdists: Vec<&Node> = nodes
        .iter()
        .copied()
        .filter(|n| n.artifact.is_some())
        .collect();
    // A C build also needs the interpreter's Python.h.
    let compiles = sdists.iter().any(|n| {
        let r = db.resolve(Ecosystem::Pypi, &n.name, &n.version);
        r.tools.iter().any(|t| t == "cc" || t == "c++")
    });
    let headers = format!(
        "the C compiler needs Python.h of {} (not found in {})",
        python.executable.display(),
        python.include.display()
    );
    let extra = (compiles && !python.has_headers()).then_some(("libpython3", headers.as_str()));
    require_native(&sdists, db, "the source builds", Ecosystem::Pypi, extra)?;
    Ok(optional_missing(&sdists, db))
}

/// For each source build whose optional native libraries the host lacks:
/// a note naming them as disabled features, and how to enable them.
fn optional_missing(nodes: &[&Node], db: &Database) -> Vec<String> {
    let mut notes = Vec::new();
    for node in nodes {
        let resolved = db.resolve(Ecosystem::Pypi, &node.name, &node.version);
        if resolved.optional.is_empty() {
            continue;
        }
        let missing = lock2build_overrides::host_check(db.providers(), &resolved.optional).missing;
        if missing.is_empty() {
            continue;
        }
        let manager = lock2build_overrides::PackageManager::detect()
            .unwrap_or(lock2build_overrides::PackageManager::Debian);
        let enable = lock2build_overrides::install_command(db.providers(), &missing, manager)
            .map(|cmd| format!("; `{cmd}` and a rebuild enable them"))
            .unwrap_or_default();
        notes.push(format!(
            "{} {} is built without its optional {} (disabled features: this machine lacks them){enable}",
            node.name,
            node.version,
            missing.join(", ")
        ));
    }
    notes
}

/// A source tree that may hold Rust code, and the package it builds.
pub(super) struct RustTree<'a> {
    pub tree: &'a Path,
    pub label: String,
}

/// The Rust crates a source tree's Cargo.lock files pin (maturin and
/// setuptools-rust projects ship one, at the top or in a subdirectory),
/// vendored as the Rust builder vendors them (`cargo_workspace.rs`): the
/// crates the host build compiles, stubs for the others, git crates by
/// commit; natives checked on the host, knobs merged; with the `.crate`
/// downloads. Finds the Rust toolchain into `toolchain`. None without a
/// Cargo.lock.
pub(super) fn rust_deps(
    source: &RustTree,
    store: &Store,
    options: &AppOptions,
    db: &Database,
    toolchain: &mut Option<RustToolchain>,
    notes: &mut Vec<String>,
) -> Result<Option<RustDeps>> {
    let (tree, label) = (source.tree, &source.label);
    let locks = cargo_locks(tree, 0);
    if locks.is_empty() {
        return Ok(None);
    }
    let toolchain = match toolchain {
        Some(t) => t,
        None => toolchain.insert(
            RustToolchain::find()
                .with_context(|| format!("{label} has Rust code to compile (a Cargo.lock)"))?,
        ),
    };
    let mut plans = Vec::new();
    for lock in &locks {
        let display = PathBuf::from(label).join(lock.strip_prefix(tree).unwrap_or(lock));
        let found = FoundLock {
            kind: LockKind::Cargo,
            path: lock.clone(),
            display: display.clone(),
        };
        let plan = plan::plan_lockfiles(&[found], &options.plan)
            .with_context(|| format!("reading {}", display.display()))?
            .plan;
        plans.push((lock, display, plan));
    }
    let skeletons = tempfile::Builder::new()
        .prefix("lock2build-skeleton-")
        .tempdir_in(lock2build_store::scratch_dir())?;
    let mut learnt = Vec::new();
    let workspaces = cargo_workspaces(toolchain, tree, &plans, skeletons.path(), &mut learnt)?;
    let cx = VendorContext {
        store,
        toolchain,
        db,
        fetch: &options.fetch,
        index: &options.plan.index,
    };
    let host = vendor_for_host(&cx, &workspaces, &maturin_features(tree), &[], &mut learnt)
        .with_context(|| format!("{label} compiles the Rust crates of its Cargo.lock"))?;
    notes.extend(learnt.into_iter().map(|n| format!("{label}: {n}")));
    let nodes: Vec<&Node> = workspaces
        .iter()
        .flat_map(|w| w.nodes.iter().copied())
        .collect();
    let built = host.built(&nodes);
    let env = host
        .checked_env(&built, db)
        .with_context(|| format!("{label} compiles Rust crates"))?;
    let (all, requests) = lock_crates(&workspaces, &plans, &host.vendor, db)?;
    Ok(Some(RustDeps {
        vendor: host.vendor,
        all,
        requests,
        env,
    }))
}

/// The registry crates of the locks of `workspaces` (as the stubs were
/// made of them: deduplicated, in order), and the `.crate` downloads of
/// those `vendor` holds.
fn lock_crates(
    workspaces: &[LockedWorkspace],
    plans: &[(&PathBuf, PathBuf, Plan)],
    vendor: &Vendor,
    db: &Database,
) -> Result<(Vec<VendoredCrate>, Vec<lock2build_fetch::FetchRequest>)> {
    let hashes = vendor.hashes();
    let mut requests = Vec::new();
    let mut all = Vec::new();
    for (ws, (_, _, plan)) in workspaces.iter().zip(plans) {
        all.extend(ws.registry_vendor(db)?.crates);
        let (found, _) = crate::fetch_plan::requests(plan)?;
        requests.extend(
            found
                .into_iter()
                .filter(|r| r.hashes.iter().any(|h| hashes.contains(&h.to_sri()))),
        );
    }
    Ok((Vendor::new(all)?.crates, requests))
}

/// The Cargo workspaces of `tree`, one per planned Cargo.lock, each with
/// its skeleton (in `scratch`), which says which crates cargo compiles
/// here; a skeleton that cannot be written is a note in `learnt`.
fn cargo_workspaces<'p>(
    toolchain: &RustToolchain,
    tree: &Path,
    plans: &'p [(&PathBuf, PathBuf, Plan)],
    scratch: &Path,
    learnt: &mut Vec<String>,
) -> Result<Vec<LockedWorkspace<'p>>> {
    // cargo reads a copy, each lock's directory its own workspace root
    // (the tree lies in the store, maybe inside another Cargo project).
    let copy = scratch.join("tree");
    copy_tree(tree, &copy).with_context(|| format!("copying {}", tree.display()))?;
    let mut workspaces = Vec::new();
    for (n, (lock, display, plan)) in plans.iter().enumerate() {
        let lock_dir = lock.parent().unwrap_or(tree).to_owned();
        let copied = copy.join(lock_dir.strip_prefix(tree).unwrap_or(Path::new("")));
        let dest = scratch.join(n.to_string());
        let skeleton = match own_workspace_root(&copied)
            .and_then(|()| write_skeleton(toolchain, &copy, &copied, &dest))
        {
            Ok(dir) => Some(SkeletonDir::Written {
                dir,
                hash: tree_hash(&dest)?,
            }),
            Err(e) => {
                learnt.push(format!("{e:#}"));
                None
            }
        };
        workspaces.push(LockedWorkspace {
            nodes: plan.packages.iter().collect(),
            lock_dir,
            root: tree.to_owned(),
            display: display.display().to_string(),
            skeleton,
        });
    }
    Ok(workspaces)
}

/// The cargo feature flags the resolve of a Python package's crates
/// assumes: every feature of the workspace's members (setuptools-rust
/// names its features in setup.py, which is not read), and the features
/// `[tool.maturin] features` names (`pyo3/extension-module`).
fn maturin_features(tree: &Path) -> Vec<String> {
    let mut flags = vec!["--all-features".to_owned()];
    let named: Vec<String> = std::fs::read_to_string(tree.join("pyproject.toml"))
        .ok()
        .and_then(|t| toml::from_str::<toml::Table>(&t).ok())
        .and_then(|doc| {
            let features = doc
                .get("tool")?
                .get("maturin")?
                .get("features")?
                .as_array()?;
            Some(
                features
                    .iter()
                    .filter_map(|f| f.as_str().map(str::to_owned))
                    .collect(),
            )
        })
        .unwrap_or_default();
    if !named.is_empty() {
        flags.extend(["--features".to_owned(), named.join(",")]);
    }
    flags
}

/// The Cargo.lock files of a source tree, its top three levels (not in
/// `target/`, hidden or vendored directories).
fn cargo_locks(dir: &Path, depth: usize) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let lock = dir.join("Cargo.lock");
    if lock.is_file() {
        found.push(lock);
    }
    if depth >= 3 {
        return found;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    let mut subdirs: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            !name.starts_with('.') && !matches!(name.as_ref(), "target" | "node_modules" | "vendor")
        })
        .map(|e| e.path())
        .collect();
    subdirs.sort();
    for sub in subdirs {
        found.extend(cargo_locks(&sub, depth + 1));
    }
    found
}

pub(super) fn normalize(name: &str) -> String {
    lock2build_model::normalize_python_name(name)
}

/// Whether a shell installs `node` editable: the project itself, and the
/// directories the lock marks editable (workspace members).
pub(super) fn editable_in_shell(node: &Node) -> bool {
    matches!(node.source, Source::Directory { editable, .. } if editable || node.root)
}

/// An editable install's identity (`identity_of` a recipe and what it
/// reads) and whether the project has a backend to run: the project's
/// path and its build configuration (pyproject.toml, setup.py,
/// setup.cfg), not its code, which the install only points to.
pub(super) fn editable_identity(
    dir: &Path,
    identity_of: impl Fn(&str, serde_json::Value) -> Result<serde_json::Value>,
) -> Result<(serde_json::Value, bool)> {
    use sha2::Digest;
    let mut config = BTreeMap::new();
    for name in ["pyproject.toml", "setup.py", "setup.cfg"] {
        match std::fs::read(dir.join(name)) {
            Ok(bytes) => {
                config.insert(name, hex::encode(sha2::Sha256::digest(&bytes)));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("reading {}", dir.join(name).display()))
            }
        }
    }
    let pyproject = std::fs::read_to_string(dir.join("pyproject.toml")).unwrap_or_default();
    let backend = pyproject
        .parse::<toml::Table>()
        .map(|doc| doc.contains_key("build-system"))
        .unwrap_or(false)
        || config.contains_key("setup.py");
    let identity = identity_of(
        "python-editable/1",
        serde_json::json!({"path": dir, "config": config, "backend": backend}),
    )?;
    Ok((identity, backend))
}

/// Installs the wheel `file` (its real name `filename`) into `out`.
pub(super) fn install(
    file: &Path,
    filename: &str,
    python: &PythonInfo,
    out: &OutputDirs,
) -> Result<()> {
    // install_wheel reads the name from the file name when a wheel
    // holds several .dist-info: give it its real name.
    let work = tempfile::Builder::new()
        .prefix("lock2build-wheel-")
        .tempdir_in(lock2build_store::scratch_dir())?;
    let named = work.path().join(filename);
    std::os::unix::fs::symlink(file, &named)?;
    install_wheel(&named, &out.building, python)?;
    compile_bytecode(&out.building, python)?;
    Ok(())
}

/// What makes package nodes.
pub(super) struct BuildContext<'a> {
    pub python: &'a PythonInfo,
    pub sandbox: &'a Sandbox,
    pub steps: &'a crate::progress::BuildProgress,
    pub logs_dir: &'a Path,
    pub db: &'a Database,
}

impl BuildContext<'_> {
    fn log_path(&self, id: &NodeId) -> PathBuf {
        self.logs_dir.join(format!("{id}.log"))
    }

    /// Builds `job` (a source build) with its build environment `env`
    /// into `out`: the backend in the sandbox, its wheel installed.
    pub(super) fn make(&self, job: &Job, env: &BuildEnv, out: &OutputDirs) -> Result<()> {
        let (source, overrides, copy) = match &job.recipe {
            Recipe::Wheel { filename, .. } => bail!("internal: {filename} is installed, not built"),
            Recipe::Sdist { source, overrides } => (source, overrides, false),
            Recipe::Project { dir, overrides } => (dir, overrides, true),
            // Unsandboxed, the backend runs in the project as pip's does.
            Recipe::Editable {
                dir,
                overrides,
                backend,
            } => (dir, overrides, *backend && self.sandbox.is_sandboxed()),
        };
        let editable = match &job.recipe {
            Recipe::Editable { dir, backend, .. } => Some((dir.as_path(), *backend)),
            _ => None,
        };
        let tree = SourceTree {
            source,
            overrides,
            copy,
            editable,
        };
        let log = self.log_path(&job.id);
        self.build(job, env, &tree, &log, out).map_err(|error| {
            match (asked_at_build_time(&error), &job.requirements) {
                (Some(asked), Some(build)) => {
                    let mut build = build.clone();
                    build.requires.extend(asked.iter().cloned());
                    anyhow::Error::new(AskedAtBuildTime(vec![(build, asked.to_vec())], Vec::new()))
                }
                _ => self.failure(job, &log, error),
            }
        })
    }

    /// [`make`](Self::make)'s build: `tree` (a copy of it, for a project)
    /// built by its backend in the sandbox, logged to `log`, the wheel
    /// installed and byte-compiled into `out`.
    fn build(
        &self,
        job: &Job,
        env: &BuildEnv,
        tree: &SourceTree,
        log: &Path,
        out: &OutputDirs,
    ) -> Result<()> {
        let work = tempfile::Builder::new()
            .prefix("lock2build-build-")
            .tempdir_in(lock2build_store::scratch_dir())?;
        let source = if tree.copy {
            // The project's own directory is never written to.
            let copied = work.path().join("src");
            copy_tree(tree.source, &copied)?;
            copied
        } else {
            tree.source.to_owned()
        };
        let dist = work.path().join("dist");
        std::fs::create_dir(&dist)?;
        let mut env_vars = tree.overrides.env.clone();
        let extra = match &job.rust {
            Some(rust) => self.rust_extra(rust, &job.id, work.path(), &mut env_vars)?,
            None => Extra::default(),
        };
        let shown = format!(
            "{} ({})",
            job.label,
            match (&tree.editable, tree.copy) {
                (Some(_), _) => "editable",
                (None, true) => "source",
                (None, false) => "sdist",
            }
        );
        let step = StepName {
            name: &job.name,
            label: &shown,
        };
        let running = self.steps.start(step, log);
        let build = WheelBuild {
            source: &source,
            build_env: &env.path,
            env_inputs: &env.inputs,
            python: self.python,
            env: env_vars,
            // An editable install's code is the project's, unpatched.
            patches: match tree.editable {
                Some(_) => &[],
                None => &tree.overrides.patches,
            },
            log,
            extra_read_only: &extra.read_only,
            extra_scratch: &extra.scratch,
            extra_toolchain_dirs: &extra.tool_dirs,
            watch: running.watch(),
        };
        let wheel = match tree.editable {
            Some((dir, backend)) => {
                let project = EditableProject {
                    dir,
                    name: &job.name,
                    version: &job.version,
                };
                match backend {
                    true => build_editable(self.sandbox, &build, &project, &dist),
                    false => pth_wheel(&project, &dist),
                }
            }
            None => build_wheel(self.sandbox, &build, &dist),
        };
        running.finish(wheel.is_ok());
        install_wheel(&wheel?, &out.building, self.python)?;
        compile_bytecode(&out.building, self.python)?;
        Ok(())
    }

    /// What a build with Rust code adds: the vendor directory and a
    /// `CARGO_HOME` (in `work`) whose configuration has cargo use it
    /// offline, the toolchain, and the crates' knobs under the package's
    /// own (in `env_vars`).
    fn rust_extra(
        &self,
        rust: &RustBuild,
        id: &NodeId,
        work: &Path,
        env_vars: &mut BTreeMap<String, String>,
    ) -> Result<Extra> {
        let home = work.join("cargo-home");
        std::fs::create_dir(&home)?;
        let (vendor_seen, home_seen) = if self.sandbox.is_sandboxed() {
            (
                PathBuf::from("/build/vendor"),
                PathBuf::from("/build/cargo-home"),
            )
        } else {
            (rust.vendor.clone(), home.clone())
        };
        // The configuration needs the git sources only.
        let git = (!rust.git.is_empty()).then(|| GitCrates {
            id: id.clone(),
            path: PathBuf::new(),
            sources: rust.git.clone(),
        });
        std::fs::write(
            home.join("config.toml"),
            cargo_config_for(&vendor_seen, git.as_ref()),
        )?;
        for (k, v) in &rust.env {
            env_vars.entry(k.clone()).or_insert_with(|| v.clone());
        }
        env_vars.insert("CARGO_HOME".into(), home_seen.display().to_string());
        env_vars.insert("CARGO_NET_OFFLINE".into(), "true".into());
        env_vars.insert("CARGO_TERM_COLOR".into(), "never".into());
        Ok(Extra {
            read_only: vec![
                Mount::new(&rust.vendor, "/build/vendor"),
                Mount::new(&rust.sysroot, &rust.sysroot),
            ],
            scratch: vec![Mount::new(&home, "/build/cargo-home")],
            tool_dirs: vec![rust.sysroot.join("bin")],
        })
    }

    /// A failed build: the package, the log's last lines and path, and the
    /// override that might fix it.
    fn failure(&self, job: &Job, log: &Path, error: anyhow::Error) -> anyhow::Error {
        // The innermost cause says what happened (the outer ones name the
        // node and the scratch directory).
        let cause = error.chain().last().map(|c| {
            match c.downcast_ref::<lock2build_python::PythonError>() {
                Some(lock2build_python::PythonError::Build { reason, .. }) => reason.clone(),
                _ => c.to_string(),
            }
        });
        failure_message(
            self.db,
            Ecosystem::Pypi,
            &job.label,
            &job.name,
            &job.version,
            log,
            &cause.unwrap_or_else(|| error.to_string()),
        )
    }
}

/// What a source build's backend runs on: the tree (copied first for a
/// project, never written to), its override, an editable install's
/// directory and whether it has a backend.
struct SourceTree<'a> {
    source: &'a Path,
    overrides: &'a Resolved,
    copy: bool,
    editable: Option<(&'a Path, bool)>,
}

/// What a sandboxed build sees besides its tree and environment.
#[derive(Default)]
struct Extra {
    read_only: Vec<Mount>,
    scratch: Vec<Mount>,
    tool_dirs: Vec<PathBuf>,
}

/// Which scripts `result/bin` offers: `--script`, else lock2build.toml's
/// `[app] scripts`, else the project's own scripts; for a project without
/// one (a requirements.txt), those of the requirements no other package
/// requires.
pub(super) fn script_selection(
    options: &AppOptions,
    nodes: &[&Node],
    app_jobs: &[&Job],
    app_wheels: &[Job],
    source_jobs: &[Job],
    outputs: &BTreeMap<NodeId, PathBuf>,
) -> Result<ScriptSelection> {
    let configured = if options.scripts.is_empty() {
        AppConfig::read(&options.dir)?.scripts
    } else {
        Some(options.scripts.clone())
    };
    if let Some(only) = configured {
        return Ok(ScriptSelection {
            from: Vec::new(),
            only: Some(only),
        });
    }
    if !app_jobs.is_empty() {
        return Ok(ScriptSelection {
            from: app_jobs.iter().map(|j| outputs[&j.id].clone()).collect(),
            only: None,
        });
    }
    // The root's requirements that no other package requires: the
    // top-level ones of a pip-compile file (`# via -r requirements.in`).
    let required: BTreeSet<&str> = nodes
        .iter()
        .filter(|n| !n.root)
        .flat_map(|n| n.dependencies.iter().map(String::as_str))
        .collect();
    let direct_names: BTreeSet<String> = nodes
        .iter()
        .filter(|n| n.root)
        .flat_map(|r| r.dependencies.iter())
        .filter(|d| !required.contains(d.as_str()))
        .filter_map(|d| nodes.iter().find(|n| &n.id == d))
        .map(|n| normalize(&n.name))
        .collect();
    let from = app_wheels
        .iter()
        .chain(source_jobs)
        .filter(|j| direct_names.contains(&normalize(&j.name)))
        .map(|j| outputs[&j.id].clone())
        .collect();
    Ok(ScriptSelection { from, only: None })
}

/// `[app] scripts = [...]` of the project's lock2build.toml.
fn list_scripts(env: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(env.join("bin"))
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.retain(|n| !n.starts_with("python"));
    names.sort();
    names
}
