//! Running one build step in a sandbox.
//!
//! With bubblewrap ([`Sandbox::Bubblewrap`]) a step sees:
//!
//! | inside                     | what                                              |
//! |----------------------------|---------------------------------------------------|
//! | `/usr`, `/bin`, `/lib*`, `/sbin` | the host's, read-only (symlinks kept as symlinks) |
//! | `/etc`                     | only `ld.so.*`, `alternatives`, `ssl`, and a generated `passwd`/`group`, read-only |
//! | toolchain dirs             | each at its host path, read-only                  |
//! | inputs                     | each at the inside path the caller chose, read-only |
//! | the output                 | writable, at its final store path                 |
//! | scratch mounts             | writable build directories the caller throws away |
//! | `/tmp` (`TMPDIR`), `/build/home` (`HOME`) | private, empty, removed after   |
//! | `/proc`, `/dev`            | fresh (`/dev` is bubblewrap's minimal set)        |
//!
//! The root is read-only. Nothing else of the host exists inside: not the user's home, not the
//! store, not `/run` or `/var`. All namespaces are unshared, the network
//! included (only a loopback device with nothing listening), the
//! environment is cleared (`PATH`, `HOME`, `TMPDIR`, `SOURCE_DATE_EPOCH`,
//! `LANG`, `TZ`, then the caller's variables), capabilities are dropped,
//! and the step dies with its parent.
//!
//! A step's stdout and stderr go to its log. [`Sandbox::run_watched`] also
//! hands each line to a watcher as it is printed (a progress display, `-L`)
//! and can keep a failed step's directories for a look ([`StepWatch`]).
//!
//! [`Sandbox::run_overlaid`] also gives the step a read-only directory (a
//! store output) as a writable one, without copying it: an overlayfs whose
//! changes land in a directory of the caller's ([`Overlay`]).
//!
//! [`Sandbox::Unsandboxed`] (`--no-sandbox`) runs the same step directly on
//! the host with the same environment; the CLI must print
//! [`UNSANDBOXED_WARNING`].

// Unsafe only in `overlay.rs`: the overlay's setup between `fork` and `exec`.
#![deny(unsafe_code)]
#![warn(missing_docs)]

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

mod limits;
mod overlay;
mod watch;
pub use limits::{LimitError, ResourceLimits, PRLIMIT};
use overlay::OverlayRun;
pub use overlay::{Overlay, OVERLAY_NOTE};
pub use watch::{kept_dir, LineObserver, StepWatch, KEPT_MARKER, MAX_LINE};

/// `SOURCE_DATE_EPOCH` inside every build: 1980-01-01T00:00:00Z (the
/// earliest time a zip file, hence a wheel, can hold).
pub const SOURCE_DATE_EPOCH: &str = "315532800";

/// What the CLI prints when running with `--no-sandbox`.
pub const UNSANDBOXED_WARNING: &str =
    "WARNING: --no-sandbox: builds run directly on this machine, \
with network access and write access to your files; their outputs may differ from sandboxed builds \
and are not hermetic. Use it only to debug a build.";

/// `HOME` inside the sandbox.
pub const SANDBOX_HOME: &str = "/build/home";

/// A host directory and where the step sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// On the host.
    pub host: PathBuf,
    /// Inside the sandbox.
    pub inside: PathBuf,
}

impl Mount {
    /// A mount.
    pub fn new(host: impl Into<PathBuf>, inside: impl Into<PathBuf>) -> Mount {
        Mount {
            host: host.into(),
            inside: inside.into(),
        }
    }
}

/// One build step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxSpec {
    /// The program and its arguments (paths as seen inside; see
    /// [`Sandbox::visible_path`]).
    pub command: Vec<OsString>,
    /// Environment variables on top of the defaults (they may override them).
    pub env: BTreeMap<String, String>,
    /// Inputs, read-only.
    pub read_only: Vec<Mount>,
    /// The output directory: the only persistent writable place.
    pub output: Mount,
    /// Writable build directories that the caller discards after the step
    /// (an unpacked source tree to build in, for example).
    pub scratch: Vec<Mount>,
    /// Where the step starts (inside path).
    pub workdir: PathBuf,
    /// Host toolchain directories (where python3, node, cargo, cc live),
    /// mounted read-only at their host paths and put first in `PATH`.
    pub toolchain_dirs: Vec<PathBuf>,
}

