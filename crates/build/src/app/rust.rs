//! The Rust builder of `lock2build app`: a Cargo.lock's workspace built
//! offline, in the sandbox, into `result/bin`.
//!
//! The nodes, each a store output named by its identity:
//!
//! ```text
//! vendor  the lock's registry crates unpacked, as cargo's directory   ← each .crate's sha256, override patches
//!         source wants them (`.cargo-checksum.json`), patches applied
//! deps    the workspace's skeleton (manifests, lock, empty targets)   ← the skeleton's hash, vendor, override env,
//!         built: the dependencies compiled, the target directory        host library versions, rustc, cargo, cc
//! app     `cargo build --release --offline --locked` of a copy of the   ← the tree's hash, vendor, deps, the same
//!         project, from deps' target directory; binaries in bin/
//! ```
//!
//! As crane does, the dependencies build from a skeleton whose hash does
//! not change when the project's code does: an edit recompiles the
//! project's crates only (their sources are newer than the copied target
//! directory, whose times are kept).
//!
//! cargo builds every crate of the workspace in one step (it orders and
//! parallelises them itself); the step sees the vendor directory at
//! `/build/vendor`, the project at `/build/src`, a `CARGO_HOME` whose
//! `config.toml` replaces crates.io with the vendor directory, and no
//! network. The toolchain is the host's (`rustc --print sysroot`), called
//! directly, not through rustup's proxies. Overrides add environment
//! variables (`OPENSSL_NO_VENDOR=1`, `LIBSQLITE3_SYS_USE_PKG_CONFIG=1`) to
//! the step and patches to the vendored crates; the native libraries and
//! tools they name are checked on the host before anything is fetched.
//!
//! `from_source` (for `overrides check`) builds only those crates of the
//! lock (`cargo build -p NAME@VERSION`) instead of the workspace.

use super::cargo_git::GitCrates;
use super::cargo_vendor::{cargo_config_for, RustToolchain};
use super::{
    copy_tree, distinct_artifacts, downloads, exec, failure_message, link_and_record, open_store,
    shell_quote, AppOptions, AppReport,
};
use crate::progress::StepName;
use anyhow::{anyhow, bail, Context, Result};
use lock2build_model::{Ecosystem, Source};
use lock2build_plan::plan::{Node, Plan};
use lock2build_sandbox::{Mount, Overlay, SandboxError, SandboxSpec, StepWatch};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Where the step sees its inputs.
const VENDOR: &str = "/build/vendor";
const SRC: &str = "/build/src";
const CARGO_HOME: &str = "/build/cargo-home";
const TARGET: &str = "/build/target";
/// cargo's JSON messages, written next to the build (not into the log).
const MESSAGES: &str = "lock2build-messages.json";

