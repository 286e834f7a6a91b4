//! Build outputs, addressed by node identity.
//!
//! `outputs/<node-id>/` appears by one rename of a finished build
//! directory. While a node builds, its entry lock is held: a second process
//! asking for the same node waits, then finds the output and does not build.

use crate::error::{io_err, StoreError};
use crate::identity::NodeId;
use crate::store::{remove_any, sync_dir, sync_tree, write_atomic, Store};
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::PathBuf;

/// What a builder may return as its error.
pub type BuildError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Where a builder writes.
#[derive(Debug, Clone)]
pub struct OutputDirs {
    /// The empty directory to fill (in `tmp/`; renamed when the build succeeds).
    pub building: PathBuf,
    /// Where the output will live once complete. A sandboxed builder mounts
    /// `building` here, so paths the build embeds in its output stay valid.
    pub final_path: PathBuf,
}

/// An output in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltOutput {
    /// `outputs/<node-id>`.
    pub path: PathBuf,
    /// Whether this call built it (false: it was already there).
    pub built: bool,
}

/// `meta/<node-id>.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct OutputMeta {
    /// Outputs this one refers to (its inputs): gc keeps them while it lives.
    pub references: Vec<NodeId>,
    /// The output's [`tree_hash`](crate::tree_hash) when it was built
    /// (`store verify` compares); absent in outputs of older versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

impl Store {
    /// The output of `node`, if built.
    pub fn output(&self, node: &NodeId) -> Option<PathBuf> {
        let path = self.dir("outputs").join(node.as_str());
        path.is_dir().then_some(path)
    }

    /// Returns the output of `node`, building it first if absent.
    ///
    /// `build` fills [`OutputDirs::building`]; on success the directory is
    /// renamed to `outputs/<node-id>`, on failure it is removed. `references`
    /// are the outputs this one uses at run time (gc keeps them alive with
    /// it). The entry lock is held throughout, so concurrent callers build
    /// a node once.
    pub fn build_output(
        &self,
        node: &NodeId,
        references: &[NodeId],
        build: impl FnOnce(&OutputDirs) -> Result<(), BuildError>,
    ) -> Result<BuiltOutput, StoreError> {
        let lock = self.lock_entry(&format!("out-{node}"))?;
        if let Some(path) = self.output(node) {
            return Ok(BuiltOutput { path, built: false });
        }
        let building = self.tmp_path(&lock);
        fs::create_dir(&building).map_err(io_err("create directory", &building))?;
        let final_path = self.dir("outputs").join(node.as_str());
        let dirs = OutputDirs {
            building: building.clone(),
            final_path: final_path.clone(),
        };
        if let Err(source) = build(&dirs) {
            let _ = remove_any(&building);
            return Err(StoreError::Build {
                node: node.to_string(),
                source,
            });
        }
        let mut refs = references.to_vec();
        refs.sort();
        refs.dedup();
        // What the build left is hashed as it will be stored; a FIFO,
        // socket or device in it (a build step's trap for whatever reads
        // the output later) fails the build instead.
        let content = match crate::verify::tree_hash(&building) {
            Ok(hash) => Some(hash),
            Err(e) => match e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<crate::verify::SpecialFile>())
            {
                Some(special) => {
                    let message = special.to_string();
                    let _ = remove_any(&building);
                    return Err(StoreError::Build {
                        node: node.to_string(),
                        source: message.into(),
                    });
                }
                None => None,
            },
        };
        let meta = serde_json::to_vec_pretty(&OutputMeta {
            references: refs,
            content,
        })
        .map_err(|e| StoreError::Identity(e.to_string()))?;
        let commit = (|| {
            write_atomic(&self.dir("meta").join(format!("{node}.json")), &meta)?;
            // Read-only, as Nix makes its outputs: what runs from the store
            // (a Python writing `__pycache__`) cannot change it. The top
            // directory last, after the rename (moving a directory needs
            // write permission on it).
            make_read_only(&building, false).map_err(io_err("make read-only", &building))?;
            sync_tree(&building)?;
            fs::rename(&building, &final_path).map_err(io_err("rename into place", &final_path))?;
            make_read_only(&final_path, true).map_err(io_err("make read-only", &final_path))
        })();
        if let Err(e) = commit {
            let _ = remove_any(&building);
            return Err(e);
        }
        sync_dir(&self.dir("outputs"));
        drop(lock);
        Ok(BuiltOutput {
            path: final_path,
            built: true,
        })
    }

    /// What `node`'s output refers to, from `meta/<node>.json` (written
    /// before every output appears): why not, when it is missing or
    /// unreadable.
    pub(crate) fn output_references(&self, node: &str) -> Result<Vec<NodeId>, String> {
        let path = self.dir("meta").join(format!("{node}.json"));
        let bytes = fs::read(&path).map_err(|e| format!("`{}`: {e}", path.display()))?;
        serde_json::from_slice::<OutputMeta>(&bytes)
            .map(|m| m.references)
            .map_err(|e| format!("`{}` is damaged: {e}", path.display()))
    }
}

/// Removes the write bits of every file and directory below `dir` (of
/// `dir` itself too with `top`); symlinks are left as they are.
/// `remove_any` (gc) makes a tree writable again before removing it.
fn make_read_only(dir: &std::path::Path, top: bool) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let strip = |path: &std::path::Path, meta: &fs::Metadata| {
        let mode = meta.permissions().mode();
        if mode & 0o222 != 0 {
            fs::set_permissions(path, fs::Permissions::from_mode(mode & !0o222))
        } else {
            Ok(())
        }
    };
    if top {
        return strip(dir, &fs::symlink_metadata(dir)?);
    }
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        let path = entry.path();
        if meta.file_type().is_symlink() {
            continue;
        }
        if meta.is_dir() {
            make_read_only(&path, false)?;
        }
        strip(&path, &meta)?;
    }
    Ok(())
}
