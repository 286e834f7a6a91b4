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
//! user and mount namespace of its own, from which bubblewrap then starts
//! as usual: the step itself runs with every capability dropped, as any
//! other step. Unprivileged overlayfs needs Linux 5.11 or later. No program
//! runs for it (an edit's build is short, and each process is slow to start
//! on a loaded machine):
//!
//! 1. before the step, lock2build lays out the upper directory on the host:
//!    [`Overlay::writable`] as directories with their lower modes plus the
//!    owner's write bit (a store output is read-only, and a step could not
//!    create a file in it otherwise) and their lower times; a whiteout
//!    (character device 0, 0) for each of [`Overlay::remove`] that the
//!    lower directory has, under directories with the lower modes: files
//!    the step will write again and that are read-only in the lower
//!    directory. overlayfs merges those directories with the lower ones and
//!    hides what the whiteouts name;
//! 2. in the child that becomes bubblewrap, between `fork` and `exec`
//!    ([`OverlayRun::command`], trusted code: the step cannot reach it),
//!    the resource limits are set, a user namespace mapping the caller to
//!    root and a mount namespace are made (`unshare(2)`), the overlay is
//!    mounted (`userxattr`: its bookkeeping in `user.overlay.*`
//!    attributes; `volatile`: the upper directory is scratch, so a copy-up
//!    is not synced to disk: cargo hard-links each stored build script
//!    again at every build, and each link copied up ~1 MB and `fsync`ed it)
//!    and [`OVERLAY_NOTE`] written to the log.
//!
//! A failure of step 2 (user namespaces off, a file system overlayfs cannot
//! use as its upper layer) is [`SandboxError::OverlayUnavailable`] naming
//! what failed: the step did not run, and the caller can run it again on a
//! copy.
//!
//! After the step, [`Overlay::upper`] holds what it wrote: new files and
//! whole copies of the files it changed, and character devices (0, 0) for
//! what it removed (or what step 1 hid). A file the step did not write is
//! not there.

use crate::limits::Limit;
use crate::{io_err, SandboxError};
use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

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

/// The files of one overlaid run, in the step's private directory.
pub(crate) struct OverlayRun {
    /// The mount point (a scratch mount of the step).
    pub merged: PathBuf,
    /// Where the child writes which part of the setup failed.
    failed: PathBuf,
    /// overlayfs's options (`lowerdir=…,upperdir=…,workdir=…,userxattr,volatile`).
    options: CString,
    /// The note the log begins with.
    note: Vec<u8>,
    /// overlayfs's work directory: on the upper directory's file system.
    work: tempfile::TempDir,
}

impl Drop for OverlayRun {
    fn drop(&mut self) {
        // overlayfs leaves `work/work` (and, mounted volatile,
        // `work/work/incompat/volatile/dirty`) with mode 000: a user who
        // is not root could not remove them otherwise.
        owner_may_enter(&self.work.path().join("work"));
    }
}

/// Gives the owner every permission on `dir` and the directories below it.
fn owner_may_enter(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return;
    };
    if !meta.is_dir() {
        return;
    }
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        owner_may_enter(&entry.path());
    }
}

