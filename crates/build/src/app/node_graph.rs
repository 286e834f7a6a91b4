//! The build graph of an npm project (docs/graph.md, "npm"), and how its
//! built nodes are made.
//!
//! ```text
//! fetch-url         each tarball of the lock (a git dependency's archive, when pinned)
//! git-checkout      each other git dependency's commit
//! npm-git-pack      ← its checkout or archive: `prepare` run, `npm pack`
//! local-tree        the lock (one file), the project's files
//! npm-node-modules  ← the tarballs, the packs, the lock: laid out, install scripts run
//! npm-app           ← node_modules, the project's files: `npm run build`, launchers
//! ```
//!
//! The built nodes have the ids node.rs always gave them (the same name,
//! identity json, id inputs and toolchains); their graph inputs add the
//! sources and local trees they read. Each recipe holds what its step
//! needs (packages, the lock's root, the build script, the bins, the node
//! and npm it runs), so `lock2build realise` makes any of them from the
//! graph and its inputs' paths alone. The make functions wrap node.rs's
//! and git.rs's steps.

use super::exec::{self, input, recipe, Inputs, Kind, Out};
use super::node::git::{self, GitSource};
use super::node::{
    build_script, fill_app, fill_node_modules, launchers, manifest, package_identity, packages,
    platforms, replan_with_dev, script_steps, wants_dev, write_launchers, Ctx, Failure, Manifest,
    NpmSteps, Package, Toolchain, TreeInputs,
};
use super::{failure_message, require_native, AppConfig, AppOptions};
use crate::source_nodes::{fetch_node, git_node};
use anyhow::{anyhow, bail, Context, Result};
use lock2build_fetch::FetchRequest;
use lock2build_graph::{Graph, Node, Output, Recipe};
use lock2build_model::{Ecosystem, Hash, HashAlgorithm, Source};
use lock2build_overrides::{Database, Resolved};
use lock2build_plan::plan::{self, Plan};
use lock2build_store::{remembered_probe, NodeId, OutputDirs, Store, ToolchainId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The npm builder's recipe kinds.
pub(super) const KINDS: &[Kind] = &[
    Kind {
        name: "npm-git-pack",
        existing: None,
        make: make_pack,
    },
    Kind {
        name: "npm-node-modules",
        existing: None,
        make: make_modules,
    },
    Kind {
        name: "npm-app",
        existing: None,
        make: make_app,
    },
];

/// An npm project's graph, and what its build reports.
pub(super) struct NpmGraph {
    pub graph: Graph,
    /// The node_modules node.
    pub modules: NodeId,
    /// The app node (none for a dev shell).
    pub app: Option<NodeId>,
    /// The git packs, by package location.
    pub packs: BTreeMap<String, NodeId>,
    pub packages: Vec<Package>,
    pub launchers: BTreeMap<String, String>,
    /// The project's name and version.
    pub root: (String, String),
    pub build_script: Option<String>,
    pub manifest: Manifest,
    pub notes: Vec<String>,
    /// The tarballs the tree needs.
    pub requests: Vec<FetchRequest>,
    /// Those and the other platforms' (read, left out): what `gc` keeps.
    pub live_requests: Vec<FetchRequest>,
    pub project_dir: PathBuf,
    /// What `app` says first (the project, its lock, node).
    pub header: String,
}

/// What node.rs learns of a project before any identity.
struct Survey {
    /// What `app` says first.
    header: String,
    plan: Plan,
    project: usize,
    project_dir: PathBuf,
    lockfile: PathBuf,
    lock_display: String,
    manifest: Manifest,
    config: AppConfig,
    build_script: Option<String>,
    root: (String, String),
    toolchain: Toolchain,
    db: std::sync::Arc<Database>,
    packages: Vec<Package>,
    skipped: Vec<FetchRequest>,
    notes: Vec<String>,
}

/// The graph of the npm project `project` of `plan` (re-planned with the
/// dev dependencies when there is a build script). Git dependencies that
/// are not in the store are checked out (their NAR hash names them).
pub(super) fn graph(
    options: &AppOptions,
    store: &Store,
    plan: Plan,
    project: usize,
) -> Result<NpmGraph> {
    // The compilers install scripts use (also when the lock, a v1 one,
    // does not say which packages have scripts), probed meanwhile.
    let (s, compilers) = std::thread::scope(|scope| {
        let compilers = scope.spawn(|| {
            ["c++", "cc"]
                .iter()
                .filter_map(|c| ToolchainId::probe(Path::new(c)).ok())
                .collect::<Vec<_>>()
        });
        (survey(options, store, plan, project), compilers.join())
    });
    let s = s?;
    let compilers = compilers.map_err(|_| anyhow!("probing the C compilers panicked"))?;
    let nodes: Vec<&plan::Node> = s
        .plan
        .packages
        .iter()
        .filter(|n| n.project == s.project)
        .collect();
    let target = s.plan.target.describe_platform();
    let mut ids = s.toolchain.ids.clone();
    ids.extend(compilers);
    let lock_root = manifest::lock_root(&s.project_dir.join(&s.lockfile))?;
    let sandboxed = options.sandbox.is_sandboxed();
    let mut packs: BTreeMap<String, NodeId> = BTreeMap::new();
    for p in &s.packages {
        if let Some(source) = &p.git {
            let id = git::pack_id(p, source, sandboxed, &ids, &target)?;
            packs.insert(p.location.clone(), id);
        }
    }
    let pack_list: Vec<NodeId> = packs.values().cloned().collect();
    let modules = NodeId::compute(
        &format!("{}-node-modules", s.root.0),
        &ModulesIdentity {
            recipe: "npm-node-modules/1",
            sandboxed,
            root: &lock_root,
            packages: package_identity(&s.packages, &s.db)?,
        },
        &pack_list,
        &ids,
        &target,
    )?;
    let launchers = launchers(options, &s.config, &s.manifest, &nodes, &s.packages)?;
    let tree = super::remembered_tree_hash(&s.project_dir)?;
    let app = match options.develop {
        true => None,
        false => Some(NodeId::compute(
            &s.root.0,
            &serde_json::json!({
                "recipe": "npm-app/2",
                "sandboxed": sandboxed,
                "tree": tree,
                "build": s.build_script,
                "bin": launchers,
                "node": s.toolchain.node,
            }),
            std::slice::from_ref(&modules),
            &s.toolchain.ids,
            &target,
        )?),
    };

    let requests = tarballs(&s)?;
    let mut live_requests = requests.clone();
    live_requests.extend(s.skipped.iter().cloned());

    let mut graph = Graph::new(target);
    for id in &ids {
        graph
            .toolchains
            .insert(id.name.clone(), toolchain_entry(id));
    }
    // Not part of any id (node ids stay what they were before the graph
    // named them): what engines with nixpkgs put in a node's PATH.
    for tool in build_tools(&s.packages, &s.db, &ids) {
        let entry = lock2build_graph::Toolchain {
            nixpkgs: tool.nixpkgs,
            ..toolchain_entry(&tool.id)
        };
        graph.toolchains.insert(tool.name, entry);
    }
    let built = Built {
        modules: &modules,
        app: app.as_ref(),
        packs: &packs,
        lock_root: &lock_root,
        tree: &tree,
        launchers: &launchers,
        tools: Tools::of(&s.toolchain),
        ids: &ids,
    };
    add_nodes(&mut graph, options, store, &s, &requests, &built)?;
    graph.result = Some(app.as_ref().unwrap_or(&modules).to_string());
    graph.check().map_err(|e| anyhow!("{e}"))?;
    Ok(NpmGraph {
        graph,
        modules,
        app,
        packs,
        packages: s.packages,
        launchers,
        root: s.root,
        build_script: s.build_script,
        manifest: s.manifest,
        notes: s.notes,
        requests,
        live_requests,
        project_dir: s.project_dir,
        header: s.header,
    })
}

/// What the node_modules id covers (its keys are the id's: they are
/// sorted when hashed), serialized once (a `json!` would be copied).
#[derive(Serialize)]
struct ModulesIdentity<'a> {
    recipe: &'static str,
    sandboxed: bool,
    root: &'a serde_json::Value,
    packages: Vec<super::node::PackageIdentity<'a>>,
}

