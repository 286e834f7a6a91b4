//! Checking what is stored against what was recorded when it was stored
//! (`lock2build store verify [--repair]`), and before a build uses it.
//!
//! - A source `sources/sha256-<hex>` must be a regular file whose sha256 is
//!   its name ([`Store::verified_source`] checks this, and every pinned
//!   hash, before a fetch reports a stored source as usable: a build never
//!   reads a file that changed after it was stored).
//! - An output must hash to the content hash recorded in its
//!   `meta/<id>.json` when it was built ([`tree_hash`]: every path, its
//!   kind, exec bit, and the sha256 of its bytes or its link target).
//!   Outputs built before content hashes were recorded are reported as
//!   unverifiable, not as damaged.
//!
//! `--repair` removes what is damaged: a source is fetched again by the next
//! run, an output (and every output that refers to it, transitively) is
//! built again.

use crate::digest::MultiHasher;
use crate::error::{io_err, StoreError};
use crate::output::OutputMeta;
use crate::store::{remove_any, Store};
use lock2build_model::{Hash, HashAlgorithm};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// One damaged entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Damaged {
    /// The entry.
    pub path: PathBuf,
    /// What is wrong.
    pub problem: String,
    /// Whether `--repair` removed it.
    pub removed: bool,
}

/// What [`Store::verify`] found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    /// Sources checked.
    pub sources: usize,
    /// Outputs checked against their content hash.
    pub outputs: usize,
    /// Outputs with no recorded content hash (built by an older version).
    pub unverifiable: Vec<PathBuf>,
    /// Everything damaged.
    pub damaged: Vec<Damaged>,
}

impl Store {
    /// The source stored under `hashes`, re-checked: a regular file whose
    /// bytes still have every pinned hash. A file that no longer matches is
    /// removed (it is fetched again) and `None` returned.
    pub fn verified_source(&self, hashes: &[Hash]) -> Option<PathBuf> {
        let path = self.source(hashes)?;
        match check_source_file(&path, hashes) {
            Ok(()) => Some(path),
            Err(_) => {
                if let Ok(_lock) = self.lock_source(hashes) {
                    let _ = remove_any(&path);
                }
                None
            }
        }
    }

    /// Checks every source and output (see the module docs); with `repair`,
    /// removes the damaged ones.
    pub fn verify(&self, repair: bool) -> Result<VerifyReport, StoreError> {
        let mut report = VerifyReport::default();
        let sources_dir = self.dir("sources");
        for entry in fs::read_dir(&sources_dir).map_err(io_err("read directory", &sources_dir))? {
            let path = entry
                .map_err(io_err("read directory", &sources_dir))?
                .path();
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let Some(hex) = name.strip_prefix("sha256-") else {
                continue; // aliases (symlinks to the sha256 name)
            };
            report.sources += 1;
            let expected = Hash::from_hex(HashAlgorithm::Sha256, hex);
            let problem = match expected {
                Ok(hash) => check_source_file(&path, &[hash]).err(),
                Err(e) => Some(format!("not a sha256 name: {e}")),
            };
            if let Some(problem) = problem {
                let removed = repair && remove_any(&path).is_ok();
                report.damaged.push(Damaged {
                    path,
                    problem,
                    removed,
                });
            }
        }
        let damaged_outputs = self.verify_outputs(&mut report)?;
        if repair {
            for node in self.with_dependants(damaged_outputs) {
                let path = self.dir("outputs").join(&node);
                let _lock = self.lock_entry(&format!("out-{node}"))?;
                remove_any(&path)?;
                let _ = fs::remove_file(self.dir("meta").join(format!("{node}.json")));
                match report.damaged.iter_mut().find(|d| d.path == path) {
                    Some(d) => d.removed = true,
                    None => report.damaged.push(Damaged {
                        path,
                        problem: "refers to a damaged output".to_owned(),
                        removed: true,
                    }),
                }
            }
        }
        Ok(report)
    }