/// Why a step could not be run (a step that runs and fails is an
/// `ExitStatus`, not an error).
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// No `bwrap` in `PATH`.
    #[error(
        "bubblewrap (`bwrap`) is not installed; lock2build builds in a bubblewrap sandbox.\n  \
         help: install it: `sudo apt-get install bubblewrap` (Debian, Ubuntu), `sudo dnf install bubblewrap` \
         (Fedora), `sudo pacman -S bubblewrap` (Arch), `sudo zypper install bubblewrap` (openSUSE), \
         `apk add bubblewrap` (Alpine); or run with --no-sandbox (not hermetic)"
    )]
    BubblewrapMissing,
    /// `bwrap` exists but cannot create a sandbox here.
    #[error(
        "bubblewrap cannot create a sandbox on this machine: {0}\n  \
         help: unprivileged user namespaces may be disabled \
         (`sysctl kernel.unprivileged_userns_clone=1`, or AppArmor's `kernel.apparmor_restrict_unprivileged_userns=0`), \
         or run with --no-sandbox (not hermetic)"
    )]
    BubblewrapBroken(String),
    /// A resource limit in the environment is unusable.
    #[error(transparent)]
    Limits(#[from] LimitError),
    /// [`Sandbox::run_overlaid`] could not mount the overlay; the step did
    /// not run.
    #[error("cannot give the step an overlay: {0}")]
    OverlayUnavailable(String),
    /// The spec is unusable.
    #[error("invalid sandbox spec: {0}")]
    InvalidSpec(String),
    /// Starting the step or preparing its directories failed.
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// To what.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

fn io_err(
    action: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> SandboxError {
    let path = path.into();
    move |source| SandboxError::Io {
        action,
        path,
        source,
    }
}

/// How steps are run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sandbox {
    /// Inside bubblewrap, this binary.
    Bubblewrap(PathBuf),
    /// Directly on the host (`--no-sandbox`).
    Unsandboxed,
}

impl Sandbox {
    /// Finds bubblewrap in `PATH` and checks that it can make a sandbox.
    pub fn detect() -> Result<Sandbox, SandboxError> {
        Sandbox::detect_in(std::env::var_os("PATH").as_deref())
    }

    /// Like [`Sandbox::detect`], searching `path` (a `PATH`-style list).
    pub fn detect_in(path: Option<&OsStr>) -> Result<Sandbox, SandboxError> {
        let bwrap = path
            .into_iter()
            .flat_map(std::env::split_paths)
            .map(|dir| dir.join("bwrap"))
            .find(|candidate| candidate.is_file())
            .ok_or(SandboxError::BubblewrapMissing)?;
        let check = || {
            let probe = Command::new(&bwrap)
                .args([
                    "--unshare-all",
                    "--die-with-parent",
                    "--ro-bind",
                    "/",
                    "/",
                    "--",
                    "true",
                ])
                .stdin(Stdio::null())
                .output()
                .map_err(io_err("run", &bwrap))?;
            if !probe.status.success() {
                return Err(SandboxError::BubblewrapBroken(
                    String::from_utf8_lossy(&probe.stderr).trim().to_owned(),
                ));
            }
            Ok("works".to_owned())
        };
        // A sandbox that worked is remembered until bubblewrap changes, the
        // machine restarts or its user-namespace settings change.
        let settings: Vec<String> = [
            "/proc/sys/kernel/random/boot_id",
            "/proc/sys/user/max_user_namespaces",
            "/proc/sys/kernel/unprivileged_userns_clone",
            "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
        ]
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap_or_default())
        .collect();
        let words: Vec<&str> = settings.iter().map(String::as_str).collect();
        let real = std::fs::canonicalize(&bwrap).unwrap_or_else(|_| bwrap.clone());
        lock2build_store::remembered_probe("bwrap works", &[&real], &words, check)?;
        Ok(Sandbox::Bubblewrap(bwrap))
    }

    /// No sandbox (`--no-sandbox`): print [`UNSANDBOXED_WARNING`].
    pub fn unsandboxed() -> Sandbox {
        Sandbox::Unsandboxed
    }

    /// Whether steps are isolated.
    pub fn is_sandboxed(&self) -> bool {
        matches!(self, Sandbox::Bubblewrap(_))
    }

    /// The path a step must use for `inside`: itself in the sandbox; the
    /// host path of the mount that holds it without one.
    pub fn visible_path(&self, spec: &SandboxSpec, inside: &Path) -> PathBuf {
        match self {
            Sandbox::Bubblewrap(_) => inside.to_owned(),
            Sandbox::Unsandboxed => host_path(spec, inside).unwrap_or_else(|| inside.to_owned()),
        }
    }

    /// Runs the step under [`ResourceLimits::from_env`]; its stdout and
    /// stderr go to `log`. Returns its exit status.
    pub fn run(&self, spec: &SandboxSpec, log: &Path) -> Result<ExitStatus, SandboxError> {
        self.run_limited(spec, log, &ResourceLimits::from_env()?)
    }

    /// [`Sandbox::run`] with the given limits.
    pub fn run_limited(
        &self,
        spec: &SandboxSpec,
        log: &Path,
        limits: &ResourceLimits,
    ) -> Result<ExitStatus, SandboxError> {
        self.run_with(spec, log, limits, &StepWatch::default(), None)
    }

    /// [`Sandbox::run`], with each line the step prints also handed to
    /// `watch.on_line` as it comes, and a failed step's directories kept in
    /// `watch.keep_failed` (see [`StepWatch`]).
    pub fn run_watched(
        &self,
        spec: &SandboxSpec,
        log: &Path,
        watch: &StepWatch,
    ) -> Result<ExitStatus, SandboxError> {
        self.run_with(spec, log, &ResourceLimits::from_env()?, watch, None)
    }

    /// [`Sandbox::run_watched`], the step also seeing `overlay.lower` at
    /// `overlay.inside` as a writable directory whose changes go to
    /// `overlay.upper` (see [`Overlay`]). Without bubblewrap, or where the
    /// overlay cannot be mounted, [`SandboxError::OverlayUnavailable`]: the
    /// step did not run.
    pub fn run_overlaid(
        &self,
        spec: &SandboxSpec,
        overlay: &Overlay,
        log: &Path,
        watch: &StepWatch,
    ) -> Result<ExitStatus, SandboxError> {
        if !self.is_sandboxed() {
            return Err(SandboxError::OverlayUnavailable(
                "without the sandbox a step runs on the host's paths".into(),
            ));
        }
        self.run_with(
            spec,
            log,
            &ResourceLimits::from_env()?,
            watch,
            Some(overlay),
        )
    }

    fn run_with(
        &self,
        spec: &SandboxSpec,
        log: &Path,
        limits: &ResourceLimits,
        watch: &StepWatch,
        overlay: Option<&Overlay>,
    ) -> Result<ExitStatus, SandboxError> {
        let program = check_spec(spec)?;
        let scratch = private_dirs(spec)?;
        let overlay = match overlay {
            Some(o) => Some((o, OverlayRun::prepare(o, scratch.path())?)),
            None => None,
        };
        let with_overlay;
        let spec = match &overlay {
            Some((o, run)) => {
                let mut s = spec.clone();
                s.scratch.push(Mount::new(&run.merged, &o.inside));
                with_overlay = s;
                &with_overlay
            }
            None => spec,
        };
        let mut command = self.command(spec, scratch.path(), limits, overlay.as_ref())?;
        let (stdout, stderr, tee) = watch::output(log, watch.on_line.as_ref())?;
        command.stdin(Stdio::null()).stdout(stdout).stderr(stderr);
        let status = command.status();
        // The command holds the pipe's writers: the tee ends once they go.
        drop(command);
        tee.drain();
        let status = match (status, &overlay) {
            (Ok(status), _) => status,
            (Err(e), overlay) => {
                if let Some(why) = overlay.as_ref().and_then(|(_, run)| run.start_error(&e)) {
                    return Err(why);
                }
                return Err(io_err("run", PathBuf::from(program))(e));
            }
        };
        if let (false, Some(dest)) = (status.success(), &watch.keep_failed) {
            watch::keep_failed(spec, scratch.path(), dest, log)?;
        }
        // Removed later, off the step's critical path (its `etc/` can take
        // milliseconds to unlink while the namespace goes away).
        lock2build_store::discard(&scratch.keep());
        Ok(status)
    }

    /// The command that runs `spec`, its private directories under `scratch`.
    fn command(
        &self,
        spec: &SandboxSpec,
        scratch: &Path,
        limits: &ResourceLimits,
        overlay: Option<&(&Overlay, OverlayRun)>,
    ) -> Result<Command, SandboxError> {
        Ok(match self {
            Sandbox::Bubblewrap(bwrap) => {
                let etc = scratch.join("etc");
                std::fs::create_dir(&etc).map_err(io_err("create", &etc))?;
                write_identity_files(&etc)?;
                let mut words = vec![bwrap.clone().into_os_string()];
                if overlay.is_some() {
                    // The overlay's namespace maps the caller to root: the
                    // step runs as the caller, as without an overlay.
                    let (uid, gid) = current_ids();
                    if (uid, gid) != (0, 0) {
                        words.extend(["--uid".into(), uid.to_string().into()]);
                        words.extend(["--gid".into(), gid.to_string().into()]);
                    }
                }
                words.extend(bwrap_args(spec, scratch));
                words.push("--".into());
                if overlay.is_none() {
                    words.extend(limits.command_prefix());
                }
                words.extend(spec.command.iter().cloned());
                let mut c = Command::new(&words[0]);
                // bwrap is pid 1 inside: its environment must be empty too.
                c.env_clear();
                c.args(&words[1..]);
                if let Some((_, run)) = overlay {
                    // Set before bubblewrap starts, by the overlay's setup.
                    run.command(&mut c, &limits.clamped())?;
                }
                c
            }
            Sandbox::Unsandboxed => {
                let program = spec.command.first().map(PathBuf::from).unwrap_or_default();
                let program = self.visible_path(spec, &program);
                let mut words = limits.command_prefix();
                words.push(program.into_os_string());
                words.extend(spec.command.iter().skip(1).cloned());
                let mut c = Command::new(&words[0]);
                c.args(&words[1..]);
                c.env_clear();
                c.envs(environment(
                    spec,
                    &scratch.join("home"),
                    &scratch.join("tmp"),
                ));
                c.current_dir(
                    host_path(spec, &spec.workdir).unwrap_or_else(|| spec.workdir.clone()),
                );
                c
            }
        })
    }
}

