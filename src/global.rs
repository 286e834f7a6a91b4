//! The options every command takes, as cargo and uv spell them, and what
//! the binary does with them before and after a command runs: colors,
//! `-C DIR`, finding the project upwards from the current directory,
//! warnings about stale locks, errors as text or as JSON, a closed pipe.

use anstyle::{AnsiColor, Style};
use clap::{ArgAction, Args, ValueEnum};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The format version of the JSON error document (`--json`).
pub const ERROR_VERSION: u32 = 1;

/// When to color the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it).
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Options of every command.
#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// Print less: no progress, no notes (errors and warnings still).
    #[arg(
        short,
        long,
        global = true,
        conflicts_with = "verbose",
        help_heading = "Global options"
    )]
    pub quiet: bool,
    /// Print more; repeatable (`plan -v` lists every left-out package; `app -v`
    /// and `fetch -v` print a line per step instead of a bar).
    #[arg(short, long, global = true, action = ArgAction::Count, help_heading = "Global options")]
    pub verbose: u8,
    /// Color: auto (on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN", hide_possible_values = true, help_heading = "Global options")]
    pub color: ColorWhen,
    /// Run as if started in DIR (before anything else, like cargo -C).
    #[arg(
        short = 'C',
        long = "directory",
        global = true,
        value_name = "DIR",
        help_heading = "Global options"
    )]
    pub directory: Option<PathBuf>,
    /// Never use the network; fail, naming what is not in the store or cache.
    #[arg(long, global = true, help_heading = "Global options")]
    pub offline: bool,
    /// A lock that no longer matches its manifest (poetry content-hash,
    /// pyproject requirements against uv.lock) is an error, exit 1; without
    /// it, a warning. `app` does not change lock2build.build.lock either:
    /// build requirements it lacks are an error, not resolved.
    #[arg(long, global = true, help_heading = "Global options")]
    pub locked: bool,
    /// --locked and --offline.
    #[arg(long, global = true, help_heading = "Global options")]
    pub frozen: bool,
    /// Print each build step's log on stderr as it runs, each line prefixed
    /// with the step (`lxml> gcc …`), as `nix build -L` does; the log file
    /// is written as well (`-q` keeps only these lines).
    #[arg(short = 'L', long, global = true, help_heading = "Global options")]
    pub print_build_logs: bool,
    /// Keep a failed build step's directories (its source tree, target
    /// directory, /tmp, output) in <store>/failed/<step>-<time>/ and say
    /// where; `lock2build gc` removes them. Without it they are removed.
    #[arg(short = 'K', long, global = true, help_heading = "Global options")]
    pub keep_failed: bool,
    /// Machine-readable output: one JSON document on standard output, with
    /// a `version` field (docs/cli.md); errors too, with a non-zero exit.
    #[arg(long, global = true, help_heading = "Global options")]
    pub json: bool,
}

impl GlobalArgs {
    /// `--offline` or `--frozen`.
    pub fn offline(&self) -> bool {
        self.offline || self.frozen
    }

    /// `--locked` or `--frozen`.
    pub fn locked(&self) -> bool {
        self.locked || self.frozen
    }

    /// How build steps are shown: `display` (from --progress) unless -q,
    /// with -L and -K.
    pub fn build_progress(
        &self,
        display: crate::progress::StepDisplay,
    ) -> crate::progress::BuildProgress {
        use crate::progress::{BuildProgress, StepDisplay};
        let display = if self.quiet {
            StepDisplay::Quiet
        } else {
            display
        };
        let keep = self
            .keep_failed
            .then(lock2build_store::Store::default_root)
            .and_then(Result::ok)
            .and_then(|root| std::path::absolute(root).ok())
            .map(|root| lock2build_store::Store::failed_dir_in(&root));
        BuildProgress::new(display, self.print_build_logs, keep)
    }

    /// Whether progress and notes go to stderr.
    pub fn chatty(&self) -> bool {
        !self.quiet
    }

