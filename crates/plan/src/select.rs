//! Selection: which packages of a [`Graph`] apply to a [`Target`], and
//! which artifact of each is used.
//!
//! The walk starts at the graph's roots and follows edges that apply:
//! - run-time edges always; dev edges only for the dependency groups asked
//!   for (`--group`, `--all-groups`, `--dev`); optional edges when one of
//!   their extras is active (Python) — npm installs optional dependencies
//!   whenever their platform fits;
//! - a PEP 508 marker on an edge is evaluated for the target, with the
//!   extras active on the dependent;
//! - npm `os`/`cpu`/`libc` restrictions and poetry's per-package markers
//!   must fit the target;
//! - npm: an optional peer edge (`peerDependenciesMeta`) is never followed,
//!   and a package the lock flags `dev` is left out unless dev dependencies
//!   are asked for, whatever edge reaches it (`npm ci --omit=dev`).
//!
//! A package that no applying edge reaches is left out, with the reason of
//! the edge that would have reached it (marker false, other platform, dev,
//! extra not requested) or "not reached".
//!
//! The artifact of a Python package is the best-ranked compatible wheel by
//! the target's tag order (PEP 425/600/656); the sdist only when no wheel
//! fits or `--no-binary` names the package.

use crate::target::{Target, WheelTag};
use lock2build_model::{
    normalize_python_name, Artifact, ArtifactKind, DepKind, Ecosystem, Graph, Package,
    PackageIndex, Platform,
};
use pep508_rs::{ExtraName, MarkerEnvironment, MarkerTree};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::str::FromStr;

/// What the user asked to include beyond the run-time dependencies.
#[derive(Debug, Clone, Default)]
pub struct SelectOptions {
    /// Dependency groups to include (`dev`, `test`, …).
    pub groups: Vec<String>,
    /// Include every dependency group (and npm devDependencies).
    pub all_groups: bool,
    /// Extras of the project to turn on.
    pub extras: Vec<String>,
    /// Turn on every extra of the project.
    pub all_extras: bool,
    /// Packages to build from source (`:all:` for every one).
    pub no_binary: Vec<String>,
}

impl SelectOptions {
    fn wants_group(&self, groups: &[String]) -> bool {
        self.all_groups
            || groups.is_empty() && self.groups.iter().any(|g| g == "dev")
            || groups
                .iter()
                .any(|g| self.groups.iter().any(|w| w.eq_ignore_ascii_case(g)))
    }

    fn no_binary_for(&self, name: &str) -> bool {
        self.no_binary
            .iter()
            .any(|n| n == ":all:" || normalize_python_name(n) == normalize_python_name(name))
    }
}

/// Why a package is not in the plan.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "reason", content = "detail", rename_all = "kebab-case")]
pub enum Exclusion {
    /// A PEP 508 marker is false for the target.
    MarkerFalse(String),
    /// npm `os`/`cpu`/`libc` does not fit the target.
    OtherPlatform(String),
    /// Only needed for development (a group not asked for).
    Dev(String),
    /// Only needed for an extra that is not turned on.
    ExtraNotRequested(String),
    /// Nothing that applies depends on it.
    NotReached,
}

impl Exclusion {
    /// A short label for summaries.
    pub fn label(&self) -> &'static str {
        match self {
            Exclusion::MarkerFalse(_) => "marker false",
            Exclusion::OtherPlatform(_) => "other platform",
            Exclusion::Dev(_) => "dev",
            Exclusion::ExtraNotRequested(_) => "extra not requested",
            Exclusion::NotReached => "not reached",
        }
    }

    fn priority(&self) -> u8 {
        // When several edges were refused, report the most telling reason.
        match self {
            Exclusion::OtherPlatform(_) => 0,
            Exclusion::MarkerFalse(_) => 1,
            Exclusion::Dev(_) => 2,
            Exclusion::ExtraNotRequested(_) => 3,
            Exclusion::NotReached => 4,
        }
    }
}

