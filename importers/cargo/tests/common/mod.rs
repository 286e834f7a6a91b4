//! Helpers shared by the integration tests: reading fixtures from disk.
#![allow(dead_code)]

use lock2build_model::{Graph, ImportError, LockInput, MemoryFiles, ProjectFiles};
use std::path::{Path, PathBuf};

/// `fixtures/cargo/<name>` in the repository.
pub fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/cargo")
        .join(name)
}

/// Project files read from a directory on disk.
pub struct DirFiles(pub PathBuf);

impl ProjectFiles for DirFiles {
    fn read(&self, path: &Path) -> Option<String> {
        std::fs::read_to_string(self.0.join(path)).ok()
    }
}

/// The lockfile text of a fixture.
pub fn lock_text(name: &str) -> String {
    std::fs::read_to_string(fixture_dir(name).join("Cargo.lock")).expect("fixture lock")
}

/// Imports `lock` with the files of `files`.
pub fn import_with(lock: &str, files: &dyn ProjectFiles) -> Result<Graph, ImportError> {
    lock2build_import_cargo::import(&LockInput {
        path: Path::new("Cargo.lock"),
        contents: lock,
        files,
    })
}

/// Imports a fixture as it is on disk.
pub fn import_fixture(name: &str) -> Graph {
    let lock = lock_text(name);
    import_with(&lock, &DirFiles(fixture_dir(name))).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Every file of a fixture but the lock (manifests and stubs), in memory,
/// so a test can change one.
pub fn fixture_files(name: &str) -> MemoryFiles {
    let root = fixture_dir(name);
    let mut files = MemoryFiles::empty();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("fixture dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "Cargo.toml") {
                let relative = path.strip_prefix(&root).expect("inside").to_path_buf();
                files = files.with(relative, std::fs::read_to_string(&path).expect("manifest"));
            }
        }
    }
    files
}
