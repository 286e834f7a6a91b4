//! The `lock2build` command line: parses arguments and calls one operation
//! of the library per command.

use anyhow::{Context, Result};

/// mimalloc: see Cargo.toml (making a graph is allocation-bound).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Args, Parser, Subcommand};
use lock2build_plan::plan::{self, PlanOptions};
use lock2build_plan::pyindex::{self, IndexOptions};
use lock2build_plan::select::SelectOptions;
use lock2build_plan::target::{Target, TargetOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod archive_cmd;
#[cfg(test)]
mod flag_mentions;
mod global;
mod graph_cmd;
mod project_config;
mod store_cmd;

use global::GlobalArgs;
use lock2build_build::{app, fetch_plan, ops, overrides, progress, shell};

/// Build a project hermetically from the lockfile it already has.
///
/// lock2build reads poetry.lock, uv.lock, a hashed requirements.txt,
/// package-lock.json or Cargo.lock, turns it into a plan (data, no generated
/// build code), and builds from that plan.
#[derive(Parser)]
#[command(name = "lock2build", version, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    #[command(verbatim_doc_comment)]
    /// Show what would be built: every package that applies to the target,
    /// which artifact of it, with which hash.
    ///
    /// Reads every lockfile in DIR (and one directory down: a Python back end
    /// and a Node front end give one plan; one down that is not a lock is
    /// skipped with a note). --lockfile PATH, or a PEP 723 SCRIPT.py (its
    /// SCRIPT.py.lock), plans that lockfile only. Without --json, prints a summary
    /// per lockfile: its roots, how many packages apply, and what was left
    /// out and why. With --json, writes the plan document (docs/plan.md).
    ///
    /// poetry.lock and requirements.txt carry hashes but no URLs: their
    /// files are found on the index's simple API and cached, so a second
    /// run needs no network. A lockfileVersion 1 package-lock does not say
    /// which platform an optional package (fsevents) is for: those are
    /// listed as "platform unknown until fetched" until `lock2build fetch`
    /// brings their package.json into the store.
    ///
    /// Examples:
    ///   lock2build plan
    ///   lock2build plan path/to/project --json > plan.json
    ///   lock2build plan --python-version 3.12 --libc glibc-2.28
    ///   lock2build plan --group dev --extra socks --no-binary pillow
    Plan(PlanArgs),
    #[command(verbatim_doc_comment)]
    /// Build the app of a project from its lockfile, hermetically, and
    /// link it as ./result.
    ///
    /// The lockfile in DIR picks the builder (--ecosystem when there are
    /// several). Only that lockfile is read: one beside it that is empty or
    /// has no project loses to a real one (uv.lock, then poetry.lock,
    /// pylock.toml, requirements.txt), and lockfiles one directory down
    /// (docs/requirements.txt) are noted, not read; --lockfile PATH names
    /// another. Every artifact is fetched into the store and verified by
    /// hash; every build runs in a bubblewrap sandbox with no network;
    /// native libraries and tools the overrides database names are checked
    /// before anything is fetched. A second run with nothing changed
    /// fetches and builds nothing. Build logs are kept in <store>/logs/:
    /// each build step names its log as it starts (`tail -f` it); on a
    /// terminal a live line shows the step, its time and its log's last
    /// line. -L prints the logs as they come (`lxml> …`); -K keeps a failed
    /// step's build directory in <store>/failed/.
    ///
    /// Python (poetry.lock, uv.lock, pylock.toml, hashed requirements.txt): each wheel
    /// installed into its own store output; sdists and the project built
    /// through their PEP 517 backends with build systems from pinned,
    /// hashed wheels (Rust extensions: the crates of the Cargo.lock they
    /// ship, vendored). `result` is an environment: `result/bin` holds the
    /// project's console scripts (for a requirements.txt, those of its
    /// top-level requirements) and `python`; name others with --script or
    /// in lock2build.toml:
    ///   [app]
    ///   scripts = ["flask", "gunicorn"]
    ///
    /// Rust (Cargo.lock): the crates vendored, the dependencies built once
    /// from the workspace's skeleton, then `cargo build --release --offline
    /// --locked`; `result/bin` holds the workspace's binaries.
    ///
    /// Node (package-lock.json): node_modules laid out as the lock says,
    /// install scripts (node-gyp) run per package with their overrides,
    /// `npm run build` if there is one (another script: `[app]
    /// build-script = "NAME"`); `result/bin` holds launchers for
    /// package.json's `bin` (or `[app] bin = { NAME = "server.js" }`).
    ///
    /// Examples:
    ///   lock2build app
    ///   lock2build app path/to/project --python /usr/bin/python3.12
    ///   lock2build app --no-binary pillow    # build Pillow from its sdist
    ///   lock2build app --script gunicorn -o server
    ///   lock2build app fixtures/cargo/native-app
    ///   lock2build app --ecosystem npm       # a directory with uv.lock and package-lock.json
    ///   lock2build app --lockfile requirements/main.txt
    ///   lock2build app tool.py               # a PEP 723 script and its tool.py.lock
    App(AppArgs),
    #[command(verbatim_doc_comment)]
    /// Start $SHELL (or run `-- CMD ARGS…`) in the project's development
    /// environment: every lockfile of DIR (and one directory down), with
    /// dev dependencies, without pip, npm install or cargo fetch.
    ///
    /// Python: VIRTUAL_ENV and PATH to an environment of every locked
    /// package and the project installed editable (its backend's PEP 660
    /// hook in the sandbox, else a .pth to its source: edits are seen at
    /// once); `pip install` refuses (change the lock, re-enter).
    /// Node: the locked node_modules (not the app's build) linked as
    /// DIR/node_modules (an existing one lock2build did not make is kept
    /// unless --force), node_modules/.bin on PATH. Rust: CARGO_HOME set so `cargo build --offline` uses the
    /// vendored crates; the crates' override variables set. Native libraries
    /// are checked as `app` checks them. docs/shell.md.
    ///
    /// Examples:
    ///   lock2build shell
    ///   lock2build shell path/to/project -- pytest -q
    ///   lock2build shell --no-dev -- python -c 'import flask'
    Shell(ShellArgs),
    #[command(verbatim_doc_comment)]
    /// Print the environment `lock2build shell` starts, for a shell to
    /// evaluate or direnv (`use lock2build`, see `lock2build direnv-hook`).
    ///
    /// Examples:
    ///   eval "$(lock2build env)"
    ///   lock2build env --format fish | source
    ///   lock2build env --format json
    Env(EnvArgs),
    /// Print direnv's `use lock2build` function (save it as
    /// ~/.config/direnv/lib/lock2build.sh, then put `use lock2build` in .envrc).
    DirenvHook,
    #[command(verbatim_doc_comment)]
    /// Download every artifact of the plan into the store, verified.
    ///
    /// Every byte is checked against the lockfile's hash (sha256, sha512 or
    /// sha1) before it enters the content-addressed store; a mismatch names
    /// the package, the URL and both hashes, and nothing is stored. Downloads
    /// run in parallel, retry on timeouts and 5xx (not on 404), and resume
    /// cut-off transfers. A second run makes no network request.
    /// A URL slower than LOCK2BUILD_FETCH_LOW_SPEED_LIMIT bytes/s (1024) for
    /// LOCK2BUILD_FETCH_LOW_SPEED_TIME seconds (60) is given up; a file of
    /// unrecorded size may be at most LOCK2BUILD_FETCH_MAX_SIZE bytes (2 GiB).
    ///
    /// The store is $LOCK2BUILD_STORE, else ~/.cache/lock2build/store.
    /// Mirrors: `[mirrors]` in the project's lock2build.toml or
    /// ~/.config/lock2build/config.toml ("https://registry.npmjs.org" =
    /// "https://npm.example/"), or LOCK2BUILD_MIRRORS="prefix=replacement,…".
    /// Credentials come from ~/.netrc ($NETRC) or LOCK2BUILD_AUTH_<HOST>,
    /// and are never printed.
    ///
    /// Examples:
    ///   lock2build fetch
    ///   lock2build fetch path/to/project --jobs 16
    ///   lock2build fetch --offline     # fail fast, naming what is missing
    Fetch(FetchArgs),
    #[command(verbatim_doc_comment)]
    /// Write the build graph: every node a build runs, as data (docs/graph.md).
    ///
    /// Sources are fixed nodes: each download (`fetch-url`, by the lock's
    /// hash) and each git checkout (`git-checkout`, by its NAR sha256; a
    /// checkout the store lacks is made once to learn it). A Cargo project's
    /// graph holds every step `app` runs too (crates unpacked, the vendor
    /// directory, the skeleton, the dependencies, the app: `result`); a
    /// Python project's its wheel installs, build environments, PEP 517
    /// builds and environment; an npm project's its node_modules and app.
    /// The graph is complete: in a Python project the source builds are
    /// made first and what their backends ask for at build time is
    /// recorded in lock2build.build.lock (an error under --locked). Nix
    /// builds it with nix/ (docs/nix.md; or `lock2build app --engine nix`);
    /// `lock2build realise` makes one node.
    ///
    /// Examples:
    ///   lock2build graph > graph.json
    ///   lock2build graph path/to/project -o graph.json
    Graph(GraphArgs),
    #[command(verbatim_doc_comment)]
    /// Make one node of a build graph from its inputs: what other engines call.
    ///
    /// Every input the node takes must be given, and fixed inputs must hash
    /// to their node's hash; the output is written to --out (default: $out,
    /// as a Nix builder gets it), which must not exist. LOCK2BUILD_NIXPKGS
    /// (JSON of store paths, set by nix/ when given pkgs) gives the node's
    /// toolchains and native libraries instead of the host's (docs/graph.md).
    ///
    /// Example:
    ///   lock2build realise --graph graph.json NODE-ID --out ./node-out
    Realise(RealiseArgs),
    #[command(verbatim_doc_comment)]
    /// Remove store entries that no live `result` link or recent plan uses.
    ///
    /// Plans recorded by `fetch` in the last 30 days (--keep-days) keep
    /// their sources alive; `result` links keep their outputs. Prints what
    /// was removed and how much space was freed.
    Gc(GcArgs),
    /// Check the store (`store verify [--repair]`).
    #[command(subcommand)]
    Store(store_cmd::StoreCommand),
    #[command(verbatim_doc_comment)]
    /// The source-archive list archivists feed to Software Heritage, and SBOMs.
    ///
    /// Formats:
    ///   swh        sources.json as nixpkgs-swh and Guix write it, which Software
    ///              Heritage's nixguix lister reads: every locked artifact (all
    ///              wheels and sdists, tarballs, crates, git commits) of every
    ///              project, deduplicated by hash, plus the pinned build systems
    ///   urls       the same, one URL per line
    ///   cyclonedx  CycloneDX 1.6 JSON of the plan: purls, hashes, download URLs,
    ///              the dependency graph
    ///   spdx       SPDX 2.3 JSON of the plan
    ///
    /// With --recursive, every lockfile under the given directories is read (a
    /// monorepo, a folder of clones); a broken lockfile is reported and
    /// skipped, and the exit code is 3. See docs/sources.md.
    ///
    /// Examples:
    ///   lock2build sources --format swh -o sources.json
    ///   lock2build sources ~/src --recursive --format urls
    ///   lock2build sources --format cyclonedx > bom.cdx.json
    Sources(SourcesArgs),
    #[command(verbatim_doc_comment)]
    /// Which native libraries and tools the project's source builds need,
    /// which this host has, and the one command that installs the rest.
    ///
    /// Reads the plan (sdists, npm packages with install scripts, crates are
    /// built from source) and the overrides database (community, user and
    /// project layers), and whether the build sandbox (bubblewrap) works here.
    /// Exits 1 when something is missing.
    ///
    /// Example:
    ///   lock2build doctor path/to/project
    Doctor(DoctorArgs),
    /// What Software Heritage holds of the project's sources, and asking it
    /// to save the git origins (docs/archive.md).
    #[command(subcommand)]
    Archive(archive_cmd::ArchiveCommand),
    #[command(verbatim_doc_comment)]
    /// The overrides database: what lockfiles never say (native libraries,
    /// build tools, build-system pins, env knobs, patches), and contributing
    /// to it.
    ///
    /// The contribution flow:
    ///   lock2build overrides new pypi/foo --from-log build.log   # draft in .lock2build/overrides/
    ///   lock2build overrides check                               # validate the project layer
    ///   lock2build overrides export -o foo.patch                 # a patch for the community database
    #[command(subcommand)]
    Overrides(OverridesCommand),
    #[command(verbatim_doc_comment)]
    /// Shell completions for bash, zsh or fish, on standard output.
    ///
    /// Examples:
    ///   lock2build completions bash > ~/.local/share/bash-completion/completions/lock2build
    ///   lock2build completions zsh > "${fpath[1]}/_lock2build"
    ///   lock2build completions fish > ~/.config/fish/completions/lock2build.fish
    Completions {
        /// bash, zsh or fish.
        shell: clap_complete::Shell,
    },
    #[command(verbatim_doc_comment)]
    /// The manual page (roff), on standard output.
    ///
    /// Example:
    ///   lock2build man > ~/.local/share/man/man1/lock2build.1
    Man,
}

