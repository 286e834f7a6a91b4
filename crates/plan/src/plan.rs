//! The plan: the versioned JSON document every later step reads (see
//! `docs/plan.md`), and the operation that makes it from a project
//! directory: find lockfiles → import → select for the target → find
//! missing URLs → choose one artifact per package.

use crate::discover::{self, FoundLock};
use crate::pyindex::{self, IndexClient, IndexOptions, LookupStats};
use crate::select::{self, Exclusion, SelectOptions, TagRanking};
use crate::target::Target;
use anyhow::{anyhow, Result};
use lock2build_model::{
    Artifact, ArtifactKind, Diagnostic, Ecosystem, Graph, Hash, Package, PackageFlags,
    PackageIndex, Platform, Source,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The plan format version written in `"version"`.
pub const PLAN_VERSION: u32 = 1;

/// The plan document.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Format version ([`PLAN_VERSION`]).
    pub version: u32,
    /// The program that wrote it.
    pub generator: String,
    /// The machine it was made for.
    pub target: Target,
    /// One entry per lockfile.
    pub projects: Vec<Project>,
    /// Every package that applies, across all projects.
    pub packages: Vec<Node>,
    /// Lockfiles one directory down that could not be read, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkippedLock>,
}

/// A lockfile left out of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedLock {
    /// Its path relative to the project directory.
    pub lockfile: PathBuf,
    /// The import error.
    pub reason: String,
}

/// One lockfile of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct Project {
    /// Lockfile path relative to the project directory.
    pub lockfile: PathBuf,
    /// Ecosystem.
    pub ecosystem: Ecosystem,
    /// Lock format and version.
    pub format: String,
    /// Node ids of the project's roots.
    pub roots: Vec<String>,
    /// How many packages of this lockfile apply.
    pub selected: usize,
    /// Locked packages left out, and why.
    pub excluded: Vec<Excluded>,
    /// Planned packages whose platform only their own package.json says
    /// (a lockfileVersion 1 lock's optional packages): left out once it is
    /// read, see [`crate::manifest_platform`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub platform_unknown: Vec<crate::manifest_platform::PlatformUnknown>,
    /// Import warnings.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Diagnostic>,
    /// Where the lock no longer matches its manifest (see
    /// [`check_locked`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stale: Vec<Diagnostic>,
}

/// A locked package that does not apply.
#[derive(Debug, Clone, Serialize)]
pub struct Excluded {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Why.
    #[serde(flatten)]
    pub why: Exclusion,
}

/// One package of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct Node {
    /// Stable id: `<ecosystem>:<name>@<version>:<hash>`; the hash covers the
    /// source, the chosen artifact's hashes and the install location.
    pub id: String,
    /// Ecosystem.
    pub ecosystem: Ecosystem,
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Index into `projects`.
    pub project: usize,
    /// True for the project itself / a workspace member.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub root: bool,
    /// Where it comes from.
    pub source: Source,
    /// What to fetch; `null` for local directories and bundled packages.
    pub artifact: Option<PlanArtifact>,
    /// Extras active on it (Python).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extras: Vec<String>,
    /// Ids of the packages it depends on (only edges that apply).
    pub dependencies: Vec<String>,
    /// npm install location.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Lockfile flags.
    #[serde(skip_serializing_if = "PackageFlags::is_empty")]
    pub flags: PackageFlags,
    /// Platform restrictions.
    #[serde(skip_serializing_if = "Platform::is_empty")]
    pub platform: Platform,
    /// Executables.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub bin: BTreeMap<String, String>,
}

/// The chosen artifact of a node.
#[derive(Debug, Clone, Serialize)]
pub struct PlanArtifact {
    /// wheel, sdist, npm, crate, git, archive, directory.
    pub kind: ArtifactKind,
    /// Where to download it; `null` only when no URL can be known (a sparse
    /// registry's crate before its config is read).
    pub url: Option<String>,
    /// File name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// The strongest locked hash, as SRI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integrity: Option<String>,
    /// Every locked hash, as SRI.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hashes: Vec<Hash>,
    /// Size in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Git commit, for git sources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Git sources whose checkout the store has: the commit's git tree id,
    /// which is also its Software Heritage id (`swh:1:dir:<tree>`). Filled
    /// by `lock2build plan` from the store (the lock does not record it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tree: Option<String>,
    /// With `tree`: the SRI sha256 of the checkout's NAR serialisation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nar_sha256: Option<String>,
}

