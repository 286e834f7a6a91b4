//! `lock2build sources`: every source a set of projects needs, for archivists
//! (a Software Heritage `sources.json`, a plain URL list) and for security
//! teams (CycloneDX 1.6 and SPDX 2.3 SBOMs). See `docs/sources.md`.
//!
//! [`collect`] finds the lockfiles (one project, several, or a whole tree),
//! imports each, finds the URLs poetry.lock and requirements.txt leave out,
//! and makes each lockfile's plan; a lockfile that fails is reported in
//! [`SourcesReport::skipped`] and the others go on. [`render`] writes one of
//! the [`Format`]s:
//!
//! - `swh` and `urls` list **every locked artifact** of every package (all
//!   wheels of a release, packages for other platforms, dev groups), plus the
//!   pinned build-system files of `overrides/pypi/build-systems/`: what a
//!   build on *any* target could fetch;
//! - `cyclonedx` and `spdx` describe the **plans**: the packages that apply
//!   on the target, with the chosen artifact's hashes and URL, and the
//!   dependency graph.

#![forbid(unsafe_code)]

mod batch;
pub mod cyclonedx;
pub mod purl;
pub mod spdx;
pub mod swh;
pub mod walk;

use anyhow::{bail, Result};
use lock2build_model::{Ecosystem, Graph};
use lock2build_plan::discover::{self, FoundLock, LockKind};
use lock2build_plan::plan::{plan_lockfiles, Node, Plan, PlanOptions};
use lock2build_plan::pyindex::IndexClient;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The exit code the CLI uses when some lockfile was skipped.
pub const EXIT_SKIPPED: i32 = 3;

/// One lockfile's sources.
#[derive(Debug, Clone)]
pub struct ProjectSources {
    /// The lockfile on disk.
    pub lockfile: PathBuf,
    /// The lockfile as shown to the user (relative to the directory given).
    pub display: PathBuf,
    /// Every locked package; Python artifacts have their index URLs.
    pub graph: Graph,
    /// The plan of this lockfile for the target; `None` when collected for
    /// a format that does not need it ([`Format::needs_plans`]).
    pub plan: Option<Plan>,
}

/// What [`collect`] found.
#[derive(Debug, Clone, Default)]
pub struct SourcesReport {
    /// One entry per lockfile that imported and planned.
    pub projects: Vec<ProjectSources>,
    /// The pinned Python build systems (`overrides/pypi/build-systems/requirements.txt`),
    /// when some project is a Python one and the file was found.
    pub build_systems: Option<Graph>,
    /// Lockfiles (or directories) that could not be read, and why.
    pub skipped: Vec<(PathBuf, String)>,
    /// Tree hashes recorded beside the lockfiles (`lock2build.trees.json`).
    pub trees: std::collections::BTreeMap<String, swh::RecordedTree>,
}

impl SourcesReport {
    /// The plans, each with its lockfile.
    pub fn plans(&self) -> impl Iterator<Item = (&Path, &Plan)> {
        self.projects
            .iter()
            .filter_map(|p| Some((p.lockfile.as_path(), p.plan.as_ref()?)))
    }

    /// Every imported graph: the projects', then the build systems'.
    pub fn graphs(&self) -> impl Iterator<Item = &Graph> {
        self.projects
            .iter()
            .map(|p| &p.graph)
            .chain(self.build_systems.iter())
    }

    /// 0 when everything was read, [`EXIT_SKIPPED`] when something was skipped.
    pub fn exit_code(&self) -> i32 {
        if self.skipped.is_empty() {
            0
        } else {
            EXIT_SKIPPED
        }
    }

    /// Every package of every plan, once (the first plan's copy of a node id
    /// wins), in plan order.
    pub fn plan_nodes(&self) -> Vec<&Node> {
        let mut seen = std::collections::BTreeSet::new();
        self.projects
            .iter()
            .flat_map(|p| p.plan.iter().flat_map(|plan| plan.packages.iter()))
            .filter(|n| seen.insert(n.id.as_str()))
            .collect()
    }

    /// A short human summary (for stderr): what was read, what was skipped.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let packages: usize = self.projects.iter().map(|p| p.graph.packages.len()).sum();
        out.push_str(&format!(
            "{} lockfiles read, {} locked packages\n",
            self.projects.len(),
            packages
        ));
        if let Some(bs) = &self.build_systems {
            out.push_str(&format!(
                "build systems: {} pinned packages from {}\n",
                bs.packages.len(),
                bs.lockfile.display()
            ));
        }
        for (path, why) in &self.skipped {
            out.push_str(&format!(
                "skipped {}: {}\n",
                path.display(),
                why.replace('\n', "\n  ")
            ));
        }
        out
    }
}

