//! The crates of Cargo workspaces vendored for the host: the one operation
//! the Rust builder (`rust.rs`) and Python sdists with Rust code (maturin,
//! setuptools-rust: `python.rs`) share.
//!
//! ```text
//! workspace's Cargo.lock ──▶ registry crates (cargo_vendor.rs: each unpacked once, hard-linked)
//!                        ──▶ git crates by commit (cargo_git.rs: each laid out once, hard-linked)
//! workspace's skeleton   ──▶ what the host build compiles (cargo_resolve.rs: `cargo metadata`
//!                            over stubs) ──▶ the vendor directory: those crates real, the others stubs
//! ```
//!
//! A build may hold several workspaces (an sdist shipping two Cargo.locks):
//! their crates share one vendor directory, and the host build is the union
//! of each workspace's.

use super::cargo_git::git_crates;
use super::cargo_resolve::{host_build, stubs, HostBuild, Stubs};
use super::cargo_vendor::{merged_env, RustToolchain, Vendor};
use anyhow::{Context, Result};
use lock2build_fetch::FetchOptions;
use lock2build_model::{Ecosystem, Source};
use lock2build_overrides::Database;
use lock2build_plan::plan::Node;
use lock2build_plan::pyindex::IndexOptions;
use lock2build_store::Store;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What vendoring reads and writes: the store, cargo, the overrides, where
/// git sources and the registry index come from.
pub(super) struct VendorContext<'a> {
    pub store: &'a Store,
    pub toolchain: &'a RustToolchain,
    pub db: &'a Database,
    pub fetch: &'a FetchOptions,
    pub index: &'a IndexOptions,
}

/// One Cargo workspace of a build.
pub(super) struct LockedWorkspace<'a> {
    /// Its Cargo.lock's crates.
    pub nodes: Vec<&'a Node>,
    /// The directory of its Cargo.lock (path crates are relative to it).
    pub lock_dir: PathBuf,
    /// The tree path crates must lie inside (the project, the sdist).
    pub root: PathBuf,
    /// The Cargo.lock as errors name it.
    pub display: String,
    /// Its skeleton ([`write_skeleton`]); `None` when it could not be
    /// written.
    pub skeleton: Option<SkeletonDir<'a>>,
}

/// A workspace's skeleton: written (the workspace's directory in it and
/// the skeleton's [`super::tree_hash`]), or written when first read.
pub(super) enum SkeletonDir<'a> {
    Written { dir: PathBuf, hash: String },
    Remembered(&'a Skeleton),
}

impl SkeletonDir<'_> {
    /// The workspace's directory in the skeleton.
    pub fn path(&self) -> Result<&Path> {
        match self {
            SkeletonDir::Written { dir, .. } => Ok(dir),
            SkeletonDir::Remembered(skeleton) => skeleton.dir(),
        }
    }

    /// The skeleton's tree hash.
    pub fn hash(&self) -> &str {
        match self {
            SkeletonDir::Written { hash, .. } => hash,
            SkeletonDir::Remembered(skeleton) => &skeleton.tree_hash,
        }
    }
}

impl LockedWorkspace<'_> {
    /// The vendor entries of its registry and path crates (git crates are
    /// checked out and vendored apart: [`git_crates`]).
    pub fn registry_vendor(&self, db: &Database) -> Result<Vendor> {
        let not_git: Vec<&Node> = self
            .nodes
            .iter()
            .copied()
            .filter(|n| !matches!(n.source, Source::Git { .. }))
            .collect();
        Vendor::from_nodes(&not_git, db, &self.lock_dir, &self.root, &self.display)
    }
}

/// A vendor directory for the host, and what the host build compiles
/// (`None`: unknown, every crate is vendored).
pub(super) struct HostVendor {
    pub vendor: Vendor,
    pub host: Option<HostBuild>,
}

