//! Recovering what every URL lost: exact contents, verified trees, git
//! revisions.

use crate::client::{Bundle, Swh};
use crate::error::{io_err, ArchiveError};
use crate::trees::{remove_tree, tree_record, TreeFile, TreeRecord};
use lock2build_fetch::{
    fetch_all, FetchError, FetchFailure, FetchOptions, FetchReport, FetchRequest, FetchedItem,
    FetchedVia, Problem, Reason, Route,
};
use lock2build_git::{Checkout, GitOptions, GitSpec};
use lock2build_model::{Hash, HashAlgorithm};
use lock2build_store::{single_top_dir, unpack, ArchiveFormat, Store};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// An artifact the archive gave back.
#[derive(Debug, Clone, Serialize)]
pub struct Recovered {
    /// The request's label.
    pub label: String,
    /// How.
    pub via: RecoveredVia,
}

/// How an artifact came back.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum RecoveredVia {
    /// Its exact bytes, verified by the lock's hash, stored as the file.
    Content {
        /// The stored file.
        path: PathBuf,
    },
    /// Its unpacked tree, stored as a tree (not as the file).
    Tree {
        /// `<store>/trees/<hash>/tree`.
        dir: PathBuf,
        /// The tree's SWHID.
        swhid: String,
        /// Checked against the recorded tree hash (false only with
        /// `--allow-unverified-archive`).
        verified: bool,
    },
}

#[derive(Serialize, Deserialize)]
struct TreeMeta {
    swhid: String,
    nar_sha256: String,
    verified: bool,
}

/// [`fetch_all`], then the archive (`options.archive`) for what every URL
/// lost for good.
/// Exact contents join the report as downloads from the archive; trees
/// are listed in the second value. What the archive cannot give stays a
/// failure, with the archive's answer added to its attempts.
pub fn fetch_or_recover(
    store: &Store,
    requests: &[FetchRequest],
    options: &FetchOptions,
    trees: &TreeFile,
) -> Result<(FetchReport, Vec<Recovered>), FetchError> {
    let archive = &options.archive;
    let mut error = match fetch_all(store, requests, options) {
        Ok(report) => return Ok((report, Vec::new())),
        Err(e) => e,
    };
    if !archive.enabled || options.offline {
        return Err(error);
    }
    let swh = match Swh::new(archive) {
        Ok(swh) => swh,
        Err(_) => return Err(error),
    };
    let mut recovered = Vec::new();
    let mut left = Vec::new();
    for failure in std::mem::take(&mut error.failures) {
        let FetchFailure::Download {
            label,
            mut attempts,
        } = failure
        else {
            left.push(failure);
            continue;
        };
        let request = requests.iter().find(|r| label.starts_with(&r.label));
        let (Some(request), true) = (request, attempts.iter().all(|(_, p)| permanent(p))) else {
            left.push(FetchFailure::Download { label, attempts });
            continue;
        };
        match recover_artifact(&swh, store, request, trees) {
            Ok(Recovered {
                via: RecoveredVia::Content { path },
                ..
            }) => {
                let size = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                error.fetched.items.push(FetchedItem {
                    label: label.clone(),
                    path: path.clone(),
                    size,
                    via: FetchedVia::Downloaded {
                        url: format!("{} (Software Heritage)", archive.url),
                        bytes: size,
                    },
                });
                recovered.push(Recovered {
                    label,
                    via: RecoveredVia::Content { path },
                });
            }
            Ok(tree) => recovered.push(tree),
            Err(ArchiveError::Unreachable(cause)) => {
                attempts.push(("Software Heritage".into(), Problem::Unreachable(cause)));
                left.push(FetchFailure::Download { label, attempts });
            }
            Err(e) => {
                attempts.push(("Software Heritage".into(), Problem::Network(e.to_string())));
                left.push(FetchFailure::Download { label, attempts });
            }
        }
    }
    if left.is_empty() {
        Ok((error.fetched, recovered))
    } else {
        error.failures = left;
        Err(error)
    }
}

/// 404/410, or a host that does not resolve: the source is gone, not busy.
fn permanent(problem: &Problem) -> bool {
    match problem {
        Problem::NotFound(_) => true,
        // The host's own name (not a proxy's) is gone.
        Problem::Unreachable(cause) => {
            matches!(
                (&cause.route, &cause.reason),
                (Route::Direct { .. }, Reason::Dns(_))
            )
        }
        _ => false,
    }
}

/// The exact content first, then the tree.
fn recover_artifact(
    swh: &Swh,
    store: &Store,
    request: &FetchRequest,
    trees: &TreeFile,
) -> Result<Recovered, ArchiveError> {
    if let Some(path) = recover_content(swh, store, request)? {
        return Ok(Recovered {
            label: request.label.clone(),
            via: RecoveredVia::Content { path },
        });
    }
    recover_tree(swh, store, request, trees.get(&request.hashes))
}

