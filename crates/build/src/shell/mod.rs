//! `lock2build shell` and `lock2build env`: a project's locked dependencies,
//! every ecosystem of its directory at once, ready to develop with.
//!
//! Each lockfile of the directory (and one directory down: a Python back
//! end and a Node front end give one shell) is picked as `app` picks it,
//! planned with its dev dependencies (unless `--no-dev`), checked against
//! its manifest (a warning, an error with `--locked`), and built by the app
//! builders, which check native libraries first:
//!
//! ```text
//! Python  the app environment with the project installed editable (PEP
//!         660 through its backend, or a .pth to its source: an edit is seen
//!         at once): VIRTUAL_ENV, its bin/ on PATH; a project that is not a
//!         package (a virtual root) on PYTHONPATH instead. `pip install`
//!         (and `python -m pip install`) refuses: the environment is the
//!         store's
//! Node    the laid-out node_modules (a store output, install scripts
//!         run; the app's build script is not), linked as
//!         <dir>/node_modules; node_modules/.bin on PATH. A node_modules
//!         lock2build did not link is never replaced without --force
//! Rust    the vendored crates; CARGO_HOME is a directory of lock2build's
//!         whose config.toml replaces crates.io by them (offline), and the
//!         crates' override environment (OPENSSL_NO_VENDOR, …)
//! ```
//!
//! What lock2build keeps for the shell lives in `<dir>/.lock2build/shell/`
//! (gc roots of the outputs, `bin/` shims, `cargo-home/`). Links into the
//! project (node_modules) and that directory are written only once every
//! ecosystem is built: a failure leaves nothing half made.

mod cache;
mod native;
mod render;

pub use cache::{cached_or, CacheInputs};

pub use render::{render, Format, DIRENV_HOOK};

use crate::app::{self, AppOptions};
use anyhow::{anyhow, bail, Context, Result};
use lock2build_model::{Ecosystem, Source};
use lock2build_plan::discover::{self, FoundLock};
use lock2build_plan::plan;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The format version of `lock2build env --format json`.
pub const ENV_VERSION: u32 = 1;

/// What `shell` and `env` take besides the app options.
#[derive(Debug, Clone, Copy, Default)]
pub struct ShellFlags {
    /// Leave dev dependencies out (`--no-dev`).
    pub no_dev: bool,
    /// Replace a node_modules lock2build did not make (`--force`).
    pub force: bool,
}

/// A project's development environment.
#[derive(Debug, Default, Serialize, serde::Deserialize)]
pub struct ShellEnv {
    /// Variables to set.
    pub vars: BTreeMap<String, String>,
    /// Directories to put before PATH, first first.
    pub path: Vec<PathBuf>,
    /// The lockfiles and manifests it was made from (direnv's watch_file).
    pub watch: Vec<PathBuf>,
    /// Notes for the user.
    pub notes: Vec<String>,
    /// Stale-lock warnings (printed again when the cache answers).
    pub warnings: Vec<String>,
}

/// A link to write once everything is built.
struct PendingLink {
    link: PathBuf,
    target: PathBuf,
}

