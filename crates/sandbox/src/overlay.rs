//! A read-only directory a step sees writable, without copying it.
//!
//! [`Sandbox::run_overlaid`](crate::Sandbox::run_overlaid) mounts an
//! overlayfs (`lowerdir` = [`Overlay::lower`], `upperdir` =
//! [`Overlay::upper`]) and hands it to the step at [`Overlay::inside`]. The
//! kernel does the copy-on-write: the step reads the lower directory's files
//! in place (their modes and modification times as stored), and what it
//! writes lands in the upper directory; the lower directory is never
//! written, whoever runs the step (root included).
//!
//! The mount needs privilege lock2build does not have, so it is made in a
//! user and mount namespace of its own (`unshare --user --map-root-user
//! --mount`, util-linux), from which bubblewrap then starts as usual: the
//! step itself runs with every capability dropped, as any other step.
//! Unprivileged overlayfs needs Linux 5.11 or later. Before the step starts,
//! a small script in that namespace (this module's [`SCRIPT`], trusted
//! code: the step cannot reach it):
//!
//! 1. mounts the overlay (`userxattr`: the upper directory's bookkeeping is
//!    in `user.overlay.*` attributes);
//! 2. makes [`Overlay::writable`] writable by their owner: a store output
//!    is read-only, and a step could not create a file in it otherwise
//!    (each is copied up, a directory's entries, never a file's data);
//! 3. removes [`Overlay::remove`] from the step's view (whiteouts in the
//!    upper directory): files the step will write again and that are
//!    read-only in the lower directory;
//! 4. writes a marker and starts bubblewrap.
//!
//! A failure before the marker (no `unshare`, user namespaces off, a file
//! system overlayfs cannot use as its upper layer) is
//! [`SandboxError::OverlayUnavailable`]: the step did not run, and the
//! caller can run it again on a copy.
//!
//! After the step, [`Overlay::upper`] holds what it wrote: new files and
//! whole copies of the files it changed, and character devices (0, 0) for
//! what it removed. A file the step did not write is not there.

use crate::{io_err, SandboxError};
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

/// A directory seen writable by a step, its changes kept apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlay {
    /// On the host: read by the step, never written.
    pub lower: PathBuf,
    /// On the host: an empty directory that receives what the step writes.
    pub upper: PathBuf,
    /// Where the step sees the merged directory.
    pub inside: PathBuf,
    /// Paths relative to [`Overlay::lower`] the step does not see.
    pub remove: Vec<PathBuf>,
    /// Directories relative to [`Overlay::lower`] (`.`: itself) the step
    /// can create and remove entries in; the others keep the lower
    /// directory's modes.
    pub writable: Vec<PathBuf>,
}

/// The line the step's log begins with when the overlay is mounted.
pub const OVERLAY_NOTE: &str = "lock2build: the step sees an overlay of ";

/// The script run in the overlay's namespace, before the step: `$1` lower,
/// `$2` upper, `$3` overlayfs's work directory, `$4` the mount point, `$5`
/// the NUL-separated list of paths to remove, then of directories to make
/// writable (`$5.dirs`), `$6` where to write why it
/// failed, `$7` the marker, `$8` the inside path, `$9` [`OVERLAY_NOTE`];
/// then bubblewrap's command.
const SCRIPT: &str = r#"set -u
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
lower=$1 upper=$2 work=$3 merged=$4 removes=$5 failed=$6 started=$7 inside=$8 note=$9
shift 9
fail() { printf '%s\n' "$1" > "$failed"; exit 125; }
why=$(mount -t overlay lock2build -o "lowerdir=$lower,upperdir=$upper,workdir=$work,userxattr" "$merged" 2>&1) || fail "mount: $why"
cd "$merged" || fail "cannot enter the overlay"
why=$(xargs -0 -r chmod u+w -- < "$removes.dirs" 2>&1) || fail "making its directories writable: $why"
why=$(xargs -0 -r rm -rf -- < "$removes" 2>&1) || fail "removing what the step writes again: $why"
cd / && : > "$started" || fail "cannot write $started"
printf '%s%s at %s\n' "$note" "$lower" "$inside" >&2
exec env -i "$@"
"#;

/// The files of one overlaid run, in the step's private directory.
pub(crate) struct OverlayRun {
    unshare: PathBuf,
    /// The mount point (a scratch mount of the step).
    pub merged: PathBuf,
    failed: PathBuf,
    started: PathBuf,
    removes: PathBuf,
    /// overlayfs's work directory: on the upper directory's file system.
    work: tempfile::TempDir,
}

