//! `lock2build fetch`: every artifact of a plan into the store, verified.
//!
//! Turns plan nodes into [`FetchRequest`]s (one per artifact with a URL and
//! a hash), records the plan's sources as live for `gc`, and hands the rest
//! to `lock2build-fetch`; what every URL lost for good is recovered from
//! Software Heritage (`lock2build-archive`), and the trees of the archives
//! fetched are recorded in `lock2build.trees.json` so that a recovered tree
//! can be verified later. Git sources are checked out by commit
//! (`lock2build-git`). For `app`, the local Python archives a lock names by
//! path are copied into the store, verified the same way
//! ([`store_local_files`]).

use anyhow::{anyhow, Result};
use lock2build_archive::{fetch_or_recover, record_trees, Recovered, TreeFile};
use lock2build_fetch::{FetchOptions, FetchReport, FetchRequest, FetchedVia, ProgressMode};
use lock2build_git::{checkout, find_checkout, Checkout, GitOptions, GitSpec};
use lock2build_model::ArtifactKind;
use lock2build_model::Hash;
use lock2build_plan::plan::Plan;
use lock2build_store::{LiveSet, Store};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::path::PathBuf;

/// A node that has nothing to download, and why.
#[derive(Debug, Clone, Serialize)]
pub struct NotFetched {
    /// Node id.
    pub id: String,
    /// Why it is not fetched.
    pub reason: String,
}

/// The requests for a plan, and the nodes that have nothing to fetch.
pub fn requests(plan: &Plan) -> Result<(Vec<FetchRequest>, Vec<NotFetched>)> {
    let mut requests = Vec::new();
    let mut skipped = Vec::new();
    let mut no_url = Vec::new();
    for node in &plan.packages {
        let label = format!("{} {} {}", node.ecosystem, node.name, node.version);
        let Some(artifact) = &node.artifact else {
            skipped.push(NotFetched {
                id: node.id.clone(),
                reason: "local or bundled: nothing to download".into(),
            });
            continue;
        };
        match artifact.kind {
            ArtifactKind::Git => {
                skipped.push(NotFetched {
                    id: node.id.clone(),
                    reason: format!(
                        "git source {} at {}: checked out by commit (git_checkouts)",
                        artifact.url.as_deref().unwrap_or("?"),
                        artifact.commit.as_deref().unwrap_or("?")
                    ),
                });
                continue;
            }
            ArtifactKind::Directory => {
                skipped.push(NotFetched {
                    id: node.id.clone(),
                    reason: "local directory".into(),
                });
                continue;
            }
            _ => {}
        }
        let Some(url) = &artifact.url else {
            if matches!(node.source, lock2build_model::Source::File { .. }) {
                skipped.push(NotFetched {
                    id: node.id.clone(),
                    reason: "local file".into(),
                });
            } else {
                no_url.push(label);
            }
            continue;
        };
        if artifact.hashes.is_empty() {
            return Err(anyhow!(
                "{label}: the lockfile pins no hash for {url}; lock2build only fetches what a hash pins\n  help: re-lock with hashes (e.g. `pip-compile --generate-hashes`)"
            ));
        }
        requests.push(FetchRequest {
            label,
            urls: vec![url.clone()],
            hashes: artifact.hashes.clone(),
            size: artifact.size,
            notation: lock2build_model::HashNotation::of(node.ecosystem),
        });
    }
    if !no_url.is_empty() {
        return Err(anyhow!(
            "no download URL is known for: {}\n  help: crates from alternative (sparse) registries need their registry's `dl` template, which lock2build does not read yet; add a mirror rule or vendor them",
            no_url.join(", ")
        ));
    }
    Ok((requests, skipped))
}

/// Puts the local Python archives the plan names by path (`Source::File`:
/// uv's `path = "dist/x.whl"`, pylock's `archive = { path = … }`) into
/// `store`, read from beside their lockfile in `project_dir` and verified
/// against the lock's hashes, so the Python builder finds them as it finds
/// downloads. Returns how many were stored now. (npm's `file:` tarballs
/// are read in place by its builder; `fetch` leaves local files alone.)
pub fn store_local_files(plan: &Plan, project_dir: &Path, store: &Store) -> Result<usize> {
    let mut stored = 0;
    for node in &plan.packages {
        let (lock2build_model::Source::File { path }, Some(artifact)) =
            (&node.source, &node.artifact)
        else {
            continue;
        };
        if node.ecosystem != lock2build_model::Ecosystem::Pypi
            || artifact.url.is_some()
            || artifact.hashes.is_empty()
            || store.source(&artifact.hashes).is_some()
        {
            continue;
        }
        let lockfile = &plan.projects[node.project].lockfile;
        let file = project_dir
            .join(lockfile.parent().unwrap_or(Path::new("")))
            .join(path);
        let reader = std::fs::File::open(&file).map_err(|e| {
            anyhow!(
                "{}: {} {} is the local file {}, which cannot be read: {e}\n  help: the lock names it relative to its own directory; restore the file or re-lock",
                lockfile.display(),
                node.name,
                node.version,
                file.display()
            )
        })?;
        store.insert_source(reader, &artifact.hashes).map_err(|e| {
            anyhow!(
                "{}: the local file {} of {} {}: {e}\n  help: the file changed since it was locked; re-lock",
                lockfile.display(),
                file.display(),
                node.name,
                node.version
            )
        })?;
        stored += 1;
    }
    Ok(stored)
}

