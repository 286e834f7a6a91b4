//! The `lock2build` command line: parses arguments and calls one operation
//! of the library per command.

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use lock2build_plan::plan::{self, PlanOptions};
use lock2build_plan::pyindex::{self, IndexOptions};
use lock2build_plan::select::SelectOptions;
use lock2build_plan::target::{Target, TargetOptions};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Build a project hermetically from the lockfile it already has.
///
/// lock2build reads poetry.lock, uv.lock, a hashed requirements.txt,
/// package-lock.json or Cargo.lock, turns it into a plan (data, no generated
/// build code), and builds from that plan.
#[derive(Parser)]
#[command(name = "lock2build", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show what would be built: every package that applies to the target,
    /// which artifact of it, with which hash.
    ///
    /// Reads every lockfile in DIR (and one directory down: a Python back end
    /// and a Node front end give one plan). Without --json, prints a summary
    /// per lockfile: its roots, how many packages apply, and what was left
    /// out and why. With --json, writes the plan document (docs/plan.md).
    ///
    /// poetry.lock and requirements.txt carry hashes but no URLs: their
    /// files are found on the index's simple API and cached, so a second
    /// run needs no network.
    ///
    /// Examples:
    ///   lock2build plan
    ///   lock2build plan path/to/project --json > plan.json
    ///   lock2build plan --python-version 3.12 --libc glibc-2.28
    ///   lock2build plan --group dev --extra socks --no-binary pillow
    Plan(PlanArgs),
}

#[derive(Args)]
struct PlanArgs {
    /// The project directory.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Write the plan document as JSON to standard output.
    #[arg(long)]
    json: bool,
    /// List every left-out package in the summary.
    #[arg(short, long)]
    verbose: bool,
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    select: SelectArgs,
    /// Use only the index cache; fail if a URL is not cached.
    #[arg(long)]
    offline: bool,
}

/// Which machine to plan for (the host by default).
#[derive(Args)]
struct TargetArgs {
    /// The Python interpreter to plan for [default: python3 on PATH].
    #[arg(long, value_name = "PATH", help_heading = "Target")]
    python: Option<PathBuf>,
    /// Plan for this Python version (e.g. 3.12) instead of asking an interpreter.
    #[arg(long, value_name = "X.Y", help_heading = "Target")]
    python_version: Option<String>,
    /// Operating system: linux, macos or windows.
    #[arg(long, help_heading = "Target")]
    os: Option<String>,
    /// CPU: x86_64 or aarch64.
    #[arg(long, help_heading = "Target")]
    arch: Option<String>,
    /// C library and version: glibc-2.28, musl-1.2.
    #[arg(long, help_heading = "Target")]
    libc: Option<String>,
}

/// What to include beyond what the app needs at run time.
#[derive(Args)]
struct SelectArgs {
    /// Include a dependency group (poetry/uv groups; `dev` also turns on npm devDependencies). Repeatable.
    #[arg(long = "group", value_name = "GROUP", help_heading = "Selection")]
    groups: Vec<String>,
    /// Include every dependency group and npm devDependencies.
    #[arg(long, help_heading = "Selection")]
    all_groups: bool,
    /// Shorthand for --group dev.
    #[arg(long, help_heading = "Selection")]
    dev: bool,
    /// Turn on an extra of the project. Repeatable.
    #[arg(long = "extra", value_name = "EXTRA", help_heading = "Selection")]
    extras: Vec<String>,
    /// Turn on every extra of the project.
    #[arg(long, help_heading = "Selection")]
    all_extras: bool,
    /// Build this Python package from its sdist instead of a wheel (`:all:` for every one). Repeatable.
    #[arg(long = "no-binary", value_name = "NAME", help_heading = "Selection")]
    no_binary: Vec<String>,
}

impl SelectArgs {
    fn options(&self) -> SelectOptions {
        let mut groups = self.groups.clone();
        if self.dev {
            groups.push("dev".into());
        }
        SelectOptions {
            groups,
            all_groups: self.all_groups,
            extras: self.extras.clone(),
            all_extras: self.all_extras,
            no_binary: self.no_binary.clone(),
        }
    }
}

impl TargetArgs {
    fn resolve(&self) -> Result<Target> {
        Target::resolve(&TargetOptions {
            python: self.python.clone(),
            python_version: self.python_version.clone(),
            os: self.os.clone(),
            arch: self.arch.clone(),
            libc: self.libc.clone(),
        })
    }
}

fn run_plan(args: PlanArgs) -> Result<()> {
    let options = PlanOptions {
        target: args.target.resolve()?,
        select: args.select.options(),
        index: IndexOptions { cache_dir: pyindex::default_cache_dir(), offline: args.offline, jobs: 8 },
    };
    let outcome = plan::plan_project(&args.dir, &options)?;
    let mut stdout = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut stdout, &outcome.plan)?;
        writeln!(stdout)?;
    } else {
        write!(stdout, "{}", plan::summary(&outcome.plan, &outcome.lookups, args.verbose))?;
    }
    stdout.flush().context("writing to standard output")
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Plan(args) => run_plan(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
