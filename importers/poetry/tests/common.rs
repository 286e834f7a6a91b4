//! Loading the fixtures under `fixtures/poetry/`.

#![allow(dead_code)]

use lock2build_model::{Graph, ImportError, LockInput, MemoryFiles, Package};
use std::path::{Path, PathBuf};

pub fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/poetry")
        .join(name)
}

pub fn read(name: &str, file: &str) -> String {
    std::fs::read_to_string(fixture_dir(name).join(file))
        .unwrap_or_else(|e| panic!("{name}/{file}: {e}"))
}

/// The lockfile path as messages and snapshots show it.
pub fn lock_path(name: &str) -> PathBuf {
    PathBuf::from(format!("fixtures/poetry/{name}/poetry.lock"))
}

pub fn import_text(name: &str, lock: &str, pyproject: Option<&str>) -> Result<Graph, ImportError> {
    let files = match pyproject {
        Some(text) => MemoryFiles::empty().with("pyproject.toml", text),
        None => MemoryFiles::empty(),
    };
    let path = lock_path(name);
    lock2build_import_poetry::import(&LockInput {
        path: &path,
        contents: lock,
        files: &files,
    })
}

pub fn import_fixture(name: &str) -> Graph {
    let lock = read(name, "poetry.lock");
    let pyproject = read(name, "pyproject.toml");
    import_text(name, &lock, Some(&pyproject)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// `expected-counts.json`, made by `fixtures/poetry/count_packages.py`.
pub fn expected(name: &str, key: &str) -> u64 {
    let counts: serde_json::Value =
        serde_json::from_str(&read(name, "expected-counts.json")).unwrap();
    counts[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{name}: no {key}"))
}

pub fn root(graph: &Graph) -> &Package {
    assert_eq!(graph.roots.len(), 1);
    graph.package(graph.roots[0])
}

pub fn by_name_version<'g>(graph: &'g Graph, name: &str, version: &str) -> &'g Package {
    graph
        .packages
        .iter()
        .find(|p| p.name == name && p.version == version)
        .unwrap_or_else(|| panic!("no {name} {version}"))
}

/// Locked packages (the root excluded).
pub fn locked_count(graph: &Graph) -> usize {
    graph.packages.len() - graph.roots.len()
}

pub fn artifact_count(graph: &Graph) -> usize {
    graph
        .packages
        .iter()
        .flat_map(|p| &p.artifacts)
        .filter(|a| a.kind != lock2build_model::ArtifactKind::Git)
        .count()
}