/// Builds what the project in `options.dir` needs and returns its
/// environment. `options` is the template of each lockfile's app build.
pub fn prepare(mut options: AppOptions, flags: ShellFlags) -> Result<ShellEnv> {
    let top = std::path::absolute(&options.dir)?;
    let locks = shell_locks(&top)?;
    let state = top.join(".lock2build/shell");
    if !flags.no_dev {
        options.plan.select.all_groups = true;
    }
    let mut env = ShellEnv::default();
    let mut links = Vec::new();
    let mut launchers = Vec::new();
    let mut native_dirs = native::NativeDirs::default();
    // A node_modules in the way is named before anything is built.
    for lock in locks
        .iter()
        .filter(|l| l.kind.ecosystem() == Ecosystem::Npm)
    {
        check_node_modules(&lock_dir(&top, lock), flags.force)?;
    }
    let mut seen_python = false;
    let mut seen_rust = false;
    for (n, lock) in locks.iter().enumerate() {
        let dir = lock_dir(&top, lock);
        let ecosystem = lock.kind.ecosystem();
        let taken = match ecosystem {
            Ecosystem::Pypi => std::mem::replace(&mut seen_python, true),
            Ecosystem::Crates => std::mem::replace(&mut seen_rust, true),
            Ecosystem::Npm => false,
        };
        if taken {
            env.notes.push(format!(
                "{} is left out: a shell has one {ecosystem} environment (the first lockfile's)",
                lock.display.display()
            ));
            continue;
        }
        let picked = lock2build_plan::pick::pick_lockfile(&dir, Some(&lock.path), Some(ecosystem))?;
        check_python(&lock.path, &picked.graph, &options)?;
        let plan = plan::plan_graphs(vec![picked.graph], &options.plan)?.plan;
        let warnings = plan::check_locked(&plan, options.locked)?;
        crate::progress::warn(&warnings);
        env.warnings.extend(warnings);
        options.dir = dir.clone();
        options.lockfile = Some(lock.path.clone());
        options.out_link = state.join(format!("roots/{n}-{ecosystem}"));
        std::fs::create_dir_all(state.join("roots"))
            .with_context(|| format!("creating {}", state.join("roots").display()))?;
        native::native_dirs(&dir, &plan, &mut native_dirs)?;
        env.watch.push(lock.path.clone());
        env.watch.extend(manifests(&dir));
        match ecosystem {
            Ecosystem::Pypi => {
                // `develop`: a package project is installed editable into
                // the environment (with the lock's editable members); one
                // that is not (a virtual root) is put on PYTHONPATH, its
                // scripts as launchers over it.
                let package = plan.packages.iter().any(|n| {
                    n.root
                        && matches!(&n.source, Source::Directory { path, .. }
                            if Path::new(path).components().all(|c| c == std::path::Component::CurDir))
                });
                let report = app::build_project(&options, plan, 0)?;
                let python = report.output.join("bin/python");
                env.vars
                    .insert("VIRTUAL_ENV".into(), report.output.display().to_string());
                if !package {
                    env.vars
                        .insert("PYTHONPATH".into(), source_root(&dir).display().to_string());
                    launchers.extend(project_scripts(&dir, &python)?);
                }
                env.path.push(report.output.join("bin"));
                // pip cannot upgrade itself here: it need not ask PyPI.
                env.vars
                    .insert("PIP_DISABLE_PIP_VERSION_CHECK".into(), "1".into());
                launchers.extend(pip_shims(&python));
            }
            Ecosystem::Npm => {
                // `develop`: the laid-out tree only, the app's build is not run.
                let report = app::build_project(&options, plan, 0)?;
                links.push(PendingLink {
                    link: dir.join("node_modules"),
                    target: report.output.join("node_modules"),
                });
                env.path.push(dir.join("node_modules/.bin"));
            }
            Ecosystem::Crates => {
                let vendored = app::vendor_crates(&options, &plan, 0)?;
                let home = state.join("cargo-home");
                std::fs::create_dir_all(&home)
                    .with_context(|| format!("creating {}", home.display()))?;
                std::fs::write(home.join("config.toml"), &vendored.cargo_config)
                    .with_context(|| format!("writing {}", home.join("config.toml").display()))?;
                env.vars
                    .insert("CARGO_HOME".into(), home.display().to_string());
                env.vars.insert("CARGO_NET_OFFLINE".into(), "true".into());
                env.vars.extend(vendored.env);
            }
        }
        env.notes.extend(
            picked
                .notes
                .into_iter()
                .filter(|n| !n.contains("is not built")),
        );
    }
    write_shims(&state.join("bin"), &launchers)?;
    // What is in it is lock2build's, never the project's: kept out of git.
    std::fs::write(state.join(".gitignore"), "*\n")
        .with_context(|| format!("writing {}", state.join(".gitignore").display()))?;
    env.path.insert(0, state.join("bin"));
    for l in links {
        replace_link(&l.link, &l.target, flags.force)?;
    }
    for (var, dirs) in [
        ("PKG_CONFIG_PATH", &native_dirs.pkg_config),
        ("LD_LIBRARY_PATH", &native_dirs.libraries),
    ] {
        if let Some(value) = native::prepend(var, dirs) {
            env.vars.insert(var.into(), value);
        }
    }
    env.vars
        .insert("LOCK2BUILD_SHELL".into(), top.display().to_string());
    Ok(env)
}

