//! Errors name the file, the line and what to do next: a stale lock against
//! its manifests, malformed TOML, unknown format versions, missing checksums
//! and commits, dangling dependencies.

mod common;

use common::{fixture_files, import_with, lock_text};
use lock2build_model::{ImportError, MemoryFiles};
use std::path::PathBuf;

/// The v4 workspace with one manifest replaced.
fn v4_with(
    manifest: &str,
    edit: impl Fn(&str) -> String,
) -> Result<lock2build_model::Graph, ImportError> {
    let mut files = fixture_files("v4-workspace");
    let original = files
        .0
        .get(&PathBuf::from(manifest))
        .expect("manifest")
        .clone();
    files.0.insert(PathBuf::from(manifest), edit(&original));
    import_with(&lock_text("v4-workspace"), &files)
}

/// The 1-based line of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .expect("needle")
        + 1
}

/// The v4 workspace with `crates/app/Cargo.toml` edited: the error, and
/// the edited manifest.
fn app_with(edit: impl Fn(&str) -> String) -> (ImportError, String) {
    let path = "crates/app/Cargo.toml";
    let original = fixture_files("v4-workspace")
        .0
        .get(&PathBuf::from(path))
        .expect("manifest")
        .clone();
    let edited = edit(&original);
    assert_ne!(edited, original, "the edit must change the manifest");
    let e = v4_with(path, |_| edited.clone()).expect_err("a stale lock must not import");
    (e, edited)
}

#[test]
fn dependency_missing_from_lock() {
    let (e, text) = app_with(|t| t.replace("[dependencies]\n", "[dependencies]\nanyhow = \"1\"\n"));
    assert_eq!(e.file, PathBuf::from("crates/app/Cargo.toml"));
    assert_eq!(e.line, Some(line_of(&text, "anyhow")));
    assert!(
        e.message.contains("`anyhow`") && e.message.contains("no package `anyhow`"),
        "{e}"
    );
    let help = e.help.as_deref().unwrap_or_default();
    assert!(
        help.contains("cargo update -p anyhow") && help.contains("cargo generate-lockfile"),
        "{e}"
    );
}

#[test]
fn renamed_dependency_missing_from_lock_names_the_real_crate() {
    let (e, text) = app_with(|t| {
        t.replace(
            "[dependencies]\n",
            "[dependencies]\nerr = { package = \"thiserror\", version = \"2\" }\n",
        )
    });
    assert_eq!(e.line, Some(line_of(&text, "err = ")));
    assert!(e.message.contains("`err` (package `thiserror`)"), "{e}");
    assert!(
        e.help
            .as_deref()
            .unwrap_or_default()
            .contains("cargo update -p thiserror"),
        "{e}"
    );
}

#[test]
fn target_specific_and_build_dependencies_are_checked() {
    let (e, text) =
        app_with(|t| t.replace("libc = \"0.2\"\n", "libc = \"0.2\"\nwinapi = \"0.3\"\n"));
    assert_eq!(e.line, Some(line_of(&text, "winapi")));
    assert!(
        e.message.contains("[target.'cfg(unix)'.dependencies]"),
        "{e}"
    );

    let (e, text) = app_with(|t| t.replace("autocfg = \"1\"\n", "autocfg = \"1\"\ncc = \"1\"\n"));
    assert_eq!(e.line, Some(line_of(&text, "cc = ")));
    assert!(e.message.contains("[build-dependencies]"), "{e}");
}

#[test]
fn workspace_inherited_dependency_missing_from_lock() {
    let mut files = fixture_files("v4-workspace");
    let root = files
        .0
        .get(&PathBuf::from("Cargo.toml"))
        .expect("root")
        .replace("itoa = \"1\"\n", "itoa = \"1\"\nbytes = \"1\"\n");
    files.0.insert("Cargo.toml".into(), root);
    let app = files
        .0
        .get(&PathBuf::from("crates/util/Cargo.toml"))
        .expect("util")
        .clone()
        + "bytes.workspace = true\n";
    files.0.insert("crates/util/Cargo.toml".into(), app.clone());
    let e = import_with(&lock_text("v4-workspace"), &files).expect_err("stale");
    assert_eq!(e.file, PathBuf::from("crates/util/Cargo.toml"));
    assert_eq!(e.line, Some(line_of(&app, "bytes.workspace")));
    assert!(
        e.help
            .as_deref()
            .unwrap_or_default()
            .contains("cargo update -p bytes"),
        "{e}"
    );
}