/// The project, its lock's packages and toolchain, what is left out and
/// said about it; the native needs and node's headers checked.
fn survey(options: &AppOptions, store: &Store, plan: Plan, project: usize) -> Result<Survey> {
    let project_dir = std::path::absolute(&options.dir)?;
    let lockfile = plan.projects[project].lockfile.clone();
    let lock_display = options.dir.join(&lockfile).display().to_string();
    let manifest = Manifest::read(&project_dir)?;
    let config = AppConfig::read(&options.dir)?;
    // A dev shell needs the laid-out tree, not the app: no build script.
    let build_script = match options.develop {
        true => None,
        false => build_script(&manifest, &config, &options.dir)?,
    };
    // A build script needs the dev dependencies: re-plan with them.
    let (plan, project) = if build_script.is_some() && !wants_dev(&options.plan) {
        replan_with_dev(options, &lockfile, &lock_display)?
    } else {
        (plan, project)
    };
    let nodes: Vec<&plan::Node> = plan
        .packages
        .iter()
        .filter(|n| n.project == project)
        .collect();
    let root = nodes
        .iter()
        .find(|n| n.root)
        .map(|n| (n.name.clone(), n.version.clone()))
        .unwrap_or_else(|| ("app".into(), "0.0.0".into()));
    let toolchain = Toolchain::find()?;
    let header = format!(
        "lock2build app: {} ({}, {} package{}) with node {} ({})",
        options.dir.display(),
        lockfile.display(),
        nodes.len().saturating_sub(1),
        if nodes.len() == 2 { "" } else { "s" },
        toolchain.version,
        toolchain.node.display()
    );
    let db = crate::overrides::load_for(&options.dir, Ecosystem::Npm)?;
    let packages = packages(&nodes, &db, &lock_display)?;
    let skipped = platforms::other_platforms(store, &options.fetch, &plan, &nodes, &packages)?;
    let mut notes = Vec::new();
    for (location, why) in &skipped.locations {
        notes.push(format!(
            "left out {location} ({why}): its package.json names other platforms (a lockfileVersion 1 lock does not say; npm 6 skipped it too)"
        ));
    }
    let packages = platforms::prune(&nodes, packages, &skipped.locations);
    notes.extend(from_source_notes(options, &packages, &lock_display));

    // Native needs and the headers, before anything is fetched.
    let scripted: Vec<&plan::Node> = nodes
        .iter()
        .copied()
        .filter(|n| !n.root && n.flags.has_install_script && n.artifact.is_some())
        .collect();
    if !scripted.is_empty() {
        require_native(&scripted, &db, "the install scripts", Ecosystem::Npm, None)?;
        toolchain.check_headers()?;
    }
    Ok(Survey {
        header,
        project_dir,
        lockfile,
        lock_display,
        manifest,
        config,
        build_script,
        root,
        toolchain,
        db,
        packages,
        skipped: skipped.requests,
        notes,
        plan,
        project,
    })
}

