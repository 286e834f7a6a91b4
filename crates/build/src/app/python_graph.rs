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
//! python-sdist     an sdist built (PEP 517), installed    ← its fetch-url, its build env (its cargo-vendor)
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
//! A package with Rust code (a Cargo.lock in its tree) has its crates as
//! the Rust builder's nodes (`rust_graph::add_vendor`), its `cargo-vendor`
//! an input of its build. What only `lock2build app` has (runtime, not
//! data: the sdists already unpacked while the graph was made, the
//! overrides database for failure messages, what backends ask for at build
//! time) is the executor's [`Ctx::builder`] for the run, never global.
//!
//! [`prepare`] in steps: [`Planning::new`] (interpreter, overrides, native
//! checks, checkouts), the app's downloads, [`Planning::source_builds`]
//! (trees, build systems, Rust crates), the build systems' and crates'
//! downloads, [`Planning::wheel_jobs`], then the nodes: wheels
//! ([`Draft::wheels`]), build environments and source builds
//! ([`Planning::source_nodes`]), the environment ([`env_node`]).

use super::build_requirements::{AskedAtBuildTime, BuildRequirements, SourceBuild};
use super::cargo_git::GitSource;
use super::cargo_vendor::RustToolchain;
use super::exec::{Ctx, Inputs, Kind, Out};
use super::python::{
    build_systems_plan, check_interpreter, check_native, editable_identity, editable_in_shell,
    git_checkouts, normalize, rust_deps, script_selection, BuildContext, BuildEnv, Job, Recipe,
    RustBuild, RustDeps, RustTree, Toolchains,
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
use std::sync::Mutex;

/// A Python project's graph, and what `lock2build app` reports of it.
pub(super) struct PythonGraph {
    /// The full graph (`result`: the app's environment).
    pub graph: Graph,
    /// The store the graph was made against.
    pub store: &'static Store,
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
    /// What the kinds use under `lock2build app` only (the executor's
    /// [`Ctx::builder`]).
    runtime: Runtime,
    /// The sdists unpacked while the graph was made (removed on drop).
    _work: Vec<tempfile::TempDir>,
}

/// What the Python kinds get in `lock2build app` besides the graph.
struct Runtime {
    python: PythonInfo,
    db: std::sync::Arc<Database>,
    /// Sdists unpacked already, by node id (built in place).
    unpacked: BTreeMap<String, PathBuf>,
    /// Each source build's requirements, by node id.
    builds: BTreeMap<String, SourceBuild>,
    /// What backends asked for at build time.
    asked: Mutex<Vec<(SourceBuild, Vec<String>)>>,
}

impl PythonGraph {
    /// What the kinds see of this graph as the executor's
    /// [`Ctx::builder`] (what backends ask for is kept until
    /// [`take_asked`](Self::take_asked)).
    pub fn runtime(&self) -> &(dyn std::any::Any + Send + Sync) {
        &self.runtime
    }

    /// What backends asked for at build time in the runs so far.
    pub fn take_asked(&self) -> Vec<(SourceBuild, Vec<String>)> {
        std::mem::take(&mut *self.runtime.asked.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The runtime of `ctx`'s builder, if it is a Python graph's.
fn runtime<'c>(ctx: &Ctx<'c>) -> Option<&'c Runtime> {
    ctx.builder.and_then(|b| b.downcast_ref::<Runtime>())
}

/// The graph of the Python project `project` of `plan`: its sources
/// fetched (verified) as `lock2build app` fetches them, its sdists
/// unpacked to read their build systems, their build requirements pinned.
pub(super) fn prepare(options: &AppOptions, plan: &Plan, project: usize) -> Result<PythonGraph> {
    let mut planning = Planning::new(options, plan, project)?;

    // The app's artifacts, verified, in one parallel pass.
    let (all_requests, _) = crate::fetch_plan::requests(plan)?;
    let mut requests = all_requests.clone();
    requests.retain(|r| planning.needs_fetch(&r.hashes, &planning.nodes));
    let (mut fetched, _) =
        crate::fetch_plan::fetch_sources(planning.store, &requests, &options.fetch, &options.dir)?;

    let mut work_dirs = Vec::new();
    let (prepared, build_systems) = planning.source_builds(&mut work_dirs)?;
    let pin_nodes = pinned_nodes(build_systems.as_ref(), &prepared);
    if let Some(bs) = &build_systems {
        let more = planning.build_downloads(bs, &pin_nodes, &prepared, &requests)?;
        if !more.is_empty() {
            let (report, _) = crate::fetch_plan::fetch_sources(
                planning.store,
                &more,
                &options.fetch,
                &options.dir,
            )?;
            fetched.items.extend(report.items);
            requests.extend(more);
        }
    }
    let (app_wheels, pin_wheels) = planning.wheel_jobs(&pin_nodes)?;

    // The graph: the nodes above as data, sources first.
    let bs_requests = match &build_systems {
        Some(bs) => crate::fetch_plan::requests(bs)?.0,
        None => Vec::new(),
    };
    let mut draft = Draft {
        nodes: NodeList::default(),
        labels: BTreeMap::new(),
        downloads: all_requests.iter().chain(&bs_requests).collect(),
    };
    draft.wheels(app_wheels.iter().chain(pin_wheels.values()))?;
    let built = planning.source_nodes(&mut draft, prepared, &pin_wheels)?;
    let packages = Packages {
        nodes: &planning.nodes,
        app_wheels: &app_wheels,
        source_jobs: &built.jobs,
    };
    let env = env_node(
        options,
        &packages,
        planning.store,
        &planning.toolchains.python,
        &planning.target,
    )?;
    draft
        .labels
        .insert(env.id.clone(), "app environment".into());
    let result = draft.nodes.push_once(env);
    let graph = planning.graph(draft.nodes, result)?;
    let source_labels = built
        .jobs
        .iter()
        .map(|j| (j.id.to_string(), j.label.clone()))
        .collect();
    Ok(PythonGraph {
        graph,
        requests,
        fetched,
        notes: planning.notes,
        labels: draft.labels,
        source_labels,
        runtime: Runtime {
            python: planning.python,
            db: planning.db,
            unpacked: built.unpacked,
            builds: built.builds,
            asked: Mutex::new(Vec::new()),
        },
        store: planning.store,
        _work: work_dirs,
    })
}

/// What making a project's graph reads first: the interpreter, the
/// overrides, the store, the project's packages and which of them are
/// built from source (their native needs checked, git packages checked
/// out).
struct Planning<'p> {
    options: &'p AppOptions,
    plan: &'p Plan,
    python: PythonInfo,
    db: std::sync::Arc<Database>,
    /// The lock's directory (path packages are relative to it).
    lock_dir: PathBuf,
    /// The project's packages.
    nodes: Vec<&'p Node>,
    /// Those built from source: sdists, git packages, directories.
    source_builds: Vec<&'p Node>,
    store: &'static Store,
    checkouts: BTreeMap<String, lock2build_git::Checkout>,
    toolchains: Toolchains,
    target: String,
    notes: Vec<String>,
    /// The Rust toolchain, found for the first source build with Rust code.
    rust_toolchain: Option<RustToolchain>,
}

impl<'p> Planning<'p> {
    fn new(options: &'p AppOptions, plan: &'p Plan, project: usize) -> Result<Planning<'p>> {
        let python = PythonInfo::probe(&options.python)?;
        check_interpreter(plan, &python)?;
        let nodes: Vec<&Node> = plan
            .packages
            .iter()
            .filter(|n| n.project == project)
            .collect();
        let lockfile = plan.projects[project].lockfile.display().to_string();
        if options.progress {
            eprintln!(
                "lock2build app: {} ({}, {} package{}) with Python {} ({})",
                options.dir.display(),
                lockfile,
                nodes.len(),
                if nodes.len() == 1 { "" } else { "s" },
                python.version_short(),
                python.executable.display()
            );
        }
        let db = overrides::load_for(&options.dir, Ecosystem::Pypi)?;
        let lock_dir = std::path::absolute(&options.dir)?.join(
            plan.projects[project]
                .lockfile
                .parent()
                .unwrap_or(Path::new("")),
        );
        let mut notes = Vec::new();
        let source_builds = source_builds(options, &nodes, &lockfile, &mut notes)?;
        // Native needs first: one error naming all that is missing.
        if !source_builds.is_empty() {
            notes.extend(check_native(&source_builds, &db, &python)?);
        }
        let store = open_store()?;
        let checkouts = git_checkouts(plan, &source_builds, store, options)?;
        let toolchains = Toolchains {
            python: ToolchainId::probe(&python.executable)?,
            cc: match source_builds.is_empty() {
                true => None,
                false => ToolchainId::probe(Path::new("cc")).ok(),
            },
        };
        Ok(Planning {
            options,
            plan,
            python,
            db,
            lock_dir,
            nodes,
            source_builds,
            store,
            checkouts,
            toolchains,
            target: plan.target.describe(),
            notes,
            rust_toolchain: None,
        })
    }

    /// A wheel's job, known without the wheel: its file name and hash.
    fn wheel_job(&self, node: &Node) -> Result<Job> {
        let (artifact, filename) = artifact_file(node, "whl")?;
        let recipe =
            json!({"recipe": "python-wheel/1", "wheel": filename, "integrity": artifact.integrity});
        Job::new(
            node,
            &recipe,
            &[],
            std::slice::from_ref(&self.toolchains.python),
            &self.target,
            Recipe::Wheel {
                hashes: artifact.hashes.clone(),
                filename,
            },
        )
    }

    /// Whether `hashes` (an artifact of one of `candidates`) must be
    /// fetched: not when the wheel they pin is installed already (its
    /// output does not need the file any more).
    fn needs_fetch(&self, hashes: &[Hash], candidates: &[&Node]) -> bool {
        let Some(node) = candidates
            .iter()
            .find(|n| n.artifact.as_ref().is_some_and(|a| a.hashes == hashes))
        else {
            return false;
        };
        match &node.artifact {
            Some(a) if a.kind == ArtifactKind::Wheel => self
                .wheel_job(node)
                .map_or(true, |job| self.store.output(&job.id).is_none()),
            _ => true,
        }
    }

    /// Every source build planned ([`source_build`](Self::source_build)),
    /// and the plan of the pinned build systems their environments take
    /// from: every unpinned requirement is named before anything is built.
    /// The sdists unpacked (to read their build systems) stay in `work`.
    fn source_builds(
        &mut self,
        work: &mut Vec<tempfile::TempDir>,
    ) -> Result<(Vec<Prepared<'p>>, Option<Plan>)> {
        if self.source_builds.is_empty() {
            return Ok((Vec::new(), None));
        }
        let (pins, path) = build_systems_plan(&self.options.plan)?;
        let mut reqs =
            BuildRequirements::new(pins, path, &self.lock_dir, &self.nodes, self.options.locked)?;
        let mut prepared = Vec::new();
        for node in self.source_builds.clone() {
            prepared.push(self.source_build(node, &mut reqs, work)?);
        }
        self.notes.extend(reqs.finish()?);
        Ok((prepared, Some(reqs.pins)))
    }

    /// One source build: its recipe, identity and tree, the Rust crates
    /// of its Cargo.lock files, the pinned build systems it needs (its
    /// `[build-system] requires` and the override's `build-requires`, with
    /// their dependencies).
    fn source_build(
        &mut self,
        node: &'p Node,
        reqs: &mut BuildRequirements,
        work: &mut Vec<tempfile::TempDir>,
    ) -> Result<Prepared<'p>> {
        let overrides = self.db.resolve(Ecosystem::Pypi, &node.name, &node.version);
        let (recipe, mut identity, tree) = self.source_recipe(node, &overrides, work)?;
        let system = BuildSystem::read(&tree)?;
        let rust = rust_deps(
            &RustTree {
                tree: &tree,
                label: format!("{} {}", node.name, node.version),
            },
            self.store,
            self.options,
            &self.db,
            &mut self.rust_toolchain,
            &mut self.notes,
        )?;
        if let Some(r) = &rust {
            identity["cargo"] = json!({"vendor": r.vendor.id.as_str(), "env": r.env});
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
            _ => reqs.closure(&build, &self.options.plan)?,
        };
        Ok(Prepared {
            node,
            recipe,
            identity,
            closure,
            rust,
            build,
        })
    }

    /// What a source build's node covers: the recipe, whether it is
    /// sandboxed, what is built (`what`), the override's knobs.
    fn identity_of(&self, overrides: &Resolved, recipe: &str, what: Value) -> Result<Value> {
        let mut identity = json!({
            "recipe": recipe,
            "sandboxed": self.options.sandbox.is_sandboxed(),
        });
        for (key, value) in what.as_object().into_iter().flatten() {
            identity[key] = value.clone();
        }
        identity["env"] = json!(overrides.env);
        identity["patches"] = json!(patch_hashes(&overrides.patches)?);
        identity["native"] = json!(native_versions(self.db.providers(), &overrides.native));
        Ok(identity)
    }

    /// How a source build is made, its identity, and the tree its build
    /// system is read from: a git package's checkout, an sdist unpacked
    /// (into `work`), the project's directory installed editable (a
    /// shell) or built.
    fn source_recipe(
        &self,
        node: &Node,
        overrides: &Resolved,
        work: &mut Vec<tempfile::TempDir>,
    ) -> Result<(Recipe, Value, PathBuf)> {
        let directory = || match &node.source {
            Source::Directory { path, .. } => Ok(self.lock_dir.join(path)),
            _ => Err(anyhow!("internal: {} has no directory source", node.name)),
        };
        match &node.artifact {
            Some(a) if a.kind == ArtifactKind::Git => self.git_recipe(node, overrides),
            Some(a) => self.sdist_recipe(node, a, overrides, work),
            None if self.options.develop && editable_in_shell(node) => {
                let dir = directory()?;
                let (identity, backend) =
                    editable_identity(&dir, |r, w| self.identity_of(overrides, r, w))?;
                let recipe = Recipe::Editable {
                    dir: dir.clone(),
                    overrides: overrides.clone(),
                    backend,
                };
                Ok((recipe, identity, dir))
            }
            None => {
                let dir = directory()?;
                let tree = json!({"tree": tree_hash(&dir)?});
                let identity = self.identity_of(overrides, "python-project/1", tree)?;
                let recipe = Recipe::Project {
                    dir: dir.clone(),
                    overrides: overrides.clone(),
                };
                Ok((recipe, identity, dir))
            }
        }
    }

    /// A git package: its checkout (or the lock's subdirectory of it),
    /// built as a project, named by its commit and tree.
    fn git_recipe(&self, node: &Node, overrides: &Resolved) -> Result<(Recipe, Value, PathBuf)> {
        let Source::Git {
            url,
            commit,
            subdirectory,
            ..
        } = &node.source
        else {
            bail!("internal: {} has no git source", node.name)
        };
        let checkout = self
            .checkouts
            .get(&node.id)
            .ok_or_else(|| anyhow!("internal: {} was not checked out", node.name))?;
        let dir = checkout
            .subdir(subdirectory.as_deref())
            .with_context(|| format!("{} {} (git {url})", node.name, node.version))?;
        let what = json!({
            "commit": commit,
            "tree": checkout.tree,
            "subdirectory": subdirectory,
        });
        let identity = self.identity_of(overrides, "python-git/1", what)?;
        let recipe = Recipe::Project {
            dir: dir.clone(),
            overrides: overrides.clone(),
        };
        Ok((recipe, identity, dir))
    }

    /// An sdist, unpacked from the store into a directory of `work`.
    fn sdist_recipe(
        &self,
        node: &Node,
        artifact: &lock2build_plan::plan::PlanArtifact,
        overrides: &Resolved,
        work: &mut Vec<tempfile::TempDir>,
    ) -> Result<(Recipe, Value, PathBuf)> {
        let filename = artifact
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
        let dir = tempfile::Builder::new()
            .prefix("lock2build-sdist-")
            .tempdir_in(lock2build_store::scratch_dir())?;
        let unpacked = dir.path().join("src");
        lock2build_archive::unpack_artifact(self.store, &artifact.hashes, format, &unpacked)
            .with_context(|| format!("unpacking {filename}"))?;
        let source = lock2build_store::single_top_dir(&unpacked).unwrap_or(unpacked);
        work.push(dir);
        let what = json!({"sdist": filename, "integrity": artifact.integrity});
        let identity = self.identity_of(overrides, "python-sdist/1", what)?;
        let recipe = Recipe::Sdist {
            source: source.clone(),
            overrides: overrides.clone(),
        };
        Ok((recipe, identity, source))
    }

    /// What the source builds need besides the app's downloads
    /// (`requests`): the build systems' wheels not installed yet, and the
    /// `.crate`s of Rust code whose vendor directory is not made yet.
    fn build_downloads(
        &self,
        build_systems: &Plan,
        pin_nodes: &[&Node],
        prepared: &[Prepared],
        requests: &[FetchRequest],
    ) -> Result<Vec<FetchRequest>> {
        let (mut more, _) = crate::fetch_plan::requests(build_systems)?;
        more.retain(|r| self.needs_fetch(&r.hashes, pin_nodes));
        let rust: Vec<&RustDeps> = prepared.iter().filter_map(|p| p.rust.as_ref()).collect();
        let unmade: BTreeSet<String> = rust
            .iter()
            .map(|r| &r.vendor)
            .filter(|v| self.store.output(&v.id).is_none())
            .flat_map(|v| v.hashes())
            .collect();
        more.extend(
            rust.iter()
                .flat_map(|r| &r.requests)
                .filter(|r| r.hashes.iter().any(|h| unmade.contains(&h.to_sri())))
                .cloned(),
        );
        more.retain(|r| !requests.iter().any(|q| q.hashes == r.hashes));
        more.sort_by(|a, b| a.hashes.cmp(&b.hashes));
        more.dedup_by(|a, b| a.hashes == b.hashes);
        Ok(more)
    }

    /// The wheel installs: the app's wheels, and the pinned build systems'
    /// by pin id (a build system without a wheel is an error).
    fn wheel_jobs(&self, pin_nodes: &[&Node]) -> Result<(Vec<Job>, BTreeMap<String, Job>)> {
        let is_wheel = |n: &Node| {
            n.artifact
                .as_ref()
                .is_some_and(|a| a.kind == ArtifactKind::Wheel)
        };
        let mut app_wheels = Vec::new();
        for node in self.nodes.iter().filter(|n| is_wheel(n)) {
            app_wheels.push(self.wheel_job(node)?);
        }
        let mut pin_wheels: BTreeMap<String, Job> = BTreeMap::new();
        for node in pin_nodes {
            if !is_wheel(node) {
                bail!(
                    "the pinned build system {} {} has no wheel for this target\n  help: build systems are installed from wheels; pick another version in overrides/pypi/build-systems/requirements.in and run refresh.sh",
                    node.name,
                    node.version
                );
            }
            pin_wheels.insert(node.id.clone(), self.wheel_job(node)?);
        }
        Ok((app_wheels, pin_wheels))
    }

    /// The source builds' nodes, each after its build environment (one
    /// per set of build systems) and its sources.
    fn source_nodes(
        &self,
        draft: &mut Draft,
        prepared: Vec<Prepared>,
        pin_wheels: &BTreeMap<String, Job>,
    ) -> Result<SourceNodes> {
        let mut built = SourceNodes::default();
        let mut build_envs: Vec<(BTreeSet<String>, NodeId)> = Vec::new();
        let specs = crate::fetch_plan::git_specs(self.plan)?;
        for p in prepared {
            let env_id = match build_envs.iter().find(|(c, _)| *c == p.closure) {
                Some((_, id)) => id.clone(),
                None => {
                    let id = self.build_env_node(draft, &p.closure, pin_wheels)?;
                    build_envs.push((p.closure.clone(), id.clone()));
                    id
                }
            };
            let env_inputs: Vec<String> = p
                .closure
                .iter()
                .map(|pin| pin_wheels[pin].id.to_string())
                .collect();
            let job = self.source_node(draft, p, &env_id, env_inputs, &specs, &mut built)?;
            built.jobs.push(job);
        }
        Ok(built)
    }

    /// The build environment of the pinned build systems `closure`.
    fn build_env_node(
        &self,
        draft: &mut Draft,
        closure: &BTreeSet<String>,
        pin_wheels: &BTreeMap<String, Job>,
    ) -> Result<NodeId> {
        let inputs: Vec<NodeId> = closure
            .iter()
            .map(|pin| pin_wheels[pin].id.clone())
            .collect();
        let id = NodeId::compute(
            "build-env",
            &json!({"recipe": "python-env/1", "scripts": "all"}),
            &inputs,
            std::slice::from_ref(&self.toolchains.python),
            &self.target,
        )?;
        let mut params = Map::new();
        params.insert("packages".into(), json!(ids(&inputs)));
        draft.nodes.push(built_node(
            &id,
            "python-build-env",
            params,
            ids(&inputs),
            &["python"],
        ));
        draft
            .labels
            .insert(id.to_string(), "a build environment".into());
        Ok(id)
    }

    /// A source build's node (`python-sdist`, `python-project`,
    /// `python-editable`) with the build environment `env_id` (its wheel
    /// installs `env_inputs`), after its sources: the sdist's `fetch-url`,
    /// the project's `local-tree` or `git-checkout`, its Rust crates.
    fn source_node(
        &self,
        draft: &mut Draft,
        p: Prepared,
        env_id: &NodeId,
        env_inputs: Vec<String>,
        specs: &[(String, lock2build_git::GitSpec)],
        built: &mut SourceNodes,
    ) -> Result<Job> {
        let mut tools: Vec<ToolchainId> = std::iter::once(self.toolchains.python.clone())
            .chain(self.toolchains.cc.clone())
            .collect();
        let mut tool_keys = vec!["python"];
        tool_keys.extend(self.toolchains.cc.as_ref().map(|_| "cc"));
        let rust = match (&p.rust, &self.rust_toolchain) {
            (Some(r), Some(t)) => Some((r, t)),
            _ => None,
        };
        if let Some((_, t)) = rust {
            tools.extend(t.ids.iter().cloned());
            tool_keys.extend(["rustc", "cargo"]);
        }
        let node = p.node;
        let job = Job::new(
            node,
            &p.identity,
            std::slice::from_ref(env_id),
            &tools,
            &self.target,
            p.recipe,
        )?;
        let (kind, mut params, mut inputs) =
            self.source_params(draft, node, &job, &p.identity, specs)?;
        let overrides = job
            .recipe
            .overrides()
            .ok_or_else(|| anyhow!("internal: {} is a wheel", job.label))?;
        if let Recipe::Sdist { source, .. } = &job.recipe {
            built.unpacked.insert(job.id.to_string(), source.clone());
        }
        let rust_params = match rust {
            Some((r, t)) => {
                let vendor = rust_nodes(&mut draft.nodes, r, self.store, self.options)?;
                inputs.push(vendor.clone());
                json!({
                    "vendor": vendor,
                    "sysroot": t.sysroot,
                    "env": r.env,
                    "git": r.vendor.git.iter().flat_map(|g| &g.sources).collect::<Vec<_>>(),
                })
            }
            None => Value::Null,
        };
        params.insert("build_env".into(), json!(env_id.as_str()));
        params.insert("env_inputs".into(), json!(env_inputs));
        params.insert("patches".into(), json!(overrides.patches));
        params.insert("rust".into(), rust_params);
        inputs.push(env_id.to_string());
        inputs.extend(env_inputs);
        let mut graph_node = built_node(&job.id, kind, params, inputs, &tool_keys);
        graph_node.env = overrides.env.clone();
        graph_node.native = overrides.native.clone();
        draft.nodes.push(graph_node);
        draft.labels.insert(job.id.to_string(), job.label.clone());
        built.builds.insert(job.id.to_string(), p.build.clone());
        Ok(Job {
            requirements: Some(p.build),
            ..job
        })
    }

    /// A source build's kind, and its parameters and inputs as its recipe
    /// reads them: the sdist's file (its `fetch-url` input), the project's
    /// tree (a `local-tree` or `git-checkout` input), an editable
    /// install's directory.
    fn source_params(
        &self,
        draft: &mut Draft,
        node: &Node,
        job: &Job,
        identity: &Value,
        specs: &[(String, lock2build_git::GitSpec)],
    ) -> Result<(&'static str, Map<String, Value>, Vec<String>)> {
        let mut params = job_params(job);
        let mut inputs = Vec::new();
        let kind = match &job.recipe {
            Recipe::Sdist { .. } => {
                let (artifact, filename) = artifact_file(node, "tar.gz")?;
                params.insert("sdist".into(), json!(filename));
                params.insert("hashes".into(), json!(sri(&artifact.hashes)));
                if let Some(f) = draft.nodes.fetch(&draft.downloads, &artifact.hashes)? {
                    params.insert("source".into(), json!(f));
                    inputs.push(f);
                }
                "python-sdist"
            }
            Recipe::Project { dir, .. } => {
                let source = match &node.source {
                    Source::Git { subdirectory, .. } => {
                        let (_, spec) = specs
                            .iter()
                            .find(|(id, _)| *id == node.id)
                            .ok_or_else(|| anyhow!("internal: {} has no git spec", node.name))?;
                        let checkout = &self.checkouts[&node.id];
                        let git = crate::source_nodes::git_node(spec, &checkout.nar_sha256)?;
                        params.insert("subdirectory".into(), json!(subdirectory));
                        params.insert("commit".into(), json!(checkout.commit));
                        draft.nodes.push_once(git)
                    }
                    _ => {
                        let tree = identity["tree"]
                            .as_str()
                            .map(str::to_owned)
                            .map_or_else(|| tree_hash(dir), Ok)?;
                        let local = super::exec::local_tree_node(&node.name, dir, &tree)?;
                        draft.nodes.push_once(local)
                    }
                };
                params.insert("source".into(), json!(source));
                inputs.push(source);
                "python-project"
            }
            Recipe::Editable { dir, backend, .. } => {
                params.insert("dir".into(), json!(dir));
                params.insert("backend".into(), json!(backend));
                "python-editable"
            }
            Recipe::Wheel { .. } => bail!("internal: {} is a wheel", job.label),
        };
        Ok((kind, params, inputs))
    }

    /// The graph of `nodes`, its result the app's environment `result`,
    /// with the toolchains its nodes name.
    fn graph(&self, nodes: NodeList, result: String) -> Result<Graph> {
        let mut graph = Graph::new(self.plan.target.describe_platform());
        graph.toolchains.insert(
            "python".into(),
            graph_toolchain(&self.toolchains.python, Some(&self.python)),
        );
        if let Some(cc) = &self.toolchains.cc {
            graph
                .toolchains
                .insert("cc".into(), graph_toolchain(cc, None));
        }
        for id in self.rust_toolchain.iter().flat_map(|t| &t.ids) {
            graph
                .toolchains
                .entry(id.name.clone())
                .or_insert_with(|| graph_toolchain(id, None));
        }
        graph.nodes = nodes.into_nodes();
        graph.result = Some(result);
        graph.check().map_err(|e| anyhow!("{e}"))?;
        Ok(graph)
    }
}

