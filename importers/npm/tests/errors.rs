//! Errors, and the less common lock shapes, made by editing real fixtures:
//! every case starts from a lock npm wrote and changes one thing.

mod common;

use common::{at, fixture_dir, import_text, texts};
use lock2build_model::{ArtifactKind, DepKind, ImportError, Source};
use serde_json::{json, Value};
use std::path::Path;

/// A fixture's lock as JSON, edited by `edit`, written back the way npm
/// writes it (two-space indentation).
fn edited(case: &str, edit: impl FnOnce(&mut Value)) -> String {
    let (lock, _) = texts(case);
    let mut value: Value = serde_json::from_str(&lock).unwrap();
    edit(&mut value);
    serde_json::to_string_pretty(&value).unwrap()
}

fn manifest(case: &str) -> String {
    texts(case).1.unwrap()
}

fn import_err(lock: &str, manifest: Option<&str>) -> ImportError {
    match import_text(lock, manifest) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

/// 1-based line of the first line containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).expect(needle) + 1
}

#[test]
fn unknown_lockfile_version() {
    let (lock, _) = texts("v3-resolved");
    let lock = lock.replacen("\"lockfileVersion\": 3", "\"lockfileVersion\": 4", 1);
    let e = import_err(&lock, None);
    assert!(e.message.contains("lockfileVersion 4"), "{e}");
    assert_eq!(e.line, Some(4));
    assert_eq!(e.file, Path::new("package-lock.json"));
    assert!(e
        .help
        .as_deref()
        .unwrap()
        .contains("npm install --package-lock-only"));

    let lock = edited("v3-resolved", |v| {
        v.as_object_mut().unwrap().remove("lockfileVersion");
    });
    assert!(import_err(&lock, None)
        .message
        .contains("lockfileVersion none"));
    let lock = edited("v3-resolved", |v| v["lockfileVersion"] = json!("3"));
    assert!(import_err(&lock, None)
        .message
        .contains("lockfileVersion \"3\""));
}

#[test]
fn malformed_json_has_line_and_column() {
    let (lock, _) = texts("v3-resolved");
    // Drop the comma after the first `"version"` of a package entry.
    let broken = lock.replacen("\"version\": \"1.11.3\",", "\"version\": \"1.11.3\"", 1);
    let e = import_err(&broken, None);
    let expected_line = line_of(&broken, "\"version\": \"1.11.3\"") + 1;
    assert_eq!(e.line, Some(expected_line), "{e}");
    assert_eq!(e.column, Some(7), "{e}");
    assert!(e.message.contains("not valid JSON"));
    // A lock cut short.
    let e = import_err(&lock[..lock.len() / 2], None);
    assert!(e.line.is_some() && e.column.is_some());
    // A package.json that is not JSON.
    let e = import_err(&lock, Some("{\n  \"name\": oops\n}"));
    assert_eq!(
        (e.file.as_path(), e.line),
        (Path::new("package.json"), Some(2))
    );
}

#[test]
fn missing_dependency_names_package_and_dependency() {
    let lock = edited("v3-no-resolved", |v| {
        v["packages"]
            .as_object_mut()
            .unwrap()
            .remove("node_modules/supports-color");
    });
    let e = import_err(&lock, Some(&manifest("v3-no-resolved")));
    assert!(e.message.contains("`chalk` (node_modules/chalk)"), "{e}");
    assert!(e.message.contains("`supports-color@^7.1.0`"), "{e}");
    assert_eq!(e.line, Some(line_of(&lock, "\"node_modules/chalk\": {")));
    assert!(e.help.as_deref().unwrap().contains("npm install"));
}

#[test]
fn missing_optional_or_peer_is_skipped() {
    let lock = edited("v3-resolved", |v| {
        let packages = v["packages"].as_object_mut().unwrap();
        packages.remove("node_modules/@img/sharp-darwin-arm64");
        packages.remove("node_modules/react");
        packages[""]["dependencies"]
            .as_object_mut()
            .unwrap()
            .remove("react");
    });
    let mut manifest: Value = serde_json::from_str(&manifest("v3-resolved")).unwrap();
    manifest["dependencies"]
        .as_object_mut()
        .unwrap()
        .remove("react");
    let graph = import_text(&lock, Some(&manifest.to_string())).unwrap();
    let sharp = at(&graph, "node_modules/sharp");
    assert_eq!(
        sharp
            .dependencies
            .iter()
            .filter(|d| d.name.starts_with("@img/sharp-"))
            .count(),
        23
    );
    let react_dom = at(&graph, "node_modules/react-dom");
    assert!(react_dom.dependencies.iter().all(|d| d.name != "react"));
}