/// The vendor directory of `workspaces`: their registry crates, their git
/// crates checked out by commit, and, when cargo can tell which of them
/// the host build compiles (with `selection`'s features, and `selected`
/// whatever cargo says), only those real and the others stubs. What could
/// not be learnt is said in `notes`.
pub(super) fn vendor_for_host(
    cx: &VendorContext,
    workspaces: &[LockedWorkspace],
    selection: &[String],
    selected: &[&Node],
    notes: &mut Vec<String>,
) -> Result<HostVendor> {
    let mut crates = Vec::new();
    for ws in workspaces {
        let vendor = ws.registry_vendor(cx.db)?;
        crates.extend(vendor.crates);
    }
    let all: Vec<&Node> = workspaces
        .iter()
        .flat_map(|ws| ws.nodes.iter().copied())
        .collect();
    let vendor = Vendor::with_parts(crates, None, git_crates(cx.store, &all, cx.fetch)?)?;
    Ok(for_host(cx, vendor, workspaces, selection, selected, notes))
}

/// The vendor directory of the crates the host build compiles, stubs for
/// the others, and what cargo compiles; on failure to learn it (the index
/// unreachable, a registry without a sparse index, a workspace cargo
/// cannot read), `vendor` as it is and a note.
fn for_host(
    cx: &VendorContext,
    vendor: Vendor,
    workspaces: &[LockedWorkspace],
    selection: &[String],
    selected: &[&Node],
    notes: &mut Vec<String>,
) -> HostVendor {
    let learnt = (|| -> Result<(Stubs, HostBuild)> {
        let stubs = stubs(cx.store, &vendor.crates, cx.index)?;
        let mut host = HostBuild::default();
        for ws in workspaces {
            let skeleton = ws.skeleton.as_ref().ok_or_else(|| {
                anyhow::anyhow!("cargo could not read the workspace of {}", ws.display)
            })?;
            let found = host_build(
                cx.store,
                cx.toolchain,
                skeleton,
                &stubs,
                vendor.git.as_ref(),
                selection,
            )?;
            host.merge(found);
        }
        Ok((stubs, host))
    })();
    let (stubs, mut host) = match learnt {
        Ok(found) => found,
        Err(e) => {
            notes.push(format!(
                "which crates this host compiles is unknown ({e:#}); every crate of the lock is vendored and checked"
            ));
            return HostVendor { vendor, host: None };
        }
    };
    // What `overrides check` names is built even where the host build
    // would not compile it.
    for n in selected {
        host.crates
            .entry(n.name.clone())
            .or_default()
            .entry(n.version.clone())
            .or_default();
    }
    let all = vendor.crates.len();
    match vendor.clone().for_host(&host, stubs) {
        Ok(v) => {
            if v.crates.len() < all {
                notes.push(format!(
                    "{} of the lock's {all} registry crates are compiled on this host; the others are vendored as stubs, not downloaded",
                    v.crates.len()
                ));
            }
            HostVendor {
                vendor: v,
                host: Some(host),
            }
        }
        Err(e) => {
            notes.push(format!("{e:#}; every crate of the lock is vendored"));
            HostVendor { vendor, host: None }
        }
    }
}

impl HostVendor {
    /// The crates of `nodes` cargo compiles (all when that is unknown).
    pub fn built<'n>(&self, nodes: &[&'n Node]) -> Vec<&'n Node> {
        nodes
            .iter()
            .copied()
            .filter(|n| {
                self.host
                    .as_ref()
                    .is_none_or(|h| h.builds(&n.name, &n.version))
            })
            .collect()
    }

    /// The override environment of the `built` crates, merged, after
    /// checking their native needs on the host: a crate that bundles its
    /// library needs the host's only when the environment or its features
    /// ask for it.
    pub fn checked_env(&self, built: &[&Node], db: &Database) -> Result<BTreeMap<String, String>> {
        let env = merged_env(built, db)?;
        let features = |n: &Node| {
            self.host
                .as_ref()
                .map(|h| h.features(&n.name, &n.version).to_vec())
                .unwrap_or_default()
        };
        super::require_native_with(
            built,
            db,
            "the crates",
            Ecosystem::Crates,
            None,
            Some((&env, &features)),
        )?;
        Ok(env)
    }
}

