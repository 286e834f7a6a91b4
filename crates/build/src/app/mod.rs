//! `lock2build app`: a project's lockfile built into `./result`.
//!
//! One builder per ecosystem, each in its own module; they share the
//! store, the sandbox, the overrides database and what is here (the
//! options, the report, `result`, failure messages):
//!
//! ```text
//! python.rs  poetry.lock, uv.lock, requirements.txt → a venv-like environment
//! rust.rs    Cargo.lock                              → the workspace's binaries in result/bin
//! node.rs    package-lock.json                       → node_modules laid out by the lock, scripts run
//! script.rs  a PEP 723 script and its script.py.lock → python.rs's environment + a launcher
//! ```
//!
//! Which one runs: the format of the one lockfile built, which
//! `lock2build_plan::pick` chooses (`--lockfile`, else the richest lock of
//! the project's top directory, `--ecosystem` when there are several).

mod build_requirements;
mod cargo_git;
mod cargo_resolve;
mod cargo_vendor;
mod cargo_workspace;
pub mod exec;
pub mod nix_engine;
mod node;
mod node_graph;
pub mod noop;
pub use nix_engine::Engine;
mod parts;
mod python;
mod python_graph;
mod rust;
pub(crate) mod rust_graph;
mod script;

pub(crate) use parts::{build_project, vendor_crates};

use anyhow::{anyhow, bail, Context, Result};
use lock2build_fetch::FetchOptions;
use lock2build_model::Ecosystem;
use lock2build_overrides::{guess_from_log, Database};
use lock2build_plan::plan::{self, Plan, PlanOptions};
use lock2build_sandbox::Sandbox;
use lock2build_store::Store;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What `lock2build app` needs.
pub struct AppOptions {
    /// The project directory.
    pub dir: PathBuf,
    /// Planning (target, selection, index).
    pub plan: PlanOptions,
    /// The interpreter the app runs with.
    pub python: PathBuf,
    /// How builds run.
    pub sandbox: Sandbox,
    /// Downloads.
    pub fetch: FetchOptions,
    /// Installs and builds at once.
    pub jobs: usize,
    /// The link to make (`<dir>/result`).
    pub out_link: PathBuf,
    /// `--script` names (override lock2build.toml's `[app] scripts`).
    pub scripts: Vec<String>,
    /// Print progress lines on stderr.
    pub progress: bool,
    /// How build steps are shown (live lines, `-L`) and whether a failed
    /// one is kept (`-K`).
    pub steps: crate::progress::BuildProgress,
    /// Which of the project's ecosystems to build, when it has several.
    pub ecosystem: Option<Ecosystem>,
    /// The lockfile to build (`--lockfile`; else picked in `dir`).
    pub lockfile: Option<PathBuf>,
    /// A PEP 723 script to offer as `result/bin/<name>` (`app script.py`).
    pub script: Option<PathBuf>,
    /// Cargo features to enable (`--features`; else lock2build.toml's
    /// `[app] features`).
    pub features: Vec<String>,
    /// Cargo's `--no-default-features`.
    pub no_default_features: bool,
    /// Packages to build from source although they could be installed
    /// prebuilt (`overrides check`: npm packages get their install
    /// scripts run with their override; crates are always built).
    pub from_source: Vec<String>,
    /// `--locked`: a lock that no longer matches its manifest is an error
    /// (else a warning), and the build lock (lock2build.build.lock) is not
    /// changed: build requirements it lacks are an error.
    pub locked: bool,
    /// Build what `lock2build shell` needs rather than the app: a Python
    /// project installed editable (PEP 660) into its environment, an npm
    /// project's laid-out node_modules without the app (no build script).
    pub develop: bool,
}

