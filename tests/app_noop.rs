//! The no-op fast path of `lock2build app` (src/app/noop.rs): a repeated
//! build with nothing changed answers from the memo, and every kind of
//! change (the code, a manifest, a lock's stamp, an override, a toolchain
//! binary) goes back to the full check and rebuilds exactly what it changes.

mod common;

use common::{app, app_project, report, strings, tempdir};
use std::path::Path;
use std::process::Command;

fn json(project: &Path, store: &Path, env: &[(&str, &str)]) -> serde_json::Value {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lock2build"));
    cmd.args(["app", project.to_str().unwrap(), "--json"])
        .env("LOCK2BUILD_CACHE", common::shared_cache())
        .env("LOCK2BUILD_STORE", store)
        .env("LOCK2BUILD_SWH_URL", "http://127.0.0.1:9")
        .env_remove("LOCK2BUILD_MIRRORS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    report(&cmd.output().unwrap())
}

fn unchanged(r: &serde_json::Value) -> bool {
    r["unchanged"].as_bool().expect("`unchanged` in the report")
}

/// After a build: the next run is the full check (it builds nothing and
/// writes the memo), the one after it answers from the memo.
fn settles(project: &Path, store: &Path, env: &[(&str, &str)]) -> serde_json::Value {
    let full = json(project, store, env);
    assert!(!unchanged(&full), "{full}");
    assert!(strings(&full["built"]).is_empty(), "{full}");
    let memo = json(project, store, env);
    assert!(unchanged(&memo), "{memo}");
    assert_eq!(memo["reused"], full["reused"], "the same report");
    memo
}

#[test]
fn a_python_noop_answers_from_the_memo_until_an_input_changes() {
    let (project, store) = app_project("noop-python", "poetry/flask-pillow");
    let first = json(&project, &store, &[]);
    assert!(!unchanged(&first));
    let again = settles(&project, &store, &[]);
    assert!(strings(&again["built"]).is_empty());
    assert_eq!(again["output"], first["output"]);
    // The text report says so too, whatever the display flags.
    let text = common::ok(&app(&project, &store, &[]));
    assert!(
        text.contains("(nothing changed since the last build)"),
        "{text}"
    );

    // The project's code: its node and the environment, nothing else.
    let init = project.join("app/__init__.py");
    let code = std::fs::read_to_string(&init).unwrap();
    std::fs::write(&init, format!("{code}\n# edited\n")).unwrap();
    let edited = json(&project, &store, &[]);
    assert!(!unchanged(&edited));
    let built = strings(&edited["built"]);
    assert!(built.iter().any(|b| b.starts_with("app ")), "{built:?}");
    assert!(!built.iter().any(|b| b.starts_with("flask ")), "{built:?}");
    settles(&project, &store, &[]);

    // A lock whose bytes did not change: the full check, nothing built.
    let lock = project.join("poetry.lock");
    let times = std::fs::File::options().append(true).open(&lock).unwrap();
    times
        .set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
        .unwrap();
    settles(&project, &store, &[]);

    // An override of the project's layer: the full check.
    common::override_layer(
        &project,
        "pypi",
        "flask",
        "[[entry]]\nversions = \"*\"\nnote = \"a project note\"\n",
    );
    settles(&project, &store, &[]);

    // The result link gone: the full check puts it back.
    std::fs::remove_file(project.join("result")).unwrap();
    let relinked = json(&project, &store, &[]);
    assert!(!unchanged(&relinked));
    assert!(project.join("result/bin/app").exists());
}

/// A tiny Cargo project (no dependencies), built with a `cc` of the test's
/// own first in PATH: a copy of the host's compiler driver.
fn tiny_cargo_project(root: &Path) -> std::path::PathBuf {
    let project = root.join("tiny");
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(
        project.join("Cargo.toml"),
        "[workspace]\n\n[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(
        project.join("src/main.rs"),
        "fn main() { println!(\"one\"); }\n",
    )
    .unwrap();
    let status = Command::new("cargo")
        .args(["generate-lockfile", "--offline"])
        .current_dir(&project)
        .status()
        .unwrap();
    assert!(status.success());
    project
}

#[test]
fn a_rust_noop_sees_edits_manifests_and_toolchain_binaries() {
    let root = tempdir("noop-rust");
    let project = tiny_cargo_project(&root);
    let store = root.join("store");
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let cc =
        std::fs::canonicalize(lock2build_store::find_in_path(Path::new("cc")).unwrap()).unwrap();
    std::fs::copy(&cc, bin.join("cc")).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let env = [("PATH", path.as_str())];

    let first = json(&project, &store, &env);
    assert!(!unchanged(&first));
    settles(&project, &store, &env);
    let run = || {
        Command::new(project.join("result/bin/tiny"))
            .output()
            .unwrap()
    };
    assert_eq!(common::stdout(&run()), "one\n");

    // An edit: the app again (its dependencies' build is reused).
    std::fs::write(
        project.join("src/main.rs"),
        "fn main() { println!(\"two\"); }\n",
    )
    .unwrap();
    let edited = json(&project, &store, &env);
    assert!(!unchanged(&edited));
    assert_eq!(strings(&edited["built"]), ["tiny 0.1.0"]);
    assert_eq!(common::stdout(&run()), "two\n");
    settles(&project, &store, &env);

    // The manifest: the skeleton changes, so the dependencies' build too.
    let manifest = project.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        format!("{text}\n[profile.release]\nopt-level = 2\n"),
    )
    .unwrap();
    let edited = json(&project, &store, &env);
    assert!(!unchanged(&edited));
    assert_eq!(strings(&edited["built"]).len(), 2, "{edited}");

    // The compiler's stamp, its bytes the same: the full check, nothing built.
    std::fs::File::options()
        .append(true)
        .open(bin.join("cc"))
        .unwrap()
        .set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
        .unwrap();
    settles(&project, &store, &env);

    // Another compiler (a wrapper): what it compiles is rebuilt.
    common::write_wrapper(&bin.join("cc"), &cc);
    let other = json(&project, &store, &env);
    assert!(!unchanged(&other));
    assert_eq!(strings(&other["built"]).len(), 2, "{other}");
    settles(&project, &store, &env);
}