/// A source build as planned: its recipe and identity, the pinned build
/// systems its environment holds (by pin id), its Rust crates, its build
/// requirements.
struct Prepared<'p> {
    node: &'p Node,
    recipe: Recipe,
    identity: Value,
    closure: BTreeSet<String>,
    rust: Option<RustDeps>,
    build: SourceBuild,
}

/// The pinned build systems (nodes of `build_systems`) the source builds'
/// environments hold.
fn pinned_nodes<'b>(build_systems: Option<&'b Plan>, prepared: &[Prepared]) -> Vec<&'b Node> {
    let needed: BTreeSet<&str> = prepared
        .iter()
        .flat_map(|p| p.closure.iter().map(String::as_str))
        .collect();
    build_systems
        .iter()
        .flat_map(|bs| bs.packages.iter())
        .filter(|n| needed.contains(n.id.as_str()))
        .collect()
}

/// The graph as it is made: its nodes, each built node's label in the
/// report, the downloads (`fetch-url` nodes) its nodes may take.
struct Draft<'a> {
    nodes: NodeList,
    labels: BTreeMap<String, String>,
    downloads: Vec<&'a FetchRequest>,
}

impl Draft<'_> {
    /// The `python-wheel` nodes of `jobs` (each once, by id), after their
    /// wheels' `fetch-url` nodes.
    fn wheels<'j>(&mut self, jobs: impl Iterator<Item = &'j Job>) -> Result<()> {
        let mut jobs: Vec<&Job> = jobs.collect();
        jobs.sort_by(|a, b| a.id.cmp(&b.id));
        jobs.dedup_by(|a, b| a.id == b.id);
        for job in jobs {
            let Recipe::Wheel { hashes, filename } = &job.recipe else {
                bail!("internal: {} is not a wheel", job.label)
            };
            let fetch = self.nodes.fetch(&self.downloads, hashes)?;
            let mut params = job_params(job);
            params.insert("wheel".into(), json!(filename));
            params.insert("hashes".into(), json!(sri(hashes)));
            if let Some(f) = &fetch {
                params.insert("source".into(), json!(f));
            }
            self.nodes.push(built_node(
                &job.id,
                "python-wheel",
                params,
                fetch.into_iter().collect(),
                &["python"],
            ));
            self.labels.insert(job.id.to_string(), job.label.clone());
        }
        Ok(())
    }
}

