//! The graph of a Python project (docs/graph.md, "Python"): what
//! [`python::build`](super::python) runs, as data, and the recipe kinds
//! that make its nodes.
//!
//! ```text
//! fetch-url        a wheel or sdist of the lock (or of a pinned build system)
//! git-checkout     a git package's commit
//! local-tree       the project's own directory (or a path dependency's)
//! python-wheel     a wheel installed                     ← its fetch-url
//! python-build-env pinned build systems, composed         ← their python-wheel nodes
//! python-sdist     an sdist built (PEP 517), installed    ← its fetch-url, its build env
//! python-project   a directory or git checkout built      ← its local-tree/git-checkout, its build env
//! python-editable  (shell) the project installed editable ← its build env (the project by path)
//! python-env       the app's environment, `result`        ← every package node
//! ```
//!
//! Every built node's id is the store identity python.rs always gave it;
//! its recipe's parameters hold what its step needs besides its inputs'
//! paths, so `lock2build realise` makes it under Nix. Build requirements
//! a backend asks for at build time are in the build lock by the time the
//! graph is made (python::build resolves them and makes the graph again).
//!
//! What only `lock2build app` has (runtime, not data): the sdists already
//! unpacked while the graph was made (read for their `[build-system]`),
//! the overrides database for failure messages, and the Rust crates of a
//! package with Rust code (vendored by the Rust builder's code; not graph
//! nodes yet, so such a node is not realisable elsewhere).

use super::build_requirements::{AskedAtBuildTime, BuildRequirements, SourceBuild};
use super::cargo_vendor::RustToolchain;
use super::exec::{Ctx, Inputs, Kind, Out};
use super::python::{
    build_systems_plan, check_interpreter, check_native, editable_identity, editable_in_shell,
    git_checkouts, normalize, rust_deps, script_selection, BuildContext, BuildEnv, Job, Recipe,
    RustDeps, RustTree, Toolchains,
};
use super::{open_store, patch_hashes, tree_hash, AppOptions};
use crate::overrides;
use anyhow::{anyhow, bail, Context, Result};
use lock2build_fetch::{FetchReport, FetchRequest};
use lock2build_graph::{Graph, Node as GraphNode, Output, Recipe as GraphRecipe, Toolchain};
use lock2build_model::{ArtifactKind, Ecosystem, Hash, Source};
use lock2build_overrides::{native_versions, Database, Resolved};
use lock2build_plan::plan::{Node, Plan};
use lock2build_python::{compose_env, write_pip_guard, BuildSystem, PythonInfo, ScriptSelection};
use lock2build_store::{ArchiveFormat, NodeId, OutputDirs, Store, ToolchainId};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A Python project's graph, and what `lock2build app` reports of it.
pub(super) struct PythonGraph {
    /// The full graph (`result`: the app's environment).
    pub graph: Graph,
    /// The store the graph was made against.
    pub store: Store,
    /// The downloads the app uses (fetched by [`prepare`]).
    pub requests: Vec<FetchRequest>,
    /// What [`prepare`] downloaded.
    pub fetched: FetchReport,
    /// Notes for the report.
    pub notes: Vec<String>,
    /// Each built node's label in the report (`flask 3.0.0`, `app environment`).
    pub labels: BTreeMap<String, String>,
    /// The source builds' labels, by node id (their logs are reported).
    pub source_labels: BTreeMap<String, String>,
    /// What the kinds use under `lock2build app` only.
    runtime: Arc<Runtime>,
    /// The sdists unpacked while the graph was made (removed on drop).
    _work: Vec<tempfile::TempDir>,
}

/// What the Python kinds get in `lock2build app` besides the graph.
struct Runtime {
    python: PythonInfo,
    db: Database,
    rust_toolchain: Option<RustToolchain>,
    /// Rust crates of source builds, by node id.
    rust: BTreeMap<String, RustDeps>,
    /// Sdists unpacked already, by node id (built in place).
    unpacked: BTreeMap<String, PathBuf>,
    /// Each source build's requirements, by node id.
    builds: BTreeMap<String, SourceBuild>,
}

/// The runtime of the `lock2build app` running now (none under `realise`).
static RUNTIME: Mutex<Option<Arc<Runtime>>> = Mutex::new(None);
/// What backends asked for at build time in this run.
static ASKED: Mutex<Vec<(SourceBuild, Vec<String>)>> = Mutex::new(Vec::new());

