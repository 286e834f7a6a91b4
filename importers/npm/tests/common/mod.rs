//! Loading the fixtures of `fixtures/npm/`.
#![allow(dead_code)]

use lock2build_model::{Graph, ImportError, LockInput, MemoryFiles, PackageIndex};
use std::path::{Path, PathBuf};

/// The folder of one fixture case.
pub fn fixture_dir(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/npm")
        .join(case)
}

/// The lockfile and manifest texts of a case.
pub fn texts(case: &str) -> (String, Option<String>) {
    let dir = fixture_dir(case);
    let lock = std::fs::read_to_string(dir.join("package-lock.json")).expect("fixture lock");
    let manifest = std::fs::read_to_string(dir.join("package.json")).ok();
    (lock, manifest)
}

/// Imports a lock text with an optional package.json text.
pub fn import_text(lock: &str, manifest: Option<&str>) -> Result<Graph, ImportError> {
    let mut files = MemoryFiles::empty();
    if let Some(manifest) = manifest {
        files = files.with("package.json", manifest);
    }
    let input = LockInput {
        path: Path::new("package-lock.json"),
        contents: lock,
        files: &files,
    };
    lock2build_import_npm::import(&input)
}

/// Imports a fixture case.
pub fn import_case(case: &str) -> Graph {
    let (lock, manifest) = texts(case);
    match import_text(&lock, manifest.as_deref()) {
        Ok(graph) => graph,
        Err(e) => panic!("{case}: {e}"),
    }
}

/// The package at a location.
pub fn at<'g>(graph: &'g Graph, location: &str) -> &'g lock2build_model::Package {
    graph
        .packages
        .iter()
        .find(|p| p.location.as_deref() == Some(location))
        .unwrap_or_else(|| panic!("no package at {location}"))
}

/// The index of the package at a location.
pub fn index_at(graph: &Graph, location: &str) -> PackageIndex {
    PackageIndex(
        graph
            .packages
            .iter()
            .position(|p| p.location.as_deref() == Some(location))
            .unwrap_or_else(|| panic!("no package at {location}")),
    )
}
