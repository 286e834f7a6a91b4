//! What a build leaves behind is untrusted input (issue 16, item 2): build
//! steps that leave FIFOs, symlinks to `/dev/zero` or to host files, and
//! `..` paths where lock2build reads afterwards. Each `lock2build app` run
//! must end (a 120 s guard kills it otherwise and fails the test), fail
//! with a message naming what was wrong, and copy no host file.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `lock2build app DIR --progress plain` with its own store, killed (and
/// the test failed) if it has not ended within 120 s.
fn app_within_limit(project: &Path, store: &Path) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lock2build"))
        .args(["app", project.to_str().unwrap(), "--progress", "plain"])
        .env("LOCK2BUILD_CACHE", shared_cache())
        .env("LOCK2BUILD_STORE", store)
        .env_remove("LOCK2BUILD_MIRRORS")
        .env("LOCK2BUILD_SWH_URL", "http://127.0.0.1:9")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "lock2build app did not end within 120 s (killed):\n{}",
                stderr(&out)
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    child.wait_with_output().unwrap()
}

/// The run's stderr, after checking that it failed.
fn refused(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "lock2build accepted it:\n{}{}",
        stdout(out),
        stderr(out)
    );
    eprintln!("{}", stderr(out));
    stderr(out)
}

// Rust: the build script writes into the target directory, where
// lock2build's copy of cargo's JSON messages (`lock2build-messages.json`)
// is. It sees the directory as $CARGO_TARGET_DIR.

const MESSAGES: &str = "lock2build-messages.json";

/// A crate whose `build.rs` runs `script` (sh, with `$T` the target
/// directory and `$M` the messages file), locked by cargo.
fn cargo_project(root: &Path, script: &str) -> PathBuf {
    let project = root.join("project");
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(
        project.join("Cargo.toml"),
        "[workspace]\n\n[package]\nname = \"trap\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(project.join("src/main.rs"), "fn main() {}\n").unwrap();
    std::fs::write(
        project.join("build.rs"),
        format!(
            r#"fn main() {{
    let t = std::env::var("CARGO_TARGET_DIR").unwrap();
    let status = std::process::Command::new("/bin/sh")
        .args(["-c", {script:?}])
        .env("T", &t)
        .env("M", format!("{{t}}/{MESSAGES}"))
        .status()
        .unwrap();
    assert!(status.success());
}}
"#
        ),
    )
    .unwrap();
    let locked = Command::new("cargo")
        .args(["generate-lockfile", "--offline"])
        .current_dir(&project)
        .env("CARGO_HOME", root.join("cargo-home"))
        .status()
        .unwrap();
    assert!(locked.success());
    project
}

/// `script` that replaces the messages file by one naming `exe` as the
/// crate's executable.
fn naming(setup: &str, exe: &str) -> String {
    format!(
        "{setup}\nprintf '%s\\n' '{{\"reason\":\"compiler-artifact\",\"executable\":\"'\"{exe}\"'\"}}' > \"$M.new\" && mv \"$M.new\" \"$M\""
    )
}

fn cargo_refused(name: &str, script: &str) -> (String, PathBuf) {
    let root = tempdir(name);
    let project = cargo_project(&root, script);
    let err = refused(&app_within_limit(&project, &root.join("store")));
    assert!(
        !project.join("result").exists(),
        "a result was linked:\n{err}"
    );
    (err, project)
}

#[test]
fn cargo_messages_naming_a_symlink_to_a_host_file_are_refused() {
    let (err, _) = cargo_refused(
        "cargo-symlink",
        &naming(
            "ln -s /etc/passwd \"$T/release/stolen\"",
            "$T/release/stolen",
        ),
    );
    assert!(
        err.contains("cargo's build messages name the executable /build/target/release/stolen"),
        "{err}"
    );
    assert!(
        err.contains("is a symlink to `/etc/passwd`: an absolute path"),
        "{err}"
    );
}

#[test]
fn cargo_messages_naming_a_path_that_climbs_out_are_refused() {
    let (err, _) = cargo_refused(
        "cargo-dotdot",
        &naming("", "$T/../../../../../../etc/passwd"),
    );
    assert!(err.contains("climbs above it"), "{err}");
    assert!(err.contains("not inside the target directory"), "{err}");
}