impl OverlayRun {
    /// Checks `overlay`, lays out its upper directory and makes the mount
    /// point under `private`.
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
        for (paths, dirs) in [(&overlay.remove, false), (&overlay.writable, true)] {
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
            }
        }
        UpperLayout::default().lay_out(overlay).map_err(|e| {
            SandboxError::OverlayUnavailable(format!("laying out its upper directory: {e}"))
        })?;
        let parent = overlay.upper.parent().unwrap_or(Path::new("/"));
        let work = tempfile::Builder::new()
            .prefix(".overlay-work-")
            .tempdir_in(parent)
            .map_err(io_err("create a directory in", parent))?;
        let merged = private.join("overlay");
        std::fs::create_dir(&merged).map_err(io_err("create", &merged))?;
        let mut options = b"lowerdir=".to_vec();
        options.extend(overlay.lower.as_os_str().as_bytes());
        options.extend(b",upperdir=");
        options.extend(overlay.upper.as_os_str().as_bytes());
        options.extend(b",workdir=");
        options.extend(work.path().as_os_str().as_bytes());
        options.extend(b",userxattr,volatile");
        let options = CString::new(options)
            .map_err(|_| SandboxError::InvalidSpec("a NUL in the overlay's paths".into()))?;
        let note = format!(
            "{OVERLAY_NOTE}{} at {}\n",
            overlay.lower.display(),
            overlay.inside.display()
        );
        Ok(OverlayRun {
            merged,
            failed: private.join("overlay-failed"),
            options,
            note: note.into_bytes(),
            work,
        })
    }

    /// Makes `command` (bubblewrap) start under `limits` in the overlay's
    /// namespaces, the overlay mounted at [`OverlayRun::merged`].
    pub fn command(
        &self,
        command: &mut Command,
        limits: &[(Limit, u64)],
    ) -> Result<(), SandboxError> {
        let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).ok();
        let (Some(merged), Some(failed)) = (c(&self.merged), c(&self.failed)) else {
            return Err(SandboxError::InvalidSpec(
                "a NUL in the overlay's paths".into(),
            ));
        };
        let (uid, gid) = crate::current_ids();
        let child = ChildSetup {
            merged,
            failed,
            options: self.options.clone(),
            note: self.note.clone(),
            uid_map: format!("0 {uid} 1\n").into_bytes(),
            gid_map: format!("0 {gid} 1\n").into_bytes(),
            limits: limits.to_vec(),
        };
        child.install(command);
        Ok(())
    }

    /// The error of a run whose start failed with `err`: the overlay's
    /// setup (the step did not run) when the child said so.
    pub fn start_error(&self, err: &std::io::Error) -> Option<SandboxError> {
        let stage = std::fs::read_to_string(&self.failed).ok()?;
        Some(SandboxError::OverlayUnavailable(format!(
            "{}: {err}",
            stage.trim()
        )))
    }
}

/// What the upper directory gets before the mount: directories (with the
/// lower modes and times to give them once their entries are made) and
/// whiteouts.
#[derive(Default)]
struct UpperLayout {
    /// Directories made, relative, with their final mode and times.
    made: Vec<(PathBuf, u32, std::fs::Metadata)>,
}

impl UpperLayout {
    fn lay_out(mut self, overlay: &Overlay) -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        for dir in &overlay.writable {
            if self.dir(overlay, dir)? {
                if let Some(entry) = self.made.iter_mut().find(|(p, _, _)| p == dir) {
                    entry.1 |= 0o200;
                }
            }
        }
        for path in &overlay.remove {
            if std::fs::symlink_metadata(overlay.lower.join(path)).is_err() {
                continue;
            }
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                if !self.dir(overlay, parent)? {
                    continue;
                }
            }
            let upper = overlay.upper.join(path);
            if std::fs::symlink_metadata(&upper).is_err() {
                whiteout(&upper)?;
            }
        }
        // Deepest first: a parent's time is set after its entries are made.
        self.made
            .sort_by(|a, b| b.0.components().count().cmp(&a.0.components().count()));
        for (rel, mode, lower) in &self.made {
            let path = overlay.upper.join(rel);
            let times = std::fs::FileTimes::new()
                .set_accessed(lower.accessed()?)
                .set_modified(lower.modified()?);
            std::fs::File::open(&path)?.set_times(times)?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode))?;
        }
        Ok(())
    }

    /// Makes `rel` and its parents in the upper directory, for each one
    /// the lower directory has as a directory (writable until the end).
    /// Whether the lower directory has `rel` as a directory.
    fn dir(&mut self, overlay: &Overlay, rel: &Path) -> std::io::Result<bool> {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        let mut at = PathBuf::new();
        for part in rel.components().filter(|c| *c != Component::CurDir) {
            at.push(part);
            let lower = match std::fs::symlink_metadata(overlay.lower.join(&at)) {
                Ok(m) if m.is_dir() => m,
                _ => return Ok(false),
            };
            let upper = overlay.upper.join(&at);
            if !upper.exists() {
                std::fs::DirBuilder::new().mode(0o700).create(&upper)?;
                self.made
                    .push((at.clone(), lower.permissions().mode() & 0o7777, lower));
            }
        }
        Ok(true)
    }
}

