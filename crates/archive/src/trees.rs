//! Tree hashes recorded at the first good fetch, so that a tree recovered
//! years later (a re-made tarball's tree, never its bytes) can be verified.
//!
//! `lock2build.trees.json`, beside the lockfile, committed with it:
//!
//! ```json
//! {
//!   "version": 1,
//!   "trees": {
//!     "sha512-…(the artifact's strongest locked hash)": {
//!       "swhid": "swh:1:dir:…",
//!       "nar_sha256": "sha256-…"
//!     }
//!   }
//! }
//! ```
//!
//! The tree is the archive's content unpacked with lock2build's guards,
//! with a single top-level directory stripped (`package/` of an npm
//! tarball, `name-1.0/` of an sdist or a `.crate`), as Nix's `fetchzip`
//! does. `swhid` is the Software Heritage directory id of that tree (empty
//! directories count, as in the archive); `nar_sha256` its NAR hash.

use crate::error::{io_err, ArchiveError};
use lock2build_model::Hash;
use lock2build_store::{single_top_dir, unpack, ArchiveFormat, Store};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The file's name.
pub const TREE_FILE: &str = "lock2build.trees.json";

/// One artifact's tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeRecord {
    /// `swh:1:dir:<hex>` of the unpacked tree.
    pub swhid: String,
    /// SRI sha256 of its NAR serialisation.
    pub nar_sha256: String,
}

#[derive(Serialize, Deserialize)]
struct Document {
    version: u32,
    trees: BTreeMap<String, TreeRecord>,
}

/// The recorded trees of one project.
#[derive(Debug, Clone, Default)]
pub struct TreeFile {
    path: PathBuf,
    trees: BTreeMap<String, TreeRecord>,
    changed: bool,
}

impl TreeFile {
    /// Reads `<dir>/lock2build.trees.json` (missing: empty).
    pub fn load(dir: &Path) -> Result<TreeFile, ArchiveError> {
        let path = dir.join(TREE_FILE);
        let trees = match fs::read(&path) {
            Ok(bytes) => {
                let doc: Document =
                    serde_json::from_slice(&bytes).map_err(|e| ArchiveError::TreeFile {
                        path: path.clone(),
                        message: e.to_string(),
                    })?;
                if doc.version != 1 {
                    return Err(ArchiveError::TreeFile {
                        path,
                        message: format!(
                            "version {} (this lock2build reads version 1)",
                            doc.version
                        ),
                    });
                }
                doc.trees
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(io_err("read", &path)(e)),
        };
        Ok(TreeFile {
            path,
            trees,
            changed: false,
        })
    }

    /// The record for an artifact, by any of its locked hashes.
    pub fn get(&self, hashes: &[Hash]) -> Option<&TreeRecord> {
        hashes.iter().find_map(|h| self.trees.get(&h.to_sri()))
    }

    /// Records a tree under the artifact's strongest hash.
    pub fn insert(&mut self, hashes: &[Hash], record: TreeRecord) {
        if let Some(key) = Hash::strongest(hashes).map(Hash::to_sri) {
            if self.trees.get(&key) != Some(&record) {
                self.trees.insert(key, record);
                self.changed = true;
            }
        }
    }

    /// How many trees are recorded.
    pub fn len(&self) -> usize {
        self.trees.len()
    }

    /// No tree recorded.
    pub fn is_empty(&self) -> bool {
        self.trees.is_empty()
    }

    /// Writes the file if anything was added (atomically: temp file and
    /// rename). Returns whether it wrote.
    pub fn save(&mut self) -> Result<bool, ArchiveError> {
        if !self.changed {
            return Ok(false);
        }
        let doc = Document {
            version: 1,
            trees: self.trees.clone(),
        };
        let mut text = serde_json::to_string_pretty(&doc).map_err(|e| ArchiveError::TreeFile {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        text.push('\n');
        let tmp = self
            .path
            .with_extension(format!("json.tmp{}", std::process::id()));
        fs::write(&tmp, text).map_err(io_err("write", &tmp))?;
        fs::rename(&tmp, &self.path).map_err(io_err("write", &self.path))?;
        self.changed = false;
        Ok(true)
    }
}

/// The tree of a stored archive file: unpacked into the store's `tmp/`
/// (single top directory stripped), hashed, removed. Remembered in
/// `<store>/trees/records/` so it is computed once per file.
pub fn tree_of_archive(
    store: &Store,
    file: &Path,
    format: ArchiveFormat,
) -> Result<TreeRecord, ArchiveError> {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let memo = store
        .root()
        .join("trees")
        .join("records")
        .join(format!("{name}.json"));
    if let Some(record) = fs::read(&memo)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
    {
        return Ok(record);
    }
    let lock = store.lock_entry(&format!("tree-{name}"))?;
    let work = store.tmp_path(&lock);
    let result = (|| {
        unpack(file, format, &work).map_err(|e| ArchiveError::BadBundle {
            label: file.display().to_string(),
            message: e.to_string(),
        })?;
        let root = single_top_dir(&work).unwrap_or_else(|| work.clone());
        tree_record(&root)
    })();
    remove_tree(&work);
    let record = result?;
    if let Some(parent) = memo.parent() {
        fs::create_dir_all(parent).map_err(io_err("create", parent))?;
    }
    let tmp = memo.with_extension(format!("tmp{}", std::process::id()));
    let json = serde_json::to_vec(&record).unwrap_or_default();
    fs::write(&tmp, json).map_err(io_err("write", &tmp))?;
    fs::rename(&tmp, &memo).map_err(io_err("write", &memo))?;
    Ok(record)
}

/// The SWHID and NAR hash of a directory.
pub(crate) fn tree_record(dir: &Path) -> Result<TreeRecord, ArchiveError> {
    let swhid = swhid::DiskDirectoryBuilder::new(dir)
        .swhid()
        .map_err(|e| ArchiveError::Io {
            action: "hash (SWHID)",
            path: dir.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        })?
        .to_string();
    let nar_sha256 = lock2build_git::nar_sha256(dir)?;
    Ok(TreeRecord { swhid, nar_sha256 })
}

/// Records the tree of every stored archive artifact (`(file name, locked
/// hashes, stored path)`) that the project's tree file does not have yet,
/// and saves the file. Wheels are left out: the archive keeps them as
/// contents, recovered by their exact bytes. Returns how many were added.
pub fn record_trees(
    project_dir: &Path,
    store: &Store,
    artifacts: &[(String, Vec<Hash>, PathBuf)],
) -> Result<usize, ArchiveError> {
    let mut file = TreeFile::load(project_dir)?;
    let before = file.len();
    for (filename, hashes, path) in artifacts {
        if filename.ends_with(".whl") || file.get(hashes).is_some() {
            continue;
        }
        let Some(format) = ArchiveFormat::from_filename(filename) else {
            continue;
        };
        let record = tree_of_archive(store, path, format)?;
        file.insert(hashes, record);
    }
    file.save()?;
    Ok(file.len() - before)
}

/// Best-effort removal of work in progress (the store sweeps what is left).
pub(crate) fn remove_tree(path: &Path) {
    let _ = lock2build_store::remove_any(path);
}