#[test]
fn cargo_messages_naming_a_fifo_or_dev_zero_are_refused_without_hanging() {
    let (err, _) = cargo_refused(
        "cargo-fifo",
        &naming("mkfifo \"$T/release/pipe\"", "$T/release/pipe"),
    );
    assert!(
        err.contains("release/pipe` is a FIFO, not a regular file"),
        "{err}"
    );
    let (err, _) = cargo_refused("cargo-zero", &naming("", "/dev/zero"));
    assert!(
        err.contains("name the executable /dev/zero, which is outside the target directory"),
        "{err}"
    );
}

#[test]
fn a_messages_file_replaced_by_a_fifo_or_a_link_to_dev_zero_is_refused() {
    let (err, _) = cargo_refused("cargo-messages-fifo", "rm -f \"$M\" && mkfifo \"$M\"");
    assert!(err.contains("reading cargo's build messages"), "{err}");
    assert!(err.contains("lock2build-messages.json` is a FIFO"), "{err}");
    let (err, _) = cargo_refused(
        "cargo-messages-zero",
        "rm -f \"$M\" && ln -s /dev/zero \"$M\"",
    );
    assert!(
        err.contains("lock2build-messages.json` is a symlink"),
        "{err}"
    );
}

// Python: the project's own PEP 517 backend (in the tree, `backend-path`)
// writes into the wheel directory, which lock2build lists and reads after
// the step.

/// A uv project built by the in-tree backend `trap_backend`, whose
/// `build_wheel` runs `body` (Python, with `out` the wheel directory and
/// `name` the wheel's file name); locked by uv.
fn python_project(root: &Path, body: &str) -> PathBuf {
    let project = root.join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("pyproject.toml"),
        "[project]\nname = \"trap\"\nversion = \"0.1.0\"\nrequires-python = \">=3.8\"\n\n[build-system]\nrequires = []\nbuild-backend = \"trap_backend\"\nbackend-path = [\".\"]\n",
    )
    .unwrap();
    let body: String = body.lines().map(|l| format!("    {l}\n")).collect();
    std::fs::write(
        project.join("trap_backend.py"),
        format!(
            "import os\n\ndef build_wheel(out, config_settings=None, metadata_directory=None):\n    name = \"trap-0.1.0-py3-none-any.whl\"\n{body}    return name\n"
        ),
    )
    .unwrap();
    let locked = Command::new("uv")
        .args(["lock", "--offline", "--no-cache"])
        .current_dir(&project)
        .output()
        .unwrap();
    assert!(locked.status.success(), "uv lock: {}", stderr(&locked));
    project
}

fn python_refused(name: &str, body: &str) -> String {
    let root = tempdir(name);
    let project = python_project(&root, body);
    let err = refused(&app_within_limit(&project, &root.join("store")));
    assert!(
        err.contains("building trap 0.1.0 from source failed"),
        "{err}"
    );
    assert!(!project.join("result").exists());
    err
}

#[test]
fn a_fifo_wheel_left_by_a_pep517_backend_is_refused_without_hanging() {
    let err = python_refused("pep517-fifo", "os.mkfifo(os.path.join(out, name))");
    assert!(
        err.contains(
            "the backend left `trap-0.1.0-py3-none-any.whl`, which is a FIFO, not a regular file"
        ),
        "{err}"
    );
}

#[test]
fn a_wheel_symlink_left_by_a_pep517_backend_is_not_followed() {
    let err = python_refused(
        "pep517-symlink",
        "os.symlink('/etc/passwd', os.path.join(out, name))",
    );
    assert!(
        err.contains("which is a symlink, not a regular file"),
        "{err}"
    );
}

#[test]
fn a_fifo_in_place_of_the_missing_requirements_record_is_not_waited_on() {
    // The backend fakes the front end's "missing build requirements" exit
    // with a FIFO where lock2build reads the list.
    let err = python_refused(
        "pep517-missing-fifo",
        "os.mkfifo(os.path.join(out, 'lock2build-missing-requirements.json'))\nos._exit(3)",
    );
    assert!(err.contains("their list cannot be read"), "{err}");
    assert!(
        err.contains("lock2build-missing-requirements.json` is a FIFO"),
        "{err}"
    );
}

