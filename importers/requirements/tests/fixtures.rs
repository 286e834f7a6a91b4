//! The importer over the real requirements files in
//! `fixtures/requirements/` (made by pip-compile 7.6 and uv 0.13, see the
//! README there), with whole-graph snapshots and checks on what matters.

use lock2build_import_requirements::import;
use lock2build_model::{ArtifactKind, Graph, ImportError, LockInput, MemoryFiles, Package, Source};
use std::path::{Path, PathBuf};

fn dir(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/requirements")
        .join(case)
}

/// Every file of the case folder, as the binary would offer them.
fn files_of(case: &str) -> MemoryFiles {
    let mut files = MemoryFiles::empty();
    for entry in std::fs::read_dir(dir(case)).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_owned();
        files = files.with(name, std::fs::read_to_string(&path).unwrap());
    }
    files
}

fn load_file(case: &str, file: &str) -> Result<Graph, ImportError> {
    let files = files_of(case);
    let text = std::fs::read_to_string(dir(case).join(file)).unwrap();
    let shown = PathBuf::from(format!("fixtures/requirements/{case}/{file}"));
    import(&LockInput {
        path: &shown,
        contents: &text,
        files: &files,
    })
}

fn load(case: &str) -> Graph {
    load_file(case, "requirements.txt").unwrap_or_else(|e| panic!("{e}"))
}

/// `counts.txt` beside each lock: `<file> <requirements> <hashes>` as
/// counted by `fixtures/requirements/count.py` (pip's own parser).
fn independent_counts(case: &str) -> (usize, usize) {
    let text = std::fs::read_to_string(dir(case).join("counts.txt")).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("requirements.txt "))
        .unwrap();
    let numbers: Vec<usize> = line
        .split_whitespace()
        .skip(1)
        .map(|n| n.parse().unwrap())
        .collect();
    (numbers[0], numbers[1])
}

fn find<'g>(graph: &'g Graph, name: &str) -> Vec<&'g Package> {
    graph.find(name).map(|i| graph.package(i)).collect()
}

#[test]
fn pip_compile_snapshot() {
    insta::assert_json_snapshot!("pip-compile", load("pip-compile"));
}

#[test]
fn universal_snapshot() {
    insta::assert_json_snapshot!("universal", load("universal"));
}

#[test]
fn include_snapshot() {
    insta::assert_json_snapshot!("include", load("include"));
}

#[test]
fn counts_match_an_independent_count() {
    for case in ["pip-compile", "universal", "include"] {
        let graph = load(case);
        let (requirements, hashes) = independent_counts(case);
        // The root, then one package per requirement line.
        assert_eq!(graph.packages.len() - 1, requirements, "{case}");
        let root = graph.package(graph.roots[0]);
        assert_eq!(root.dependencies.len(), requirements, "{case}");
        let artifact_hashes: usize = graph
            .packages
            .iter()
            .flat_map(|p| &p.artifacts)
            .map(|a| a.hashes.len())
            .sum();
        assert_eq!(artifact_hashes, hashes, "{case}");
    }
}

#[test]
fn pip_compile_output() {
    let graph = load("pip-compile");
    assert_eq!(graph.format, "requirements.txt (pip-compile)");
    assert_eq!(graph.roots.len(), 1);
    let root = graph.package(graph.roots[0]);
    assert_eq!(
        (root.name.as_str(), root.version.as_str()),
        ("requirements", "")
    );
    assert_eq!(root.source, Source::Virtual { path: ".".into() });

    let requests = find(&graph, "requests");
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].version, "2.34.2");
    assert_eq!(
        requests[0].source,
        Source::Registry {
            url: "https://pypi.org/simple".into()
        }
    );
    let edge = root
        .dependencies
        .iter()
        .find(|d| d.name == "requests")
        .unwrap();
    assert_eq!(edge.extras, ["socks"]);

    // One artifact per hash, to be matched against the index.
    let blinker = find(&graph, "blinker")[0];
    let hexes: Vec<String> = blinker
        .artifacts
        .iter()
        .map(|a| a.hashes[0].hex())
        .collect();
    assert_eq!(
        hexes,
        [
            "b4ce2265a7abece45e7cc896e98dbebe6cead56bcf805a3d23136d145f5445bf",
            "ba0efaa9080b619ff2f3459d1d500c57bddea4a6b424b60a91141db6fd2f08bc"
        ]
    );
    for artifact in &blinker.artifacts {
        assert_eq!(
            (artifact.kind, &artifact.filename, &artifact.url),
            (ArtifactKind::Archive, &None, &None)
        );
        assert_eq!(artifact.hashes.len(), 1);
    }

    // `# via` annotations become edges: flask -> werkzeug, and markupsafe is
    // reached from flask, jinja2 and werkzeug.
    let flask = find(&graph, "flask")[0];
    let mut flask_deps: Vec<&str> = flask.dependencies.iter().map(|d| d.name.as_str()).collect();
    flask_deps.sort();
    assert_eq!(
        flask_deps,
        [
            "blinker",
            "click",
            "itsdangerous",
            "jinja2",
            "markupsafe",
            "werkzeug"
        ]
    );
    let markupsafe = graph.find("markupsafe").next().unwrap();
    let parents: Vec<&str> = graph
        .packages
        .iter()
        .filter(|p| p.dependencies.iter().any(|d| d.target == markupsafe))
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(parents, ["requirements", "flask", "jinja2", "werkzeug"]);
    assert_eq!(find(&graph, "markupsafe")[0].line, Some(209));
}

