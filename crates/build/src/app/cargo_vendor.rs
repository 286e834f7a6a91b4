//! Crates from a Cargo.lock as cargo's offline "directory source": each
//! registry crate fetched (checked against the lock's checksum), unpacked
//! as `<name>-<version>/` with its `.cargo-checksum.json`, override patches
//! applied; shared by the Rust builder and by Python sdists with Rust
//! extensions (maturin, setuptools-rust), whose builds have no network
//! either.
//!
//! ```text
//! crate-NAME-VERSION  one crate unpacked, patches applied, .cargo-checksum.json  ← its checksum, patch hashes
//! cargo-vendor        the directory cargo reads: each crate's files hard-linked  ← the crates' outputs, the stubs
//!                     from its own output, the stubs of the crates the host
//!                     build does not compile (`cargo_resolve.rs`) likewise
//! ```
//!
//! A crate is unpacked once in the store whatever the number of projects
//! using it; a vendor directory costs its directory entries only. Hard
//! links, not symlinks: the sandbox shows the build the vendor directory
//! alone, not the outputs a symlink would point into.

use super::{apply_patches, patch_hashes, run_parallel};
use anyhow::{anyhow, bail, Context, Result};
use lock2build_model::{ArtifactKind, Ecosystem, Source};
use lock2build_overrides::Database;
use lock2build_plan::plan::Node;
use lock2build_store::{ArchiveFormat, BuiltOutput, NodeId, Store, ToolchainId};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The host's Rust toolchain.
pub(super) struct RustToolchain {
    /// `rustc --print sysroot`.
    pub sysroot: PathBuf,
    /// `<sysroot>/bin/cargo`.
    pub cargo: PathBuf,
    /// `<sysroot>/bin/rustc`.
    pub rustc: PathBuf,
    /// rustc, cargo and cc, for identities.
    pub ids: Vec<ToolchainId>,
}

impl RustToolchain {
    /// `rustc --print sysroot`, and the cargo beside it.
    pub fn find() -> Result<RustToolchain> {
        let help = "help: install a Rust toolchain (https://rustup.rs, or `apt-get install cargo`) so that `rustc` and `cargo` are in PATH";
        let probe = || -> Result<String> {
            let output = std::process::Command::new("rustc")
                .args(["--print", "sysroot"])
                .output()
                .map_err(|e| anyhow!("cannot run `rustc --print sysroot`: {e}\n  {help}"))?;
            if !output.status.success() {
                bail!(
                    "`rustc --print sysroot` failed: {}\n  {help}",
                    String::from_utf8_lossy(&output.stderr).trim()
                );
            }
            Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
        };
        let remembered = sysroot_memo(probe)?;
        let sysroot = if Path::new(&remembered).join("bin/cargo").is_file() {
            PathBuf::from(remembered)
        } else {
            // Removed since: ask again.
            PathBuf::from(probe()?)
        };
        let cargo = sysroot.join("bin/cargo");
        let rustc = sysroot.join("bin/rustc");
        for tool in [&cargo, &rustc] {
            if !tool.is_file() {
                bail!(
                    "the Rust toolchain at {} has no {}\n  {help}",
                    sysroot.display(),
                    tool.display()
                );
            }
        }
        let mut ids = vec![ToolchainId::probe(&rustc)?, ToolchainId::probe(&cargo)?];
        ids.extend(ToolchainId::probe(Path::new("cc")).ok());
        Ok(RustToolchain {
            sysroot,
            cargo,
            rustc,
            ids,
        })
    }