/// Builds the Cargo project `project` of `plan`: its graph
/// ([`super::rust_graph`]), the `.crate` files fetched (in parallel, with
/// progress), then the graph's nodes the app still needs, by the executor.
pub(super) fn build(options: &AppOptions, plan: Plan, project: usize) -> Result<AppReport> {
    let started = Instant::now();
    let say = |line: String| {
        if options.progress {
            eprintln!("{line}");
        }
    };
    let g = super::rust_graph::plan_graph(options, &plan, project, true)?;
    let store = open_store()?;
    // The .crate files, unless what needs them is built already.
    let app_done = store.output(&g.app).is_some();
    let vendor_done = store.output(&g.vendor).is_some();
    let mut requests = g.requests.clone();
    if app_done || vendor_done {
        requests.clear();
    }
    let (fetched, _) =
        crate::fetch_plan::fetch_sources(store, &requests, &options.fetch, &options.dir)?;
    let ctx = exec::Ctx::for_app(options, &g.graph, store, None)?;
    let logs_dir = ctx.logs_dir.clone();
    if !app_done && !vendor_done {
        say(format!("vendoring {} crates…", g.crates));
    }
    let failed = FailedNode::default();
    let executed = exec::run(&ctx, &[g.app.as_str()], &failed)
        .map_err(|e| failure(&g, &logs_dir, failed.node().as_deref(), e))?;
    let made = executed
        .outputs
        .get(g.app.as_str())
        .cloned()
        .ok_or_else(|| anyhow!("internal: {} was not made", g.app))?;

    // What was built, what was there: the vendor directory, the
    // dependencies, the app.
    let deps_label = format!("dependencies of {}", g.root.0);
    let steps = [
        (Some(&g.vendor), "vendor directory"),
        (g.deps.as_ref(), deps_label.as_str()),
        (Some(&g.app), g.label.as_str()),
    ];
    let mut built = Vec::new();
    let mut reused = 0usize;
    for (id, label) in steps {
        let Some(id) = id else { continue };
        if executed.built.iter().any(|b| b == id.as_str()) {
            built.push(label.to_owned());
        } else if store.output(id).is_some() {
            reused += 1;
        }
    }
    let log = logs_dir.join(format!("{}.log", g.app));
    let mut logs = BTreeMap::new();
    if g.selected.is_empty() {
        logs.insert(g.label.clone(), log.clone());
    } else {
        for n in &g.selected {
            logs.insert(format!("{} {}", n.name, n.version), log.clone());
        }
    }
    let mut notes = g.notes.clone();
    let scripts = list_bin(&made);
    if g.selected.is_empty() && scripts.is_empty() {
        notes.push(format!(
            "{} builds no binary: result/bin is empty",
            g.root.0
        ));
    }

    link_and_record(
        options,
        store,
        &g.project_dir,
        &made,
        &g.requests,
        std::iter::once(g.vendor.clone())
            .chain(g.deps.clone())
            .chain([g.app.clone()])
            .collect(),
    )?;
    say(format!("done in {:.1}s", started.elapsed().as_secs_f64()));
    let (downloaded, bytes_downloaded) = downloads(&fetched);
    Ok(AppReport {
        link: options.out_link.clone(),
        output: made,
        scripts,
        artifacts: distinct_artifacts(&g.requests),
        downloaded,
        bytes_downloaded,
        built,
        reused,
        logs,
        notes,
    })
}

/// Which node failed (the executor tells it as it ends).
#[derive(Default)]
struct FailedNode(std::sync::Mutex<Option<String>>);

impl FailedNode {
    fn node(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl lock2build_graph::Observer for FailedNode {
    fn finished(&self, node: &lock2build_graph::Node, ok: bool, _: std::time::Duration) {
        if !ok {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_or_insert(node.id.clone());
        }
    }
}

/// A failed run, as the user sees it: a cargo step's failure names the
/// crate cargo reports, its log and the override command; anything else
/// (vendoring) is said as it is.
fn failure(
    g: &super::rust_graph::RustGraph,
    logs_dir: &Path,
    node: Option<&str>,
    e: anyhow::Error,
) -> anyhow::Error {
    let label = match node {
        Some(n) if n == g.app.as_str() => g.label.clone(),
        Some(n) if g.deps.as_ref().is_some_and(|d| d.as_str() == n) => {
            format!("dependencies of {}", g.root.0)
        }
        _ => return e,
    };
    let log = logs_dir.join(format!("{}.log", node.unwrap_or_default()));
    let cause = e.to_string();
    let (name, version, cause) = match failed_crate(&log, &g.nodes) {
        Some((name, version)) => {
            let cause = format!("{cause}; cargo reports that {name} {version} failed");
            (name, version, cause)
        }
        None => (g.root.0.clone(), g.root.1.clone(), cause),
    };
    failure_message(
        &g.db,
        Ecosystem::Crates,
        &label,
        &name,
        &version,
        &log,
        &cause,
    )
}

/// The package the app is named after: the root at the lock's directory,
/// else the first root (a virtual workspace's first member).
pub(super) fn root_package(nodes: &[&Node]) -> (String, String) {
    let at_top = |n: &&&Node| matches!(&n.source, Source::Directory { path, .. } if path.is_empty() || path == ".");
    nodes
        .iter()
        .filter(|n| n.root)
        .find(at_top)
        .or_else(|| nodes.iter().find(|n| n.root))
        .map(|n| (n.name.clone(), n.version.clone()))
        .unwrap_or_else(|| ("workspace".into(), String::new()))
}

/// Copies a directory tree, keeping each file's modification time (cargo
/// decides what is fresh by them). Symlinks are copied as links; a FIFO,
/// socket or device (what a build step may leave in its target directory)
/// is an error, never opened.
fn copy_with_times(src: &Path, dest: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dest)?;
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let from = entry.path();
        let to = dest.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_with_times(&from, &to)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&from)?, &to)?;
        } else if !kind.is_file() {
            return Err(std::io::Error::other(format!(
                "{} is {}: a build directory holds only files, directories and symlinks",
                from.display(),
                lock2build_store::kind_name(kind)
            )));
        } else {
            super::copy_writable(&from, &to)?;
            let modified = std::fs::metadata(&from)?.modified()?;
            std::fs::File::options()
                .write(true)
                .open(&to)?
                .set_modified(modified)?;
        }
    }
    Ok(())
}

