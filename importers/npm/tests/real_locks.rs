//! Real locks of cases other tools' test suites found (fixtures/npm/README.md
//! says how each was made): a project bundling its own dependencies, an
//! npm-shrinkwrap.json, fsevents in a lockfileVersion 1 lock, optional peers.

mod common;

use common::{at, fixture_dir, import_case, import_text};
use lock2build_model::{DepKind, LockInput, MemoryFiles};
use std::path::Path;

#[test]
fn what_the_project_bundles_is_fetched_what_a_dependency_bundles_is_not() {
    // bundleDependencies: ["ms", "debug"]; npm flags both `inBundle`.
    let lock = std::fs::read_to_string(fixture_dir("bundled").join("package-lock.json")).unwrap();
    assert!(lock.contains("\"inBundle\": true"));
    let graph = import_case("bundled");
    for (location, file) in [
        ("node_modules/ms", "ms-2.1.3.tgz"),
        ("node_modules/debug", "debug-4.4.0.tgz"),
        ("node_modules/picocolors", "picocolors-1.1.1.tgz"),
    ] {
        let package = at(&graph, location);
        assert!(!package.flags.in_bundle, "{location}");
        let artifact = &package.artifacts[0];
        assert_eq!(artifact.filename.as_deref(), Some(file));
        assert!(!artifact.hashes.is_empty(), "{location}");
    }
}

#[test]
fn npm_shrinkwrap_json_is_a_package_lock() {
    let dir = fixture_dir("shrinkwrap");
    let lock = std::fs::read_to_string(dir.join("npm-shrinkwrap.json")).unwrap();
    let manifest = std::fs::read_to_string(dir.join("package.json")).unwrap();
    let files = MemoryFiles::empty().with("package.json", &manifest);
    let graph = lock2build_import_npm::import(&LockInput {
        path: Path::new("npm-shrinkwrap.json"),
        contents: &lock,
        files: &files,
    })
    .unwrap();
    assert_eq!(graph.format, "npm-shrinkwrap.json v3");
    assert_eq!(graph.packages.len(), 3);
    assert_eq!(at(&graph, "node_modules/ms").version, "2.1.3");
}

#[test]
fn a_v1_lock_does_not_say_that_fsevents_is_for_darwin() {
    // Made by npm 6 with chokidar 2: fsevents 1 is optional, and its
    // `os: ["darwin"]` is only in its own package.json (the builder reads it).
    let graph = import_case("v1-fsevents");
    assert_eq!(graph.format, "package-lock.json v1");
    let fsevents = at(&graph, "node_modules/fsevents");
    assert_eq!(fsevents.version, "1.2.13");
    assert!(fsevents.flags.optional);
    assert!(fsevents.platform.is_empty());
    for only_for_fsevents in ["nan", "bindings", "file-uri-to-path"] {
        assert!(
            at(&graph, &format!("node_modules/{only_for_fsevents}"))
                .flags
                .optional
        );
    }
}

#[test]
fn optional_peers_are_marked_on_their_edge() {
    // cosmiconfig 9: peerDependencies typescript, peerDependenciesMeta
    // typescript optional; the project has typescript as a dev dependency.
    let graph = import_case("peers-optional");
    let cosmiconfig = at(&graph, "node_modules/cosmiconfig");
    let edge = cosmiconfig
        .dependencies
        .iter()
        .find(|d| d.name == "typescript")
        .expect("the peer edge to typescript");
    assert_eq!(edge.kind, DepKind::Peer);
    assert_eq!(edge.groups, ["optional"]);
    assert!(at(&graph, "node_modules/typescript").flags.dev_optional);
    // A required peer is not marked (locked with --legacy-peer-deps:
    // react is `dev`, though react-dom needs it as a peer).
    let graph = import_text(
        &std::fs::read_to_string(fixture_dir("peers-legacy").join("package-lock.json")).unwrap(),
        None,
    )
    .unwrap();
    let react_dom = at(&graph, "node_modules/react-dom");
    let edge = react_dom
        .dependencies
        .iter()
        .find(|d| d.name == "react")
        .unwrap();
    assert_eq!(edge.kind, DepKind::Peer);
    assert!(edge.groups.is_empty());
    assert!(at(&graph, "node_modules/react").flags.dev);
}