/// Writes the skeleton of the workspace at `workspace` (inside `root`)
/// into `dest`, as `root`'s tree: its manifests, lock and cargo
/// configuration, and every target's source file (as `cargo metadata`
/// lists them) replaced by an empty one (`fn main() {}` for binaries and
/// build scripts). Building it builds exactly the dependencies; its hash
/// changes only when they may. Returns the workspace's directory in
/// `dest`.
pub(super) fn write_skeleton(
    toolchain: &RustToolchain,
    root: &Path,
    workspace: &Path,
    dest: &Path,
) -> Result<PathBuf> {
    SkeletonLayout::of(toolchain, root, workspace)?.write(dest)
}

/// What a skeleton ([`write_skeleton`]) is made of.
struct SkeletonLayout {
    /// `root`, symlinks resolved: where the copied files come from.
    root: PathBuf,
    /// The workspace's directory, relative to `root`.
    at: PathBuf,
    /// Files copied as they are (relative to `root`).
    files: Vec<PathBuf>,
    /// Target source files, replaced by this text.
    dummies: BTreeMap<PathBuf, &'static str>,
}

impl SkeletonLayout {
    fn of(toolchain: &RustToolchain, root: &Path, workspace: &Path) -> Result<SkeletonLayout> {
        let metadata = workspace_targets(toolchain, workspace)?;
        let root = std::fs::canonicalize(root)?;
        let inside = |path: &Path| -> Option<PathBuf> {
            let path = std::fs::canonicalize(path).ok()?;
            path.strip_prefix(&root).ok().map(Path::to_owned)
        };
        let at = inside(workspace).with_context(|| {
            format!(
                "the workspace {} is outside {}",
                workspace.display(),
                root.display()
            )
        })?;
        let mut files = std::collections::BTreeSet::new();
        for name in [
            "Cargo.toml",
            "Cargo.lock",
            ".cargo/config.toml",
            ".cargo/config",
            "rust-toolchain.toml",
            "rust-toolchain",
        ] {
            if workspace.join(name).is_file() {
                files.insert(at.join(name));
            }
        }
        let mut dummies = BTreeMap::new();
        for package in metadata["packages"].as_array().into_iter().flatten() {
            if let Some(rel) = package["manifest_path"]
                .as_str()
                .and_then(|p| inside(Path::new(p)))
            {
                files.insert(rel);
            }
            for t in package["targets"].as_array().into_iter().flatten() {
                let Some(rel) = t["src_path"].as_str().and_then(|p| inside(Path::new(p))) else {
                    continue;
                };
                let library = t["kind"].as_array().into_iter().flatten().any(|k| {
                    matches!(
                        k.as_str(),
                        Some("lib" | "rlib" | "dylib" | "cdylib" | "staticlib" | "proc-macro")
                    )
                });
                dummies.insert(rel, if library { "" } else { "fn main() {}\n" });
            }
        }
        Ok(SkeletonLayout {
            root,
            at,
            files: files.into_iter().collect(),
            dummies,
        })
    }

    /// Writes the skeleton into `dest`; returns the workspace's directory
    /// in it.
    fn write(&self, dest: &Path) -> Result<PathBuf> {
        for rel in &self.files {
            let to = dest.join(rel);
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent)?;
            }
            // Writable: the manifest may get a `[workspace]` (a read-only
            // tree, the Nix store's, is copied too).
            super::copy_writable(&self.root.join(rel), &to)
                .with_context(|| format!("copying {}", self.root.join(rel).display()))?;
        }
        for (rel, text) in &self.dummies {
            let to = dest.join(rel);
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&to, text)?;
        }
        let at = dest.join(&self.at);
        own_workspace_root(&at)?;
        Ok(at)
    }
}

/// The probe memo's name of a skeleton's hashes ([`Skeleton::remembered`]).
const SKELETON_MEMO: &str = "cargo skeleton/1";

