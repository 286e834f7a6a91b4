//! The Node builder of `lock2build app`: a package-lock.json's tree laid
//! out as the lock says, its install scripts run in the sandbox, the
//! project's `build` script run, launchers in `result/bin`.
//!
//! The nodes, each a store output named by its identity:
//!
//! ```text
//! git pack      a git dependency's commit, `prepare` run, `npm pack`    ← commit (or archive hash), node, npm
//! node_modules  every tarball unpacked at its lock location, override    ← each package's location, name,
//!               patches applied, bin links made (`npm rebuild              version and integrity, its override
//!               --ignore-scripts`), then the install scripts of each       env, patches and native versions,
//!               package, deepest first, one sandbox step each              node, npm, cc, sandboxed or not
//!               (`npm rebuild NAME@VERSION --foreground-scripts`)
//! app           the project's files (app/), app/node_modules a writable  ← the tree's hash, node_modules,
//!               directory of links to the one above, the build script     the build script, the bins,
//!               (`build`, or lock2build.toml's `[app] build-script`),     node, npm, sandboxed
//!               and bin/ launchers (`exec node app/…`)
//! ```
//!
//! Granularity: the whole tree is one output. A changed tarball, override
//! or toolchain re-lays it out and runs every install script again; a
//! changed project file rebuilds only `app` (no native module is compiled
//! again). Nothing changed: nothing is fetched, nothing built.
//!
//! Each install-script step gets that package's override environment
//! only (`npm_config_build_from_source=true` for bcrypt < 6 stops
//! node-pre-gyp's download and compiles with node-gyp instead), and sees:
//! no network, an empty `HOME`, npm's configuration from the environment
//! (`userconfig`/`globalconfig` are empty files: the user's `~/.npmrc`
//! does not apply), `offline`, and `nodedir` = the node binary's own prefix,
//! whose `include/node` headers are checked first. node-gyp is npm's own;
//! python3, make and the C++ compiler are the host's.
//!
//! Dev dependencies: the plan has them when `--dev` is given, or when
//! there is a build script (the builder re-plans with them:
//! builds need their tools). They are then part of node_modules and stay
//! in the output, which is the tree the build ran with.
//!
//! Git dependencies (`git.rs`): the locked commit checked out (or a
//! GitHub archive fetched by its integrity), its `prepare` run and the
//! result packed by `npm pack` in the sandbox, one `npm-git-pack` output
//! each, unpacked into the tree like a registry tarball.
//!
//! `lock2build shell` (`AppOptions::develop`) stops after node_modules:
//! no `app` output, no build script.
//!
//! Not supported yet (a clear error names them): `file:` dependencies,
//! workspaces, registry packages without integrity or URL. The
//! project's own lifecycle scripts (`preinstall`, `postinstall`,
//! `prepare`) are not run; only the build script is.

pub(super) mod git;
mod laid;
pub(super) mod manifest;
pub(super) mod platforms;
pub(super) use platforms::known_platforms;
mod toolchain;

pub(super) use toolchain::NodeToolchain as Toolchain;

use super::{apply_patches, copy_tree, failure_message, open_store, patch_hashes, run_parallel};
use super::{link_and_record, require_native, AppConfig, AppOptions, AppReport};
use crate::progress::StepName;
use anyhow::{anyhow, bail, Context, Result};
use lock2build_model::{Ecosystem, Hash, Source};
use lock2build_overrides::{native_versions, Database, Resolved};
use lock2build_plan::plan::{self, Node, Plan, PlanArtifact, PlanOptions};
use lock2build_sandbox::{Mount, SandboxSpec};
use lock2build_store::{ArchiveFormat, NodeId, Store};
pub(super) use manifest::Manifest;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Instant;
use toolchain::NodeToolchain;

/// npm's private directory inside a step: an empty cache (everything is
/// laid out already) and empty `userconfig`/`globalconfig` files.
const NPM_DIR: &str = "/build/npm";

/// A package of the tree.
#[derive(Debug, Clone)]
pub(super) struct Package {
    pub name: String,
    pub version: String,
    /// `node_modules/a/node_modules/b`.
    pub location: String,
    /// The tarball's hashes.
    pub hashes: Vec<Hash>,
    pub integrity: String,
    /// Runs install scripts (the lock's `hasInstallScript`).
    pub scripts: bool,
    pub overrides: Resolved,
    /// Files from a git commit (packed by `git::fill_pack`).
    pub git: Option<git::GitSource>,
    /// The tarball to unpack when it is not `hashes`' store source (a
    /// git package's pack output).
    pub tarball: Option<PathBuf>,
}