impl PythonGraph {
    /// Lets the kinds see this graph's runtime (until the next one).
    pub fn install_runtime(&self) {
        *RUNTIME.lock().unwrap_or_else(|e| e.into_inner()) = Some(self.runtime.clone());
        ASKED.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// What backends asked for at build time during the last run.
    pub fn take_asked() -> Vec<(SourceBuild, Vec<String>)> {
        std::mem::take(&mut *ASKED.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

fn runtime() -> Option<Arc<Runtime>> {
    RUNTIME.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The graph of the Python project `project` of `plan`: its sources
/// fetched (verified) as `lock2build app` fetches them, its sdists
/// unpacked to read their build systems, their build requirements pinned.
pub(super) fn prepare(options: &AppOptions, plan: &Plan, project: usize) -> Result<PythonGraph> {
    let say = |line: String| {
        if options.progress {
            eprintln!("{line}");
        }
    };
    let python = PythonInfo::probe(&options.python)?;
    check_interpreter(plan, &python)?;
    let nodes: Vec<&Node> = plan
        .packages
        .iter()
        .filter(|n| n.project == project)
        .collect();
    let lockfile = plan.projects[project].lockfile.display().to_string();
    say(format!(
        "lock2build app: {} ({}, {} package{}) with Python {} ({})",
        options.dir.display(),
        lockfile,
        nodes.len(),
        if nodes.len() == 1 { "" } else { "s" },
        python.version_short(),
        python.executable.display()
    ));

    let db = overrides::load(&options.dir)?;
    let project_dir = std::path::absolute(&options.dir)?;
    let lock_dir = project_dir.join(
        plan.projects[project]
            .lockfile
            .parent()
            .unwrap_or(Path::new("")),
    );
    let mut notes = Vec::new();

    // What is built from source: sdists and the project itself.
    let source_builds = source_builds(options, &nodes, &lockfile, &mut notes)?;

    // Native needs first: one error naming all that is missing.
    if !source_builds.is_empty() {
        notes.extend(check_native(&source_builds, &db, &python)?);
    }

    let store = open_store()?;
    let checkouts = git_checkouts(plan, &source_builds, &store, options)?;
    let toolchains = Toolchains {
        python: ToolchainId::probe(&python.executable)?,
        cc: if source_builds.is_empty() {
            None
        } else {
            ToolchainId::probe(Path::new("cc")).ok()
        },
    };
    let target = plan.target.describe();

    // A wheel's node is known without the wheel: its file name and hash.
    let wheel_job = |node: &Node| -> Result<Job> {
        let (artifact, filename) = artifact_file(node, "whl")?;
        let recipe = serde_json::json!({"recipe": "python-wheel/1", "wheel": filename, "integrity": artifact.integrity});
        Job::new(
            node,
            &recipe,
            &[],
            std::slice::from_ref(&toolchains.python),
            &target,
            Recipe::Wheel {
                hashes: artifact.hashes.clone(),
                filename,
            },
        )
    };
    // Whether `hashes` must be fetched: not when the wheel they pin is
    // installed already (its output does not need the file any more).
    let needs_fetch = |hashes: &[Hash], candidates: &[&Node]| -> bool {
        let Some(node) = candidates
            .iter()
            .find(|n| n.artifact.as_ref().is_some_and(|a| a.hashes == hashes))
        else {
            return false;
        };
        match &node.artifact {
            Some(a) if a.kind == ArtifactKind::Wheel => {
                wheel_job(node).map_or(true, |job| store.output(&job.id).is_none())
            }
            _ => true,
        }
    };

    // The app's artifacts, verified, in one parallel pass.
    let (all_requests, _) = crate::fetch_plan::requests(plan)?;
    let mut requests = all_requests.clone();
    requests.retain(|r| needs_fetch(&r.hashes, &nodes));
    let (mut fetched, _) =
        crate::fetch_plan::fetch_sources(&store, &requests, &options.fetch, &options.dir)?;

    // Source builds: their trees, and the pinned build systems each needs
    // (its `[build-system] requires` and the override's `build-requires`,
    // with their dependencies). Every unpinned requirement is named before
    // anything is built.
    let mut requirements = if source_builds.is_empty() {
        None
    } else {
        let (pins, path) = build_systems_plan(&options.plan)?;
        Some(BuildRequirements::new(
            pins,
            path,
            &lock_dir,
            &nodes,
            options.locked,
        )?)
    };
    let mut work_dirs = Vec::new();
    let mut prepared = Vec::new();
    let mut cargo_requests: Vec<lock2build_fetch::FetchRequest> = Vec::new();
    let mut rust_toolchain: Option<RustToolchain> = None;
    if let Some(reqs) = &mut requirements {
        for node in &source_builds {
            let overrides = db.resolve(Ecosystem::Pypi, &node.name, &node.version);
            // What a source build's node covers: the recipe, whether it is
            // sandboxed, what is built (`what`), the override's knobs.
            let identity_of =
                |recipe: &str, what: serde_json::Value| -> Result<serde_json::Value> {
                    let mut identity = serde_json::json!({
                        "recipe": recipe,
                        "sandboxed": options.sandbox.is_sandboxed(),
                    });
                    for (key, value) in what.as_object().into_iter().flatten() {
                        identity[key] = value.clone();
                    }
                    identity["env"] = serde_json::json!(overrides.env);
                    identity["patches"] = serde_json::json!(patch_hashes(&overrides.patches)?);
                    identity["native"] =
                        serde_json::json!(native_versions(db.providers(), &overrides.native));
                    Ok(identity)
                };
            let (recipe, mut identity, tree) = match &node.artifact {
                Some(a) if a.kind == ArtifactKind::Git => {
                    let Source::Git {
                        url,
                        commit,
                        subdirectory,
                        ..
                    } = &node.source
                    else {
                        bail!("internal: {} has no git source", node.name)
                    };
                    let checkout = checkouts
                        .get(&node.id)
                        .ok_or_else(|| anyhow!("internal: {} was not checked out", node.name))?;
                    let dir = checkout
                        .subdir(subdirectory.as_deref())
                        .with_context(|| format!("{} {} (git {url})", node.name, node.version))?;
                    let identity = identity_of(
                        "python-git/1",
                        serde_json::json!({
                            "commit": commit,
                            "tree": checkout.tree,
                            "subdirectory": subdirectory,
                        }),
                    )?;
                    (
                        Recipe::Project {
                            dir: dir.clone(),
                            overrides: overrides.clone(),
                        },
                        identity,
                        dir,
                    )
                }
                Some(a) => {
                    let filename = a
                        .filename
                        .clone()
                        .unwrap_or_else(|| format!("{}-{}.tar.gz", node.name, node.version));
                    let format = ArchiveFormat::from_filename(&filename).ok_or_else(|| {
                        anyhow!(
                            "{} {}: `{filename}` is not an archive lock2build can unpack",
                            node.name,
                            node.version
                        )
                    })?;
                    let work = tempfile::Builder::new()
                        .prefix("lock2build-sdist-")
                        .tempdir_in(lock2build_store::scratch_dir())?;
                    let unpacked = work.path().join("src");
                    lock2build_archive::unpack_artifact(&store, &a.hashes, format, &unpacked)
                        .with_context(|| format!("unpacking {filename}"))?;
                    let source = lock2build_store::single_top_dir(&unpacked).unwrap_or(unpacked);
                    work_dirs.push(work);
                    let identity = identity_of(
                        "python-sdist/1",
                        serde_json::json!({"sdist": filename, "integrity": a.integrity}),
                    )?;
                    (
                        Recipe::Sdist {
                            source: source.clone(),
                            overrides: overrides.clone(),
                        },
                        identity,
                        source,
                    )
                }
                None if options.develop && editable_in_shell(node) => {
                    let dir = match &node.source {
                        Source::Directory { path, .. } => lock_dir.join(path),
                        _ => bail!("internal: {} has no directory source", node.name),
                    };
                    let (identity, backend) = editable_identity(&dir, identity_of)?;
                    (
                        Recipe::Editable {
                            dir: dir.clone(),
                            overrides: overrides.clone(),
                            backend,
                        },
                        identity,
                        dir,
                    )
                }
                None => {
                    let Source::Directory { path, .. } = &node.source else {
                        bail!("internal: {} has no directory source", node.name)
                    };
                    let dir = lock_dir.join(path);
                    let identity = identity_of(
                        "python-project/1",
                        serde_json::json!({"tree": tree_hash(&dir)?}),
                    )?;
                    (
                        Recipe::Project {
                            dir: dir.clone(),
                            overrides: overrides.clone(),
                        },
                        identity,
                        dir,
                    )
                }
            };
            let system = BuildSystem::read(&tree)?;
            let rust = rust_deps(
                &RustTree {
                    tree: &tree,
                    label: format!("{} {}", node.name, node.version),
                },
                &store,
                options,
                &db,
                &mut rust_toolchain,
                &mut cargo_requests,
                &mut notes,
            )?;
            if let Some(r) = &rust {
                identity["cargo"] =
                    serde_json::json!({"vendor": r.vendor.id.as_str(), "env": r.env});
            }
            let requires: Vec<String> = system
                .requires
                .iter()
                .chain(&overrides.build_requires)
                .cloned()
                .collect();
            let build = SourceBuild::new(node, requires);
            let closure = match &recipe {
                // A `.pth` is written without a backend.
                Recipe::Editable { backend: false, .. } => BTreeSet::new(),
                _ => reqs.closure(&build, &options.plan)?,
            };
            prepared.push((*node, recipe, identity, closure, rust, build));
        }
    }
    if let Some(reqs) = &requirements {
        notes.extend(reqs.finish()?);
    }
    let build_systems = requirements.map(|r| r.pins);

    // The build systems' wheels, fetched in a second pass.
    let needed_pins: BTreeSet<&str> = prepared
        .iter()
        .flat_map(|p| p.3.iter().map(String::as_str))
        .collect();
    let pin_nodes: Vec<&Node> = build_systems
        .iter()
        .flat_map(|bs| bs.packages.iter())
        .filter(|n| needed_pins.contains(n.id.as_str()))
        .collect();
    if let Some(bs) = &build_systems {
        let (mut more, _) = crate::fetch_plan::requests(bs)?;
        more.retain(|r| needs_fetch(&r.hashes, &pin_nodes));
        more.retain(|r| !requests.iter().any(|q| q.hashes == r.hashes));
        // And the crates of Rust extensions whose vendor directory is not
        // made yet.
        let unmade: BTreeSet<String> = prepared
            .iter()
            .filter_map(|p| p.4.as_ref().map(|r| &r.vendor))
            .filter(|v| store.output(&v.id).is_none())
            .flat_map(|v| v.hashes())
            .collect();
        more.extend(
            cargo_requests
                .iter()
                .filter(|r| r.hashes.iter().any(|h| unmade.contains(&h.to_sri())))
                .cloned(),
        );
        more.retain(|r| !requests.iter().any(|q| q.hashes == r.hashes));
        more.sort_by(|a, b| a.hashes.cmp(&b.hashes));
        more.dedup_by(|a, b| a.hashes == b.hashes);
        if !more.is_empty() {
            let (report, _) =
                crate::fetch_plan::fetch_sources(&store, &more, &options.fetch, &options.dir)?;
            fetched.items.extend(report.items);
            requests.extend(more);
        }
    }

    // Wheel installs: the app's wheels and the build systems'.
    let mut app_wheels = Vec::new();
    for node in &nodes {
        if node
            .artifact
            .as_ref()
            .is_some_and(|a| a.kind == ArtifactKind::Wheel)
        {
            app_wheels.push(wheel_job(node)?);
        }
    }
    let mut pin_wheels: BTreeMap<String, Job> = BTreeMap::new();
    for node in &pin_nodes {
        if node
            .artifact
            .as_ref()
            .is_none_or(|a| a.kind != ArtifactKind::Wheel)
        {
            bail!(
                "the pinned build system {} {} has no wheel for this target\n  help: build systems are installed from wheels; pick another version in overrides/pypi/build-systems/requirements.in and run refresh.sh",
                node.name,
                node.version
            );
        }
        pin_wheels.insert(node.id.clone(), wheel_job(node)?);
    }

    // The graph: the nodes above as data, sources first.
    let mut nodes_out = NodeList::default();
    let bs_requests = match &build_systems {
        Some(bs) => crate::fetch_plan::requests(bs)?.0,
        None => Vec::new(),
    };
    let downloads: Vec<&FetchRequest> = all_requests.iter().chain(&bs_requests).collect();
    let output_of = |id: &NodeId| store.root().join("outputs").join(id.as_str());
    let mut labels = BTreeMap::new();
    let mut wheel_jobs: Vec<&Job> = app_wheels.iter().chain(pin_wheels.values()).collect();
    wheel_jobs.sort_by(|a, b| a.id.cmp(&b.id));
    wheel_jobs.dedup_by(|a, b| a.id == b.id);
    for job in &wheel_jobs {
        let Recipe::Wheel { hashes, filename } = &job.recipe else {
            bail!("internal: {} is not a wheel", job.label)
        };
        let fetch = nodes_out.fetch(&downloads, hashes)?;
        let mut params = job_params(job);
        params.insert("wheel".into(), json!(filename));
        params.insert("hashes".into(), json!(sri(hashes)));
        if let Some(f) = &fetch {
            params.insert("source".into(), json!(f));
        }
        nodes_out.push(built_node(
            &job.id,
            "python-wheel",
            params,
            fetch.into_iter().collect(),
            &["python"],
        ));
        labels.insert(job.id.to_string(), job.label.clone());
    }

    // One build environment per set of build systems, then the builds.
    let mut build_envs: Vec<(BTreeSet<String>, BuildEnv)> = Vec::new();
    let mut source_jobs = Vec::new();
    let mut runtime_rust = BTreeMap::new();
    let mut unpacked = BTreeMap::new();
    let mut builds = BTreeMap::new();
    let env_tools: Vec<ToolchainId> = std::iter::once(toolchains.python.clone())
        .chain(toolchains.cc.clone())
        .collect();
    let tool_keys: &[&str] = if toolchains.cc.is_some() {
        &["python", "cc"]
    } else {
        &["python"]
    };
    let specs = crate::fetch_plan::git_specs(plan)?;
    for (node, recipe, identity, closure, rust, build) in prepared {
        let env_index = match build_envs.iter().position(|(c, _)| *c == closure) {
            Some(i) => i,
            None => {
                let inputs: Vec<NodeId> = closure
                    .iter()
                    .map(|pin| pin_wheels[pin].id.clone())
                    .collect();
                let paths: Vec<PathBuf> = inputs.iter().map(&output_of).collect();
                let id = NodeId::compute(
                    "build-env",
                    &json!({"recipe": "python-env/1", "scripts": "all"}),
                    &inputs,
                    std::slice::from_ref(&toolchains.python),
                    &target,
                )?;
                let mut params = Map::new();
                params.insert("packages".into(), json!(ids(&inputs)));
                nodes_out.push(built_node(
                    &id,
                    "python-build-env",
                    params,
                    ids(&inputs),
                    &["python"],
                ));
                labels.insert(id.to_string(), "a build environment".into());
                build_envs.push((
                    closure,
                    BuildEnv {
                        id,
                        path: PathBuf::new(),
                        inputs: paths,
                    },
                ));
                build_envs.len() - 1
            }
        };
        let env_id = build_envs[env_index].1.id.clone();
        let env_inputs: Vec<String> = build_envs[env_index]
            .0
            .iter()
            .map(|pin| pin_wheels[pin].id.to_string())
            .collect();
        let mut tools = env_tools.clone();
        if rust.is_some() {
            tools.extend(rust_toolchain.iter().flat_map(|t| t.ids.iter().cloned()));
        }
        let mut job = Job::new(node, &identity, &[env_id.clone()], &tools, &target, recipe)?;
        let mut params = job_params(&job);
        let mut inputs = Vec::new();
        let (kind, overrides) = match &job.recipe {
            Recipe::Sdist { source, overrides } => {
                let (artifact, filename) = artifact_file(node, "tar.gz")?;
                params.insert("sdist".into(), json!(filename));
                params.insert("hashes".into(), json!(sri(&artifact.hashes)));
                if let Some(f) = nodes_out.fetch(&downloads, &artifact.hashes)? {
                    params.insert("source".into(), json!(f));
                    inputs.push(f);
                }
                unpacked.insert(job.id.to_string(), source.clone());
                ("python-sdist", overrides)
            }
            Recipe::Project { dir, overrides } => {
                let source = match &node.source {
                    Source::Git { subdirectory, .. } => {
                        let (_, spec) = specs
                            .iter()
                            .find(|(id, _)| *id == node.id)
                            .ok_or_else(|| anyhow!("internal: {} has no git spec", node.name))?;
                        let checkout = &checkouts[&node.id];
                        let git = crate::source_nodes::git_node(spec, &checkout.nar_sha256)?;
                        params.insert("subdirectory".into(), json!(subdirectory));
                        params.insert("commit".into(), json!(checkout.commit));
                        nodes_out.push_once(git)
                    }
                    _ => {
                        let tree = identity["tree"]
                            .as_str()
                            .map(str::to_owned)
                            .map_or_else(|| tree_hash(dir), Ok)?;
                        nodes_out.push_once(super::exec::local_tree_node(&node.name, dir, &tree)?)
                    }
                };
                params.insert("source".into(), json!(source));
                inputs.push(source);
                ("python-project", overrides)
            }
            Recipe::Editable {
                dir,
                overrides,
                backend,
            } => {
                params.insert("dir".into(), json!(dir));
                params.insert("backend".into(), json!(backend));
                ("python-editable", overrides)
            }
            Recipe::Wheel { .. } => bail!("internal: {} is a wheel", job.label),
        };
        params.insert("build_env".into(), json!(env_id.as_str()));
        params.insert("env_inputs".into(), json!(env_inputs));
        params.insert("patches".into(), json!(overrides.patches));
        params.insert("rust".into(), json!(rust.is_some()));
        inputs.push(env_id.to_string());
        inputs.extend(env_inputs.iter().cloned());
        let mut graph_node = built_node(&job.id, kind, params, inputs, tool_keys);
        graph_node.env = overrides.env.clone();
        graph_node.native = overrides.native.clone();
        nodes_out.push(graph_node);
        labels.insert(job.id.to_string(), job.label.clone());
        if let Some(r) = &rust {
            runtime_rust.insert(job.id.to_string(), r.clone());
        }
        builds.insert(job.id.to_string(), build.clone());
        job.rust = rust;
        job.requirements = Some(build);
        source_jobs.push(job);
    }

    // The app's environment.
    let packages = Packages {
        nodes: &nodes,
        app_wheels: &app_wheels,
        source_jobs: &source_jobs,
    };
    let env = env_node(options, &packages, &store, &toolchains.python, &target)?;
    labels.insert(env.id.clone(), "app environment".into());
    let env_id = env.id.clone();
    nodes_out.push(env);

    let mut graph = Graph::new(plan.target.describe_platform());
    graph.toolchains.insert(
        "python".into(),
        graph_toolchain(&toolchains.python, Some(&python)),
    );
    if let Some(cc) = &toolchains.cc {
        graph
            .toolchains
            .insert("cc".into(), graph_toolchain(cc, None));
    }
    graph.nodes = nodes_out.into_nodes();
    graph.result = Some(env_id.to_string());
    graph.check().map_err(|e| anyhow!("{e}"))?;
    let source_labels = source_jobs
        .iter()
        .map(|j| (j.id.to_string(), j.label.clone()))
        .collect();
    Ok(PythonGraph {
        graph,
        store,
        requests,
        fetched,
        notes,
        labels,
        source_labels,
        runtime: Arc::new(Runtime {
            python,
            db,
            rust_toolchain,
            rust: runtime_rust,
            unpacked,
            builds,
        }),
        _work: work_dirs,
    })
}

/// The packages an app's environment composes.
struct Packages<'a> {
    nodes: &'a [&'a Node],
    app_wheels: &'a [Job],
    source_jobs: &'a [Job],
}

/// The app's environment (`result`): its packages, the app's first, and
/// the scripts [`script_selection`] picks, by node id.
fn env_node(
    options: &AppOptions,
    packages: &Packages,
    store: &Store,
    python: &ToolchainId,
    target: &str,
) -> Result<GraphNode> {
    let (nodes, app_wheels, source_jobs) =
        (packages.nodes, packages.app_wheels, packages.source_jobs);
    let outputs: BTreeMap<NodeId, PathBuf> = app_wheels
        .iter()
        .chain(source_jobs)
        .map(|j| {
            (
                j.id.clone(),
                store.root().join("outputs").join(j.id.as_str()),
            )
        })
        .collect();
    let app_jobs: Vec<&Job> = source_jobs
        .iter()
        .filter(|j| {
            nodes
                .iter()
                .any(|n| n.root && normalize(&n.name) == normalize(&j.name))
        })
        .collect();
    let package_jobs: Vec<&Job> = app_jobs
        .iter()
        .copied()
        .chain(
            source_jobs
                .iter()
                .filter(|j| !app_jobs.iter().any(|a| a.id == j.id)),
        )
        .chain(app_wheels.iter())
        .collect();
    let selection = script_selection(options, nodes, &app_jobs, app_wheels, source_jobs, &outputs)?;
    let inputs: Vec<NodeId> = package_jobs.iter().map(|j| j.id.clone()).collect();
    let root_name = nodes
        .iter()
        .find(|n| n.root)
        .map(|n| n.name.clone())
        .unwrap_or_else(|| "app".into());
    let env_id = NodeId::compute(
        &format!("{root_name}-env"),
        &json!({"recipe": "python-env/1", "from": selection.from, "only": selection.only, "pip-guard": 2}),
        &inputs,
        std::slice::from_ref(python),
        target,
    )?;
    // The scripts' packages by node id (their output paths are in the id).
    let from: Vec<String> = selection
        .from
        .iter()
        .filter_map(|p| {
            outputs
                .iter()
                .find(|(_, o)| *o == p)
                .map(|(id, _)| id.to_string())
        })
        .collect();
    let mut params = Map::new();
    params.insert("packages".into(), json!(ids(&inputs)));
    params.insert("from".into(), json!(from));
    params.insert("only".into(), json!(selection.only));
    Ok(built_node(
        &env_id,
        "python-env",
        params,
        ids(&inputs),
        &["python"],
    ))
}

/// The nodes built from source: sdists, git packages and the project's
/// directories (notes for editable locks built as wheels); an error for a
/// node lock2build cannot build.
fn source_builds<'p>(
    options: &AppOptions,
    nodes: &[&'p Node],
    lockfile: &str,
    notes: &mut Vec<String>,
) -> Result<Vec<&'p Node>> {
    let mut source_builds: Vec<&Node> = Vec::new();
    for node in nodes {
        let node = *node;
        match (&node.source, &node.artifact) {
            (_, Some(a)) if a.kind == ArtifactKind::Sdist => source_builds.push(node),
            (Source::Git { .. }, Some(a)) if a.kind == ArtifactKind::Git => {
                source_builds.push(node)
            }
            (_, Some(a)) if a.kind == ArtifactKind::Wheel => {}
            (Source::Directory { editable, .. }, None) => {
                if *editable && !options.develop {
                    notes.push(format!(
                        "{} is locked as an editable install; lock2build builds it as a wheel (rerun after editing it)",
                        node.name
                    ));
                }
                source_builds.push(node);
            }
            (Source::Virtual { .. }, None) => {}
            (_, Some(a)) => bail!(
                "{}: {} {} comes as {:?}, which lock2build app cannot build yet\n  help: lock it from a package index (a wheel or an sdist)",
                lockfile,
                node.name,
                node.version,
                a.kind
            ),
            (source, None) => bail!(
                "{}: {} {} has no artifact to build from ({source:?})\n  help: lock it from a package index, or as a local directory",
                lockfile,
                node.name,
                node.version
            ),
        }
    }
    Ok(source_builds)
}

/// The graph's nodes as they are made, each once, inputs before users.
#[derive(Default)]
struct NodeList {
    nodes: Vec<GraphNode>,
    seen: BTreeSet<String>,
}

impl NodeList {
    fn push(&mut self, node: GraphNode) {
        if self.seen.insert(node.id.clone()) {
            self.nodes.push(node);
        }
    }

    /// Adds `node` (if new) and returns its id.
    fn push_once(&mut self, node: GraphNode) -> String {
        let id = node.id.clone();
        self.push(node);
        id
    }

    /// The `fetch-url` node of the download pinned by `hashes`, if it has
    /// one (a local file of the lock has none: it is in the store).
    fn fetch(&mut self, downloads: &[&FetchRequest], hashes: &[Hash]) -> Result<Option<String>> {
        match downloads.iter().find(|r| r.hashes == hashes) {
            Some(request) => Ok(Some(
                self.push_once(crate::source_nodes::fetch_node(request)?),
            )),
            None => Ok(None),
        }
    }

    fn into_nodes(self) -> Vec<GraphNode> {
        self.nodes
    }
}

/// A built node of `kind` with the id python.rs computes.
fn built_node(
    id: &NodeId,
    kind: &str,
    params: Map<String, Value>,
    inputs: Vec<String>,
    tools: &[&str],
) -> GraphNode {
    let name = id.as_str().split_once('-').map_or(id.as_str(), |(_, n)| n);
    GraphNode {
        id: id.to_string(),
        name: name.to_string(),
        recipe: GraphRecipe {
            kind: kind.into(),
            params,
        },
        inputs,
        toolchains: tools.iter().map(|t| t.to_string()).collect(),
        env: BTreeMap::new(),
        native: Vec::new(),
        output: Output::Built,
    }
}

/// What every package node's recipe names: the package.
fn job_params(job: &Job) -> Map<String, Value> {
    let mut params = Map::new();
    params.insert("label".into(), json!(job.label));
    params.insert("name".into(), json!(job.name));
    params.insert("version".into(), json!(job.version));
    params
}

fn ids(ids: &[NodeId]) -> Vec<String> {
    ids.iter().map(NodeId::to_string).collect()
}

fn sri(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(Hash::to_sri).collect()
}

/// A toolchain of the graph: the path builds run, what ids include.
fn graph_toolchain(id: &ToolchainId, python: Option<&PythonInfo>) -> Toolchain {
    Toolchain {
        path: id.path.display().to_string(),
        id: format!("sha256-{}", id.sha256),
        nixpkgs: python.map(|p| format!("python3{}", p.version.1)),
    }
}

/// The Python kinds.
pub(super) const KINDS: &[Kind] = &[
    Kind {
        name: "python-wheel",
        existing: None,
        make: make_wheel,
    },
    Kind {
        name: "python-build-env",
        existing: None,
        make: make_build_env,
    },
    Kind {
        name: "python-sdist",
        existing: None,
        make: make_source,
    },
    Kind {
        name: "python-project",
        existing: None,
        make: make_source,
    },
    Kind {
        name: "python-editable",
        existing: None,
        make: make_source,
    },
    Kind {
        name: "python-env",
        existing: None,
        make: make_env,
    },
];

/// A string parameter of `node`.
fn param<'a>(node: &'a GraphNode, key: &str) -> Result<&'a str> {
    node.recipe
        .params
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("node `{}` has no `{key}` parameter", node.id))
}