/// Finds and reads the lockfiles of `dirs` (each a project: the directory
/// and one level down; with `recursive`, the whole tree under each), with
/// the community database's build-system pins, and plans each lockfile.
pub fn collect(dirs: &[PathBuf], recursive: bool, options: &PlanOptions) -> SourcesReport {
    collect_with(
        dirs,
        recursive,
        options,
        default_build_systems().as_deref(),
        true,
    )
}

/// [`collect`] doing only what `format` needs: `swh` and `urls` need no
/// plans, which halves the work.
pub fn collect_for(
    format: Format,
    dirs: &[PathBuf],
    recursive: bool,
    options: &PlanOptions,
) -> SourcesReport {
    collect_with(
        dirs,
        recursive,
        options,
        default_build_systems().as_deref(),
        format.needs_plans(),
    )
}

/// `overrides/pypi/build-systems/requirements.txt` of the community
/// database, when it exists.
pub fn default_build_systems() -> Option<PathBuf> {
    lock2build_overrides::build_systems_requirements()
}

/// [`collect`], with the build-system requirements file given (or none),
/// and plans made only when `with_plans`. Lockfiles are read in parallel.
pub fn collect_with(
    dirs: &[PathBuf],
    recursive: bool,
    options: &PlanOptions,
    build_systems: Option<&Path>,
    with_plans: bool,
) -> SourcesReport {
    let mut report = SourcesReport::default();
    let locks = find_locks(dirs, recursive, &mut report);
    let client = match IndexClient::new(options.index.clone()) {
        Ok(client) => client,
        Err(e) => {
            report
                .skipped
                .extend(locks.iter().map(|l| (l.path.clone(), format!("{e:#}"))));
            return report;
        }
    };
    let ready = import_and_resolve(&locks, build_systems, &client, &mut report);
    let plans = par_map(&ready, |(lock, _)| {
        with_plans.then(|| plan_lockfiles(std::slice::from_ref(*lock), options).map(|o| o.plan))
    });
    for ((lock, graph), plan) in ready.into_iter().zip(plans) {
        let plan = match plan {
            None => None,
            Some(Ok(plan)) => Some(plan),
            Some(Err(e)) => {
                report
                    .skipped
                    .push((lock.display.clone(), format!("{e:#}")));
                continue;
            }
        };
        report.projects.push(ProjectSources {
            lockfile: lock.path.clone(),
            display: lock.display.clone(),
            graph,
            plan,
        });
    }
    report
}

/// The lockfiles of `dirs` (below them when `recursive`), once each; the
/// directories without any, and what could not be read, go to `report`.
fn find_locks(dirs: &[PathBuf], recursive: bool, report: &mut SourcesReport) -> Vec<FoundLock> {
    let mut locks: Vec<FoundLock> = Vec::new();
    let shown = |dir: &Path, mut l: FoundLock| {
        if dirs.len() > 1 {
            l.display = dir.join(&l.display);
        }
        l
    };
    for dir in dirs {
        report.trees.extend(swh::recorded_trees(dir));
        if !dir.is_dir() {
            report
                .skipped
                .push((dir.clone(), "no such directory".into()));
            continue;
        }
        if recursive {
            let (found, unreadable) = walk::find_recursive(dir);
            if found.is_empty() && unreadable.is_empty() {
                report
                    .skipped
                    .push((dir.clone(), "no lockfile found anywhere under it".into()));
            }
            report.skipped.extend(unreadable);
            locks.extend(found.into_iter().map(|l| shown(dir, l)));
        } else {
            match walk::find_in_project(dir) {
                Ok(found) => locks.extend(found.into_iter().map(|l| shown(dir, l))),
                Err(e) => report.skipped.push((dir.clone(), e)),
            }
        }
    }
    locks.dedup_by(|a, b| a.path == b.path);
    locks
}

