//! Which one lockfile `lock2build app` builds.
//!
//! A project directory often holds more than the lock of its app: an
//! exported `requirements.txt` beside `poetry.lock`, an empty `uv.lock`
//! left by a stray `uv lock` in a Poetry project, the unhashed
//! `docs/requirements.txt` of a documentation build. The rules:
//!
//! 1. `--lockfile PATH` names the lockfile: only it is read
//!    ([`LockKind::from_path`] says its format).
//! 2. Else the candidates are the lockfiles of the directory itself, of
//!    the ecosystem asked for (`--ecosystem`); there must be one ecosystem.
//!    Lockfiles one directory down are never imported: each is noted.
//! 3. Python candidates are tried richest first: `uv.lock`, `poetry.lock`,
//!    `pylock.toml`, `pylock.<name>.toml`, `requirements.txt`. A lock with
//!    nothing to build (no packages, or no project and no requirement)
//!    loses to the next, with a note. A lock that fails to import stops
//!    the build: it is the one the user most likely meant.
//!
//! Only the chosen lockfile is imported.

use crate::discover::{self, FoundLock, LockKind};
use anyhow::{anyhow, bail, Result};
use lock2build_model::{Ecosystem, Graph, Source};
use std::path::{Path, PathBuf};

/// The lockfile `app` builds, imported, and what the choice left aside.
#[derive(Debug)]
pub struct PickedLock {
    /// The lockfile.
    pub lock: FoundLock,
    /// Its graph.
    pub graph: Graph,
    /// Lockfiles not built, and why (for the user).
    pub notes: Vec<String>,
}