/// A whiteout at `path`: a character device 0, 0 (Linux ≥ 5.8 lets any
/// user make one).
#[allow(unsafe_code)]
fn whiteout(path: &Path) -> std::io::Result<()> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    // SAFETY: `c` is a NUL-terminated path that outlives the call.
    let made = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR, libc::makedev(0, 0)) };
    if made != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// What the child does between `fork` and `exec`, all of it prepared
/// beforehand: it only makes system calls (no allocation: the parent may
/// have had other threads).
struct ChildSetup {
    merged: CString,
    failed: CString,
    options: CString,
    note: Vec<u8>,
    uid_map: Vec<u8>,
    gid_map: Vec<u8>,
    limits: Vec<(Limit, u64)>,
}

impl ChildSetup {
    #[allow(unsafe_code)]
    fn install(self, command: &mut Command) {
        use std::os::unix::process::CommandExt;
        // SAFETY: the closure runs in the forked child before `exec`, and
        // only makes async-signal-safe system calls on memory prepared
        // here (no allocation, no locks).
        unsafe {
            command.pre_exec(move || self.run());
        }
    }

    /// In the child: limits, namespaces, the mount, the note.
    #[allow(unsafe_code)]
    fn run(&self) -> std::io::Result<()> {
        // SAFETY (every call below): arguments are NUL-terminated strings
        // and buffers owned by `self`, alive for the call.
        for (limit, value) in &self.limits {
            let resource = match limit {
                Limit::Processes => libc::RLIMIT_NPROC,
                Limit::FileSize => libc::RLIMIT_FSIZE,
                Limit::Data => libc::RLIMIT_DATA,
            };
            let rlimit = libc::rlimit {
                rlim_cur: *value,
                rlim_max: *value,
            };
            self.check(c"setting the resource limits", unsafe {
                libc::setrlimit(resource, &rlimit)
            })?;
        }
        self.check(c"unshare (are user namespaces enabled?)", unsafe {
            libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS)
        })?;
        for (file, text) in [
            (c"/proc/self/setgroups", &b"deny"[..]),
            (c"/proc/self/uid_map", &self.uid_map[..]),
            (c"/proc/self/gid_map", &self.gid_map[..]),
        ] {
            self.write_file(file, text)?;
        }
        self.check(c"making the mounts private", unsafe {
            libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            )
        })?;
        self.check(c"mount", unsafe {
            libc::mount(
                c"lock2build".as_ptr(),
                self.merged.as_ptr(),
                c"overlay".as_ptr(),
                0,
                self.options.as_ptr().cast(),
            )
        })?;
        unsafe { libc::write(2, self.note.as_ptr().cast(), self.note.len()) };
        Ok(())
    }

    #[allow(unsafe_code)]
    fn write_file(&self, file: &CStr, text: &[u8]) -> std::io::Result<()> {
        // SAFETY: as in `run`.
        let fd = unsafe { libc::open(file.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
        self.check(c"mapping the user namespace", fd)?;
        let wrote = unsafe { libc::write(fd, text.as_ptr().cast(), text.len()) };
        unsafe { libc::close(fd) };
        self.check(
            c"mapping the user namespace",
            if wrote < 0 { -1 } else { 0 },
        )
    }

    /// `Ok` for a call that returned 0 or more; else `stage` written to the
    /// failure file and the call's error.
    #[allow(unsafe_code)]
    fn check(&self, stage: &CStr, returned: libc::c_int) -> std::io::Result<()> {
        if returned >= 0 {
            return Ok(());
        }
        let err = std::io::Error::last_os_error();
        // SAFETY: as in `run`.
        unsafe {
            let fd = libc::open(
                self.failed.as_ptr(),
                libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC,
                0o600,
            );
            if fd >= 0 {
                let bytes = stage.to_bytes();
                libc::write(fd, bytes.as_ptr().cast(), bytes.len());
                libc::close(fd);
            }
        }
        Err(err)
    }
}