/// The packages of one graph that apply, with the extras active on each.
#[derive(Debug, Clone)]
pub struct Walk {
    /// Included packages and the extras active on them.
    pub included: BTreeMap<PackageIndex, BTreeSet<String>>,
    /// Left-out packages and why.
    pub excluded: BTreeMap<PackageIndex, Exclusion>,
    /// Edges that apply: (from, dependency index in `from`'s list).
    pub edges: BTreeMap<PackageIndex, Vec<PackageIndex>>,
}

/// Markers parsed once per string.
struct MarkerCache {
    env: MarkerEnvironment,
    parsed: HashMap<String, Result<MarkerTree, String>>,
}

impl MarkerCache {
    fn evaluate(&mut self, marker: &str, extras: &BTreeSet<String>) -> Result<bool, String> {
        let tree = self
            .parsed
            .entry(marker.to_owned())
            .or_insert_with(|| {
                lock2build_model::markers::check_marker_depth(marker)?;
                MarkerTree::from_str(marker).map_err(|e| e.to_string())
            })
            .clone()?;
        let extras: Vec<ExtraName> = extras
            .iter()
            .filter_map(|e| ExtraName::new(e.clone()).ok())
            .collect();
        Ok(tree.evaluate(&self.env, &extras))
    }
}

/// Walks `graph` from its roots for `target`.
pub fn walk(graph: &Graph, target: &Target, options: &SelectOptions) -> anyhow::Result<Walk> {
    let mut markers = MarkerCache {
        env: target.marker_environment()?,
        parsed: HashMap::new(),
    };
    let mut included: BTreeMap<PackageIndex, BTreeSet<String>> = BTreeMap::new();
    let mut refused: BTreeMap<PackageIndex, Exclusion> = BTreeMap::new();
    let mut edges: BTreeMap<PackageIndex, Vec<PackageIndex>> = BTreeMap::new();
    let mut queue: VecDeque<PackageIndex> = VecDeque::new();
    let python = graph.ecosystem == Ecosystem::Pypi;
    let npm = graph.ecosystem == Ecosystem::Npm;

    let root_extras: BTreeSet<String> = options
        .extras
        .iter()
        .map(|e| normalize_python_name(e))
        .collect();
    for &root in &graph.roots {
        let mut extras = root_extras.clone();
        if options.all_extras {
            for dep in &graph.package(root).dependencies {
                if dep.kind == DepKind::Optional {
                    extras.extend(dep.groups.iter().map(|g| normalize_python_name(g)));
                }
            }
        }
        included.insert(root, extras);
        queue.push_back(root);
    }

    while let Some(from) = queue.pop_front() {
        let active = included.get(&from).cloned().unwrap_or_default();
        let is_root = graph.roots.contains(&from);
        let package = graph.package(from);
        let mut applying = Vec::new();
        for dep in &package.dependencies {
            let to = dep.target;
            let Some(target_pkg) = graph.packages.get(to.0) else {
                continue;
            };
            if npm && dep.kind == DepKind::Peer && dep.groups.iter().any(|g| g == "optional") {
                // npm installs an optional peer for no one.
                continue;
            }
            let refusal = match dep.kind {
                DepKind::Dev if !(is_root && options.wants_group(&dep.groups)) => {
                    Some(Exclusion::Dev(dep.groups.join(",")))
                }
                // What the lock flags `dev` is left out as `npm ci
                // --omit=dev` does, also when a peer edge reaches it.
                _ if npm && target_pkg.flags.dev && !options.wants_group(&[]) => {
                    Some(Exclusion::Dev(String::new()))
                }
                DepKind::Optional if python => {
                    let on = dep
                        .groups
                        .iter()
                        .any(|g| active.contains(&normalize_python_name(g)));
                    (!on).then(|| Exclusion::ExtraNotRequested(dep.groups.join(",")))
                }
                _ => None,
            };
            let refusal = refusal.or_else(|| {
                let marker = dep.marker.as_deref()?;
                match markers.evaluate(marker, &active) {
                    Ok(true) => None,
                    Ok(false) => Some(Exclusion::MarkerFalse(marker.to_owned())),
                    // An unparsable marker never silently drops a package.
                    Err(_) => None,
                }
            });
            let refusal = refusal
                .or_else(|| platform_refusal(target_pkg, target))
                .or_else(|| {
                    let marker = target_pkg.marker.as_deref()?;
                    let all_extras: BTreeSet<String> = included
                        .values()
                        .flatten()
                        .cloned()
                        .chain(active.iter().cloned())
                        .collect();
                    match markers.evaluate(marker, &all_extras) {
                        Ok(false) => Some(Exclusion::MarkerFalse(marker.to_owned())),
                        _ => None,
                    }
                });
            if let Some(reason) = refusal {
                let slot = refused.entry(to).or_insert_with(|| reason.clone());
                if reason.priority() < slot.priority() {
                    *slot = reason;
                }
                continue;
            }
            applying.push(to);
            let wanted: BTreeSet<String> = dep
                .extras
                .iter()
                .map(|e| normalize_python_name(e))
                .collect();
            match included.get_mut(&to) {
                None => {
                    included.insert(to, wanted);
                    queue.push_back(to);
                }
                Some(have) => {
                    if !wanted.is_subset(have) {
                        have.extend(wanted);
                        queue.push_back(to);
                    }
                }
            }
        }
        applying.sort();
        applying.dedup();
        edges.insert(from, applying);
    }

    let excluded = (0..graph.packages.len())
        .map(PackageIndex)
        .filter(|i| !included.contains_key(i))
        .map(|i| (i, refused.remove(&i).unwrap_or(Exclusion::NotReached)))
        .collect();
    Ok(Walk {
        included,
        excluded,
        edges,
    })
}