/// [`rebuilt_units`] and [`written_dirs`] of a stored target directory.
/// A store output is never written again: the lists are remembered by its
/// path and its directory's stamp (a removed and remade output has another
/// inode and ctime), as the stubs' NAR hash is, instead of reading its
/// `.d` files at every edit.
fn overlay_lists(lower: &Path) -> std::io::Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let read = || Ok::<_, std::io::Error>((rebuilt_units(lower)?, written_dirs(lower)?));
    let Some(seen) = lower.to_str() else {
        return read();
    };
    let text = lock2build_store::remembered_probe(
        "overlay of a stored target directory/1",
        &[lower],
        &[seen],
        || serde_json::to_string(&read()?).map_err(std::io::Error::other),
    );
    // A path JSON cannot hold, an unreadable memo: read them again.
    match text.ok().and_then(|t| serde_json::from_str(&t).ok()) {
        Some(lists) => Ok(lists),
        None => read(),
    }
}

/// What of a stored dependencies' target directory (`lower`) the project's
/// build writes again, relative to it: cargo rewrites these files in place,
/// and they are read-only in the store, so an overlay of it hides them
/// (they are stale anyway). That is every unit compiled from the project's
/// tree (its `.d` names a relative path or one under [`SRC`]; in the
/// skeleton, its crates with empty targets), by package name in `.fingerprint/` and `build/` and
/// by hash in `deps/`, and every file at the top of `release/` (what cargo
/// copies the workspace's own artifacts to, and its lock). Hiding more
/// than needed is safe: cargo rebuilds what it does not find.
fn rebuilt_units(lower: &Path) -> std::io::Result<Vec<PathBuf>> {
    let release = Path::new("release");
    // Only real directories: the list is removed in the overlay by a
    // process that may write the host, and a build could have left a
    // symlink in its target directory.
    let real_dir = |dir: &Path| {
        dir.ancestors()
            .all(|d| std::fs::symlink_metadata(lower.join(d)).is_ok_and(|m| m.file_type().is_dir()))
    };
    let names = |dir: &Path| -> std::io::Result<Vec<(String, bool)>> {
        if !real_dir(dir) {
            return Ok(Vec::new());
        }
        let Ok(entries) = std::fs::read_dir(lower.join(dir)) else {
            return Ok(Vec::new());
        };
        entries
            .map(|e| {
                let e = e?;
                Ok((
                    e.file_name().to_string_lossy().into_owned(),
                    e.file_type()?.is_dir(),
                ))
            })
            .collect()
    };
    // cargo gives rustc the project's files relative to the workspace,
    // a vendored crate's absolute (under VENDOR); `#` lines are rustc's
    // notes (`# env-dep:…`).
    let from_project = |d: &Path| {
        lock2build_store::read_untrusted_string(&lower.join(d), lock2build_store::RECORD_LIMIT)
            .map_or(true, |text| {
                text.lines()
                    .filter(|line| !line.starts_with('#'))
                    .flat_map(str::split_whitespace)
                    .any(|word| !word.starts_with('/') || word.starts_with(&format!("{SRC}/")))
            })
    };
    // `NAME-HASH` (16 hex digits), as cargo names a unit's files.
    let unit = |entry: &str| {
        let stem = entry.split('.').next().unwrap_or(entry);
        let (name, hash) = stem.rsplit_once('-')?;
        (hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| (name.to_owned(), hash.to_owned()))
    };
    let mut hashes = BTreeSet::new();
    for (entry, _) in names(&release.join("deps"))? {
        if entry.ends_with(".d") && from_project(&release.join("deps").join(&entry)) {
            hashes.extend(unit(&entry).map(|(_, h)| h));
        }
    }
    for (dir, is_dir) in names(&release.join("build"))? {
        let inner = release.join("build").join(&dir);
        if is_dir
            && names(&inner)?
                .iter()
                .any(|(f, _)| f.ends_with(".d") && from_project(&inner.join(f)))
        {
            hashes.extend(unit(&dir).map(|(_, h)| h));
        }
    }
    let mut packages = BTreeSet::new();
    for dir in [".fingerprint", "build"] {
        for (entry, _) in names(&release.join(dir))? {
            if let Some((name, hash)) = unit(&entry) {
                if hashes.contains(&hash) {
                    packages.insert(name);
                }
            }
        }
    }
    let mut remove = Vec::new();
    let mut hidden = BTreeSet::new();
    for dir in [".fingerprint", "build"] {
        for (entry, _) in names(&release.join(dir))? {
            if let Some((name, hash)) = unit(&entry) {
                if packages.contains(&name) {
                    hidden.insert(hash);
                    remove.push(release.join(dir).join(entry));
                }
            }
        }
    }
    for (entry, _) in names(&release.join("deps"))? {
        if unit(&entry).is_some_and(|(_, h)| hidden.contains(&h) || hashes.contains(&h)) {
            remove.push(release.join("deps").join(entry));
        }
    }
    for (entry, is_dir) in names(release)? {
        if !is_dir {
            remove.push(release.join(entry));
        }
    }
    Ok(remove)
}