/// Picks and imports the lockfile to build in `dir`: `lockfile` when given
/// (relative to the current directory), else by the rules above.
pub fn pick_lockfile(
    dir: &Path,
    lockfile: Option<&Path>,
    ecosystem: Option<Ecosystem>,
) -> Result<PickedLock> {
    if let Some(path) = lockfile {
        return pick_named(dir, path, ecosystem);
    }
    let found = discover::find_lockfiles(dir)?;
    let (top, below): (Vec<FoundLock>, Vec<FoundLock>) = found
        .into_iter()
        .partition(|l| l.display.parent() == Some(Path::new("")));
    let mut notes: Vec<String> = below
        .iter()
        .map(|l| {
            format!(
                "{} is not built (one directory down); `--lockfile {}` builds it",
                l.display.display(),
                l.path.display()
            )
        })
        .collect();
    let candidates: Vec<FoundLock> = top
        .into_iter()
        .filter(|l| ecosystem.is_none_or(|e| l.kind.ecosystem() == e))
        .collect();
    if candidates.is_empty() {
        bail!("{}", no_candidate_message(dir, ecosystem, &below));
    }
    let ecosystems: std::collections::BTreeSet<Ecosystem> =
        candidates.iter().map(|l| l.kind.ecosystem()).collect();
    if ecosystems.len() > 1 {
        bail!(
            "{}: lockfiles of several ecosystems ({}); which one to build?\n  help: pass --ecosystem {}",
            dir.display(),
            names(&candidates),
            ecosystems
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join(" or --ecosystem ")
        );
    }
    let mut ranked = candidates;
    ranked.sort_by_key(|l| (rank(l), l.display.clone()));
    let mut passed_over: Vec<String> = Vec::new();
    for (i, lock) in ranked.iter().enumerate() {
        let same_rank: Vec<&FoundLock> = ranked[i..]
            .iter()
            .filter(|l| rank(l) == rank(lock))
            .collect();
        if same_rank.len() > 1 {
            bail!(
                "{}: several lockfiles of the same kind ({}); `lock2build app` builds one\n  help: name it with --lockfile, e.g. `--lockfile {}`",
                dir.display(),
                same_rank
                    .iter()
                    .map(|l| l.display.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                same_rank[0].path.display()
            );
        }
        let graph = discover::import(lock).map_err(|e| anyhow!("{e}"))?;
        if let Some(why) = nothing_to_build(&graph) {
            passed_over.push(format!("{} {why}", lock.display.display()));
            continue;
        }
        let mut first: Vec<String> = passed_over
            .iter()
            .map(|loser| format!("{loser}: building {} instead", lock.display.display()))
            .collect();
        first.append(&mut notes);
        notes = first;
        for other in &ranked[i + 1..] {
            notes.push(format!(
                "{} is not built: {} is the richer lock (`--lockfile {}` builds the other)",
                other.display.display(),
                lock.display.display(),
                other.path.display()
            ));
        }
        return Ok(PickedLock {
            lock: lock.clone(),
            graph,
            notes,
        });
    }
    bail!(
        "{}: no lockfile here has anything to build: {}\n  help: re-create the project's lock (`uv lock`, `poetry lock`), or name another with --lockfile",
        dir.display(),
        passed_over.join("; ")
    )
}

/// What `lock2build app TARGET` and `plan TARGET` name: a project
/// directory, or a PEP 723 script whose lock is `<script>.lock` beside it
/// (`uv lock --script`); and `--lockfile`.
#[derive(Debug, Clone)]
pub struct LockTarget {
    /// The project directory (a script's own directory).
    pub dir: PathBuf,
    /// The lockfile to build, when it is not for [`pick_lockfile`] to pick.
    pub lockfile: Option<PathBuf>,
    /// The script, for a script target.
    pub script: Option<PathBuf>,
}

impl LockTarget {
    /// Reads TARGET and `--lockfile`.
    pub fn new(target: &Path, lockfile: Option<&Path>) -> Result<LockTarget> {
        if !target.is_file() {
            return Ok(LockTarget {
                dir: target.to_path_buf(),
                lockfile: lockfile.map(Path::to_path_buf),
                script: None,
            });
        }
        if target.extension().and_then(|e| e.to_str()) != Some("py") {
            bail!(
                "{}: not a directory or a Python script
  help: `lock2build app` takes a project directory or a PEP 723 script (`script.py`, locked by `uv lock --script script.py`)",
                target.display()
            );
        }
        let lock = lockfile.map(Path::to_path_buf).unwrap_or_else(|| {
            let mut name = target.as_os_str().to_owned();
            name.push(".lock");
            PathBuf::from(name)
        });
        if !lock.is_file() {
            bail!(
                "{}: this script has no lock ({} is missing)
  help: lock it with `uv lock --script {}`",
                target.display(),
                lock.display(),
                target.display()
            );
        }
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Ok(LockTarget {
            dir,
            lockfile: Some(lock),
            script: Some(target.to_path_buf()),
        })
    }
}

/// `--lockfile PATH`: that file only.
fn pick_named(dir: &Path, path: &Path, ecosystem: Option<Ecosystem>) -> Result<PickedLock> {
    let kind = LockKind::from_path(path).ok_or_else(|| {
        anyhow!(
            "{}: lock2build does not know this lockfile's format from its name\n  help: --lockfile takes poetry.lock, uv.lock, <script>.py.lock, pylock.toml, pylock.<name>.toml, a hashed *.txt requirements file, package-lock.json or Cargo.lock",
            path.display()
        )
    })?;
    if !path.is_file() {
        bail!(
            "{}: no such file\n  help: --lockfile is relative to the current directory",
            path.display()
        );
    }
    if let Some(wanted) = ecosystem.filter(|&e| e != kind.ecosystem()) {
        bail!(
            "{}: a {} lockfile, but --ecosystem {wanted} was asked for",
            path.display(),
            kind.ecosystem()
        );
    }
    let lock = FoundLock {
        kind,
        path: path.to_path_buf(),
        display: display_path(dir, path),
    };
    let graph = discover::import(&lock).map_err(|e| anyhow!("{e}"))?;
    if let Some(why) = nothing_to_build(&graph) {
        bail!(
            "{} {why}\n  help: re-create it with its tool, or name another with --lockfile",
            lock.display.display()
        );
    }
    Ok(PickedLock {
        lock,
        graph,
        notes: Vec::new(),
    })
}

/// `path` relative to `dir` when it lies inside it (plans and messages
/// name lockfiles that way), else as given.
fn display_path(dir: &Path, path: &Path) -> PathBuf {
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    absolute(path)
        .strip_prefix(absolute(dir))
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

/// Why a lock gives nothing to build, if it does not: no packages, no
/// project, or only a virtual project with no requirement.
fn nothing_to_build(graph: &Graph) -> Option<&'static str> {
    if graph.packages.is_empty() {
        return Some("lists no packages");
    }
    if graph.roots.is_empty() {
        return Some("has no project (no root package)");
    }
    let only_virtual_roots = graph.packages.len() == graph.roots.len()
        && graph
            .roots
            .iter()
            .all(|&r| matches!(graph.package(r).source, Source::Virtual { .. }));
    only_virtual_roots.then_some("has a project with no requirement")
}

/// Richest first; lockfiles of one rank cannot be told apart.
fn rank(lock: &FoundLock) -> u8 {
    match lock.kind {
        LockKind::Uv => 0,
        LockKind::Poetry => 1,
        LockKind::Pylock if lock.display.file_name() == Some("pylock.toml".as_ref()) => 2,
        LockKind::Pylock => 3,
        LockKind::Requirements => 4,
        LockKind::Npm | LockKind::Cargo => 0,
    }
}

fn names(locks: &[FoundLock]) -> String {
    locks
        .iter()
        .map(|l| l.display.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// No lockfile (of the asked ecosystem) in the directory itself.
fn no_candidate_message(dir: &Path, ecosystem: Option<Ecosystem>, below: &[FoundLock]) -> String {
    let mut message = format!(
        "{}: no {}lockfile in this directory (poetry.lock, uv.lock, pylock.toml, requirements.txt, Cargo.lock, package-lock.json)",
        dir.display(),
        ecosystem.map(|e| format!("{e} ")).unwrap_or_default()
    );
    for lock in below
        .iter()
        .filter(|l| ecosystem.is_none_or(|e| l.kind.ecosystem() == e))
    {
        message.push_str(&format!(
            "\n  note: {} is one directory down: `lock2build app --lockfile {}` builds it",
            lock.display.display(),
            lock.path.display()
        ));
    }
    for file in discover::hashed_requirement_files(dir) {
        message.push_str(&format!(
            "\n  note: {} looks like a hashed requirements file: `lock2build app --lockfile {}` builds it",
            file.display(),
            dir.join(&file).display()
        ));
    }
    message.push_str(
        "\n  help: run it in the project's directory, or name the lockfile with --lockfile PATH",
    );
    message
}