#[test]
fn manifest_disagreeing_with_lock() {
    let (lock, _) = texts("v3-no-resolved");
    // A dependency added to package.json after locking.
    let added = manifest("v3-no-resolved").replacen(
        "\"ms\": \"^2.1.3\",",
        "\"ms\": \"^2.1.3\",\n    \"left-pad\": \"^1.3.0\",",
        1,
    );
    let e = import_err(&lock, Some(&added));
    assert_eq!(e.file, Path::new("package.json"));
    assert_eq!(e.line, Some(line_of(&added, "left-pad")));
    assert!(
        e.message.contains("`left-pad@^1.3.0`") && e.message.contains("does not"),
        "{e}"
    );
    assert!(e.help.as_deref().unwrap().contains("npm install"));
    // A range changed after locking.
    let changed =
        manifest("v3-no-resolved").replacen("\"ms\": \"^2.1.3\"", "\"ms\": \"^3.0.0\"", 1);
    let e = import_err(&lock, Some(&changed));
    assert!(
        e.message.contains("asks for `ms@^3.0.0`") && e.message.contains("`ms@^2.1.3`"),
        "{e}"
    );
    // A dependency removed from package.json but still locked.
    let removed = manifest("v3-no-resolved").replacen("\"ms\": \"^2.1.3\",", "", 1);
    let e = import_err(&lock, Some(&removed));
    assert_eq!(e.file, Path::new("package-lock.json"));
    assert!(e.message.contains("`ms`"), "{e}");

    // v1: package.json names something the tree does not have.
    let (lock, _) = texts("v1");
    let added = manifest("v1").replacen(
        "\"sharp\": \"0.32.6\"",
        "\"sharp\": \"0.32.6\",\n    \"left-pad\": \"^1.3.0\"",
        1,
    );
    let e = import_err(&lock, Some(&added));
    assert_eq!(
        (e.file.as_path(), e.line),
        (Path::new("package.json"), Some(line_of(&added, "left-pad")))
    );
    assert!(e.message.contains("left-pad"), "{e}");
}

#[test]
fn git_sources() {
    let commit = "0123456789abcdef0123456789abcdef01234567";
    let lock = edited("v3-resolved", |v| {
        let entry = &mut v["packages"]["node_modules/lodash3"];
        entry["resolved"] = json!(format!(
            "git+ssh://git@github.com/lodash/lodash.git#{commit}"
        ));
        entry.as_object_mut().unwrap().remove("integrity");
        v["packages"]["node_modules/semver"]["resolved"] =
            json!(format!("git+https://gitlab.example/semver.git#{commit}"));
    });
    let graph = import_text(&lock, Some(&manifest("v3-resolved"))).unwrap();
    let lodash = at(&graph, "node_modules/lodash3");
    assert_eq!(
        lodash.source,
        Source::Git {
            url: "ssh://git@github.com/lodash/lodash.git".into(),
            reference: None,
            commit: commit.into(),
            subdirectory: None
        }
    );
    assert_eq!(lodash.artifacts[0].kind, ArtifactKind::Git);
    assert!(lodash.artifacts[0].hashes.is_empty());
    let semver = at(&graph, "node_modules/semver");
    assert!(
        matches!(&semver.source, Source::Git { url, .. } if url == "https://gitlab.example/semver.git")
    );
    // v1 writes git dependencies' address as their version.
    let lock = edited("v1", |v| {
        let entry = v["dependencies"]["semver"].as_object_mut().unwrap();
        entry.insert(
            "version".into(),
            json!(format!(
                "git+https://github.com/npm/node-semver.git#{commit}"
            )),
        );
        entry.remove("resolved");
        entry.remove("integrity");
    });
    let graph = import_text(&lock, Some(&manifest("v1"))).unwrap();
    assert!(
        matches!(&at(&graph, "node_modules/semver").source, Source::Git { commit: c, .. } if c == commit)
    );
}

#[test]
fn rarer_flags_and_fields() {
    let lock = edited("v3-resolved", |v| {
        let packages = &mut v["packages"];
        packages["node_modules/tslib"]["inBundle"] = json!(true);
        packages["node_modules/tslib"]
            .as_object_mut()
            .unwrap()
            .remove("resolved");
        packages["node_modules/js-tokens"]["devOptional"] = json!(true);
        packages["node_modules/js-tokens"]["bin"] = json!("./cli.js");
        packages["node_modules/js-tokens"]["os"] = json!("!win32");
    });
    let graph = import_text(&lock, Some(&manifest("v3-resolved"))).unwrap();
    // At the top, `inBundle` means the project bundles it (its
    // `bundleDependencies`): no tarball brings it, it is fetched.
    let tslib = at(&graph, "node_modules/tslib");
    assert!(!tslib.flags.in_bundle);
    assert_eq!(
        tslib.artifacts[0].url.as_deref(),
        Some("https://registry.npmjs.org/tslib/-/tslib-2.9.1.tgz")
    );
    let tokens = at(&graph, "node_modules/js-tokens");
    assert!(tokens.flags.dev_optional);
    assert_eq!(
        tokens.bin.get("js-tokens").map(String::as_str),
        Some("./cli.js")
    );
    assert_eq!(tokens.platform.os, ["!win32"]);

    // Nested in a dependency, it comes in that dependency's tarball.
    let lock = edited("v1", |v| {
        v["dependencies"]["tar-fs"]["bundled"] = json!(true);
        v["dependencies"]["prebuild-install"]["dependencies"]["tar-fs"]["bundled"] = json!(true);
        v["dependencies"]["prebuild-install"]["dependencies"]["tar-fs"]
            .as_object_mut()
            .unwrap()
            .remove("resolved");
    });
    let graph = import_text(&lock, Some(&manifest("v1"))).unwrap();
    assert!(!at(&graph, "node_modules/tar-fs").flags.in_bundle);
    let nested = at(&graph, "node_modules/prebuild-install/node_modules/tar-fs");
    assert!(nested.flags.in_bundle);
    assert!(
        nested.artifacts.is_empty(),
        "bundled packages come inside their parent"
    );
}

