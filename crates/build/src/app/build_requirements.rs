//! Which pinned wheels each Python source build is built with: the
//! community pins (`overrides/pypi/build-systems/requirements.txt`) when
//! they satisfy its build requirements, else its entry of the project's
//! build lock (`lock2build.build.lock`, `lock2build_plan::build_lock`),
//! resolved from the project's index when it has none (never under
//! `--locked`).

use anyhow::{anyhow, bail, Result};
use lock2build_plan::build_lock::{self, BuildLock, ResolveRequest, BUILD_LOCK_FILE};
use lock2build_plan::plan::{Node, Plan, PlanOptions};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The index asked when a package names none.
const DEFAULT_INDEX: &str = "https://pypi.org/simple/";

/// The pins source builds can use, and the build lock being kept.
pub(super) struct BuildRequirements {
    /// The community pins, then the build lock's pins in use (nodes).
    pub pins: Plan,
    community: PathBuf,
    lock: BuildLock,
    lock_path: PathBuf,
    changed: bool,
    locked: bool,
    /// Under `--locked`: the source builds the lock lacks.
    refused: Vec<String>,
    /// The project's index (its first registry source).
    index: String,
}

/// One source build's requirements.
#[derive(Debug, Clone)]
pub(super) struct SourceBuild {
    /// The package built.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its index, if it comes from one.
    pub index: Option<String>,
    /// What is built ([`build_lock::BuildLockEntry::source`]).
    pub source: String,
    /// `[build-system] requires`, the override's `build-requires` and
    /// what its backend asked for at build time.
    pub requires: Vec<String>,
}

impl SourceBuild {
    /// The source build of `node` with `requires`.
    pub fn new(node: &Node, requires: Vec<String>) -> SourceBuild {
        let source = match (&node.artifact, &node.source) {
            (
                _,
                lock2build_model::Source::Git {
                    url,
                    commit,
                    subdirectory,
                    ..
                },
            ) => match subdirectory {
                Some(sub) => format!("git+{url}@{commit}#subdirectory={sub}"),
                None => format!("git+{url}@{commit}"),
            },
            (Some(a), _) => a.integrity.clone().unwrap_or_default(),
            (None, lock2build_model::Source::Directory { path, .. }) => {
                format!("directory:{path}")
            }
            (None, _) => String::new(),
        };
        let index = match &node.source {
            lock2build_model::Source::Registry { url } => Some(url.clone()),
            _ => None,
        };
        SourceBuild {
            name: node.name.clone(),
            version: node.version.clone(),
            index,
            source,
            requires,
        }
    }

    fn label(&self) -> String {
        format!("{} {}", self.name, self.version)
    }
}

/// Source builds whose backends asked at build time for requirements
/// their build environments lack (each with what it asked for, which its
/// [`SourceBuild::requires`] includes): the build is to be planned again
/// with them resolved. The second field: what that pass built (labels).
#[derive(Debug)]
pub(super) struct AskedAtBuildTime(pub Vec<(SourceBuild, Vec<String>)>, pub Vec<String>);

impl std::fmt::Display for AskedAtBuildTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self.0.iter().map(|(b, _)| b.label()).collect();
        write!(
            f,
            "build backends asked for more at build time: {}",
            names.join(", ")
        )
    }
}

impl std::error::Error for AskedAtBuildTime {}

impl BuildRequirements {
    /// The community pins `community` (planned from the file at
    /// `community_path`) and the build lock in `lock_dir`.
    pub fn new(
        community: Plan,
        community_path: PathBuf,
        lock_dir: &Path,
        project: &[&Node],
        locked: bool,
    ) -> Result<Self> {
        let lock_path = lock_dir.join(BUILD_LOCK_FILE);
        let index = project
            .iter()
            .find_map(|n| match &n.source {
                lock2build_model::Source::Registry { url } => Some(url.clone()),
                _ => None,
            })
            .unwrap_or_else(|| DEFAULT_INDEX.into());
        Ok(BuildRequirements {
            pins: community,
            community: community_path,
            lock: BuildLock::read(&lock_path)?,
            lock_path,
            changed: false,
            locked,
            refused: Vec::new(),
            index,
        })
    }

    /// The pins (node ids of [`Self::pins`]) `build` is built with, with
    /// their dependencies.
    pub fn closure(
        &mut self,
        build: &SourceBuild,
        options: &PlanOptions,
    ) -> Result<BTreeSet<String>> {
        self.pins_for(build, options, false)
    }

    /// Resolves `build`'s requirements into the build lock even where the
    /// community pins would satisfy them (what a backend asked for at
    /// build time that they have, resolved with what they lack).
    pub fn record(&mut self, build: &SourceBuild, options: &PlanOptions) -> Result<()> {
        self.pins_for(build, options, true).map(|_| ())
    }

