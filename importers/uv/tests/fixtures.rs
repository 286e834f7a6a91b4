//! The importer over the real locks in `fixtures/uv/` (made by uv 0.13, see
//! the README there), with whole-graph snapshots and checks on what matters.

use lock2build_import_uv::import;
use lock2build_model::{
    ArtifactKind, DepKind, Graph, HashAlgorithm, ImportError, LockInput, MemoryFiles, Package,
    PackageIndex, Source,
};
use std::path::{Path, PathBuf};

fn fixture(case: &str) -> (PathBuf, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/uv")
        .join(case)
        .join("uv.lock");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (PathBuf::from(format!("fixtures/uv/{case}/uv.lock")), text)
}

fn import_text(path: &Path, text: &str) -> Result<Graph, ImportError> {
    let files = MemoryFiles::empty();
    import(&LockInput {
        path,
        contents: text,
        files: &files,
    })
}

fn load(case: &str) -> Graph {
    let (path, text) = fixture(case);
    import_text(&path, &text).unwrap_or_else(|e| panic!("{e}"))
}

fn one<'g>(graph: &'g Graph, name: &str, version: &str) -> (PackageIndex, &'g Package) {
    let found: Vec<_> = graph
        .find(name)
        .filter(|&i| graph.package(i).version == version)
        .collect();
    assert_eq!(found.len(), 1, "{name} {version}");
    (found[0], graph.package(found[0]))
}

/// Package count of an independent reading: `[[package]]` headers.
fn header_count(case: &str) -> usize {
    fixture(case)
        .1
        .lines()
        .filter(|l| l.trim() == "[[package]]")
        .count()
}

#[test]
fn project_snapshot() {
    insta::assert_json_snapshot!("project", load("project"));
}

#[test]
fn workspace_snapshot() {
    insta::assert_json_snapshot!("workspace", load("workspace"));
}

#[test]
fn native_app_snapshot() {
    insta::assert_json_snapshot!("native-app", load("native-app"));
}

/// `uv-export.txt` beside each lock is `uv export --frozen --all-extras
/// --all-groups --no-hashes --all-packages`: one line per package to
/// install, which leaves out virtual projects.
fn exported_count(case: &str) -> usize {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/uv")
        .join(case)
        .join("uv-export.txt");
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(' '))
        .count()
}

#[test]
fn old_uv_snapshot() {
    insta::assert_json_snapshot!("old-uv-0.4", load("old-uv-0.4"));
}

/// uv 0.4.30 wrote no `revision` and kept dev dependencies in
/// `tool.uv.dev-dependencies`; the lock still says `version = 1`.
#[test]
fn lock_without_revision_from_uv_0_4() {
    let graph = load("old-uv-0.4");
    assert_eq!(graph.format, "uv.lock v1");
    let root = graph.package(graph.roots[0]);
    assert_eq!(root.name, "oldproj");
    let kinds: Vec<(&str, DepKind, &[String])> = root
        .dependencies
        .iter()
        .map(|d| (d.name.as_str(), d.kind, d.groups.as_slice()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("attrs", DepKind::Normal, &[][..]),
            ("packaging", DepKind::Normal, &[][..]),
            ("click", DepKind::Optional, &["cli".to_owned()][..]),
            ("iniconfig", DepKind::Dev, &["dev".to_owned()][..]),
        ]
    );
}

#[test]
fn counts_match_the_lock_and_uv_export() {
    for (case, total) in [
        ("project", 19),
        ("native-app", 9),
        ("workspace", 6),
        ("old-uv-0.4", 5),
    ] {
        let graph = load(case);
        assert_eq!(graph.packages.len(), total, "{case}");
        assert_eq!(graph.packages.len(), header_count(case), "{case}");
        let installed = graph
            .packages
            .iter()
            .filter(|p| !matches!(p.source, Source::Virtual { .. }))
            .count();
        assert_eq!(installed, exported_count(case), "{case}");
    }
}

