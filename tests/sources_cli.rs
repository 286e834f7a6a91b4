//! `lock2build sources` end to end.

mod common;

use common::*;

#[test]
fn recursive_tree_with_a_broken_lockfile_is_listed_and_says_it_skipped() {
    let tree = tempdir("tree");
    copy_dir(&fixture("npm/v3-resolved"), &tree.join("web"));
    copy_dir(&fixture("cargo/v3-git"), &tree.join("clones/tool"));
    std::fs::create_dir_all(tree.join("clones/broken")).unwrap();
    std::fs::write(
        tree.join("clones/broken/Cargo.lock"),
        "version = 4\n[[package]\n",
    )
    .unwrap();
    let out = lock2build(
        &[
            "sources",
            tree.to_str().unwrap(),
            "--recursive",
            "--format",
            "swh",
        ],
        &shared_cache(),
        &tempdir("store"),
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("clones/broken/Cargo.lock"),
        "{}",
        stderr(&out)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["version"], 1);
    let sources = doc["sources"].as_array().unwrap();
    // Every integrity of the npm lock is listed, once.
    let lock: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("npm/v3-resolved/package-lock.json")).unwrap(),
    )
    .unwrap();
    for (path, p) in lock["packages"].as_object().unwrap() {
        let Some(integrity) = p.get("integrity").and_then(|i| i.as_str()) else {
            continue;
        };
        let n = sources
            .iter()
            .filter(|s| s["integrity"] == integrity)
            .count();
        assert_eq!(n, 1, "{path}: {integrity}");
    }
    // The crates.io crates of the Cargo project are there too (its git
    // dependency is a local file:// repository, which an archive cannot fetch).
    assert!(
        sources
            .iter()
            .any(|s| s["urls"][0] == "https://static.crates.io/crates/itoa/itoa-1.0.19.crate"),
        "{doc}"
    );
}

#[test]
fn sbom_to_a_file() {
    let out_file = tempdir("sbom").join("bom.cdx.json");
    let out = lock2build(
        &[
            "sources",
            fixture("npm/v1").to_str().unwrap(),
            "--format",
            "cyclonedx",
            "-o",
            out_file.to_str().unwrap(),
        ],
        &shared_cache(),
        &tempdir("store"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let bom: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    assert_eq!(bom["bomFormat"], "CycloneDX");
    assert_eq!(bom["specVersion"], "1.6");
    assert!(bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["purl"].as_str().unwrap().starts_with("pkg:npm/")));
}
