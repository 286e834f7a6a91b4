//! The importer over the real fixtures in `fixtures/cargo/`: whole-graph
//! snapshots, the package list checked against `cargo metadata`, and plain
//! asserts on what matters (git commits, checksums as SRI, roots, v1
//! `[metadata]` checksums, alternative registries).

mod common;

use common::{fixture_dir, import_fixture};
use lock2build_model::{ArtifactKind, Graph, Source};
use std::collections::BTreeSet;

const ALL: [&str; 5] = [
    "v4-workspace",
    "v3-git",
    "v2-msrv",
    "v1-translated",
    "big-500",
];

/// The source of a package spelled as `cargo metadata` spells it.
fn cargo_source(source: &Source) -> String {
    match source {
        Source::Directory { .. } => "path".to_owned(),
        Source::Registry { url } if url.contains('+') => url.clone(),
        Source::Registry { url } => format!("registry+{url}"),
        Source::Git {
            url,
            reference,
            commit,
            ..
        } => match reference {
            Some(r) => format!("git+{url}?{r}#{commit}"),
            None => format!("git+{url}#{commit}"),
        },
        other => panic!("cargo has no such source: {other:?}"),
    }
}

/// `package …` and `member …` lines, as `summarize-metadata.sh` writes them.
fn graph_summary(graph: &Graph) -> BTreeSet<String> {
    let packages = graph.packages.iter().map(|p| {
        format!(
            "package {} {} {}",
            p.name,
            p.version,
            cargo_source(&p.source)
        )
    });
    let members = graph.roots.iter().map(|&r| {
        let p = graph.package(r);
        format!("member {} {}", p.name, p.version)
    });
    packages.chain(members).collect()
}

#[test]
fn packages_and_members_match_cargo_metadata() {
    for name in ALL {
        let graph = import_fixture(name);
        let saved = std::fs::read_to_string(fixture_dir(name).join("cargo-metadata.txt"))
            .expect("cargo-metadata.txt");
        let expected: BTreeSet<String> = saved.lines().map(str::to_owned).collect();
        let package_lines = expected
            .iter()
            .filter(|l| l.starts_with("package "))
            .count();
        assert_eq!(graph.packages.len(), package_lines, "{name}: package count");
        assert_eq!(graph_summary(&graph), expected, "{name}");
        assert!(graph.warnings.is_empty(), "{name}: {:?}", graph.warnings);
    }
}

#[test]
fn snapshots() {
    for name in ["v4-workspace", "v3-git", "v2-msrv", "v1-translated"] {
        let graph = import_fixture(name);
        insta::assert_json_snapshot!(name, graph);
    }
}

#[test]
fn big_lock_counts() {
    let graph = import_fixture("big-500");
    let edges: usize = graph.packages.iter().map(|p| p.dependencies.len()).sum();
    let crates = graph
        .packages
        .iter()
        .filter(|p| p.artifacts.iter().any(|a| a.kind == ArtifactKind::Crate))
        .count();
    let counts = serde_json::json!({
        "format": graph.format,
        "packages": graph.packages.len(),
        "crates": crates,
        "edges": edges,
        "roots": graph.roots.iter().map(|&r| &graph.package(r).name).collect::<Vec<_>>(),
    });
    insta::assert_json_snapshot!("big-500-counts", counts);
    assert_eq!(graph.packages.len(), 530);
}

#[test]
fn git_packages_keep_commit_and_reference() {
    let graph = import_fixture("v4-workspace");
    let gitdep = graph
        .find("gitdep")
        .map(|i| graph.package(i))
        .next()
        .expect("gitdep");
    assert_eq!(
        gitdep.source,
        Source::Git {
            url: "file:///tmp/lock2build-gitdep".to_owned(),
            reference: Some("branch=main".to_owned()),
            commit: "393193e7af7e7805ad9d15707cb62309f66a5245".to_owned(),
            subdirectory: None,
        }
    );
    let artifact = gitdep.artifacts.first().expect("a git artifact");
    assert_eq!(artifact.kind, ArtifactKind::Git);
    assert_eq!(
        artifact.url.as_deref(),
        Some("file:///tmp/lock2build-gitdep")
    );
}