/// The program of a usable spec: a command, every mount absolute and there.
fn check_spec(spec: &SandboxSpec) -> Result<&OsString, SandboxError> {
    let program = spec
        .command
        .first()
        .ok_or_else(|| SandboxError::InvalidSpec("empty command".into()))?;
    for mount in spec
        .read_only
        .iter()
        .chain(&spec.scratch)
        .chain([&spec.output])
    {
        if !mount.inside.is_absolute() {
            return Err(SandboxError::InvalidSpec(format!(
                "`{}` is not an absolute path",
                mount.inside.display()
            )));
        }
        if !mount.host.exists() {
            return Err(SandboxError::InvalidSpec(format!(
                "`{}` does not exist",
                mount.host.display()
            )));
        }
    }
    Ok(program)
}

/// The step's private directory, with its `tmp/` and `home/`.
///
/// Beside the output and named after it (`<output>.sandbox-XXXX`):
/// whoever owns the output's place owns it too. In the store's tmp/, the
/// output's entry lock covers it, so a killed build's scratch is swept
/// with its output, never left in the host's $TMPDIR.
fn private_dirs(spec: &SandboxSpec) -> Result<tempfile::TempDir, SandboxError> {
    let (parent, prefix) = match (spec.output.host.parent(), spec.output.host.file_name()) {
        (Some(parent), Some(name)) => (
            parent.to_owned(),
            format!("{}.sandbox-", name.to_string_lossy()),
        ),
        _ => (std::env::temp_dir(), "lock2build-sandbox-".to_owned()),
    };
    let scratch = tempfile::Builder::new()
        .prefix(&prefix)
        .tempdir_in(&parent)
        .map_err(io_err("create a scratch directory in", parent.clone()))?;
    for name in ["tmp", "home"] {
        let dir = scratch.path().join(name);
        std::fs::create_dir(&dir).map_err(io_err("create", &dir))?;
    }
    Ok(scratch)
}

