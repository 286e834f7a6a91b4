//! Garbage collection: removes what nothing live refers to.
//!
//! Live are: outputs that a registered `result` link (in `gcroots/`) points
//! to; sources listed by a plan recorded less than
//! [`GcOptions::plan_max_age`] ago (in `plans/`); and, transitively, the
//! outputs a live output refers to (`meta/<id>.json`). Everything else in
//! `sources/`, `outputs/`, `meta/`, `logs/`, `partial/`, `tmp/` and `failed/`
//! (failed builds kept by `--keep-failed`) goes. gc holds the
//! store lock exclusively, so it waits for other processes using the store.
//!
//! A record gc cannot read never means "refers to nothing": a live
//! output whose `meta/<id>.json` is missing or damaged, a recent plan
//! record that does not parse, or a gc root that is not a symlink keeps
//! every output (and, for a plan, every source), with a warning in
//! [`GcReport::warnings`] naming the record.

use crate::error::{io_err, StoreError};
use crate::identity::NodeId;
use crate::store::{disk_size, remove_any, write_atomic, Store};
use lock2build_model::Hash;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::fs::{self, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// What a plan needs from the store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveSet {
    /// Sources, by any hash the lockfile pinned (SRI strings, `sha256-…`).
    pub sources: Vec<String>,
    /// Outputs.
    pub outputs: Vec<NodeId>,
}

impl LiveSet {
    /// Adds a source by its hashes.
    pub fn add_source(&mut self, hashes: &[Hash]) {
        if let Some(h) = Hash::strongest(hashes) {
            self.sources.push(h.to_sri());
        }
    }
}

/// How gc decides what is recent.
#[derive(Debug, Clone)]
pub struct GcOptions {
    /// Plans recorded longer ago than this no longer keep anything alive
    /// (and are removed).
    pub plan_max_age: Duration,
}

impl Default for GcOptions {
    /// 30 days.
    fn default() -> Self {
        GcOptions {
            plan_max_age: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// What kind of thing gc removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RemovedKind {
    /// A source file.
    Source,
    /// A build output.
    Output,
    /// An interrupted download.
    Partial,
    /// Leftover temporary work.
    Temporary,
    /// A plan record older than the limit.
    Plan,
    /// A gc root whose `result` link is gone.
    DanglingRoot,
    /// A failed build's directory kept by `--keep-failed`.
    FailedBuild,
}

/// One removed entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemovedEntry {
    /// What it was.
    pub kind: RemovedKind,
    /// Its path (now gone).
    pub path: PathBuf,
    /// Bytes it took.
    pub bytes: u64,
}

/// What gc did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GcReport {
    /// Everything removed.
    pub removed: Vec<RemovedEntry>,
    /// Sum of `removed[].bytes`.
    pub bytes_freed: u64,
    /// Outputs kept.
    pub kept_outputs: usize,
    /// Sources kept.
    pub kept_sources: usize,
    /// Records that could not be read, and what was kept because of them.
    pub warnings: Vec<String>,
}

/// What is live: outputs by name, sources by file, or everything of a kind
/// when a record could not be read.
#[derive(Default)]
struct Live {
    outputs: BTreeSet<String>,
    sources: BTreeSet<PathBuf>,
    all_outputs: bool,
    all_sources: bool,
}

impl Store {
    /// Registers a `result` link (a symlink into `outputs/`, made by the
    /// caller) as a gc root: while the link exists and points into the
    /// store, gc keeps what it points to. Returns the root's path.
    pub fn add_root(&self, result_link: &Path) -> Result<PathBuf, StoreError> {
        let absolute = std::path::absolute(result_link).map_err(io_err("resolve", result_link))?;
        let name = hex::encode(
            Sha256::digest(absolute.as_os_str().as_encoded_bytes())
                .get(..16)
                .unwrap_or_default(),
        );
        let root = self.dir("gcroots").join(name);
        let _ = fs::remove_file(&root);
        std::os::unix::fs::symlink(&absolute, &root).map_err(io_err("create symlink", &root))?;
        Ok(root)
    }