/// A list-of-strings parameter of `node` (absent: empty).
fn strings(node: &GraphNode, key: &str) -> Result<Vec<String>> {
    match node.recipe.params.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(v) => serde_json::from_value(v.clone())
            .with_context(|| format!("node `{}`: `{key}`", node.id)),
    }
}

/// The output of input `id` of `node`.
fn input(node: &GraphNode, inputs: &Inputs, id: &str) -> Result<PathBuf> {
    inputs
        .get(id)
        .cloned()
        .ok_or_else(|| anyhow!("node `{}` needs input `{id}`", node.id))
}

/// The outputs of the inputs listed in parameter `key`, in its order.
fn input_list(node: &GraphNode, inputs: &Inputs, key: &str) -> Result<Vec<PathBuf>> {
    strings(node, key)?
        .iter()
        .map(|id| input(node, inputs, id))
        .collect()
}

/// The interpreter: `lock2build app`'s, or the graph's `python` toolchain.
fn python_of(ctx: &Ctx, runtime: Option<&Runtime>) -> Result<PythonInfo> {
    if let Some(rt) = runtime {
        return Ok(rt.python.clone());
    }
    let tool = ctx
        .graph
        .toolchains
        .get("python")
        .ok_or_else(|| anyhow!("the graph has no `python` toolchain"))?;
    Ok(PythonInfo::probe(Path::new(&tool.path))?)
}