/// The host path for an inside path, through the mounts.
fn host_path(spec: &SandboxSpec, inside: &Path) -> Option<PathBuf> {
    spec.read_only
        .iter()
        .chain(&spec.scratch)
        .chain([&spec.output])
        .filter_map(|m| inside.strip_prefix(&m.inside).ok().map(|rest| (m, rest)))
        .max_by_key(|(m, _)| m.inside.components().count())
        .map(|(m, rest)| {
            if rest.as_os_str().is_empty() {
                m.host.clone()
            } else {
                m.host.join(rest)
            }
        })
}

/// The environment of a step: defaults, then the caller's variables.
fn environment(spec: &SandboxSpec, home: &Path, tmp: &Path) -> BTreeMap<String, String> {
    let mut path: Vec<String> = spec
        .toolchain_dirs
        .iter()
        .map(|d| d.display().to_string())
        .collect();
    path.extend(["/usr/local/bin", "/usr/bin", "/bin"].map(String::from));
    let mut env = BTreeMap::from([
        ("PATH".to_owned(), path.join(":")),
        ("HOME".to_owned(), home.display().to_string()),
        ("TMPDIR".to_owned(), tmp.display().to_string()),
        ("SOURCE_DATE_EPOCH".to_owned(), SOURCE_DATE_EPOCH.to_owned()),
        ("LANG".to_owned(), "C.UTF-8".to_owned()),
        ("TZ".to_owned(), "UTC".to_owned()),
    ]);
    env.extend(spec.env.clone());
    env
}

