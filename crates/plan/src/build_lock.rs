//! The build lock: the build requirements of a project's source builds,
//! pinned to hashed wheels, in `lock2build.build.lock` beside the project's
//! lockfile (the user commits it).
//!
//! poetry.lock, uv.lock and requirements.txt pin what a project runs with,
//! not what its sdists are built with. The community pins
//! (`overrides/pypi/build-systems/requirements.txt`) cover the common
//! backends; a source build whose requirements they do not satisfy
//! (`uv_build>=0.9.17,<0.13`, `setuptools<60`, a backend they lack) gets
//! its whole build requirement set resolved from the project's index and
//! recorded here, one `[[sdist]]` per source build:
//!
//! ```toml
//! version = 1
//!
//! [[sdist]]
//! name = "commitizen"
//! version = "4.8.3"
//! source = "sha256-…"                  # the sdist's hash (git: git+URL@commit)
//! requires = ["packaging", "uv_build>=0.9.17,<0.13"]
//! index = "https://pypi.org/simple/"
//!
//! [[sdist.package]]
//! name = "uv-build"
//! version = "0.12.24"
//! marker = "…"                          # only when the resolution has one
//! wheels = [{ filename = "…whl", url = "https://…", sha256 = "…" }, …]
//! ```
//!
//! The resolution is universal (every platform, the target's Python and
//! newer, like the community pins) and wheels only: a build installs its
//! requirements offline. [`resolve`] drives uv (`uv pip compile
//! --universal --generate-hashes --only-binary :all:`) with the community
//! pins as preferences, so they stay the versions used where they fit;
//! the file URLs come from the index's PEP 691 pages ([`pyindex`]). Using
//! an entry ([`BuildLockEntry::pins`]) needs no network and no uv.

use crate::discover::{self, FoundLock, LockKind};
use crate::plan::{Node, PlanArtifact};
use crate::pyindex::{self, IndexClient, IndexOptions};
use crate::select::{TagRanking, WheelName};
use crate::target::Target;
use anyhow::{anyhow, bail, Context, Result};
use lock2build_model::{ArtifactKind, Ecosystem, Hash, HashAlgorithm, PackageIndex, Source};
use pep508_rs::MarkerTree;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

/// The file name, beside the project's lockfile.
pub const BUILD_LOCK_FILE: &str = "lock2build.build.lock";

/// The format version written in `version`.
pub const BUILD_LOCK_VERSION: u32 = 1;

const HEADER: &str = "# The build requirements of this project's source builds, pinned to hashed\n\
# wheels by `lock2build app` (see docs/app.md, \"Build requirements\").\n\
# Commit it: builds then need no resolver and get the same wheels next year.\n\n";

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildLock {
    /// [`BUILD_LOCK_VERSION`].
    pub version: u32,
    /// One entry per source build.
    #[serde(default, rename = "sdist")]
    pub entries: Vec<BuildLockEntry>,
}

/// The resolved build requirements of one source build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildLockEntry {
    /// The package built.
    pub name: String,
    /// Its version.
    pub version: String,
    /// What is built: the sdist's SRI hash, or `git+<url>@<commit>`.
    pub source: String,
    /// The requirements resolved (sorted): `[build-system] requires`, the
    /// override's `build-requires`, what the backend asks for at build time.
    pub requires: Vec<String>,
    /// The index they were resolved from.
    pub index: String,
    /// The resolution.
    #[serde(default, rename = "package")]
    pub packages: Vec<LockedBuildPackage>,
}

/// One package of a resolution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockedBuildPackage {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// The PEP 508 marker under which it is needed, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
    /// Its wheels.
    pub wheels: Vec<LockedWheel>,
}

/// One wheel file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockedWheel {
    /// File name.
    pub filename: String,
    /// Where to download it.
    pub url: String,
    /// Hex sha256.
    pub sha256: String,
}

