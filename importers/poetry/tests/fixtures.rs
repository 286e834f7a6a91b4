//! The importer over the real Poetry fixtures in `fixtures/poetry/`.

mod common;

use common::*;
use lock2build_model::{ArtifactKind, DepKind, Graph, HashAlgorithm, Source};

fn snapshot(name: &str, graph: &Graph) {
    insta::assert_json_snapshot!(name, serde_json::to_value(graph).unwrap());
}

/// Every fixture: package and file counts equal the tomllib count, no
/// content-hash warning (Poetry itself says each lock is fresh).
#[test]
fn counts_match_independent_count() {
    for name in [
        "markers-extras",
        "local-sources",
        "flask-pillow",
        "lock-2.0",
        "lock-1.1",
    ] {
        let graph = import_fixture(name);
        assert_eq!(
            locked_count(&graph) as u64,
            expected(name, "packages"),
            "{name}: packages"
        );
        assert_eq!(
            artifact_count(&graph) as u64,
            expected(name, "files"),
            "{name}: files"
        );
        assert!(
            graph.warnings.is_empty() && graph.stale.is_empty(),
            "{name}: unexpected warnings {:?} {:?}",
            graph.warnings,
            graph.stale
        );
        assert_eq!(
            graph.format,
            format!("poetry.lock {}", read_lock_version(name))
        );
        // Every edge points inside the graph.
        for package in &graph.packages {
            for dep in &package.dependencies {
                assert!(dep.target.0 < graph.packages.len());
                assert_eq!(graph.package(dep.target).name, dep.name);
            }
        }
    }
}

fn read_lock_version(name: &str) -> String {
    let counts: serde_json::Value =
        serde_json::from_str(&read(name, "expected-counts.json")).unwrap();
    counts["lock_version"].as_str().unwrap().to_owned()
}

#[test]
fn markers_extras() {
    let graph = import_fixture("markers-extras");
    snapshot("markers-extras", &graph);
    assert_eq!(graph.requires_python.as_deref(), Some(">=3.9,<3.14"));

    let root = root(&graph);
    assert_eq!(root.name, "markers-extras");
    assert_eq!(
        root.source,
        Source::Virtual { path: ".".into() },
        "package-mode = false"
    );

    // The two numpy releases, each reached from its own alternative.
    let numpy_edges: Vec<_> = root
        .dependencies
        .iter()
        .filter(|d| d.name == "numpy")
        .collect();
    assert_eq!(numpy_edges.len(), 2);
    let old = numpy_edges
        .iter()
        .find(|d| graph.package(d.target).version == "2.0.2")
        .unwrap();
    let new = numpy_edges
        .iter()
        .find(|d| graph.package(d.target).version == "2.2.6")
        .unwrap();
    assert_eq!(old.marker.as_deref(), Some("python_version < \"3.10\""));
    assert_eq!(new.marker.as_deref(), Some("python_version >= \"3.10\""));
    assert_eq!(
        by_name_version(&graph, "numpy", "2.0.2").marker.as_deref(),
        Some("python_version == \"3.9\"")
    );

    // `python = "<3.11"` became a marker on the root edge.
    let tomli = root
        .dependencies
        .iter()
        .find(|d| d.name == "tomli")
        .unwrap();
    assert_eq!(tomli.marker.as_deref(), Some("python_version < \"3.11\""));

    // requests[socks]: the extra is on the root edge, and requests' optional
    // edge to pysocks carries the extra that turns it on.
    let requests = root
        .dependencies
        .iter()
        .find(|d| d.name == "requests")
        .unwrap();
    assert_eq!(requests.extras, vec!["socks"]);
    let requests = by_name_version(&graph, "requests", "2.34.2");
    let pysocks = requests
        .dependencies
        .iter()
        .find(|d| d.name == "pysocks")
        .unwrap();
    assert_eq!(pysocks.kind, DepKind::Optional);
    assert_eq!(pysocks.groups, vec!["socks"]);
    assert_eq!(pysocks.marker.as_deref(), Some("extra == \"socks\""));

    // The project's own extra and dev group.
    let rich = root.dependencies.iter().find(|d| d.name == "rich").unwrap();
    assert_eq!(
        (rich.kind, rich.groups.clone()),
        (DepKind::Optional, vec!["pretty".to_owned()])
    );
    let pytest = root
        .dependencies
        .iter()
        .find(|d| d.name == "pytest")
        .unwrap();
    assert_eq!(
        (pytest.kind, pytest.groups.clone()),
        (DepKind::Dev, vec!["dev".to_owned()])
    );
    assert!(by_name_version(&graph, "pytest", "8.4.2").flags.dev);

    // Per-group markers table joined with `or`; groups kept.
    let typing = by_name_version(&graph, "typing-extensions", "4.16.0");
    assert_eq!(typing.groups, vec!["main", "dev"]);
    assert_eq!(
        typing.marker.as_deref(),
        Some("(python_version < \"3.11\") or (extra == \"pretty\" and python_version < \"3.11\")")
    );
    // `markers = {main = "extra == \"pretty\""}` with groups main and dev:
    // in dev it applies unconditionally, so the package has no marker.
    assert_eq!(by_name_version(&graph, "pygments", "2.21.0").marker, None);

    // Legacy source and a hash from the lock.
    let certifi = by_name_version(&graph, "certifi", "2026.10.18");
    assert_eq!(
        certifi.source,
        Source::Registry {
            url: "https://pypi.org/simple".into()
        }
    );
    let wheel = certifi
        .artifacts
        .iter()
        .find(|a| a.kind == ArtifactKind::Wheel)
        .unwrap();
    assert_eq!(wheel.url, None);
    assert_eq!(wheel.hashes[0].algorithm, HashAlgorithm::Sha256);
    let lock = read("markers-extras", "poetry.lock");
    let filename = wheel.filename.as_deref().unwrap();
    assert!(lock.contains(&format!(
        "{{file = \"{filename}\", hash = \"{}\"}}",
        wheel.hashes[0]
    )));
    assert_eq!(certifi.line, Some(3));
}