#[test]
fn universal_fork_gives_two_packages_with_exclusive_markers() {
    let graph = load("universal");
    assert_eq!(graph.format, "requirements.txt (uv pip compile)");
    let numpys: Vec<&str> = find(&graph, "numpy")
        .iter()
        .map(|p| p.version.as_str())
        .collect();
    assert_eq!(numpys, ["2.0.2", "2.2.6", "2.4.6", "2.5.5"]);
    let root = graph.package(graph.roots[0]);
    let markers: Vec<(&str, Option<&str>)> = root
        .dependencies
        .iter()
        .filter(|d| d.name == "numpy")
        .map(|d| {
            (
                graph.package(d.target).version.as_str(),
                d.marker.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        markers,
        [
            ("2.0.2", Some("python_full_version < '3.10'")),
            ("2.2.6", Some("python_full_version == '3.10.*'")),
            ("2.4.6", Some("python_full_version == '3.11.*'")),
            ("2.5.5", Some("python_full_version >= '3.12'")),
        ]
    );
    // `--index-url` from the file.
    assert!(graph
        .packages
        .iter()
        .filter(|p| matches!(p.source, Source::Registry { .. }))
        .all(|p| p.source
            == Source::Registry {
                url: "https://pypi.org/simple".into()
            }));
}

#[test]
fn direct_url_requirement() {
    let graph = load("universal");
    let six = find(&graph, "six");
    assert_eq!(six.len(), 1);
    let url = "https://files.pythonhosted.org/packages/b7/ce/149a00dd41f10bc29e5921b496af8b574d8413afcd5e30dfa0ed46c2cc5e/six-1.17.0-py2.py3-none-any.whl";
    assert_eq!(six[0].version, "1.17.0");
    assert_eq!(
        six[0].source,
        Source::Url {
            url: url.into(),
            subdirectory: None
        }
    );
    assert_eq!(six[0].artifacts.len(), 1);
    let wheel = &six[0].artifacts[0];
    assert_eq!(wheel.kind, ArtifactKind::Wheel);
    assert_eq!(wheel.url.as_deref(), Some(url));
    assert_eq!(
        wheel.filename.as_deref(),
        Some("six-1.17.0-py2.py3-none-any.whl")
    );
    assert_eq!(
        wheel.hashes[0].hex(),
        "4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274"
    );
}

#[test]
fn includes_are_followed() {
    let graph = load("include");
    let mut names: Vec<&str> = graph
        .packages
        .iter()
        .skip(1)
        .map(|p| p.name.as_str())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "certifi",
            "charset-normalizer",
            "idna",
            "iniconfig",
            "packaging",
            "requests",
            "urllib3"
        ]
    );
    // The constraint line of dev.in is in the `via` of nothing; no warnings
    // for this pair of files.
    assert!(graph.warnings.is_empty(), "{:?}", graph.warnings);
}

#[test]
fn every_package_is_reachable_from_the_root() {
    for case in ["pip-compile", "universal", "include"] {
        let graph = load(case);
        let root = graph.package(graph.roots[0]);
        for i in 1..graph.packages.len() {
            assert!(
                root.dependencies.iter().any(|d| d.target.0 == i),
                "{case}: {}",
                graph.packages[i].name
            );
        }
    }
}