/// The directories of a stored dependencies' target directory (`lower`)
/// the project's build creates files in: the top, `release/`, the
/// directories right in it (`deps/`, `.fingerprint/`, `build/`, …) and
/// those in `build/` (cargo links each build script to
/// `build-script-build` again, fresh or not). A fresh unit's other
/// directories are not written; a build that writes there after all fails
/// on them, and the step runs on a copy ([`CargoStep::run_cargo`]).
fn written_dirs(lower: &Path) -> std::io::Result<Vec<PathBuf>> {
    let subdirs = |rel: &Path| -> std::io::Result<Vec<PathBuf>> {
        let dir = lower.join(rel);
        if !std::fs::symlink_metadata(&dir).is_ok_and(|m| m.file_type().is_dir()) {
            return Ok(Vec::new());
        }
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                found.push(rel.join(entry.file_name()));
            }
        }
        Ok(found)
    };
    let mut dirs = vec![PathBuf::from(".")];
    if subdirs(Path::new(""))?.contains(&PathBuf::from("release")) {
        dirs.push(PathBuf::from("release"));
        dirs.extend(subdirs(Path::new("release"))?);
        dirs.extend(subdirs(Path::new("release/build"))?);
    }
    Ok(dirs)
}

/// What a cargo step builds.
pub(super) enum StepKind<'a> {
    /// The dependencies only: the workspace's skeleton (manifests, the lock,
    /// empty targets) built; the output is the target directory.
    Deps { skeleton: &'a Path },
    /// The project; it starts from a [`StepKind::Deps`] output's target
    /// directory when there is one. The output is `bin/`.
    App {
        project: &'a Path,
        deps: Option<&'a Path>,
    },
}