    /// `cargo metadata --offline --format-version 1 ARGS` in `dir`, with a
    /// scratch `CARGO_HOME` whose `config.toml` is `config`: its JSON.
    pub fn metadata(&self, dir: &Path, config: &str, args: &[&str]) -> Result<serde_json::Value> {
        let home = tempfile::Builder::new()
            .prefix("lock2build-cargo-home-")
            .tempdir_in(lock2build_store::scratch_dir())?;
        std::fs::write(home.path().join("config.toml"), config)?;
        let output = std::process::Command::new(&self.cargo)
            .args(["metadata", "--offline", "--format-version", "1"])
            .args(args)
            .current_dir(dir)
            .env("CARGO_HOME", home.path())
            .env("RUSTC", &self.rustc)
            .output()
            .context("running `cargo metadata`")?;
        if !output.status.success() {
            bail!(
                "`cargo metadata --offline {}` failed in {}:\n{}",
                args.join(" "),
                dir.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        serde_json::from_slice(&output.stdout).context("reading `cargo metadata`'s output")
    }
}

/// `rustc --print sysroot`'s answer, remembered by what picks the
/// toolchain: the `rustc` in PATH (rustup's proxy, or a compiler), rustup's
/// settings and every `rust-toolchain(.toml)` from here up (their stamps),
/// and PATH, RUSTUP_TOOLCHAIN, RUSTUP_HOME, CARGO_HOME and the directory.
fn sysroot_memo(probe: impl FnOnce() -> Result<String>) -> Result<String> {
    let Some(rustc) = lock2build_store::find_in_path(Path::new("rustc")) else {
        return probe();
    };
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let rustup_home = std::env::var_os("RUSTUP_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".rustup")))
        .unwrap_or_default();
    let here = std::env::current_dir()?;
    let mut files = vec![
        std::fs::canonicalize(&rustc).unwrap_or(rustc),
        rustup_home.join("settings.toml"),
    ];
    for dir in here.ancestors() {
        files.push(dir.join("rust-toolchain"));
        files.push(dir.join("rust-toolchain.toml"));
    }
    let files: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let words = [
        var("PATH"),
        var("RUSTUP_TOOLCHAIN"),
        var("RUSTUP_HOME"),
        var("CARGO_HOME"),
        here.display().to_string(),
    ];
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    lock2build_store::remembered_probe("rustc --print sysroot", &files, &words, probe)
}

/// A crate of the vendor directory.
#[derive(Debug, Clone)]
pub(super) struct VendoredCrate {
    pub name: String,
    pub version: String,
    /// The `.crate`'s hashes (sha256 first-class: cargo's checksum).
    pub hashes: Vec<lock2build_model::Hash>,
    pub sha256: String,
    pub patches: Vec<PathBuf>,
    /// The registry, as the lock names it (`https://github.com/rust-lang/crates.io-index`).
    pub registry: String,
}

/// Stub crates to vendor beside the real ones: `names` (`<name>-<version>`)
/// of the `cargo-stubs` output `stubs`.
#[derive(Debug, Clone)]
pub(super) struct StubSet {
    pub stubs: super::cargo_resolve::Stubs,
    pub names: Vec<String>,
}

/// A vendor directory to make (or find) in the store.
#[derive(Debug, Clone)]
pub(super) struct Vendor {
    pub crates: Vec<VendoredCrate>,
    /// Stubs standing for the crates the build does not compile.
    pub stubs: Option<StubSet>,
    /// The lock's git crates, under `.git-sources/`.
    pub git: Option<super::cargo_git::GitCrates>,
    /// Its node: the crates' checksums and the override patches, the stubs.
    pub id: NodeId,
}

impl Vendor {
    /// The registry crates of a Cargo.lock's `nodes`. Path crates must be
    /// inside `project_dir`; git crates cannot be vendored yet.
    pub fn from_nodes(
        nodes: &[&Node],
        db: &Database,
        lock_dir: &Path,
        project_dir: &Path,
        lock_display: &str,
    ) -> Result<Vendor> {
        let mut vendored = Vec::new();
        let mut unsupported = Vec::new();
        for node in nodes {
            match (&node.source, &node.artifact) {
                (Source::Directory { path, .. }, _) => {
                    let dir = normalize(&lock_dir.join(path));
                    if !dir.starts_with(project_dir) {
                        unsupported.push(format!(
                            "  {} {}: path dependency {} is outside the project directory {}",
                            node.name,
                            node.version,
                            dir.display(),
                            project_dir.display()
                        ));
                    }
                }
                (_, Some(a)) if a.kind == ArtifactKind::Crate => {
                    let sha256 = a
                        .hashes
                        .iter()
                        .find(|h| h.algorithm == lock2build_model::HashAlgorithm::Sha256)
                        .map(|h| h.hex())
                        .ok_or_else(|| {
                            anyhow!(
                                "{lock_display}: {} {} has no checksum\n  help: regenerate the lock with a current cargo (`cargo generate-lockfile`), which records every crate's sha256",
                                node.name,
                                node.version
                            )
                        })?;
                    vendored.push(VendoredCrate {
                        name: node.name.clone(),
                        version: node.version.clone(),
                        hashes: a.hashes.clone(),
                        sha256,
                        patches: db
                            .resolve(Ecosystem::Crates, &node.name, &node.version)
                            .patches,
                        registry: match &node.source {
                            Source::Registry { url } => url.clone(),
                            _ => String::new(),
                        },
                    });
                }
                (Source::Git { url, commit, .. }, _) => unsupported.push(format!(
                    "  {} {}: git dependency {url} at {commit} (git sources are not fetched into the store yet)",
                    node.name, node.version
                )),
                (source, _) => unsupported.push(format!(
                    "  {} {}: {source:?} has no .crate to vendor",
                    node.name, node.version
                )),
            }
        }
        if !unsupported.is_empty() {
            bail!(
                "{lock_display}: lock2build cannot build these crates yet:\n{}\n  help: depend on them through crates.io (or a path inside the project), or build with cargo directly",
                unsupported.join("\n")
            );
        }
        Vendor::new(vendored)
    }

    /// The vendor directory of `crates` (deduplicated).
    pub fn new(vendored: Vec<VendoredCrate>) -> Result<Vendor> {
        Vendor::with_stubs(vendored, None)
    }

    /// This vendor directory with only the crates `host` compiles, and the
    /// stubs of `stubs` for the others.
    pub fn for_host(
        self,
        host: &super::cargo_resolve::HostBuild,
        stubs: super::cargo_resolve::Stubs,
    ) -> Result<Vendor> {
        let (built, stubbed): (Vec<VendoredCrate>, Vec<VendoredCrate>) = self
            .crates
            .into_iter()
            .partition(|c| host.builds(&c.name, &c.version));
        let names = stubbed
            .iter()
            .map(|c| format!("{}-{}", c.name, c.version))
            .collect();
        Vendor::with_parts(built, Some(StubSet { stubs, names }), self.git)
    }

    fn with_stubs(vendored: Vec<VendoredCrate>, stubs: Option<StubSet>) -> Result<Vendor> {
        Vendor::with_parts(vendored, stubs, None)
    }

    /// A vendor directory of these crates (sorted, duplicates dropped),
    /// stubs and git crates, with its node id.
    pub fn with_parts(
        mut vendored: Vec<VendoredCrate>,
        stubs: Option<StubSet>,
        git: Option<super::cargo_git::GitCrates>,
    ) -> Result<Vendor> {
        vendored.sort_by(|a, b| {
            (&a.name, &a.version, &a.sha256).cmp(&(&b.name, &b.version, &b.sha256))
        });
        vendored
            .dedup_by(|a, b| a.name == b.name && a.version == b.version && a.sha256 == b.sha256);
        let patches: BTreeMap<String, Vec<String>> = vendored
            .iter()
            .filter(|c| !c.patches.is_empty())
            .map(|c| {
                Ok((
                    format!("{}-{}", c.name, c.version),
                    patch_hashes(&c.patches)?,
                ))
            })
            .collect::<Result<_>>()?;
        let id = NodeId::compute(
            "cargo-vendor",
            &serde_json::json!({
                "recipe": "cargo-vendor/2",
                "crates": vendored.iter().map(|c| format!("{}-{} {}", c.name, c.version, c.sha256)).collect::<Vec<_>>(),
                "patches": patches,
                "stubs": stubs.as_ref().map(|s| &s.names),
            }),
            &stubs
                .iter()
                .map(|s| s.stubs.id.clone())
                .chain(git.iter().map(|g| g.id.clone()))
                .collect::<Vec<_>>(),
            &[],
            "",
        )?;
        Ok(Vendor {
            crates: vendored,
            stubs,
            git,
            id,
        })
    }

    /// The `.crate` hashes, as SRI strings.
    pub fn hashes(&self) -> BTreeSet<String> {
        self.crates
            .iter()
            .flat_map(|c| c.hashes.iter().map(|h| h.to_sri()))
            .collect()
    }

    /// Makes the vendor directory (the `.crate`s must be in the store), or
    /// finds it: each crate's own output first, then the directory of
    /// links to them and to the stubs.
    pub fn make(&self, store: &Store, jobs: usize) -> Result<BuiltOutput> {
        if let Some(path) = store.output(&self.id) {
            return Ok(BuiltOutput { path, built: false });
        }
        let mut dirs: Vec<(PathBuf, String)> = Vec::new();
        let mut references = Vec::new();
        for (c, made) in run_parallel(&self.crates, jobs.max(1), |c| crate_output(store, c)) {
            let (id, path) = made?;
            let name = format!("{}-{}", c.name, c.version);
            dirs.push((path.join(&name), name));
            references.push(id);
        }
        if let Some(set) = &self.stubs {
            references.push(set.stubs.id.clone());
            for name in &set.names {
                dirs.push((set.stubs.path.join(name), name.clone()));
            }
        }
        if let Some(git) = &self.git {
            references.push(git.id.clone());
            dirs.push((git.path.clone(), GIT_SOURCES.to_owned()));
        }
        Ok(store.build_output(&self.id, &references, |out| {
            for (from, name) in &dirs {
                link_tree(from, &out.building.join(name)).map_err(|e| {
                    format!("linking {} into the vendor directory: {e}", from.display())
                })?;
            }
            Ok(())
        })?)
    }
}

/// The store output holding crate `c` unpacked as `<name>-<version>/`,
/// its patches applied, with its `.cargo-checksum.json` (made if absent).
fn crate_output(store: &Store, c: &VendoredCrate) -> Result<(NodeId, PathBuf)> {
    let id = crate_id(c)?;
    let made = store.build_output(&id, &[], |out| {
        unpack_crate(store, c, None, &out.building).map_err(|e| format!("{e:#}").into())
    })?;
    Ok((id, made.path))
}

/// The node of crate `c` unpacked (`crate-NAME-VERSION`).
pub(super) fn crate_id(c: &VendoredCrate) -> Result<NodeId> {
    Ok(NodeId::compute(
        &format!("crate-{}-{}", c.name, c.version),
        &serde_json::json!({
            "recipe": "cargo-crate/1",
            "sha256": c.sha256,
            "patches": patch_hashes(&c.patches)?,
        }),
        &[],
        &[],
        "",
    )?)
}

/// Recreates the tree `from` at `to` with hard links to its files (a copy
/// where the file system refuses the link).
pub(super) fn link_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let (src, dest) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            link_tree(&src, &dest)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src)?, &dest)?;
        } else if std::fs::hard_link(&src, &dest).is_err() {
            std::fs::copy(&src, &dest)?;
        }
    }
    Ok(())
}

