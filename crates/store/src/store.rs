//! Opening a store: its directories, the store-wide lock and the cleanup of
//! work left behind by crashed processes.

use crate::error::{io_err, StoreError};
use crate::lock::{self, EntryLock};
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Directories every store has.
const DIRS: [&str; 8] = [
    "sources", "outputs", "meta", "partial", "tmp", "locks", "gcroots", "plans",
];

/// An open store. Holds a shared lock on `locks/store.lock` for its
/// lifetime, so `gc` (which takes it exclusively) never runs while another
/// process uses the store.
#[derive(Debug)]
pub struct Store {
    root: PathBuf,
    pub(crate) guard: File,
    counter: AtomicU64,
}

impl Store {
    /// Where the store lives unless told otherwise: `$LOCK2BUILD_STORE`,
    /// else `$XDG_CACHE_HOME/lock2build/store`, else
    /// `~/.cache/lock2build/store`.
    pub fn default_root() -> Result<PathBuf, StoreError> {
        let non_empty = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        if let Some(root) = non_empty("LOCK2BUILD_STORE") {
            return Ok(root);
        }
        let cache = non_empty("XDG_CACHE_HOME")
            .filter(|p| p.is_absolute())
            .or_else(|| non_empty("HOME").map(|home| home.join(".cache")))
            .ok_or(StoreError::NoRoot)?;
        Ok(cache.join("lock2build").join("store"))
    }

    /// Opens (creating if needed) the store at `root`, and removes the
    /// temporary work of processes that died while writing.
    pub fn open(root: impl Into<PathBuf>) -> Result<Store, StoreError> {
        let root: PathBuf = root.into();
        let root = std::path::absolute(&root).map_err(io_err("resolve", &root))?;
        for dir in DIRS {
            let path = root.join(dir);
            fs::create_dir_all(&path).map_err(io_err("create directory", &path))?;
        }
        let guard_path = root.join("locks").join("store.lock");
        let guard = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&guard_path)
            .map_err(io_err("open lock file", &guard_path))?;
        guard.lock_shared().map_err(io_err("lock", &guard_path))?;
        let store = Store {
            root,
            guard,
            counter: AtomicU64::new(0),
        };
        store.clean_tmp()?;
        store.clean_atomic_leftovers();
        crate::scratch::register(&store.root);
        Ok(store)
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `logs/`: one `<node-id>.log` per node built from source; gc removes
    /// a log when its node has no output.
    pub fn logs_dir(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// `failed/`: the directories of failed builds kept for a look
    /// (`--keep-failed`). Never swept by [`Store::open`]; gc removes them.
    pub fn failed_dir(&self) -> PathBuf {
        Store::failed_dir_in(&self.root)
    }

    /// [`Store::failed_dir`] of the store at `root`.
    pub fn failed_dir_in(root: &Path) -> PathBuf {
        root.join("failed")
    }

    pub(crate) fn dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Takes the exclusive lock on one entry, waiting for other writers.
    pub fn lock_entry(&self, key: &str) -> Result<EntryLock, StoreError> {
        lock::lock(&self.dir("locks"), key)
    }

    /// A fresh path in `tmp/` for work on `key`; the caller must hold the
    /// entry lock of `key` while the path exists (that is how cleanup tells
    /// abandoned work from work in progress).
    pub fn tmp_path(&self, entry: &EntryLock) -> PathBuf {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        self.dir("tmp")
            .join(format!("{}@{}-{n}", entry.key(), std::process::id()))
    }

    /// Removes everything in `tmp/` whose entry lock nobody holds: the
    /// leftovers of crashed or killed processes. Gone processes' scratch
    /// directories ([`crate::scratch`]) are removed in a background thread.
    fn clean_tmp(&self) -> Result<(), StoreError> {
        let tmp = self.dir("tmp");
        let entries = fs::read_dir(&tmp).map_err(io_err("read directory", &tmp))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some((key, _)) = name.split_once('@') else {
                remove_any(&entry.path())?;
                continue;
            };
            let Some(lock) = lock::try_lock(&self.dir("locks"), key)? else {
                continue;
            };
            if key.starts_with(crate::scratch::KEY_PREFIX) {
                // A gone process's scratch directory, with what it
                // discarded: removed beside this run's work, under its lock
                // (a run that exits first leaves the rest to the next one).
                let path = entry.path();
                std::thread::spawn(move || {
                    let _ = remove_any(&path);
                    drop(lock);
                });
            } else {
                remove_any(&entry.path())?;
            }
        }
        Ok(())
    }
}