/// One `cargo build` in the sandbox.
pub(super) struct CargoStep<'a> {
    pub sandbox: &'a lock2build_sandbox::Sandbox,
    pub steps: &'a crate::progress::BuildProgress,
    pub toolchain: &'a RustToolchain,
    /// The vendor directory's git sources.
    pub git: Option<&'a GitCrates>,
    pub vendor: &'a Path,
    pub env: &'a BTreeMap<String, String>,
    /// `NAME@VERSION` to build instead of the workspace.
    pub packages: &'a [String],
    /// `--features …`, `--no-default-features`.
    pub selection: &'a [String],
    /// `--bin NAME` for each (the app step only).
    pub bins: &'a [String],
}

impl CargoStep<'_> {
    /// Builds `kind` in scratch directories and fills `out` (`final_path`:
    /// where `out` will live); the step's output goes to `log`, and is
    /// shown as `shown`.
    pub(super) fn run(
        &self,
        kind: &StepKind,
        (out, final_path): (&Path, &Path),
        log: &Path,
        shown: StepName,
    ) -> Result<()> {
        let work = tempfile::Builder::new()
            .prefix("lock2build-cargo-")
            .tempdir_in(lock2build_store::scratch_dir())?;
        let src = work.path().join("src");
        let home = work.path().join("cargo-home");
        let target_dir = work.path().join("target");
        std::fs::create_dir_all(&home)?;
        std::fs::create_dir_all(&target_dir)?;
        let overlay = self.start_from_deps(kind, &target_dir)?;
        let tree = match kind {
            StepKind::Deps { skeleton } => skeleton,
            StepKind::App { project, .. } => project,
        };
        copy_tree(tree, &src).with_context(|| format!("copying {}", tree.display()))?;
        let mut spec = SandboxSpec {
            command: Vec::new(),
            env: BTreeMap::new(),
            read_only: vec![
                Mount::new(self.vendor, VENDOR),
                Mount::new(&self.toolchain.sysroot, &self.toolchain.sysroot),
            ],
            output: Mount::new(out, final_path),
            scratch: vec![Mount::new(&src, SRC), Mount::new(&home, CARGO_HOME)],
            workdir: PathBuf::from(SRC),
            toolchain_dirs: vec![self.toolchain.sysroot.join("bin")],
        };
        if overlay.is_none() {
            spec.scratch.push(Mount::new(&target_dir, TARGET));
        }
        let sandbox = self.sandbox;
        let seen = |inside: &str| sandbox.visible_path(&spec, Path::new(inside));
        let vendor_seen = seen(VENDOR);
        let home_seen = seen(CARGO_HOME);
        let target_seen = seen(TARGET);
        std::fs::write(
            home.join("config.toml"),
            cargo_config_for(&vendor_seen, self.git),
        )?;
        let mut args = vec![
            "build".to_owned(),
            "--release".into(),
            "--offline".into(),
            "--locked".into(),
            "--message-format=json-render-diagnostics".into(),
        ];
        if self.packages.is_empty() {
            args.push("--workspace".into());
        } else {
            for p in self.packages {
                args.extend(["-p".into(), p.clone()]);
            }
        }
        args.extend(self.selection.iter().cloned());
        if let StepKind::App { .. } = kind {
            for bin in self.bins {
                args.extend(["--bin".into(), bin.clone()]);
            }
        }
        let messages = target_seen.join(MESSAGES);
        let script = format!(
            "exec \"$0\" \"$@\" > {}",
            shell_quote(&messages.display().to_string())
        );
        spec.command = std::iter::once(OsString::from("/bin/sh"))
            .chain(["-c".into(), script.into()])
            .chain(std::iter::once(
                self.toolchain.cargo.clone().into_os_string(),
            ))
            .chain(args.into_iter().map(OsString::from))
            .collect();
        let mut env = self.env.clone();
        env.extend([
            ("CARGO_HOME".to_owned(), home_seen.display().to_string()),
            (
                "CARGO_TARGET_DIR".to_owned(),
                target_seen.display().to_string(),
            ),
            (
                "RUSTC".to_owned(),
                self.toolchain.rustc.display().to_string(),
            ),
            ("CARGO_INCREMENTAL".to_owned(), "0".to_owned()),
            ("CARGO_TERM_COLOR".to_owned(), "never".to_owned()),
            ("CARGO_TERM_PROGRESS_WHEN".to_owned(), "never".to_owned()),
        ]);
        spec.env = env;
        let running = self.steps.start(shown, log);
        let status = self.run_cargo(&mut spec, overlay.as_ref(), log, &running.watch())?;
        running.finish(status.success());
        if !status.success() {
            bail!("cargo build exited with {status}");
        }
        if let StepKind::Deps { .. } = kind {
            std::fs::remove_file(target_dir.join(MESSAGES))?;
            return copy_with_times(&target_dir, &out.join("target"))
                .context("saving the dependencies' build");
        }
        copy_executables(&target_dir, &target_seen, &out.join("bin"))?;
        // What cargo wrote over the dependencies' build (and its home) is
        // removed by a later run, not while this one waits.
        lock2build_store::discard(&work.keep());
        Ok(())
    }
}