    /// Applies what must hold before any command runs: the color choice,
    /// a closed pipe ending the process quietly, `-C DIR`.
    pub fn apply(&self) -> anyhow::Result<()> {
        let choice = match self.color {
            ColorWhen::Auto => anstream::ColorChoice::Auto,
            ColorWhen::Always => anstream::ColorChoice::Always,
            ColorWhen::Never => anstream::ColorChoice::Never,
        };
        choice.write_global();
        quiet_on_closed_pipe();
        if let Some(dir) = &self.directory {
            std::env::set_current_dir(dir).map_err(|e| {
                anyhow::anyhow!("-C {}: cannot change to this directory: {e}", dir.display())
            })?;
        }
        Ok(())
    }
}

/// `lock2build plan --json | head`: the write to the closed pipe ends the
/// process without a message, as it does for `cat` and `grep` (Rust
/// ignores SIGPIPE, so every `print!` would panic instead). Store writes
/// are atomic, so nothing is left half-written.
fn quiet_on_closed_pipe() {
    // SAFETY: restoring the default disposition of one signal, before any
    // other thread runs; no handler is installed.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// The project directory: `dir` when it holds a lockfile (itself or one
/// directory down); else, when `dir` is the current directory (the
/// default), the nearest ancestor holding a lockfile or lock2build.toml,
/// as cargo and uv search upwards (running in `src/` works); else `dir`
/// as it is (the command then says what is missing there).
pub fn project_dir(dir: &Path) -> PathBuf {
    if lock2build_plan::discover::find_lockfiles(dir).is_ok() || dir != Path::new(".") {
        return dir.to_path_buf();
    }
    let Ok(cwd) = std::env::current_dir() else {
        return dir.to_path_buf();
    };
    let holds_project = |d: &Path| {
        d.join("lock2build.toml").is_file()
            || lock2build_plan::discover::LockKind::ALL
                .iter()
                .any(|k| d.join(k.file_name()).is_file())
    };
    cwd.ancestors()
        .skip(1)
        .find(|d| holds_project(d))
        .map_or_else(|| dir.to_path_buf(), Path::to_path_buf)
}

pub use lock2build_build::progress::warn;

/// The process's exit: the command's code, or its error: on stderr as
/// `error: …` with its causes, and with `--json` also as a JSON object on
/// stdout: `{"version": 1, "error": {"message": …, "causes": […]}}`.
pub fn finish(result: anyhow::Result<ExitCode>, json: bool) -> ExitCode {
    let error = match result {
        Ok(code) => return code,
        Err(e) => e,
    };
    let mut causes: Vec<String> = error.chain().skip(1).map(|c| c.to_string()).collect();
    if let Some(help) = disk_full_help(&error) {
        causes.push(help);
    }
    let style = Style::new().fg_color(Some(AnsiColor::Red.into())).bold();
    let mut text = format!("{error:#}");
    if let Some(help) = disk_full_help(&error) {
        text.push_str(&format!("\n  help: {help}"));
    }
    anstream::eprintln!("{style}error{style:#}: {text}");
    if json {
        let document = serde_json::json!({
            "version": ERROR_VERSION,
            "error": { "message": error.to_string(), "causes": causes },
        });
        let mut stdout = std::io::stdout().lock();
        let _ = serde_json::to_writer_pretty(&mut stdout, &document);
        let _ = writeln!(stdout);
    }
    ExitCode::FAILURE
}

/// A full disk (ENOSPC, EDQUOT) anywhere in the chain: what to do.
fn disk_full_help(error: &anyhow::Error) -> Option<String> {
    let full = error.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::raw_os_error)
            .is_some_and(|code| code == libc::ENOSPC || code == libc::EDQUOT)
            || c.to_string().contains("No space left on device")
    });
    full.then(|| {
        "the disk is full: nothing half-written was kept; free space (`lock2build gc` removes unused store entries) or point LOCK2BUILD_STORE at a larger disk".to_owned()
    })
}