/// Where a vendor directory holds the git sources (hidden: cargo's
/// directory source for crates.io skips it).
pub(super) const GIT_SOURCES: &str = ".git-sources";

/// `$CARGO_HOME/config.toml` for builds from the vendor directory at
/// `vendor` (as the build sees it).
pub(super) fn cargo_config(vendor: &Path) -> String {
    format!(
        "[source.crates-io]\nreplace-with = \"lock2build-vendor\"\n\n[source.lock2build-vendor]\ndirectory = {}\n\n[net]\noffline = true\n",
        toml::Value::String(vendor.display().to_string())
    )
}

/// [`cargo_config`] with the vendor directory's git sources replaced too.
pub(super) fn cargo_config_for(vendor: &Path, git: Option<&super::cargo_git::GitCrates>) -> String {
    let mut config = cargo_config(vendor);
    if let Some(git) = git {
        config.push_str(&git.cargo_config(&vendor.join(GIT_SOURCES)));
    }
    config
}

/// The override environment of every crate, merged: cargo runs all build
/// scripts in one process, so two crates may not disagree on a variable.
pub(super) fn merged_env(nodes: &[&Node], db: &Database) -> Result<BTreeMap<String, String>> {
    let mut env: BTreeMap<String, (String, String)> = BTreeMap::new();
    for node in nodes {
        let resolved = db.resolve(Ecosystem::Crates, &node.name, &node.version);
        for (key, value) in resolved.env {
            let who = format!("{} {}", node.name, node.version);
            match env.get(&key) {
                Some((v, other)) if *v != value => bail!(
                    "the overrides of {other} and {who} set {key} differently (`{v}` and `{value}`); cargo builds both in one step\n  help: make them agree in the project layer (`lock2build overrides why crates/NAME@VERSION` shows where each comes from)"
                ),
                _ => {
                    env.insert(key, (value, who));
                }
            }
        }
    }
    Ok(env.into_iter().map(|(k, (v, _))| (k, v)).collect())
}

