//! Lockfiles that try to make a name or path leave its directory: each is a
//! real fixture with one name changed, and `lock2build plan` (which `app`,
//! `fetch` and `sources` start with) must refuse it, naming the lockfile
//! line, the package and the field, before anything is fetched or built.

mod common;

use common::*;
use std::path::Path;

/// Copies `fixture` to a fresh directory, lets `edit` change `file`, runs
/// `lock2build plan --offline` there and returns its stderr (asserting it
/// failed).
fn refused(fixture_rel: &str, file: &str, edit: impl FnOnce(String) -> String) -> String {
    let dir = tempdir("hostile");
    copy_dir(&fixture(fixture_rel), &dir);
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = edit(text.clone());
    assert_ne!(edited, text, "the edit changed nothing");
    std::fs::write(&path, edited).unwrap();
    let out = lock2build(
        &["plan", dir.to_str().unwrap(), "--offline"],
        &shared_cache(),
        &tempdir("store"),
    );
    assert!(!out.status.success(), "accepted: {}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("it would be used as a file name or path"), "{err}");
    err
}

#[test]
fn uv_wheel_file_names_that_leave_the_directory_are_refused() {
    let err = refused("uv/workspace", "uv.lock", |t| {
        t.replacen(
            "    { url = \"https://files.pythonhosted.org/packages/58/a2",
            "    { filename = \"/tmp/x/PWNED-1.0-py3-none-any.whl\", url = \"https://files.pythonhosted.org/packages/58/a2",
            1,
        )
    });
    assert!(err.contains("uv.lock:42: package `idna`: file name `/tmp/x/PWNED-1.0-py3-none-any.whl`"), "{err}");
    assert!(!Path::new("/tmp/x/PWNED-1.0-py3-none-any.whl").exists());

    let climbing = format!("{}tmp/PWNED-1.0-py3-none-any.whl", "../".repeat(24));
    let err = refused("uv/workspace", "uv.lock", |t| {
        t.replacen(
            "    { url = \"https://files.pythonhosted.org/packages/58/a2",
            &format!("    {{ filename = \"{climbing}\", url = \"https://files.pythonhosted.org/packages/58/a2"),
            1,
        )
    });
    assert!(err.contains("package `idna`"), "{err}");
}

#[test]
fn a_url_basename_that_decodes_to_a_path_is_refused() {
    let err = refused("uv/workspace", "uv.lock", |t| {
        t.replacen(
            "idna-3.20-py3-none-any.whl\", hash",
            "..%2F..%2Fidna-3.20-py3-none-any.whl\", hash",
            1,
        )
    });
    assert!(err.contains("`../../idna-3.20-py3-none-any.whl`"), "{err}");
}

#[test]
fn npm_locations_and_bin_names_that_climb_are_refused() {
    let err = refused("npm/workspace", "package-lock.json", |t| {
        let mut lock: serde_json::Value = serde_json::from_str(&t).unwrap();
        lock["packages"]["node_modules/../../../evil"] = serde_json::json!({
            "version": "1.0.0",
            "resolved": "https://registry.npmjs.org/evil/-/evil-1.0.0.tgz",
            "integrity": format!("sha512-{}==", "A".repeat(86)),
        });
        serde_json::to_string_pretty(&lock).unwrap()
    });
    assert!(err.contains("package `../../../evil`"), "{err}");

    let err = refused("npm/workspace", "package-lock.json", |t| {
        let mut lock: serde_json::Value = serde_json::from_str(&t).unwrap();
        lock["packages"]["node_modules/is-even"]["bin"] =
            serde_json::json!({"../../../usr/bin/evil": "cli.js"});
        serde_json::to_string_pretty(&lock).unwrap()
    });
    assert!(err.contains("package `is-even`: bin name `../../../usr/bin/evil`"), "{err}");
}

#[test]
fn crate_names_with_a_path_are_refused() {
    let err = refused("cargo/v2-msrv", "Cargo.lock", |t| {
        t + "\n[[package]]\nname = \"../../evil\"\nversion = \"1.0.0\"\n\
             source = \"registry+https://github.com/rust-lang/crates.io-index\"\n\
             checksum = \"0000000000000000000000000000000000000000000000000000000000000000\"\n"
    });
    assert!(err.contains("Cargo.lock:44: package `../../evil`: name"), "{err}");
}