/// npm's rule: a list of names, `!name` excludes; a package fits when no
/// negation matches and, if there are positive names, one matches.
fn npm_list_fits(list: &[String], value: Option<&str>) -> bool {
    if list.is_empty() {
        return true;
    }
    let value = value.unwrap_or("");
    let mut positives = 0;
    for entry in list {
        if let Some(negated) = entry.strip_prefix('!') {
            if negated == value {
                return false;
            }
        } else {
            positives += 1;
            if entry == value {
                return true;
            }
        }
    }
    positives == 0
}

fn platform_refusal(package: &Package, target: &Target) -> Option<Exclusion> {
    npm_platform_refusal(&package.platform, target)
}

/// Why an npm package with these `os`/`cpu`/`libc` lists does not fit
/// `target`, or `None` when it does. (lockfileVersion 1 locks do not record
/// the lists: the Node builder reads them from the package's own
/// package.json, as npm 6 did.)
pub fn npm_platform_refusal(p: &Platform, target: &Target) -> Option<Exclusion> {
    if p.is_empty() {
        return None;
    }
    let fits = npm_list_fits(&p.os, Some(target.npm_os()))
        && npm_list_fits(&p.cpu, Some(target.npm_cpu()))
        && (p.libc.is_empty() || npm_list_fits(&p.libc, target.npm_libc()));
    (!fits).then(|| {
        let mut parts = Vec::new();
        if !p.os.is_empty() {
            parts.push(format!("os {}", p.os.join("|")));
        }
        if !p.cpu.is_empty() {
            parts.push(format!("cpu {}", p.cpu.join("|")));
        }
        if !p.libc.is_empty() {
            parts.push(format!("libc {}", p.libc.join("|")));
        }
        Exclusion::OtherPlatform(parts.join(", "))
    })
}

/// A wheel file name, split (`{name}-{ver}(-{build})?-{py}-{abi}-{plat}.whl`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelName {
    /// Distribution name (normalised).
    pub name: String,
    /// Version.
    pub version: String,
    /// Every tag the compressed tag set stands for.
    pub tags: Vec<WheelTag>,
}

impl WheelName {
    /// Parses a wheel file name; `None` when it is not one.
    pub fn parse(filename: &str) -> Option<WheelName> {
        let stem = filename.strip_suffix(".whl")?;
        let parts: Vec<&str> = stem.split('-').collect();
        if parts.len() != 5 && parts.len() != 6 {
            return None;
        }
        let n = parts.len();
        let (py, abi, plat) = (parts[n - 3], parts[n - 2], parts[n - 1]);
        let mut tags = Vec::new();
        for p in py.split('.') {
            for a in abi.split('.') {
                for pl in plat.split('.') {
                    tags.push(WheelTag {
                        python: p.to_owned(),
                        abi: a.to_owned(),
                        platform: pl.to_owned(),
                    });
                }
            }
        }
        Some(WheelName {
            name: normalize_python_name(parts[0]),
            version: parts[1].to_owned(),
            tags,
        })
    }
}