#[test]
fn same_crate_from_two_git_references_is_two_packages() {
    let graph = import_fixture("v3-git");
    let gitdeps: Vec<_> = graph.find("gitdep").collect();
    assert_eq!(gitdeps.len(), 2);
    let references: Vec<_> = gitdeps
        .iter()
        .map(|&i| match &graph.package(i).source {
            Source::Git {
                reference, commit, ..
            } => (reference.clone(), commit.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    let commit = "393193e7af7e7805ad9d15707cb62309f66a5245".to_owned();
    assert_eq!(
        references,
        [
            (Some("branch=main".to_owned()), commit.clone()),
            (Some("rev=393193e7af7e".to_owned()), commit)
        ]
    );
    // The root depends on both, each edge on its own package.
    let root = graph.package(graph.roots[0]);
    let targets: BTreeSet<_> = root
        .dependencies
        .iter()
        .filter(|d| d.name == "gitdep")
        .map(|d| d.target)
        .collect();
    assert_eq!(targets, gitdeps.into_iter().collect());
}

#[test]
fn crates_io_checksums_become_sri_and_download_urls() {
    let graph = import_fixture("v4-workspace");
    let itoa = graph
        .find("itoa")
        .map(|i| graph.package(i))
        .next()
        .expect("itoa");
    let artifact = itoa.artifacts.first().expect("a .crate");
    assert_eq!(artifact.kind, ArtifactKind::Crate);
    assert_eq!(artifact.filename.as_deref(), Some("itoa-1.0.19.crate"));
    assert_eq!(
        artifact.url.as_deref(),
        Some("https://static.crates.io/crates/itoa/itoa-1.0.19.crate")
    );
    // `echo 3bd1…d4 | xxd -r -p | base64`
    let sri: Vec<String> = artifact.hashes.iter().map(|h| h.to_sri()).collect();
    assert_eq!(sri, ["sha256-O9FXTmF6mmwfj4GBvX6EHh8g5Cd2B+8olFdlGI1ihNQ="]);
    assert_eq!(
        itoa.source,
        Source::Registry {
            url: "https://github.com/rust-lang/crates.io-index".to_owned()
        }
    );
}

#[test]
fn sparse_alternative_registry_has_checksum_but_no_url() {
    let graph = import_fixture("v4-workspace");
    let local = graph
        .find("localcrate")
        .map(|i| graph.package(i))
        .next()
        .expect("localcrate");
    assert_eq!(
        local.source,
        Source::Registry {
            url: "sparse+http://127.0.0.1:8765/index/".to_owned()
        }
    );
    let artifact = local.artifacts.first().expect("a .crate");
    assert_eq!(artifact.url, None);
    assert_eq!(artifact.filename.as_deref(), Some("localcrate-0.1.0.crate"));
    let sri: Vec<String> = artifact.hashes.iter().map(|h| h.to_sri()).collect();
    assert_eq!(sri, ["sha256-wlwZ3AB50ZEYl6bAn1awQlurRtLxrZMHXGvaASwO9Uo="]);
}

#[test]
fn workspace_members_are_roots_with_their_directories() {
    let graph = import_fixture("v4-workspace");
    let roots: Vec<(&str, &Source)> = graph
        .roots
        .iter()
        .map(|&r| (graph.package(r).name.as_str(), &graph.package(r).source))
        .collect();
    let dir = |p: &str| Source::Directory {
        path: p.to_owned(),
        editable: false,
    };
    assert_eq!(
        roots,
        [
            ("app", &dir("crates/app")),
            ("helper", &dir("vendor/helper")),
            ("ws-util", &dir("crates/util"))
        ]
    );

    let graph = import_fixture("v2-msrv");
    let roots: Vec<(&str, &Source)> = graph
        .roots
        .iter()
        .map(|&r| (graph.package(r).name.as_str(), &graph.package(r).source))
        .collect();
    assert_eq!(
        roots,
        [("local-dep", &dir("local-dep")), ("v2demo", &dir("."))]
    );
}

#[test]
fn v1_metadata_checksums_equal_the_v2_checksums() {
    let v1 = import_fixture("v1-translated");
    let v2 = import_fixture("v2-msrv");
    assert_eq!(v1.format, "Cargo.lock v1");
    assert_eq!(v2.format, "Cargo.lock v2");
    let registry = |g: &Graph| -> Vec<(String, String, Vec<String>)> {
        g.packages
            .iter()
            .filter(|p| matches!(p.source, Source::Registry { .. }))
            .map(|p| {
                (
                    p.name.clone(),
                    p.version.clone(),
                    p.artifacts
                        .iter()
                        .flat_map(|a| &a.hashes)
                        .map(|h| h.to_sri())
                        .collect(),
                )
            })
            .collect()
    };
    let from_v1 = registry(&v1);
    assert_eq!(from_v1.len(), 4);
    assert!(
        from_v1.iter().all(|(_, _, hashes)| hashes.len() == 1),
        "{from_v1:?}"
    );
    assert_eq!(from_v1, registry(&v2));
    // Both itoa versions, each edge to its own.
    let root = v1.package(
        *v1.roots
            .iter()
            .find(|&&r| v1.package(r).name == "v1demo")
            .expect("v1demo"),
    );
    let itoas: Vec<&str> = root
        .dependencies
        .iter()
        .filter(|d| d.name == "itoa")
        .map(|d| v1.package(d.target).version.as_str())
        .collect();
    assert_eq!(itoas, ["0.4.8", "1.0.19"]);
}

#[test]
fn package_lines_point_at_their_headers() {
    for name in ["v4-workspace", "v1-translated"] {
        let graph = import_fixture(name);
        let text = common::lock_text(name);
        let lines: Vec<&str> = text.lines().collect();
        for p in &graph.packages {
            let line = p.line.expect("a line");
            assert_eq!(lines[line - 1], "[[package]]", "{name} {}", p.name);
            assert_eq!(lines[line], format!("name = \"{}\"", p.name));
        }
    }
}

#[test]
fn without_manifests_path_packages_are_roots_at_dot() {
    let lock = common::lock_text("v4-workspace");
    let graph =
        common::import_with(&lock, &lock2build_model::MemoryFiles::empty()).expect("imports");
    let roots: Vec<&str> = graph
        .roots
        .iter()
        .map(|&r| graph.package(r).name.as_str())
        .collect();
    assert_eq!(roots, ["app", "helper", "ws-util"]);
    assert!(graph.roots.iter().all(|&r| graph.package(r).source
        == Source::Directory {
            path: ".".to_owned(),
            editable: false
        }));
    assert_eq!(graph.warnings.len(), 1, "{:?}", graph.warnings);
}

/// A lockfile copied from cargo-lock's test data (no manifests).
fn import_upstream(file: &str) -> Graph {
    let text = std::fs::read_to_string(fixture_dir("upstream-cargo-lock").join(file))
        .expect("upstream lock");
    common::import_with(&text, &lock2build_model::MemoryFiles::empty())
        .unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn upstream_v1_lock_from_an_old_cargo() {
    let graph = import_upstream("Cargo.lock.v1");
    assert_eq!(graph.format, "Cargo.lock v1");
    assert_eq!(graph.packages.len(), 141);
    let registry: Vec<_> = graph
        .packages
        .iter()
        .filter(|p| matches!(p.source, Source::Registry { .. }))
        .collect();
    assert_eq!(registry.len(), 136);
    assert!(registry
        .iter()
        .all(|p| p.artifacts.len() == 1 && p.artifacts[0].hashes.len() == 1));
    let roots: Vec<&str> = graph
        .roots
        .iter()
        .map(|&r| graph.package(r).name.as_str())
        .collect();
    assert_eq!(
        roots,
        [
            "cargo",
            "cargo-platform",
            "cargo-test-macro",
            "cargo-test-support",
            "crates-io"
        ]
    );
    // Every edge lands on a package of the name it was written with.
    for p in &graph.packages {
        for d in &p.dependencies {
            assert_eq!(graph.package(d.target).name, d.name);
        }
    }
}

/// The version and `cargo metadata`-style source of `from`'s dependency
/// named `to`.
fn edge(graph: &Graph, from: &str, to: &str) -> (String, String) {
    let from = graph
        .find(from)
        .map(|i| graph.package(i))
        .next()
        .expect("from");
    let dep = from
        .dependencies
        .iter()
        .find(|d| d.name == to)
        .expect("edge");
    let target = graph.package(dep.target);
    (target.version.clone(), cargo_source(&target.source))
}

#[test]
fn dependencies_pick_their_package_by_version_and_source() {
    let crates_io = "registry+https://github.com/rust-lang/crates.io-index".to_owned();
    let rustsec_registry = "registry+https://github.com/rustsec/rustsec".to_owned();
    let cases = [
        (
            "single_version_different_registries",
            ("1.2.1", rustsec_registry.clone()),
            ("1.2.1", crates_io.clone()),
        ),
        (
            "single_version_different_source_types",
            (
                "1.2.1",
                "git+https://github.com/rustsec/rustsec#19152556777da5248ee0e7b562fdb37c76457c4b"
                    .to_owned(),
            ),
            ("1.2.1", crates_io.clone()),
        ),
        (
            "two_versions_different_registries",
            ("0.6.0", rustsec_registry),
            ("1.2.1", crates_io.clone()),
        ),
        (
            "two_versions_different_source_types",
            (
                "0.6.0",
                "git+https://github.com/rustsec/rustsec#d6629dbc30725ed892f781042adb3393a43ad4be"
                    .to_owned(),
            ),
            ("1.2.1", crates_io.clone()),
        ),
        (
            "two_versions_same_registry",
            ("0.6.0", crates_io.clone()),
            ("1.2.1", crates_io),
        ),
    ];
    for (file, from_example, from_bytestring) in cases {
        let graph = import_upstream(&format!("Cargo.lock.{file}"));
        let owned = |(v, s): (&str, String)| (v.to_owned(), s);
        assert_eq!(
            edge(&graph, "example", "bytes"),
            owned(from_example),
            "{file}"
        );
        assert_eq!(
            edge(&graph, "bytestring", "bytes"),
            owned(from_bytestring),
            "{file}"
        );
        assert_eq!(
            graph.packages.iter().filter(|p| p.name == "bytes").count(),
            2,
            "{file}"
        );
    }
}

#[test]
fn legacy_root_table_is_a_package_and_a_root() {
    // The layout of the oldest v1 locks: the root package in `[root]`.
    let lock = r#"[root]
name = "app"
version = "0.1.0"
dependencies = [
 "itoa 0.4.8 (registry+https://github.com/rust-lang/crates.io-index)",
]

[[package]]
name = "itoa"
version = "0.4.8"
source = "registry+https://github.com/rust-lang/crates.io-index"

[metadata]
"checksum itoa 0.4.8 (registry+https://github.com/rust-lang/crates.io-index)" = "b71991ff56294aa922b450139ee08b3bfc70982c6b2c7562771375cf73542dd4"
"#;
    let files = lock2build_model::MemoryFiles::empty().with(
        "Cargo.toml",
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\n[dependencies]\nitoa = \"0.4\"\n",
    );
    let graph = common::import_with(lock, &files).expect("imports");
    assert_eq!(graph.format, "Cargo.lock v1");
    let root = graph.package(graph.roots[0]);
    assert_eq!((root.name.as_str(), root.line), ("app", Some(1)));
    assert_eq!(
        root.source,
        Source::Directory {
            path: ".".to_owned(),
            editable: false
        }
    );
    let itoa = graph.package(root.dependencies[0].target);
    assert_eq!(
        itoa.artifacts[0].hashes[0].hex(),
        "b71991ff56294aa922b450139ee08b3bfc70982c6b2c7562771375cf73542dd4"
    );
    assert!(graph.warnings.is_empty(), "{:?}", graph.warnings);
}