impl Store {
    /// Removes the `.<name>.<pid>-<n>.tmp` files [`write_atomic`] leaves in
    /// `meta/`, `plans/` and `gcroots/` when a process dies between writing
    /// and renaming (those of live processes stay).
    fn clean_atomic_leftovers(&self) {
        for dir in ["meta", "plans", "gcroots"] {
            let Ok(entries) = fs::read_dir(self.dir(dir)) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let pid = name
                    .strip_prefix('.')
                    .and_then(|n| n.strip_suffix(".tmp"))
                    .and_then(|n| n.rsplit_once('.'))
                    .and_then(|(_, pid_n)| pid_n.split_once('-'))
                    .and_then(|(pid, _)| pid.parse::<u32>().ok());
                let dead =
                    pid.is_some_and(|pid| !Path::new("/proc").join(pid.to_string()).exists());
                if dead {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
    }
}

/// Removes a file, symlink or directory tree (making directories writable
/// first); a missing path is fine.
pub fn remove_any(path: &Path) -> Result<(), StoreError> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("inspect", path)(e)),
    };
    if meta.is_dir() {
        make_tree_writable(path);
        fs::remove_dir_all(path).map_err(io_err("remove", path))
    } else {
        fs::remove_file(path).map_err(io_err("remove", path))
    }
}

fn make_tree_writable(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = fs::symlink_metadata(dir) {
        if meta.is_dir() {
            let mode = meta.permissions().mode();
            if mode & 0o700 != 0o700 {
                let _ = fs::set_permissions(dir, fs::Permissions::from_mode(mode | 0o700));
            }
            if let Ok(entries) = fs::read_dir(dir) {
                for entry in entries.flatten() {
                    make_tree_writable(&entry.path());
                }
            }
        }
    }
}

/// Total size in bytes of a file or tree (symlinks count as their own size).
pub(crate) fn disk_size(path: &Path) -> u64 {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return 0;
    };
    if meta.is_dir() {
        fs::read_dir(path)
            .map(|entries| entries.flatten().map(|e| disk_size(&e.path())).sum())
            .unwrap_or(0)
    } else {
        meta.len()
    }
}

/// Writes every file under `dir` to disk before it is renamed into place:
/// one `syncfs` of the file system holding it (one journal commit, where an
/// `fsync` per file would be one per file: an output has thousands). Without
/// it, a crash after the rename can leave an output whose files are empty
/// (ext4 allocates their blocks at writeback, after the rename is journaled).
pub(crate) fn sync_tree(dir: &Path) -> Result<(), StoreError> {
    let f = File::open(dir).map_err(io_err("open", dir))?;
    rustix::fs::syncfs(&f).map_err(|e| io_err("sync", dir)(std::io::Error::from(e)))
}

/// Makes a rename in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(f) = File::open(dir) {
        let _ = f.sync_all();
    }
}

/// Writes `bytes` to `path` atomically (tmp file in the same directory,
/// fsync, rename).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}-{n}.tmp", std::process::id()));
    let mut f = File::create(&tmp).map_err(io_err("create", &tmp))?;
    f.write_all(bytes).map_err(io_err("write", &tmp))?;
    f.sync_all().map_err(io_err("sync", &tmp))?;
    fs::rename(&tmp, path).map_err(io_err("rename into place", path))?;
    sync_dir(dir);
    Ok(())
}
