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
use crate::app::failure_message;
use anyhow::{anyhow, bail, Context, Result};
use lock2build_git::GitSpec;
use lock2build_model::Ecosystem;
use lock2build_overrides::Database;
use lock2build_store::{ArchiveFormat, NodeId, ToolchainId};
use std::path::{Path, PathBuf};

/// A package whose files come from a git commit.
#[derive(Debug, Clone)]
pub(in crate::app) struct GitSource {
    /// The repository.
    pub url: String,
    /// The locked commit.
    pub commit: String,
}

/// The pack output's identity for a git package.
pub(in crate::app) fn pack_id(
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

/// Fills the pack output `out` of `p` from `source` (the verified
/// checkout of the commit, or its archive, a `.tar.gz`): the files copied,
/// `npm pack` run in the sandbox, `package.tgz` left. A pack that ran and
/// failed leaves its cause in `failed` ([`pack_failure`]).
pub(in crate::app) fn fill_pack(
    npm: &NpmSteps,
    p: &Package,
    git: &GitSource,
    source: &Path,
    out: &lock2build_store::OutputDirs,
    log: &Path,
    failed: &mut Option<String>,
) -> Result<()> {
    let work = tempfile::Builder::new()
        .prefix("lock2build-npm-git-")
        .tempdir()?;
    let source = source_dir(source, p, git, work.path())?;
    let src = out.building.join("src");
    crate::app::copy_all(&source, &src)
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
        *failed = Some(cause);
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
}

/// What the user is shown when the pack of `p` ran and failed with `cause`.
pub(in crate::app) fn pack_failure(
    db: &Database,
    p: &Package,
    git: &GitSource,
    log: &Path,
    cause: &str,
) -> anyhow::Error {
    failure_message(
        db,
        Ecosystem::Npm,
        &format!("the git dependency {} (commit {} of {})", p.label(), git.commit, git.url),
        &p.name,
        &p.version,
        log,
        &format!("{cause} (its `prepare` script runs offline with node and npm only: one that needs the package's own devDependencies cannot run)"),
    )
}

/// The spec of the commit's checkout (the label names the package and
/// its location, as errors about it must).
pub(in crate::app) fn spec(p: &Package, git: &GitSource) -> GitSpec {
    GitSpec {
        label: format!("npm {} ({})", p.label(), p.location),
        url: git.url.clone(),
        commit: git.commit.clone(),
        reference: None,
        submodules: true,
    }
}

/// The package's files at the commit: `source` itself (the verified
/// checkout), or the archive `source` (a file) unpacked into `work`.
fn source_dir(source: &Path, p: &Package, git: &GitSource, work: &Path) -> Result<PathBuf> {
    if source.is_dir() {
        return Ok(source.to_owned());
    }
    lock2build_store::unpack(source, ArchiveFormat::TarGz, work)
        .with_context(|| format!("unpacking the archive of {}", p.label()))?;
    lock2build_store::single_top_dir(work).ok_or_else(|| {
        anyhow!(
            "the archive of {} (commit {}) does not hold one top directory",
            p.label(),
            git.commit
        )
    })
}