/// The downloads of the tree's tarballs.
fn tarballs(s: &Survey) -> Result<Vec<FetchRequest>> {
    let (mut requests, _) = crate::fetch_plan::requests(&s.plan)?;
    let wanted: BTreeSet<String> = s
        .packages
        .iter()
        .flat_map(|p| p.hashes.iter().map(|h| h.to_sri()))
        .collect();
    requests.retain(|r| r.hashes.iter().any(|h| wanted.contains(&h.to_sri())));
    Ok(requests)
}

/// `overrides check`: the named packages are built if they have install
/// scripts (all such are), and said so otherwise.
fn from_source_notes(
    options: &AppOptions,
    packages: &[Package],
    lock_display: &str,
) -> Vec<String> {
    let mut notes = Vec::new();
    for name in &options.from_source {
        let hits: Vec<&Package> = packages.iter().filter(|p| p.name == *name).collect();
        if hits.is_empty() {
            notes.push(format!("{name} is not a package of {lock_display}"));
        } else if !hits.iter().any(|p| p.scripts) {
            notes.push(format!(
                "{name} {} has no install script: there is nothing to build (its files are used as published)",
                hits[0].version
            ));
        }
    }
    notes
}

/// A build tool an override names (`tools`), as the graph records it.
struct BuildTool {
    /// The providers table's id (`make`, `python3`): the toolchain's name.
    name: String,
    /// The host's binary.
    id: ToolchainId,
    /// The provider's nixpkgs attribute (`gnumake`), when it names one.
    nixpkgs: Option<String>,
}