/// The bubblewrap arguments for `spec`, with the private directories under
/// `scratch` (`tmp/`, `home/`, `etc/`).
pub fn bwrap_args(spec: &SandboxSpec, scratch: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    let mut push = |items: &[&OsStr]| args.extend(items.iter().map(|s| s.to_os_string()));
    push(&[
        "--unshare-all".as_ref(),
        "--die-with-parent".as_ref(),
        "--new-session".as_ref(),
    ]);
    push(&["--cap-drop".as_ref(), "ALL".as_ref(), "--clearenv".as_ref()]);
    push(&["--ro-bind".as_ref(), "/usr".as_ref(), "/usr".as_ref()]);
    for dir in ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"] {
        match std::fs::symlink_metadata(dir) {
            Ok(meta) if meta.file_type().is_symlink() => {
                if let Ok(target) = std::fs::read_link(dir) {
                    push(&["--symlink".as_ref(), target.as_os_str(), dir.as_ref()]);
                }
            }
            Ok(meta) if meta.is_dir() => push(&["--ro-bind".as_ref(), dir.as_ref(), dir.as_ref()]),
            _ => {}
        }
    }
    for file in [
        "/etc/ld.so.cache",
        "/etc/ld.so.conf",
        "/etc/ld.so.conf.d",
        "/etc/alternatives",
        "/etc/ssl",
    ] {
        push(&["--ro-bind-try".as_ref(), file.as_ref(), file.as_ref()]);
    }
    let etc = scratch.join("etc");
    for name in ["passwd", "group"] {
        let host = etc.join(name);
        push(&[
            "--ro-bind".as_ref(),
            host.as_os_str(),
            format!("/etc/{name}").as_ref(),
        ]);
    }
    push(&[
        "--proc".as_ref(),
        "/proc".as_ref(),
        "--dev".as_ref(),
        "/dev".as_ref(),
    ]);
    let tmp = scratch.join("tmp");
    let home = scratch.join("home");
    push(&["--bind".as_ref(), tmp.as_os_str(), "/tmp".as_ref()]);
    push(&["--bind".as_ref(), home.as_os_str(), SANDBOX_HOME.as_ref()]);
    for dir in &spec.toolchain_dirs {
        if !dir.starts_with("/usr") {
            push(&["--ro-bind".as_ref(), dir.as_os_str(), dir.as_os_str()]);
        }
    }
    for m in &spec.read_only {
        push(&[
            "--ro-bind".as_ref(),
            m.host.as_os_str(),
            m.inside.as_os_str(),
        ]);
    }
    for m in spec.scratch.iter().chain([&spec.output]) {
        push(&["--bind".as_ref(), m.host.as_os_str(), m.inside.as_os_str()]);
    }
    // The root itself is a tmpfs bubblewrap made: read-only too, so the
    // output and the private dirs are the only writable places.
    push(&["--remount-ro".as_ref(), "/".as_ref()]);
    push(&["--chdir".as_ref(), spec.workdir.as_os_str()]);
    for (key, value) in environment(spec, Path::new(SANDBOX_HOME), Path::new("/tmp")) {
        push(&["--setenv".as_ref(), key.as_ref(), value.as_ref()]);
    }
    args
}

