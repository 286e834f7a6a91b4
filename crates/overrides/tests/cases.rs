//! Fixture tests of the community database: each `tests/cases/*.toml`
//! names a package version and what the database must say about it
//! (`lock2build overrides export` writes one per contributed override).

use lock2build_overrides::{community_dir, parse_ecosystem, Database, LayerKind, LayerSource};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    ecosystem: String,
    name: String,
    version: String,
    #[serde(default)]
    native: Vec<String>,
    #[serde(default)]
    tools: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
}

#[test]
fn every_case_holds() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let root = community_dir().expect("the community database");
    let db = Database::load(&[LayerSource::Dir {
        kind: LayerKind::Community,
        root,
    }])
    .unwrap_or_else(|e| {
        panic!(
            "{}",
            e.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let case: Case = toml::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let ecosystem = parse_ecosystem(&case.ecosystem)
            .unwrap_or_else(|| panic!("{}: ecosystem", path.display()));
        let resolved = db.resolve(ecosystem, &case.name, &case.version);
        for id in &case.native {
            assert!(
                resolved.native.contains(id),
                "{}: {} {} should need {id}; has {:?}",
                path.display(),
                case.name,
                case.version,
                resolved.native
            );
        }
        for id in &case.tools {
            assert!(
                resolved.tools.contains(id),
                "{}: tool {id} missing; has {:?}",
                path.display(),
                resolved.tools
            );
        }
        for (k, v) in &case.env {
            assert_eq!(resolved.env.get(k), Some(v), "{}: env {k}", path.display());
        }
        checked += 1;
    }
    assert!(
        checked >= 2,
        "the committed cases were not found in {}",
        dir.display()
    );
}