fn dirs(out: &Out) -> OutputDirs {
    OutputDirs {
        building: out.building.to_owned(),
        final_path: out.final_path.to_owned(),
    }
}

/// `python-wheel`: the wheel of input `source` (or, for a lock's local
/// file, the store's) installed and byte-compiled.
fn make_wheel(ctx: &Ctx, node: &GraphNode, inputs: &Inputs, out: &Out) -> Result<()> {
    let runtime = runtime();
    let python = python_of(ctx, runtime.as_deref())?;
    let filename = param(node, "wheel")?;
    let file = match node.recipe.params.get("source").and_then(Value::as_str) {
        Some(id) => input(node, inputs, id)?,
        None => {
            let hashes = strings(node, "hashes")?
                .iter()
                .map(|h| Hash::parse_sri(h).map_err(|e| anyhow!("{e}")))
                .collect::<Result<Vec<_>>>()?;
            ctx.store
                .source(&hashes)
                .ok_or_else(|| anyhow!("node `{}`: {filename} is not in the store", node.id))?
        }
    };
    super::python::install(&file, filename, &python, &dirs(out))
}

/// `python-build-env`: the pinned build systems' installs composed, every
/// script offered.
fn make_build_env(ctx: &Ctx, node: &GraphNode, inputs: &Inputs, out: &Out) -> Result<()> {
    let runtime = runtime();
    let python = python_of(ctx, runtime.as_deref())?;
    let paths = input_list(node, inputs, "packages")?;
    let all = ScriptSelection {
        from: paths.clone(),
        only: None,
    };
    compose_env(&paths, &all, &python, &dirs(out))?;
    Ok(())
}