/// The tools the packages' overrides name (node-gyp's `make`, `python3`)
/// that are not toolchains already (`c++`, `cc`): each the provider's
/// first binary found on the host. A tool the host lacks is left out:
/// only install scripts need one, and [`survey`] refused those.
fn build_tools(packages: &[Package], db: &Database, have: &[ToolchainId]) -> Vec<BuildTool> {
    let wanted: BTreeSet<&String> = packages.iter().flat_map(|p| &p.overrides.tools).collect();
    let mut tools = Vec::new();
    for name in wanted {
        if have.iter().any(|t| t.name == *name) {
            continue;
        }
        let provider = db.providers().get(name);
        let binaries = match provider {
            Some(p) if !p.binaries.is_empty() => p.binaries.clone(),
            _ => vec![name.clone()],
        };
        // Its binary's hash only: not its `--version`, which a dispatcher
        // (pyenv's python3 shim: ~0.2 s) answers by starting every time.
        let Some(id) = binaries.iter().find_map(|b| {
            let path = lock2build_store::find_in_path(Path::new(b))?;
            ToolchainId::with_version(Path::new(b), &path, String::new()).ok()
        }) else {
            continue;
        };
        let nixpkgs = match provider.map(|p| p.nixpkgs.as_slice()) {
            Some([attr]) => Some(attr.clone()),
            _ => None,
        };
        tools.push(BuildTool {
            name: name.clone(),
            id,
            nixpkgs,
        });
    }
    tools
}

/// The toolchains a node whose step builds `packages` runs: node, npm and
/// the C compilers, then the tools their overrides name that the graph
/// has.
fn node_toolchains<'a>(
    graph: &Graph,
    built: &Built,
    packages: impl IntoIterator<Item = &'a Package>,
) -> Vec<String> {
    let mut names: Vec<String> = built.ids.iter().map(|t| t.name.clone()).collect();
    for tool in packages.into_iter().flat_map(|p| &p.overrides.tools) {
        if graph.toolchains.contains_key(tool) && !names.contains(tool) {
            names.push(tool.clone());
        }
    }
    names
}

/// The built nodes' ids and what their recipes hold besides the packages.
struct Built<'a> {
    modules: &'a NodeId,
    app: Option<&'a NodeId>,
    packs: &'a BTreeMap<String, NodeId>,
    lock_root: &'a serde_json::Value,
    tree: &'a str,
    launchers: &'a BTreeMap<String, String>,
    tools: Tools,
    ids: &'a [ToolchainId],
}

/// Every node, inputs first: sources, packs, the lock, node_modules, the
/// project's files, the app.
fn add_nodes(
    graph: &mut Graph,
    options: &AppOptions,
    store: &Store,
    s: &Survey,
    requests: &[FetchRequest],
    built: &Built,
) -> Result<()> {
    let mut seen = BTreeSet::new();
    let mut push = |graph: &mut Graph, node: Node| {
        if seen.insert(node.id.clone()) {
            graph.nodes.push(node);
        }
    };
    let by_hash: BTreeMap<String, &FetchRequest> = requests
        .iter()
        .flat_map(|r| r.hashes.iter().map(move |h| (h.to_sri(), r)))
        .collect();
    let fetched = |p: &Package| {
        p.hashes
            .iter()
            .find_map(|h| by_hash.get(&h.to_sri()).copied())
    };
    let git_options = crate::fetch_plan::git_options(&options.fetch, options.progress);
    let overrides = std::path::absolute(&options.dir)?;
    let mut recipes = Vec::new();
    let mut fetch_ids: BTreeMap<*const FetchRequest, String> = BTreeMap::new();
    for p in &s.packages {
        let from = match (fetched(p), &p.git) {
            // A tarball at several locations is one node, made once.
            (Some(request), _) => match fetch_ids.get(&std::ptr::from_ref(request)) {
                Some(id) => String::clone(id),
                None => {
                    let node = fetch_node(request)?;
                    let id = node.id.clone();
                    fetch_ids.insert(std::ptr::from_ref(request), id.clone());
                    push(graph, node);
                    id
                }
            },
            (None, Some(source)) => {
                let spec = git::spec(p, source);
                let checkout = crate::fetch_plan::checkout_or_recover(store, &spec, &git_options)
                    .with_context(|| format!("{}: a git dependency", s.lock_display))?;
                let node = git_node(&spec, &checkout.nar_sha256)?;
                let id = node.id.clone();
                push(graph, node);
                id
            }
            (None, None) => bail!(
                "internal: {} ({}) has no download in the plan",
                p.label(),
                p.location
            ),
        };
        let mut recipe = PackageRecipe::of(p, from)?;
        if let Some(pack) = built.packs.get(&p.location) {
            let pack_recipe = PackRecipe {
                package: recipe,
                toolchain: built.tools.clone(),
                overrides: overrides.clone(),
            };
            push(
                graph,
                built_node(
                    pack,
                    "npm-git-pack",
                    &pack_recipe,
                    vec![pack_recipe.package.from.clone()],
                    node_toolchains(graph, built, [p]),
                )?,
            );
            recipe = pack_recipe.package;
            recipe.from = pack.to_string();
        }
        recipes.push(recipe);
    }
    let modules_tools = node_toolchains(graph, built, &s.packages);
    let lock = lock_node(s)?;
    let lock_id = lock.id.clone();
    push(graph, lock);
    let mut inputs: Vec<String> = recipes.iter().map(|r| r.from.clone()).collect();
    inputs.push(lock_id.clone());
    dedup(&mut inputs);
    let modules = ModulesRecipe {
        root: s.root.clone(),
        lock_root: built.lock_root.clone(),
        lock: lock_id,
        lock_name: file_name(&s.lockfile),
        lock_display: s.lock_display.clone(),
        toolchain: built.tools.clone(),
        overrides: overrides.clone(),
        packages: recipes,
    };
    push(
        graph,
        built_node(
            built.modules,
            "npm-node-modules",
            &modules,
            inputs,
            modules_tools,
        )?,
    );
    let Some(app) = built.app else {
        return Ok(());
    };
    let tree = exec::local_tree_node(&s.root.0, &s.project_dir, built.tree)?;
    let recipe = AppRecipe {
        root: s.root.clone(),
        modules: built.modules.to_string(),
        tree: tree.id.clone(),
        build: s.build_script.clone(),
        bin: built.launchers.clone(),
        toolchain: built.tools.clone(),
        overrides,
    };
    let inputs = vec![recipe.modules.clone(), recipe.tree.clone()];
    push(graph, tree);
    let tools = s.toolchain.ids.iter().map(|t| t.name.clone()).collect();
    push(graph, built_node(app, "npm-app", &recipe, inputs, tools)?);
    Ok(())
}