impl Drop for OverlayRun {
    fn drop(&mut self) {
        // overlayfs leaves `work/work` with mode 000: a user who is not
        // root could not remove it otherwise.
        use std::os::unix::fs::PermissionsExt;
        let inner = self.work.path().join("work");
        let _ = std::fs::set_permissions(inner, std::fs::Permissions::from_mode(0o700));
    }
}

impl OverlayRun {
    /// Checks `overlay` and makes its directories under `private`.
    pub fn prepare(overlay: &Overlay, private: &Path) -> Result<OverlayRun, SandboxError> {
        let unavailable = |why: String| Err(SandboxError::OverlayUnavailable(why));
        for dir in [&overlay.lower, &overlay.upper] {
            if !dir.is_absolute() || !dir.is_dir() {
                return unavailable(format!("{} is not a directory", dir.display()));
            }
            // overlayfs's options are split at `,` and `:`.
            if dir.to_string_lossy().contains([',', ':', '\\']) {
                return unavailable(format!(
                    "{} has a `,`, `:` or `\\` in its path, which an overlay mount cannot name",
                    dir.display()
                ));
            }
        }
        if !overlay.inside.is_absolute() {
            return Err(SandboxError::InvalidSpec(format!(
                "`{}` is not an absolute path",
                overlay.inside.display()
            )));
        }
        let list = |paths: &[PathBuf], dirs: bool| {
            let mut list = Vec::new();
            for path in paths {
                let inside = path
                    .components()
                    .all(|c| matches!(c, Component::Normal(_)) || (dirs && c == Component::CurDir));
                if path.as_os_str().is_empty() || !inside {
                    return Err(SandboxError::InvalidSpec(format!(
                        "`{}` is not a path inside the overlay",
                        path.display()
                    )));
                }
                list.extend_from_slice(path.as_os_str().as_encoded_bytes());
                list.push(0);
            }
            Ok(list)
        };
        let (remove, writable) = (
            list(&overlay.remove, false)?,
            list(&overlay.writable, true)?,
        );
        let parent = overlay.upper.parent().unwrap_or(Path::new("/"));
        let work = tempfile::Builder::new()
            .prefix(".overlay-work-")
            .tempdir_in(parent)
            .map_err(io_err("create a directory in", parent))?;
        let merged = private.join("overlay");
        std::fs::create_dir(&merged).map_err(io_err("create", &merged))?;
        let removes = private.join("overlay-remove");
        std::fs::write(&removes, remove).map_err(io_err("write", &removes))?;
        let dirs = private.join("overlay-remove.dirs");
        std::fs::write(&dirs, writable).map_err(io_err("write", &dirs))?;
        let Some(unshare) = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .chain([PathBuf::from("/usr/bin")])
            .map(|d| d.join("unshare"))
            .find(|p| p.is_file())
        else {
            return unavailable("util-linux's `unshare` is not installed".into());
        };
        Ok(OverlayRun {
            unshare,
            merged,
            failed: private.join("overlay-failed"),
            started: private.join("overlay-started"),
            removes,
            work,
        })
    }

    /// The words that run `step` (bubblewrap and its arguments) with the
    /// overlay mounted.
    pub fn wrap(&self, overlay: &Overlay, step: Vec<OsString>) -> Vec<OsString> {
        let mut words: Vec<OsString> = vec![self.unshare.clone().into_os_string()];
        words.extend(
            [
                "--user",
                "--map-root-user",
                "--mount",
                "--",
                "/bin/sh",
                "-c",
                SCRIPT,
                "lock2build-overlay",
            ]
            .map(OsString::from),
        );
        for path in [
            &overlay.lower,
            &overlay.upper,
            &self.work.path().to_owned(),
            &self.merged,
            &self.removes,
            &self.failed,
            &self.started,
            &overlay.inside,
        ] {
            words.push(path.clone().into_os_string());
        }
        words.push(OVERLAY_NOTE.into());
        words.extend(step);
        words
    }

    /// Whether the step ran; why not if it did not.
    pub fn outcome(&self) -> Result<(), SandboxError> {
        if self.started.exists() {
            return Ok(());
        }
        let why = std::fs::read_to_string(&self.failed)
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|_| {
                "`unshare --user --map-root-user --mount` failed (are user namespaces enabled?)"
                    .into()
            });
        Err(SandboxError::OverlayUnavailable(why))
    }
}