    /// Records what a plan needs, under `name` (a later record with the same
    /// name replaces it). gc keeps it alive for [`GcOptions::plan_max_age`].
    pub fn record_plan(&self, name: &str, live: &LiveSet) -> Result<PathBuf, StoreError> {
        let file = hex::encode(
            Sha256::digest(name.as_bytes())
                .get(..16)
                .unwrap_or_default(),
        );
        let path = self.dir("plans").join(format!("{file}.json"));
        let bytes =
            serde_json::to_vec_pretty(live).map_err(|e| StoreError::Identity(e.to_string()))?;
        write_atomic(&path, &bytes)?;
        Ok(path)
    }

    /// Removes everything not live (see the module docs). Waits for the
    /// other processes using the store; `on_wait` is called once if it has
    /// to. Must not run while this process uses the store from another
    /// thread or another `Store` value.
    pub fn gc(&self, options: &GcOptions, on_wait: impl FnOnce()) -> Result<GcReport, StoreError> {
        let guard_path = self.dir("locks").join("store.lock");
        match self.guard.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                on_wait();
                self.guard.lock().map_err(io_err("lock", &guard_path))?;
            }
            Err(TryLockError::Error(e)) => return Err(io_err("lock", &guard_path)(e)),
        }
        let result = self.gc_locked(options);
        self.guard
            .lock_shared()
            .map_err(io_err("lock", &guard_path))?;
        result
    }

    fn gc_locked(&self, options: &GcOptions) -> Result<GcReport, StoreError> {
        let mut report = GcReport::default();
        let outputs_dir = self.dir("outputs");
        let mut live = Live::default();
        self.live_roots(&mut live, &mut report)?;
        self.live_plans(&mut live, &mut report, options)?;
        // Outputs referred to by live outputs.
        let mut stack: Vec<String> = live.outputs.iter().cloned().collect();
        while let Some(node) = stack.pop() {
            if !outputs_dir.join(&node).is_dir() {
                continue; // listed by a plan, not built (or gone): refers to nothing
            }
            match self.output_references(&node) {
                Ok(references) => {
                    for reference in references {
                        if live.outputs.insert(reference.to_string()) {
                            stack.push(reference.to_string());
                        }
                    }
                }
                Err(why) => {
                    report.warnings.push(format!(
                        "{why}: what the live output `{node}` uses is unknown, so every output is kept \
                         (rebuild it, or remove `outputs/{node}`, to let gc collect again)"
                    ));
                    live.all_outputs = true;
                }
            }
        }
        let live_outputs = live.outputs;
        let live_sources = live.sources;
        let (all_outputs, all_sources) = (live.all_outputs, live.all_sources);

        for output in read_dir_paths(&outputs_dir)? {
            let name = file_name(&output);
            if all_outputs || live_outputs.contains(&name) {
                report.kept_outputs += 1;
            } else {
                self.remove(&mut report, RemovedKind::Output, output)?;
                let _ = fs::remove_file(self.dir("meta").join(format!("{name}.json")));
            }
        }
        for meta in read_dir_paths(&self.dir("meta"))? {
            let name = file_name(&meta);
            let node = name.strip_suffix(".json").unwrap_or(&name);
            if !outputs_dir.join(node).is_dir() {
                remove_any(&meta)?;
            }
        }
        // Build logs go with their outputs (a failed build's log too).
        if let Ok(logs) = read_dir_paths(&self.logs_dir()) {
            for log in logs {
                let name = file_name(&log);
                let node = name.strip_suffix(".log").unwrap_or(&name);
                if !outputs_dir.join(node).is_dir() {
                    remove_any(&log)?;
                }
            }
        }
        let sources = read_dir_paths(&self.dir("sources"))?;
        for source in sources.iter().filter(|p| !is_symlink(p)) {
            if all_sources || live_sources.contains(source) {
                report.kept_sources += 1;
            } else {
                self.remove(&mut report, RemovedKind::Source, source.clone())?;
            }
        }
        for alias in sources.iter().filter(|p| is_symlink(p)) {
            if fs::metadata(alias).is_err() {
                remove_any(alias)?;
            }
        }
        for partial in read_dir_paths(&self.dir("partial"))? {
            self.remove(&mut report, RemovedKind::Partial, partial)?;
        }
        for tmp in read_dir_paths(&self.dir("tmp"))? {
            self.remove(&mut report, RemovedKind::Temporary, tmp)?;
        }
        if let Ok(kept) = read_dir_paths(&self.failed_dir()) {
            for dir in kept {
                self.remove(&mut report, RemovedKind::FailedBuild, dir)?;
            }
        }
        // Nobody else holds an entry lock now: their files can go.
        for lock in read_dir_paths(&self.dir("locks"))? {
            if file_name(&lock) != "store.lock" {
                remove_any(&lock)?;
            }
        }
        report.bytes_freed = report.removed.iter().map(|r| r.bytes).sum();
        Ok(report)
    }

    /// Roots: result links. A root whose link is gone or points elsewhere
    /// is removed; one that is not a symlink at all is damaged: keep all.
    fn live_roots(&self, live: &mut Live, report: &mut GcReport) -> Result<(), StoreError> {
        let outputs_dir = self.dir("outputs");
        for root in read_dir_paths(&self.dir("gcroots"))? {
            let link = match fs::read_link(&root) {
                Ok(link) => link,
                Err(e) => {
                    report.warnings.push(format!(
                        "gc root `{}` is not a readable symlink ({e}): every output is kept \
                         (remove it and run the build again to re-register its result)",
                        root.display()
                    ));
                    live.all_outputs = true;
                    continue;
                }
            };
            let target = fs::read_link(&link).ok();
            match target.as_deref().and_then(|t| output_name(&outputs_dir, t)) {
                Some(node) => {
                    live.outputs.insert(node);
                }
                None => {
                    remove_any(&root)?;
                    report.removed.push(RemovedEntry {
                        kind: RemovedKind::DanglingRoot,
                        path: root,
                        bytes: 0,
                    });
                }
            }
        }
        Ok(())
    }

    /// Recent plans. An old plan record goes; a recent one that cannot be
    /// read keeps everything (it might list anything).
    fn live_plans(
        &self,
        live: &mut Live,
        report: &mut GcReport,
        options: &GcOptions,
    ) -> Result<(), StoreError> {
        let now = SystemTime::now();
        for plan in read_dir_paths(&self.dir("plans"))? {
            let age = fs::metadata(&plan)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .unwrap_or_default();
            if age > options.plan_max_age {
                self.remove(report, RemovedKind::Plan, plan)?;
                continue;
            }
            let record = fs::read(&plan)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice::<LiveSet>(&b).map_err(|e| e.to_string()));
            let record = match record {
                Ok(record) => record,
                Err(e) => {
                    report.warnings.push(format!(
                        "plan record `{}` is damaged ({e}): every source and output is kept \
                         until it is older than the plan age limit (or removed)",
                        plan.display()
                    ));
                    live.all_outputs = true;
                    live.all_sources = true;
                    continue;
                }
            };
            // A plan keeps its sources (a rebuild downloads nothing), never
            // outputs: those live while a `result` link uses them, so a
            // deleted result frees its outputs at the next gc.
            for sri in &record.sources {
                let hash = Hash::parse_sri(sri).or_else(|_| Hash::parse_prefixed(sri));
                if let Some(file) = hash.ok().and_then(|h| self.resolve_source_name(&h)) {
                    live.sources.insert(file);
                }
            }
        }
        Ok(())
    }

    fn remove(
        &self,
        report: &mut GcReport,
        kind: RemovedKind,
        path: PathBuf,
    ) -> Result<(), StoreError> {
        let bytes = disk_size(&path);
        remove_any(&path)?;
        report.removed.push(RemovedEntry { kind, path, bytes });
        Ok(())
    }
}

/// The name in `outputs/` a result link points to, if it points there.
fn output_name(outputs_dir: &Path, target: &Path) -> Option<String> {
    let rest = target.strip_prefix(outputs_dir).ok()?;
    let first = rest.components().next()?;
    let name = first.as_os_str().to_string_lossy().into_owned();
    outputs_dir.join(&name).is_dir().then_some(name)
}

fn read_dir_paths(dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(io_err("read directory", dir))?
        .flatten()
        .map(|e| e.path())
        .collect();
    paths.sort();
    Ok(paths)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn is_symlink(path: &Path) -> bool {
    fs::symlink_metadata(path)
        .map(|m| m.file_type().is_symlink())
        .unwrap_or(false)
}
