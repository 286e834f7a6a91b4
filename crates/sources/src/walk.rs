//! Finding lockfiles: in a project (the directory and one level down, as
//! `lock2build plan` does) or in a whole tree (`--recursive`).
//!
//! The recursive walk does not follow symbolic links and skips directories
//! that hold installed or built copies rather than projects:
//! `node_modules`, `target`, `.venv`, `venv`, `__pycache__`, `result`, and
//! every hidden directory (`.git`, `.tox`, …). Every lockfile found is its
//! own project.

use lock2build_plan::discover::{self, FoundLock, LockKind};
use std::path::{Path, PathBuf};

const SKIP_DIRS: &[&str] = &[
    "node_modules",
    "target",
    ".venv",
    "venv",
    "__pycache__",
    "result",
];

/// Lockfiles under `root`, sorted by path; `display` is relative to `root`.
/// Directories that cannot be read are returned in the second list with the
/// reason.
pub fn find_recursive(root: &Path) -> (Vec<FoundLock>, Vec<(PathBuf, String)>) {
    let mut found = Vec::new();
    let mut unreadable = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) => {
                unreadable.push((dir.clone(), format!("cannot read the directory: {e}")));
                continue;
            }
        };
        for entry in entries.filter_map(Result::ok) {
            let Ok(file_type) = entry.file_type() else {
                continue;
            };
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if file_type.is_dir() {
                if !name.starts_with('.') && !SKIP_DIRS.contains(&name.as_str()) {
                    stack.push(path);
                }
            } else if file_type.is_file() {
                if let Some(kind) = LockKind::from_file_name(&name) {
                    let display = path
                        .strip_prefix(root)
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|_| path.clone());
                    found.push(FoundLock {
                        kind,
                        path,
                        display,
                    });
                }
            }
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    (found, unreadable)
}

/// Lockfiles of the project in `dir` (the directory and its immediate
/// subdirectories), or why there are none.
pub fn find_in_project(dir: &Path) -> Result<Vec<FoundLock>, String> {
    discover::find_lockfiles(dir).map_err(|e| format!("{e:#}"))
}