/// The lockfiles a shell is made of: `app`'s pick for each ecosystem of the
/// top directory, then of each directory one down.
fn shell_locks(top: &Path) -> Result<Vec<FoundLock>> {
    let found = discover::find_lockfiles(top)?;
    let mut dirs: Vec<PathBuf> = found
        .iter()
        .map(|l| l.display.parent().unwrap_or(Path::new("")).to_path_buf())
        .collect();
    dirs.dedup();
    dirs.sort_by_key(|d| !d.as_os_str().is_empty());
    let mut locks = Vec::new();
    for rel in dirs {
        let dir = top.join(&rel);
        let mut ecosystems: Vec<Ecosystem> = found
            .iter()
            .filter(|l| l.display.parent().unwrap_or(Path::new("")) == rel)
            .map(|l| l.kind.ecosystem())
            .collect();
        ecosystems.sort();
        ecosystems.dedup();
        for e in ecosystems {
            let picked = lock2build_plan::pick::pick_lockfile(&dir, None, Some(e))?;
            let mut lock = picked.lock;
            lock.display = rel.join(lock.path.file_name().unwrap_or_default());
            lock.path = std::path::absolute(dir.join(lock.path.file_name().unwrap_or_default()))?;
            locks.push(lock);
        }
    }
    Ok(locks)
}

fn lock_dir(top: &Path, lock: &FoundLock) -> PathBuf {
    top.join(lock.display.parent().unwrap_or(Path::new("")))
}

/// A Python lock whose `requires-python` the interpreter does not meet
/// is refused (planning for it would pick sdists no one meant to build).
fn check_python(
    lockfile: &Path,
    graph: &lock2build_model::Graph,
    options: &AppOptions,
) -> Result<()> {
    use std::str::FromStr;
    let Some(spec) = &graph.requires_python else {
        return Ok(());
    };
    let version = &options.plan.target.python.version;
    let (Ok(specifiers), Ok(parsed)) = (
        pep440_rs::VersionSpecifiers::from_str(spec),
        pep440_rs::Version::from_str(version),
    ) else {
        return Ok(());
    };
    if specifiers.contains(&parsed) {
        return Ok(());
    }
    bail!(
        "{} requires Python {spec}, and the shell's interpreter {} is Python {version}\n  help: pass --python with an interpreter that matches (e.g. --python python3.12), or relock for this one",
        lockfile.display(),
        options.python.display()
    )
}

/// The manifests beside a lockfile that `lock2build env` depends on.
fn manifests(dir: &Path) -> Vec<PathBuf> {
    [
        "pyproject.toml",
        "package.json",
        "Cargo.toml",
        "lock2build.toml",
    ]
    .iter()
    .map(|m| dir.join(m))
    .filter(|p| p.is_file())
    .collect()
}

/// `src/` for a src-layout project, else the project directory.
fn source_root(dir: &Path) -> PathBuf {
    let src = dir.join("src");
    if src.is_dir() {
        src
    } else {
        // Without the trailing `/` of a lock in DIR itself.
        dir.components().collect()
    }
}

