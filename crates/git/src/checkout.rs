//! A locked commit into the store: fetch it into the URL's bare repository,
//! check it out into `tmp/`, verify, hash, rename into place.

use crate::command::{git, output, run, tree_id_of_dir};
use crate::error::{io_err, GitError};
use crate::nar::nar_sha256;
use lock2build_fetch::{redact_url, MirrorConfig};
use lock2build_store::Store;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs;
use std::path::{Component, Path, PathBuf};

/// What to fetch: a repository and the commit the lock pins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitSpec {
    /// The package, for messages (`crates foo 0.1.0`).
    pub label: String,
    /// The repository URL, without the lock's fragment or query.
    pub url: String,
    /// The full commit id the lock pins.
    pub commit: String,
    /// The branch, tag or rev the user asked for, if the lock says.
    pub reference: Option<String>,
    /// Check out submodules (recursively) too.
    pub submodules: bool,
}

/// How to fetch.
#[derive(Debug, Clone, Default)]
pub struct GitOptions {
    /// Never use the network: only what the store has.
    pub offline: bool,
    /// Print a line on stderr for each repository fetched.
    pub progress: bool,
    /// lock2build's `[mirrors]`, applied to the URL before git sees it.
    pub mirrors: MirrorConfig,
    /// Where a commit its host lost is recovered from (Software Heritage;
    /// `lock2build-archive` reads it, this crate does not).
    pub archive: lock2build_fetch::ArchiveConfig,
}

/// A verified, read-only checkout of one commit in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checkout {
    /// The repository's top directory: the commit's files, no `.git`.
    pub dir: PathBuf,
    /// The commit (equal to the lock's).
    pub commit: String,
    /// The commit's git tree id (= `swh:1:dir:<tree>`).
    pub tree: String,
    /// SRI sha256 of the NAR serialisation of `dir`.
    pub nar_sha256: String,
    /// Whether this call used the network.
    pub fetched: bool,
}

impl Checkout {
    /// The package's directory inside the checkout: `subdirectory` from the
    /// lock must be a relative path that stays inside and exists.
    pub fn subdir(&self, subdirectory: Option<&str>) -> Result<PathBuf, GitError> {
        let Some(sub) = subdirectory.filter(|s| !s.is_empty() && *s != ".") else {
            return Ok(self.dir.clone());
        };
        let bad = |why| GitError::BadSubdirectory {
            commit: self.commit.clone(),
            subdirectory: sub.to_owned(),
            why,
        };
        for part in Path::new(sub).components() {
            match part {
                Component::Normal(_) | Component::CurDir => {}
                _ => return Err(bad("leaves the repository (absolute or `..`)")),
            }
        }
        let path = self.dir.join(sub);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => Ok(path),
            Ok(_) => Err(bad("is not a directory in the repository")),
            Err(_) => Err(bad("does not exist in the repository")),
        }
    }
}

/// `meta.json` beside the tree.
#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    commit: String,
    tree: String,
    nar_sha256: String,
    url: String,
    submodules: bool,
}

fn entry_name(commit: &str, submodules: bool) -> String {
    if submodules {
        format!("{commit}-sm")
    } else {
        commit.to_owned()
    }
}

fn checkouts_dir(store: &Store) -> PathBuf {
    store.root().join("git").join("checkouts")
}

/// The checkout of `commit` if the store has it: no network, no git.
pub fn find_checkout(store: &Store, commit: &str, submodules: bool) -> Option<Checkout> {
    let commit = commit.to_ascii_lowercase();
    let entry = checkouts_dir(store).join(entry_name(&commit, submodules));
    let meta: Meta = serde_json::from_slice(&fs::read(entry.join("meta.json")).ok()?).ok()?;
    let dir = entry.join("tree");
    if meta.commit != commit || !dir.is_dir() {
        return None;
    }
    Some(Checkout {
        dir,
        commit: meta.commit,
        tree: meta.tree,
        nar_sha256: meta.nar_sha256,
        fetched: false,
    })
}

/// The checkout of `spec.commit`, from the store or fetched into it.
pub fn checkout(store: &Store, spec: &GitSpec, options: &GitOptions) -> Result<Checkout, GitError> {
    let commit = full_commit(spec)?;
    if let Some(found) = find_checkout(store, &commit, spec.submodules) {
        return Ok(found);
    }
    if options.offline {
        return Err(GitError::Offline {
            label: spec.label.clone(),
            url: redact_url(&spec.url),
            commit,
        });
    }
    let name = entry_name(&commit, spec.submodules);
    let lock = store.lock_entry(&format!("git-{name}"))?;
    if let Some(found) = find_checkout(store, &commit, spec.submodules) {
        return Ok(found);
    }
    let url = options.mirrors.rewrite(&spec.url);
    if options.progress {
        eprintln!("fetching git {} at {commit}", redact_url(&url));
    }
    let db = fetch_commit(store, spec, &url, &commit)?;
    let work = store.tmp_path(&lock);
    let result = make_entry(spec, &db, &url, &commit, &work);
    if result.is_err() {
        remove_tree(&work);
    }
    let meta = result?;
    let target = checkouts_dir(store).join(&name);
    fs::create_dir_all(checkouts_dir(store)).map_err(io_err("create", &target))?;
    fs::rename(&work, &target).map_err(io_err("move into place", &target))?;
    drop(lock);
    Ok(Checkout {
        dir: target.join("tree"),
        commit,
        tree: meta.tree,
        nar_sha256: meta.nar_sha256,
        fetched: true,
    })
}