/// Every lockfile imported (in parallel), then the Python URLs of all of
/// them and of the build-system requirements found at once. What failed
/// goes to `report`; the build systems' graph too.
fn import_and_resolve<'a>(
    locks: &'a [FoundLock],
    build_systems: Option<&Path>,
    client: &IndexClient,
    report: &mut SourcesReport,
) -> Vec<(&'a FoundLock, Graph)> {
    let imported = par_map(locks, |lock| {
        discover::import(lock).map_err(|e| anyhow::anyhow!("{e}"))
    });
    let mut build_graph = None;
    let any_python = imported
        .iter()
        .any(|g| matches!(g, Ok(g) if g.ecosystem == Ecosystem::Pypi));
    if let (true, Some(file)) = (any_python, build_systems) {
        let lock = FoundLock {
            kind: LockKind::Requirements,
            path: file.to_path_buf(),
            display: file.to_path_buf(),
        };
        match discover::import(&lock) {
            Ok(graph) => build_graph = Some(graph),
            Err(e) => report.skipped.push((file.to_path_buf(), e.to_string())),
        }
    }
    let mut graphs: Vec<(usize, Graph)> = Vec::new();
    for (i, result) in imported.into_iter().enumerate() {
        match result {
            Ok(graph) => graphs.push((i, graph)),
            Err(e) => {
                if let Some(lock) = locks.get(i) {
                    report
                        .skipped
                        .push((lock.display.clone(), format!("{e:#}")));
                }
            }
        }
    }
    let resolved = {
        let mut refs: Vec<&mut Graph> = graphs
            .iter_mut()
            .map(|(_, g)| g)
            .chain(build_graph.as_mut())
            .collect();
        batch::resolve_python_urls(&mut refs, client)
    };
    let mut resolved = resolved.into_iter();
    let mut ready = Vec::new();
    for (i, graph) in graphs {
        match (resolved.next().unwrap_or(Ok(())), locks.get(i)) {
            (Ok(()), Some(lock)) => ready.push((lock, graph)),
            (Err(e), Some(lock)) => report
                .skipped
                .push((lock.display.clone(), format!("{e:#}"))),
            (_, None) => {}
        }
    }
    if let Some(graph) = build_graph {
        match resolved.next().unwrap_or(Ok(())) {
            Ok(()) => report.build_systems = Some(graph),
            Err(e) => report
                .skipped
                .push((graph.lockfile.clone(), format!("{e:#}"))),
        }
    }
    ready
}

/// `f` over `items` on a few threads; results in the order of `items`.
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    let jobs = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8)
        .min(items.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let result = f(item);
                if let Some(slot) = slots.lock().unwrap_or_else(|e| e.into_inner()).get_mut(i) {
                    *slot = Some(result);
                }
            });
        }
    });
    let slots = slots.into_inner().unwrap_or_else(|e| e.into_inner());
    // Every slot is filled: each index is taken by exactly one worker.
    slots.into_iter().flatten().collect()
}

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Software Heritage `sources.json` (nixguix lister format).
    Swh,
    /// CycloneDX 1.6 JSON.
    Cyclonedx,
    /// SPDX 2.3 JSON.
    Spdx,
    /// One URL per line.
    Urls,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 4] = [Format::Swh, Format::Cyclonedx, Format::Spdx, Format::Urls];

    /// The name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Swh => "swh",
            Format::Cyclonedx => "cyclonedx",
            Format::Spdx => "spdx",
            Format::Urls => "urls",
        }
    }

    /// True for the SBOMs, which describe the plans.
    pub fn needs_plans(self) -> bool {
        matches!(self, Format::Cyclonedx | Format::Spdx)
    }

    /// The conventional file name for this format.
    pub fn default_file_name(self) -> &'static str {
        match self {
            Format::Swh => "sources.json",
            Format::Cyclonedx => "bom.cdx.json",
            Format::Spdx => "sbom.spdx.json",
            Format::Urls => "sources.txt",
        }
    }
}

impl FromStr for Format {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        match Format::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s))
        {
            Some(f) => Ok(f),
            None => bail!("unknown format `{s}`: expected swh, cyclonedx, spdx or urls"),
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Writes the report in `format`. `revision` is the VCS commit the sources
/// were listed at (see [`vcs_revision`]); `swh` records it.
pub fn render(report: &SourcesReport, format: Format, revision: Option<String>) -> Result<String> {
    match format {
        Format::Swh => swh::render_json(&swh::entries(report), revision),
        Format::Urls => Ok(swh::render_urls(&swh::entries(report))),
        Format::Cyclonedx | Format::Spdx if report.projects.iter().any(|p| p.plan.is_none()) => {
            bail!("the report was collected without plans; use collect() or collect_for({format})")
        }
        Format::Cyclonedx => cyclonedx::render(report),
        Format::Spdx => spdx::render(report, &spdx::created_now()),
    }
}

/// The commit checked out in the git work tree holding `dir`, if any.
pub fn vcs_revision(dir: &Path) -> Option<String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--verify", "-q", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let rev = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && rev.len() >= 40 && rev.bytes().all(|b| b.is_ascii_hexdigit()))
        .then_some(rev)
}

/// The commit shared by every directory of `dirs`: `Some` only when each is
/// in a git work tree and all are at the same commit.
pub fn common_revision(dirs: &[PathBuf]) -> Option<String> {
    let mut revs = dirs.iter().map(|d| vcs_revision(d));
    let first = revs.next()??;
    revs.all(|r| r.as_deref() == Some(first.as_str()))
        .then_some(first)
}