#[test]
fn local_sources() {
    let graph = import_fixture("local-sources");
    snapshot("local-sources", &graph);
    let gitdep = by_name_version(&graph, "gitdep", "0.3.0");
    assert_eq!(
        gitdep.source,
        Source::Git {
            url: "file://None/tmp/l2b-gitdep".into(),
            reference: Some("main".into()),
            commit: "3b7cee57df3ef63fc68fb5334e65e96d6ad731aa".into(),
            subdirectory: Some("pkg".into()),
        }
    );
    assert_eq!(gitdep.artifacts[0].kind, ArtifactKind::Git);
    // gitdep's `six >= 1.16` resolves to the url-sourced six.
    let six = graph.package(gitdep.dependencies[0].target);
    assert!(
        matches!(&six.source, Source::Url { url, .. } if url.ends_with("six-1.16.0-py2.py3-none-any.whl"))
    );
    assert_eq!(six.artifacts.len(), 1);
    assert_eq!(six.artifacts[0].kind, ArtifactKind::Wheel);
    assert!(six.artifacts[0]
        .url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://files.pythonhosted.org/")));

    let wheel = by_name_version(&graph, "local-wheel", "0.1.0");
    assert_eq!(
        wheel.source,
        Source::File {
            path: "wheels/local_wheel-0.1.0-py2.py3-none-any.whl".into()
        }
    );
    // The hash Poetry recorded is the hash of the committed wheel.
    let bytes = std::fs::read(
        fixture_dir("local-sources").join("wheels/local_wheel-0.1.0-py2.py3-none-any.whl"),
    )
    .unwrap();
    use sha2::Digest;
    assert_eq!(
        wheel.artifacts[0].hashes[0].digest,
        sha2::Sha256::digest(&bytes).to_vec()
    );

    let pathdep = by_name_version(&graph, "pathdep", "1.2.0");
    assert_eq!(
        pathdep.source,
        Source::Directory {
            path: "libs/pathdep".into(),
            editable: true
        }
    );
    assert!(pathdep.artifacts.is_empty());

    let root = root(&graph);
    let names: Vec<&str> = root.dependencies.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["six", "gitdep", "pathdep", "local-wheel"]);
}