/// A workspace's skeleton ([`write_skeleton`]) known by its hashes, which
/// are remembered by the stamps of the files it copies (and the layout
/// `cargo metadata` gives, itself remembered): its directory is written
/// only when a step must read it (a resolve not yet in the store), not at
/// every graph (issue #15: each write created and removed ~10 inodes).
pub(super) struct Skeleton {
    layout: SkeletonLayout,
    /// [`super::tree_hash`] of the skeleton.
    pub tree_hash: String,
    /// Its NAR sha256 (SRI): the `cargo-skeleton` node's fixed output.
    pub nar: String,
    written: std::sync::OnceLock<(tempfile::TempDir, PathBuf)>,
}

impl Skeleton {
    /// The skeleton of the workspace at `workspace` (inside `root`).
    pub fn remembered(
        toolchain: &RustToolchain,
        root: &Path,
        workspace: &Path,
    ) -> Result<Skeleton> {
        let layout = SkeletonLayout::of(toolchain, root, workspace)?;
        let sources: Vec<PathBuf> = layout.files.iter().map(|f| layout.root.join(f)).collect();
        let sources: Vec<&Path> = sources.iter().map(PathBuf::as_path).collect();
        let mut words = vec![
            layout.root.display().to_string(),
            layout.at.display().to_string(),
        ];
        words.extend(
            layout
                .dummies
                .iter()
                .map(|(rel, text)| format!("{}\0{text}", rel.display())),
        );
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let written = std::sync::OnceLock::new();
        let hashes = || -> Result<String> {
            let (dest, _) = Self::write_once(&layout, &written)?;
            let nar = lock2build_git::nar_sha256(dest).map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok(format!("{} {nar}", super::tree_hash(dest)?))
        };
        // What the key says of the skeleton's bytes: bump it with any
        // change to `SkeletonLayout::write` or `own_workspace_root`.
        let answer = lock2build_store::remembered_probe(SKELETON_MEMO, &sources, &words, hashes)?;
        let (tree_hash, nar) = match answer.split_once(' ') {
            Some((t, n)) => (t.to_owned(), n.to_owned()),
            // An unreadable memo (a hand-edited cache): the hashes again.
            None => {
                let fresh = hashes()?;
                let (t, n) = fresh.split_once(' ').unwrap_or((&fresh, ""));
                (t.to_owned(), n.to_owned())
            }
        };
        Ok(Skeleton {
            layout,
            tree_hash,
            nar,
            written,
        })
    }

    /// The workspace's directory in the skeleton, written now if it was
    /// not; refused if it is not the skeleton the hashes name (a manifest
    /// or the lock written since they were taken).
    pub fn dir(&self) -> Result<&Path> {
        let fresh = self.written.get().is_none();
        let (dest, at) = Self::write_once(&self.layout, &self.written)?;
        if fresh && super::tree_hash(dest)? != self.tree_hash {
            anyhow::bail!(
                "the workspace at {} changed while lock2build was reading it (its manifests or lock were written)\n  help: run the command again",
                self.layout.root.join(&self.layout.at).display()
            );
        }
        Ok(at)
    }

    fn write_once<'w>(
        layout: &SkeletonLayout,
        written: &'w std::sync::OnceLock<(tempfile::TempDir, PathBuf)>,
    ) -> Result<(&'w Path, &'w Path)> {
        if written.get().is_none() {
            let scratch = lock2build_store::scratch_dir();
            let dest = tempfile::Builder::new()
                .prefix("lock2build-skeleton-")
                .tempdir_in(&scratch)
                .with_context(|| format!("making a directory in {}", scratch.display()))?;
            let at = layout.write(dest.path())?;
            let _ = written.set((dest, at));
        }
        let (dest, at) = written
            .get()
            .context("internal: the skeleton was not written")?;
        Ok((dest.path(), at))
    }
}

