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

use crate::lock::{self, EntryLock};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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
    let current_gone = scratch.as_ref().is_none_or(|s| !s.store.join("tmp").is_dir());
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
    let Ok(mut guard) = SCRATCH.lock() else {
        return std::env::temp_dir();
    };
    let Some(scratch) = guard.as_mut() else {
        return std::env::temp_dir();
    };
    if let Some((dir, _)) = &scratch.made {
        if dir.is_dir() {
            return dir.clone();
        }
    }
    let pid = std::process::id();
    let key = format!("scratch-{pid}");
    let made = lock::lock(&scratch.store.join("locks"), &key).ok().and_then(|lock| {
        let dir = scratch.store.join("tmp").join(format!("{key}@{pid}-0"));
        std::fs::create_dir_all(&dir).ok().map(|()| (dir, lock))
    });
    match made {
        Some((dir, lock)) => {
            scratch.made = Some((dir.clone(), lock));
            dir
        }
        None => std::env::temp_dir(),
    }
}