impl CargoStep<'_> {
    /// Where the project's crates start: from the dependencies' target
    /// directory, with its times (cargo then finds them fresh, and the
    /// project's files, copied now, so newer, stale). In the sandbox the
    /// stored directory is the lower layer of an overlay whose upper layer
    /// is `target_dir` (no copy); without one, a copy into `target_dir`.
    fn start_from_deps(&self, kind: &StepKind, target_dir: &Path) -> Result<Option<Overlay>> {
        let StepKind::App {
            deps: Some(deps), ..
        } = kind
        else {
            return Ok(None);
        };
        let lower = deps.join("target");
        if !self.sandbox.is_sandboxed() {
            copy_with_times(&lower, target_dir).context("copying the dependencies' build")?;
            return Ok(None);
        }
        let (remove, writable) =
            overlay_lists(&lower).context("reading the dependencies' build")?;
        Ok(Some(Overlay {
            lower,
            upper: target_dir.to_owned(),
            inside: PathBuf::from(TARGET),
            remove,
            writable,
        }))
    }

    /// Runs `spec`, with `overlay` (its upper directory is the step's
    /// target directory) if there is one. Where the overlay cannot be
    /// mounted, or cargo found a stored file it must write again that
    /// [`rebuilt_units`] did not hide (the build fails on its read-only
    /// mode), the step runs again on a copy of the stored directory; its
    /// log says so.
    fn run_cargo(
        &self,
        spec: &mut SandboxSpec,
        overlay: Option<&Overlay>,
        log: &Path,
        watch: &StepWatch,
    ) -> Result<std::process::ExitStatus> {
        let sandbox = &self.sandbox;
        let Some(overlay) = overlay else {
            return Ok(sandbox.run_watched(spec, log, watch)?);
        };
        let why = match sandbox.run_overlaid(spec, overlay, log, watch) {
            Err(SandboxError::OverlayUnavailable(why)) => why,
            Ok(status) if status.success() => return Ok(status),
            Ok(status) => match wrote_a_stored_file(log) {
                Some(line) => format!("cargo could not write a stored file: {line}"),
                None => return Ok(status),
            },
            Err(e) => return Err(e.into()),
        };
        let target_dir = &overlay.upper;
        std::fs::remove_dir_all(target_dir)?;
        copy_with_times(&overlay.lower, target_dir).context("copying the dependencies' build")?;
        spec.scratch.push(Mount::new(target_dir, TARGET));
        let status = sandbox.run_watched(spec, log, watch)?;
        let mut file = std::fs::OpenOptions::new().append(true).open(log)?;
        writeln!(
            file,
            "lock2build: no overlay ({why}): the step ran on a copy of {}",
            overlay.lower.display()
        )?;
        Ok(status)
    }
}