/// The git sources of a plan, as [`GitSpec`]s by node id: every node whose
/// artifact is a git checkout. Submodules are checked out, as cargo, uv and
/// npm do for git dependencies.
pub fn git_specs(plan: &Plan) -> Result<Vec<(String, GitSpec)>> {
    let mut specs = Vec::new();
    for node in &plan.packages {
        let Some(artifact) = node
            .artifact
            .as_ref()
            .filter(|a| a.kind == ArtifactKind::Git)
        else {
            continue;
        };
        let label = format!("{} {} {}", node.ecosystem, node.name, node.version);
        let (Some(url), Some(commit)) = (&artifact.url, &artifact.commit) else {
            return Err(anyhow!(
                "{label}: the lock names a git source without a URL and a commit\n  help: relock so that the lock records the resolved commit"
            ));
        };
        let reference = match &node.source {
            lock2build_model::Source::Git { reference, .. } => reference.clone(),
            _ => None,
        };
        specs.push((
            node.id.clone(),
            GitSpec {
                label,
                url: url.clone(),
                commit: commit.clone(),
                reference,
                submodules: true,
            },
        ));
    }
    Ok(specs)
}

/// The git settings of a fetch: offline, mirrors and the archive as
/// `fetch` says; `progress` as the caller shows it.
pub fn git_options(fetch: &FetchOptions, progress: bool) -> GitOptions {
    GitOptions {
        offline: fetch.offline,
        progress,
        mirrors: fetch.mirrors.clone(),
        archive: fetch.archive.clone(),
    }
}

/// Every git source of `plan` checked out into the store (by its locked
/// commit, verified), by node id. Offline and already stored: no network.
pub fn git_checkouts(
    plan: &Plan,
    store: &Store,
    options: &FetchOptions,
) -> Result<BTreeMap<String, Checkout>> {
    let git_options = git_options(options, !matches!(options.progress, ProgressMode::Quiet));
    let mut done: BTreeMap<String, Checkout> = BTreeMap::new();
    for (id, spec) in git_specs(plan)? {
        done.insert(id, checkout_or_recover(store, &spec, &git_options)?);
    }
    Ok(done)
}

/// The checkout of a git source (lock2build-git); a commit its host no
/// longer serves (unreachable, or the commit gone) comes from the
/// archive's revision (`git_options.archive`), verified by lock2build-git
/// as any checkout; else the original error, with what the archive said.
/// Every builder checks git sources out through this.
pub fn checkout_or_recover(
    store: &Store,
    spec: &GitSpec,
    git_options: &GitOptions,
) -> Result<Checkout> {
    use lock2build_git::GitError;
    let error = match checkout(store, spec, git_options) {
        Ok(found) => return Ok(found),
        Err(e) => e,
    };
    let gone = matches!(
        error,
        GitError::Unreachable { .. } | GitError::CommitMissing { .. }
    );
    if !gone || !git_options.archive.enabled || git_options.offline {
        return Err(error.into());
    }
    let swh = lock2build_archive::Swh::new(&git_options.archive)?;
    match lock2build_archive::recover_git(&swh, store, spec, git_options) {
        Ok(found) => {
            if git_options.progress {
                eprintln!(
                    "{}: recovered commit {} from Software Heritage (verified)",
                    spec.label, spec.commit
                );
            }
            Ok(found)
        }
        Err(archive) => Err(anyhow!("{error}\n  Software Heritage: {archive}")),
    }
}

/// Fills the `tree` and `nar_sha256` of every git artifact whose checkout
/// the store already has (no network, no git process; a store that cannot
/// be opened leaves them unset).
pub fn annotate_git_trees(plan: &mut Plan) {
    let Ok(store) = Store::default_root().and_then(Store::open) else {
        return;
    };
    for node in &mut plan.packages {
        let Some(artifact) = node
            .artifact
            .as_mut()
            .filter(|a| a.kind == ArtifactKind::Git)
        else {
            continue;
        };
        let Some(commit) = &artifact.commit else {
            continue;
        };
        if let Some(found) = find_checkout(&store, commit, true) {
            artifact.tree = Some(found.tree);
            artifact.nar_sha256 = Some(found.nar_sha256);
        }
    }
}
/// The format version of `lock2build fetch --json` (docs/store.md).
pub const FETCH_REPORT_VERSION: u32 = 1;

