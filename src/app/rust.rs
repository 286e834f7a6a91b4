//! The Rust builder of `lock2build app`: a Cargo.lock's workspace built
//! offline, in the sandbox, into `result/bin`.
//!
//! The nodes, each a store output named by its identity:
//!
//! ```text
//! vendor  the lock's registry crates unpacked, as cargo's directory   ← each .crate's sha256, override patches
//!         source wants them (`.cargo-checksum.json`), patches applied
//! app     `cargo build --release --offline --locked` of a copy of the   ← the tree's hash, vendor, override env,
//!         project, its binaries copied to bin/                            rustc, cargo, cc, sandboxed or not
//! ```
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

use super::{copy_tree, failure_message, link_result, open_store, patch_hashes, tree_hash};
use super::{run_parallel, AppOptions, AppReport};
use crate::overrides_cmd;
use anyhow::{anyhow, bail, Context, Result};
use lock2build_fetch::fetch_all;
use lock2build_model::{ArtifactKind, Ecosystem, Source};
use lock2build_overrides::{native_versions, Database};
use lock2build_plan::plan::{Node, Plan};
use lock2build_sandbox::{Mount, SandboxSpec};
use lock2build_store::{ArchiveFormat, LiveSet, NodeId, Store, ToolchainId};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Where the step sees its inputs.
const VENDOR: &str = "/build/vendor";
const SRC: &str = "/build/src";
const CARGO_HOME: &str = "/build/cargo-home";
const TARGET: &str = "/build/target";
/// cargo's JSON messages, written next to the build (not into the log).
const MESSAGES: &str = "lock2build-messages.json";

/// The host's Rust toolchain.
struct RustToolchain {
    sysroot: PathBuf,
    cargo: PathBuf,
    rustc: PathBuf,
    ids: Vec<ToolchainId>,
}

