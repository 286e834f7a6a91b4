//! The operations the binary's commands call, each after parsing its
//! arguments: `lock2build app` ([`app`], with the target it plans for,
//! [`app_target`], and the sandbox its builds run in, [`sandbox`]), the
//! text of what it did ([`AppReport::summary`]), and the target of a dev
//! shell ([`shell_target`]).

use crate::app::{self, noop, AppOptions, AppReport, Engine};
use anyhow::{bail, Result};
use lock2build_model::Ecosystem;
use lock2build_plan::target::TargetOptions;
use lock2build_sandbox::Sandbox;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// What `lock2build app` did: the report, and whether it came from the
/// no-op memo (nothing the build depends on changed since the last one).
pub struct AppOutcome {
    /// What was built, fetched, linked.
    pub report: AppReport,
    /// Answered from the memo: nothing ran.
    pub unchanged: bool,
}

/// `lock2build app` in `dir`, linking `link`: the last build's report when
/// nothing it depends on changed (local engine only: Nix keeps its own
/// record), else a build with `options()` (asked only then: it probes the
/// interpreter and the sandbox) by `engine`, remembered for the next run.
pub fn app(
    dir: &Path,
    link: &Path,
    engine: Engine,
    options: impl FnOnce() -> Result<AppOptions>,
) -> Result<AppOutcome> {
    // The key of what the build depends on, computed once: the memo's
    // answer, and (if unchanged after the build) what the memo is kept by.
    // Nix keeps its own record.
    let memo_key = (engine == Engine::Local).then(|| noop::key(dir)).flatten();
    if let Some(report) = noop::lookup(dir, link, memo_key.as_deref()) {
        return Ok(AppOutcome {
            report,
            unchanged: true,
        });
    }
    let options = options()?;
    let report = match engine {
        Engine::Local => app::build_app(&options)?,
        Engine::Nix => app::nix_engine::build(&options)?,
    };
    noop::record(&options.dir, link, memo_key, &report);
    Ok(AppOutcome {
        report,
        unchanged: false,
    })
}

/// How builds run: in the bubblewrap sandbox (checked to work here), or,
/// with `no_sandbox`, directly on the host after a loud warning.
pub fn sandbox(no_sandbox: bool) -> Result<Sandbox> {
    if no_sandbox {
        eprintln!("{}", lock2build_sandbox::UNSANDBOXED_WARNING);
        Ok(Sandbox::unsandboxed())
    } else {
        Ok(Sandbox::detect()?)
    }
}

/// The target `app` plans for in `dir`, from the target flags. A project
/// that builds no Python (Cargo.lock, package-lock.json) is built on this
/// machine for this machine: flags describing another are refused, and no
/// interpreter is asked (a python3 upgrade must not rebuild it). Otherwise
/// the real interpreter behind `python3` (a pyenv shim costs ~0.2 s a
/// call) is asked once, planned for and built with; none answering leaves
/// it unset (the Python builder then names the problem).
pub fn app_target(
    dir: &Path,
    lockfile: Option<&Path>,
    ecosystem: Option<Ecosystem>,
    mut target: TargetOptions,
) -> Result<TargetOptions> {
    let python_project = app::builds_python(dir, lockfile, ecosystem);
    if !python_project {
        let named = lockfile
            .and_then(lock2build_plan::discover::LockKind::from_path)
            .map(|k| k.ecosystem());
        let what = match ecosystem.or(named) {
            Some(Ecosystem::Npm) => "Node",
            Some(_) => "Rust",
            None if app::top_ecosystems(dir).contains(&Ecosystem::Npm) => "Node",
            None => "Rust",
        };
        refuse_other_machine(&target, what)?;
    }
    if !python_project && target.python.is_none() && target.python_version.is_none() {
        target.python_version = Some("3.11".into());
    } else if target.python_version.is_none() {
        let given = target
            .python
            .clone()
            .unwrap_or_else(|| PathBuf::from("python3"));
        target.python = lock2build_python::PythonInfo::probe(&given)
            .map(|p| p.executable)
            .ok();
    }
    Ok(target)
}

/// The target a dev shell plans for and the interpreter its Python
/// environment runs with: `given` (else `python3`) as it answers (its real
/// executable); when none answers, Python 3.11 is planned for and `given`
/// kept (a Python project's builder then names the problem).
pub fn shell_target(given: Option<&Path>) -> (TargetOptions, PathBuf) {
    let given = given.map_or_else(|| PathBuf::from("python3"), Path::to_path_buf);
    let python = lock2build_python::PythonInfo::probe(&given)
        .map(|p| p.executable)
        .ok();
    let target = TargetOptions {
        python_version: python.is_none().then(|| "3.11".into()),
        python: python.clone(),
        ..TargetOptions::default()
    };
    (target, python.unwrap_or(given))
}

/// Rust and Node builds run on this machine for this machine: the flags
/// that describe another one are refused rather than ignored.
fn refuse_other_machine(target: &TargetOptions, what: &str) -> Result<()> {
    let given = [
        ("--python-version", target.python_version.is_some()),
        ("--os", target.os.is_some()),
        ("--arch", target.arch.is_some()),
        ("--libc", target.libc.is_some()),
    ];
    let given: Vec<&str> = given.iter().filter(|(_, g)| *g).map(|(f, _)| *f).collect();
    if given.is_empty() {
        return Ok(());
    }
    bail!(
        "{} describe another machine, but {what} builds run on this one, for this one\n  help: drop them (they select Python wheels; `lock2build plan` takes them for any lock)",
        given.join(", ")
    )
}

impl AppReport {
    /// What `lock2build app` prints when it is done (its notes aside):
    /// what was fetched and built, the logs of the steps built now, the
    /// `result` link and what its `bin/` holds. `unchanged`: answered from
    /// the no-op memo.
    pub fn summary(&self, unchanged: bool) -> String {
        let mut out = String::new();
        if self.downloaded == 0 && self.built.is_empty() {
            let _ = writeln!(
                out,
                "nothing to do: all {} built{}{}",
                plural(self.reused, "output"),
                match self.artifacts {
                    0 => String::new(),
                    n => format!(", {} in the store", plural(n, "artifact")),
                },
                if unchanged {
                    " (nothing changed since the last build)"
                } else {
                    ""
                }
            );
        } else {
            let _ = writeln!(
                out,
                "{}; built {}, {} already built",
                self.fetched_text(),
                plural(self.built.len(), "output"),
                self.reused
            );
        }
        for (label, log) in &self.logs {
            if self.built.contains(label) {
                let _ = writeln!(out, "  build log of {label}: {}", log.display());
            }
        }
        let _ = writeln!(out, "{} -> {}", self.link.display(), self.output.display());
        let mut bin = self.scripts.clone();
        if self.output.join("bin/python").exists() {
            bin.push("python".into());
        }
        let _ = writeln!(out, "  {}/bin: {}", self.link.display(), bin.join(", "));
        out
    }

    /// `fetched 3 artifacts (1.2 MiB), 2 already in the store`, or why nothing was.
    fn fetched_text(&self) -> String {
        match self.downloaded {
            0 if self.artifacts == 0 => "nothing to fetch".to_owned(),
            0 => format!(
                "nothing fetched ({} in the store)",
                plural(self.artifacts, "artifact")
            ),
            n => format!(
                "fetched {} ({}), {} already in the store",
                plural(n, "artifact"),
                indicatif::HumanBytes(self.bytes_downloaded),
                self.artifacts - n
            ),
        }
    }
}

/// `1 artifact`, `2 artifacts`.
fn plural(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}