/// `content/sha256:<hex>/raw/` (or sha1), into the store through the lock's
/// hashes; `None` when the archive does not have the bytes.
fn recover_content(
    swh: &Swh,
    store: &Store,
    request: &FetchRequest,
) -> Result<Option<PathBuf>, ArchiveError> {
    let by = |algorithm| request.hashes.iter().find(|h| h.algorithm == algorithm);
    let Some((name, hash)) = by(HashAlgorithm::Sha256)
        .map(|h| ("sha256", h))
        .or_else(|| by(HashAlgorithm::Sha1).map(|h| ("sha1", h)))
    else {
        return Ok(None);
    };
    let Some(response) = swh.content_raw(name, &hash.hex())? else {
        return Ok(None);
    };
    let limit = request.size.unwrap_or(swh.config().max_bundle);
    match store.insert_source(response.take(limit), &request.hashes) {
        Ok(path) => Ok(Some(path)),
        Err(e) => Err(ArchiveError::ContentMismatch {
            label: request.label.clone(),
            message: e.to_string(),
        }),
    }
}

/// ExtID → directory → vault `flat` → unpacked, its SWHID compared with
/// the recorded one, stored under `<store>/trees/<hash>/`.
fn recover_tree(
    swh: &Swh,
    store: &Store,
    request: &FetchRequest,
    recorded: Option<&TreeRecord>,
) -> Result<Recovered, ArchiveError> {
    let mut lookups: Vec<(&str, String)> = Vec::new();
    if let Some(r) = recorded {
        if let Ok(nar) = Hash::parse_sri(&r.nar_sha256) {
            lookups.push(("nar-sha256", nar.hex()));
        }
    }
    for (algorithm, kind) in [
        (HashAlgorithm::Sha256, "checksum-sha256"),
        (HashAlgorithm::Sha512, "checksum-sha512"),
    ] {
        if let Some(h) = request.hashes.iter().find(|h| h.algorithm == algorithm) {
            lookups.push((kind, h.hex()));
        }
    }
    let mut target = None;
    for (kind, hex) in &lookups {
        if let Some(found) = swh.extid(kind, hex)? {
            target = Some(found);
            break;
        }
    }
    let tried = lookups
        .iter()
        .map(|(k, _)| *k)
        .collect::<Vec<_>>()
        .join(", ");
    let Some(swhid) = target.filter(|t| t.starts_with("swh:1:dir:")) else {
        return Err(ArchiveError::NotArchived {
            label: request.label.clone(),
            tried: format!("content by hash; ExtIDs {tried}"),
        });
    };
    let verified = match recorded {
        Some(r) if r.swhid == swhid => true,
        Some(r) => {
            return Err(ArchiveError::TreeMismatch {
                label: request.label.clone(),
                expected: r.swhid.clone(),
                got: swhid,
            })
        }
        None if swh.config().allow_unverified => false,
        None => {
            return Err(ArchiveError::Unverified {
                label: request.label.clone(),
                swhid,
            })
        }
    };
    let key = Hash::strongest(&request.hashes)
        .map(tree_key)
        .unwrap_or_default();
    let lock = store.lock_entry(&format!("swhtree-{key}"))?;
    let work = store.tmp_path(&lock);
    let result = cook_tree(swh, &swhid, &request.label, &work).and_then(|record| {
        if verified && Some(&record.swhid) != recorded.map(|r| &r.swhid) {
            return Err(ArchiveError::TreeMismatch {
                label: request.label.clone(),
                expected: swhid.clone(),
                got: record.swhid,
            });
        }
        let meta = TreeMeta {
            swhid: record.swhid.clone(),
            nar_sha256: record.nar_sha256,
            verified,
        };
        let path = work.join("meta.json");
        fs::write(&path, serde_json::to_vec_pretty(&meta).unwrap_or_default())
            .map_err(io_err("write", &path))?;
        Ok(())
    });
    if let Err(e) = result {
        remove_tree(&work);
        return Err(e);
    }
    let dest = trees_dir(store).join(&key);
    fs::create_dir_all(trees_dir(store)).map_err(io_err("create", &dest))?;
    if dest.exists() {
        remove_tree(&dest);
    }
    fs::rename(&work, &dest).map_err(io_err("move into place", &dest))?;
    Ok(Recovered {
        label: request.label.clone(),
        via: RecoveredVia::Tree {
            dir: dest.join("tree"),
            swhid,
            verified,
        },
    })
}

/// Cooks a directory into `<work>/tree` (the bundle's one top directory
/// stripped) and returns its hashes.
fn cook_tree(swh: &Swh, swhid: &str, label: &str, work: &Path) -> Result<TreeRecord, ArchiveError> {
    fs::create_dir_all(work).map_err(io_err("create", work))?;
    let bundle = work.join("bundle.tar.gz");
    swh.cook(Bundle::Flat, swhid, &bundle)?;
    let unpacked = work.join("unpacked");
    unpack(&bundle, ArchiveFormat::TarGz, &unpacked).map_err(|e| ArchiveError::BadBundle {
        label: label.to_owned(),
        message: e.to_string(),
    })?;
    let _ = fs::remove_file(&bundle);
    let root = single_top_dir(&unpacked).unwrap_or_else(|| unpacked.clone());
    let tree = work.join("tree");
    fs::rename(&root, &tree).map_err(io_err("move", &tree))?;
    let _ = fs::remove_dir_all(&unpacked);
    tree_record(&tree)
}