/// What `lock2build app` did.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct AppReport {
    /// The `result` link.
    pub link: PathBuf,
    /// The app's store path (`result` points to it).
    pub output: PathBuf,
    /// The programs in `result/bin` (for Python: besides `python`).
    pub scripts: Vec<String>,
    /// Artifacts the plan needs.
    pub artifacts: usize,
    /// Of which downloaded now.
    pub downloaded: usize,
    /// Bytes downloaded now.
    pub bytes_downloaded: u64,
    /// Nodes built (installed, compiled or composed) now, by label.
    pub built: Vec<String>,
    /// Nodes already in the store.
    pub reused: usize,
    /// Build logs kept, by label.
    pub logs: BTreeMap<String, PathBuf>,
    /// Notes for the user (editable installs built as wheels, …).
    pub notes: Vec<String>,
}

impl AppReport {
    /// The report of a build into `output` whose plan needs `requests`,
    /// `fetched` what this run downloaded; nothing built, reused or noted yet.
    pub(crate) fn of(
        options: &AppOptions,
        output: PathBuf,
        requests: &[lock2build_fetch::FetchRequest],
        fetched: &lock2build_fetch::FetchReport,
    ) -> AppReport {
        let (downloaded, bytes_downloaded) = downloads(fetched);
        AppReport {
            link: options.out_link.clone(),
            output,
            scripts: Vec::new(),
            artifacts: distinct_artifacts(requests),
            downloaded,
            bytes_downloaded,
            built: Vec::new(),
            reused: 0,
            logs: BTreeMap::new(),
            notes: Vec::new(),
        }
    }
}

/// `lock2build doctor`'s toolchain lines, what `app` checks before building:
/// for a Python plan, the interpreter it builds with; for a plan with crates, the Rust
/// toolchain lock2build would build with; with npm packages that run
/// install scripts, node, npm and node's headers (node-gyp's `nodedir`).
/// Returns the text and whether everything needed is there.
pub fn toolchain_report(plan: &Plan) -> (String, bool) {
    let mut text = String::new();
    let mut ok = true;
    if plan
        .packages
        .iter()
        .any(|n| n.ecosystem == Ecosystem::Crates)
    {
        match cargo_vendor::RustToolchain::find() {
            Ok(t) => text.push_str(&format!(
                "Rust: {} ({}), cargo and rustc called directly\n",
                t.ids[0].version,
                t.sysroot.display()
            )),
            Err(e) => {
                ok = false;
                text.push_str(&format!("Rust: {e:#}\n"));
            }
        }
    }
    if plan.projects.iter().any(|p| p.ecosystem == Ecosystem::Pypi) {
        // The interpreter `app` builds with: the one planned for, else python3.
        let python = plan
            .target
            .python
            .interpreter
            .clone()
            .unwrap_or_else(|| PathBuf::from("python3"));
        match lock2build_python::PythonInfo::probe(&python) {
            Ok(p) => text.push_str(&format!(
                "Python: {} {}.{}.{} ({}), headers in {}\n",
                p.implementation,
                p.version.0,
                p.version.1,
                p.version.2,
                p.executable.display(),
                p.include.display()
            )),
            Err(e) => {
                ok = false;
                text.push_str(&format!("Python: {e:#}\n"));
            }
        }
    }
    let scripts = plan
        .packages
        .iter()
        .any(|n| n.ecosystem == Ecosystem::Npm && n.flags.has_install_script);
    if scripts {
        match node::Toolchain::find().and_then(|t| t.check_headers().map(|()| t)) {
            Ok(t) => text.push_str(&format!(
                "Node: {} with its headers in {} (node-gyp builds offline)\n",
                t.version,
                t.prefix.join("include/node").display()
            )),
            Err(e) => {
                ok = false;
                text.push_str(&format!("Node: {e:#}\n"));
            }
        }
    }
    (text, ok)
}

/// Builds the project in `options.dir`: picks its lockfile
/// ([`lock2build_plan::pick`]), plans only that one and runs its
/// ecosystem's builder.
pub fn build_app(options: &AppOptions) -> Result<AppReport> {
    load_overrides_early(options);
    let (plan, ecosystem, notes) = picked_plan(options)?;
    let mut report = match ecosystem {
        Ecosystem::Pypi => python::build(options, plan, 0),
        Ecosystem::Crates => rust::build(options, plan, 0),
        Ecosystem::Npm => node::build(options, plan, 0),
    }?;
    if let Some(script) = &options.script {
        report = script::add_launcher(options, script, report)?;
    }
    report.notes.splice(0..0, notes);
    Ok(report)
}