#[test]
fn flask_pillow() {
    let graph = import_fixture("flask-pillow");
    snapshot("flask-pillow", &graph);
    let root = root(&graph);
    assert_eq!(
        (root.name.as_str(), root.version.as_str()),
        ("app", "0.1.0")
    );
    assert_eq!(
        root.source,
        Source::Directory {
            path: ".".into(),
            editable: false
        }
    );
    let names: Vec<&str> = root.dependencies.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["flask", "pillow", "requests"]);
    assert_eq!(graph.requires_python.as_deref(), Some(">=3.10,<4.0"));
    let flask = graph
        .find("flask")
        .map(|i| graph.package(i))
        .next()
        .unwrap();
    assert_eq!(flask.dependencies.len(), 6);
    let pillow = graph
        .find("pillow")
        .map(|i| graph.package(i))
        .next()
        .unwrap();
    assert!(pillow
        .artifacts
        .iter()
        .any(|a| a.kind == ArtifactKind::Sdist));
    assert!(
        pillow
            .artifacts
            .iter()
            .filter(|a| a.kind == ArtifactKind::Wheel)
            .count()
            > 50
    );
}

#[test]
fn lock_2_0() {
    let graph = import_fixture("lock-2.0");
    snapshot("lock-2.0", &graph);
    assert_eq!(graph.format, "poetry.lock 2.0");
    assert_eq!(
        graph.requires_python.as_deref(),
        Some(">=3.9,<4.0"),
        "^3.9 as PEP 440"
    );
    let root = root(&graph);
    let edge = |name: &str| root.dependencies.iter().find(|d| d.name == name).unwrap();
    assert_eq!(
        (edge("click").kind, edge("click").groups.clone()),
        (DepKind::Optional, vec!["cli".to_owned()])
    );
    assert_eq!(edge("mdurl").groups, vec!["docs"]);
    assert_eq!(
        edge("importlib-metadata").marker.as_deref(),
        Some("python_version < \"3.10\"")
    );
    // 2.0 has no groups or markers per package.
    assert!(graph
        .packages
        .iter()
        .all(|p| p.groups.is_empty() && p.marker.is_none()));
}

#[test]
fn lock_1_1() {
    let graph = import_fixture("lock-1.1");
    snapshot("lock-1.1", &graph);
    assert_eq!(graph.format, "poetry.lock 1.1");
    // Files come from [metadata.files].
    let pysocks = by_name_version(&graph, "pysocks", "1.7.1");
    let files: Vec<_> = pysocks
        .artifacts
        .iter()
        .map(|a| a.filename.as_deref().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "PySocks-1.7.1-py27-none-any.whl",
            "PySocks-1.7.1-py3-none-any.whl",
            "PySocks-1.7.1.tar.gz"
        ]
    );
    assert_eq!(pysocks.artifacts[2].kind, ArtifactKind::Sdist);
    assert_eq!(
        pysocks.artifacts[2].hashes[0].hex(),
        "3f8804571ebe159c380ac6de37643bb4685970655d3bba243530d6558b799aa0"
    );
    // `category` becomes the package's group; dev-dependencies are dev edges.
    let iniconfig = by_name_version(&graph, "iniconfig", "2.1.0");
    assert_eq!(iniconfig.groups, vec!["dev"]);
    assert!(iniconfig.flags.dev);
    let edge = root(&graph)
        .dependencies
        .iter()
        .find(|d| d.name == "iniconfig")
        .unwrap();
    assert_eq!(
        (edge.kind, edge.groups.clone()),
        (DepKind::Dev, vec!["dev".to_owned()])
    );
}