/// What `plan_project` needs besides the directory.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// The target.
    pub target: Target,
    /// Groups, extras, no-binary.
    pub select: SelectOptions,
    /// Index cache and network.
    pub index: IndexOptions,
}

/// A plan and what making it did.
pub struct PlanOutcome {
    /// The plan.
    pub plan: Plan,
    /// Index pages read from cache / network.
    pub lookups: LookupStats,
}

/// Makes the plan of the project in `dir`.
pub fn plan_project(dir: &Path, options: &PlanOptions) -> Result<PlanOutcome> {
    let locks = discover::find_lockfiles(dir)?;
    plan_lockfiles(&locks, options)
}

/// Makes the plan of what `lock2build plan TARGET [--lockfile PATH]`
/// names: the one lockfile named (a script's lock), else every lockfile of
/// the directory.
pub fn plan_target(target: &crate::pick::LockTarget, options: &PlanOptions) -> Result<PlanOutcome> {
    match &target.lockfile {
        Some(lockfile) => {
            let picked = crate::pick::pick_lockfile(&target.dir, Some(lockfile), None)?;
            plan_graphs(vec![picked.graph], options)
        }
        None => plan_project(&target.dir, options),
    }
}

/// Makes the plan of the given lockfiles. A lockfile of the directory
/// itself that fails to import stops the plan; one a directory down
/// (`docs/requirements.txt` that pins nothing) is skipped, and the plan
/// says why in [`Plan::skipped`].
pub fn plan_lockfiles(locks: &[FoundLock], options: &PlanOptions) -> Result<PlanOutcome> {
    let mut graphs = Vec::new();
    let mut errors = Vec::new();
    let mut skipped = Vec::new();
    for lock in locks {
        match discover::import(lock) {
            Ok(graph) => graphs.push(graph),
            Err(e) if lock.display.parent() != Some(Path::new("")) => {
                skipped.push(SkippedLock {
                    lockfile: lock.display.clone(),
                    reason: e.to_string(),
                });
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    if !errors.is_empty() {
        return Err(anyhow!("{}", errors.join("\n")));
    }
    let mut outcome = plan_graphs(graphs, options)?;
    outcome.plan.skipped = skipped;
    Ok(outcome)
}

/// Makes the plan of lockfiles already imported (by
/// [`discover::import`], which checked their names).
pub fn plan_graphs(graphs: Vec<Graph>, options: &PlanOptions) -> Result<PlanOutcome> {
    let client = IndexClient::new(options.index.clone())?;
    // Wheel tags rank only Python artifacts (hundreds of tags to make).
    let ranking = if graphs.iter().any(|g| g.ecosystem == Ecosystem::Pypi) {
        TagRanking::new(&options.target)
    } else {
        TagRanking::empty(&options.target)
    };
    let mut projects = Vec::new();
    let mut nodes = Vec::new();
    for (project_index, mut graph) in graphs.into_iter().enumerate() {
        check_environments(&graph, &options.target)?;
        check_requires_python(&graph, &options.target)?;
        let walk = select::walk(&graph, &options.target, &options.select)?;
        let included: Vec<PackageIndex> = walk.included.keys().copied().collect();
        let mut answers = pyindex::IndexAnswers::default();
        match graph.ecosystem {
            Ecosystem::Pypi => {
                answers = pyindex::resolve_urls_lenient(&mut graph, &included, &client)?
            }
            Ecosystem::Crates => crate::cargo_registry::resolve_urls(
                &mut graph,
                &options.index.cache_dir,
                options.index.offline,
            ),
            Ecosystem::Npm => {}
        }
        // File names and URLs an index filled in are checked like the lock's
        // (an npm graph is as its import checked it).
        if graph.ecosystem != Ecosystem::Npm {
            lock2build_model::names::check_graph(&graph).map_err(|e| anyhow!("{e}"))?;
        }
        let ids: BTreeMap<PackageIndex, String> = included
            .iter()
            .map(|&i| Ok((i, node_id(&graph, i, &ranking, &options.select)?)))
            .collect::<Result<_>>()?;
        let mut chosen_errors = Vec::new();
        let mut other_python = Vec::new();
        for &i in &included {
            let package = graph.package(i);
            let artifact = match select::choose_artifact(
                package,
                graph.ecosystem,
                &ranking,
                &options.select,
            ) {
                Ok(a) => {
                    // The chosen file must be on the index; others may be gone.
                    let position =
                        a.and_then(|a| package.artifacts.iter().position(|x| std::ptr::eq(x, a)));
                    if let Some(message) = position.and_then(|p| answers.unlisted.get(&(i, p))) {
                        chosen_errors.push(message.clone());
                        continue;
                    }
                    // And it must be for the target's Python, as pip checks.
                    let range = position.and_then(|p| answers.requires_python.get(&(i, p)));
                    if let (Some(range), Some(a)) = (range, a) {
                        if python_allows(range, &options.target.python.version) == Some(false) {
                            other_python.push(file_for_another_python(&graph, i, a, range));
                            continue;
                        }
                    }
                    a.map(|a| plan_artifact(a, &package.source))
                }
                Err(e) => {
                    chosen_errors.push(format!(
                        "{}: {}\n  help: {}",
                        graph.lockfile.display(),
                        e.message,
                        e.help
                    ));
                    continue;
                }
            };
            let mut dependencies: Vec<String> = walk
                .edges
                .get(&i)
                .map(|targets| targets.iter().filter_map(|t| ids.get(t).cloned()).collect())
                .unwrap_or_default();
            dependencies.sort();
            dependencies.dedup();
            nodes.push(Node {
                id: ids[&i].clone(),
                ecosystem: graph.ecosystem,
                name: package.name.clone(),
                version: package.version.clone(),
                project: project_index,
                root: graph.roots.contains(&i),
                source: package.source.clone(),
                artifact,
                extras: walk.included[&i].iter().cloned().collect(),
                dependencies,
                location: package.location.clone(),
                flags: package.flags.clone(),
                platform: package.platform.clone(),
                bin: package.bin.clone(),
            });
        }
        if !other_python.is_empty() {
            chosen_errors.push(for_another_python(&graph, &other_python, &options.target));
        }
        if !chosen_errors.is_empty() {
            return Err(anyhow!("{}", chosen_errors.join("\n")));
        }
        let mut excluded: Vec<Excluded> = walk
            .excluded
            .iter()
            .map(|(&i, why)| {
                let p = graph.package(i);
                Excluded {
                    name: p.name.clone(),
                    version: p.version.clone(),
                    why: why.clone(),
                }
            })
            .collect();
        excluded.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
        let mine: Vec<&Node> = nodes
            .iter()
            .filter(|n| n.project == project_index)
            .collect();
        let platform_unknown = crate::manifest_platform::platform_unknown(&graph.format, &mine);
        projects.push(Project {
            lockfile: graph.lockfile.clone(),
            ecosystem: graph.ecosystem,
            format: graph.format.clone(),
            roots: graph
                .roots
                .iter()
                .filter_map(|r| ids.get(r).cloned())
                .collect(),
            selected: included.len(),
            excluded,
            platform_unknown,
            warnings: graph.warnings.clone(),
            stale: graph.stale.clone(),
        });
    }
    nodes.sort_by(|a, b| {
        (a.project, &a.name, &a.version, &a.location, &a.id).cmp(&(
            b.project,
            &b.name,
            &b.version,
            &b.location,
            &b.id,
        ))
    });
    let plan = Plan {
        version: PLAN_VERSION,
        generator: format!("lock2build {}", env!("CARGO_PKG_VERSION")),
        target: options.target.clone(),
        projects,
        packages: nodes,
        skipped: Vec::new(),
    };
    Ok(PlanOutcome {
        plan,
        lookups: client.stats(),
    })
}

/// A lock that names the environments it was made for (PEP 751
/// `environments`) must have one the target fits: its packages were
/// resolved for those only.
fn check_environments(graph: &Graph, target: &Target) -> Result<()> {
    if graph.environments.is_empty() {
        return Ok(());
    }
    let env = target.marker_environment()?;
    let mut fits = false;
    for marker in &graph.environments {
        let tree = pep508_rs::MarkerTree::from_str(marker).map_err(|e| {
            anyhow!(
                "{}: `environments` marker `{marker}` cannot be read: {e}\n  help: re-create the lock with its tool",
                graph.lockfile.display()
            )
        })?;
        fits |= tree.evaluate(&env, &[]);
    }
    if !fits {
        return Err(anyhow!(
            "{}: this lock was made for other environments ({}) than the target ({})\n  help: re-lock it for this machine, or pass the target it was made for (--python-version, --os, --arch, --libc)",
            graph.lockfile.display(),
            graph.environments.join("; "),
            target.describe()
        ));
    }
    Ok(())
}

/// The target's Python must be one the lock's `requires-python` allows
/// (its packages were resolved for those). A `requires-python` that is not
/// PEP 440 is not checked. A target of `X.Y` fits when some `X.Y.z` does.
fn check_requires_python(graph: &Graph, target: &Target) -> Result<()> {
    let Some(spec) = &graph.requires_python else {
        return Ok(());
    };
    if python_allows(spec, &target.python.version) != Some(false) {
        return Ok(());
    }
    Err(anyhow!(
        "{}: the lock is for Python `{spec}` (requires-python), but {}\n  help: use an interpreter in that range (--python PATH), pass --python-version with one, or re-lock for this one",
        graph.lockfile.display(),
        describe_python(target)
    ))
}

/// Does the PEP 440 range `spec` allow Python `version` (`X.Y` fits when
/// some `X.Y.z` does)? `None` when `spec` is not PEP 440: not checked.
fn python_allows(spec: &str, version: &str) -> Option<bool> {
    use pep508_rs::pep440_rs::{Version, VersionSpecifiers};
    let specifiers = VersionSpecifiers::from_str(spec).ok()?;
    let candidates: Vec<String> = match version.split('.').count() {
        2 => vec![format!("{version}.0"), format!("{version}.999")],
        _ => vec![version.to_owned()],
    };
    Some(
        candidates
            .iter()
            .filter_map(|v| Version::from_str(v).ok())
            .any(|v| specifiers.contains(&v)),
    )
}

/// "…/python3.11 is Python 3.11.7", or "the target is Python 3.11".
fn describe_python(target: &Target) -> String {
    let version = &target.python.version;
    match &target.python.interpreter {
        Some(path) => format!("{} is Python {version}", path.display()),
        None => format!("the target is Python {version}"),
    }
}

/// One chosen file whose index `requires-python` the target does not meet
/// (a requirements.txt compiled for another Python): `name version (file:
/// range)`.
fn file_for_another_python(
    graph: &Graph,
    package: PackageIndex,
    artifact: &lock2build_model::Artifact,
    range: &str,
) -> String {
    let p = graph.package(package);
    format!(
        "{} {} ({}: `{range}`)",
        p.name,
        p.version,
        artifact.filename.as_deref().unwrap_or("the locked file"),
    )
}

/// The error naming every such file once, with one help line.
fn for_another_python(graph: &Graph, files: &[String], target: &Target) -> String {
    format!(
        "{}: {} locked file{} require{} another Python (the index's requires-python), but {}:\n  {}\n  help: the lock was made for another Python: use an interpreter in that range (--python PATH), or re-lock for this one (`uv pip compile --python-version {}`)",
        graph.lockfile.display(),
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        if files.len() == 1 { "s" } else { "" },
        describe_python(target),
        files.join("\n  "),
        target.python.version
    )
}

/// The lock-versus-manifest check every command that reads a lock makes
/// (as cargo and uv spell it): with `locked`, a lock that no longer matches
/// its manifest is an error naming each mismatch; without, the mismatches
/// are returned as warnings to print.
pub fn check_locked(plan: &Plan, locked: bool) -> Result<Vec<String>> {
    check_stale(plan.projects.iter().flat_map(|p| &p.stale), locked)
}

/// [`check_locked`] over the `stale` diagnostics of imported graphs.
pub fn check_stale<'a>(
    stale: impl IntoIterator<Item = &'a Diagnostic>,
    locked: bool,
) -> Result<Vec<String>> {
    let stale: Vec<String> = stale.into_iter().map(|d| d.to_string()).collect();
    if locked && !stale.is_empty() {
        return Err(anyhow!(
            "the lock is out of date with its manifest, and --locked was given:\n  {}\n  help: update the lock with its package manager (`poetry lock`, `uv lock`), or build without --locked",
            stale.join("\n  ")
        ));
    }
    Ok(stale)
}

fn plan_artifact(artifact: &Artifact, source: &Source) -> PlanArtifact {
    let commit = match source {
        Source::Git { commit, .. } => Some(commit.clone()),
        _ => None,
    };
    PlanArtifact {
        kind: artifact.kind,
        url: artifact.url.clone(),
        filename: artifact.filename.clone(),
        integrity: Hash::strongest(&artifact.hashes).map(Hash::to_sri),
        hashes: artifact.hashes.clone(),
        size: artifact.size,
        commit,
        tree: None,
        nar_sha256: None,
    }
}

/// `<ecosystem>:<name>@<version>:<12 hex>`, hashing what makes the package
/// this package: its source, the hashes of the artifact that will be used,
/// and its install location.
fn node_id(
    graph: &Graph,
    index: PackageIndex,
    ranking: &TagRanking,
    options: &SelectOptions,
) -> Result<String> {
    let package: &Package = graph.package(index);
    let artifact = select::choose_artifact(package, graph.ecosystem, ranking, options)
        .ok()
        .flatten();
    // Serialized field by field in this order, with nulls: the bytes are
    // what the ids always hashed (a `json!` object, whose keys keep their
    // order), without building that object for every package.
    #[derive(Serialize)]
    struct Identity<'a> {
        ecosystem: Ecosystem,
        name: &'a str,
        version: &'a str,
        source: &'a Source,
        artifact: Option<ArtifactIdentity<'a>>,
        location: &'a Option<String>,
    }
    #[derive(Serialize)]
    struct ArtifactIdentity<'a> {
        kind: ArtifactKind,
        filename: &'a Option<String>,
        hashes: &'a [Hash],
    }
    let identity = Identity {
        ecosystem: graph.ecosystem,
        name: &package.name,
        version: &package.version,
        source: &package.source,
        artifact: artifact.map(|a| ArtifactIdentity {
            kind: a.kind,
            filename: &a.filename,
            hashes: &a.hashes,
        }),
        location: &package.location,
    };
    let digest = Sha256::digest(serde_json::to_vec(&identity)?);
    Ok(format!(
        "{}:{}@{}:{}",
        graph.ecosystem,
        package.name,
        package.version,
        &hex::encode(digest)[..12]
    ))
}