impl BuildLock {
    /// Reads `path`; an empty lock when the file does not exist.
    pub fn read(path: &Path) -> Result<BuildLock> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(BuildLock {
                    version: BUILD_LOCK_VERSION,
                    entries: Vec::new(),
                })
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let lock: BuildLock = toml::from_str(&text).map_err(|e| {
            anyhow!(
                "{}: not a lock2build build lock: {e}\n  help: delete it and run `lock2build app` again to resolve the build requirements anew",
                path.display()
            )
        })?;
        if lock.version != BUILD_LOCK_VERSION {
            bail!(
                "{}: build lock version {} is not supported (this lock2build reads version {BUILD_LOCK_VERSION})",
                path.display(),
                lock.version
            );
        }
        Ok(lock)
    }

    /// Writes the lock to `path` atomically, entries sorted.
    pub fn write(&self, path: &Path) -> Result<()> {
        let mut lock = self.clone();
        lock.entries.sort_by(|a, b| {
            (&a.name, &a.version, &a.source).cmp(&(&b.name, &b.version, &b.source))
        });
        let text = format!("{HEADER}{}", lock.to_toml());
        let tmp = path.with_extension("lock.tmp");
        std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
    }

    /// The TOML text: one line per wheel, so that a re-resolution's diff
    /// reads as the files that changed.
    fn to_toml(&self) -> String {
        let q = |s: &str| toml::Value::String(s.to_owned()).to_string();
        let list = |items: &[String]| {
            let quoted: Vec<String> = items.iter().map(|i| q(i)).collect();
            format!("[{}]", quoted.join(", "))
        };
        let mut out = format!("version = {}\n", self.version);
        for e in &self.entries {
            out.push_str(&format!(
                "\n[[sdist]]\nname = {}\nversion = {}\nsource = {}\nrequires = {}\nindex = {}\n",
                q(&e.name),
                q(&e.version),
                q(&e.source),
                list(&e.requires),
                q(&e.index)
            ));
            for p in &e.packages {
                out.push_str(&format!(
                    "\n[[sdist.package]]\nname = {}\nversion = {}\n",
                    q(&p.name),
                    q(&p.version)
                ));
                if let Some(marker) = &p.marker {
                    out.push_str(&format!("marker = {}\n", q(marker)));
                }
                out.push_str("wheels = [\n");
                for w in &p.wheels {
                    out.push_str(&format!(
                        "    {{ filename = {}, url = {}, sha256 = {} }},\n",
                        q(&w.filename),
                        q(&w.url),
                        q(&w.sha256)
                    ));
                }
                out.push_str("]\n");
            }
        }
        out
    }

    /// The entry for `source` of `name` `version` that resolved at least
    /// `requires`.
    pub fn find(
        &self,
        name: &str,
        version: &str,
        source: &str,
        requires: &[String],
    ) -> Option<&BuildLockEntry> {
        self.entries.iter().find(|e| {
            normalize(&e.name) == normalize(name)
                && e.version == version
                && e.source == source
                && requires.iter().all(|r| e.requires.contains(r))
        })
    }

    /// Adds `entry`, replacing the one for the same source build.
    pub fn insert(&mut self, entry: BuildLockEntry) {
        self.entries.retain(|e| {
            !(normalize(&e.name) == normalize(&entry.name)
                && e.version == entry.version
                && e.source == entry.source)
        });
        self.entries.push(entry);
    }
}

impl BuildLockEntry {
    /// The resolution's packages that apply to `target`, each with its best
    /// wheel for it, as plan nodes.
    pub fn pins(&self, target: &Target, lock: &Path) -> Result<Vec<Node>> {
        let env = target.marker_environment()?;
        let ranking = TagRanking::new(target);
        let mut nodes = Vec::new();
        for package in &self.packages {
            if let Some(marker) = &package.marker {
                let tree = MarkerTree::from_str(marker).map_err(|e| {
                    anyhow!(
                        "{}: {} {}: marker `{marker}`: {e}",
                        lock.display(),
                        package.name,
                        package.version
                    )
                })?;
                if !tree.evaluate(&env, &[]) {
                    continue;
                }
            }
            let best = package
                .wheels
                .iter()
                .filter_map(|w| {
                    let parsed = WheelName::parse(&w.filename)?;
                    ranking.rank(&parsed).map(|r| (r, w))
                })
                .min_by_key(|(r, _)| *r)
                .map(|(_, w)| w)
                .ok_or_else(|| {
                    anyhow!(
                        "{}: the build requirement {} {} of {} {} has no wheel for {}\n  help: delete its [[sdist]] entry and run `lock2build app` again to resolve it for this target",
                        lock.display(),
                        package.name,
                        package.version,
                        self.name,
                        self.version,
                        target.describe()
                    )
                })?;
            let hash = Hash::from_hex(HashAlgorithm::Sha256, &best.sha256).map_err(|e| {
                anyhow!(
                    "{}: {}: sha256 `{}`: {e}",
                    lock.display(),
                    best.filename,
                    best.sha256
                )
            })?;
            nodes.push(Node {
                id: format!(
                    "pypi:{}@{}:build-lock-{}",
                    normalize(&package.name),
                    package.version,
                    &best.sha256[..12.min(best.sha256.len())]
                ),
                ecosystem: Ecosystem::Pypi,
                name: package.name.clone(),
                version: package.version.clone(),
                project: 0,
                root: false,
                source: Source::Registry {
                    url: self.index.clone(),
                },
                artifact: Some(PlanArtifact {
                    kind: ArtifactKind::Wheel,
                    url: Some(best.url.clone()),
                    filename: Some(best.filename.clone()),
                    integrity: Some(hash.to_sri()),
                    hashes: vec![hash],
                    size: None,
                    commit: None,
                    tree: None,
                    nar_sha256: None,
                }),
                extras: Vec::new(),
                dependencies: Vec::new(),
                location: None,
                flags: Default::default(),
                platform: Default::default(),
                bin: Default::default(),
            });
        }
        Ok(nodes)
    }
}