// Node: the install script of a package runs in the laid-out tree, which
// lock2build reads afterwards (each package.json, the .bin links) and on
// every later run.

/// A registry on loopback serving one package `trap` 1.0.0 (packed by npm)
/// whose `install` script is `install`, and a project that depends on it,
/// locked by npm against that registry.
fn npm_project(root: &Path, install: &str) -> (PathBuf, Server) {
    let package = root.join("trap");
    std::fs::create_dir_all(&package).unwrap();
    let manifest = serde_json::json!({
        "name": "trap",
        "version": "1.0.0",
        "bin": {"trap": "cli.js"},
        "scripts": {"install": install},
    });
    std::fs::write(package.join("package.json"), manifest.to_string()).unwrap();
    std::fs::write(package.join("cli.js"), "console.log('trap');\n").unwrap();
    let npm = |args: &[&str], dir: &Path| {
        let out = Command::new("npm")
            .args(args)
            .current_dir(dir)
            .env("npm_config_cache", root.join("npm-cache"))
            .output()
            .unwrap();
        assert!(out.status.success(), "npm {args:?}: {}", stderr(&out));
        stdout(&out)
    };
    let packed = npm(&["pack", "--json"], &package);
    let packed: serde_json::Value = serde_json::from_str(&packed).unwrap();
    let tgz = std::fs::read(package.join(packed[0]["filename"].as_str().unwrap())).unwrap();
    let server = Server::start();
    let tarball = format!("{}/trap/-/trap-1.0.0.tgz", server.base);
    let mut version = manifest.clone();
    version["hasInstallScript"] = true.into();
    version["dist"] = serde_json::json!({
        "tarball": tarball,
        "integrity": packed[0]["integrity"],
        "shasum": packed[0]["shasum"],
    });
    let packument = serde_json::json!({
        "name": "trap",
        "dist-tags": {"latest": "1.0.0"},
        "versions": {"1.0.0": version},
    });
    server.route("/trap", "application/json", packument.to_string());
    server.route("/trap/-/trap-1.0.0.tgz", "application/octet-stream", tgz);
    let project = root.join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("package.json"),
        r#"{"name": "victim", "version": "1.0.0", "dependencies": {"trap": "1.0.0"}}"#,
    )
    .unwrap();
    let registry = format!("--registry={}/", server.base);
    npm(
        &[
            "install",
            "--package-lock-only",
            "--ignore-scripts",
            "--omit-lockfile-registry-resolved=false",
            "--no-audit",
            "--no-fund",
            &registry,
        ],
        &project,
    );
    (project, server)
}

fn npm_refused(name: &str, install: &str) -> String {
    let root = tempdir(name);
    let (project, _server) = npm_project(&root, install);
    let lock = std::fs::read_to_string(project.join("package-lock.json")).unwrap();
    assert!(lock.contains("\"hasInstallScript\": true"), "{lock}");
    let store = root.join("store");
    let err = refused(&app_within_limit(&project, &store));
    assert!(!project.join("result").exists());
    // Nothing was stored for the tree: a later run meets no trap either.
    let stored = std::fs::read_dir(store.join("outputs"))
        .map(|rd| rd.flatten().count())
        .unwrap_or(0);
    assert_eq!(stored, 0, "an output was stored:\n{err}");
    err
}

#[test]
fn an_install_script_that_makes_its_package_json_a_fifo_is_refused() {
    let err = npm_refused("npm-fifo", "rm package.json && mkfifo package.json");
    assert!(
        err.contains("node_modules/trap/package.json` is a FIFO"),
        "{err}"
    );
}

#[test]
fn an_install_script_that_links_its_package_json_to_dev_zero_is_refused() {
    let err = npm_refused(
        "npm-zero",
        "rm package.json && ln -s /dev/zero package.json",
    );
    assert!(
        err.contains("the package.json of trap 1.0.0 (at node_modules/trap) cannot be read"),
        "{err}"
    );
    assert!(err.contains("is a symlink to `/dev/zero`"), "{err}");
}

#[test]
fn an_install_script_that_points_a_bin_link_out_of_the_tree_is_refused() {
    let err = npm_refused("npm-bin", "ln -sf /etc/passwd ../.bin/trap");
    assert!(
        err.contains("node_modules/.bin/trap points outside node_modules"),
        "{err}"
    );
}