/// The lock alone as a `local-tree` (named by its sha256): what
/// node_modules reads of the project, so an edit elsewhere leaves it be.
/// Its sha256 is remembered by the lock's stamp (as a toolchain's is).
fn lock_node(s: &Survey) -> Result<Node> {
    let path = s.project_dir.join(&s.lockfile);
    let hex = remembered_probe("lock sha256/1", &[&path], &[], || {
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        anyhow::Ok(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)))
    })?;
    exec::local_tree_node(&format!("{}-lock", s.root.0), &path, &hex)
}

fn dedup(ids: &mut Vec<String>) {
    let mut seen = BTreeSet::new();
    ids.retain(|id| seen.insert(id.clone()));
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or("package-lock.json".into(), |n| {
        n.to_string_lossy().into_owned()
    })
}

fn toolchain_entry(id: &ToolchainId) -> lock2build_graph::Toolchain {
    lock2build_graph::Toolchain {
        path: id.path.display().to_string(),
        id: Hash::from_hex(HashAlgorithm::Sha256, &id.sha256)
            .map(|h| h.to_sri())
            .unwrap_or_else(|_| id.sha256.clone()),
        nixpkgs: None,
    }
}

/// A built node of `kind` whose recipe parameters are `recipe`.
fn built_node(
    id: &NodeId,
    kind: &str,
    recipe: &impl Serialize,
    inputs: Vec<String>,
    toolchains: Vec<String>,
) -> Result<Node> {
    let serde_json::Value::Object(params) = serde_json::to_value(recipe)? else {
        bail!("internal: a recipe is not an object");
    };
    let id = id.to_string();
    Ok(Node {
        name: id
            .split_once('-')
            .map_or(id.as_str(), |(_, n)| n)
            .to_string(),
        id,
        recipe: Recipe {
            kind: kind.into(),
            params,
        },
        inputs,
        toolchains,
        env: BTreeMap::new(),
        native: Vec::new(),
        output: Output::Built,
    })
}

/// The node and npm a step runs (node.rs's toolchain, without probing).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Tools {
    node: PathBuf,
    npm_cli: PathBuf,
    npm_root: PathBuf,
    /// node-gyp's `nodedir` (its `include/node`).
    prefix: PathBuf,
    version: String,
}

impl Tools {
    fn of(t: &Toolchain) -> Tools {
        Tools {
            node: t.node.clone(),
            npm_cli: t.npm_cli.clone(),
            npm_root: t.npm_root.clone(),
            prefix: t.prefix.clone(),
            version: t.version.clone(),
        }
    }

