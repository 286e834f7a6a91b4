//! Advisory file locks (`flock`) on files under `locks/`.
//!
//! Locks belong to an open file description, so two `EntryLock`s on the same
//! key exclude each other even inside one process, and the kernel drops them
//! when the process dies, `kill -9` included.

use crate::error::{io_err, StoreError};
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

/// An exclusive lock on one store entry; released on drop.
#[derive(Debug)]
pub struct EntryLock {
    _file: File,
    key: String,
}

impl EntryLock {
    /// The entry key it protects (`sha256-<hex>`, `out-<node-id>`).
    pub fn key(&self) -> &str {
        &self.key
    }
}

pub(crate) fn lock_path(locks_dir: &Path, key: &str) -> PathBuf {
    locks_dir.join(format!("{key}.lock"))
}

fn open_lock_file(path: &Path) -> Result<File, StoreError> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .map_err(io_err("open lock file", path))
}

/// Blocks until the lock on `key` is ours.
pub(crate) fn lock(locks_dir: &Path, key: &str) -> Result<EntryLock, StoreError> {
    let path = lock_path(locks_dir, key);
    let file = open_lock_file(&path)?;
    file.lock().map_err(io_err("lock", &path))?;
    Ok(EntryLock {
        _file: file,
        key: key.to_owned(),
    })
}

/// Takes the lock on `key` if nobody holds it.
pub(crate) fn try_lock(locks_dir: &Path, key: &str) -> Result<Option<EntryLock>, StoreError> {
    let path = lock_path(locks_dir, key);
    let file = open_lock_file(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(EntryLock {
            _file: file,
            key: key.to_owned(),
        })),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(io_err("lock", &path)(e)),
    }
}