#[derive(Args)]
struct SourcesArgs {
    /// Project directories (or trees, with --recursive).
    #[arg(default_value = ".")]
    dirs: Vec<PathBuf>,
    /// swh, urls, cyclonedx or spdx.
    #[arg(long, default_value = "swh")]
    format: String,
    /// Find every lockfile below the directories.
    #[arg(short, long)]
    recursive: bool,
    /// Write here instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    select: SelectArgs,
}

#[derive(Args)]
struct DoctorArgs {
    /// The project directory.
    #[arg(default_value = ".")]
    dir: PathBuf,
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    select: SelectArgs,
}

#[derive(Subcommand)]
enum OverridesCommand {
    #[command(verbatim_doc_comment)]
    /// Show what applies to a package, and from which layer and file.
    ///
    /// NAME is a package of the project's plan (its locked version is used),
    /// or ECOSYSTEM/NAME@VERSION for any package.
    ///
    /// Examples:
    ///   lock2build overrides why pillow
    ///   lock2build overrides why crates/openssl-sys@0.9.103
    Why {
        /// NAME, or ECOSYSTEM/NAME@VERSION.
        package: String,
        /// The project directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    #[command(verbatim_doc_comment)]
    /// Draft an override for ECOSYSTEM/NAME in the project layer
    /// (.lock2build/overrides/), pre-filled from a failed build's log or a
    /// wheel's ELF NEEDED entries.
    ///
    /// With --from-log, missing headers, pkg-config modules and `-lfoo`
    /// libraries in the log are mapped to the providers that ship them.
    New {
        /// ECOSYSTEM/NAME[@VERSION] (the entry applies from VERSION on; default: every version).
        package: String,
        /// A build log to guess native needs from.
        #[arg(long, value_name = "FILE")]
        from_log: Option<PathBuf>,
        /// A wheel whose compiled modules need shared libraries it does not
        /// bundle (ELF NEEDED): each is mapped to the library that ships it.
        #[arg(long, value_name = "WHEEL")]
        from_wheel: Option<PathBuf>,
        /// The project directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Replace an existing draft.
        #[arg(long)]
        force: bool,
    },
    #[command(verbatim_doc_comment)]
    /// Validate the project layer: schema, version ranges, known native ids.
    ///
    /// Then test-builds, in the sandbox, every package of the project's
    /// locks that the layer has an override for, with the override applied:
    ///   PyPI    from its sdist (as `lock2build app --no-binary NAME` would)
    ///   npm     its install scripts run (node-gyp), in the laid-out tree
    ///   crates  its build script and code (`cargo build -p NAME@VERSION`)
    Check {
        /// The project directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Only validate; do not test-build.
        #[arg(long)]
        no_build: bool,
        /// Run the test builds without the sandbox (not hermetic).
        #[arg(long)]
        no_sandbox: bool,
    },
    #[command(verbatim_doc_comment)]
    /// Write the project layer as a unified diff against the community
    /// database (`git apply` accepts it), ready for a pull request.
    Export {
        /// The project directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Write the patch here instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

#[derive(Args)]
struct AppArgs {
    /// The project directory, or a PEP 723 script (`script.py`, locked by
    /// `uv lock --script` as `script.py.lock`): result/bin/<script> runs it.
    #[arg(default_value = ".", value_name = "DIR|SCRIPT")]
    dir: PathBuf,
    /// The lockfile to build, when it is not the one lock2build picks in DIR
    /// (`requirements/main.txt`, `pylock.dev.toml`, `docs/poetry.lock`).
    /// Relative to the current directory.
    #[arg(long, value_name = "PATH")]
    lockfile: Option<PathBuf>,
    /// Where to link the result [default: DIR/result].
    #[arg(short = 'o', long, value_name = "PATH")]
    out_link: Option<PathBuf>,
    /// A program to put in result/bin: a script of any package of a Python
    /// environment, a binary of a Cargo workspace, an npm bin. Repeatable.
    #[arg(long = "script", value_name = "NAME")]
    scripts: Vec<String>,
    /// Run builds directly on this machine, without the sandbox (not hermetic; for debugging).
    #[arg(long)]
    no_sandbox: bool,
    /// Downloads, installs and builds at once.
    #[arg(long, short = 'j', default_value_t = 8)]
    jobs: usize,
    /// Progress display: auto (on a terminal, a download bar and a live
    /// line per running build step), bar, plain (a line as each step
    /// starts and ends), quiet.
    #[arg(long, default_value = "auto")]
    progress: String,
    /// Cargo features to enable (comma-separated or repeated; else
    /// lock2build.toml's `[app] features`).
    #[arg(long, value_name = "FEATURES", value_delimiter = ',')]
    features: Vec<String>,
    /// Cargo's --no-default-features (else lock2build.toml's `[app]
    /// no-default-features`).
    #[arg(long)]
    no_default_features: bool,
    /// Which project to build when the directory has lockfiles of several
    /// ecosystems: pypi, npm or crates.
    #[arg(long, value_name = "ECOSYSTEM", value_parser = parse_ecosystem_arg)]
    ecosystem: Option<lock2build_model::Ecosystem>,
    /// What builds the graph: lock2build's own executor (local), or Nix
    /// (`nix-build` of the graph with lock2build's nix/ library: your
    /// nix.conf's builders and substituters apply; docs/nix.md).
    #[arg(long, value_enum, default_value = "local")]
    engine: app::Engine,
    #[command(flatten)]
    archive: archive_cmd::ArchiveFlags,
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    select: SelectArgs,
}

#[derive(Args)]
struct ShellArgs {
    #[command(flatten)]
    common: ShellCommonArgs,
    /// The command to run instead of $SHELL; its exit code is the shell's.
    #[arg(last = true, value_name = "CMD")]
    command: Vec<String>,
}

#[derive(Args)]
struct EnvArgs {
    #[command(flatten)]
    common: ShellCommonArgs,
    /// How to print it.
    #[arg(long, value_enum, default_value = "bash")]
    format: shell::Format,
}

#[derive(Args)]
struct ShellCommonArgs {
    /// The project directory.
    #[arg(default_value = ".", value_name = "DIR")]
    dir: PathBuf,
    /// Leave the dev dependencies out (poetry/uv groups, npm devDependencies).
    #[arg(long)]
    no_dev: bool,
    /// Replace a node_modules lock2build did not make (moved to node_modules.replaced).
    #[arg(long)]
    force: bool,
    /// Run builds directly on this machine, without the sandbox (not hermetic).
    #[arg(long)]
    no_sandbox: bool,
    /// Downloads, installs and builds at once.
    #[arg(long, short = 'j', default_value_t = 8)]
    jobs: usize,
    /// The interpreter of the Python environment [default: python3].
    #[arg(long, value_name = "PATH")]
    python: Option<PathBuf>,
}

fn shell_env(args: &ShellCommonArgs, g: &GlobalArgs) -> Result<shell::ShellEnv> {
    let dir = global::project_dir(&args.dir);
    let flags = shell::ShellFlags {
        no_dev: args.no_dev,
        force: args.force,
    };
    let inputs = shell::CacheInputs {
        dir: &dir,
        flags,
        python: args.python.as_deref(),
        locked: g.locked(),
    };
    let env = shell::cached_or(&inputs, || build_shell_env(args, g, dir.clone(), flags))?;
    for note in env.notes.iter().filter(|_| g.chatty()) {
        eprintln!("note: {note}");
    }
    Ok(env)
}

fn build_shell_env(
    args: &ShellCommonArgs,
    g: &GlobalArgs,
    dir: PathBuf,
    flags: shell::ShellFlags,
) -> Result<shell::ShellEnv> {
    use lock2build_fetch::{Credentials, FetchOptions, MirrorConfig, ProgressMode};
    let (target, python) = ops::shell_target(args.python.as_deref());
    let sandbox = ops::sandbox(args.no_sandbox)?;
    let options = app::AppOptions {
        plan: PlanOptions {
            target: Target::resolve(&target)?,
            select: SelectOptions::default(),
            index: index_options(Some(&dir), g.offline())?,
        },
        python,
        sandbox,
        fetch: FetchOptions {
            jobs: args.jobs.max(1),
            offline: g.offline(),
            mirrors: MirrorConfig::load(Some(&dir)).map_err(|e| anyhow::anyhow!("{e}"))?,
            credentials: Credentials::load(),
            progress: ProgressMode::Quiet,
            ..FetchOptions::from_env()?
        },
        jobs: args.jobs.max(1),
        out_link: dir.join("result"),
        scripts: Vec::new(),
        progress: g.chatty() && !g.json,
        steps: g.build_progress(if g.json {
            progress::StepDisplay::Quiet
        } else {
            progress::StepDisplay::from_mode(progress_mode("auto", g)?)
        }),
        ecosystem: None,
        lockfile: None,
        script: None,
        features: Vec::new(),
        no_default_features: false,
        from_source: Vec::new(),
        locked: g.locked(),
        develop: true,
        dir,
    };
    shell::prepare(options, flags)
}

fn parse_ecosystem_arg(s: &str) -> Result<lock2build_model::Ecosystem, String> {
    lock2build_overrides::parse_ecosystem(s)
        .ok_or_else(|| format!("`{s}`: expected pypi, npm or crates"))
}

#[derive(Args)]
struct FetchArgs {
    /// The project directory.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Downloads at once.
    #[arg(long, short = 'j', default_value_t = 8)]
    jobs: usize,
    /// Progress display: auto (a bar on a terminal), bar, plain, quiet.
    #[arg(long, default_value = "auto")]
    progress: String,
    #[command(flatten)]
    archive: archive_cmd::ArchiveFlags,
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    select: SelectArgs,
}

#[derive(Args)]
struct GraphArgs {
    /// The project directory.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Write the graph to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// The lockfile, when it is not the one lock2build picks in DIR (as `app`).
    #[arg(long, value_name = "PATH")]
    lockfile: Option<PathBuf>,
    /// A program to put in result/bin (as `app --script`). Repeatable.
    #[arg(long = "script", value_name = "NAME")]
    scripts: Vec<String>,
    /// Cargo features to enable (as `app --features`).
    #[arg(long, value_name = "FEATURES", value_delimiter = ',')]
    features: Vec<String>,
    /// Cargo's --no-default-features (as `app`).
    #[arg(long)]
    no_default_features: bool,
    /// Which project, when the directory has lockfiles of several
    /// ecosystems: pypi, npm or crates.
    #[arg(long, value_name = "ECOSYSTEM", value_parser = parse_ecosystem_arg)]
    ecosystem: Option<lock2build_model::Ecosystem>,
    #[command(flatten)]
    archive: archive_cmd::ArchiveFlags,
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    select: SelectArgs,
}

#[derive(Args)]
struct RealiseArgs {
    /// The build graph (`lock2build graph`).
    #[arg(long, value_name = "FILE")]
    graph: PathBuf,
    /// The node to make.
    #[arg(value_name = "NODE-ID")]
    node: String,
    /// An input's output: its node id and path (repeat for each input).
    #[arg(long = "input", value_name = "ID=PATH", value_parser = parse_input)]
    inputs: Vec<(String, PathBuf)>,
    /// Where to write the output [default: $out].
    #[arg(long, value_name = "PATH", env = "out")]
    out: PathBuf,
}

fn parse_input(s: &str) -> Result<(String, PathBuf), String> {
    s.split_once('=')
        .map(|(id, path)| (id.to_string(), PathBuf::from(path)))
        .ok_or_else(|| format!("`{s}`: expected NODE-ID=PATH"))
}

#[derive(Args)]
struct GcArgs {
    /// Plans recorded longer ago than this many days no longer keep anything alive.
    #[arg(long, default_value_t = 30)]
    keep_days: u64,
}

#[derive(Args)]
struct PlanArgs {
    /// The project directory, or a PEP 723 script (its `script.py.lock`).
    #[arg(default_value = ".", value_name = "DIR|SCRIPT")]
    dir: PathBuf,
    /// Plan only this lockfile (relative to the current directory).
    #[arg(long, value_name = "PATH")]
    lockfile: Option<PathBuf>,
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    select: SelectArgs,
}

/// Which machine to plan for (the host by default).
#[derive(Args, Default)]
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
#[derive(Args, Default)]
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
    /// A project with no Python lockfile (`--lockfile`, else in DIR or one
    /// directory down) needs no interpreter: none is asked, unless --python names one.
    fn skip_python_probe_unless_needed(&mut self, dir: &Path, lockfile: Option<&Path>) {
        use lock2build_plan::discover::{find_lockfiles, LockKind};
        let python = match lockfile {
            Some(lock) => LockKind::from_path(lock)
                .is_none_or(|k| k.ecosystem() == lock2build_model::Ecosystem::Pypi),
            None => find_lockfiles(dir)
                .unwrap_or_default()
                .iter()
                .any(|l| l.kind.ecosystem() == lock2build_model::Ecosystem::Pypi),
        };
        if !python && self.python.is_none() && self.python_version.is_none() {
            self.python_version = Some("3.11".into());
        }
    }

    /// The target these flags describe.
    fn options(&self) -> TargetOptions {
        TargetOptions {
            python: self.python.clone(),
            python_version: self.python_version.clone(),
            os: self.os.clone(),
            arch: self.arch.clone(),
            libc: self.libc.clone(),
        }
    }

    fn resolve(&self) -> Result<Target> {
        Target::resolve(&self.options())
    }
}

/// What planning needs, from the flags every planning command shares.
/// `dir`: the project, whose lock2build.toml mirrors apply to index lookups.
fn plan_options(
    dir: Option<&Path>,
    target: &TargetArgs,
    select: &SelectArgs,
    offline: bool,
) -> Result<PlanOptions> {
    Ok(PlanOptions {
        target: target.resolve()?,
        select: select.options(),
        index: index_options(dir, offline)?,
    })
}

/// Where the Python index is asked and cached; `dir`'s lock2build.toml
/// mirrors apply.
fn index_options(dir: Option<&Path>, offline: bool) -> Result<IndexOptions> {
    IndexOptions::new(pyindex::default_cache_dir(), offline).with_network_config(dir)
}

/// The plan of the project in `dir` (or of `lockfile` alone), checked
/// against its manifests: a warning per mismatch, an error with `--locked`.
fn planned(
    dir: &Path,
    lockfile: Option<&Path>,
    options: &PlanOptions,
    g: &GlobalArgs,
) -> Result<plan::PlanOutcome> {
    let target = lock2build_plan::pick::LockTarget::new(dir, lockfile)?;
    let outcome = plan::plan_target(&target, options)?;
    global::warn(&plan::check_locked(&outcome.plan, g.locked())?);
    Ok(outcome)
}

fn run_plan(mut args: PlanArgs, g: &GlobalArgs) -> Result<()> {
    if args.lockfile.is_none() {
        args.dir = global::project_dir(&args.dir);
    }
    args.target
        .skip_python_probe_unless_needed(&args.dir, args.lockfile.as_deref());
    let options = plan_options(Some(&args.dir), &args.target, &args.select, g.offline())?;
    let mut outcome = planned(&args.dir, args.lockfile.as_deref(), &options, g)?;
    fetch_plan::annotate_git_trees(&mut outcome.plan);
    app::known_platforms(&mut outcome.plan);
    // Buffered: standard output is line-buffered, and a pretty plan is one
    // line per field (48,000 `write`s for the 2,057-package npm lock).
    let mut stdout = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    if g.json {
        serde_json::to_writer_pretty(&mut stdout, &outcome.plan)?;
        writeln!(stdout)?;
    } else {
        write!(
            stdout,
            "{}",
            plan::summary(&outcome.plan, &outcome.lookups, g.verbose > 0)
        )?;
    }
    stdout.flush().context("writing to standard output")
}

fn open_store() -> Result<lock2build_store::Store> {
    let root = lock2build_store::Store::default_root()?;
    lock2build_store::Store::open(&root)
        .with_context(|| format!("cannot open the store at {}", root.display()))
}

/// `--progress`; `auto` with `-v` is `plain` (a line per step, not a bar).
fn progress_mode(name: &str, g: &GlobalArgs) -> Result<lock2build_fetch::ProgressMode> {
    use lock2build_fetch::ProgressMode;
    Ok(match name {
        "auto" if g.verbose > 0 => ProgressMode::Plain,
        "auto" => ProgressMode::Auto,
        "bar" => ProgressMode::Bar,
        "plain" => ProgressMode::Plain,
        "quiet" => ProgressMode::Quiet,
        other => anyhow::bail!("--progress {other}: expected auto, bar, plain or quiet"),
    })
}

/// The format version of `lock2build app --json` (docs/cli.md).
const APP_REPORT_VERSION: u32 = 1;

/// `report` as a JSON object whose first field is `"version": version`.
fn versioned(version: u32, report: &impl serde::Serialize) -> Result<serde_json::Value> {
    let mut object = serde_json::Map::new();
    object.insert("version".into(), version.into());
    if let serde_json::Value::Object(fields) = serde_json::to_value(report)? {
        object.extend(fields);
    }
    Ok(serde_json::Value::Object(object))
}

fn run_app(mut args: AppArgs, g: &GlobalArgs) -> Result<()> {
    if args.lockfile.is_none() {
        args.dir = global::project_dir(&args.dir);
    }
    progress_mode(&args.progress, g)?;
    let target = lock2build_plan::pick::LockTarget::new(&args.dir, args.lockfile.as_deref())?;
    args.dir = target.dir.clone();
    let link = args
        .out_link
        .clone()
        .unwrap_or_else(|| args.dir.join("result"));
    let (dir, engine) = (args.dir.clone(), args.engine);
    let outcome = ops::app(&dir, &link, engine, || app_options(args, target, g))?;
    print_app_report(&outcome.report, g, outcome.unchanged)
}

/// What `app` (and `graph`) build with, from their arguments: the
/// interpreter asked once, the sandbox checked, downloads and progress.
fn app_options(
    args: AppArgs,
    target: lock2build_plan::pick::LockTarget,
    g: &GlobalArgs,
) -> Result<app::AppOptions> {
    use lock2build_fetch::{Credentials, FetchOptions, MirrorConfig, ProgressMode};
    let progress = progress_mode(&args.progress, g)?;
    project_config::check(&args.dir)?;
    let planned_for = ops::app_target(
        &args.dir,
        target.lockfile.as_deref(),
        args.ecosystem,
        args.target.options(),
    )?;
    let sandbox = ops::sandbox(args.no_sandbox)?;
    let quiet =
        progress == ProgressMode::Quiet || !g.chatty() || (g.json && args.progress == "auto");
    Ok(app::AppOptions {
        python: planned_for
            .python
            .clone()
            .unwrap_or_else(|| PathBuf::from("python3")),
        plan: PlanOptions {
            target: Target::resolve(&planned_for)?,
            select: args.select.options(),
            index: index_options(Some(&args.dir), g.offline())?,
        },
        sandbox,
        fetch: FetchOptions {
            jobs: args.jobs.max(1),
            offline: g.offline(),
            mirrors: MirrorConfig::load(Some(&args.dir))?,
            credentials: Credentials::load(),
            progress: if quiet { ProgressMode::Quiet } else { progress },
            archive: args.archive.config(),
            ..FetchOptions::from_env()?
        },
        jobs: args.jobs.max(1),
        out_link: args.out_link.unwrap_or_else(|| args.dir.join("result")),
        scripts: args.scripts,
        progress: !quiet,
        steps: g.build_progress(if quiet {
            progress::StepDisplay::Quiet
        } else {
            progress::StepDisplay::from_mode(progress)
        }),
        ecosystem: args.ecosystem,
        lockfile: target.lockfile,
        script: target.script,
        features: args.features,
        no_default_features: args.no_default_features,
        from_source: Vec::new(),
        locked: g.locked(),
        develop: false,
        dir: args.dir,
    })
}

/// Prints what `app` did; `unchanged` when it was answered from the no-op
/// memo (nothing the build depends on changed).
fn print_app_report(report: &app::AppReport, g: &GlobalArgs, unchanged: bool) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    if g.json {
        let mut doc = versioned(APP_REPORT_VERSION, report)?;
        if let Some(object) = doc.as_object_mut() {
            object.insert("unchanged".into(), unchanged.into());
        }
        serde_json::to_writer_pretty(&mut stdout, &doc)?;
        writeln!(stdout)?;
        return Ok(());
    }
    for note in report.notes.iter().filter(|_| g.chatty()) {
        writeln!(stdout, "note: {note}")?;
    }
    write!(stdout, "{}", report.summary(unchanged))?;
    Ok(())
}

fn run_fetch(mut args: FetchArgs, g: &GlobalArgs) -> Result<()> {
    use lock2build_fetch::{Credentials, FetchOptions, MirrorConfig, ProgressMode};
    args.dir = global::project_dir(&args.dir);
    project_config::check(&args.dir)?;
    let progress = progress_mode(&args.progress, g)?;
    args.target.skip_python_probe_unless_needed(&args.dir, None);
    let options = plan_options(Some(&args.dir), &args.target, &args.select, g.offline())?;
    let outcome = planned(&args.dir, None, &options, g)?;
    let store = open_store()?;
    let fetch_options = FetchOptions {
        jobs: args.jobs.max(1),
        offline: g.offline(),
        mirrors: MirrorConfig::load(Some(&args.dir))?,
        credentials: Credentials::load(),
        progress: if !g.chatty() || (g.json && args.progress == "auto") {
            ProgressMode::Quiet
        } else {
            progress
        },
        archive: args.archive.config(),
        ..FetchOptions::from_env()?
    };
    let started = std::time::Instant::now();
    let summary = fetch_plan::fetch_plan(&outcome.plan, &args.dir, &store, &fetch_options)?;
    let mut stdout = std::io::stdout().lock();
    if g.json {
        serde_json::to_writer_pretty(&mut stdout, &summary)?;
        writeln!(stdout)?;
    } else {
        let what = if summary.downloaded == 0 {
            "nothing to download".to_owned()
        } else {
            format!(
                "{} downloaded ({})",
                summary.downloaded,
                indicatif::HumanBytes(summary.bytes_downloaded)
            )
        };
        writeln!(
            stdout,
            "{} artifacts in the store: {what}, {} already there ({:.2}s)",
            summary.artifacts,
            summary.cached,
            started.elapsed().as_secs_f64()
        )?;
        for g in &summary.git {
            writeln!(
                stdout,
                "  git {} at {}: tree swh:1:dir:{} ({})",
                g.id, g.checkout.commit, g.checkout.tree, g.checkout.nar_sha256
            )?;
        }
    }
    Ok(())
}

fn run_graph(args: GraphArgs, g: &GlobalArgs) -> Result<()> {
    let mut dir = args.dir;
    if args.lockfile.is_none() {
        dir = global::project_dir(&dir);
    }
    let target = lock2build_plan::pick::LockTarget::new(&dir, args.lockfile.as_deref())?;
    let app_args = AppArgs {
        dir: target.dir.clone(),
        lockfile: args.lockfile,
        out_link: None,
        scripts: args.scripts,
        no_sandbox: false,
        jobs: 8,
        progress: "auto".into(),
        features: args.features,
        no_default_features: args.no_default_features,
        ecosystem: args.ecosystem,
        engine: app::Engine::Local,
        archive: args.archive,
        target: args.target,
        select: args.select,
    };
    let options = app_options(app_args, target, g)?;
    let graph = app::graph_for(&options)?;
    let mut text = serde_json::to_string_pretty(&graph)?;
    text.push('\n');
    match &args.output {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?
        }
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    Ok(())
}

/// The format version of `lock2build gc --json`.
const GC_REPORT_VERSION: u32 = 1;

fn run_gc(args: GcArgs, g: &GlobalArgs) -> Result<()> {
    let store = open_store()?;
    let options = lock2build_store::GcOptions {
        plan_max_age: std::time::Duration::from_secs(args.keep_days * 86400),
    };
    let report = store.gc(&options, || {
        eprintln!("waiting for other lock2build processes to finish with the store…")
    })?;
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    let mut stdout = std::io::stdout().lock();
    if g.json {
        let removed: Vec<serde_json::Value> = report
            .removed
            .iter()
            .map(|r| serde_json::json!({"kind": format!("{:?}", r.kind).to_lowercase(), "path": r.path, "bytes": r.bytes}))
            .collect();
        serde_json::to_writer_pretty(
            &mut stdout,
            &serde_json::json!({"version": GC_REPORT_VERSION, "removed": removed, "bytes_freed": report.bytes_freed, "kept_outputs": report.kept_outputs}),
        )?;
        writeln!(stdout)?;
    } else {
        for r in &report.removed {
            writeln!(
                stdout,
                "removed {} ({})",
                r.path.display(),
                indicatif::HumanBytes(r.bytes)
            )?;
        }
        writeln!(
            stdout,
            "freed {} in {} entries",
            indicatif::HumanBytes(report.bytes_freed),
            report.removed.len()
        )?;
    }
    Ok(())
}

fn run_sources(args: SourcesArgs, g: &GlobalArgs) -> Result<ExitCode> {
    use lock2build_sources::{collect_for, common_revision, render, Format};
    let format: Format = args.format.parse()?;
    let options = plan_options(
        args.dirs.first().map(PathBuf::as_path),
        &args.target,
        &args.select,
        g.offline(),
    )?;
    let report = collect_for(format, &args.dirs, args.recursive, &options);
    let stale = report.projects.iter().flat_map(|p| &p.graph.stale);
    global::warn(&plan::check_stale(stale, g.locked())?);
    let text = render(&report, format, common_revision(&args.dirs))?;
    match &args.output {
        Some(path) => {
            std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?
        }
        None => print!("{text}"),
    }
    if g.chatty() {
        eprint!("{}", report.summary());
    }
    Ok(match report.exit_code() {
        0 => ExitCode::SUCCESS,
        code => ExitCode::from(u8::try_from(code).unwrap_or(3)),
    })
}

fn run_doctor(mut args: DoctorArgs, g: &GlobalArgs) -> Result<ExitCode> {
    args.dir = global::project_dir(&args.dir);
    // What `app` refuses before building, doctor reports as errors too.
    project_config::check(&args.dir)?;
    args.target.skip_python_probe_unless_needed(&args.dir, None);
    let options = plan_options(Some(&args.dir), &args.target, &args.select, g.offline())?;
    let outcome = planned(&args.dir, None, &options, g)?;
    let db = overrides::load(&args.dir)?;
    let report = overrides::DoctorReport::new(&outcome.plan, &db);
    let (tools, tools_ok) = app::toolchain_report(&outcome.plan);
    // Builds run in a bubblewrap sandbox: say now if it cannot work here.
    let sandbox = lock2build_sandbox::Sandbox::detect()
        .map(|_| "bubblewrap works here (network off, clean environment).".to_owned())
        .map_err(|e| e.to_string());
    let ok = report.ok && tools_ok && sandbox.is_ok();
    if g.json {
        let mut document = report.to_json();
        document["ok"] = ok.into();
        document["toolchains"] = serde_json::json!({"ok": tools_ok, "report": tools});
        document["sandbox"] = match &sandbox {
            Ok(text) => serde_json::json!({"ok": true, "report": text}),
            Err(text) => serde_json::json!({"ok": false, "report": text}),
        };
        println!("{}", serde_json::to_string_pretty(&document)?);
    } else {
        print!("{}", report.text);
        if !tools.is_empty() {
            print!("\n{tools}");
        }
        match &sandbox {
            Ok(text) | Err(text) => println!("\nSandbox: {text}"),
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `overrides why`: one package by `ECOSYSTEM/NAME@VERSION`, or every
/// package of that name in the project's plan (all groups and extras).
fn overrides_why(package: &str, dir: &Path, g: &GlobalArgs) -> Result<()> {
    let dir = global::project_dir(dir);
    let db = overrides::load(&dir)?;
    if package.contains('/') && !package.starts_with('@') {
        let (ecosystem, name, version) = overrides::parse_package(package)?;
        let version = version
            .ok_or_else(|| anyhow::anyhow!("`{package}`: add @VERSION, e.g. {package}@1.0.0"))?;
        overrides::print_why(&db, &[(ecosystem, name, version)], g.json)?;
        return Ok(());
    }
    let options = PlanOptions {
        target: Target::resolve(&TargetOptions::default())?,
        select: SelectOptions {
            all_groups: true,
            all_extras: true,
            ..Default::default()
        },
        index: index_options(Some(&dir), g.offline())?,
    };
    let outcome = planned(&dir, None, &options, g)?;
    let packages = overrides::packages_named(&outcome.plan, package, &dir)?;
    overrides::print_why(&db, &packages, g.json)
}

fn run_overrides(command: OverridesCommand, g: &GlobalArgs) -> Result<()> {
    match command {
        OverridesCommand::Why { package, dir } => overrides_why(&package, &dir, g),
        OverridesCommand::New {
            package,
            from_log,
            from_wheel,
            dir,
            force,
        } => {
            let dir = global::project_dir(&dir);
            let db = overrides::load(&dir)?;
            let (ecosystem, name, version) = overrides::parse_package(&package)?;
            let (path, ids) = overrides::new_override(
                &db,
                &dir,
                ecosystem,
                &name,
                version.as_deref().unwrap_or("*"),
                from_log.as_deref(),
                from_wheel.as_deref(),
                force,
            )?;
            println!("drafted {}", path.display());
            if from_log.is_some() || from_wheel.is_some() {
                if ids.is_empty() {
                    println!("  found no missing header, pkg-config module or library the provider table knows; fill in `native`/`tools` by hand");
                } else {
                    println!("  found: {}", ids.join(", "));
                }
            }
            println!("next: edit it, then `lock2build overrides check` and `lock2build overrides export`");
            Ok(())
        }
        OverridesCommand::Check {
            dir,
            no_build,
            no_sandbox,
        } => {
            let dir = global::project_dir(&dir);
            let n = overrides::check(&dir)?;
            println!("project layer valid: {n} package file(s); they load with the community and user layers");
            if !no_build {
                let steps =
                    g.build_progress(progress::StepDisplay::from_mode(progress_mode("auto", g)?));
                lock2build_build::check::test_builds(&dir, no_sandbox, &steps)?;
            }
            Ok(())
        }
        OverridesCommand::Export { dir, output } => {
            let dir = global::project_dir(&dir);
            let patch = overrides::export(&dir)?;
            match output {
                Some(path) => {
                    std::fs::write(&path, &patch)
                        .with_context(|| format!("writing {}", path.display()))?;
                    println!(
                        "wrote {} (apply in a lock2build checkout with `git apply {}`)",
                        path.display(),
                        path.display()
                    );
                }
                None => print!("{patch}"),
            }
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let g = cli.global;
    let result = g.apply().and_then(|()| match cli.command {
        Command::Plan(args) => run_plan(args, &g).map(|()| ExitCode::SUCCESS),
        Command::App(args) => run_app(args, &g).map(|()| ExitCode::SUCCESS),
        Command::Shell(args) => {
            shell_env(&args.common, &g).and_then(|env| shell::run(&env, &args.command))
        }
        Command::Env(args) => shell_env(&args.common, &g).map(|env| {
            print!(
                "{}",
                shell::render(
                    &env,
                    if g.json {
                        shell::Format::Json
                    } else {
                        args.format
                    }
                )
            );
            ExitCode::SUCCESS
        }),
        Command::DirenvHook => {
            print!("{}", shell::DIRENV_HOOK);
            Ok(ExitCode::SUCCESS)
        }
        Command::Fetch(args) => run_fetch(args, &g).map(|()| ExitCode::SUCCESS),
        Command::Graph(args) => run_graph(args, &g).map(|()| ExitCode::SUCCESS),
        Command::Realise(args) => {
            let options = lock2build_fetch::FetchOptions {
                offline: g.offline(),
                progress: lock2build_fetch::ProgressMode::Quiet,
                mirrors: lock2build_fetch::MirrorConfig::load(None)?,
                credentials: lock2build_fetch::Credentials::load(),
                ..lock2build_fetch::FetchOptions::from_env()?
            };
            graph_cmd::realise(&args.graph, &args.node, &args.inputs, &args.out, &options)
                .map(|()| ExitCode::SUCCESS)
        }
        Command::Gc(args) => run_gc(args, &g).map(|()| ExitCode::SUCCESS),
        Command::Store(command) => open_store().and_then(|store| store_cmd::run(command, &store)),
        Command::Sources(args) => run_sources(args, &g),
        Command::Doctor(args) => run_doctor(args, &g),
        Command::Archive(command) => archive_cmd::run(command, g.json, |dir| {
            let mut target = TargetArgs::default();
            let dir = global::project_dir(dir);
            target.skip_python_probe_unless_needed(&dir, None);
            let options = plan_options(Some(&dir), &target, &SelectArgs::default(), g.offline())?;
            Ok(planned(&dir, None, &options, &g)?.plan)
        })
        .map(|()| ExitCode::SUCCESS),
        Command::Overrides(command) => run_overrides(command, &g).map(|()| ExitCode::SUCCESS),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "lock2build", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            let command = <Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(command).render(&mut std::io::stdout())?;
            Ok(ExitCode::SUCCESS)
        }
    });
    global::finish(result, g.json)
}