impl RustToolchain {
    /// `rustc --print sysroot`, and the cargo beside it.
    fn find() -> Result<RustToolchain> {
        let help = "help: install a Rust toolchain (https://rustup.rs, or `apt-get install cargo`) so that `rustc` and `cargo` are in PATH";
        let output = std::process::Command::new("rustc")
            .args(["--print", "sysroot"])
            .output()
            .map_err(|e| anyhow!("cannot run `rustc --print sysroot`: {e}\n  {help}"))?;
        if !output.status.success() {
            bail!(
                "`rustc --print sysroot` failed: {}\n  {help}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        let sysroot = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        let cargo = sysroot.join("bin/cargo");
        let rustc = sysroot.join("bin/rustc");
        for tool in [&cargo, &rustc] {
            if !tool.is_file() {
                bail!(
                    "the Rust toolchain at {} has no {}\n  {help}",
                    sysroot.display(),
                    tool.display()
                );
            }
        }
        let mut ids = vec![ToolchainId::probe(&rustc)?, ToolchainId::probe(&cargo)?];
        ids.extend(ToolchainId::probe(Path::new("cc")).ok());
        Ok(RustToolchain {
            sysroot,
            cargo,
            rustc,
            ids,
        })
    }
}

/// A crate of the vendor directory.
#[derive(Debug, Clone)]
struct VendoredCrate {
    name: String,
    version: String,
    /// The `.crate`'s hashes (sha256 first-class: cargo's checksum).
    hashes: Vec<lock2build_model::Hash>,
    sha256: String,
    patches: Vec<PathBuf>,
}

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

    // What the lock holds: registry crates to vendor, path crates inside
    // the project; nothing else can be built offline yet.
    let mut vendored = Vec::new();
    let mut unsupported = Vec::new();
    for node in &nodes {
        match (&node.source, &node.artifact) {
            (Source::Directory { path, .. }, _) => {
                let dir = normalize(&lock_dir.join(path));
                if !dir.starts_with(&project_dir) {
                    unsupported.push(format!(
                        "  {} {}: path dependency {} is outside the project directory {}",
                        node.name,
                        node.version,
                        dir.display(),
                        project_dir.display()
                    ));
                }
            }
            (_, Some(a)) if a.kind == ArtifactKind::Crate => {
                let sha256 = a
                    .hashes
                    .iter()
                    .find(|h| h.algorithm == lock2build_model::HashAlgorithm::Sha256)
                    .map(|h| h.hex())
                    .ok_or_else(|| {
                        anyhow!(
                            "{lock_display}: {} {} has no checksum\n  help: regenerate the lock with a current cargo (`cargo generate-lockfile`), which records every crate's sha256",
                            node.name,
                            node.version
                        )
                    })?;
                vendored.push(VendoredCrate {
                    name: node.name.clone(),
                    version: node.version.clone(),
                    hashes: a.hashes.clone(),
                    sha256,
                    patches: db
                        .resolve(Ecosystem::Crates, &node.name, &node.version)
                        .patches,
                });
            }
            (Source::Git { url, commit, .. }, _) => unsupported.push(format!(
                "  {} {}: git dependency {url} at {commit} (git sources are not fetched into the store yet)",
                node.name, node.version
            )),
            (source, _) => unsupported.push(format!(
                "  {} {}: {source:?} has no .crate to vendor",
                node.name, node.version
            )),
        }
    }
    if !unsupported.is_empty() {
        bail!(
            "{lock_display}: lock2build cannot build these crates yet:\n{}\n  help: depend on them through crates.io (or a path inside the project), or build with cargo directly",
            unsupported.join("\n")
        );
    }

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

    // Native needs and environment knobs of every crate the lock holds
    // (cargo decides which build scripts run; the lock is what we know).
    check_native(&nodes, &db)?;
    let env = merged_env(&nodes, &db)?;
    // The host libraries' versions: an upgraded OpenSSL rebuilds.
    let native_ids: Vec<String> = nodes
        .iter()
        .flat_map(|n| db.resolve(Ecosystem::Crates, &n.name, &n.version).native)
        .collect::<BTreeSet<String>>()
        .into_iter()
        .collect();
    let native = native_versions(db.providers(), &native_ids);

    let store = open_store()?;
    let target = plan.target.describe();
    let patches: BTreeMap<String, Vec<String>> = vendored
        .iter()
        .filter(|c| !c.patches.is_empty())
        .map(|c| {
            Ok((
                format!("{}-{}", c.name, c.version),
                patch_hashes(&c.patches)?,
            ))
        })
        .collect::<Result<_>>()?;
    let vendor_id = NodeId::compute(
        "cargo-vendor",
        &serde_json::json!({
            "recipe": "cargo-vendor/1",
            "crates": vendored.iter().map(|c| format!("{}-{} {}", c.name, c.version, c.sha256)).collect::<Vec<_>>(),
            "patches": patches,
        }),
        &[],
        &[],
        "",
    )?;
    let packages: Vec<String> = selected
        .iter()
        .map(|n| format!("{}@{}", n.name, n.version))
        .collect();
    let root = nodes
        .iter()
        .find(|n| n.root)
        .map(|n| (n.name.clone(), n.version.clone()))
        .unwrap_or_else(|| ("workspace".into(), String::new()));
    let app_id = NodeId::compute(
        &if packages.is_empty() {
            root.0.clone()
        } else {
            format!("{}-check", root.0)
        },
        &serde_json::json!({
            "recipe": "cargo-build/1",
            "sandboxed": options.sandbox.is_sandboxed(),
            "tree": tree_hash(&project_dir)?,
            "lockfile": lockfile,
            "env": env,
            "native": native,
            "packages": packages,
            "profile": "release",
        }),
        std::slice::from_ref(&vendor_id),
        &toolchain.ids,
        &target,
    )?;

    // The .crate files, unless what needs them is built already.
    let (mut requests, _) = crate::fetch_plan::requests(&plan)?;
    let wanted: BTreeSet<String> = vendored
        .iter()
        .flat_map(|c| c.hashes.iter().map(|h| h.to_sri()))
        .collect();
    requests.retain(|r| r.hashes.iter().any(|h| wanted.contains(&h.to_sri())));
    let live_requests = requests.clone();
    if store.output(&app_id).is_some() || store.output(&vendor_id).is_some() {
        requests.clear();
    }
    let fetched = fetch_all(&store, &requests, &options.fetch).map_err(|e| anyhow!("{e}"))?;

    let mut built = Vec::new();
    let mut reused = 0usize;
    let logs_dir = store.logs_dir();
    std::fs::create_dir_all(&logs_dir)
        .with_context(|| format!("creating {}", logs_dir.display()))?;

    // The vendor directory.
    let vendor = if let Some(path) = store.output(&app_id).and(store.output(&vendor_id)) {
        reused += 1;
        path
    } else {
        if store.output(&vendor_id).is_none() {
            say(format!("vendoring {} crates…", vendored.len()));
        }
        let made = store.build_output(&vendor_id, &[], |out| {
            make_vendor(&store, &vendored, &out.building, options.jobs)
                .map_err(|e| format!("{e:#}").into())
        })?;
        if made.built {
            built.push("vendor directory".to_owned());
        } else {
            reused += 1;
        }
        made.path
    };

    // The build.
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
    if store.output(&app_id).is_none() {
        say(format!("building {label} with cargo…"));
    }
    let step = CargoStep {
        options,
        toolchain: &toolchain,
        project_dir: &project_dir,
        vendor: &vendor,
        env: &env,
        packages: &packages,
        log: &log,
    };
    let made = store
        .build_output(&app_id, &[], |out| {
            step.run(&out.building, &out.final_path)
                .map_err(|e| format!("{e:#}").into())
        })
        .map_err(|e| {
            let cause = std::error::Error::source(&e)
                .map(|s| s.to_string())
                .unwrap_or_else(|| e.to_string());
            let (name, version, cause) = match failed_crate(&log, &nodes) {
                Some((name, version)) => {
                    let cause = format!("{cause}; cargo reports that {name} {version} failed");
                    (name, version, cause)
                }
                None => (root.0.clone(), root.1.clone(), cause),
            };
            failure_message(
                &db,
                Ecosystem::Crates,
                &label,
                &name,
                &version,
                &log,
                &cause,
            )
        })?;
    let mut logs = BTreeMap::new();
    if selected.is_empty() {
        logs.insert(label.clone(), log.clone());
    } else {
        for n in &selected {
            logs.insert(format!("{} {}", n.name, n.version), log.clone());
        }
    }
    if made.built {
        say(format!("  built {label}"));
        built.push(label.clone());
    } else {
        reused += 1;
    }
    let scripts = list_bin(&made.path);
    if selected.is_empty() && scripts.is_empty() {
        notes.push(format!("{} builds no binary: result/bin is empty", root.0));
    }

    link_result(&options.out_link, &made.path)?;
    store.add_root(&options.out_link)?;
    let mut live = LiveSet::default();
    for r in &live_requests {
        live.add_source(&r.hashes);
    }
    live.outputs = vec![vendor_id, app_id];
    store.record_plan(&project_dir.display().to_string(), &live)?;
    say(format!("done in {:.1}s", started.elapsed().as_secs_f64()));
    Ok(AppReport {
        link: options.out_link.clone(),
        output: made.path,
        scripts,
        artifacts: fetched.items.len().max(live_requests.len()),
        downloaded: fetched.downloaded(),
        bytes_downloaded: fetched.bytes_downloaded(),
        built,
        reused,
        logs,
        notes,
    })
}

/// `a/./b/../c` → `a/c`, without touching the disk.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The native libraries and tools the lock's crates need, all checked at
/// once.
fn check_native(nodes: &[&Node], db: &Database) -> Result<()> {
    let needs = overrides_cmd::native_needs(nodes.iter().copied(), db);
    let missing = &needs.report.missing;
    if missing.is_empty() {
        return Ok(());
    }
    let mut text = format!(
        "the crates of this project need native libraries or tools this machine lacks: {}\n",
        missing.join(", ")
    );
    text.push_str(&needs.per_package());
    text.push('\n');
    text.push_str(&overrides_cmd::install_help(db, missing));
    text.push_str("(the needs come from the overrides database: `lock2build overrides why crates/NAME@VERSION` shows which file)");
    bail!("{text}")
}

/// The override environment of every crate, merged: cargo runs all build
/// scripts in one process, so two crates may not disagree on a variable.
fn merged_env(nodes: &[&Node], db: &Database) -> Result<BTreeMap<String, String>> {
    let mut env: BTreeMap<String, (String, String)> = BTreeMap::new();
    for node in nodes {
        let resolved = db.resolve(Ecosystem::Crates, &node.name, &node.version);
        for (key, value) in resolved.env {
            let who = format!("{} {}", node.name, node.version);
            match env.get(&key) {
                Some((v, other)) if *v != value => bail!(
                    "the overrides of {other} and {who} set {key} differently (`{v}` and `{value}`); cargo builds both in one step\n  help: make them agree in the project layer (`lock2build overrides why crates/NAME@VERSION` shows where each comes from)"
                ),
                _ => {
                    env.insert(key, (value, who));
                }
            }
        }
    }
    Ok(env.into_iter().map(|(k, (v, _))| (k, v)).collect())
}

/// Fills `out` with every crate unpacked as `<name>-<version>/`, its
/// `.cargo-checksum.json`, and its override patches applied.
fn make_vendor(store: &Store, crates: &[VendoredCrate], out: &Path, jobs: usize) -> Result<()> {
    let results = run_parallel(crates, jobs.max(1), |c| -> Result<()> {
        let name = format!("{}-{}", c.name, c.version);
        let file = store
            .source(&c.hashes)
            .ok_or_else(|| anyhow!("internal: {name}.crate is not in the store"))?;
        let work = out.join(format!(".unpack-{name}"));
        lock2build_store::unpack(&file, ArchiveFormat::TarGz, &work)
            .with_context(|| format!("unpacking {name}.crate"))?;
        let top = lock2build_store::single_top_dir(&work)
            .ok_or_else(|| anyhow!("{name}.crate does not hold one top directory"))?;
        let dest = out.join(&name);
        std::fs::rename(&top, &dest).with_context(|| format!("moving {name} into place"))?;
        std::fs::remove_dir_all(&work).with_context(|| format!("removing {}", work.display()))?;
        for patch in &c.patches {
            let status = std::process::Command::new("patch")
                .args(["-p1", "--forward", "--batch", "-s", "-i"])
                .arg(patch)
                .current_dir(&dest)
                .status()
                .with_context(|| "running `patch` (install it: `apt-get install patch`)")?;
            if !status.success() {
                bail!(
                    "the override patch {} does not apply to {name}\n  help: remake it against {name}'s sources (`lock2build overrides why crates/{}@{}`)",
                    patch.display(),
                    c.name,
                    c.version
                );
            }
        }
        // Empty `files`: cargo then checks only the package checksum
        // against the lock, so patched sources are accepted.
        std::fs::write(
            dest.join(".cargo-checksum.json"),
            serde_json::json!({"files": {}, "package": c.sha256}).to_string(),
        )?;
        Ok(())
    });
    for (_, r) in results {
        r?;
    }
    Ok(())
}

/// One `cargo build` in the sandbox.
struct CargoStep<'a> {
    options: &'a AppOptions,
    toolchain: &'a RustToolchain,
    project_dir: &'a Path,
    vendor: &'a Path,
    env: &'a BTreeMap<String, String>,
    /// `NAME@VERSION` to build instead of the workspace.
    packages: &'a [String],
    log: &'a Path,
}

