//! Git dependencies of a package-lock.json, made into the tarball npm
//! would install.
//!
//! npm installs a git dependency by getting the commit, running its
//! `prepare` script when it has one, and packing it (`npm pack`: only the
//! files its `files` list and `.npmignore` let through, `package.json`
//! always). lock2build does the same, one `npm-git-pack` store output per
//! package, which holds `package.tgz`; the node_modules step unpacks it at
//! the package's location as it does a registry tarball.
//!
//! Where the files come from:
//!
//! | lock `resolved` | source | verified by |
//! |---|---|---|
//! | `git+ssh://…#C`, `git+https://…#C`, `git://…#C`, `github:o/r#C`, `git+file://…#C` | `lock2build-git` checkout of commit C | the commit id, and the checked-out files against its tree |
//! | GitHub archive URL of commit C (`codeload.github.com/o/r/tar.gz/C`, …) with `integrity` | the archive, fetched into the store | the lock's `integrity` |
//! | the same without `integrity` | checkout of C from `https://github.com/o/r.git` | the commit id (the archive itself is never used unpinned) |
//!
//! The pack step runs in the sandbox like an install script (no network,
//! npm configured only by the environment, `offline`): a `prepare` that
//! needs the package's own devDependencies fails, since they are not in the
//! project's lock (npm would download them).

use super::{NpmSteps, Package};
use crate::app::{build_cause, failure_message};
use anyhow::{anyhow, bail, Context, Result};
use lock2build_git::{GitOptions, GitSpec};
use lock2build_model::Ecosystem;
use lock2build_overrides::Database;
use lock2build_store::{ArchiveFormat, NodeId, Store, ToolchainId};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A package whose files come from a git commit.
#[derive(Debug, Clone)]
pub(super) struct GitSource {
    /// The repository.
    pub url: String,
    /// The locked commit.
    pub commit: String,
}

/// The pack output's identity for a git package.
pub(super) fn pack_id(
    p: &Package,
    git: &GitSource,
    sandboxed: bool,
    ids: &[ToolchainId],
    target: &str,
) -> Result<NodeId> {
    Ok(NodeId::compute(
        &format!("{}-git-pack", p.folder_name().replace('/', "-")),
        &serde_json::json!({
            "recipe": "npm-git-pack/1",
            "sandboxed": sandboxed,
            "name": p.name,
            "version": p.version,
            "commit": git.commit,
            // The archive's hash, when the files come from one.
            "archive": p.hashes.first().map(|h| h.to_sri()),
            "env": p.overrides.env,
        }),
        &[],
        ids,
        target,
    )?)
}

/// Makes (or finds) the pack output of `p`; returns its `package.tgz` and
/// whether it was made now.
#[allow(clippy::too_many_arguments)]
pub(super) fn pack(
    db: &Database,
    store: &Store,
    npm: &NpmSteps,
    git_options: &GitOptions,
    p: &Package,
    git: &GitSource,
    id: &NodeId,
    log: &Path,
) -> Result<(PathBuf, bool)> {
    let mut failed: Option<String> = None;
    let made = store.build_output(id, &[], |out| {
        let mut run = || -> Result<()> {
            let work = tempfile::Builder::new()
                .prefix("lock2build-npm-git-")
                .tempdir()?;
            let source = source_dir(store, git_options, p, git, work.path())?;
            let src = out.building.join("src");
            copy_all(&source, &src)
                .with_context(|| format!("copying {} {} to pack it", p.label(), git.commit))?;
            let destination = out.final_path.display().to_string();
            let result = npm.run(
                out,
                &out.final_path.join("src"),
                &[
                    "pack",
                    "--pack-destination",
                    &destination,
                    "--foreground-scripts",
                ],
                &p.overrides.env,
                (
                    log,
                    crate::progress::StepName {
                        name: &p.name,
                        label: &format!("{} (npm pack)", p.label()),
                    },
                ),
            )?;
            if let Err(cause) = result {
                failed = Some(cause);
                bail!("npm pack failed");
            }
            std::fs::remove_dir_all(&src)?;
            let tgz = std::fs::read_dir(&out.building)?
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .find(|f| f.extension().is_some_and(|x| x == "tgz"))
                .ok_or_else(|| anyhow!("`npm pack` of {} wrote no .tgz", p.label()))?;
            // The step's own output: only a regular file is unpacked later
            // (a FIFO would block, a link could name a host file).
            let meta = std::fs::symlink_metadata(&tgz)?;
            if !meta.is_file() {
                bail!(
                    "`npm pack` of {} left {}, which is {}, not a regular file",
                    p.label(),
                    tgz.display(),
                    lock2build_store::kind_name(meta.file_type())
                );
            }
            std::fs::rename(&tgz, out.building.join("package.tgz"))?;
            Ok(())
        };
        run().map_err(|e| format!("{e:#}").into())
    });
    match made {
        Ok(made) => Ok((made.path.join("package.tgz"), made.built)),
        Err(e) => Err(match failed {
            Some(cause) => failure_message(
                db,
                Ecosystem::Npm,
                &format!("the git dependency {} (commit {} of {})", p.label(), git.commit, git.url),
                &p.name,
                &p.version,
                log,
                &format!("{cause} (its `prepare` script runs offline with node and npm only: one that needs the package's own devDependencies cannot run)"),
            ),
            None => anyhow!("{}", build_cause(&e)),
        }),
    }
}

