//! What an npm project's full check (the no-op memo off:
//! `LOCK2BUILD_NO_MEMO=1`) rebuilds after each kind of change, now that the
//! project's tree hash and the lock's sha256 are remembered by their files'
//! stamps: an edit of the same size, a new file, package.json and
//! package-lock.json edits and another C compiler rebuild what they
//! change; a stamp alone (the same bytes: a file's, the compiler's)
//! rebuilds nothing. Real runs of fixtures/npm/native-app.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

fn full_check(project: &Path, store: &Path) -> serde_json::Value {
    // `cc` first in PATH: a copy of the host's, in the test's directory.
    let bin = project.with_file_name("bin");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let out = Command::new(env!("CARGO_BIN_EXE_lock2build"))
        .args(["app", project.to_str().unwrap(), "--json"])
        .env("PATH", path)
        .env("LOCK2BUILD_CACHE", shared_cache())
        .env("LOCK2BUILD_STORE", store)
        .env("LOCK2BUILD_NO_MEMO", "1")
        .env("LOCK2BUILD_SWH_URL", "http://127.0.0.1:9")
        .env_remove("LOCK2BUILD_MIRRORS")
        .output()
        .unwrap();
    report(&out)
}

fn built(r: &serde_json::Value) -> Vec<String> {
    strings(&r["built"])
}

fn hash_demo(project: &Path) -> String {
    let out = Command::new(project.join("result/bin/hash-demo"))
        .arg("pw")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

/// Sets a file's modification time a little later: a new stamp, the same bytes.
fn touch(path: &Path) {
    std::fs::File::options()
        .append(true)
        .open(path)
        .unwrap()
        .set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
        .unwrap();
}

#[test]
fn each_kind_of_npm_edit_rebuilds_what_it_changes_and_a_stamp_alone_nothing() {
    let (project, store) = app_project("npm-edits", "npm/native-app");
    let bin = project.with_file_name("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let cc =
        std::fs::canonicalize(lock2build_store::find_in_path(Path::new("cc")).unwrap()).unwrap();
    std::fs::copy(&cc, bin.join("cc")).unwrap();
    let first = full_check(&project, &store);
    assert_eq!(
        built(&first),
        ["node_modules", "bcrypt 5.1.1", "native-app 1.0.0"]
    );
    let app_output = first["output"].clone();

    // Nothing changed, then only stamps: nothing is built.
    assert!(built(&full_check(&project, &store)).is_empty());
    let script = project.join("bin/hash-demo.js");
    touch(&script);
    touch(&project.join("package-lock.json"));
    let stamped = full_check(&project, &store);
    assert!(built(&stamped).is_empty(), "{stamped}");
    assert_eq!(stamped["output"], app_output);

    // An edit of the same size (the stamp's size is the same): the app.
    let source = std::fs::read_to_string(&script).unwrap();
    assert!(source.contains("hash: "));
    std::fs::write(&script, source.replace("hash: ", "HASH: ")).unwrap();
    let edited = full_check(&project, &store);
    assert_eq!(built(&edited), ["native-app 1.0.0"]);
    assert!(hash_demo(&project).contains("HASH: $2b$"));

    // A new file: the app, with it.
    std::fs::write(project.join("NOTES.txt"), "notes\n").unwrap();
    let added = full_check(&project, &store);
    assert_eq!(built(&added), ["native-app 1.0.0"]);
    assert!(project.join("result/app/NOTES.txt").is_file());
    // Removed again: the app as it was before the file (the same output).
    std::fs::remove_file(project.join("NOTES.txt")).unwrap();
    let removed = full_check(&project, &store);
    assert!(built(&removed).is_empty(), "{removed}");
    assert_eq!(removed["output"], edited["output"]);

    // package.json (a field npm does not lay out by): the app only.
    let manifest = project.join("package.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replace("a tiny CLI", "a small CLI")).unwrap();
    assert_eq!(built(&full_check(&project, &store)), ["native-app 1.0.0"]);

    // The lock's root entry (a dependency range, with package.json's, which
    // must agree): node_modules again, bcrypt's install script, the app.
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replace("\"^1.1.1\"", "\"^1.1.0\"")).unwrap();
    let lock = project.join("package-lock.json");
    let text = std::fs::read_to_string(&lock).unwrap();
    let changed = text.replacen(
        "\"picocolors\": \"^1.1.1\"",
        "\"picocolors\": \"^1.1.0\"",
        1,
    );
    assert_ne!(changed, text, "the fixture's lock names picocolors ^1.1.1");
    std::fs::write(&lock, changed).unwrap();
    let relocked = full_check(&project, &store);
    assert_eq!(
        built(&relocked),
        ["node_modules", "bcrypt 5.1.1", "native-app 1.0.0"]
    );
    assert!(hash_demo(&project).contains("verify(pw): true"));

    // The C compiler install scripts use: its stamp alone, nothing; another
    // compiler (a wrapper), node_modules and the app again.
    touch(&bin.join("cc"));
    assert!(built(&full_check(&project, &store)).is_empty());
    write_wrapper(&bin.join("cc"), &cc);
    assert_eq!(
        built(&full_check(&project, &store)),
        ["node_modules", "bcrypt 5.1.1", "native-app 1.0.0"]
    );
}
