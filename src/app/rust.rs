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
use super::cargo_workspace::{vendor_for_host, write_skeleton, LockedWorkspace, VendorContext};
use super::{
    build_cause, copy_tree, distinct_artifacts, downloads, failure_message, link_and_record,
    open_store, shell_quote, tree_hash, AppConfig, AppOptions, AppReport,
};
use crate::overrides_cmd;
use crate::progress::StepName;
use anyhow::{anyhow, bail, Context, Result};
use lock2build_model::{Ecosystem, Source};
use lock2build_overrides::native_versions;
use lock2build_plan::plan::{Node, Plan};
use lock2build_sandbox::{Mount, Overlay, SandboxError, SandboxSpec, StepWatch};
use lock2build_store::NodeId;
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

/// Builds the Cargo project `project` of `plan`.
pub(super) fn build(options: &AppOptions, plan: Plan, project: usize) -> Result<AppReport> {
    let started = Instant::now();
    let say = |line: String| {
        if options.progress {
            eprintln!("{line}");
        }
    };
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
    say(format!(
        "lock2build app: {} ({}, {} crate{}) with {}",
        options.dir.display(),
        lockfile.display(),
        nodes.len(),
        if nodes.len() == 1 { "" } else { "s" },
        toolchain.ids[0].version
    ));
    let db = overrides_cmd::load(&options.dir)?;

    // Which crates the step builds: the workspace, or those `overrides
    // check` names.
    let mut notes = Vec::new();
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

    let store = open_store()?;
    let target = plan.target.describe_platform();
    let packages: Vec<String> = selected
        .iter()
        .map(|n| format!("{}@{}", n.name, n.version))
        .collect();
    let root = root_package(&nodes);
    // Features and binaries: the command line, else lock2build.toml.
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
    let bins: Vec<String> = if !packages.is_empty() {
        Vec::new()
    } else if options.scripts.is_empty() {
        config.scripts.clone().unwrap_or_default()
    } else {
        options.scripts.clone()
    };
    // The workspace's skeleton: what the dependencies build from, and what
    // says which crates cargo compiles on this host.
    let skeleton_dir = tempfile::Builder::new()
        .prefix("lock2build-skeleton-")
        .tempdir_in(lock2build_store::scratch_dir())?;
    let skeleton = write_skeleton(&toolchain, &project_dir, &project_dir, skeleton_dir.path())?;
    let skeleton_hash = tree_hash(skeleton_dir.path())?;
    // What the lock holds: registry crates to vendor (those the host build
    // compiles), path crates inside the project, git crates by commit.
    let workspace = LockedWorkspace {
        nodes: nodes.clone(),
        lock_dir: lock_dir.clone(),
        root: project_dir.clone(),
        display: lock_display.clone(),
        skeleton: Some((skeleton, skeleton_hash.clone())),
    };
    let cx = VendorContext {
        store: &store,
        toolchain: &toolchain,
        db: &db,
        fetch: &options.fetch,
        index: &options.plan.index,
    };
    let for_host = vendor_for_host(&cx, &[workspace], &selection, &selected, &mut notes)?;
    let built_nodes = for_host.built(&nodes);
    let env = for_host.checked_env(&built_nodes, &db)?;
    let vendor = for_host.vendor;
    let vendored = &vendor.crates;
    let vendor_id = vendor.id.clone();
    // The host libraries' versions: an upgraded OpenSSL rebuilds.
    let native_ids: Vec<String> = built_nodes
        .iter()
        .flat_map(|n| db.resolve(Ecosystem::Crates, &n.name, &n.version).native)
        .collect::<BTreeSet<String>>()
        .into_iter()
        .collect();
    let native = native_versions(db.providers(), &native_ids);

    let identity = |recipe: &str, tree: String, bins: &[String]| {
        serde_json::json!({
            "recipe": recipe,
            "sandboxed": options.sandbox.is_sandboxed(),
            "tree": tree,
            "lockfile": lockfile,
            "env": env,
            "native": native,
            "packages": packages,
            "selection": selection,
            "bins": bins,
            "profile": "release",
        })
    };
    // The dependencies build from the workspace's skeleton, so editing the
    // project's code does not rebuild them (a whole-workspace build only).
    let deps_id = if packages.is_empty() {
        Some(NodeId::compute(
            &format!("{}-deps", root.0),
            &identity("cargo-deps/1", skeleton_hash.clone(), &[]),
            std::slice::from_ref(&vendor_id),
            &toolchain.ids,
            &target,
        )?)
    } else {
        None
    };
    let app_inputs: Vec<NodeId> = std::iter::once(vendor_id.clone())
        .chain(deps_id.clone())
        .collect();
    let app_id = NodeId::compute(
        &if packages.is_empty() {
            root.0.clone()
        } else {
            format!("{}-check", root.0)
        },
        &identity("cargo-build/1", tree_hash(&project_dir)?, &bins),
        &app_inputs,
        &toolchain.ids,
        &target,
    )?;
    let app_done = store.output(&app_id).is_some();

    // The .crate files, unless what needs them is built already.
    let (mut requests, _) = crate::fetch_plan::requests(&plan)?;
    let wanted = vendor.hashes();
    requests.retain(|r| r.hashes.iter().any(|h| wanted.contains(&h.to_sri())));
    let live_requests = requests.clone();
    if app_done || store.output(&vendor_id).is_some() {
        requests.clear();
    }
    let (fetched, _) =
        crate::fetch_plan::fetch_sources(&store, &requests, &options.fetch, &options.dir)?;

    let mut built = Vec::new();
    let mut reused = 0usize;
    let logs_dir = store.logs_dir();
    std::fs::create_dir_all(&logs_dir)
        .with_context(|| format!("creating {}", logs_dir.display()))?;
    let label = if selected.is_empty() {
        format!("{} {}", root.0, root.1)
    } else {
        selected
            .iter()
            .map(|n| format!("{} {}", n.name, n.version))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let log = logs_dir.join(format!("{app_id}.log"));
    let step = CargoStep {
        options,
        toolchain: &toolchain,
        git: vendor.git.as_ref(),
        vendor: Path::new(""),
        env: &env,
        packages: &packages,
        selection: &selection,
        bins: &[],
    };
    let failed = |label: &str, log: &Path, e: lock2build_store::StoreError| {
        let cause = build_cause(&e);
        let (name, version, cause) = match failed_crate(log, &nodes) {
            Some((name, version)) => {
                let cause = format!("{cause}; cargo reports that {name} {version} failed");
                (name, version, cause)
            }
            None => (root.0.clone(), root.1.clone(), cause),
        };
        failure_message(&db, Ecosystem::Crates, label, &name, &version, log, &cause)
    };

    let made = if app_done {
        reused += 1 + [Some(&vendor_id), deps_id.as_ref()]
            .into_iter()
            .flatten()
            .filter(|id| store.output(id).is_some())
            .count();
        lock2build_store::BuiltOutput {
            path: store
                .output(&app_id)
                .ok_or_else(|| anyhow!("internal: {app_id} vanished"))?,
            built: false,
        }
    } else {
        // The vendor directory.
        if store.output(&vendor_id).is_none() {
            say(format!("vendoring {} crates…", vendored.len()));
        }
        let vendor = vendor.make(&store, options.jobs)?;
        if vendor.built {
            built.push("vendor directory".to_owned());
        } else {
            reused += 1;
        }
        let step = CargoStep {
            vendor: &vendor.path,
            ..step
        };
        // The dependencies.
        let deps = match &deps_id {
            Some(id) => {
                let deps_label = format!("dependencies of {}", root.0);
                let deps_log = logs_dir.join(format!("{id}.log"));
                let shown = StepName {
                    name: &format!("{}-deps", root.0),
                    label: &format!("{deps_label} (cargo)"),
                };
                let made = store
                    .build_output(id, std::slice::from_ref(&vendor_id), |out| {
                        let kind = StepKind::Deps {
                            skeleton: skeleton_dir.path(),
                        };
                        step.run(&kind, (&out.building, &out.final_path), &deps_log, shown)
                            .map_err(|e| format!("{e:#}").into())
                    })
                    .map_err(|e| failed(&deps_label, &deps_log, e))?;
                if made.built {
                    built.push(deps_label);
                } else {
                    reused += 1;
                }
                Some(made.path)
            }
            None => None,
        };
        // The project.
        let step = CargoStep {
            bins: &bins,
            ..step
        };
        let kind = StepKind::App {
            project: &project_dir,
            deps: deps.as_deref(),
        };
        let shown = StepName {
            name: selected.first().map_or(&root.0, |n| &n.name),
            label: &format!("{label} (cargo)"),
        };
        let made = store
            .build_output(&app_id, &[], |out| {
                step.run(&kind, (&out.building, &out.final_path), &log, shown)
                    .map_err(|e| format!("{e:#}").into())
            })
            .map_err(|e| failed(&label, &log, e))?;
        built.push(label.clone());
        made
    };
    let mut logs = BTreeMap::new();
    if selected.is_empty() {
        logs.insert(label.clone(), log.clone());
    } else {
        for n in &selected {
            logs.insert(format!("{} {}", n.name, n.version), log.clone());
        }
    }
    let scripts = list_bin(&made.path);
    if selected.is_empty() && scripts.is_empty() {
        notes.push(format!("{} builds no binary: result/bin is empty", root.0));
    }

    link_and_record(
        options,
        &store,
        &project_dir,
        &made.path,
        &live_requests,
        std::iter::once(vendor_id)
            .chain(deps_id)
            .chain([app_id])
            .collect(),
    )?;
    say(format!("done in {:.1}s", started.elapsed().as_secs_f64()));
    let (downloaded, bytes_downloaded) = downloads(&fetched);
    Ok(AppReport {
        link: options.out_link.clone(),
        output: made.path,
        scripts,
        artifacts: distinct_artifacts(&live_requests),
        downloaded,
        bytes_downloaded,
        built,
        reused,
        logs,
        notes,
    })
}

/// The package the app is named after: the root at the lock's directory,
/// else the first root (a virtual workspace's first member).
fn root_package(nodes: &[&Node]) -> (String, String) {
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
    let names = |dir: &Path| -> std::io::Result<Vec<(String, bool)>> {
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

/// What a cargo step builds.
enum StepKind<'a> {
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
struct CargoStep<'a> {
    options: &'a AppOptions,
    toolchain: &'a RustToolchain,
    /// The vendor directory's git sources.
    git: Option<&'a GitCrates>,
    vendor: &'a Path,
    env: &'a BTreeMap<String, String>,
    /// `NAME@VERSION` to build instead of the workspace.
    packages: &'a [String],
    /// `--features …`, `--no-default-features`.
    selection: &'a [String],
    /// `--bin NAME` for each (the app step only).
    bins: &'a [String],
}

impl CargoStep<'_> {
    /// Builds `kind` in scratch directories and fills `out` (`final_path`:
    /// where `out` will live); the step's output goes to `log`, and is
    /// shown as `shown`.
    fn run(
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
        // The project's crates start from the dependencies' target
        // directory, with its times: cargo then finds them fresh, and the
        // project's files (copied now, so newer) stale. In the sandbox the
        // stored directory is the lower layer of an overlay (no copy; what
        // cargo writes lands in `target_dir`); without one, a copy.
        let deps_target = match kind {
            StepKind::App {
                deps: Some(deps), ..
            } => Some(deps.join("target")),
            _ => None,
        };
        let overlay = match &deps_target {
            Some(lower) if self.options.sandbox.is_sandboxed() => Some(Overlay {
                lower: lower.clone(),
                upper: target_dir.clone(),
                inside: PathBuf::from(TARGET),
                remove: rebuilt_units(lower).context("reading the dependencies' build")?,
            }),
            Some(lower) => {
                copy_with_times(lower, &target_dir).context("copying the dependencies' build")?;
                None
            }
            None => None,
        };
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
        let sandbox = &self.options.sandbox;
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
        let running = self.options.steps.start(shown, log);
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
        copy_executables(&target_dir, &target_seen, &out.join("bin"))
    }
}

impl CargoStep<'_> {
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
        let sandbox = &self.options.sandbox;
        let Some(overlay) = overlay else {
            return Ok(sandbox.run_watched(spec, log, watch)?);
        };
        let why = match sandbox.run_overlaid(spec, overlay, log, watch) {
            Err(SandboxError::OverlayUnavailable(why)) => why,
            Ok(status) if status.success() || !wrote_a_stored_file(log) => return Ok(status),
            Ok(_) => "cargo rebuilt a stored file".to_owned(),
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

/// Whether a failed cargo step's log says it could not write a file of
/// the target directory (`Permission denied`, rustc's `is not writeable`).
fn wrote_a_stored_file(log: &Path) -> bool {
    let text = lock2build_store::read_tail(log, super::LOG_TAIL);
    text.contains(&format!("{TARGET}/"))
        && (text.contains("Permission denied (os error 13)") || text.contains("is not writeable"))
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