/// A `passwd` and `group` naming only the build user (uid and gid as on the
/// host, as bubblewrap maps them) and `nobody`.
fn write_identity_files(etc: &Path) -> Result<(), SandboxError> {
    let (uid, gid) = current_ids();
    let passwd = format!(
        "build:x:{uid}:{gid}:lock2build:{SANDBOX_HOME}:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    );
    let group = format!("build:x:{gid}:\nnogroup:x:65534:\n");
    for (name, text) in [("passwd", passwd), ("group", group)] {
        let path = etc.join(name);
        std::fs::write(&path, text).map_err(io_err("write", &path))?;
    }
    Ok(())
}

/// The real uid and gid (from `/proc/self/status`).
fn current_ids() -> (u32, u32) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(65534)
    };
    (field("Uid:"), field("Gid:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_bubblewrap_says_how_to_install_it() {
        let empty = tempfile::tempdir().unwrap();
        let err = Sandbox::detect_in(Some(empty.path().as_os_str())).unwrap_err();
        assert!(matches!(err, SandboxError::BubblewrapMissing));
        let message = err.to_string();
        assert!(
            message.contains("apt-get install bubblewrap")
                && message.contains("dnf install bubblewrap"),
            "{message}"
        );
        assert!(matches!(
            Sandbox::detect_in(None),
            Err(SandboxError::BubblewrapMissing)
        ));
    }

    #[test]
    fn inside_paths_map_to_host_paths_without_a_sandbox() {
        let spec = SandboxSpec {
            command: vec!["true".into()],
            env: BTreeMap::new(),
            read_only: vec![
                Mount::new("/host/src", "/build/src"),
                Mount::new("/host/deps", "/build/src/deps"),
            ],
            output: Mount::new("/store/tmp/out-x", "/store/outputs/x"),
            scratch: vec![],
            workdir: "/build/src".into(),
            toolchain_dirs: vec![],
        };
        let none = Sandbox::unsandboxed();
        assert_eq!(
            none.visible_path(&spec, Path::new("/build/src/deps/a")),
            Path::new("/host/deps/a")
        );
        assert_eq!(
            none.visible_path(&spec, Path::new("/store/outputs/x")),
            Path::new("/store/tmp/out-x")
        );
        assert_eq!(
            none.visible_path(&spec, Path::new("/usr/bin/cc")),
            Path::new("/usr/bin/cc")
        );
        let bwrap = Sandbox::Bubblewrap("/usr/bin/bwrap".into());
        assert_eq!(
            bwrap.visible_path(&spec, Path::new("/build/src/deps/a")),
            Path::new("/build/src/deps/a")
        );
    }
}