    fn toolchain(&self) -> Toolchain {
        Toolchain {
            node: self.node.clone(),
            npm_cli: self.npm_cli.clone(),
            npm_root: self.npm_root.clone(),
            prefix: self.prefix.clone(),
            version: self.version.clone(),
            ids: Vec::new(),
        }
    }
}

/// An npm node run with the toolchains an engine gives
/// (`LOCK2BUILD_NIXPKGS`, toolchain name → package): its recipe's node
/// and npm become the `node` package's `bin/node` and the `npm` package's
/// `lib/node_modules/npm` (both nixpkgs' `nodejs`), node-gyp's `nodedir`
/// the `node` package. Other kinds are left as they are.
pub(crate) fn use_given_node(node: &mut Node, given: &BTreeMap<String, PathBuf>) -> Result<()> {
    if !KINDS.iter().any(|k| k.name == node.recipe.kind) {
        return Ok(());
    }
    let package = |name: &str| {
        given.get(name).ok_or_else(|| {
            anyhow!(
                "node `{}` runs `{name}`, which LOCK2BUILD_NIXPKGS does not give",
                node.id
            )
        })
    };
    let tools = Tools::in_package(package("node")?, package("npm")?, &node.id)?;
    node.recipe
        .params
        .insert("toolchain".into(), serde_json::to_value(tools)?);
    Ok(())
}

impl Tools {
    /// node from the package `node_package` (`bin/node`, its headers in
    /// `include/node`), npm from `npm_package`'s `lib/node_modules/npm`,
    /// each checked, for node `id`; the version is what that node says.
    fn in_package(node_package: &Path, npm_package: &Path, id: &str) -> Result<Tools> {
        let node = node_package.join("bin/node");
        let npm_root = npm_package.join("lib/node_modules/npm");
        let npm_cli = npm_root.join("bin/npm-cli.js");
        for (name, package, path) in [
            ("node", node_package, &node),
            ("npm", npm_package, &npm_cli),
        ] {
            if !path.is_file() {
                bail!(
                    "node `{id}`: the `{name}` toolchain's package {} has no {} (nixpkgs' nodejs has both node and npm)",
                    package.display(),
                    path.display()
                );
            }
        }
        let said = std::process::Command::new(&node)
            .arg("--version")
            .output()
            .with_context(|| format!("node `{id}`: running {} --version", node.display()))?;
        let version = String::from_utf8_lossy(&said.stdout).trim().to_owned();
        if !said.status.success() || version.is_empty() {
            bail!(
                "node `{id}`: {} --version failed: {}",
                node.display(),
                String::from_utf8_lossy(&said.stderr).trim()
            );
        }
        Ok(Tools {
            node,
            npm_cli,
            npm_root,
            prefix: node_package.to_owned(),
            version,
        })
    }
}

/// A package of the tree, as a recipe holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PackageRecipe {
    name: String,
    version: String,
    location: String,
    integrity: String,
    /// Every locked hash (SRI).
    hashes: Vec<String>,
    scripts: bool,
    /// The input its files come from: its tarball (`fetch-url`), or for a
    /// git package its checkout or archive (in `npm-git-pack`) and its
    /// pack (in `npm-node-modules`).
    from: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    env: BTreeMap<String, String>,
    /// The override patches, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    patches: Vec<PatchRecipe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    git: Option<(String, String)>,
}

/// An override patch: the file it was read from, and its text (what the
/// step applies, wherever it runs).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PatchRecipe {
    path: PathBuf,
    text: String,
}

impl PackageRecipe {
    fn of(p: &Package, from: String) -> Result<PackageRecipe> {
        let patches = p
            .overrides
            .patches
            .iter()
            .map(|path| {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading the override patch {}", path.display()))?;
                Ok(PatchRecipe {
                    path: path.clone(),
                    text,
                })
            })
            .collect::<Result<_>>()?;
        Ok(PackageRecipe {
            name: p.name.clone(),
            version: p.version.clone(),
            location: p.location.clone(),
            integrity: p.integrity.clone(),
            hashes: p.hashes.iter().map(|h| h.to_sri()).collect(),
            scripts: p.scripts,
            from,
            env: p.overrides.env.clone(),
            patches,
            git: p.git.as_ref().map(|g| (g.url.clone(), g.commit.clone())),
        })
    }