impl Package {
    /// The package a plan node installs at `location`, from its tarball.
    fn of(node: &Node, location: String, artifact: &PlanArtifact, db: &Database) -> Package {
        Package {
            name: node.name.clone(),
            version: node.version.clone(),
            location,
            hashes: artifact.hashes.clone(),
            integrity: artifact
                .integrity
                .clone()
                .or_else(|| artifact.hashes.first().map(|h| h.to_sri()))
                .unwrap_or_default(),
            scripts: node.flags.has_install_script,
            overrides: db.resolve(Ecosystem::Npm, &node.name, &node.version),
            git: None,
            tarball: None,
        }
    }

    pub(super) fn label(&self) -> String {
        format!("{} {}", self.name, self.version)
    }

    /// The name npm knows it by: its folder (an alias's, for aliases).
    fn folder_name(&self) -> &str {
        self.location
            .rsplit_once("node_modules/")
            .map_or(self.location.as_str(), |(_, n)| n)
    }

    fn depth(&self) -> usize {
        self.location.matches("node_modules/").count()
    }
}

/// One install-script step: a name@version (every copy of it in the tree).
pub(super) struct ScriptStep {
    label: String,
    name: String,
    version: String,
    /// `folder@version`, what `npm rebuild` matches.
    spec: String,
    env: BTreeMap<String, String>,
    log: PathBuf,
}

/// Builds the npm project `project` of `plan`: its graph
/// ([`node_graph`](super::node_graph)), the tarballs fetched unless what
/// needs them is built already, the graph run, `result` linked.
pub(super) fn build(options: &AppOptions, plan: Plan, project: usize) -> Result<AppReport> {
    let started = Instant::now();
    let store = open_store()?;
    let npm = super::node_graph::graph(options, store, plan, project)?;
    if options.progress {
        eprintln!("{}", npm.header);
    }
    let goal = npm.app.clone().unwrap_or_else(|| npm.modules.clone());

    // The tarballs, unless what needs them is built already.
    let mut requests = npm.requests.clone();
    if store.output(&goal).is_some() || store.output(&npm.modules).is_some() {
        requests.clear();
    }
    let (fetched, _) =
        crate::fetch_plan::fetch_sources(store, &requests, &options.fetch, &options.dir)?;

    let ctx = super::exec::Ctx::for_app(options, &npm.graph, store, None)?;
    let logs_dir = ctx.logs_dir.clone();
    let shown = Shown {
        progress: options.progress,
        packages: npm.packages.len(),
    };
    let executed = super::exec::run(&ctx, &[goal.as_str()], &shown)?;
    let made: BTreeSet<&str> = executed.built.iter().map(String::as_str).collect();
    let was_made = |id: &NodeId| made.contains(id.to_string().as_str());

    let mut built = Vec::new();
    let mut logs = BTreeMap::new();
    for p in &npm.packages {
        if let Some(id) = npm.packs.get(&p.location) {
            let label = format!("{} (git pack)", p.label());
            if was_made(id) {
                built.push(label.clone());
            }
            logs.insert(label, logs_dir.join(format!("{id}.log")));
        }
    }
    let modules = store.output(&npm.modules);
    let steps = script_steps(&npm.packages, modules.as_deref(), &logs_dir, &npm.modules)?;
    if was_made(&npm.modules) {
        built.push("node_modules".to_owned());
        built.extend(steps.iter().map(|s| s.label.clone()));
    }
    for step in steps {
        logs.insert(step.label, step.log);
    }
    let mut reused = usize::from(!was_made(&npm.modules));
    let output = store
        .output(&goal)
        .ok_or_else(|| anyhow!("internal: {goal} was not built"))?;
    let mut scripts = Vec::new();
    let mut notes = npm.notes;
    let mut ids: Vec<NodeId> = std::iter::once(npm.modules.clone()).collect();
    // A dev shell stops at the laid-out tree (`<output>/node_modules`).
    if let Some(app) = &npm.app {
        let app_label = format!("{} {}", npm.root.0, npm.root.1);
        if npm.build_script.is_some() {
            logs.insert(app_label.clone(), logs_dir.join(format!("{app}.log")));
        }
        match was_made(app) {
            true => built.push(app_label),
            false => reused += 1,
        }
        scripts = npm.launchers.keys().cloned().collect();
        if scripts.is_empty() {
            notes.push(no_bin_note(&npm.root.0, &npm.manifest));
        }
        ids.push(app.clone());
    }
    ids.extend(npm.packs.values().cloned());
    link_and_record(
        options,
        store,
        &npm.project_dir,
        &output,
        &npm.live_requests,
        ids,
    )?;
    if options.progress && npm.app.is_some() {
        eprintln!("done in {:.1}s", started.elapsed().as_secs_f64());
    }
    Ok(AppReport {
        scripts,
        built,
        reused,
        logs,
        notes,
        ..AppReport::of(options, output, &npm.live_requests, &fetched)
    })
}