/// The human summary of a plan.
pub fn summary(plan: &Plan, lookups: &LookupStats, verbose: bool) -> String {
    let mut out = String::new();
    out.push_str(&format!("target: {}\n", plan.target.describe()));
    for (i, project) in plan.projects.iter().enumerate() {
        let roots: Vec<String> = plan
            .packages
            .iter()
            .filter(|n| n.project == i && n.root)
            .map(|n| format!("{} {}", n.name, n.version))
            .collect();
        out.push_str(&format!(
            "\n{} ({}, {})\n  roots: {}\n  {} packages apply",
            project.lockfile.display(),
            project.ecosystem,
            project.format,
            if roots.is_empty() {
                "-".into()
            } else {
                roots.join(", ")
            },
            project.selected
        ));
        let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
        for n in plan.packages.iter().filter(|n| n.project == i) {
            let k = n
                .artifact
                .as_ref()
                .map(|a| format!("{:?}", a.kind).to_lowercase())
                .unwrap_or_else(|| "local".into());
            *kinds.entry(k).or_default() += 1;
        }
        let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
        if kinds.is_empty() {
            out.push('\n');
        } else {
            out.push_str(&format!(" ({})\n", kinds.join(", ")));
        }
        if !project.excluded.is_empty() {
            let mut by_reason: BTreeMap<&str, Vec<&Excluded>> = BTreeMap::new();
            for e in &project.excluded {
                by_reason.entry(e.why.label()).or_default().push(e);
            }
            out.push_str(&format!("  {} left out:\n", project.excluded.len()));
            for (reason, list) in by_reason {
                let shown = if verbose {
                    list.len()
                } else {
                    list.len().min(6)
                };
                let names: Vec<String> = list[..shown]
                    .iter()
                    .map(|e| format!("{} {}", e.name, e.version))
                    .collect();
                let more = if list.len() > shown {
                    format!(", … (+{})", list.len() - shown)
                } else {
                    String::new()
                };
                out.push_str(&format!(
                    "    {reason} ({}): {}{more}\n",
                    list.len(),
                    names.join(", ")
                ));
            }
        }
        if !project.platform_unknown.is_empty() {
            let names: Vec<String> = project
                .platform_unknown
                .iter()
                .map(|u| format!("{} {}", u.name, u.version))
                .collect();
            out.push_str(&format!(
                "  platform unknown until fetched ({}; a v1 lock records no `os`/`cpu`, only the package.json in each tarball does: `lock2build fetch` or `app` reads it): {}\n",
                names.len(),
                names.join(", ")
            ));
        }
        for w in &project.warnings {
            out.push_str(&format!("  warning: {w}\n"));
        }
    }
    for skipped in &plan.skipped {
        out.push_str(&format!(
            "\n{}: skipped, not read as a lock:\n  {}\n",
            skipped.lockfile.display(),
            skipped.reason.replace('\n', "\n  ")
        ));
    }
    if lookups.cached + lookups.fetched > 0 {
        out.push_str(&format!(
            "\nindex pages: {} from cache, {} fetched\n",
            lookups.cached, lookups.fetched
        ));
    }
    if !verbose {
        out.push_str("\n(`--json` writes the whole plan; `-v` lists every left-out package)\n");
    }
    out
}