/// The manifests and targets (`src_path`, `kind`) of the workspace at
/// `workspace`: `cargo metadata --no-deps`, remembered by what cargo reads
/// for it (`lock2build_store::remembered_probe_reading`): the stamps of
/// the cargo and rustc binaries, every `Cargo.toml`, `Cargo.lock` and
/// `.cargo/config(.toml)` from the workspace up, the members' manifests,
/// and the entries of the directories cargo finds targets in (each
/// member's own, `src/`, `src/bin/`, `examples/`, `tests/`, `benches/` and
/// their subdirectories, a target's directory, a member's parent: a glob of
/// `members`; not the workspace's own parent); and by `CARGO_*`/`RUSTC*` variables and the directory. An
/// edit of a source file changes none of these.
fn workspace_targets(toolchain: &RustToolchain, workspace: &Path) -> Result<serde_json::Value> {
    let mut files = vec![toolchain.cargo.clone(), toolchain.rustc.clone()];
    for dir in workspace.ancestors() {
        for name in [
            "Cargo.toml",
            "Cargo.lock",
            ".cargo/config.toml",
            ".cargo/config",
        ] {
            files.push(dir.join(name));
        }
    }
    let files: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let mut words: Vec<String> = std::env::vars()
        .filter(|(k, _)| {
            k.starts_with("CARGO_") || k.starts_with("RUSTC") || k == "RUSTUP_TOOLCHAIN"
        })
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    words.sort();
    words.push(workspace.display().to_string());
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let probe = || -> Result<String> {
        let metadata = toolchain.metadata(workspace, "", &["--no-deps"])?;
        let packages: Vec<serde_json::Value> = metadata["packages"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                let targets: Vec<serde_json::Value> = p["targets"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|t| serde_json::json!({ "src_path": t["src_path"], "kind": t["kind"] }))
                    .collect();
                serde_json::json!({ "manifest_path": p["manifest_path"], "targets": targets })
            })
            .collect();
        Ok(serde_json::json!({ "packages": packages }).to_string())
    };
    let answer = lock2build_store::remembered_probe_reading(
        "cargo metadata --no-deps",
        &files,
        &words,
        |answer| target_reads(answer, workspace),
        probe,
    )?;
    serde_json::from_str(&answer).context("reading remembered `cargo metadata` output")
}

/// What `cargo metadata --no-deps`'s `answer` for `workspace` was read
/// from: the members' manifests, and the directories it finds targets in.
fn target_reads(answer: &str, workspace: &Path) -> lock2build_store::ProbeReads {
    let mut reads = lock2build_store::ProbeReads::default();
    let metadata: serde_json::Value = serde_json::from_str(answer).unwrap_or_default();
    // cargo names paths from its working directory, symlinks resolved.
    let workspace = std::fs::canonicalize(workspace).unwrap_or(workspace.to_owned());
    let mut dirs = std::collections::BTreeSet::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let Some(manifest) = package["manifest_path"].as_str().map(PathBuf::from) else {
            continue;
        };
        let Some(dir) = manifest.parent() else {
            continue;
        };
        reads.files.push(manifest.clone());
        if dir != workspace {
            // A member a glob of `members` matched.
            dirs.extend(dir.parent().map(Path::to_owned));
        }
        dirs.insert(dir.to_owned());
        dirs.insert(dir.join("src"));
        for auto in ["src/bin", "examples", "tests", "benches"] {
            let auto = dir.join(auto);
            for entry in std::fs::read_dir(&auto).into_iter().flatten().flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    dirs.insert(entry.path());
                }
            }
            dirs.insert(auto);
        }
        for t in package["targets"].as_array().into_iter().flatten() {
            if let Some(parent) = t["src_path"].as_str().and_then(|p| Path::new(p).parent()) {
                dirs.insert(parent.to_owned());
            }
        }
    }
    reads.files.sort();
    reads.files.dedup();
    reads.dirs = dirs.into_iter().collect();
    reads
}

/// Makes the manifest at `dir` (the directory of a Cargo.lock, so its
/// workspace's root) say so with an empty `[workspace]` when it does not:
/// a copy in a scratch directory must not be taken for a member of a
/// workspace above it (a store inside a Cargo project's tree).
pub(super) fn own_workspace_root(dir: &Path) -> Result<()> {
    let path = dir.join("Cargo.toml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let doc: toml::Table =
        toml::from_str(&text).with_context(|| format!("reading {}", path.display()))?;
    if !doc.contains_key("workspace") {
        std::fs::write(&path, format!("{text}\n[workspace]\n"))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