#[test]
fn fork_gives_one_package_per_version_and_marked_edges() {
    let graph = load("project");
    assert_eq!(graph.requires_python.as_deref(), Some(">=3.9"));
    assert_eq!(graph.format, "uv.lock v1 (revision 5)");
    let numpys: Vec<_> = graph
        .find("numpy")
        .map(|i| graph.package(i).version.clone())
        .collect();
    assert_eq!(numpys, ["2.0.2", "2.2.6", "2.4.6", "2.5.5"]);

    let root = graph.package(graph.roots[0]);
    assert_eq!(root.name, "demo");
    let numpy_edges: Vec<(String, Option<String>)> = root
        .dependencies
        .iter()
        .filter(|d| d.name == "numpy")
        .map(|d| (graph.package(d.target).version.clone(), d.marker.clone()))
        .collect();
    assert_eq!(
        numpy_edges,
        [
            (
                "2.0.2".to_owned(),
                Some("python_full_version < '3.10'".to_owned())
            ),
            (
                "2.2.6".to_owned(),
                Some("python_full_version == '3.10.*'".to_owned())
            ),
            (
                "2.4.6".to_owned(),
                Some("python_full_version == '3.11.*'".to_owned())
            ),
            (
                "2.5.5".to_owned(),
                Some("python_full_version >= '3.12'".to_owned())
            ),
        ]
    );

    // The fork reaches transitive edges too: each requests picks its urllib3.
    let (_, old_requests) = one(&graph, "requests", "2.32.5");
    let (_, new_requests) = one(&graph, "requests", "2.34.2");
    let urllib3_of = |p: &Package| {
        p.dependencies
            .iter()
            .find(|d| d.name == "urllib3")
            .map(|d| graph.package(d.target).version.clone())
    };
    assert_eq!(urllib3_of(old_requests).as_deref(), Some("2.6.3"));
    assert_eq!(urllib3_of(new_requests).as_deref(), Some("2.8.0"));
    let requests_edge = root
        .dependencies
        .iter()
        .find(|d| d.name == "requests")
        .unwrap();
    assert_eq!(requests_edge.extras, ["socks"]);
}

#[test]
fn extras_groups_and_local_sources() {
    let graph = load("project");
    let root = graph.package(graph.roots[0]);
    assert_eq!(
        root.source,
        Source::Directory {
            path: ".".into(),
            editable: true
        }
    );
    assert!(root.artifacts.is_empty());

    let yaml = root
        .dependencies
        .iter()
        .find(|d| d.name == "pyyaml")
        .unwrap();
    assert_eq!(
        (yaml.kind, yaml.groups.as_slice()),
        (DepKind::Optional, &["yaml".to_owned()][..])
    );
    let dev: Vec<_> = root
        .dependencies
        .iter()
        .filter(|d| d.kind == DepKind::Dev)
        .collect();
    assert_eq!(dev.len(), 2);
    assert!(dev
        .iter()
        .all(|d| d.name == "iniconfig" && d.groups == ["dev"]));

    let (_, helper) = one(&graph, "helper", "0.2.0");
    assert_eq!(
        helper.source,
        Source::Directory {
            path: "helper".into(),
            editable: false
        }
    );
    let (_, requests) = one(&graph, "requests", "2.34.2");
    let socks = requests
        .dependencies
        .iter()
        .find(|d| d.name == "pysocks")
        .unwrap();
    assert_eq!(
        (socks.kind, socks.groups.as_slice()),
        (DepKind::Optional, &["socks".to_owned()][..])
    );
}

#[test]
fn git_source_keeps_commit_and_tag() {
    let graph = load("project");
    let (_, tinygit) = one(&graph, "tinygit", "0.1.0");
    let Source::Git {
        url,
        reference,
        commit,
        subdirectory,
    } = &tinygit.source
    else {
        panic!("{:?}", tinygit.source)
    };
    assert_eq!(url, "file:///tmp/pyreq/gitdep");
    assert_eq!(reference.as_deref(), Some("v0.1.0"));
    assert_eq!(commit, "34291dc979ddc2b9371dcfdf1a139d5cc30ab7e6");
    assert_eq!(*subdirectory, None);
    assert_eq!(tinygit.artifacts.len(), 1);
    assert_eq!(tinygit.artifacts[0].kind, ArtifactKind::Git);
}

#[test]
fn artifacts_carry_url_filename_hash_size() {
    let graph = load("native-app");
    let (_, psycopg2) = one(&graph, "psycopg2", "2.9.13");
    let sdist = psycopg2
        .artifacts
        .iter()
        .find(|a| a.kind == ArtifactKind::Sdist)
        .unwrap();
    assert_eq!(sdist.filename.as_deref(), Some("psycopg2-2.9.13.tar.gz"));
    assert_eq!(sdist.size, Some(378068));
    assert_eq!(sdist.hashes.len(), 1);
    assert_eq!(sdist.hashes[0].algorithm, HashAlgorithm::Sha256);
    assert_eq!(
        sdist.hashes[0].hex(),
        "d36784fc2dae69523ba4b79c7d1d1b4d6e83e87836874f111262f4db940b16a6"
    );
    assert!(sdist
        .url
        .as_deref()
        .unwrap()
        .ends_with("/psycopg2-2.9.13.tar.gz"));
    // No Linux wheel: only Windows ones.
    let wheels: Vec<_> = psycopg2
        .artifacts
        .iter()
        .filter(|a| a.kind == ArtifactKind::Wheel)
        .collect();
    assert!(!wheels.is_empty());
    assert!(wheels
        .iter()
        .all(|w| w.filename.as_deref().unwrap().contains("win")));

    // Every registry artifact of every package is hashed and named.
    for package in &graph.packages {
        for artifact in &package.artifacts {
            assert_eq!(artifact.hashes.len(), 1, "{}", package.name);
            assert!(
                artifact.filename.is_some() && artifact.url.is_some(),
                "{}",
                package.name
            );
        }
    }
    let root = graph.package(graph.roots[0]);
    assert_eq!(root.name, "native-app");
    let names: Vec<_> = root.dependencies.iter().map(|d| d.name.as_str()).collect();
    // numpy forks: 2.4 for Python 3.11, 2.5 from 3.12 on.
    assert_eq!(
        names,
        [
            "cryptography",
            "lxml",
            "numpy",
            "numpy",
            "psycopg2",
            "pyyaml"
        ]
    );
}