/// The progress lines of the npm build's long steps.
struct Shown {
    progress: bool,
    packages: usize,
}

impl lock2build_graph::Observer for Shown {
    fn started(&self, node: &lock2build_graph::Node) {
        if !self.progress {
            return;
        }
        let param = |key: &str| {
            node.recipe
                .params
                .get("package")
                .and_then(|p| p.get(key))
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        match node.recipe.kind.as_str() {
            "npm-node-modules" => {
                eprintln!("laying out node_modules ({} packages)…", self.packages)
            }
            "npm-git-pack" => {
                let commit = node.recipe.params["package"]["git"][1]
                    .as_str()
                    .unwrap_or_default();
                eprintln!(
                    "packing the git dependency {} {} ({})…",
                    param("name"),
                    param("version"),
                    &commit[..commit.len().min(12)]
                );
            }
            _ => {}
        }
    }
}

/// What every step of the build needs.
pub(super) struct Ctx<'a> {
    pub sandbox: &'a lock2build_sandbox::Sandbox,
    pub steps: &'a crate::progress::BuildProgress,
    pub jobs: usize,
    pub store: &'a Store,
    pub toolchain: &'a NodeToolchain,
    pub db: &'a Database,
    pub logs_dir: &'a Path,
    /// What every step gets from the node (the engine's `PATH` and library
    /// paths under `LOCK2BUILD_NIXPKGS`; empty otherwise).
    pub env: &'a BTreeMap<String, String>,
}

impl Ctx<'_> {
    pub(super) fn npm(&self) -> NpmSteps<'_> {
        NpmSteps {
            sandbox: self.sandbox,
            steps: self.steps,
            jobs: self.jobs,
            toolchain: self.toolchain,
            env: self.env,
        }
    }
}

/// A failed sandbox step: what the user is shown (`failure_message`).
pub(super) struct Failure {
    label: String,
    name: String,
    version: String,
    log: PathBuf,
    cause: String,
}

impl Failure {
    pub(super) fn message(self, db: &Database) -> anyhow::Error {
        failure_message(
            db,
            Ecosystem::Npm,
            &self.label,
            &self.name,
            &self.version,
            &self.log,
            &self.cause,
        )
    }
}

/// What the node_modules output is made from.
pub(super) struct TreeInputs<'a> {
    /// Each with its tarball (`Package::tarball`) when it is not the
    /// store's source of its hashes (a git package's pack).
    pub packages: &'a [Package],
    pub nodes: &'a [&'a Node],
    /// The install-script steps the lock's flags announce.
    pub flagged: &'a [ScriptStep],
    pub lock_root: &'a serde_json::Value,
    /// The lock to copy, and its name in the output.
    pub lockfile: (&'a Path, &'a str),
    pub root: &'a (String, String),
}

/// Fills the node_modules output: every tarball laid out (git packages:
/// their packs, made before), the root package.json and the lock, bin
/// links, then each install script step. A step that ran and failed is
/// left in `failed`.
pub(super) fn fill_node_modules(
    ctx: &Ctx,
    tree: &TreeInputs,
    modules_id: &NodeId,
    out: &lock2build_store::OutputDirs,
    failed: &mut Option<Failure>,
) -> Result<()> {
    let npm = ctx.npm();
    lay_out(ctx.store, tree.packages, &out.building, ctx.jobs)?;
    std::fs::write(
        out.building.join("package.json"),
        serde_json::to_string_pretty(tree.lock_root)?,
    )?;
    let (lockfile, lock_name) = tree.lockfile;
    std::fs::copy(lockfile, out.building.join(lock_name))?;
    let links_log = ctx.logs_dir.join(format!("{modules_id}.links.log"));
    let shown = StepName {
        name: "node_modules",
        label: "node_modules (bin links)",
    };
    let links = npm.run(
        out,
        &out.final_path,
        &["rebuild", "--ignore-scripts"],
        &BTreeMap::new(),
        (&links_log, shown),
    )?;
    if let Err(cause) = links {
        *failed = Some(Failure {
            label: "node_modules (bin links)".into(),
            name: tree.root.0.clone(),
            version: tree.root.1.clone(),
            log: links_log,
            cause,
        });
        bail!("linking bins failed");
    }
    let steps = script_steps(tree.packages, Some(&out.building), ctx.logs_dir, modules_id)?;
    let unflagged: Vec<&Node> = steps
        .iter()
        .filter(|s| !tree.flagged.iter().any(|f| f.spec == s.spec))
        .filter_map(|s| {
            tree.nodes
                .iter()
                .copied()
                .find(|n| !n.root && n.name == s.name && n.version == s.version)
        })
        .collect();
    if !unflagged.is_empty() {
        require_native(
            &unflagged,
            ctx.db,
            "the install scripts",
            Ecosystem::Npm,
            None,
        )?;
        ctx.toolchain.check_headers()?;
    }
    for step in &steps {
        let shown = StepName {
            name: &step.name,
            label: &format!("{} (install scripts)", step.label),
        };
        let result = npm.run(
            out,
            &out.final_path,
            &["rebuild", &step.spec, "--foreground-scripts"],
            &step.env,
            (&step.log, shown),
        )?;
        if let Err(cause) = result {
            *failed = Some(Failure {
                label: step.label.clone(),
                name: step.name.clone(),
                version: step.version.clone(),
                log: step.log.clone(),
                cause,
            });
            bail!("the install scripts of {} failed", step.label);
        }
    }
    // The scripts could write anywhere in the tree: what lock2build reads
    // from it later must still be sound before it is stored.
    laid::check_tree(&out.building, tree.packages)
}