/// The source builds' jobs as made into nodes, with what `app`'s kinds
/// get of them at run time (by node id): the sdists unpacked already,
/// each build's requirements.
#[derive(Default)]
struct SourceNodes {
    jobs: Vec<Job>,
    unpacked: BTreeMap<String, PathBuf>,
    builds: BTreeMap<String, SourceBuild>,
}

/// The nodes of a source build's Rust crates, as the Rust builder's graph
/// has them (`rust_graph::add_vendor`): a `fetch-url` and a `cargo-crate`
/// per crate the host build compiles, the stubs, the git checkouts and
/// crates, the `cargo-vendor` directory, whose id it returns.
fn rust_nodes(
    nodes_out: &mut NodeList,
    rust: &RustDeps,
    store: &Store,
    options: &AppOptions,
) -> Result<String> {
    let mut graph = Graph::new(String::new());
    let checkouts = super::rust_graph::git_checkouts(store, options, &rust.vendor)?;
    super::rust_graph::add_vendor(
        &mut graph,
        &rust.vendor,
        &rust.all,
        &rust.requests,
        checkouts,
    )?;
    for node in graph.nodes {
        nodes_out.push(node);
    }
    Ok(rust.vendor.id.to_string())
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
    let python = python_of(ctx, runtime(ctx))?;
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
    let python = python_of(ctx, runtime(ctx))?;
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
    let python = python_of(ctx, runtime(ctx))?;
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
    let rt = runtime(ctx);
    let python = python_of(ctx, rt)?;
    let work = tempfile::Builder::new()
        .prefix("lock2build-sdist-")
        .tempdir_in(lock2build_store::scratch_dir())?;
    let recipe = source_recipe(node, inputs, rt, work.path())?;
    let id = NodeId::parse(&node.id)?;
    let rust = rust_build(node, inputs)?;
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
        path: input(node, inputs, build_env)?,
        inputs: input_list(node, inputs, "env_inputs")?,
    };
    let no_db = Database::default();
    let builder = BuildContext {
        python: &python,
        sandbox: ctx.sandbox,
        steps: ctx.steps,
        logs_dir: &ctx.logs_dir,
        db: rt.map_or(&no_db, |r| &r.db),
    };
    builder
        .make(&job, &env, &dirs(out))
        .map_err(|e| match e.downcast::<AskedAtBuildTime>() {
            Ok(asked) => {
                let message = asked.to_string();
                if let Some(rt) = rt {
                    rt.asked
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .extend(asked.0);
                }
                anyhow!("{message}")
            }
            Err(e) => e,
        })
}