/// What [`resolve`] resolves.
#[derive(Debug, Clone)]
pub struct ResolveRequest<'a> {
    /// The source build (`name version`), for messages.
    pub name: &'a str,
    /// Its version.
    pub version: &'a str,
    /// What is built ([`BuildLockEntry::source`]).
    pub source: &'a str,
    /// The requirements (PEP 508).
    pub requires: &'a [String],
    /// The index to resolve from (a simple index URL).
    pub index: &'a str,
    /// Pins to prefer (a hashed requirements.txt: the community pins).
    pub preferences: Option<&'a Path>,
}

/// Resolves `request` with uv into an entry of the build lock: every
/// resolved package's wheels with their URLs. Needs the network (the
/// index) and uv (`$LOCK2BUILD_UV`, else `uv` on `PATH`).
pub fn resolve(
    request: &ResolveRequest,
    target: &Target,
    index: &IndexOptions,
) -> Result<BuildLockEntry> {
    let label = format!("{} {}", request.name, request.version);
    if index.offline {
        bail!(
            "{label}: its build requirements ({}) are not in {BUILD_LOCK_FILE} and --offline forbids resolving them from {}\n  help: run once without --offline (and commit {BUILD_LOCK_FILE})",
            request.requires.join(", "),
            request.index
        );
    }
    let uv = find_uv().ok_or_else(|| {
        anyhow!(
            "{label}: its build requirements ({}) need resolving, which lock2build does with uv, and uv was not found\n  help: `pip install uv` (or set LOCK2BUILD_UV to its path), or add them to overrides/pypi/build-systems/requirements.in",
            request.requires.join(", ")
        )
    })?;
    let work = tempfile::Builder::new()
        .prefix("lock2build-resolve-")
        .tempdir()?;
    let input = work.path().join("build-requirements.in");
    std::fs::write(&input, request.requires.join("\n") + "\n")?;
    // uv prefers the versions of an existing output file.
    let output = work.path().join("requirements.txt");
    match request.preferences {
        Some(prefs) => std::fs::copy(prefs, &output).map(|_| ())?,
        None => std::fs::write(&output, "")?,
    }
    let (major, minor) = target.python.major_minor();
    let result = Command::new(&uv)
        .args(["pip", "compile", "--quiet", "--no-config", "--universal"])
        .args([
            "--generate-hashes",
            "--only-binary",
            ":all:",
            "--emit-index-url",
        ])
        .arg("--python-version")
        .arg(format!("{major}.{minor}"))
        .arg("--index-url")
        // The mirror, when one is set, as for every other index lookup.
        .arg(
            index
                .mirrors
                .rewrite(&format!("{}/", request.index.trim_end_matches('/'))),
        )
        .arg("-o")
        .arg(&output)
        .arg(&input)
        .output()
        .with_context(|| format!("running {}", uv.display()))?;
    if !result.status.success() {
        let stderr = String::from_utf8_lossy(&result.stderr);
        bail!(
            "{label}: its build requirements cannot be resolved from the index {}: {}\n  uv says:\n{}\n  help: build requirements are installed from wheels; relax the requirement with a patch in an override, or add what is missing to overrides/pypi/build-systems/requirements.in",
            request.index,
            request.requires.join(", "),
            stderr
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| format!("  | {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    let packages = locked_packages(&output, request.index, index).with_context(|| {
        format!("{label}: finding the wheels of its resolved build requirements")
    })?;
    let mut requires = request.requires.to_vec();
    requires.sort();
    requires.dedup();
    Ok(BuildLockEntry {
        name: request.name.to_owned(),
        version: request.version.to_owned(),
        source: request.source.to_owned(),
        requires,
        index: request.index.to_owned(),
        packages,
    })
}

/// The packages of uv's hashed output, each with the URLs of its wheels
/// (from the index pages).
fn locked_packages(
    output: &Path,
    index_url: &str,
    index: &IndexOptions,
) -> Result<Vec<LockedBuildPackage>> {
    let found = FoundLock {
        kind: LockKind::Requirements,
        path: output.to_owned(),
        display: PathBuf::from(format!("the resolution from {index_url}")),
    };
    let mut graph = discover::import(&found).map_err(|e| anyhow!("{e}"))?;
    let all: Vec<PackageIndex> = (0..graph.packages.len()).map(PackageIndex).collect();
    let client = IndexClient::new(index.clone())?;
    pyindex::resolve_urls(&mut graph, &all, &client)?;
    let mut packages = Vec::new();
    for (i, package) in graph.packages.iter().enumerate() {
        if graph.roots.contains(&PackageIndex(i)) {
            continue;
        }
        let marker = graph
            .roots
            .iter()
            .flat_map(|r| &graph.package(*r).dependencies)
            .find(|d| d.target == PackageIndex(i))
            .and_then(|d| d.marker.clone())
            .or_else(|| package.marker.clone());
        let wheels: Vec<LockedWheel> = package
            .artifacts
            .iter()
            .filter(|a| a.kind == ArtifactKind::Wheel)
            .filter_map(|a| {
                let sha = a
                    .hashes
                    .iter()
                    .find(|h| h.algorithm == HashAlgorithm::Sha256)?;
                Some(LockedWheel {
                    filename: a.filename.clone()?,
                    url: a.url.clone()?,
                    sha256: sha.hex(),
                })
            })
            .collect();
        let mut wheels = wheels;
        wheels.sort_by(|a, b| a.filename.cmp(&b.filename));
        if wheels.is_empty() {
            bail!(
                "{} {} has no wheel on {index_url}; build requirements are installed from wheels",
                package.name,
                package.version
            );
        }
        packages.push(LockedBuildPackage {
            name: package.name.clone(),
            version: package.version.clone(),
            marker,
            wheels,
        });
    }
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(packages)
}

/// uv: `$LOCK2BUILD_UV`, else `uv` on `PATH`.
pub fn find_uv() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("LOCK2BUILD_UV") {
        return Some(PathBuf::from(path));
    }
    crate::target::which(Path::new("uv"))
}