    /// The package, its tarball `tarball` (`None`: the store's source of
    /// its hashes), its patches the files they were read from when these
    /// still say the same, else copies written into `scratch`.
    fn package(&self, tarball: Option<PathBuf>, scratch: &Path) -> Result<Package> {
        let mut patches = Vec::new();
        for (i, patch) in self.patches.iter().enumerate() {
            if std::fs::read(&patch.path).is_ok_and(|b| b == patch.text.as_bytes()) {
                patches.push(patch.path.clone());
                continue;
            }
            let name = patch
                .path
                .file_name()
                .map_or("patch".into(), |n| n.to_string_lossy());
            let copy = scratch.join(format!("{}-{i}-{name}", self.name.replace('/', "_")));
            std::fs::write(&copy, &patch.text)
                .with_context(|| format!("writing {}", copy.display()))?;
            patches.push(copy);
        }
        Ok(Package {
            name: self.name.clone(),
            version: self.version.clone(),
            location: self.location.clone(),
            hashes: self
                .hashes
                .iter()
                .map(|h| Hash::parse_sri(h).map_err(|e| anyhow!("{h}: {e}")))
                .collect::<Result<_>>()?,
            integrity: self.integrity.clone(),
            scripts: self.scripts,
            overrides: Resolved {
                env: self.env.clone(),
                patches,
                ..Resolved::default()
            },
            git: self.git.as_ref().map(|(url, commit)| GitSource {
                url: url.clone(),
                commit: commit.clone(),
            }),
            tarball,
        })
    }
}

/// `npm-git-pack`: one git package packed.
#[derive(Serialize, Deserialize)]
struct PackRecipe {
    package: PackageRecipe,
    toolchain: Tools,
    /// The project whose overrides explain a failure.
    overrides: PathBuf,
}

/// `npm-node-modules`: the tree laid out, its install scripts run.
#[derive(Serialize, Deserialize)]
struct ModulesRecipe {
    /// The project's name and version.
    root: (String, String),
    /// The lock's root entry: the tree's package.json.
    lock_root: serde_json::Value,
    /// The lock (a `local-tree` input) and its name in the tree.
    lock: String,
    lock_name: String,
    /// How errors name the lock.
    lock_display: String,
    toolchain: Tools,
    overrides: PathBuf,
    packages: Vec<PackageRecipe>,
}

/// `npm-app`: the project's files, the build script, the launchers.
#[derive(Serialize, Deserialize)]
struct AppRecipe {
    root: (String, String),
    /// The node_modules input.
    modules: String,
    /// The project's files (a `local-tree` input).
    tree: String,
    build: Option<String>,
    /// `result/bin`: name → path in the output.
    bin: BTreeMap<String, String>,
    toolchain: Tools,
    overrides: PathBuf,
}

/// The overrides that explain a failure and name what unflagged install
/// scripts need: the project's layers as `app` read them (it did, before
/// making the graph); none where they cannot be read (under Nix: no
/// `HOME`, no cache to unpack the community layer into). What the
/// overrides change in a build (environment, patches) is in the recipe.
fn overrides(project: &Path) -> Database {
    crate::overrides::load(project)
        .unwrap_or_else(|_| Database::load(&[]).unwrap_or_else(|_| Database::load_lenient(&[]).0))
}

fn dirs(out: &Out) -> OutputDirs {
    OutputDirs {
        building: out.building.to_owned(),
        final_path: out.final_path.to_owned(),
    }
}

/// node.rs's context for `node`'s steps, from the executor's.
fn steps_ctx<'a>(
    (ctx, node): (&'a exec::Ctx, &'a Node),
    toolchain: &'a Toolchain,
    db: &'a Database,
) -> Ctx<'a> {
    Ctx {
        sandbox: ctx.sandbox,
        steps: ctx.steps,
        jobs: ctx.jobs,
        store: ctx.store,
        toolchain,
        db,
        logs_dir: &ctx.logs_dir,
        env: &node.env,
    }
}