/// Fills the app output: the project's files, a writable `node_modules`
/// of links into `modules`, and the build script run in it (a run that
/// failed leaves its cause in `failed`).
pub(super) fn fill_app(
    ctx: &Ctx,
    out: &lock2build_store::OutputDirs,
    project_dir: &Path,
    modules: &Path,
    build_script: Option<&str>,
    (build_log, root): (&Path, &(String, String)),
    failed: &mut Option<String>,
) -> Result<(), lock2build_store::BuildError> {
    let app = out.building.join("app");
    copy_tree(project_dir, &app)?;
    link_farm(&modules.join("node_modules"), &app.join("node_modules"))
        .map_err(|e| format!("{e:#}"))?;
    let Some(script) = build_script else {
        return Ok(());
    };
    let env = BTreeMap::from([("NODE_ENV".to_owned(), "production".to_owned())]);
    let shown = StepName {
        name: &root.0,
        label: &format!("{} {} (npm run {script})", root.0, root.1),
    };
    let result = ctx
        .npm()
        .run_in(
            out,
            &out.final_path.join("app"),
            modules,
            &["run", script],
            &env,
            (build_log, shown),
        )
        .map_err(|e| format!("{e:#}"))?;
    if let Err(cause) = result {
        *failed = Some(cause);
        return Err(format!("npm run {script} failed").into());
    }
    Ok(())
}

/// The plan again with the dev dependencies, and the index of `lockfile`'s
/// project in it.
pub(super) fn replan_with_dev(
    options: &AppOptions,
    lockfile: &Path,
    lock_display: &str,
) -> Result<(Plan, usize)> {
    let mut with_dev = options.plan.clone();
    with_dev.select.groups.push("dev".into());
    let replanned = plan::plan_project(&options.dir, &with_dev)?.plan;
    let index = replanned
        .projects
        .iter()
        .position(|p| p.lockfile == lockfile)
        .ok_or_else(|| anyhow!("internal: {lock_display} vanished when re-planned"))?;
    Ok((replanned, index))
}

/// What the node_modules identity covers of each package.
pub(super) fn package_identity<'a>(
    packages: &'a [Package],
    db: &Database,
) -> Result<Vec<PackageIdentity<'a>>> {
    packages
        .iter()
        .map(|p| {
            Ok(PackageIdentity {
                location: &p.location,
                name: &p.name,
                version: &p.version,
                integrity: &p.integrity,
                scripts: p.scripts,
                env: &p.overrides.env,
                patches: patch_hashes(&p.overrides.patches)?,
                native: native_versions(db.providers(), &p.overrides.native),
            })
        })
        .collect()
}

/// One package in the node_modules identity (serialized as it is, not
/// through a `serde_json::Value`: a lock has thousands).
#[derive(serde::Serialize)]
pub(super) struct PackageIdentity<'a> {
    location: &'a str,
    name: &'a str,
    version: &'a str,
    integrity: &'a str,
    scripts: bool,
    env: &'a BTreeMap<String, String>,
    patches: Vec<String>,
    native: BTreeMap<String, String>,
}

/// Whether the selection already includes npm devDependencies.
pub(super) fn wants_dev(options: &PlanOptions) -> bool {
    options.select.all_groups
        || options
            .select
            .groups
            .iter()
            .any(|g| g.eq_ignore_ascii_case("dev"))
}