#[test]
fn dev_edges_of_members_and_directories() {
    // A workspace member's missing dev dependency is an error...
    let lock = edited("workspace", |v| {
        v["packages"]["packages/util"]["devDependencies"] = json!({"left-pad": "^1.3.0"});
    });
    let e = import_err(&lock, Some(&manifest("workspace")));
    assert!(
        e.message.contains("`@fx/util` (packages/util)") && e.message.contains("left-pad"),
        "{e}"
    );
    // ...a file: directory's is not (npm does not promise it).
    let lock = edited("workspace", |v| {
        v["packages"]["local-lib"]["devDependencies"] =
            json!({"left-pad": "^1.3.0", "ms": "^2.0.0"});
    });
    let graph = import_text(&lock, Some(&manifest("workspace"))).unwrap();
    let local = at(&graph, "local-lib");
    let kinds: Vec<(&str, DepKind)> = local
        .dependencies
        .iter()
        .map(|d| (d.name.as_str(), d.kind))
        .collect();
    assert_eq!(kinds, [("is-odd", DepKind::Normal), ("ms", DepKind::Dev)]);
}

#[test]
fn damaged_entries() {
    let m = manifest("v3-resolved");
    type Edit = Box<dyn FnOnce(&mut Value)>;
    let cases: Vec<(Edit, &str)> = vec![
        (
            Box::new(|v| v["packages"]["node_modules/tslib"]["version"] = json!(2)),
            "field `version` of `node_modules/tslib`",
        ),
        (
            Box::new(|v| v["packages"]["node_modules/tslib"]["integrity"] = json!("sha512-short")),
            "`integrity` of `node_modules/tslib`",
        ),
        (
            Box::new(|v| v["packages"]["node_modules/tslib"]["resolved"] = json!("ftp://x/y.tgz")),
            "cannot tell where",
        ),
        (
            Box::new(|v| v["packages"]["node_modules/tslib"]["dependencies"] = json!(["a"])),
            "field `dependencies`",
        ),
        (
            Box::new(|v| v["packages"]["node_modules/tslib"] = json!(7)),
            "is not an object",
        ),
        (
            Box::new(|v| {
                v["packages"]["node_modules/tslib"] = json!({"link": true, "resolved": "nowhere"})
            }),
            "points at `nowhere`",
        ),
        (
            Box::new(|v| {
                v.as_object_mut()
                    .unwrap()
                    .remove("packages")
                    .map(drop)
                    .unwrap_or(())
            }),
            "no `packages`",
        ),
    ];
    for (edit, expected) in cases {
        let lock = edited("v3-resolved", edit);
        let e = import_err(&lock, Some(&m));
        assert!(e.message.contains(expected), "{expected}: {e}");
        assert!(e.help.is_some(), "{e}");
    }
    let e = import_err("[1, 2]", None);
    assert_eq!(e.line, Some(1));
}

/// A workspace member's package.json is checked against its lock entry as
/// the root's is (`npm ci` refuses either), naming the member's file.
#[test]
fn workspace_member_disagreeing_with_its_lock_entry() {
    let dir = fixture_dir("workspace");
    let read = |rel: &str| std::fs::read_to_string(dir.join(rel)).unwrap();
    let lock = read("package-lock.json");
    let import_with = |member: String| {
        let files = lock2build_model::MemoryFiles::empty()
            .with("package.json", read("package.json"))
            .with(
                "packages/util/package.json",
                read("packages/util/package.json"),
            )
            .with("packages/app/package.json", member);
        lock2build_import_npm::import(&lock2build_model::LockInput {
            path: Path::new("package-lock.json"),
            contents: &lock,
            files: &files,
        })
    };
    let member = read("packages/app/package.json");
    assert!(import_with(member.clone()).is_ok(), "the fixture as locked");

    let changed = member.replacen("\"ms\": \"^2.1.3\"", "\"ms\": \"^3.0.0\"", 1);
    let e = import_with(changed.clone()).unwrap_err();
    assert_eq!(e.file, Path::new("packages/app/package.json"));
    assert_eq!(e.line, Some(line_of(&changed, "\"ms\"")));
    assert!(
        e.message
            .contains("packages/app/package.json asks for `ms@^3.0.0`")
            && e.message
                .contains("entry `packages/app` was made for `ms@^2.1.3`"),
        "{e}"
    );
    let removed = member.replacen(",\n    \"ms\": \"^2.1.3\"", "", 1);
    assert_ne!(removed, member);
    let e = import_with(removed).unwrap_err();
    assert_eq!(e.file, Path::new("package-lock.json"));
    assert!(
        e.message.contains("entry `packages/app` depends on `ms`"),
        "{e}"
    );
}