fn make_pack(ctx: &exec::Ctx, node: &Node, inputs: &Inputs, out: &Out) -> Result<()> {
    let r: PackRecipe = recipe(node)?;
    // A pack applies no patches (node_modules does, to what it lays out).
    let unpatched = PackageRecipe {
        patches: Vec::new(),
        ..r.package.clone()
    };
    let p = unpatched.package(None, Path::new("."))?;
    let git = p
        .git
        .clone()
        .ok_or_else(|| anyhow!("node `{}`: the package has no `git`", node.id))?;
    let source = input(inputs, &r.package.from, node)?;
    let toolchain = r.toolchain.toolchain();
    let npm = NpmSteps {
        sandbox: ctx.sandbox,
        steps: ctx.steps,
        jobs: ctx.jobs,
        toolchain: &toolchain,
        env: &node.env,
    };
    let log = ctx.logs_dir.join(format!("{}.log", node.id));
    let mut failed = None;
    match git::fill_pack(&npm, &p, &git, source, &dirs(out), &log, &mut failed) {
        Ok(()) => Ok(()),
        Err(e) => Err(match failed {
            Some(cause) => git::pack_failure(&overrides(&r.overrides), &p, &git, &log, &cause),
            None => e,
        }),
    }
}

fn make_modules(ctx: &exec::Ctx, node: &Node, inputs: &Inputs, out: &Out) -> Result<()> {
    let r: ModulesRecipe = recipe(node)?;
    let patches = tempfile::Builder::new()
        .prefix("lock2build-npm-patches-")
        .tempdir()?;
    let mut packages = Vec::new();
    for p in &r.packages {
        let from = input(inputs, &p.from, node)?;
        let tarball = match &p.git {
            Some(_) => Some(from.join("package.tgz")),
            // A tree the archive gave back: the store unpacks it.
            None => from.is_file().then(|| from.to_owned()),
        };
        packages.push(p.package(tarball, patches.path())?);
    }
    let nodes: Vec<plan::Node> = packages.iter().map(plan_node).collect();
    let node_refs: Vec<&plan::Node> = nodes.iter().collect();
    let db = overrides(&r.overrides);
    let toolchain = r.toolchain.toolchain();
    let npm_ctx = steps_ctx((ctx, node), &toolchain, &db);
    let id = NodeId::parse(&node.id)?;
    let flagged = script_steps(&packages, None, &ctx.logs_dir, &id)?;
    let tree = TreeInputs {
        packages: &packages,
        nodes: &node_refs,
        flagged: &flagged,
        lock_root: &r.lock_root,
        lockfile: (input(inputs, &r.lock, node)?, &r.lock_name),
        root: &r.root,
    };
    let mut failed: Option<Failure> = None;
    fill_node_modules(&npm_ctx, &tree, &id, &dirs(out), &mut failed).map_err(|e| match failed {
        Some(f) => f.message(&db),
        None => e.context(format!("laying out the node_modules of {}", r.lock_display)),
    })
}

/// What the overrides database is asked about a laid-out package.
fn plan_node(p: &Package) -> plan::Node {
    plan::Node {
        id: format!("npm:{}@{}:{}", p.name, p.version, p.location),
        ecosystem: Ecosystem::Npm,
        name: p.name.clone(),
        version: p.version.clone(),
        project: 0,
        root: false,
        source: Source::Registry { url: String::new() },
        artifact: None,
        extras: Vec::new(),
        dependencies: Vec::new(),
        location: Some(p.location.clone()),
        flags: Default::default(),
        platform: Default::default(),
        bin: BTreeMap::new(),
    }
}

fn make_app(ctx: &exec::Ctx, node: &Node, inputs: &Inputs, out: &Out) -> Result<()> {
    let r: AppRecipe = recipe(node)?;
    let modules = input(inputs, &r.modules, node)?;
    let project = input(inputs, &r.tree, node)?;
    let toolchain = r.toolchain.toolchain();
    // The app step reads no override: the database explains a failure only.
    let no_overrides = Database::load_lenient(&[]).0;
    let npm_ctx = steps_ctx((ctx, node), &toolchain, &no_overrides);
    let log = ctx.logs_dir.join(format!("{}.log", node.id));
    let dirs = dirs(out);
    let mut failed: Option<String> = None;
    let filled = fill_app(
        &npm_ctx,
        &dirs,
        project,
        modules,
        r.build.as_deref(),
        (&log, &r.root),
        &mut failed,
    );
    if let Err(e) = filled {
        let label = format!("{} {}", r.root.0, r.root.1);
        return Err(match failed {
            Some(cause) => failure_message(
                &overrides(&r.overrides),
                Ecosystem::Npm,
                &label,
                &r.root.0,
                &r.root.1,
                &log,
                &cause,
            ),
            None => anyhow!("{e}"),
        });
    }
    write_launchers(&dirs, modules, &r.toolchain.node, &r.bin)
}
