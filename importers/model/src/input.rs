//! What an importer is given: the lockfile's text, and a way to read the
//! files next to it (manifests, `-r` includes) without doing I/O itself.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Read access to the project's files, relative to the lockfile's directory.
pub trait ProjectFiles {
    /// The text of `path` (relative to the lockfile's directory), or `None`
    /// when there is no such file. Callers treat unreadable files as absent.
    fn read(&self, path: &Path) -> Option<String>;
}

/// Project files held in memory (tests, fuzzing, or no project at all).
#[derive(Debug, Clone, Default)]
pub struct MemoryFiles(pub BTreeMap<PathBuf, String>);

impl MemoryFiles {
    /// No files.
    pub fn empty() -> Self {
        MemoryFiles::default()
    }

    /// Adds a file.
    pub fn with(mut self, path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        self.0.insert(path.into(), text.into());
        self
    }
}

impl ProjectFiles for MemoryFiles {
    fn read(&self, path: &Path) -> Option<String> {
        self.0.get(path).cloned()
    }
}

/// One lockfile to import.
pub struct LockInput<'a> {
    /// The lockfile's path as the user should see it in messages
    /// (e.g. `backend/poetry.lock`).
    pub path: &'a Path,
    /// The lockfile's text.
    pub contents: &'a str,
    /// The files beside it (`pyproject.toml`, `package.json`, `Cargo.toml`,
    /// included requirement files), relative to the lockfile's directory.
    pub files: &'a dyn ProjectFiles,
}
