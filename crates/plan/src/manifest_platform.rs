//! Platform packages of lockfileVersion 1 package-locks, which only their
//! own package.json names.
//!
//! A v2/v3 lock records each package's `os`, `cpu` and `libc`, and
//! [`select`](crate::select) leaves out what does not fit the target. A v1
//! lock (npm 5 and 6) does not: npm 6 read the lists from the package.json
//! in the package's tarball when it installed it, and skipped an optional
//! package that did not fit (`fsevents` under chokidar 2 on Linux). The
//! plan does what npm does, without downloading anything itself:
//!
//! - [`platform_unknown`]: the optional packages of a v1 lock without
//!   platform lists are planned, and listed in the project's
//!   `platform_unknown` ("platform unknown until fetched");
//! - [`resolve_manifest_platforms`]: once their tarballs are known (in the
//!   store, after `lock2build fetch` or `app`), each package.json is read
//!   and those that do not fit move to `excluded` (`other-platform`, "from
//!   its package.json"), with what only they reached (`not-reached`).

use crate::plan::{Excluded, Node, Plan};
use crate::select::{npm_platform_refusal, Exclusion};
use lock2build_model::{Ecosystem, Platform};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// A planned package whose platform only its package.json says.
#[derive(Debug, Clone, Serialize)]
pub struct PlatformUnknown {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Its node id.
    pub id: String,
}

/// The packages of `nodes` (one project's, of lock format `format`) whose
/// platform is unknown until their tarball is read: the optional ones of a
/// v1 package-lock that record no `os`/`cpu`/`libc`.
pub fn platform_unknown(format: &str, nodes: &[&Node]) -> Vec<PlatformUnknown> {
    if !format.ends_with(" v1") {
        return Vec::new();
    }
    let mut unknown: Vec<PlatformUnknown> = nodes
        .iter()
        .filter(|n| {
            n.ecosystem == Ecosystem::Npm
                && n.flags.optional
                && n.platform.is_empty()
                && n.artifact.is_some()
        })
        .map(|n| PlatformUnknown {
            name: n.name.clone(),
            version: n.version.clone(),
            id: n.id.clone(),
        })
        .collect();
    unknown.sort_by(|a, b| (&a.name, &a.version, &a.id).cmp(&(&b.name, &b.version, &b.id)));
    unknown
}

/// Reads the platform of each `platform_unknown` package that `manifest`
/// knows (`None`: its tarball is not at hand) and leaves out, as the
/// selection would have, those that do not fit the plan's target and what
/// only they reached. Returns how many were left out.
pub fn resolve_manifest_platforms(
    plan: &mut Plan,
    manifest: impl Fn(&Node) -> Option<Platform>,
) -> usize {
    let mut left_out = 0;
    for project in 0..plan.projects.len() {
        let mut refused: BTreeMap<String, String> = BTreeMap::new();
        let mut known: BTreeSet<String> = BTreeSet::new();
        for unknown in &plan.projects[project].platform_unknown {
            let Some(node) = plan.packages.iter().find(|n| n.id == unknown.id) else {
                continue;
            };
            let Some(platform) = manifest(node) else {
                continue;
            };
            known.insert(unknown.id.clone());
            if let Some(why) = npm_platform_refusal(&platform, &plan.target) {
                let detail = match why {
                    Exclusion::OtherPlatform(d) => d,
                    other => other.label().to_owned(),
                };
                refused.insert(
                    unknown.id.clone(),
                    format!("{detail}, from its package.json"),
                );
            }
        }
        plan.projects[project]
            .platform_unknown
            .retain(|u| !known.contains(&u.id));
        if !refused.is_empty() {
            left_out += leave_out(plan, project, &refused);
        }
    }
    left_out
}

/// Removes `refused` (id → detail) from the project's packages, with what
/// no root reaches without them; records both in its `excluded`.
fn leave_out(plan: &mut Plan, project: usize, refused: &BTreeMap<String, String>) -> usize {
    let by_id: BTreeMap<&str, &Node> = plan
        .packages
        .iter()
        .filter(|n| n.project == project)
        .map(|n| (n.id.as_str(), n))
        .collect();
    let mut reached: BTreeSet<String> = BTreeSet::new();
    let mut queue: Vec<&Node> = by_id.values().copied().filter(|n| n.root).collect();
    while let Some(node) = queue.pop() {
        if refused.contains_key(&node.id) || !reached.insert(node.id.clone()) {
            continue;
        }
        queue.extend(
            node.dependencies
                .iter()
                .filter_map(|d| by_id.get(d.as_str())),
        );
    }
    let gone: Vec<Excluded> = by_id
        .values()
        .filter(|n| !reached.contains(&n.id))
        .map(|n| Excluded {
            name: n.name.clone(),
            version: n.version.clone(),
            why: match refused.get(&n.id) {
                Some(detail) => Exclusion::OtherPlatform(detail.clone()),
                None => Exclusion::NotReached,
            },
        })
        .collect();
    let count = gone.len();
    plan.packages
        .retain(|n| n.project != project || reached.contains(&n.id));
    for n in plan.packages.iter_mut().filter(|n| n.project == project) {
        n.dependencies.retain(|d| reached.contains(d));
    }
    let p = &mut plan.projects[project];
    p.platform_unknown.retain(|u| reached.contains(&u.id));
    p.selected = p.selected.saturating_sub(count);
    p.excluded.extend(gone);
    p.excluded
        .sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    count
}
