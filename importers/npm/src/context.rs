//! What every reading step needs to report an error: the lockfile's and the
//! manifest's paths and the lines of their keys.

use crate::positions::KeyLines;
use lock2build_model::ImportError;
use std::path::{Path, PathBuf};

/// Help for locks that disagree with themselves or with `package.json`.
pub(crate) const HELP_REPAIR: &str =
    "run `npm install` to bring package-lock.json up to date, then import again";

/// Help for locks this importer cannot read at all.
pub(crate) const HELP_REGENERATE: &str =
    "regenerate the lock with npm 7 or later: `npm install --package-lock-only`";

/// Paths and positions of the files being imported.
pub(crate) struct Context {
    pub lock_path: PathBuf,
    pub lock_lines: KeyLines,
    pub manifest_path: PathBuf,
}

impl Context {
    pub(crate) fn new(lock_path: &Path, lock_text: &str) -> Self {
        Context {
            lock_path: lock_path.to_owned(),
            lock_lines: KeyLines::scan(lock_text),
            manifest_path: lock_path.with_file_name("package.json"),
        }
    }

    /// An error about the lockfile, at `line` when known.
    pub(crate) fn lock_error(
        &self,
        message: impl Into<String>,
        line: Option<usize>,
    ) -> ImportError {
        let error = ImportError::new(&self.lock_path, message);
        match line {
            Some(line) => error.at_line(line),
            None => error,
        }
    }

    /// An error about `package.json`, at `line` when known.
    pub(crate) fn manifest_error(
        &self,
        message: impl Into<String>,
        line: Option<usize>,
    ) -> ImportError {
        let error = ImportError::new(&self.manifest_path, message);
        match line {
            Some(line) => error.at_line(line),
            None => error,
        }
    }
}
