//! Finding a project's lockfiles and importing each with its importer.
//!
//! A project directory may hold several lockfiles (a Python back end and a
//! Node front end, say), in the directory itself or in its immediate
//! subdirectories. Each known file name maps to one importer:
//!
//! | file                | importer                          |
//! |---------------------|-----------------------------------|
//! | `poetry.lock`       | `lock2build-import-poetry`        |
//! | `uv.lock`           | `lock2build-import-uv`            |
//! | `requirements.txt`  | `lock2build-import-requirements`  |
//! | `pylock.toml`, `pylock.<name>.toml` | `lock2build-import-pylock` |
//! | `package-lock.json` | `lock2build-import-npm`           |
//! | `Cargo.lock`        | `lock2build-import-cargo`         |
//!
//! Only these names are found; any other file is imported when named
//! explicitly ([`LockKind::from_path`], `lock2build app --lockfile PATH`):
//! `*.txt` is a requirements file, `<script>.py.lock` the uv.lock of a
//! PEP 723 script (`uv lock --script`). Which one `app` builds is
//! [`crate::pick`]'s choice.

use anyhow::{bail, Result};
use lock2build_model::{Graph, ImportError, LockInput, ProjectFiles};
use std::path::{Path, PathBuf};

/// A lockfile format lock2build reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LockKind {
    /// `poetry.lock`.
    Poetry,
    /// `uv.lock`.
    Uv,
    /// A hashed `requirements.txt`.
    Requirements,
    /// A PEP 751 `pylock.toml` (or `pylock.<name>.toml`).
    Pylock,
    /// `package-lock.json`.
    Npm,
    /// `Cargo.lock`.
    Cargo,
}

impl LockKind {
    /// Every kind, in the order they are looked for.
    pub const ALL: [LockKind; 6] = [
        LockKind::Poetry,
        LockKind::Uv,
        LockKind::Requirements,
        LockKind::Pylock,
        LockKind::Npm,
        LockKind::Cargo,
    ];

    /// The ecosystem its packages belong to.
    pub fn ecosystem(self) -> lock2build_model::Ecosystem {
        use lock2build_model::Ecosystem;
        match self {
            LockKind::Poetry | LockKind::Uv | LockKind::Requirements | LockKind::Pylock => {
                Ecosystem::Pypi
            }
            LockKind::Npm => Ecosystem::Npm,
            LockKind::Cargo => Ecosystem::Crates,
        }
    }

    /// The file name of this kind of lockfile (for `pylock.toml`, the
    /// default one of its names).
    pub fn file_name(self) -> &'static str {
        match self {
            LockKind::Poetry => "poetry.lock",
            LockKind::Uv => "uv.lock",
            LockKind::Requirements => "requirements.txt",
            LockKind::Pylock => "pylock.toml",
            LockKind::Npm => "package-lock.json",
            LockKind::Cargo => "Cargo.lock",
        }
    }

    /// The kind a file name stands for, among the names found on their
    /// own: the exact names, and PEP 751's `pylock.<name>.toml`.
    pub fn from_file_name(name: &str) -> Option<LockKind> {
        if is_named_pylock(name) {
            return Some(LockKind::Pylock);
        }
        LockKind::ALL.into_iter().find(|k| k.file_name() == name)
    }

    /// The kind of a lockfile named explicitly: the names above, any
    /// `*.txt` (a requirements file such as `requirements/main.txt`) and
    /// `<script>.py.lock` (a uv.lock written by `uv lock --script`).
    pub fn from_path(path: &Path) -> Option<LockKind> {
        let name = path.file_name()?.to_str()?;
        LockKind::from_file_name(name).or_else(|| {
            if name.ends_with(".txt") {
                Some(LockKind::Requirements)
            } else if name.ends_with(".py.lock") {
                Some(LockKind::Uv)
            } else {
                None
            }
        })
    }
}

/// `pylock.<name>.toml` (PEP 751: `<name>` has no dot).
fn is_named_pylock(name: &str) -> bool {
    name.strip_prefix("pylock.")
        .and_then(|rest| rest.strip_suffix(".toml"))
        .is_some_and(|middle| !middle.is_empty() && !middle.contains('.'))
}

/// A lockfile found in a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundLock {
    /// Its kind.
    pub kind: LockKind,
    /// Its path on disk.
    pub path: PathBuf,
    /// Its path relative to the project directory (for messages and plans).
    pub display: PathBuf,
}

const SKIP_DIRS: &[&str] = &[
    "node_modules",
    "target",
    ".venv",
    "venv",
    ".git",
    "result",
    "__pycache__",
    "dist",
    "build",
];

