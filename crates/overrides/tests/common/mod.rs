//! Shared helpers for the integration tests.
#![allow(dead_code)]

use lock2build_overrides::{Database, LayerKind, LayerSource};
use std::path::PathBuf;

/// The repository's `overrides/` directory.
pub fn community_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../overrides")
}

/// The community layer as a source.
pub fn community_source() -> LayerSource {
    LayerSource::Dir {
        kind: LayerKind::Community,
        root: community_dir(),
    }
}

/// The community database, loaded; panics listing every problem.
pub fn community() -> Database {
    match Database::load(&[community_source()]) {
        Ok(db) => db,
        Err(errors) => {
            let list: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            panic!("community database does not load:\n{}", list.join("\n"))
        }
    }
}
