//! The community database that belongs to the binary.
//!
//! The `overrides/` directory of the source tree is compiled into
//! lock2build ([`include_dir`]), so an installed binary whose checkout
//! moved or was deleted still has its database. Code that needs real paths
//! (layer loading, patch files, the build-system lock of the Python
//! builder) gets them from a copy unpacked once to
//! `$LOCK2BUILD_CACHE/community/<sha256>/overrides` (else
//! `$XDG_CACHE_HOME/lock2build/…`, else `~/.cache/lock2build/…`); the
//! directory is named by the hash of the embedded files and written
//! atomically (a temporary directory renamed into place), so it is never
//! seen half-written and never goes stale.
//!
//! `LOCK2BUILD_OVERRIDES=DIR` uses a newer copy (a checkout's `overrides/`)
//! instead; [`Community::describe`] says which one is in use.

use include_dir::{include_dir, Dir, DirEntry};
use sha2::{Digest, Sha256};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

static EMBEDDED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../overrides");

/// Where the community database in use comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommunitySource {
    /// `$LOCK2BUILD_OVERRIDES`.
    Env,
    /// The copy compiled into this binary.
    Embedded {
        /// sha256 (hex) over the embedded files' paths and contents.
        sha256: String,
        /// How many files it has.
        files: usize,
    },
}

/// The community database in use: a directory with the community layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Community {
    /// Its directory (for the embedded copy, where it is unpacked).
    pub root: PathBuf,
    /// Where it comes from.
    pub source: CommunitySource,
}

impl Community {
    /// `LOCK2BUILD_OVERRIDES` when set (it must be a directory), else the
    /// embedded copy, unpacked if it is not yet.
    pub fn find() -> io::Result<Community> {
        if let Some(dir) = std::env::var_os("LOCK2BUILD_OVERRIDES").filter(|d| !d.is_empty()) {
            let root = PathBuf::from(dir);
            if !root.is_dir() {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!(
                        "LOCK2BUILD_OVERRIDES={}: no such directory (unset it to use the database built into lock2build)",
                        root.display()
                    ),
                ));
            }
            return Ok(Community {
                root: root.canonicalize().unwrap_or(root),
                source: CommunitySource::Env,
            });
        }
        let (sha256, files) = embedded_identity();
        let root = unpack(&cache_dir()?, sha256)?;
        Ok(Community {
            root,
            source: CommunitySource::Embedded {
                sha256: sha256.to_owned(),
                files,
            },
        })
    }

    /// One line for `doctor`: which database, which version, where.
    pub fn describe(&self) -> String {
        match &self.source {
            CommunitySource::Env => format!(
                "community database from LOCK2BUILD_OVERRIDES: {}",
                self.root.display()
            ),
            CommunitySource::Embedded { sha256, files } => format!(
                "community database built into lock2build {} ({files} files, sha256 {}), unpacked at {}",
                env!("CARGO_PKG_VERSION"),
                &sha256[..16],
                self.root.display()
            ),
        }
    }
}

/// sha256 over every embedded file (its path, then its bytes) in path
/// order, and the file count; computed once.
pub fn embedded_identity() -> (&'static str, usize) {
    static IDENTITY: OnceLock<(String, usize)> = OnceLock::new();
    let (hash, count) = IDENTITY.get_or_init(|| {
        let files = embedded_files();
        let mut hasher = Sha256::new();
        for (path, contents) in &files {
            hasher.update(path.to_string_lossy().as_bytes());
            hasher.update([0]);
            hasher.update((contents.len() as u64).to_le_bytes());
            hasher.update(contents);
        }
        (hex::encode(hasher.finalize()), files.len())
    });
    (hash, *count)
}

fn embedded_files() -> Vec<(&'static Path, &'static [u8])> {
    fn walk(dir: &'static Dir<'static>, out: &mut Vec<(&'static Path, &'static [u8])>) {
        for entry in dir.entries() {
            match entry {
                DirEntry::Dir(d) => walk(d, out),
                DirEntry::File(f) => out.push((f.path(), f.contents())),
            }
        }
    }
    let mut out = Vec::new();
    walk(&EMBEDDED, &mut out);
    out.sort();
    out
}

/// `$LOCK2BUILD_CACHE`, else `$XDG_CACHE_HOME/lock2build`, else
/// `~/.cache/lock2build` (the index cache's rule), then `community/`.
fn cache_dir() -> io::Result<PathBuf> {
    let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let base = if let Some(dir) = non_empty("LOCK2BUILD_CACHE") {
        PathBuf::from(dir)
    } else if let Some(dir) = non_empty("XDG_CACHE_HOME") {
        PathBuf::from(dir).join("lock2build")
    } else if let Some(home) = non_empty("HOME") {
        PathBuf::from(home).join(".cache").join("lock2build")
    } else {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "no cache directory for the overrides database: set LOCK2BUILD_CACHE, XDG_CACHE_HOME or HOME",
        ));
    };
    Ok(base.join("community"))
}

/// `<cache>/<sha256>/overrides`, written if missing: files into a
/// temporary directory beside it, renamed into place in one step.
fn unpack(cache: &Path, sha256: &str) -> io::Result<PathBuf> {
    let dir = cache.join(sha256);
    let root = dir.join("overrides");
    if root.is_dir() {
        return Ok(root);
    }
    let context = |e: io::Error, what: &Path| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot unpack the overrides database to {}: {e} (set LOCK2BUILD_CACHE to a writable directory)",
                what.display()
            ),
        )
    };
    std::fs::create_dir_all(cache).map_err(|e| context(e, cache))?;
    let temp = cache.join(format!(".tmp-{sha256}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&temp);
    let written = (|| {
        for (path, contents) in embedded_files() {
            let file = temp.join("overrides").join(path);
            if let Some(parent) = file.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&file, contents)?;
        }
        std::fs::rename(&temp, &dir)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&temp);
        // Another process may have unpacked the same copy meanwhile.
        if root.is_dir() {
            return Ok(root);
        }
        return Err(context(e, &dir));
    }
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpacks_every_embedded_file_once() {
        let cache = tempfile::tempdir().unwrap();
        let (sha, count) = embedded_identity();
        let root = unpack(cache.path(), sha).unwrap();
        assert!(count > 10, "{count} files embedded");
        assert!(root.join("providers.toml").is_file());
        assert!(root.join("pypi/build-systems/requirements.txt").is_file());
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../overrides/providers.toml");
        assert_eq!(
            std::fs::read(root.join("providers.toml")).unwrap(),
            std::fs::read(source).unwrap()
        );
        // A second call finds it; nothing is left beside it.
        assert_eq!(unpack(cache.path(), sha).unwrap(), root);
        let entries: Vec<_> = std::fs::read_dir(cache.path()).unwrap().collect();
        assert_eq!(entries.len(), 1);
    }
}