#[test]
fn without_pyproject_the_root_takes_the_main_group() {
    let lock = read("markers-extras", "poetry.lock");
    let graph = import_text("markers-extras", &lock, None).unwrap();
    assert_eq!(graph.warnings.len(), 1);
    assert!(graph.warnings[0]
        .message
        .contains("pyproject.toml not found"));
    let root = root(&graph);
    assert_eq!(
        root.name, "markers-extras",
        "named after the lockfile's directory"
    );
    let main = graph
        .packages
        .iter()
        .filter(|p| p.groups.iter().any(|g| g == "main"))
        .count();
    assert_eq!(root.dependencies.len(), main);
    assert!(!root.dependencies.iter().any(|d| d.name == "pytest"));
    let rich = root.dependencies.iter().find(|d| d.name == "rich").unwrap();
    assert_eq!(
        (rich.kind, rich.groups.clone()),
        (DepKind::Optional, vec!["pretty".to_owned()])
    );
}

#[test]
fn packages_without_a_source_table_come_from_pypi() {
    // Poetry writes no [package.source] for PyPI itself; this machine can only
    // lock through a named simple index, so strip the tables from a real lock.
    let lock = read("flask-pillow", "poetry.lock").replace(
        "[package.source]\ntype = \"legacy\"\nurl = \"https://pypi.org/simple\"\nreference = \"pypi-simple\"\n",
        "",
    );
    assert!(!lock.contains("[package.source]"));
    let graph = import_text(
        "flask-pillow",
        &lock,
        Some(&read("flask-pillow", "pyproject.toml")),
    )
    .unwrap();
    assert_eq!(
        locked_count(&graph) as u64,
        expected("flask-pillow", "packages")
    );
    for package in &graph.packages[..locked_count(&graph)] {
        assert_eq!(
            package.source,
            Source::Registry {
                url: "https://pypi.org/simple".into()
            }
        );
    }
}

#[test]
fn pep735_dependency_groups_are_dev_edges() {
    let manifest = read("flask-pillow", "pyproject.toml")
        + "\n[dependency-groups]\ntest = [\"requests>=2\", {include-group = \"web\"}]\nweb = [\"Flask\"]\n";
    let graph = import_text(
        "flask-pillow",
        &read("flask-pillow", "poetry.lock"),
        Some(&manifest),
    )
    .unwrap();
    let dev: Vec<(&str, Vec<String>)> = root(&graph)
        .dependencies
        .iter()
        .filter(|d| d.kind == DepKind::Dev)
        .map(|d| (d.name.as_str(), d.groups.clone()))
        .collect();
    assert_eq!(
        dev,
        [
            ("requests", vec!["test".to_owned()]),
            ("flask", vec!["test".to_owned()]),
            ("flask", vec!["web".to_owned()])
        ]
    );
    // [dependency-groups] is part of Poetry's content-hash.
    assert_eq!(graph.stale.len(), 1, "{:?}", graph.stale);

    // The hash Poetry 2.5.1 computes for this manifest, from
    // `Locker(path, tomllib.loads(text))._get_content_hash()`: with it in
    // the lock there is no warning.
    let poetry_hash = "683f90c8ead5cf5ee4cae2ab0092f3edc1b57d3434bda1f28a2b83759567fde0";
    let lock = read("flask-pillow", "poetry.lock").replace(
        "cee3cb82d335834b164d4e0027e21aa946765f31a1ab1f3c6a109b05113c958f",
        poetry_hash,
    );
    let graph = import_text("flask-pillow", &lock, Some(&manifest)).unwrap();
    assert!(graph.stale.is_empty(), "{:?}", graph.stale);
    // A lock written by Poetry < 2.3 did not hash [dependency-groups]: the
    // old hash is accepted from such a lock.
    let old = read("flask-pillow", "poetry.lock").replace("Poetry 2.5.1", "Poetry 2.1.3");
    let graph = import_text("flask-pillow", &old, Some(&manifest)).unwrap();
    assert!(graph.stale.is_empty(), "{:?}", graph.stale);
}