/// The tree's packages, or one error naming every one lock2build cannot
/// lay out.
pub(super) fn packages(nodes: &[&Node], db: &Database, lock_display: &str) -> Result<Vec<Package>> {
    let mut out = Vec::new();
    let mut unsupported = Vec::new();
    let mut no_integrity = Vec::new();
    for node in nodes {
        if node.root && node.location.as_deref().is_some_and(|l| !l.is_empty()) {
            unsupported.push(format!(
                "  {} {} ({}): workspace member (workspaces are not laid out yet)",
                node.name,
                node.version,
                node.location.as_deref().unwrap_or_default()
            ));
            continue;
        }
        if node.root || node.flags.in_bundle {
            // The project itself; bundled packages come inside their
            // parent's tarball.
            continue;
        }
        let at = node.location.as_deref().unwrap_or("?");
        let what = format!("  {} {} ({at})", node.name, node.version);
        match (&node.source, &node.artifact) {
            (Source::Git { url, commit, .. }, Some(artifact)) => {
                let Some(location) = node.location.clone().filter(|l| safe_location(l)) else {
                    unsupported.push(format!("{what}: no install location inside node_modules"));
                    continue;
                };
                let mut package = Package::of(node, location, artifact, db);
                package.integrity = format!("git+{url}#{commit}");
                package.git = Some(git::GitSource {
                    url: url.clone(),
                    commit: commit.clone(),
                });
                out.push(package);
                continue;
            }
            (Source::Directory { path, .. }, _) => {
                unsupported.push(format!(
                    "{what}: local directory `{path}` (workspaces and `file:` directories are not laid out yet)"
                ));
                continue;
            }
            (Source::File { path }, _) => {
                unsupported.push(format!(
                    "{what}: local tarball `{path}` (`file:` tarballs are not laid out yet)"
                ));
                continue;
            }
            (Source::Virtual { .. }, _) => continue,
            (_, None) => {
                unsupported.push(format!("{what}: nothing to download"));
                continue;
            }
            _ => {}
        }
        let Some(artifact) = &node.artifact else {
            continue;
        };
        let Some(location) = node.location.clone().filter(|l| !l.is_empty()) else {
            unsupported.push(format!("{what}: no install location in the lock"));
            continue;
        };
        if !safe_location(&location) {
            unsupported.push(format!("{what}: location `{location}` leaves node_modules"));
            continue;
        }
        if artifact.hashes.is_empty() {
            no_integrity.push(what);
            continue;
        }
        if artifact.url.is_none() {
            unsupported.push(format!(
                "{what}: no download URL (no `resolved` and not from a registry)"
            ));
            continue;
        }
        out.push(Package::of(node, location, artifact, db));
    }
    if !no_integrity.is_empty() {
        bail!(
            "{lock_display}: these packages have no `integrity`, and lock2build only installs what a hash pins:\n{}\n  help: re-lock with npm (`npm install --package-lock-only`), which records the integrity of registry packages",
            no_integrity.join("\n")
        );
    }
    if !unsupported.is_empty() {
        bail!(
            "{lock_display}: lock2build cannot lay out these packages yet:\n{}\n  help: depend on them through the npm registry, or build this project with npm directly",
            unsupported.join("\n")
        );
    }
    out.sort_by(|a, b| a.location.cmp(&b.location));
    Ok(out)
}

/// A lock location that stays inside the output.
fn safe_location(location: &str) -> bool {
    !location.is_empty()
        && !location.starts_with('/')
        && !location.split('/').any(|c| c == ".." || c == ".")
}

/// One step per name@version with install scripts, deepest first (a
/// package's dependencies are built before it). With `tree` (the laid-out
/// node_modules output), also the packages whose package.json has install
/// scripts although the lock does not say so.
pub(super) fn script_steps(
    packages: &[Package],
    tree: Option<&Path>,
    logs_dir: &Path,
    id: &NodeId,
) -> Result<Vec<ScriptStep>> {
    let mut by_spec: BTreeMap<String, (usize, &Package)> = BTreeMap::new();
    for p in packages {
        let runs = match tree {
            _ if p.scripts => true,
            Some(tree) => laid::runs_scripts(tree, &p.location).with_context(|| {
                format!(
                    "reading the package.json of {} in {}\n  help: the laid-out tree was changed; `lock2build store verify --repair` removes a damaged output",
                    p.label(),
                    tree.display()
                )
            })?,
            None => false,
        };
        if !runs {
            continue;
        }
        let spec = format!("{}@{}", p.folder_name(), p.version);
        let entry = by_spec.entry(spec).or_insert((p.depth(), p));
        entry.0 = entry.0.max(p.depth());
    }
    let mut steps: Vec<(usize, ScriptStep)> = by_spec
        .into_iter()
        .map(|(spec, (depth, p))| {
            let file: String = format!("{}-{}", p.name, p.version)
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "._+-".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            (
                depth,
                ScriptStep {
                    label: p.label(),
                    name: p.name.clone(),
                    version: p.version.clone(),
                    spec,
                    env: p.overrides.env.clone(),
                    log: logs_dir.join(format!("{id}.{file}.log")),
                },
            )
        })
        .collect();
    steps.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.spec.cmp(&b.1.spec)));
    Ok(steps.into_iter().map(|(_, s)| s).collect())
}

