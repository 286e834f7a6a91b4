//! The importer over the real locks in `fixtures/pylock/` (written by
//! `uv export --format pylock.toml`, `pip lock` and `pdm export -f pylock`,
//! see the README there): whole-graph snapshots and checks on what matters.

use lock2build_import_pylock::import;
use lock2build_model::{
    ArtifactKind, DepKind, Graph, HashAlgorithm, ImportError, LockInput, MemoryFiles, Package,
    Source,
};
use std::path::{Path, PathBuf};

fn dir(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/pylock")
        .join(case)
}

/// The files beside the lock an importer may read: each pyproject.toml.
fn project_files(case: &str) -> MemoryFiles {
    let mut files = MemoryFiles::empty();
    for rel in ["pyproject.toml", "libs/helper/pyproject.toml"] {
        if let Ok(text) = std::fs::read_to_string(dir(case).join(rel)) {
            files = files.with(rel, text);
        }
    }
    files
}

fn import_text(path: &Path, text: &str, files: &MemoryFiles) -> Result<Graph, ImportError> {
    import(&LockInput {
        path,
        contents: text,
        files,
    })
}

fn load(case: &str) -> Graph {
    let text = std::fs::read_to_string(dir(case).join("pylock.toml")).unwrap();
    let path = PathBuf::from(format!("fixtures/pylock/{case}/pylock.toml"));
    import_text(&path, &text, &project_files(case)).unwrap_or_else(|e| panic!("{e}"))
}

fn named<'g>(graph: &'g Graph, name: &str) -> &'g Package {
    let found: Vec<_> = graph.find(name).collect();
    assert_eq!(found.len(), 1, "{name}");
    graph.package(found[0])
}

/// `[[packages]]` headers: an independent count of the lock's packages.
fn header_count(case: &str) -> usize {
    std::fs::read_to_string(dir(case).join("pylock.toml"))
        .unwrap()
        .lines()
        .filter(|l| l.trim() == "[[packages]]")
        .count()
}

#[test]
fn snapshots() {
    for case in ["uv-export", "pip-lock", "pdm", "pip-sources", "uv-sources"] {
        insta::assert_json_snapshot!(case, load(case));
    }
}

#[test]
fn the_project_is_the_root_and_reaches_every_package() {
    for (case, tool) in [("uv-export", "uv"), ("pip-lock", "pip"), ("pdm", "pdm")] {
        let graph = load(case);
        assert_eq!(graph.format, format!("pylock.toml 1.0 (by {tool})"));
        assert_eq!(graph.packages.len(), header_count(case), "{case}");
        assert_eq!(graph.roots.len(), 1, "{case}");
        let root = graph.package(graph.roots[0]);
        assert_eq!(root.name, "pylock-app");
        // Neither uv nor pip write the tree's version: pyproject.toml's.
        assert_eq!(root.version, "0.1.0");
        assert!(matches!(&root.source, Source::Directory { path, .. } if path == "."));
        assert_eq!(root.dependencies.len(), graph.packages.len() - 1, "{case}");
        assert!(graph.warnings.is_empty(), "{case}: {:?}", graph.warnings);
    }
    assert_eq!(load("uv-export").requires_python.as_deref(), Some(">=3.9"));
    assert_eq!(load("pip-lock").requires_python, None);
}

#[test]
fn files_keep_url_hashes_and_size() {
    // uv: inline tables with size and an index.
    let graph = load("uv-export");
    let idna = named(&graph, "idna");
    assert_eq!(
        idna.source,
        Source::Registry {
            url: "https://pypi.org/simple".into()
        }
    );
    let kinds: Vec<ArtifactKind> = idna.artifacts.iter().map(|a| a.kind).collect();
    assert_eq!(kinds, [ArtifactKind::Sdist, ArtifactKind::Wheel]);
    let wheel = &idna.artifacts[1];
    assert_eq!(
        wheel.filename.as_deref(),
        Some("idna-3.10-py3-none-any.whl")
    );
    assert_eq!(wheel.size, Some(70442));
    assert_eq!(wheel.hashes[0].algorithm, HashAlgorithm::Sha256);
    assert_eq!(
        wheel.hashes[0].hex(),
        "946d195a0d259cbba61165e88e65941f16e9b36ea6ddb97f00452bae8b1287d3"
    );
    assert!(wheel
        .url
        .as_deref()
        .unwrap()
        .ends_with("/idna-3.10-py3-none-any.whl"));

    // pip: `[[packages.wheels]]` tables with `name`, no size, no index.
    let graph = load("pip-lock");
    let six = named(&graph, "six");
    assert_eq!(six.artifacts.len(), 1);
    assert_eq!(
        six.artifacts[0].filename.as_deref(),
        Some("six-1.17.0-py2.py3-none-any.whl")
    );
    assert_eq!(six.artifacts[0].size, None);
}

#[test]
fn pdm_group_and_extra_markers_become_edge_kinds() {
    let graph = load("pdm");
    let root = graph.package(graph.roots[0]);
    let edge = |name: &str| {
        root.dependencies
            .iter()
            .find(|d| d.name == name)
            .unwrap_or_else(|| panic!("{name}"))
    };
    // `"default" in dependency_groups`, and `default-groups = ["default"]`.
    for name in ["idna", "six"] {
        assert_eq!(edge(name).kind, DepKind::Normal, "{name}");
        assert_eq!(edge(name).marker, None, "{name}");
    }
    assert_eq!(edge("iniconfig").kind, DepKind::Dev);
    assert_eq!(edge("iniconfig").groups, ["dev"]);
    assert_eq!(edge("pysocks").kind, DepKind::Optional);
    assert_eq!(edge("pysocks").groups, ["socks"]);
}

#[test]
fn direct_git_path_and_directory_sources() {
    // pip lock of a git URL and an archive URL: no project, a virtual root.
    let graph = load("pip-sources");
    let root = graph.package(graph.roots[0]);
    assert_eq!(root.name, "pylock");
    assert!(matches!(root.source, Source::Virtual { .. }));
    let tinygit = named(&graph, "tinygit");
    assert_eq!(
        tinygit.source,
        Source::Git {
            url: "file:///tmp/pk/tinygit".into(),
            reference: Some("0c2b1f7d72b2f0067ef53c26a738c9e498ccf58f".into()),
            commit: "0c2b1f7d72b2f0067ef53c26a738c9e498ccf58f".into(),
            subdirectory: None,
        }
    );
    assert_eq!(tinygit.artifacts[0].kind, ArtifactKind::Git);
    let six = named(&graph, "six");
    assert!(matches!(&six.source, Source::Url { url, .. } if url.ends_with("six-1.17.0.tar.gz")));
    assert_eq!(six.artifacts[0].kind, ArtifactKind::Sdist);

    // uv export: a local wheel by path, a path dependency, a marker.
    let graph = load("uv-sources");
    let tinygit = named(&graph, "tinygit");
    assert_eq!(
        tinygit.source,
        Source::File {
            path: "localwheel/tinygit-0.1.0-py2.py3-none-any.whl".into()
        }
    );
    assert_eq!(tinygit.artifacts[0].kind, ArtifactKind::Wheel);
    assert_eq!(tinygit.artifacts[0].url, None);
    let helper = named(&graph, "helper");
    assert_eq!(helper.version, "0.2.0");
    assert!(
        matches!(&helper.source, Source::Directory { path, editable: false } if path == "libs/helper")
    );
    let root = graph.package(graph.roots[0]);
    let idna = root.dependencies.iter().find(|d| d.name == "idna").unwrap();
    assert_eq!(
        idna.marker.as_deref(),
        Some("python_full_version >= '3.10'")
    );
}
