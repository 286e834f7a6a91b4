//! Is uv.lock up to date with pyproject.toml? Over the real fixtures (made
//! by `uv lock`, see fixtures/uv/README.md) with their real manifests, and
//! the same manifests edited after locking.

use lock2build_import_uv::import;
use lock2build_model::{Graph, LockInput, ProjectFiles};
use std::path::{Path, PathBuf};

/// The files of a fixture directory, with some replaced.
struct Files {
    dir: PathBuf,
    replaced: Vec<(PathBuf, String)>,
}

impl ProjectFiles for Files {
    fn read(&self, path: &Path) -> Option<String> {
        let path: PathBuf = path
            .components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .collect();
        if let Some((_, text)) = self.replaced.iter().find(|(p, _)| *p == path) {
            return Some(text.clone());
        }
        std::fs::read_to_string(self.dir.join(path)).ok()
    }
}

fn dir(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/uv")
        .join(case)
}

fn import_with(case: &str, replaced: Vec<(&str, String)>) -> Graph {
    let text = std::fs::read_to_string(dir(case).join("uv.lock")).unwrap();
    let files = Files {
        dir: dir(case),
        replaced: replaced
            .into_iter()
            .map(|(p, t)| (PathBuf::from(p), t))
            .collect(),
    };
    let path = PathBuf::from(format!("{case}/uv.lock"));
    import(&LockInput {
        path: &path,
        contents: &text,
        files: &files,
    })
    .unwrap()
}

fn manifest(case: &str, rel: &str) -> String {
    std::fs::read_to_string(dir(case).join(rel)).unwrap()
}

#[test]
fn fixtures_as_locked_are_fresh() {
    for case in [
        "project",
        "workspace",
        "native-app",
        "backend-flit",
        "backend-pdm",
        "backend-setuptools",
        "rust-extension",
        "old-uv-0.4",
    ] {
        if !dir(case).join("pyproject.toml").is_file() {
            continue;
        }
        let graph = import_with(case, Vec::new());
        assert!(graph.stale.is_empty(), "{case}: {:?}", graph.stale);
    }
}

#[test]
fn a_version_the_lock_does_not_hold_is_stale() {
    // numpy is locked at 2.0.2 / 2.2.x: asking for >=3 cannot be met.
    let edited = manifest("project", "pyproject.toml").replace("\"numpy>=1.24\"", "\"numpy>=3\"");
    let graph = import_with("project", vec![("pyproject.toml", edited.clone())]);
    assert!(!graph.stale.is_empty());
    let first = &graph.stale[0];
    assert_eq!(first.file, Path::new("project/pyproject.toml"));
    assert!(
        first.message.contains("`numpy>=3` but uv.lock has numpy"),
        "{first}"
    );
    let line = edited.lines().position(|l| l.contains("numpy>=3")).unwrap() + 1;
    assert_eq!(first.line, Some(line));
}

#[test]
fn added_changed_and_removed_requirements_are_stale() {
    // A new requirement the lock happens to hold (idna, through requests):
    // uv would still re-lock.
    let added = manifest("project", "pyproject.toml")
        .replace("\"tinygit\",", "\"tinygit\",\n    \"idna\",");
    let graph = import_with("project", vec![("pyproject.toml", added)]);
    assert_eq!(graph.stale.len(), 1, "{:?}", graph.stale);
    assert!(
        graph.stale[0].message.contains("`idna`, which was added"),
        "{}",
        graph.stale[0]
    );

    // A loosened specifier the locked version still meets.
    let changed =
        manifest("project", "pyproject.toml").replace("\"iniconfig>=2\"", "\"iniconfig>=1\"");
    let graph = import_with("project", vec![("pyproject.toml", changed)]);
    assert_eq!(graph.stale.len(), 1, "{:?}", graph.stale);
    assert!(
        graph.stale[0].message.contains("made for `iniconfig>=2`"),
        "{}",
        graph.stale[0]
    );

    // A removed one.
    let removed = manifest("project", "pyproject.toml").replace("yaml = [\"pyyaml>=6\"]", "");
    let graph = import_with("project", vec![("pyproject.toml", removed)]);
    assert_eq!(graph.stale.len(), 1, "{:?}", graph.stale);
    assert!(
        graph.stale[0].message.contains("`pyyaml`"),
        "{}",
        graph.stale[0]
    );

    // Order and spacing of specifiers do not matter.
    let same =
        manifest("project", "pyproject.toml").replace("\"numpy>=1.24\"", "\"numpy >= 1.24\"");
    assert!(import_with("project", vec![("pyproject.toml", same)])
        .stale
        .is_empty());
}

#[test]
fn a_workspace_member_is_checked_against_its_own_pyproject() {
    let rel = "packages/beta/pyproject.toml";
    let edited = manifest("workspace", rel).replace("idna==3.20", "idna==3.21");
    assert_ne!(edited, manifest("workspace", rel));
    let graph = import_with("workspace", vec![(rel, edited)]);
    assert!(
        graph.stale.iter().any(
            |d| d.file == Path::new("workspace/packages/beta/pyproject.toml")
                && d.message.contains("idna==3.21")
        ),
        "{:?}",
        graph.stale
    );
}