/// `python-env`: the app's packages composed, the scripts of `from` (or
/// those named in `only`) in `bin/`, pip refused.
fn make_env(ctx: &Ctx, node: &GraphNode, inputs: &Inputs, out: &Out) -> Result<()> {
    let runtime = runtime();
    let python = python_of(ctx, runtime.as_deref())?;
    let paths = input_list(node, inputs, "packages")?;
    let only: Option<Vec<String>> = match node.recipe.params.get("only") {
        None | Some(Value::Null) => None,
        Some(_) => Some(strings(node, "only")?),
    };
    let selection = ScriptSelection {
        from: input_list(node, inputs, "from")?,
        only,
    };
    let out = dirs(out);
    compose_env(&paths, &selection, &python, &out)?;
    write_pip_guard(&python, &out)?;
    Ok(())
}

/// `python-sdist`, `python-project`, `python-editable`: a PEP 517 build
/// in the sandbox with the build environment of input `build_env`, its
/// wheel installed ([`BuildContext::make`]).
fn make_source(ctx: &Ctx, node: &GraphNode, inputs: &Inputs, out: &Out) -> Result<()> {
    let runtime = runtime();
    let rt = runtime.as_deref();
    let python = python_of(ctx, rt)?;
    let work = tempfile::Builder::new()
        .prefix("lock2build-sdist-")
        .tempdir_in(lock2build_store::scratch_dir())?;
    let overrides = Resolved {
        env: node.env.clone(),
        patches: strings(node, "patches")?
            .into_iter()
            .map(PathBuf::from)
            .collect(),
        ..Default::default()
    };
    let recipe = match node.recipe.kind.as_str() {
        "python-sdist" => Recipe::Sdist {
            source: sdist_tree(node, inputs, rt, work.path())?,
            overrides,
        },
        "python-project" => Recipe::Project {
            dir: project_tree(node, inputs)?,
            overrides,
        },
        _ => Recipe::Editable {
            dir: PathBuf::from(param(node, "dir")?),
            overrides,
            backend: node
                .recipe
                .params
                .get("backend")
                .and_then(Value::as_bool)
                .unwrap_or(true),
        },
    };
    let id = NodeId::parse(&node.id)?;
    let rust = rt.and_then(|r| r.rust.get(&node.id).cloned());
    if rust.is_none() && node.recipe.params.get("rust").and_then(Value::as_bool) == Some(true) {
        bail!(
            "node `{}` compiles Rust crates, which are not graph nodes yet: only `lock2build app` builds it",
            node.id
        );
    }
    let job = Job {
        label: param(node, "label")?.to_owned(),
        name: param(node, "name")?.to_owned(),
        version: param(node, "version")?.to_owned(),
        id,
        recipe,
        rust,
        requirements: rt.and_then(|r| r.builds.get(&node.id).cloned()),
    };
    let build_env = param(node, "build_env")?;
    let env = BuildEnv {
        id: NodeId::parse(build_env)?,
        path: input(node, inputs, build_env)?,
        inputs: input_list(node, inputs, "env_inputs")?,
    };
    let no_db = Database::default();
    let builder = BuildContext {
        store: ctx.store,
        python: &python,
        sandbox: ctx.sandbox,
        steps: ctx.steps,
        logs_dir: &ctx.logs_dir,
        db: rt.map_or(&no_db, |r| &r.db),
        rust: rt.and_then(|r| r.rust_toolchain.as_ref()),
    };
    builder
        .make(&job, &env, &dirs(out))
        .map_err(|e| match e.downcast::<AskedAtBuildTime>() {
            Ok(asked) => {
                let message = asked.to_string();
                ASKED
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend(asked.0);
                anyhow!("{message}")
            }
            Err(e) => e,
        })
}