/// Ranks tags: lower is better.
pub struct TagRanking {
    rank: HashMap<String, usize>,
    describe: String,
}

impl TagRanking {
    /// The ranking of `target`.
    pub fn new(target: &Target) -> Self {
        let tags = target.wheel_tags();
        let rank = tags
            .iter()
            .enumerate()
            .map(|(i, t)| (t.to_string(), i))
            .collect();
        TagRanking {
            rank,
            describe: target.describe(),
        }
    }

    /// A ranking under which no wheel fits, for plans without Python
    /// packages (nothing asks it for a rank).
    pub fn empty(target: &Target) -> Self {
        TagRanking {
            rank: HashMap::new(),
            describe: target.describe(),
        }
    }

    /// The rank of a wheel (its best tag), `None` when it does not fit.
    pub fn rank(&self, wheel: &WheelName) -> Option<usize> {
        wheel
            .tags
            .iter()
            .filter_map(|t| self.rank.get(&t.to_string()).copied())
            .min()
    }
}

/// Why no artifact could be chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoArtifact {
    /// What went wrong, naming the package.
    pub message: String,
    /// What to do about it.
    pub help: String,
}

/// Picks the artifact of an included package; `Ok(None)` when there is
/// nothing to fetch (a local directory, a bundled npm package).
pub fn choose_artifact<'g>(
    package: &'g Package,
    ecosystem: Ecosystem,
    ranking: &TagRanking,
    options: &SelectOptions,
) -> Result<Option<&'g Artifact>, NoArtifact> {
    if package.flags.in_bundle || package.artifacts.is_empty() {
        return Ok(None);
    }
    if ecosystem != Ecosystem::Pypi {
        return Ok(package.artifacts.first());
    }
    let mut best_wheel: Option<(usize, &Artifact)> = None;
    let mut sdist = None;
    let mut other = None;
    for artifact in &package.artifacts {
        match artifact.kind {
            ArtifactKind::Wheel => {
                let Some(wheel) = artifact.filename.as_deref().and_then(WheelName::parse) else {
                    continue;
                };
                if let Some(rank) = ranking.rank(&wheel) {
                    if best_wheel.is_none_or(|(r, _)| rank < r) {
                        best_wheel = Some((rank, artifact));
                    }
                }
            }
            ArtifactKind::Sdist => sdist = sdist.or(Some(artifact)),
            _ => other = other.or(Some(artifact)),
        }
    }
    let wants_source = options.no_binary_for(&package.name);
    let chosen = if wants_source {
        sdist.or(other).or(best_wheel.map(|(_, a)| a))
    } else {
        best_wheel.map(|(_, a)| a).or(sdist).or(other)
    };
    match chosen {
        Some(a) => Ok(Some(a)),
        None => {
            let wheels: Vec<String> = package
                .artifacts
                .iter()
                .filter_map(|a| a.filename.as_deref())
                .take(4)
                .map(str::to_owned)
                .collect();
            Err(NoArtifact {
                message: format!(
                    "no artifact of {} {} fits {}: it has no sdist, and no wheel with a compatible tag (wheels: {}{})",
                    package.name,
                    package.version,
                    ranking.describe,
                    wheels.join(", "),
                    if package.artifacts.len() > 4 { ", …" } else { "" }
                ),
                help: "choose another target with --python-version/--os/--arch/--libc, or re-lock so that a compatible release is chosen".into(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::{Libc, Os, PythonTarget};

    fn host() -> Target {
        Target {
            os: Os::Linux,
            arch: "x86_64".into(),
            libc: Libc::Glibc { version: (2, 36) },
            python: PythonTarget {
                interpreter: None,
                version: "3.11.7".into(),
                implementation: "cpython".into(),
                free_threaded: false,
            },
            os_release: String::new(),
        }
    }

    fn wheel(name: &str) -> Artifact {
        Artifact {
            kind: ArtifactKind::python_from_filename(name),
            filename: Some(name.into()),
            url: None,
            hashes: vec![],
            size: None,
        }
    }

    #[test]
    fn wheel_names() {
        let w = WheelName::parse("Pillow-10.4.0-cp311-cp311-manylinux_2_28_x86_64.whl").unwrap();
        assert_eq!(w.name, "pillow");
        assert_eq!(w.tags.len(), 1);
        let w = WheelName::parse("six-1.16.0-py2.py3-none-any.whl").unwrap();
        assert_eq!(w.tags.len(), 2);
        let w = WheelName::parse(
            "numpy-1.26.4-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        )
        .unwrap();
        assert_eq!(w.tags.len(), 2);
        assert!(WheelName::parse("numpy-1.26.4.tar.gz").is_none());
        assert!(WheelName::parse("bad.whl").is_none());
    }

    #[test]
    fn picks_best_wheel_then_sdist() {
        let ranking = TagRanking::new(&host());
        let mut p = Package::new(
            "pillow",
            "10.4.0",
            lock2build_model::Source::Registry { url: "u".into() },
        );
        p.artifacts = vec![
            wheel("pillow-10.4.0.tar.gz"),
            wheel("pillow-10.4.0-cp311-cp311-musllinux_1_2_x86_64.whl"),
            wheel("pillow-10.4.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"),
            wheel("pillow-10.4.0-cp311-cp311-manylinux_2_28_x86_64.whl"),
            wheel("pillow-10.4.0-cp311-cp311-manylinux_2_39_x86_64.whl"),
            wheel("pillow-10.4.0-cp312-cp312-manylinux_2_28_x86_64.whl"),
            wheel("pillow-10.4.0-cp311-cp311-win_amd64.whl"),
        ];
        let opts = SelectOptions::default();
        let a = choose_artifact(&p, Ecosystem::Pypi, &ranking, &opts)
            .unwrap()
            .unwrap();
        assert_eq!(
            a.filename.as_deref(),
            Some("pillow-10.4.0-cp311-cp311-manylinux_2_28_x86_64.whl")
        );
        let opts = SelectOptions {
            no_binary: vec!["Pillow".into()],
            ..Default::default()
        };
        let a = choose_artifact(&p, Ecosystem::Pypi, &ranking, &opts)
            .unwrap()
            .unwrap();
        assert_eq!(a.kind, ArtifactKind::Sdist);
        p.artifacts.remove(0);
        p.artifacts.retain(|a| {
            !a.filename.as_deref().unwrap().contains("x86_64")
                || a.filename.as_deref().unwrap().contains("2_39")
        });
        let err =
            choose_artifact(&p, Ecosystem::Pypi, &ranking, &SelectOptions::default()).unwrap_err();
        assert!(err.message.contains("pillow 10.4.0"), "{}", err.message);
    }

    #[test]
    fn abi3_beats_pure_python() {
        let ranking = TagRanking::new(&host());
        let mut p = Package::new(
            "cryptography",
            "43.0.0",
            lock2build_model::Source::Registry { url: "u".into() },
        );
        p.artifacts = vec![
            wheel("cryptography-43.0.0-py3-none-any.whl"),
            wheel("cryptography-43.0.0-cp39-abi3-manylinux_2_28_x86_64.whl"),
            wheel("cryptography-43.0.0-cp37-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"),
        ];
        let a = choose_artifact(&p, Ecosystem::Pypi, &ranking, &SelectOptions::default())
            .unwrap()
            .unwrap();
        assert_eq!(
            a.filename.as_deref(),
            Some("cryptography-43.0.0-cp39-abi3-manylinux_2_28_x86_64.whl")
        );
    }

    #[test]
    fn npm_platform_lists() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(npm_list_fits(&v(&["linux"]), Some("linux")));
        assert!(!npm_list_fits(&v(&["darwin"]), Some("linux")));
        assert!(npm_list_fits(&v(&["!win32"]), Some("linux")));
        assert!(!npm_list_fits(&v(&["!linux"]), Some("linux")));
        assert!(!npm_list_fits(&v(&["musl"]), Some("glibc")));
    }
}