#[test]
fn requirement_no_locked_version_meets() {
    let (e, _) = app_with(|t| t.replace("version = \"0.4\"", "version = \"0.5\""));
    assert!(
        e.message
            .contains("`logging` (package `log`) `^0.5` in [dependencies] is not met")
            && e.message.contains("log 0.4.35"),
        "{e}"
    );
    assert!(
        e.help
            .as_deref()
            .unwrap_or_default()
            .contains("cargo update -p log"),
        "{e}"
    );
}

#[test]
fn dev_dependencies_of_members_are_checked_but_not_of_path_dependencies() {
    let (e, _) = app_with(|t| {
        t.replace(
            "[dev-dependencies]\n",
            "[dev-dependencies]\nproptest = \"1\"\n",
        )
    });
    assert!(e.message.contains("`proptest`"), "{e}");

    // vendor/helper is a member here (a path dependency inside the
    // workspace); outside a workspace its dev-dependencies are not locked.
    let mut files = MemoryFiles::empty()
        .with("Cargo.toml", "[package]\nname = \"v2demo\"\nversion = \"0.1.0\"\n[dependencies]\nlocal-dep = { path = \"local-dep\" }\nitoa = \"1\"\nitoa-old = { package = \"itoa\", version = \"0.4\" }\n[target.'cfg(windows)'.dependencies]\nsmallvec = \"1\"\n");
    files = files.with(
        "local-dep/Cargo.toml",
        "[package]\nname = \"local-dep\"\nversion = \"0.5.0\"\n[dependencies]\nmemchr = \"2\"\nopt = { version = \"1\", optional = true }\n[dev-dependencies]\nproptest = \"1\"\n",
    );
    let graph = import_with(&lock_text("v2-msrv"), &files)
        .expect("a non-member's dev and optional deps are not locked");
    let roots: Vec<&str> = graph
        .roots
        .iter()
        .map(|&r| graph.package(r).name.as_str())
        .collect();
    assert_eq!(roots, ["v2demo"]);
}

#[test]
fn malformed_toml_has_line_and_column() {
    let lock = lock_text("v3-git");
    let broken = lock.replacen("name = \"itoa\"", "name = \"itoa", 1);
    let e = import_with(&broken, &MemoryFiles::empty()).expect_err("broken");
    assert_eq!(e.file, PathBuf::from("Cargo.lock"));
    assert_eq!(e.line, Some(line_of(&lock, "name = \"itoa\"")));
    assert!(e.column.is_some());
    assert!(
        e.help
            .as_deref()
            .unwrap_or_default()
            .contains("cargo generate-lockfile"),
        "{e}"
    );

    let broken = lock.replacen("version = \"1.0.19\"", "version = 1.0.19", 1);
    let e = import_with(&broken, &MemoryFiles::empty()).expect_err("broken");
    assert_eq!(e.line, Some(line_of(&lock, "version = \"1.0.19\"")), "{e}");
}

#[test]
fn invalid_values_have_lines_too() {
    let lock = lock_text("v4-workspace");
    let broken = lock.replacen("version = \"1.0.19\"", "version = \"one\"", 1);
    let e = import_with(&broken, &MemoryFiles::empty()).expect_err("not semver");
    assert_eq!(e.line, Some(line_of(&lock, "version = \"1.0.19\"")), "{e}");

    let broken = lock.replacen("source = \"registry+", "source = \"ftp+", 1);
    let e = import_with(&broken, &MemoryFiles::empty()).expect_err("unknown protocol");
    assert!(e.message.contains("ftp"), "{e}");
    assert!(e.line.is_some(), "{e}");
}

#[test]
fn unknown_format_version() {
    let lock = lock_text("v4-workspace").replacen("version = 4", "version = 5", 1);
    let e = import_with(&lock, &MemoryFiles::empty()).expect_err("v5");
    assert_eq!(e.line, Some(3));
    assert!(e.message.contains("version 5"), "{e}");
    assert!(
        e.help
            .as_deref()
            .unwrap_or_default()
            .contains("update lock2build"),
        "{e}"
    );

    let lock = lock_text("v4-workspace").replacen("version = 4", "version = \"4\"", 1);
    let e = import_with(&lock, &MemoryFiles::empty()).expect_err("a string");
    assert_eq!(e.line, Some(3));
}