#[test]
fn workspace_members_url_and_path_sources() {
    let graph = load("workspace");
    let mut roots: Vec<_> = graph
        .roots
        .iter()
        .map(|&i| graph.package(i).name.clone())
        .collect();
    roots.sort();
    assert_eq!(roots, ["alpha", "beta", "ws-root"]);
    let (_, root) = one(&graph, "ws-root", "0.0.0");
    assert_eq!(root.source, Source::Virtual { path: ".".into() });
    let (_, beta) = one(&graph, "beta", "2.0.0");
    assert_eq!(
        beta.source,
        Source::Directory {
            path: "packages/beta".into(),
            editable: true
        }
    );
    let idna = beta.dependencies.iter().find(|d| d.name == "idna").unwrap();
    assert_eq!(idna.marker.as_deref(), Some("sys_platform == 'linux'"));

    let (_, six) = one(&graph, "six", "1.17.0");
    let six_url = "https://files.pythonhosted.org/packages/b7/ce/149a00dd41f10bc29e5921b496af8b574d8413afcd5e30dfa0ed46c2cc5e/six-1.17.0-py2.py3-none-any.whl";
    assert_eq!(
        six.source,
        Source::Url {
            url: six_url.into(),
            subdirectory: None
        }
    );
    assert_eq!(
        six.artifacts[0].filename.as_deref(),
        Some("six-1.17.0-py2.py3-none-any.whl")
    );

    let (_, tinygit) = one(&graph, "tinygit", "0.1.0");
    assert_eq!(
        tinygit.source,
        Source::File {
            path: "wheels/tinygit-0.1.0-py3-none-any.whl".into()
        }
    );
    let wheel = &tinygit.artifacts[0];
    assert_eq!(
        (wheel.kind, wheel.url.as_deref()),
        (ArtifactKind::Wheel, None)
    );
    assert_eq!(
        wheel.filename.as_deref(),
        Some("tinygit-0.1.0-py3-none-any.whl")
    );
    assert_eq!(
        wheel.hashes[0].hex(),
        "0ba38c6caaeeddaccaf4a614e5d32ef1c57540ade8af922a4f027fb352b512ce"
    );
}

#[test]
fn every_package_is_reachable_from_the_roots() {
    for case in ["project", "workspace", "native-app", "old-uv-0.4"] {
        let graph = load(case);
        let mut seen = vec![false; graph.packages.len()];
        let mut stack: Vec<PackageIndex> = graph.roots.clone();
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut seen[i.0], true) {
                continue;
            }
            stack.extend(graph.package(i).dependencies.iter().map(|d| d.target));
        }
        assert!(seen.iter().all(|&s| s), "{case}: unreachable packages");
    }
}

fn load_path(rel: &str) -> Graph {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    import_text(Path::new(rel.rsplit('/').next().unwrap()), &text).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_script_lock_has_a_virtual_root_with_the_manifest_requirements() {
    // `uv lock --script hello.py`: `[manifest] requirements`, no project.
    let graph = load_path("script/hello.py.lock");
    assert_eq!(graph.roots.len(), 1);
    let root = graph.package(graph.roots[0]);
    assert_eq!(root.name, "hello");
    assert_eq!(root.source, Source::Virtual { path: ".".into() });
    let deps: Vec<(&str, &str)> = root
        .dependencies
        .iter()
        .map(|d| (d.name.as_str(), graph.package(d.target).version.as_str()))
        .collect();
    assert_eq!(deps, [("idna", "3.10"), ("six", "1.17.0")]);
    assert!(graph.warnings.is_empty());
}

#[test]
fn an_empty_lock_imports_with_no_root_and_a_warning() {
    // What `uv lock` writes for a Poetry pyproject (no `[project]`).
    let graph = load_path("pick/textual/uv.lock");
    assert!(graph.packages.is_empty());
    assert!(graph.roots.is_empty());
    assert_eq!(graph.warnings.len(), 1);
    assert!(
        graph.warnings[0].message.contains("no project package"),
        "{:?}",
        graph.warnings
    );
}