/// What every builder fetches with: [`fetch_or_recover`] (the archive
/// for what every URL lost for good), then the trees of the archives
/// stored recorded in the project's `lock2build.trees.json`. Artifacts
/// that came back as trees are in `recovered`; unpack them with
/// [`lock2build_archive::unpack_artifact`].
pub fn fetch_sources(
    store: &Store,
    requests: &[FetchRequest],
    options: &FetchOptions,
    project_dir: &Path,
) -> Result<(FetchReport, Vec<Recovered>)> {
    let trees = TreeFile::load(project_dir)?;
    let (report, recovered) =
        fetch_or_recover(store, requests, options, &trees).map_err(|e| anyhow!("{e}"))?;
    record_trees(project_dir, store, &stored_archives(requests, &report))?;
    Ok((report, recovered))
}

/// What `lock2build fetch` did.
#[derive(Debug, Serialize)]
pub struct FetchSummary {
    /// The document's format version ([`FETCH_REPORT_VERSION`]).
    pub version: u32,
    /// Distinct files of the plan that are now in the store (packages that
    /// share a file, as npm's do at several locations, count it once).
    pub artifacts: usize,
    /// How many files were downloaded now.
    pub downloaded: usize,
    /// How many files were already there.
    pub cached: usize,
    /// Bytes downloaded.
    pub bytes_downloaded: u64,
    /// Nodes with nothing to fetch.
    pub not_fetched: Vec<NotFetched>,
    /// Store paths, by label.
    pub items: Vec<FetchedEntry>,
    /// Git sources checked out in the store.
    pub git: Vec<GitEntry>,
    /// Artifacts every URL lost, recovered from Software Heritage.
    pub recovered: Vec<Recovered>,
    /// Trees newly recorded in lock2build.trees.json.
    pub trees_recorded: usize,
}

/// One git source in the store.
#[derive(Debug, Serialize)]
pub struct GitEntry {
    /// Node id.
    pub id: String,
    /// The checkout (commit, git tree id = `swh:1:dir`, NAR sha256, path).
    #[serde(flatten)]
    pub checkout: Checkout,
}

/// One artifact in the store.
#[derive(Debug, Serialize)]
pub struct FetchedEntry {
    /// `ecosystem name version`.
    pub label: String,
    /// Its store path.
    pub path: String,
    /// Downloaded now (true) or already stored.
    pub downloaded: bool,
}

/// Fetches every artifact of `plan` into `store`.
pub fn fetch_plan(
    plan: &Plan,
    project_dir: &Path,
    store: &Store,
    options: &FetchOptions,
) -> Result<FetchSummary> {
    let (requests, not_fetched) = requests(plan)?;
    let live = LiveSet {
        sources: requests
            .iter()
            .filter_map(|r| lock2build_model::Hash::strongest(&r.hashes).map(|h| h.to_sri()))
            .collect(),
        outputs: Vec::new(),
    };
    let name = std::path::absolute(project_dir).unwrap_or_else(|_| project_dir.to_path_buf());
    store.record_plan(&name.display().to_string(), &live)?;
    let recorded_before = TreeFile::load(project_dir)?.len();
    let (report, recovered) = fetch_sources(store, &requests, options, project_dir)?;
    let trees_recorded = TreeFile::load(project_dir)?.len() - recorded_before;
    let git: Vec<GitEntry> = git_checkouts(plan, store, options)?
        .into_iter()
        .map(|(id, checkout)| GitEntry { id, checkout })
        .collect();
    let items: Vec<FetchedEntry> = report
        .items
        .iter()
        .map(|i| FetchedEntry {
            label: i.label.clone(),
            path: i.path.display().to_string(),
            downloaded: matches!(i.via, FetchedVia::Downloaded { .. }),
        })
        .collect();
    let files = report.files().count();
    Ok(FetchSummary {
        version: FETCH_REPORT_VERSION,
        artifacts: files + git.len(),
        downloaded: report.downloaded() + git.iter().filter(|g| g.checkout.fetched).count(),
        cached: files - report.downloaded() + git.iter().filter(|g| !g.checkout.fetched).count(),
        bytes_downloaded: report.bytes_downloaded(),
        not_fetched,
        items,
        git,
        recovered,
        trees_recorded,
    })
}

/// `(file name, locked hashes, stored path)` of every stored file of the
/// report, for recording their trees.
fn stored_archives(
    requests: &[FetchRequest],
    report: &FetchReport,
) -> Vec<(String, Vec<Hash>, PathBuf)> {
    report
        .items
        .iter()
        .filter_map(|item| {
            let request = requests.iter().find(|r| item.label.starts_with(&r.label))?;
            let url = request.urls.first()?;
            let name = url.split(['?', '#']).next()?.rsplit('/').next()?.to_owned();
            Some((name, request.hashes.clone(), item.path.clone()))
        })
        .collect()
}