/// The line of a failed cargo step's log that says it could not write a
/// file of the target directory (`Permission denied`, rustc's `is not
/// writeable`), if there is one.
fn wrote_a_stored_file(log: &Path) -> Option<String> {
    let text = lock2build_store::read_tail(log, super::LOG_TAIL);
    if !(text.contains("Permission denied (os error 13)") || text.contains("is not writeable")) {
        return None;
    }
    text.lines()
        .find(|line| line.contains(&format!("{TARGET}/")))
        .map(|line| line.trim().to_owned())
}

/// Copies the executables cargo's messages name into `bin`. The messages
/// file sits in the target directory, where the build's own code (a
/// `build.rs`) can write: it is read as hostile input, and so is every
/// path in it. An executable is accepted only as a regular file inside
/// the target directory (no `..`, no symlink out), copied without
/// following links; anything else fails the build, naming the entry.
fn copy_executables(target_dir: &Path, target_seen: &Path, bin: &Path) -> Result<()> {
    let messages = target_dir.join(MESSAGES);
    let text = lock2build_store::read_untrusted_string(&messages, lock2build_store::RECORD_LIMIT)
        .context("reading cargo's build messages")?;
    match std::fs::symlink_metadata(bin) {
        // The output directory was the step's to write: `bin` must be
        // lock2build's own directory, not a link the build left.
        Ok(meta) => bail!(
            "the cargo step left {} in its output directory ({}); only lock2build writes there",
            bin.display(),
            lock2build_store::kind_name(meta.file_type())
        ),
        Err(_) => std::fs::create_dir(bin)?,
    }
    for line in text.lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        let Some(exe) = msg["executable"].as_str() else {
            continue;
        };
        let bad = |why: String| {
            anyhow!(
                "cargo's build messages name the executable {exe}, {why}\n  help: something in the build (a build script?) wrote to {MESSAGES}; lock2build copies only regular files from inside the target directory"
            )
        };
        // The path cargo printed is the step's; read it on the host.
        let rel = Path::new(exe)
            .strip_prefix(target_seen)
            .map_err(|_| bad("which is outside the target directory".into()))?;
        let host = lock2build_store::resolve_beneath(target_dir, rel)
            .map_err(|e| bad(format!("which is not inside the target directory ({e})")))?;
        let name = host
            .file_name()
            .ok_or_else(|| bad("which has no file name".into()))?;
        lock2build_store::copy_untrusted(&host, &bin.join(name), lock2build_store::ARTIFACT_LIMIT)
            .map_err(|e| bad(e.to_string()))?;
    }
    Ok(())
}

/// The crate a failed cargo build names (`failed to run custom build
/// command for `openssl-sys v0.9.103``, `could not compile `foo``).
fn failed_crate(log: &Path, nodes: &[&Node]) -> Option<(String, String)> {
    let text = lock2build_store::read_tail(log, super::LOG_TAIL);
    for line in text.lines() {
        for marker in [
            "failed to run custom build command for `",
            "could not compile `",
        ] {
            if let Some(rest) = line.split(marker).nth(1) {
                let quoted = rest.split('`').next()?;
                let mut parts = quoted.split_whitespace();
                let name = parts.next()?.to_owned();
                let version = match parts.next() {
                    Some(v) => v.trim_start_matches('v').to_owned(),
                    None => nodes.iter().find(|n| n.name == name)?.version.clone(),
                };
                return Some((name, version));
            }
        }
    }
    None
}

/// The programs in `out/bin`.
fn list_bin(out: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(out.join("bin"))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