#[test]
fn registry_crate_without_checksum() {
    let lock = lock_text("v4-workspace");
    let line = line_of(&lock, "name = \"itoa\"") - 1;
    let broken = lock.replacen(
        "checksum = \"3bd1574e617a9a6c1f8f8181bd7e841e1f20e4277607ef28945765188d6284d4\"\n",
        "",
        1,
    );
    let e = import_with(&broken, &MemoryFiles::empty()).expect_err("no checksum");
    assert_eq!(e.line, Some(line));
    assert!(e.message.contains("`itoa 1.0.19` has no `checksum`"), "{e}");
}

#[test]
fn v1_crate_without_metadata_checksum() {
    let lock = lock_text("v1-translated");
    let broken: String = lock
        .lines()
        .filter(|l| !l.starts_with("\"checksum memchr"))
        .map(|l| format!("{l}\n"))
        .collect();
    let e = import_with(&broken, &MemoryFiles::empty()).expect_err("no checksum");
    assert_eq!(e.line, Some(line_of(&lock, "name = \"memchr\"") - 1));
    assert!(
        e.message
            .contains("`memchr 2.8.3` has no checksum in `[metadata]`"),
        "{e}"
    );
    assert!(
        e.help
            .as_deref()
            .unwrap_or_default()
            .contains("cargo generate-lockfile"),
        "{e}"
    );
}

#[test]
fn checksums_must_be_hex() {
    let lock = lock_text("v4-workspace");
    // 64 bytes, not all hex: cargo-lock would slice inside the `é`.
    let bad = format!("{}é{}", "a".repeat(31), "b".repeat(31));
    assert_eq!(bad.len(), 64);
    let broken = lock.replacen(
        "3bd1574e617a9a6c1f8f8181bd7e841e1f20e4277607ef28945765188d6284d4",
        &bad,
        1,
    );
    let e = import_with(&broken, &MemoryFiles::empty()).expect_err("bad checksum");
    assert_eq!(e.line, Some(line_of(&lock, "3bd1574e617a")));
}

#[test]
fn git_source_without_commit() {
    let lock = lock_text("v4-workspace");
    let broken = lock.replacen(
        "?branch=main#393193e7af7e7805ad9d15707cb62309f66a5245",
        "?branch=main",
        1,
    );
    let e = import_with(&broken, &MemoryFiles::empty()).expect_err("no commit");
    assert!(e.message.contains("gitdep"), "{e}");
    assert_eq!(e.line, Some(line_of(&lock, "name = \"gitdep\"") - 1));
    assert!(
        e.help
            .as_deref()
            .unwrap_or_default()
            .contains("cargo update -p gitdep"),
        "{e}"
    );
}

#[test]
fn dangling_dependencies() {
    // v1 spells every dependency out; one that matches no package.
    let lock = lock_text("v1-translated");
    let broken = lock.replacen("\"memchr 2.8.3 (registry", "\"memchr 9.9.9 (registry", 1);
    let e = import_with(&broken, &MemoryFiles::empty()).expect_err("dangling");
    assert!(
        e.message.contains("`local-dep` depends on `memchr 9.9.9"),
        "{e}"
    );
    assert_eq!(e.line, Some(line_of(&lock, "name = \"local-dep\"") - 1));

    // v2+: a name alone that matches nothing.
    let lock = lock_text("v4-workspace");
    let broken = lock.replacen(" \"memchr\",", " \"memchar\",", 1);
    let e = import_with(&broken, &MemoryFiles::empty()).expect_err("dangling");
    assert!(e.message.contains("memchar"), "{e}");
    assert_eq!(e.line, Some(line_of(&lock, " \"memchr\",")), "{e}");
}

#[test]
fn malformed_manifest_is_reported_on_the_manifest() {
    let e = v4_with("crates/util/Cargo.toml", |t| {
        t.replace("memchr = \"2\"", "memchr == \"2\"")
    })
    .expect_err("broken manifest");
    assert_eq!(e.file, PathBuf::from("crates/util/Cargo.toml"));
    let original = fixture_files("v4-workspace")
        .0
        .get(&PathBuf::from("crates/util/Cargo.toml"))
        .expect("util")
        .clone();
    assert_eq!(e.line, Some(line_of(&original, "memchr")));
}

#[test]
fn messages_render_with_position_and_help() {
    let lock = lock_text("v4-workspace").replacen("version = 4", "version = 9", 1);
    let e = import_with(&lock, &MemoryFiles::empty()).expect_err("v9");
    let shown = e.to_string();
    assert!(
        shown.starts_with("Cargo.lock:3:11: Cargo.lock format version 9"),
        "{shown}"
    );
    assert!(shown.contains("\n  help: "), "{shown}");
}