/// The unpacked sdist: the one `lock2build app` unpacked already, or input
/// `source` unpacked into `work` (a recovered tree: copied).
fn sdist_tree(
    node: &GraphNode,
    inputs: &Inputs,
    rt: Option<&Runtime>,
    work: &Path,
) -> Result<PathBuf> {
    if let Some(dir) = rt.and_then(|r| r.unpacked.get(&node.id)) {
        return Ok(dir.clone());
    }
    let file = input(node, inputs, param(node, "source")?)?;
    let unpacked = work.join("src");
    if file.is_dir() {
        super::copy_tree(&file, &unpacked)?;
        return Ok(unpacked);
    }
    let filename = param(node, "sdist")?;
    let format = ArchiveFormat::from_filename(filename).ok_or_else(|| {
        anyhow!(
            "node `{}`: `{filename}` is not an archive lock2build can unpack",
            node.id
        )
    })?;
    lock2build_store::unpack(&file, format, &unpacked)
        .with_context(|| format!("unpacking {filename} ({})", file.display()))?;
    Ok(lock2build_store::single_top_dir(&unpacked).unwrap_or(unpacked))
}

/// The project's directory: input `source` (a local tree, or a git
/// checkout and the lock's `subdirectory` in it).
fn project_tree(node: &GraphNode, inputs: &Inputs) -> Result<PathBuf> {
    let dir = input(node, inputs, param(node, "source")?)?;
    let Some(sub) = node
        .recipe
        .params
        .get("subdirectory")
        .and_then(Value::as_str)
    else {
        return Ok(dir);
    };
    let checkout = lock2build_git::Checkout {
        dir,
        commit: param(node, "commit").unwrap_or_default().to_owned(),
        tree: String::new(),
        nar_sha256: String::new(),
        fetched: false,
    };
    Ok(checkout.subdir(Some(sub))?)
}

/// A node's artifact and its file name: the lock's, else
/// `NAME-VERSION.EXT`.
fn artifact_file<'n>(
    node: &'n Node,
    ext: &str,
) -> Result<(&'n lock2build_plan::plan::PlanArtifact, String)> {
    let artifact = node
        .artifact
        .as_ref()
        .ok_or_else(|| anyhow!("internal: {} {} has no artifact", node.name, node.version))?;
    let filename = artifact
        .filename
        .clone()
        .unwrap_or_else(|| format!("{}-{}.{ext}", node.name, node.version));
    Ok((artifact, filename))
}