/// The lock's commit, lowercased; a short or non-hex one is refused.
fn full_commit(spec: &GitSpec) -> Result<String, GitError> {
    let commit = spec.commit.trim().to_ascii_lowercase();
    let hex = commit.bytes().all(|b| b.is_ascii_hexdigit());
    if hex && (commit.len() == 40 || commit.len() == 64) {
        Ok(commit)
    } else {
        Err(GitError::NotACommit {
            label: spec.label.clone(),
            url: redact_url(&spec.url),
            commit: spec.commit.clone(),
        })
    }
}

/// Makes sure the bare repository of `url` has `commit`: asks for the
/// commit itself, then (servers that serve only advertised commits) for
/// every branch and tag. Returns the repository's path.
fn fetch_commit(
    store: &Store,
    spec: &GitSpec,
    url: &str,
    commit: &str,
) -> Result<PathBuf, GitError> {
    let key = hex_prefix(url);
    let db = store
        .root()
        .join("git")
        .join("db")
        .join(format!("{key}.git"));
    let lock = store.lock_entry(&format!("gitdb-{key}"))?;
    if !db.join("HEAD").is_file() {
        let tmp = store.tmp_path(&lock);
        let mut init = git(None);
        init.args(["init", "--quiet", "--bare"]).arg(&tmp);
        run(init, None)?;
        fs::create_dir_all(db.parent().unwrap_or(&db)).map_err(io_err("create", &db))?;
        fs::rename(&tmp, &db).map_err(io_err("move into place", &db))?;
    }
    if has_commit(&db, commit)? {
        return Ok(db);
    }
    let keep = format!("{commit}:refs/lock2build/{commit}");
    let mut by_commit = git(Some(&db));
    by_commit.args(["fetch", "--quiet", "--no-tags", "--", url, &keep]);
    let _ = output(by_commit, Some(&db))?;
    if has_commit(&db, commit)? {
        return Ok(db);
    }
    let mut everything = git(Some(&db));
    everything.args([
        "fetch",
        "--quiet",
        "--tags",
        "--force",
        "--",
        url,
        "+refs/heads/*:refs/remotes/origin/*",
    ]);
    let out = output(everything, Some(&db))?;
    if !out.status.success() {
        return Err(GitError::Unreachable {
            label: spec.label.clone(),
            url: redact_url(url),
            commit: commit.to_owned(),
            stderr: indent(&String::from_utf8_lossy(&out.stderr)),
        });
    }
    if has_commit(&db, commit)? {
        Ok(db)
    } else {
        Err(GitError::CommitMissing {
            label: spec.label.clone(),
            url: redact_url(url),
            commit: commit.to_owned(),
        })
    }
}

fn has_commit(db: &Path, commit: &str) -> Result<bool, GitError> {
    let mut cmd = git(Some(db));
    cmd.args(["cat-file", "-e", &format!("{commit}^{{commit}}")]);
    Ok(output(cmd, Some(db))?.status.success())
}