/// `<algorithm>-<hex>`: a file name (SRI's base64 may hold a `/`).
fn tree_key(hash: &Hash) -> String {
    format!("{}-{}", hash.algorithm.as_str(), hash.hex())
}

fn trees_dir(store: &Store) -> PathBuf {
    store.root().join("trees").join("recovered")
}

/// A tree recovered earlier for an artifact with these hashes.
pub fn find_tree(store: &Store, hashes: &[Hash]) -> Option<(PathBuf, bool)> {
    hashes.iter().find_map(|h| {
        let entry = trees_dir(store).join(tree_key(h));
        let meta: TreeMeta =
            serde_json::from_slice(&fs::read(entry.join("meta.json")).ok()?).ok()?;
        Some((entry.join("tree"), meta.verified))
    })
}

/// A git commit the host lost: `swh:1:rev:<commit>` cooked as a bare
/// repository, then checked out (and verified: commit and tree) by
/// lock2build-git as if it came from the original URL.
pub fn recover_git(
    swh: &Swh,
    store: &Store,
    spec: &GitSpec,
    options: &GitOptions,
) -> Result<Checkout, ArchiveError> {
    let swhid = format!("swh:1:rev:{}", spec.commit.to_ascii_lowercase());
    let lock = store.lock_entry(&format!("swhrev-{}", spec.commit))?;
    let work = store.tmp_path(&lock);
    let result = (|| {
        fs::create_dir_all(&work).map_err(io_err("create", &work))?;
        let bundle = work.join("bundle.tar.gz");
        swh.cook(Bundle::GitBare, &swhid, &bundle)?;
        let unpacked = work.join("unpacked");
        unpack(&bundle, ArchiveFormat::TarGz, &unpacked).map_err(|e| ArchiveError::BadBundle {
            label: spec.label.clone(),
            message: e.to_string(),
        })?;
        let repo = find_bare_repo(&unpacked).ok_or_else(|| ArchiveError::BadBundle {
            label: spec.label.clone(),
            message: "no bare git repository (a directory with HEAD and objects/) in it".into(),
        })?;
        let mut via = options.clone();
        via.mirrors
            .add(&spec.url, &format!("file://{}", repo.display()));
        Ok(lock2build_git::checkout(store, spec, &via)?)
    })();
    remove_tree(&work);
    result
}

fn find_bare_repo(dir: &Path) -> Option<PathBuf> {
    if dir.join("HEAD").is_file() && dir.join("objects").is_dir() {
        return Some(dir.to_path_buf());
    }
    fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .find_map(|e| find_bare_repo(&e.path()))
}

/// Unpacks the artifact with these hashes into `dest`: from its stored
/// file, or, when only its tree came back from the archive, a copy of that
/// tree under `dest/recovered/` (so a caller that strips the one top
/// directory of a tarball finds the same layout). Returns whether the
/// tree was used.
pub fn unpack_artifact(
    store: &Store,
    hashes: &[Hash],
    format: ArchiveFormat,
    dest: &Path,
) -> Result<bool, ArchiveError> {
    if let Some(file) = store.source(hashes) {
        unpack(&file, format, dest).map_err(|e| ArchiveError::BadBundle {
            label: file.display().to_string(),
            message: e.to_string(),
        })?;
        return Ok(false);
    }
    let Some((tree, _verified)) = find_tree(store, hashes) else {
        return Err(ArchiveError::NotArchived {
            label: Hash::strongest(hashes)
                .map(Hash::to_sri)
                .unwrap_or_default(),
            tried: "the store (neither the file nor a recovered tree)".into(),
        });
    };
    copy_tree(&tree, &dest.join("recovered"))?;
    Ok(true)
}

/// Copies a tree (files, directories, symlinks; executable bits kept,
/// everything writable as unpacked files are).
fn copy_tree(from: &Path, to: &Path) -> Result<(), ArchiveError> {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(to).map_err(io_err("create", to))?;
    for entry in fs::read_dir(from).map_err(io_err("read directory", from))? {
        let entry = entry.map_err(io_err("read directory", from))?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().map_err(io_err("inspect", &src))?;
        if kind.is_symlink() {
            let target = fs::read_link(&src).map_err(io_err("read link", &src))?;
            std::os::unix::fs::symlink(target, &dst).map_err(io_err("link", &dst))?;
        } else if kind.is_dir() {
            copy_tree(&src, &dst)?;
        } else if kind.is_file() {
            fs::copy(&src, &dst).map_err(io_err("copy", &dst))?;
            let mode = fs::metadata(&src)
                .map_err(io_err("inspect", &src))?
                .permissions()
                .mode();
            let mode = if mode & 0o111 != 0 { 0o755 } else { 0o644 };
            fs::set_permissions(&dst, fs::Permissions::from_mode(mode))
                .map_err(io_err("chmod", &dst))?;
        }
    }
    Ok(())
}