/// `a/./b/../c` → `a/c`, without touching the disk.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Unpacks crate `c` (the `.crate` file `from`, else the store's) into
/// `out` as `<name>-<version>/`, applies its override patches and writes
/// its `.cargo-checksum.json`.
pub(super) fn unpack_crate(
    store: &Store,
    c: &VendoredCrate,
    from: Option<&Path>,
    out: &Path,
) -> Result<()> {
    let name = format!("{}-{}", c.name, c.version);
    let work = out.join(format!(".unpack-{name}"));
    match from {
        Some(file) => lock2build_store::unpack(file, ArchiveFormat::TarGz, &work)
            .map_err(|e| anyhow!("{e}"))
            .with_context(|| format!("unpacking {name}.crate"))?,
        // The stored .crate, or its tree recovered from the archive.
        None => {
            lock2build_archive::unpack_artifact(store, &c.hashes, ArchiveFormat::TarGz, &work)
                .with_context(|| format!("unpacking {name}.crate"))?;
        }
    }
    let top = lock2build_store::single_top_dir(&work)
        .ok_or_else(|| anyhow!("{name}.crate does not hold one top directory"))?;
    let dest = out.join(&name);
    std::fs::rename(&top, &dest).with_context(|| format!("moving {name} into place"))?;
    std::fs::remove_dir_all(&work).with_context(|| format!("removing {}", work.display()))?;
    apply_patches(
        &dest,
        &c.patches,
        &name,
        &format!("crates/{}@{}", c.name, c.version),
    )?;
    // Empty `files`: cargo then checks only the package checksum against
    // the lock, so patched sources are accepted.
    std::fs::write(
        dest.join(".cargo-checksum.json"),
        serde_json::json!({"files": {}, "package": c.sha256}).to_string(),
    )?;
    Ok(())
}