/// The build graph `app` would run for the project in `options.dir`
/// (`lock2build graph`, `app --engine nix`).
pub fn graph_for(options: &AppOptions) -> Result<lock2build_graph::Graph> {
    load_overrides_early(options);
    let (plan, ecosystem, _) = picked_plan(options)?;
    let mut graph = match ecosystem {
        Ecosystem::Crates => rust_graph::graph(options, &plan, 0)?,
        Ecosystem::Npm => node_graph::graph(options, open_store()?, plan, 0)?.graph,
        Ecosystem::Pypi => python::complete_graph(options, &plan, 0)?,
    };
    // The providers table only when a node links a native library.
    let db = match graph.nodes.iter().any(|n| !n.native.is_empty()) {
        true => Some(crate::overrides::load_for(&options.dir, ecosystem)?),
        false => None,
    };
    nix_engine::add_nixpkgs_names(&mut graph, db.as_ref().map(|db| db.providers()));
    Ok(graph)
}

/// Starts reading the overrides of the ecosystem the project is most
/// likely built as (the one asked for, the lockfile's, the only one whose
/// lockfiles the directory has) while its lock is read; a wrong guess only
/// loads a database nobody waits for.
fn load_overrides_early(options: &AppOptions) {
    let named = options
        .lockfile
        .as_deref()
        .and_then(lock2build_plan::discover::LockKind::from_path)
        .map(|k| k.ecosystem());
    let guess = options.ecosystem.or(named).or_else(|| {
        let found = top_ecosystems(&options.dir);
        (found.len() == 1)
            .then(|| found.into_iter().next())
            .flatten()
    });
    if let Some(ecosystem) = guess {
        crate::overrides::load_in_background(&options.dir, ecosystem);
    }
}

/// The plan of the lockfile `app` builds in `options.dir`
/// ([`lock2build_plan::pick`]: only that one), its ecosystem and the
/// notes picking it left.
fn picked_plan(options: &AppOptions) -> Result<(Plan, Ecosystem, Vec<String>)> {
    let picked = lock2build_plan::pick::pick_lockfile(
        &options.dir,
        options.lockfile.as_deref(),
        options.ecosystem,
    )?;
    let ecosystem = picked.graph.ecosystem;
    if let Some(script) = &options.script {
        let graph = &picked.graph;
        let locked: Vec<String> = graph
            .roots
            .iter()
            .flat_map(|&r| graph.package(r).dependencies.iter().map(|d| d.name.clone()))
            .collect();
        script::check_lock_is_current(script, &locked)?;
    }
    let plan = plan::plan_graphs(vec![picked.graph], &options.plan)?.plan;
    crate::progress::warn(&plan::check_locked(&plan, options.locked)?);
    crate::fetch_plan::store_local_files(&plan, &options.dir, open_store()?)?;
    Ok((plan, ecosystem, picked.notes))
}

/// The ecosystems of the lockfiles in `dir` itself (not below it): what
/// `lock2build app` and `overrides check` can build there.
pub fn top_ecosystems(dir: &Path) -> std::collections::BTreeSet<Ecosystem> {
    lock2build_plan::discover::find_lockfiles(dir)
        .unwrap_or_default()
        .iter()
        .filter(|l| l.display.parent() == Some(Path::new("")))
        .map(|l| l.kind.ecosystem())
        .collect()
}