    fn pins_for(
        &mut self,
        build: &SourceBuild,
        options: &PlanOptions,
        lock_it: bool,
    ) -> Result<BTreeSet<String>> {
        let requires = with_backend_needs(&build.requires);
        let recorded = lock_it
            || self
                .lock
                .find(&build.name, &build.version, &build.source, &requires)
                .is_some();
        let community: Vec<Node> = self
            .pins
            .packages
            .iter()
            .filter(|n| !n.root && !n.id.contains(":build-lock-"))
            .cloned()
            .collect();
        if !recorded && build_lock::unsatisfied(&community, &requires, &options.target)?.is_empty()
        {
            return Ok(community_closure(&self.pins, &requires));
        }
        let entry = match self
            .lock
            .find(&build.name, &build.version, &build.source, &requires)
        {
            Some(entry) => entry.clone(),
            None if self.locked => {
                self.refused
                    .push(format!("  {}: {}", build.label(), requires.join(", ")));
                return Ok(BTreeSet::new());
            }
            None => {
                let index = build.index.clone().unwrap_or_else(|| self.index.clone());
                let entry = build_lock::resolve(
                    &ResolveRequest {
                        name: &build.name,
                        version: &build.version,
                        source: &build.source,
                        requires: &requires,
                        index: &index,
                        preferences: Some(&self.community),
                    },
                    &options.target,
                    &options.index,
                )?;
                self.lock.insert(entry.clone());
                self.changed = true;
                entry
            }
        };
        let mut closure = BTreeSet::new();
        for pin in entry.pins(&options.target, &self.lock_path)? {
            closure.insert(pin.id.clone());
            if !self.pins.packages.iter().any(|n| n.id == pin.id) {
                self.pins.packages.push(pin);
            }
        }
        Ok(closure)
    }

    /// Writes the build lock if it changed; under `--locked`, the error
    /// naming every source build it lacks. Returns the notes to show.
    pub fn finish(&self) -> Result<Vec<String>> {
        if !self.refused.is_empty() {
            bail!(
                "{} lacks the build requirements of these source builds, and --locked forbids changing it:\n{}\n  help: run `lock2build app` (or `lock2build graph`) without --locked and commit {BUILD_LOCK_FILE}",
                self.lock_path.display(),
                self.refused.join("\n")
            );
        }
        if !self.changed {
            return Ok(Vec::new());
        }
        self.lock
            .write(&self.lock_path)
            .map_err(|e| anyhow!("{e:#}"))?;
        Ok(vec![format!(
            "resolved build requirements the community pins lack into {}: commit it",
            self.lock_path.display()
        )])
    }
}

/// `requires` with what backends ask for at build time (setuptools →
/// wheel, meson-python → ninja, scikit-build-core → cmake, ninja) and
/// `packaging` (the front end's), sorted, without duplicates.
fn with_backend_needs(requires: &[String]) -> Vec<String> {
    let names: BTreeSet<String> = requires
        .iter()
        .map(|r| normalize(requirement_name(r.trim())))
        .collect();
    let mut all: Vec<String> = requires.iter().map(|r| r.trim().to_owned()).collect();
    let mut add = |name: &str| {
        if !names.contains(name) && !all.iter().any(|r| r == name) {
            all.push(name.to_owned());
        }
    };
    add("packaging");
    for (backend, extra) in [
        ("setuptools", &["wheel"][..]),
        ("meson-python", &["ninja"]),
        ("scikit-build-core", &["cmake", "ninja"]),
    ] {
        if names.contains(backend) {
            extra.iter().for_each(|e| add(e));
        }
    }
    all.sort();
    all.dedup();
    all
}

/// The community pins (node ids of `bs`) `requires` name, with their
/// dependencies. Requirements under a false marker name pins that are
/// then not installed; the front end evaluates markers again.
fn community_closure(bs: &Plan, requires: &[String]) -> BTreeSet<String> {
    let by_name: BTreeMap<String, &Node> = bs
        .packages
        .iter()
        .filter(|n| !n.root && !n.id.contains(":build-lock-"))
        .map(|n| (normalize(&n.name), n))
        .collect();
    let mut closure = BTreeSet::new();
    let mut stack: Vec<&Node> = requires
        .iter()
        .filter_map(|r| by_name.get(&normalize(requirement_name(r.trim()))).copied())
        .collect();
    while let Some(node) = stack.pop() {
        if closure.insert(node.id.clone()) {
            stack.extend(
                bs.packages
                    .iter()
                    .filter(|n| node.dependencies.contains(&n.id)),
            );
        }
    }
    closure
}

pub(super) fn requirement_name(req: &str) -> &str {
    let end = req
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(req.len());
    &req[..end]
}

fn normalize(name: &str) -> String {
    lock2build_model::normalize_python_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_needs_are_added_once() {
        let got = with_backend_needs(&["setuptools>=61".into(), "wheel".into()]);
        assert_eq!(got, ["packaging", "setuptools>=61", "wheel"]);
        let got = with_backend_needs(&["scikit-build-core>=0.10".into()]);
        assert_eq!(
            got,
            ["cmake", "ninja", "packaging", "scikit-build-core>=0.10"]
        );
        let got = with_backend_needs(&["uv_build>=0.9.17,<0.13".into()]);
        assert_eq!(got, ["packaging", "uv_build>=0.9.17,<0.13"]);
    }
}