/// Fails when `dir/node_modules` exists and is not lock2build's link
/// (unless `force`).
fn check_node_modules(dir: &Path, force: bool) -> Result<()> {
    let link = dir.join("node_modules");
    let Ok(meta) = std::fs::symlink_metadata(&link) else {
        return Ok(());
    };
    let store = lock2build_store::Store::default_root().unwrap_or_default();
    let ours = meta.file_type().is_symlink()
        && std::fs::read_link(&link).is_ok_and(|t| t.starts_with(&store));
    if ours || force {
        return Ok(());
    }
    bail!(
        "{} exists and lock2build did not make it\n  help: remove it (`rm -rf {}`), or pass --force to move it aside as node_modules.replaced",
        link.display(),
        link.display()
    )
}

/// `link` → `target`; a node_modules lock2build did not make is moved
/// aside (`--force` only: [`check_node_modules`] ran first).
fn replace_link(link: &Path, target: &Path, force: bool) -> Result<()> {
    if let Ok(meta) = std::fs::symlink_metadata(link) {
        if !meta.file_type().is_symlink() && force {
            let aside = link.with_file_name("node_modules.replaced");
            std::fs::rename(link, &aside)
                .with_context(|| format!("moving {} aside", link.display()))?;
        }
    }
    app::link_result(link, target)
}

/// The project's own console scripts (`[project.scripts]`, poetry's
/// `[tool.poetry.scripts]`) as launchers over its source: (name, text).
fn project_scripts(dir: &Path, python: &Path) -> Result<Vec<(String, String)>> {
    let path = dir.join("pyproject.toml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(Vec::new());
    };
    let doc: toml::Table =
        toml::from_str(&text).with_context(|| format!("reading {}", path.display()))?;
    let tables = [
        doc.get("project").and_then(|p| p.get("scripts")),
        doc.get("tool")
            .and_then(|t| t.get("poetry"))
            .and_then(|p| p.get("scripts")),
    ];
    let mut out = Vec::new();
    for (name, target) in tables
        .iter()
        .flatten()
        .filter_map(|t| t.as_table())
        .flatten()
    {
        let Some((module, func)) = target.as_str().and_then(|t| t.split_once(':')) else {
            continue;
        };
        let call = func.trim().split('[').next().unwrap_or("").trim();
        out.push((
            name.clone(),
            format!(
                "#!{}\nimport sys\nfrom {} import {}\nsys.exit({}())\n",
                python.display(),
                module.trim(),
                call.split('.').next().unwrap_or(call),
                call
            ),
        ));
    }
    Ok(out)
}

/// `pip` and `pip3` on PATH as `python -m pip` of the environment, whose
/// guard refuses to install into it (`lock2build_python::PIP_GUARD`) while
/// `pip list`, `show` and `freeze` work if pip is in it.
fn pip_shims(python: &Path) -> Vec<(String, String)> {
    let python = app::shell_quote(&python.display().to_string());
    let text = format!("#!/bin/sh\nexec {python} -m pip \"$@\"\n");
    ["pip", "pip3"].map(|n| (n.to_owned(), text.clone())).into()
}

/// `bin/`: the `launchers` (name, text), executable.
fn write_shims(bin: &Path, launchers: &[(String, String)]) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(bin).with_context(|| format!("creating {}", bin.display()))?;
    for (name, text) in launchers {
        let path = bin.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

/// Runs `command` (else `$SHELL`) in `env`; its exit code.
pub fn run(env: &ShellEnv, command: &[String]) -> Result<std::process::ExitCode> {
    let shell = std::env::var("SHELL").unwrap_or_else(|_| "/bin/sh".into());
    let (program, args) = match command.split_first() {
        Some((p, a)) => (p.clone(), a.to_vec()),
        None => (shell, Vec::new()),
    };
    let status = std::process::Command::new(&program)
        .args(&args)
        .envs(&env.vars)
        .env("PATH", render::joined_path(env))
        .status()
        .map_err(|e| anyhow!("cannot run `{program}` in the shell: {e}"))?;
    use std::os::unix::process::ExitStatusExt;
    let code = status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    Ok(std::process::ExitCode::from(code.clamp(0, 255) as u8))
}