/// Checks `commit` out of `db` into `<work>/tree`, verifies it, and writes
/// `<work>/meta.json`.
fn make_entry(
    spec: &GitSpec,
    db: &Path,
    url: &str,
    commit: &str,
    work: &Path,
) -> Result<Meta, GitError> {
    let tree_dir = work.join("tree");
    fs::create_dir_all(work).map_err(io_err("create", work))?;
    let mut clone = git(None);
    clone
        .args(["clone", "--quiet", "--no-checkout", "--shared"])
        .arg(db)
        .arg(&tree_dir);
    run(clone, None)?;
    // Highest-precedence attributes: no filter, line-ending or ident
    // conversion, so the files written are the commit's blobs.
    let attributes = tree_dir.join(".git/info/attributes");
    fs::create_dir_all(tree_dir.join(".git/info")).map_err(io_err("create", &attributes))?;
    fs::write(
        &attributes,
        "* -text -eol -ident -filter -working-tree-encoding\n",
    )
    .map_err(io_err("write", &attributes))?;
    let mut co = git(Some(&tree_dir));
    co.args(["checkout", "--quiet", "--detach", commit]);
    run(co, Some(&tree_dir))?;
    let mut head = git(Some(&tree_dir));
    head.args(["rev-parse", "--verify", "HEAD^{commit}"]);
    let got = run(head, Some(&tree_dir))?;
    if got != commit {
        return Err(GitError::CommitMismatch {
            label: spec.label.clone(),
            url: redact_url(url),
            commit: commit.to_owned(),
            got,
        });
    }
    let mut tree_cmd = git(Some(&tree_dir));
    tree_cmd.args(["rev-parse", "--verify", "HEAD^{tree}"]);
    let tree = run(tree_cmd, Some(&tree_dir))?;
    let gitlinks = has_gitlinks(&tree_dir)?;
    if spec.submodules && gitlinks {
        check_out_submodules(&tree_dir, url)?;
    }
    remove_git_dirs(&tree_dir)?;
    // A submodule is a gitlink in the commit's tree but files (or an empty
    // directory) on disk: the written tree equals the commit's only without.
    if !gitlinks {
        let scratch = work.join("scratch");
        fs::create_dir_all(&scratch).map_err(io_err("create", &scratch))?;
        let written = tree_id_of_dir(&tree_dir, &scratch)?;
        remove_tree(&scratch);
        if written != tree {
            return Err(GitError::TreeMismatch {
                label: spec.label.clone(),
                commit: commit.to_owned(),
                tree,
                got: written,
            });
        }
    }
    let meta = Meta {
        commit: commit.to_owned(),
        nar_sha256: nar_sha256(&tree_dir)?,
        tree,
        url: redact_url(&spec.url),
        submodules: spec.submodules,
    };
    make_read_only(&tree_dir)?;
    let meta_path = work.join("meta.json");
    let json = serde_json::to_vec_pretty(&meta).map_err(|e| GitError::Io {
        action: "write",
        path: meta_path.clone(),
        source: e.into(),
    })?;
    fs::write(&meta_path, json).map_err(io_err("write", &meta_path))?;
    Ok(meta)
}

/// Whether the checked-out commit has submodules (gitlink entries).
fn has_gitlinks(tree_dir: &Path) -> Result<bool, GitError> {
    let mut ls = git(Some(tree_dir));
    ls.args(["ls-tree", "-r", "HEAD"]);
    let listing = run(ls, Some(tree_dir))?;
    Ok(listing.lines().any(|l| l.starts_with("160000 ")))
}

/// Submodules at the commits the superproject records; relative submodule
/// URLs resolve against the real URL, not the local cache.
fn check_out_submodules(tree_dir: &Path, url: &str) -> Result<(), GitError> {
    let mut set_url = git(Some(tree_dir));
    set_url.args(["remote", "set-url", "origin", url]);
    run(set_url, Some(tree_dir))?;
    let mut update = git(Some(tree_dir));
    update.args(["submodule", "update", "--init", "--recursive", "--quiet"]);
    run(update, Some(tree_dir)).map(|_| ())
}

/// Removes every `.git` (directory or gitfile) below `dir`: a repository
/// can never track a path named `.git`, so each one is git's own.
fn remove_git_dirs(dir: &Path) -> Result<(), GitError> {
    for entry in fs::read_dir(dir).map_err(io_err("read directory", dir))? {
        let entry = entry.map_err(io_err("read directory", dir))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(io_err("inspect", &path))?;
        if entry.file_name() == ".git" {
            if kind.is_dir() {
                fs::remove_dir_all(&path).map_err(io_err("remove", &path))?;
            } else {
                fs::remove_file(&path).map_err(io_err("remove", &path))?;
            }
        } else if kind.is_dir() {
            remove_git_dirs(&path)?;
        }
    }
    Ok(())
}

/// Write bits off everywhere below `dir` (executable bits kept).
fn make_read_only(dir: &Path) -> Result<(), GitError> {
    use std::os::unix::fs::PermissionsExt;
    for entry in fs::read_dir(dir).map_err(io_err("read directory", dir))? {
        let entry = entry.map_err(io_err("read directory", dir))?;
        let path = entry.path();
        let meta = fs::symlink_metadata(&path).map_err(io_err("inspect", &path))?;
        if meta.file_type().is_symlink() {
            continue;
        }
        if meta.is_dir() {
            make_read_only(&path)?;
        }
        let mode = meta.permissions().mode() & !0o222;
        fs::set_permissions(&path, fs::Permissions::from_mode(mode))
            .map_err(io_err("make read-only", &path))?;
    }
    let meta = fs::metadata(dir).map_err(io_err("inspect", dir))?;
    let mode = meta.permissions().mode() & !0o222;
    fs::set_permissions(dir, fs::Permissions::from_mode(mode))
        .map_err(io_err("make read-only", dir))
}

/// Best-effort removal of work in progress (the store sweeps what is left).
fn remove_tree(path: &Path) {
    let _ = lock2build_store::remove_any(path);
}

fn hex_prefix(url: &str) -> String {
    hex::encode(&Sha256::digest(url.as_bytes())[..10])
}

fn indent(text: &str) -> String {
    text.trim()
        .lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