/// Whether `lock2build app` in `dir` builds a Python project (and so needs
/// an interpreter to plan for): `--ecosystem`, else the `--lockfile`'s
/// format, else a Python lockfile in `dir` itself.
pub fn builds_python(dir: &Path, lockfile: Option<&Path>, ecosystem: Option<Ecosystem>) -> bool {
    if let Some(e) = ecosystem {
        return e == Ecosystem::Pypi;
    }
    match lockfile.and_then(lock2build_plan::discover::LockKind::from_path) {
        Some(kind) => kind.ecosystem() == Ecosystem::Pypi,
        None => top_ecosystems(dir).contains(&Ecosystem::Pypi),
    }
}

/// The project's `lock2build.toml` `[app]` table.
///
/// ```toml
/// [app]
/// scripts = ["flask", "gunicorn"]   # what result/bin holds (Python scripts, Rust binaries, npm bins)
/// features = ["pcre2"]              # Cargo features
/// no-default-features = false       # Cargo's --no-default-features
/// build-script = "ci-build-release" # npm: the package.json script the app step runs ("" for none)
/// bin = { server = "server/server.js" }  # npm: launchers for the project's own files
/// ```
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AppConfig {
    pub scripts: Option<Vec<String>>,
    pub features: Option<Vec<String>>,
    pub no_default_features: Option<bool>,
    pub build_script: Option<String>,
    pub bin: Option<BTreeMap<String, String>>,
}