    /// Checks each output against its recorded content hash; returns the
    /// damaged ones' names.
    fn verify_outputs(&self, report: &mut VerifyReport) -> Result<Vec<String>, StoreError> {
        let outputs_dir = self.dir("outputs");
        let mut damaged = Vec::new();
        let mut outputs: Vec<PathBuf> = fs::read_dir(&outputs_dir)
            .map_err(io_err("read directory", &outputs_dir))?
            .flatten()
            .map(|e| e.path())
            .collect();
        outputs.sort();
        for path in outputs {
            let node = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let meta = fs::read(self.dir("meta").join(format!("{node}.json")))
                .ok()
                .and_then(|b| serde_json::from_slice::<OutputMeta>(&b).ok());
            let Some(recorded) = meta.and_then(|m| m.content) else {
                report.unverifiable.push(path);
                continue;
            };
            report.outputs += 1;
            let problem = match tree_hash(&path) {
                Ok(actual) if actual == recorded => continue,
                Ok(actual) => format!(
                    "content changed since it was built (recorded {recorded}, now {actual})"
                ),
                Err(e) => format!("cannot be read: {e}"),
            };
            report.damaged.push(Damaged {
                path,
                problem,
                removed: false,
            });
            damaged.push(node);
        }
        Ok(damaged)
    }

    /// `nodes` and every output that refers to one of them, transitively.
    fn with_dependants(&self, nodes: Vec<String>) -> BTreeSet<String> {
        let mut referrers: BTreeMap<String, Vec<String>> = BTreeMap::new();
        if let Ok(entries) = fs::read_dir(self.dir("outputs")) {
            for entry in entries.flatten() {
                let node = entry.file_name().to_string_lossy().into_owned();
                for reference in self.output_references(&node).unwrap_or_default() {
                    referrers
                        .entry(reference.to_string())
                        .or_default()
                        .push(node.clone());
                }
            }
        }
        let mut all: BTreeSet<String> = BTreeSet::new();
        let mut stack = nodes;
        while let Some(node) = stack.pop() {
            if all.insert(node.clone()) {
                stack.extend(referrers.get(&node).cloned().unwrap_or_default());
            }
        }
        all
    }
}

/// Why `path` is not a regular file with every one of `hashes`.
pub fn check_source_file(path: &Path, hashes: &[Hash]) -> Result<(), String> {
    let meta = fs::symlink_metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("is not a regular file".to_owned());
    }
    let mut file = fs::File::open(path).map_err(|e| e.to_string())?;
    let mut hasher = MultiHasher::for_expected(hashes);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        hasher.update(buf.get(..n).unwrap_or_default());
    }
    hasher.finish().check(hashes).map_err(|(expected, actual)| {
        format!(
            "hash mismatch: expected {}, got {}",
            expected.to_sri(),
            actual.to_sri()
        )
    })
}

/// A FIFO, socket or device in a tree: an output holds only regular
/// files, directories and symlinks.
#[derive(Debug, thiserror::Error)]
#[error("`{}` is {kind}: an output holds only regular files, directories and symlinks", path.display())]
pub(crate) struct SpecialFile {
    /// Relative to the tree.
    pub path: PathBuf,
    pub kind: &'static str,
}

/// `sha256-<hex>` of a directory tree: every path (sorted), its kind, its
/// exec bit, and the sha256 of a file's bytes or a symlink's target. A
/// FIFO, socket or device in it is an error (never opened).
pub fn tree_hash(root: &Path) -> std::io::Result<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = root.join(&rel);
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let rel = rel.join(entry.file_name());
            let path = root.join(&rel);
            let meta = fs::symlink_metadata(&path)?;
            let shown = rel.to_string_lossy();
            if meta.file_type().is_symlink() {
                let target = fs::read_link(&path)?;
                lines.push(format!("l {shown} {}", target.to_string_lossy()));
            } else if meta.is_dir() {
                lines.push(format!("d {shown}"));
                stack.push(rel);
            } else if !meta.is_file() {
                // Opening a FIFO would block; a device is not content.
                return Err(std::io::Error::other(SpecialFile {
                    path: rel,
                    kind: crate::untrusted::kind_name(meta.file_type()),
                }));
            } else {
                use std::os::unix::fs::PermissionsExt;
                let exec = meta.permissions().mode() & 0o111 != 0;
                let mut hasher = Sha256::new();
                let (mut file, _) = crate::untrusted::open_regular_nofollow(&path, u64::MAX)
                    .map_err(std::io::Error::other)?;
                std::io::copy(&mut file, &mut hasher)?;
                lines.push(format!(
                    "f {shown} {} {}",
                    u8::from(exec),
                    hex::encode(hasher.finalize())
                ));
            }
        }
    }
    lines.sort();
    let mut hasher = Sha256::new();
    for line in &lines {
        hasher.update(line.as_bytes());
        hasher.update(b"\n");
    }
    Ok(format!("sha256-{}", hex::encode(hasher.finalize())))
}
