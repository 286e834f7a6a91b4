//! Platform packages of lockfileVersion 1 locks.
//!
//! A v2/v3 lock records each package's `os`, `cpu` and `libc`, and the plan
//! leaves out what does not fit the target. A v1 lock (npm 5 and 6) does
//! not: npm 6 read the lists from the package's own package.json when it
//! installed it, and skipped an optional package that did not fit
//! (`fsevents` under chokidar 2 on Linux). The builder does the same: the
//! tarballs of the optional packages without platform lists are fetched
//! (verified as any other), their `package/package.json` read, and those
//! that do not fit are left out, with what is nested in them and what only
//! they reached.

use super::Package;
use anyhow::{anyhow, Context, Result};
use lock2build_fetch::{fetch_all, FetchOptions, FetchRequest};
use lock2build_model::Platform;
use lock2build_plan::plan::{Node, Plan};
use lock2build_plan::select::npm_platform_refusal;
use lock2build_store::{ArchiveFormat, Store};
use std::collections::{BTreeMap, BTreeSet};

/// What [`other_platforms`] found.
pub(in crate::app) struct Skipped {
    /// Location → why it does not fit (`os darwin`).
    pub locations: BTreeMap<String, String>,
    /// The tarballs read to find out (live for `gc`, like the plan's).
    pub requests: Vec<FetchRequest>,
}

/// The optional packages of a v1 lock whose own package.json names other
/// platforms: those the plan lists as `platform_unknown`
/// (`lock2build_plan::manifest_platform`), fetched and read. Nothing is
/// fetched for other lock versions.
pub(in crate::app) fn other_platforms(
    store: &Store,
    fetch: &FetchOptions,
    plan: &Plan,
    nodes: &[&Node],
    packages: &[Package],
) -> Result<Skipped> {
    let mut skipped = Skipped {
        locations: BTreeMap::new(),
        requests: Vec::new(),
    };
    let unknown: BTreeSet<&str> = plan
        .projects
        .iter()
        .flat_map(|p| p.platform_unknown.iter().map(|u| u.id.as_str()))
        .collect();
    if unknown.is_empty() {
        return Ok(skipped);
    }
    let unknown_locations: BTreeSet<&str> = nodes
        .iter()
        .filter(|n| unknown.contains(n.id.as_str()))
        .filter_map(|n| n.location.as_deref())
        .collect();
    let candidates: Vec<&Package> = packages
        .iter()
        .filter(|p| unknown_locations.contains(p.location.as_str()))
        .collect();
    if candidates.is_empty() {
        return Ok(skipped);
    }
    let wanted: BTreeSet<String> = candidates
        .iter()
        .flat_map(|p| p.hashes.iter().map(|h| h.to_sri()))
        .collect();
    let (mut requests, _) = crate::fetch_plan::requests(plan)?;
    requests.retain(|r| r.hashes.iter().any(|h| wanted.contains(&h.to_sri())));
    fetch_all(store, &requests, fetch).map_err(|e| anyhow!("{e}"))?;
    skipped.requests = requests;
    for p in candidates {
        let platform = manifest_platform(store, &p.hashes, &p.label())?;
        if let Some(reason) = npm_platform_refusal(&platform, &plan.target) {
            let detail = match reason {
                lock2build_plan::select::Exclusion::OtherPlatform(d) => d,
                other => other.label().to_owned(),
            };
            skipped.locations.insert(p.location.clone(), detail);
        }
    }
    Ok(skipped)
}

/// The plan's packages whose platform only their package.json says, left
/// out where it does not fit, for those whose tarball is in the store
/// already (nothing is fetched): what `lock2build plan` shows after a fetch.
pub(crate) fn known_platforms(store: &Store, plan: &mut Plan) -> usize {
    lock2build_plan::manifest_platform::resolve_manifest_platforms(plan, |node| {
        let hashes = &node.artifact.as_ref()?.hashes;
        store.source(hashes)?;
        manifest_platform(store, hashes, &format!("{} {}", node.name, node.version)).ok()
    })
}

/// `os`, `cpu` and `libc` of the package.json in a package's tarball
/// (`hashes`; `label` names it in errors).
fn manifest_platform(
    store: &Store,
    hashes: &[lock2build_model::Hash],
    label: &str,
) -> Result<Platform> {
    let file = store
        .source(hashes)
        .ok_or_else(|| anyhow!("internal: the tarball of {label} is not in the store"))?;
    let work = tempfile::Builder::new()
        .prefix("lock2build-npm-manifest-")
        .tempdir()?;
    lock2build_store::unpack(&file, ArchiveFormat::TarGz, work.path())
        .with_context(|| format!("unpacking the tarball of {label}"))?;
    let top = lock2build_store::single_top_dir(work.path())
        .ok_or_else(|| anyhow!("the tarball of {label} does not hold one top directory"))?;
    let text = lock2build_store::read_untrusted_string(
        &top.join("package.json"),
        lock2build_store::RECORD_LIMIT,
    )
    .with_context(|| format!("reading the package.json of {label}"))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| anyhow!("the package.json of {label}: {e}"))?;
    let list = |key: &str| -> Vec<String> {
        match &json[key] {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(items) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    };
    Ok(Platform {
        os: list("os"),
        cpu: list("cpu"),
        libc: list("libc"),
    })
}

/// `packages` without the `skipped` locations, what is nested in them, and
/// what only they reach (walking the plan's edges from the project).
pub(in crate::app) fn prune(
    nodes: &[&Node],
    packages: Vec<Package>,
    skipped: &BTreeMap<String, String>,
) -> Vec<Package> {
    if skipped.is_empty() {
        return packages;
    }
    let gone = |location: &str| {
        skipped
            .keys()
            .any(|s| location == s || location.starts_with(&format!("{s}/node_modules/")))
    };
    let by_id: BTreeMap<&str, &Node> = nodes.iter().map(|n| (n.id.as_str(), *n)).collect();
    let mut reached: BTreeSet<&str> = BTreeSet::new();
    let mut queue: Vec<&Node> = nodes.iter().copied().filter(|n| n.root).collect();
    while let Some(node) = queue.pop() {
        if !reached.insert(node.id.as_str()) {
            continue;
        }
        for dep in &node.dependencies {
            match by_id.get(dep.as_str()) {
                Some(next) if !next.location.as_deref().is_some_and(gone) => queue.push(next),
                _ => {}
            }
        }
    }
    let kept: BTreeSet<&str> = reached
        .iter()
        .filter_map(|id| by_id[id].location.as_deref())
        .collect();
    packages
        .into_iter()
        .filter(|p| kept.contains(p.location.as_str()))
        .collect()
}