impl CargoStep<'_> {
    /// Builds into scratch directories and copies the binaries to
    /// `out/bin` (`final_path`: where `out` will live).
    fn run(&self, out: &Path, final_path: &Path) -> Result<()> {
        let work = tempfile::Builder::new()
            .prefix("lock2build-cargo-")
            .tempdir()?;
        let src = work.path().join("src");
        let home = work.path().join("cargo-home");
        let target_dir = work.path().join("target");
        copy_tree(self.project_dir, &src)
            .with_context(|| format!("copying {}", self.project_dir.display()))?;
        std::fs::create_dir_all(&home)?;
        std::fs::create_dir_all(&target_dir)?;
        let mut spec = SandboxSpec {
            command: Vec::new(),
            env: BTreeMap::new(),
            read_only: vec![
                Mount::new(self.vendor, VENDOR),
                Mount::new(&self.toolchain.sysroot, &self.toolchain.sysroot),
            ],
            output: Mount::new(out, final_path),
            scratch: vec![
                Mount::new(&src, SRC),
                Mount::new(&home, CARGO_HOME),
                Mount::new(&target_dir, TARGET),
            ],
            workdir: PathBuf::from(SRC),
            toolchain_dirs: vec![self.toolchain.sysroot.join("bin")],
        };
        let sandbox = &self.options.sandbox;
        let seen = |inside: &str| sandbox.visible_path(&spec, Path::new(inside));
        let vendor_seen = seen(VENDOR);
        let home_seen = seen(CARGO_HOME);
        let target_seen = seen(TARGET);
        std::fs::write(
            home.join("config.toml"),
            format!(
                "[source.crates-io]\nreplace-with = \"lock2build-vendor\"\n\n[source.lock2build-vendor]\ndirectory = {}\n\n[net]\noffline = true\n",
                toml_string(&vendor_seen.display().to_string())
            ),
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
        let status = sandbox.run(&spec, self.log)?;
        if !status.success() {
            bail!("cargo build exited with {status}");
        }
        let bin = out.join("bin");
        std::fs::create_dir_all(&bin)?;
        let text = std::fs::read_to_string(target_dir.join(MESSAGES))
            .context("reading cargo's build messages")?;
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
            // The path cargo printed is the step's; read it on the host.
            let rel = Path::new(exe)
                .strip_prefix(&target_seen)
                .map_err(|_| anyhow!("cargo built {exe} outside its target directory"))?;
            let host = target_dir.join(rel);
            let name = host
                .file_name()
                .ok_or_else(|| anyhow!("cargo reported an executable without a name: {exe}"))?;
            std::fs::copy(&host, bin.join(name))
                .with_context(|| format!("copying {}", host.display()))?;
        }
        Ok(())
    }
}

/// The crate a failed cargo build names (`failed to run custom build
/// command for `openssl-sys v0.9.103``, `could not compile `foo``).
fn failed_crate(log: &Path, nodes: &[&Node]) -> Option<(String, String)> {
    let text = std::fs::read_to_string(log).ok()?;
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

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// A string as one POSIX shell word.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}