fn normalize(name: &str) -> String {
    lock2build_model::normalize_python_name(name)
}

/// The requirements of `requires` that no node of `pins` satisfies (by
/// name and version) although they apply to `target` (their marker).
/// An unparsable requirement counts as unsatisfied.
pub fn unsatisfied(pins: &[Node], requires: &[String], target: &Target) -> Result<Vec<String>> {
    let env = target.marker_environment()?;
    let mut missing = Vec::new();
    for text in requires {
        let Ok(req) = pep508_rs::Requirement::<pep508_rs::VerbatimUrl>::from_str(text.trim())
        else {
            missing.push(text.clone());
            continue;
        };
        if !req.marker.evaluate(&env, &[]) {
            continue;
        }
        let name = normalize(req.name.as_ref());
        let fits = pins.iter().any(|pin| {
            normalize(&pin.name) == name
                && match &req.version_or_url {
                    None => true,
                    Some(pep508_rs::VersionOrUrl::VersionSpecifier(specifiers)) => {
                        pep508_rs::pep440_rs::Version::from_str(&pin.version)
                            .is_ok_and(|v| specifiers.contains(&v))
                    }
                    Some(pep508_rs::VersionOrUrl::Url(_)) => false,
                }
        });
        if !fits {
            missing.push(text.clone());
        }
    }
    Ok(missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_text_reads_back_the_same() {
        let lock = BuildLock {
            version: BUILD_LOCK_VERSION,
            entries: vec![BuildLockEntry {
                name: "legacy-helper".into(),
                version: "1.0".into(),
                source: "directory:legacy".into(),
                requires: vec!["setuptools<60".into(), "wheel".into()],
                index: "https://pypi.org/simple".into(),
                packages: vec![LockedBuildPackage {
                    name: "setuptools".into(),
                    version: "59.8.0".into(),
                    marker: Some("python_version >= \"3.8\"".into()),
                    wheels: vec![LockedWheel {
                        filename: "setuptools-59.8.0-py3-none-any.whl".into(),
                        url: "https://files.example/setuptools-59.8.0-py3-none-any.whl".into(),
                        sha256: "a".repeat(64),
                    }],
                }],
            }],
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(BUILD_LOCK_FILE);
        lock.write(&path).unwrap();
        assert_eq!(BuildLock::read(&path).unwrap(), lock);
        let found = lock.find(
            "Legacy_Helper",
            "1.0",
            "directory:legacy",
            &["wheel".into()],
        );
        assert!(found.is_some());
        assert!(lock
            .find(
                "legacy-helper",
                "1.0",
                "directory:legacy",
                &["setuptools<59".into()]
            )
            .is_none());
    }

    #[test]
    fn a_missing_file_is_an_empty_lock_and_a_broken_one_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(BUILD_LOCK_FILE);
        assert!(BuildLock::read(&path).unwrap().entries.is_empty());
        std::fs::write(&path, "version = 1\n[[sdist]]\nname = 3\n").unwrap();
        let err = format!("{:#}", BuildLock::read(&path).unwrap_err());
        assert!(
            err.contains(BUILD_LOCK_FILE) && err.contains("delete it"),
            "{err}"
        );
    }
}