/// Lockfiles in `dir` and its immediate subdirectories.
pub fn find_lockfiles(dir: &Path) -> Result<Vec<FoundLock>> {
    if !dir.is_dir() {
        bail!("{}: no such directory", dir.display());
    }
    let mut found = Vec::new();
    let mut dirs = vec![(dir.to_path_buf(), PathBuf::new())];
    let mut subdirs: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (!name.starts_with('.') && !SKIP_DIRS.contains(&name.as_str()))
                .then(|| (e.path(), PathBuf::from(name)))
        })
        .collect();
    subdirs.sort();
    dirs.extend(subdirs);
    for (path, rel) in dirs {
        let mut here: Vec<(LockKind, String)> = std::fs::read_dir(&path)?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file() || t.is_symlink()))
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                Some((LockKind::from_file_name(&name)?, name))
            })
            .filter(|(_, name)| path.join(name).is_file())
            .collect();
        here.sort();
        for (kind, name) in here {
            found.push(FoundLock {
                kind,
                path: path.join(&name),
                display: rel.join(&name),
            });
        }
    }
    if found.is_empty() {
        bail!("{}", no_lockfile_message(dir));
    }
    Ok(found)
}

/// The message for a directory with no lockfile: which command makes one.
fn no_lockfile_message(dir: &Path) -> String {
    let mut hints = Vec::new();
    let pyproject = std::fs::read_to_string(dir.join("pyproject.toml")).unwrap_or_default();
    if pyproject.contains("[tool.poetry") {
        hints.push("`poetry lock` (this pyproject.toml uses Poetry)");
    } else if !pyproject.is_empty() {
        hints.push("`uv lock` or `poetry lock`");
    }
    if dir.join("requirements.in").is_file() || dir.join("requirements.txt").is_file() {
        hints.push("`pip-compile --generate-hashes requirements.in` or `uv pip compile --generate-hashes requirements.in -o requirements.txt`");
    }
    if dir.join("package.json").is_file() {
        hints.push("`npm install --package-lock-only`");
    }
    if dir.join("Cargo.toml").is_file() {
        hints.push("`cargo generate-lockfile`");
    }
    let mut msg = format!(
        "{}: no lockfile found (looked for poetry.lock, uv.lock, requirements.txt, pylock.toml, package-lock.json, Cargo.lock here and one directory down)",
        dir.display()
    );
    for file in hashed_requirement_files(dir) {
        msg.push_str(&format!(
            "\n  note: {} looks like a hashed requirements file: `lock2build app --lockfile {}` builds it",
            file.display(),
            dir.join(&file).display()
        ));
    }
    if hints.is_empty() {
        msg.push_str("\n  help: lock2build builds from an existing lockfile; make one with your package manager first");
    } else {
        msg.push_str(&format!("\n  help: make one with {}", hints.join("; or ")));
    }
    msg
}

/// `*.txt` files in `dir` and its `requirements/` folder that pin with
/// `--hash` (sigstore's `requirements/main.txt`), relative to `dir`: locks
/// under a name lock2build does not look for on its own.
pub fn hashed_requirement_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for sub in ["", "requirements"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.ends_with(".txt") || name == "requirements.txt" {
                continue;
            }
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            if text.contains("--hash=") {
                files.push(Path::new(sub).join(name));
            }
        }
    }
    files.sort();
    files
}

/// Reads files beside a lockfile, refusing paths that leave the project.
struct DirFiles {
    dir: PathBuf,
}

impl ProjectFiles for DirFiles {
    fn read(&self, path: &Path) -> Option<String> {
        std::fs::read_to_string(self.dir.join(path)).ok()
    }
}

/// Imports one lockfile.
pub fn import(lock: &FoundLock) -> Result<Graph, ImportError> {
    let contents = std::fs::read_to_string(&lock.path).map_err(|e| {
        ImportError::new(&lock.display, format!("cannot read the lockfile: {e}"))
            .with_help("check the file exists and is readable UTF-8 text")
    })?;
    let dir = lock
        .path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let files = DirFiles { dir };
    let input = LockInput {
        path: &lock.display,
        contents: &contents,
        files: &files,
    };
    let graph = match lock.kind {
        LockKind::Poetry => lock2build_import_poetry::import(&input),
        LockKind::Uv => lock2build_import_uv::import(&input),
        LockKind::Requirements => lock2build_import_requirements::import(&input),
        LockKind::Pylock => lock2build_import_pylock::import(&input),
        LockKind::Npm => lock2build_import_npm::import(&input),
        LockKind::Cargo => lock2build_import_cargo::import(&input),
    }?;
    // No name or path from the lock leaves its directory downstream.
    lock2build_model::names::check_graph(&graph)?;
    Ok(graph)
}