/// The package's files at the commit: the verified checkout, or the
/// archive from the store unpacked into `work`.
fn source_dir(
    store: &Store,
    git_options: &GitOptions,
    p: &Package,
    git: &GitSource,
    work: &Path,
) -> Result<PathBuf> {
    if let Some(archive) = store.source(&p.hashes).filter(|_| !p.hashes.is_empty()) {
        lock2build_store::unpack(&archive, ArchiveFormat::TarGz, work)
            .with_context(|| format!("unpacking the archive of {}", p.label()))?;
        return lock2build_store::single_top_dir(work).ok_or_else(|| {
            anyhow!(
                "the archive of {} (commit {}) does not hold one top directory",
                p.label(),
                git.commit
            )
        });
    }
    let spec = GitSpec {
        label: format!("npm {} ({})", p.label(), p.location),
        url: git.url.clone(),
        commit: git.commit.clone(),
        reference: None,
        submodules: true,
    };
    let checkout = crate::fetch_plan::checkout_or_recover(store, &spec, git_options)?;
    Ok(checkout.dir)
}

/// The git packages' `package.tgz`, by location: each pack output made
/// or found. `built`: the labels of those made now.
#[allow(clippy::too_many_arguments)]
pub(super) fn pack_all(
    db: &Database,
    store: &Store,
    npm: &NpmSteps,
    git_options: &GitOptions,
    packages: &[Package],
    ids: &BTreeMap<String, NodeId>,
    logs_dir: &Path,
    say: &dyn Fn(String),
    built: &mut Vec<String>,
) -> Result<BTreeMap<String, PathBuf>> {
    let mut tarballs = BTreeMap::new();
    for p in packages {
        let (Some(git), Some(id)) = (&p.git, ids.get(&p.location)) else {
            continue;
        };
        if store.output(id).is_none() {
            say(format!(
                "packing the git dependency {} ({})…",
                p.label(),
                &git.commit[..git.commit.len().min(12)]
            ));
        }
        let log = logs_dir.join(format!("{id}.log"));
        let (tgz, made) = pack(db, store, npm, git_options, p, git, id, &log)?;
        if made {
            built.push(format!("{} (git pack)", p.label()));
        }
        tarballs.insert(p.location.clone(), tgz);
    }
    Ok(tarballs)
}

/// Copies every file of `src` (the commit's tree: nothing is left out, not
/// even what a project copy skips, such as `target/` or `result`), keeping
/// symbolic links and modes; `npm pack` decides what is packed.
fn copy_all(src: &Path, dest: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dest)?;
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let (from, to) = (entry.path(), dest.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&from)?, &to)?;
        } else if kind.is_dir() {
            copy_all(&from, &to)?;
        } else {
            std::fs::copy(&from, &to)?;
        }
    }
    Ok(())
}