impl AppConfig {
    /// `DIR/lock2build.toml`'s `[app]`, or nothing.
    pub fn read(dir: &Path) -> Result<AppConfig> {
        let path = dir.join("lock2build.toml");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(AppConfig::default()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        #[derive(serde::Deserialize)]
        struct File {
            app: Option<AppConfig>,
        }
        let file: File = toml::from_str(&text).map_err(|e| {
            anyhow!(
                "{}: {e}\n  help: `[app]` takes `scripts = [\"flask\"]` (what result/bin holds); for Cargo projects `features = [\"x\"]` and `no-default-features = true`; for npm projects `build-script = \"build\"` and `bin = {{ NAME = \"path/in/project.js\" }}`",
                path.display()
            )
        })?;
        Ok(file.app.unwrap_or_default())
    }
}

/// Fails, naming every native library and tool the source builds among
/// `nodes` need and the host lacks (`extra`: more missing ids, and a line
/// about them), with the command that installs them. `what` says whose
/// needs they are ("the crates", "the install scripts").
pub(crate) fn require_native(
    nodes: &[&lock2build_plan::plan::Node],
    db: &Database,
    what: &str,
    ecosystem: Ecosystem,
    extra: Option<(&str, &str)>,
) -> Result<()> {
    require_native_with(nodes, db, what, ecosystem, extra, None)
}

/// [`require_native`], with what the build knows of its knobs (the step's
/// environment, each package's features): a package that bundles its
/// native libraries needs them only when a knob asks for the system's.
pub(crate) fn require_native_with(
    nodes: &[&lock2build_plan::plan::Node],
    db: &Database,
    what: &str,
    ecosystem: Ecosystem,
    extra: Option<(&str, &str)>,
    knobs: Option<crate::overrides::BuildKnobs>,
) -> Result<()> {
    let needs = crate::overrides::native_needs(nodes.iter().copied(), db, knobs);
    let mut missing = needs.report.missing.clone();
    if let Some((id, _)) = extra {
        if !missing.iter().any(|m| m == id) {
            missing.push(id.to_owned());
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let mut text = format!(
        "{what} of this project need native libraries or tools this machine lacks: {}\n",
        missing.join(", ")
    );
    text.push_str(&needs.per_package());
    if let Some((_, line)) = extra {
        text.push_str(&format!("  {line}\n"));
    }
    text.push('\n');
    text.push_str(&crate::overrides::install_help(db, &missing));
    text.push_str(&format!("(the needs come from the overrides database: `lock2build overrides why {ecosystem}/NAME@VERSION` shows which file)"));
    bail!("{text}")
}

/// `result` → `output` (atomically), a gc root; the sources and outputs
/// the app used recorded as live for `lock2build gc`.
pub(crate) fn link_and_record(
    options: &AppOptions,
    store: &Store,
    project_dir: &Path,
    output: &Path,
    sources: &[lock2build_fetch::FetchRequest],
    outputs: Vec<lock2build_store::NodeId>,
) -> Result<()> {
    link_result(&options.out_link, output)?;
    store.add_root(&options.out_link)?;
    let mut live = lock2build_store::LiveSet::default();
    for r in sources {
        live.add_source(&r.hashes);
    }
    live.outputs = outputs;
    store.record_plan(&project_dir.display().to_string(), &live)?;
    Ok(())
}

/// What a failed `Store::build_output` says: the builder's own error (the
/// store's wrapper names only the node).
pub(crate) fn build_cause(e: &lock2build_store::StoreError) -> String {
    std::error::Error::source(e)
        .map(|s| s.to_string())
        .unwrap_or_else(|| e.to_string())
}

/// Applies override patches (`patch -p1`) to the unpacked package at
/// `dest`; `what` names it in the error, `spec` (`ECOSYSTEM/NAME@VERSION`)
/// is what `overrides why` takes.
pub(crate) fn apply_patches(
    dest: &Path,
    patches: &[PathBuf],
    what: &str,
    spec: &str,
) -> Result<()> {
    for patch in patches {
        let status = std::process::Command::new("patch")
            .args(["-p1", "--forward", "--batch", "-s", "-i"])
            .arg(patch)
            .current_dir(dest)
            .status()
            .with_context(|| "running `patch` (install it: `apt-get install patch`)")?;
        if !status.success() {
            bail!(
                "the override patch {} does not apply to {what}\n  help: remake it against the package's published files (`lock2build overrides why {spec}`)",
                patch.display()
            );
        }
    }
    Ok(())
}

/// Files downloaded now and their bytes, each file once (two lock entries
/// pinning the same file are one download).
pub(crate) fn downloads(report: &lock2build_fetch::FetchReport) -> (usize, u64) {
    let mut seen = std::collections::BTreeSet::new();
    let mut bytes = 0;
    for item in &report.items {
        if let lock2build_fetch::FetchedVia::Downloaded { bytes: b, .. } = &item.via {
            if seen.insert(&item.path) {
                bytes += b;
            }
        }
    }
    (seen.len(), bytes)
}

/// How many distinct files `requests` name (lock entries pinning the same
/// file count once).
pub(crate) fn distinct_artifacts(requests: &[lock2build_fetch::FetchRequest]) -> usize {
    requests
        .iter()
        .map(|r| Store::source_key(&r.hashes).unwrap_or_else(|_| r.label.clone()))
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

/// How much of a failed step's log is read (its end): 1 MiB.
pub(crate) const LOG_TAIL: u64 = 1 << 20;

/// A failed build step, as the user sees it: what failed, the log's last
/// lines and path, the override in use, what the log suggests is missing,
/// and the command that drafts an override.
pub(crate) fn failure_message(
    db: &Database,
    ecosystem: Ecosystem,
    label: &str,
    name: &str,
    version: &str,
    log: &Path,
    cause: &str,
) -> anyhow::Error {
    // The step wrote the log: its tail only (a step may write gigabytes).
    let text = lock2build_store::read_tail(log, LOG_TAIL);
    let kept = lock2build_sandbox::kept_dir(&text);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with(lock2build_sandbox::KEPT_MARKER))
        .collect();
    let lines = match lines.last() {
        Some(last) if kept.is_some() && last.is_empty() => &lines[..lines.len() - 1],
        _ => &lines[..],
    };
    let tail = &lines[lines.len().saturating_sub(25)..];
    let mut message = format!("building {label} from source failed: {cause}\n");
    if !tail.is_empty() {
        message.push_str("  last lines of the build log:\n");
        for line in tail {
            message.push_str(&format!("    | {line}\n"));
        }
    }
    if log.exists() {
        message.push_str(&format!("  whole log: {}\n", log.display()));
    }
    if let Some(dir) = kept {
        message.push_str(&format!(
            "  build directory kept at {} (--keep-failed; `lock2build gc` removes it)\n",
            dir.display()
        ));
    }
    let resolved = db.resolve(ecosystem, name, version);
    let mut origins: Vec<String> = Vec::new();
    for c in &resolved.provenance {
        let origin = c.origin.to_string();
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    if !origins.is_empty() {
        message.push_str(&format!(
            "  override in use: {} (`lock2build overrides why {ecosystem}/{name}@{version}`)\n",
            origins.join("; ")
        ));
    }
    let guessed = guess_from_log(db.providers(), &text);
    if !guessed.is_empty() {
        message.push_str(&format!(
            "  the log suggests these are missing: {}\n",
            guessed.join(", ")
        ));
    }
    message.push_str(&format!(
        "  help: if it needs a native library or tool, `lock2build overrides new {ecosystem}/{name} --from-log {}` drafts an override (`lock2build doctor` lists what the host lacks)",
        log.display()
    ));
    anyhow!("{message}")
}

/// Leaves out of `plan` the packages of lockfileVersion 1 locks whose own
/// package.json, read from a tarball the store has already, names another
/// platform (`lock2build_plan::manifest_platform`); nothing is fetched and
/// no store is made. How many were left out.
pub fn known_platforms(plan: &mut Plan) -> usize {
    if plan.projects.iter().all(|p| p.platform_unknown.is_empty()) {
        return 0;
    }
    let Ok(root) = Store::default_root() else {
        return 0;
    };
    if !root.is_dir() {
        return 0;
    }
    match Store::open(&root) {
        Ok(store) => node::known_platforms(&store, plan),
        Err(_) => 0,
    }
}

/// The store builds use, opened once per process and root: opening
/// sweeps `tmp/` and reads `meta/`, `plans/` and `gcroots/` (which grow
/// with the store), so the builders' several opens in one run cost one.
pub(crate) fn open_store() -> Result<&'static Store> {
    static OPENED: std::sync::Mutex<Vec<(PathBuf, &'static Store)>> =
        std::sync::Mutex::new(Vec::new());
    let root = Store::default_root()?;
    let mut opened = OPENED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, store)) = opened.iter().find(|(r, _)| *r == root) {
        return Ok(store);
    }
    let store = Store::open(&root)
        .with_context(|| format!("cannot open the store at {}", root.display()))?;
    let store: &'static Store = Box::leak(Box::new(store));
    opened.push((root, store));
    Ok(store)
}

pub(crate) fn patch_hashes(patches: &[PathBuf]) -> Result<Vec<String>> {
    patches
        .iter()
        .map(|p| {
            let bytes = std::fs::read(p)
                .with_context(|| format!("reading the override patch {}", p.display()))?;
            Ok(hex::encode(Sha256::digest(bytes)))
        })
        .collect()
}

/// Runs `f` over `items` on `jobs` threads; results in `items` order.
pub(crate) fn run_parallel<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<(&T, R)> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, items.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    items
        .iter()
        .zip(results)
        .filter_map(|(item, r)| r.map(|r| (item, r)))
        .collect()
}

/// A string as one POSIX shell word.
pub(crate) fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// `link` → `target`, replaced atomically.
pub(crate) fn link_result(link: &Path, target: &Path) -> Result<()> {
    if let Ok(meta) = std::fs::symlink_metadata(link) {
        if !meta.file_type().is_symlink() {
            bail!(
                "{} exists and is not a symlink; move it away or pass --out-link",
                link.display()
            );
        }
    }
    let tmp = link.with_file_name(format!(
        ".{}.tmp-{}",
        link.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    std::fs::rename(&tmp, link).with_context(|| format!("creating {}", link.display()))?;
    Ok(())
}

/// Directories never part of a project's source tree.
pub(crate) const NOT_SOURCE: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    "__pycache__",
    "node_modules",
    "target",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".lock2build",
    "result",
    // lock2build's own records (build requirements, recorded trees), not sources.
    lock2build_plan::build_lock::BUILD_LOCK_FILE,
    lock2build_archive::TREE_FILE,
];

pub(crate) fn skipped(name: &str) -> bool {
    NOT_SOURCE.contains(&name) || name.starts_with("result-")
}

/// sha256 over the project's files (relative path, mode, content; symlink
/// targets), in path order.
pub fn tree_hash(dir: &Path) -> Result<String> {
    let mut hasher = Sha256::new();
    let mut files = Vec::new();
    walk(dir, Path::new(""), &mut files)?;
    files.sort();
    for rel in files {
        let path = dir.join(&rel);
        let meta = std::fs::symlink_metadata(&path)?;
        hasher.update(rel.as_os_str().as_encoded_bytes());
        hasher.update([0]);
        if meta.file_type().is_symlink() {
            hasher.update(b"l");
            hasher.update(std::fs::read_link(&path)?.as_os_str().as_encoded_bytes());
        } else {
            use std::os::unix::fs::PermissionsExt;
            hasher.update(if meta.permissions().mode() & 0o111 != 0 {
                b"x"
            } else {
                b"f"
            });
            hasher.update(
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?,
            );
        }
        hasher.update([0]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// [`tree_hash`] of the project, remembered by the stamps (inode, size,
/// mtime, ctime: the no-op memo's) of the files it reads, in order: an
/// added, removed, renamed or written file hashes the tree again. A tree
/// with a symbolic link is hashed every time (a link's stamp is its
/// target's, and the hash reads the link).
pub(crate) fn remembered_tree_hash(dir: &Path) -> Result<String> {
    let mut files = Vec::new();
    walk(dir, Path::new(""), &mut files)?;
    files.sort();
    let mut paths = Vec::with_capacity(files.len());
    for rel in &files {
        let path = dir.join(rel);
        if std::fs::symlink_metadata(&path)?.file_type().is_symlink() {
            return tree_hash(dir);
        }
        paths.push(path);
    }
    let paths: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let dir_text = dir.display().to_string();
    lock2build_store::remembered_probe("tree hash/1", &paths, &[&dir_text], || tree_hash(dir))
}

pub(crate) fn walk(root: &Path, rel: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let dir = root.join(rel);
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        if skipped(&name.to_string_lossy()) {
            continue;
        }
        let rel = rel.join(&name);
        if entry.file_type()?.is_dir() {
            walk(root, &rel, files)?;
        } else {
            files.push(rel);
        }
    }
    Ok(())
}

/// Copies the project's source tree (what [`tree_hash`] covers) to `dest`.
pub(crate) fn copy_tree(src: &Path, dest: &Path) -> std::io::Result<()> {
    let mut files = Vec::new();
    walk(src, Path::new(""), &mut files).map_err(std::io::Error::other)?;
    std::fs::create_dir_all(dest)?;
    for rel in files {
        let from = src.join(&rel);
        let to = dest.join(&rel);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if std::fs::symlink_metadata(&from)?.file_type().is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&from)?, &to)?;
        } else {
            copy_writable(&from, &to)?;
        }
    }
    Ok(())
}

/// Copies every file of `src` (a commit's tree: nothing is left out, not
/// even what a project copy skips, such as `target/` or `result`), keeping
/// symbolic links and modes.
pub fn copy_all(src: &Path, dest: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dest)?;
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let (from, to) = (entry.path(), dest.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&from)?, &to)?;
        } else if kind.is_dir() {
            copy_all(&from, &to)?;
        } else {
            std::fs::copy(&from, &to)?;
        }
    }
    Ok(())
}

/// Copies a file and gives the copy its owner's write bit: store outputs
/// are read-only, their copies are build trees.
pub(crate) fn copy_writable(from: &Path, to: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::copy(from, to)?;
    let mode = std::fs::metadata(to)?.permissions().mode();
    if mode & 0o200 == 0 {
        std::fs::set_permissions(to, std::fs::Permissions::from_mode(mode | 0o200))?;
    }
    Ok(())
}
