//! Sources: verified files addressed by content hash.
//!
//! A file lives at `sources/sha256-<hex>` (read-only); `sha1-`, `sha384-`
//! and `sha512-` names are relative symlinks to it, so a lookup works with
//! whichever hashes a lockfile pins. The sha256 rename is the commit point:
//! aliases are added after it and repaired by the next insert if a crash
//! came in between.

use crate::digest::{entry_name, trusted, Digests, MultiHasher};
use crate::error::{io_err, StoreError};
use crate::lock::EntryLock;
use crate::store::{remove_any, sync_dir, Store};
use lock2build_model::{Hash, HashAlgorithm};
use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

impl Store {
    /// The stored file whose content has all of `hashes` (md5 ignored), if
    /// the store has it. Every trusted hash must be indexed and name the
    /// same file; anything else is "not stored" and gets fetched (and
    /// verified) again.
    pub fn source(&self, hashes: &[Hash]) -> Option<PathBuf> {
        trusted(hashes)?;
        let mut found: Option<PathBuf> = None;
        for hash in hashes.iter().filter(|h| h.algorithm != HashAlgorithm::Md5) {
            let file = self.resolve_source_name(hash)?;
            match &found {
                Some(prev) if *prev != file => return None,
                _ => found = Some(file),
            }
        }
        found
    }

    /// The canonical file a single hash names, if present.
    pub(crate) fn resolve_source_name(&self, hash: &Hash) -> Option<PathBuf> {
        let sources = self.dir("sources");
        let path = sources.join(entry_name(hash));
        let meta = fs::symlink_metadata(&path).ok()?;
        let canonical = if meta.file_type().is_symlink() {
            let target = fs::read_link(&path).ok()?;
            // Aliases are bare file names in the same directory.
            let name = target.file_name()?.to_owned();
            if target.components().count() != 1 {
                return None;
            }
            sources.join(name)
        } else {
            path
        };
        fs::metadata(&canonical)
            .ok()
            .filter(|m| m.is_file())
            .map(|_| canonical)
    }

    /// The key of the entry lock that guards writing the source with these
    /// hashes (its strongest trusted hash).
    pub fn source_key(hashes: &[Hash]) -> Result<String, StoreError> {
        trusted(hashes)
            .map(entry_name)
            .ok_or_else(|| no_trusted_hash(hashes))
    }

    /// Locks the source entry for `hashes` (the fetcher holds it while it
    /// downloads, so two processes never download the same file at once).
    pub fn lock_source(&self, hashes: &[Hash]) -> Result<EntryLock, StoreError> {
        self.lock_entry(&Store::source_key(hashes)?)
    }

    /// Where an interrupted download of the source `lock` guards is kept
    /// for resumption.
    pub fn partial_path(&self, lock: &EntryLock) -> PathBuf {
        self.dir("partial").join(lock.key())
    }

    /// Streams `reader` into the store, verifying it against `expected`.
    /// Nothing is stored on a mismatch. Returns the stored file.
    pub fn insert_source(
        &self,
        reader: impl Read,
        expected: &[Hash],
    ) -> Result<PathBuf, StoreError> {
        let lock = self.lock_source(expected)?;
        if let Some(path) = self.source(expected) {
            return Ok(path);
        }
        let tmp = self.tmp_path(&lock);
        let result = (|| {
            let mut file = File::create(&tmp).map_err(io_err("create", &tmp))?;
            let mut hasher = MultiHasher::for_expected(expected);
            copy_hashing(reader, &mut file, &mut hasher).map_err(io_err("write", &tmp))?;
            drop(file);
            self.commit_source(&lock, &tmp, &hasher.finish(), expected)
        })();
        if result.is_err() {
            let _ = remove_any(&tmp);
        }
        result
    }

    /// Moves a complete file (written by the holder of `lock`, hashed into
    /// `digests`) into the store after checking it against `expected`. On
    /// a mismatch the file is deleted and nothing is stored.
    pub fn commit_source(
        &self,
        lock: &EntryLock,
        file: &Path,
        digests: &Digests,
        expected: &[Hash],
    ) -> Result<PathBuf, StoreError> {
        debug_assert_eq!(
            Store::source_key(expected).ok().as_deref(),
            Some(lock.key())
        );
        if let Err((expected, actual)) = digests.check(expected) {
            let _ = fs::remove_file(file);
            return Err(StoreError::HashMismatch { expected, actual });
        }
        let sources = self.dir("sources");
        let name = entry_name(&digests.sha256);
        let target = sources.join(&name);
        if fs::metadata(&target).map(|m| m.is_file()).unwrap_or(false) {
            // Already stored (under another hash's lock): keep the first copy.
            let _ = fs::remove_file(file);
        } else {
            let f = File::open(file).map_err(io_err("open", file))?;
            f.sync_all().map_err(io_err("sync", file))?;
            fs::set_permissions(file, fs::Permissions::from_mode(0o444))
                .map_err(io_err("make read-only", file))?;
            fs::rename(file, &target).map_err(io_err("rename into place", &target))?;
        }
        for alias in &digests.indexed()[1..] {
            let alias_path = sources.join(entry_name(alias));
            if fs::read_link(&alias_path)
                .map(|t| t == Path::new(&name))
                .unwrap_or(false)
            {
                continue;
            }
            let tmp_link = self.tmp_path(lock);
            std::os::unix::fs::symlink(&name, &tmp_link)
                .map_err(io_err("create symlink", &tmp_link))?;
            fs::rename(&tmp_link, &alias_path).map_err(io_err("rename into place", &alias_path))?;
        }
        sync_dir(&sources);
        Ok(target)
    }
}

fn no_trusted_hash(hashes: &[Hash]) -> StoreError {
    let names: Vec<String> = hashes.iter().map(|h| h.algorithm.to_string()).collect();
    StoreError::NoTrustedHash(if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    })
}

/// Copies `reader` to `writer`, hashing every byte.
pub(crate) fn copy_hashing(
    mut reader: impl Read,
    writer: &mut impl Write,
    hasher: &mut MultiHasher,
) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let chunk = buf.get(..n).unwrap_or_default();
        hasher.update(chunk);
        writer.write_all(chunk)?;
        total += n as u64;
    }
}
