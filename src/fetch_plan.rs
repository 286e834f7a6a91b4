//! `lock2build fetch`: every artifact of a plan into the store, verified.
//!
//! Turns plan nodes into [`FetchRequest`]s (one per artifact with a URL and
//! a hash), records the plan's sources as live for `gc`, and hands the rest
//! to `lock2build-fetch`. Local archives the lock names by path are copied
//! into the store, verified the same way ([`store_local_files`]).

use anyhow::{anyhow, Result};
use lock2build_fetch::{fetch_all, FetchOptions, FetchReport, FetchRequest, FetchedVia};
use lock2build_model::ArtifactKind;
use lock2build_plan::plan::Plan;
use lock2build_store::{LiveSet, Store};
use serde::Serialize;
use std::path::Path;

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
                        "git source {} at {}: git checkouts are not fetched into the store yet",
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

/// Puts the local archives the plan names by path (`Source::File`: uv's
/// `path = "dist/x.whl"`, pylock's `archive = { path = … }`) into `store`,
/// read from beside their lockfile in `project_dir` and verified against
/// the lock's hashes, so builders find them as they find downloads.
/// Returns how many were stored now.
pub fn store_local_files(plan: &Plan, project_dir: &Path, store: &Store) -> Result<usize> {
    let mut stored = 0;
    for node in &plan.packages {
        let (lock2build_model::Source::File { path }, Some(artifact)) =
            (&node.source, &node.artifact)
        else {
            continue;
        };
        // Unhashed (an npm `file:` tarball without integrity): left to the
        // builder, which reads it in place.
        if artifact.url.is_some()
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

/// What `lock2build fetch` did.
#[derive(Debug, Serialize)]
pub struct FetchSummary {
    /// Artifacts in the plan that are now in the store.
    pub artifacts: usize,
    /// How many were downloaded now.
    pub downloaded: usize,
    /// How many were already there.
    pub cached: usize,
    /// Bytes downloaded.
    pub bytes_downloaded: u64,
    /// Nodes with nothing to fetch.
    pub not_fetched: Vec<NotFetched>,
    /// Store paths, by label.
    pub items: Vec<FetchedEntry>,
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
    store_local_files(plan, project_dir, store)?;
    let live = LiveSet {
        sources: requests
            .iter()
            .filter_map(|r| lock2build_model::Hash::strongest(&r.hashes).map(|h| h.to_sri()))
            .collect(),
        outputs: Vec::new(),
    };
    let name = std::path::absolute(project_dir).unwrap_or_else(|_| project_dir.to_path_buf());
    store.record_plan(&name.display().to_string(), &live)?;
    let report: FetchReport = fetch_all(store, &requests, options).map_err(|e| anyhow!("{e}"))?;
    let items: Vec<FetchedEntry> = report
        .items
        .iter()
        .map(|i| FetchedEntry {
            label: i.label.clone(),
            path: i.path.display().to_string(),
            downloaded: matches!(i.via, FetchedVia::Downloaded { .. }),
        })
        .collect();
    Ok(FetchSummary {
        artifacts: items.len(),
        downloaded: report.downloaded(),
        cached: items.iter().filter(|i| !i.downloaded).count(),
        bytes_downloaded: report.bytes_downloaded(),
        not_fetched,
        items,
    })
}