/// Unpacks every tarball at its location under `out/node_modules`
/// (parents before the packages nested in them) and applies the override
/// patches.
fn lay_out(store: &Store, packages: &[Package], out: &Path, jobs: usize) -> Result<()> {
    let indexed: Vec<(usize, &Package)> = packages.iter().enumerate().collect();
    let unpacked = run_parallel(&indexed, jobs.max(1), |(i, p)| -> Result<PathBuf> {
        let work = out.join(format!(".unpack-{i}"));
        match &p.tarball {
            Some(file) => lock2build_store::unpack(file, ArchiveFormat::TarGz, &work)
                .with_context(|| format!("unpacking the tarball of {}", p.label()))?,
            // The stored tarball, or its tree recovered from the archive.
            None => {
                lock2build_archive::unpack_artifact(store, &p.hashes, ArchiveFormat::TarGz, &work)
                    .with_context(|| format!("unpacking the tarball of {}", p.label()))?;
            }
        }
        lock2build_store::single_top_dir(&work).ok_or_else(|| {
            anyhow!(
                "the tarball of {} does not hold one top directory (npm packs `package/`)",
                p.label()
            )
        })
    });
    let mut tops = Vec::new();
    for ((_, p), top) in unpacked {
        tops.push((*p, top?));
    }
    // Parents first: fewer components, then by path.
    tops.sort_by(|a, b| (a.0.depth(), &a.0.location).cmp(&(b.0.depth(), &b.0.location)));
    for (p, top) in &tops {
        let dest = out.join(&p.location);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if dest.exists() {
            // Shipped inside the parent's tarball: the lock's copy wins.
            std::fs::remove_dir_all(&dest)?;
        }
        std::fs::rename(top, &dest)
            .with_context(|| format!("moving {} into {}", p.label(), p.location))?;
        apply_patches(
            &dest,
            &p.overrides.patches,
            &format!("{} (at {})", p.label(), p.location),
            &format!("npm/{}@{}", p.name, p.version),
        )?;
    }
    for i in 0..packages.len() {
        let work = out.join(format!(".unpack-{i}"));
        if work.exists() {
            std::fs::remove_dir_all(&work)?;
        }
    }
    Ok(())
}

/// npm run in the sandbox, with the host's node.
pub(super) struct NpmSteps<'a> {
    pub sandbox: &'a lock2build_sandbox::Sandbox,
    pub steps: &'a crate::progress::BuildProgress,
    /// `JOBS` for node-gyp.
    pub jobs: usize,
    pub toolchain: &'a NodeToolchain,
    /// The node's environment, under each package's own ([`Ctx::env`]).
    pub env: &'a BTreeMap<String, String>,
}