/// How a source build's node is made, from its kind and parameters: an
/// sdist's tree (unpacked into `work` unless `app` has it), a project's
/// (its input), an editable install's directory.
fn source_recipe(
    node: &GraphNode,
    inputs: &Inputs,
    rt: Option<&Runtime>,
    work: &Path,
) -> Result<Recipe> {
    let overrides = Resolved {
        env: node.env.clone(),
        patches: strings(node, "patches")?
            .into_iter()
            .map(PathBuf::from)
            .collect(),
        ..Default::default()
    };
    Ok(match node.recipe.kind.as_str() {
        "python-sdist" => Recipe::Sdist {
            source: sdist_tree(node, inputs, rt, work)?,
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
    })
}

/// The Rust crates a source build compiles (parameter `rust`): its
/// vendor directory input, the toolchain's sysroot, the git sources, the
/// crates' knobs; none for a build without Rust code.
fn rust_build(node: &GraphNode, inputs: &Inputs) -> Result<Option<RustBuild>> {
    #[derive(serde::Deserialize)]
    struct RustParams {
        vendor: String,
        sysroot: PathBuf,
        #[serde(default)]
        git: Vec<GitSource>,
        #[serde(default)]
        env: BTreeMap<String, String>,
    }
    let p: RustParams = match node.recipe.params.get("rust") {
        None | Some(Value::Null) => return Ok(None),
        Some(v) => serde_json::from_value(v.clone())
            .with_context(|| format!("node `{}`: its `rust` parameter", node.id))?,
    };
    Ok(Some(RustBuild {
        vendor: input(node, inputs, &p.vendor)?,
        sysroot: p.sysroot,
        git: p.git,
        env: p.env,
    }))
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
