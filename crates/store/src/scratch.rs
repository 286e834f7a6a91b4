//! Where this process makes its temporary work directories: under the
//! store's `tmp/`, never the host's `$TMPDIR`.
//!
//! [`scratch_dir`] is one directory per process,
//! `<store>/tmp/scratch-<pid>@<pid>-0/`, whose entry lock
//! (`locks/scratch-<pid>.lock`) the process holds until it exits. Work
//! directories made in it (`tempfile::Builder::tempdir_in(scratch_dir())`)
//! are removed on drop as usual; when the process is killed first, the next
//! [`Store::open`](crate::Store::open) finds the lock free and removes the
//! whole directory, as it does for any abandoned `tmp/` work.
//!
//! [`discard`] leaves a work directory this process is done with in its
//! scratch directory instead of removing it now: once the process is gone,
//! the next `Store::open` removes the scratch directory in the background
//! (`gc` too), so the removal is off the build's critical path (a cargo
//! step's target directory and sandbox take ~10–20 ms to unlink, on the
//! edit path of issue #15).

use crate::lock::{self, EntryLock};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// The start of a scratch directory's entry key (`scratch-<pid>`).
pub(crate) const KEY_PREFIX: &str = "scratch-";

struct Scratch {
    /// The store whose `tmp/` holds the scratch directory.
    store: PathBuf,
    /// The scratch directory, once made, with its lock.
    made: Option<(PathBuf, EntryLock)>,
}

static SCRATCH: Mutex<Option<Scratch>> = Mutex::new(None);

/// Called by `Store::open`: the first store opened (or the next one, once
/// the first is gone) holds this process's scratch directory.
pub(crate) fn register(store: &Path) {
    let Ok(mut scratch) = SCRATCH.lock() else {
        return;
    };
    let current_gone = scratch
        .as_ref()
        .is_none_or(|s| !s.store.join("tmp").is_dir());
    if current_gone {
        *scratch = Some(Scratch {
            store: store.to_owned(),
            made: None,
        });
    }
}

/// The directory to make temporary work directories in: this process's
/// scratch directory in the open store's `tmp/` (swept by the next
/// `Store::open` if the process dies), or the system's temporary directory
/// when no store was opened (or it cannot be made).
pub fn scratch_dir() -> PathBuf {
    store_scratch().unwrap_or_else(std::env::temp_dir)
}

/// Leaves `path`, a work directory this process is done with, to be
/// removed later: moved into this process's scratch directory (where it
/// may already be), which the next `Store::open` after this process exits
/// removes in the background. A path that cannot be moved there (no store
/// open, another file system) is removed now.
pub fn discard(path: &Path) {
    static DISCARDED: AtomicU64 = AtomicU64::new(0);
    if let Some(dir) = store_scratch() {
        if path.starts_with(&dir) {
            return;
        }
        let n = DISCARDED.fetch_add(1, Ordering::Relaxed);
        if std::fs::rename(path, dir.join(format!(".discarded-{n}"))).is_ok() {
            return;
        }
    }
    let _ = crate::remove_any(path);
}

/// This process's scratch directory in the open store, made on first use;
/// `None` when no store is open or it cannot be made.
fn store_scratch() -> Option<PathBuf> {
    let mut guard = SCRATCH.lock().ok()?;
    let scratch = guard.as_mut()?;
    if let Some((dir, _)) = &scratch.made {
        if dir.is_dir() {
            return Some(dir.clone());
        }
    }
    let pid = std::process::id();
    let key = format!("{KEY_PREFIX}{pid}");
    let made = lock::lock(&scratch.store.join("locks"), &key)
        .ok()
        .and_then(|lock| {
            let dir = scratch.store.join("tmp").join(format!("{key}@{pid}-0"));
            std::fs::create_dir_all(&dir).ok().map(|()| (dir, lock))
        });
    let (dir, lock) = made?;
    scratch.made = Some((dir.clone(), lock));
    Some(dir)
}