impl NpmSteps<'_> {
    /// `npm ARGS` in the output's top directory, shown as `shown`.
    /// `Ok(Err(cause))`: it ran and failed.
    fn run(
        &self,
        out: &lock2build_store::OutputDirs,
        workdir: &Path,
        args: &[&str],
        env: &BTreeMap<String, String>,
        (log, shown): (&Path, StepName),
    ) -> Result<Result<(), String>> {
        self.step(out, workdir, &[], args, env, (log, shown))
    }

    /// `npm ARGS` in `workdir` (inside the output), with `modules` (the
    /// node_modules output) mounted read-only.
    fn run_in(
        &self,
        out: &lock2build_store::OutputDirs,
        workdir: &Path,
        modules: &Path,
        args: &[&str],
        env: &BTreeMap<String, String>,
        (log, shown): (&Path, StepName),
    ) -> Result<Result<(), String>> {
        self.step(
            out,
            workdir,
            &[Mount::new(modules, modules)],
            args,
            env,
            (log, shown),
        )
    }

    fn step(
        &self,
        out: &lock2build_store::OutputDirs,
        workdir: &Path,
        inputs: &[Mount],
        args: &[&str],
        env: &BTreeMap<String, String>,
        (log, shown): (&Path, StepName),
    ) -> Result<Result<(), String>> {
        let work = tempfile::Builder::new()
            .prefix("lock2build-npm-")
            .tempdir_in(lock2build_store::scratch_dir())?;
        std::fs::create_dir_all(work.path().join("cache"))?;
        std::fs::write(work.path().join("user.npmrc"), "")?;
        std::fs::write(work.path().join("global.npmrc"), "")?;
        let mut read_only: Vec<Mount> = self
            .toolchain
            .mounts()
            .into_iter()
            .map(|d| Mount::new(&d, &d))
            .collect();
        read_only.extend(inputs.iter().cloned());
        let mut spec = SandboxSpec {
            command: Vec::new(),
            env: BTreeMap::new(),
            read_only,
            output: Mount::new(&out.building, &out.final_path),
            scratch: vec![Mount::new(work.path(), NPM_DIR)],
            workdir: workdir.to_owned(),
            toolchain_dirs: vec![self.toolchain.bin_dir()],
        };
        let sandbox = self.sandbox;
        let npm_dir = sandbox.visible_path(&spec, Path::new(NPM_DIR));
        let seen = |file: &str| npm_dir.join(file).display().to_string();
        spec.command = [
            self.toolchain.node.clone().into_os_string(),
            self.toolchain.npm_cli.clone().into_os_string(),
        ]
        .into_iter()
        .chain(args.iter().map(OsString::from))
        .collect();
        let mut vars: BTreeMap<String, String> = [
            ("npm_config_userconfig", seen("user.npmrc")),
            ("npm_config_globalconfig", seen("global.npmrc")),
            ("npm_config_cache", seen("cache")),
            ("npm_config_offline", "true".into()),
            ("npm_config_audit", "false".into()),
            ("npm_config_fund", "false".into()),
            ("npm_config_update_notifier", "false".into()),
            ("npm_config_progress", "false".into()),
            ("npm_config_color", "false".into()),
            ("npm_config_loglevel", "info".into()),
            // npm's own debug log would land in the thrown-away cache.
            ("npm_config_logs_max", "0".into()),
            (
                "npm_config_nodedir",
                self.toolchain.prefix.display().to_string(),
            ),
            ("JOBS", self.jobs.max(1).to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        vars.extend(self.env.clone());
        vars.extend(env.clone());
        spec.env = vars;
        let running = self.steps.start(shown, log);
        let status = sandbox.run_watched(&spec, log, &running.watch())?;
        running.finish(status.success());
        Ok(if status.success() {
            Ok(())
        } else {
            Err(format!("`npm {}` exited with {status}", args.join(" ")))
        })
    }
}

/// The package.json script the app step runs: lock2build.toml's `[app]
/// build-script` (`""`: none), else `build` when there is one.
pub(super) fn build_script(
    manifest: &Manifest,
    config: &AppConfig,
    dir: &Path,
) -> Result<Option<String>> {
    match config.build_script.as_deref() {
        Some("") => Ok(None),
        Some(name) if manifest.scripts.contains(name) => Ok(Some(name.to_owned())),
        Some(name) => bail!(
            "{}: `[app] build-script = \"{name}\"`, but package.json has no script `{name}`\n  help: its scripts are: {}; `build-script = \"\"` runs none",
            dir.join("lock2build.toml").display(),
            if manifest.scripts.is_empty() {
                "(none)".to_owned()
            } else {
                manifest.scripts.iter().cloned().collect::<Vec<_>>().join(", ")
            }
        ),
        None => Ok(manifest.scripts.contains("build").then(|| "build".to_owned())),
    }
}

/// `result/bin`: `--script` (else lock2build.toml's `[app] scripts`)
/// chooses among all the bins below; without it, the project's own `bin`
/// and `[app] bin`, else the bins of its top-level run-time dependencies
/// (a dev tool, eslint or vite, is not the app). Name → path inside the
/// app output.
pub(super) fn launchers(
    options: &AppOptions,
    config: &AppConfig,
    manifest: &Manifest,
    nodes: &[&Node],
    packages: &[Package],
) -> Result<BTreeMap<String, String>> {
    let own: BTreeMap<String, String> = manifest
        .bin
        .iter()
        .chain(config.bin.iter().flatten())
        .map(|(name, path)| (name.clone(), format!("app/{}", clean(path))))
        .collect();
    let mut deps: BTreeMap<String, String> = BTreeMap::new();
    let mut dev_deps: BTreeMap<String, String> = BTreeMap::new();
    let top: BTreeSet<&str> = nodes
        .iter()
        .filter(|n| n.root)
        .flat_map(|n| n.dependencies.iter().map(String::as_str))
        .collect();
    for node in nodes.iter().filter(|n| top.contains(n.id.as_str())) {
        let Some(location) = &node.location else {
            continue;
        };
        if !packages.iter().any(|p| &p.location == location) {
            continue;
        }
        let top_name = location.strip_prefix("node_modules/").unwrap_or(location);
        let into = if node.flags.dev || manifest.dev_only.contains(top_name) {
            &mut dev_deps
        } else {
            &mut deps
        };
        for (name, path) in &node.bin {
            into.entry(name.clone())
                .or_insert_with(|| format!("app/{location}/{}", clean(path)));
        }
    }
    let wanted = if options.scripts.is_empty() {
        config.scripts.clone().unwrap_or_default()
    } else {
        options.scripts.clone()
    };
    if wanted.is_empty() {
        return Ok(if own.is_empty() { deps } else { own });
    }
    let mut chosen = BTreeMap::new();
    for name in &wanted {
        let path = own
            .get(name)
            .or_else(|| deps.get(name))
            .or_else(|| dev_deps.get(name))
            .ok_or_else(|| {
            let known: Vec<&String> = own.keys().chain(deps.keys()).chain(dev_deps.keys()).collect();
            anyhow!(
                "--script {name}: neither the project nor its top-level dependencies have a bin of that name\n  help: the bins are: {}",
                if known.is_empty() {
                    "(none)".to_owned()
                } else {
                    known.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                }
            )
        })?;
        chosen.insert(name.clone(), path.clone());
    }
    Ok(chosen)
}

/// The note for a project whose `result/bin` is empty: how to name its
/// entry point (package.json's `main`, when it has one).
pub(super) fn no_bin_note(name: &str, manifest: &Manifest) -> String {
    let entry = manifest
        .main
        .as_deref()
        .map_or("path/to/entry.js", clean_str);
    format!(
        "neither {name} nor its run-time dependencies declare a `bin`: result/bin is empty (the app is in result/app)\n  help: name its entry point in lock2build.toml: `[app] bin = {{ {} = \"{entry}\" }}`",
        name.rsplit('/').next().unwrap_or(name)
    )
}

/// `./bin/x.js` → `bin/x.js`.
fn clean(path: &str) -> String {
    clean_str(path).to_owned()
}

fn clean_str(path: &str) -> &str {
    path.trim_start_matches("./")
}

/// The app's `node_modules`: a writable directory whose entries are
/// symbolic links to those of the node_modules output (`@scope`
/// directories made, their packages linked), so that a build can create
/// `node_modules/.vite-temp` or `.cache` while the laid-out packages stay
/// read-only. Node resolves a package's own dependencies from its real
/// path, the complete tree in the store.
fn link_farm(tree: &Path, dest: &Path) -> Result<()> {
    std::fs::create_dir_all(dest).with_context(|| format!("creating {}", dest.display()))?;
    let read = |dir: &Path| -> Result<Vec<std::fs::DirEntry>> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .collect::<std::io::Result<_>>()?;
        entries.sort_by_key(|e| e.file_name());
        Ok(entries)
    };
    for entry in read(tree)? {
        let name = entry.file_name();
        let is_scope = name.to_string_lossy().starts_with('@') && entry.file_type()?.is_dir();
        if is_scope {
            let scope = dest.join(&name);
            std::fs::create_dir_all(&scope)?;
            for member in read(&entry.path())? {
                std::os::unix::fs::symlink(member.path(), scope.join(member.file_name()))?;
            }
        } else {
            std::os::unix::fs::symlink(entry.path(), dest.join(&name))?;
        }
    }
    Ok(())
}

/// `out/bin/NAME`: `exec NODE <final>/PATH "$@"`, each PATH a regular
/// file inside its package ([`laid::check_bin`]).
pub(super) fn write_launchers(
    dirs: &lock2build_store::OutputDirs,
    modules: &Path,
    node: &Path,
    launchers: &BTreeMap<String, String>,
) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let (out, final_path) = (&dirs.building, &dirs.final_path);
    let bin = out.join("bin");
    std::fs::create_dir_all(&bin)?;
    for (name, path) in launchers {
        if name.contains('/') || name.is_empty() || name == "." || name == ".." {
            bail!("the bin name `{name}` is not a file name");
        }
        laid::check_bin(out, modules, name, path)?;
        let script = format!(
            "#!/bin/sh\n# lock2build: {name} of {}\nexec {} {} \"$@\"\n",
            final_path.display(),
            shell_quote(&node.display().to_string()),
            shell_quote(&final_path.join(path).display().to_string())
        );
        let file = bin.join(name);
        std::fs::write(&file, script)?;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

/// A string as one POSIX shell word.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}
