//! What uv and cargo users expect of a CLI, end to end on the real binary:
//! stale locks warned about and refused with --locked/--frozen, the global
//! flags (-C, upward search, --color, --json errors), completions and the
//! man page, a closed pipe.

mod common;

use common::*;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

fn run_in(cwd: &Path, args: &[&str], store: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lock2build"))
        .args(args)
        .current_dir(cwd)
        .env("LOCK2BUILD_CACHE", shared_cache())
        .env("LOCK2BUILD_STORE", store)
        .env_remove("LOCK2BUILD_MIRRORS")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .output()
        .unwrap()
}

fn with_target<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut all = args.to_vec();
    all.extend_from_slice(TARGET);
    all
}

#[test]
fn a_uv_lock_asking_for_a_version_it_does_not_hold_warns_and_locked_refuses() {
    let dir = tempdir("stale-uv");
    copy_dir(&fixture("uv/project"), &dir);
    let store = tempdir("store");
    let fresh = run_in(&dir, &with_target(&["plan", "--locked"]), &store);
    assert!(fresh.status.success(), "{}", stderr(&fresh));
    assert!(!stderr(&fresh).contains("warning"), "{}", stderr(&fresh));

    let pyproject = std::fs::read_to_string(dir.join("pyproject.toml")).unwrap();
    std::fs::write(
        dir.join("pyproject.toml"),
        pyproject.replace("\"numpy>=1.24\"", "\"numpy>=3\""),
    )
    .unwrap();
    // Without --locked: a warning naming the file and line, exit 0.
    let out = run_in(&dir, &with_target(&["plan"]), &store);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("warning: pyproject.toml:6: uv.lock is out of date")
            && err.contains("`numpy>=3`"),
        "{err}"
    );
    // The plan document says so too.
    let out = run_in(&dir, &with_target(&["plan", "--json"]), &store);
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(plan["projects"][0]["stale"][0]["message"]
        .as_str()
        .unwrap()
        .contains("numpy"));
    // --locked, and --frozen (locked and offline), on every command that
    // reads the lock: exit 1 before anything is fetched or built.
    for args in [
        &["plan", "--locked"][..],
        &["fetch", "--locked"],
        &["app", "--frozen"],
        &["doctor", "--locked"],
        &["sources", "--locked", "--format", "urls"],
    ] {
        let out = run_in(&dir, &with_target(args), &store);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("out of date with its manifest, and --locked was given")
                && err.contains("numpy>=3")
                && err.contains("uv lock"),
            "{args:?}: {err}"
        );
    }
    assert!(
        !store.join("sources").exists()
            || std::fs::read_dir(store.join("sources"))
                .unwrap()
                .next()
                .is_none(),
        "nothing may be fetched from a refused lock"
    );
}

#[test]
fn a_poetry_lock_whose_content_hash_no_longer_matches_warns_and_locked_refuses() {
    let dir = tempdir("stale-poetry");
    copy_dir(&fixture("poetry/flask-pillow"), &dir);
    let store = tempdir("store");
    let pyproject = std::fs::read_to_string(dir.join("pyproject.toml")).unwrap();
    let edited = pyproject.replace("pillow (>=11.0)", "pillow (>=11.1)");
    assert_ne!(edited, pyproject);
    std::fs::write(dir.join("pyproject.toml"), edited).unwrap();
    let out = run_in(&dir, &with_target(&["plan"]), &store);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning: poetry.lock:")
            && stderr(&out).contains("poetry.lock is out of date"),
        "{}",
        stderr(&out)
    );
    let out = run_in(&dir, &with_target(&["plan", "--locked"]), &store);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("content-hash"), "{}", stderr(&out));
}

#[test]
fn the_project_is_found_upwards_and_with_dash_c() {
    let dir = tempdir("upwards");
    copy_dir(&fixture("cargo/native-app"), &dir);
    let store = tempdir("store");
    let src = dir.join("src");
    assert!(src.is_dir());
    let out = run_in(&src, &with_target(&["plan", "--json"]), &store);
    assert!(out.status.success(), "{}", stderr(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["projects"][0]["lockfile"], "Cargo.lock");

    // -C DIR: as if started there, for every command (gc too).
    let elsewhere = tempdir("elsewhere");
    let out = run_in(
        &elsewhere,
        &with_target(&["-C", src.to_str().unwrap(), "plan", "--json"]),
        &store,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run_in(
        &elsewhere,
        &["gc", "-C", src.to_str().unwrap(), "--json"],
        &store,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let gc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(gc["version"], 1);
    let out = run_in(
        &elsewhere,
        &[
            "overrides",
            "-C",
            src.to_str().unwrap(),
            "why",
            "crates/openssl-sys@0.9.103",
        ],
        &store,
    );
    assert!(
        stdout(&out).contains("OPENSSL_NO_VENDOR"),
        "{}",
        stderr(&out)
    );
    let out = run_in(&elsewhere, &["-C", "/nonexistent-dir", "gc"], &store);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("-C /nonexistent-dir"),
        "{}",
        stderr(&out)
    );
}

/// A directory with no project above it (the tests' own temporary
/// directories are inside this repository, whose Cargo.lock the upward
/// search would find).
fn no_project() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("lock2build-no-project-")
        .tempdir_in("/tmp")
        .unwrap()
}

#[test]
fn errors_under_json_are_a_json_object_on_stdout() {
    let temp = no_project();
    let dir = temp.path();
    let store = tempdir("store");
    let out = run_in(dir, &["plan", "--json"], &store);
    assert_eq!(out.status.code(), Some(1));
    let error: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)));
    assert_eq!(error["version"], 1);
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no lockfile found"),
        "{error}"
    );
    // Without --json: text on stderr, nothing on stdout.
    let out = run_in(dir, &["plan"], &store);
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).starts_with("error: "), "{}", stderr(&out));
}

#[test]
fn color_is_asked_for_or_refused() {
    let temp = no_project();
    let dir = temp.path();
    let store = tempdir("store");
    let out = run_in(dir, &["plan", "--color", "always"], &store);
    assert!(stderr(&out).starts_with("\u{1b}["), "{:?}", stderr(&out));
    let out = run_in(dir, &["plan", "--color", "never"], &store);
    assert!(stderr(&out).starts_with("error: "), "{:?}", stderr(&out));
    // NO_COLOR wins over auto (a pipe is not a terminal either way).
    let out = Command::new(env!("CARGO_BIN_EXE_lock2build"))
        .args(["plan"])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("CLICOLOR_FORCE", "1")
        .output()
        .unwrap();
    assert!(!stderr(&out).contains('\u{1b}'), "{:?}", stderr(&out));
}

#[test]
fn completions_and_a_man_page() {
    let dir = tempdir("completions");
    let store = tempdir("store");
    for (shell, marker) in [
        ("bash", "complete -F _lock2build"),
        ("zsh", "#compdef lock2build"),
        ("fish", "complete -c lock2build"),
    ] {
        let out = run_in(&dir, &["completions", shell], &store);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(
            text.contains(marker) && text.contains("frozen"),
            "{shell}: {text}"
        );
    }
    let out = run_in(&dir, &["man"], &store);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(
        text.contains(".TH lock2build") && text.contains("\\-\\-locked"),
        "{text}"
    );
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let dir = tempdir("pipe");
    copy_dir(&fixture("npm/big-2000"), &dir);
    let mut child = Command::new(env!("CARGO_BIN_EXE_lock2build"))
        .args(with_target(&["plan", "--json"]))
        .current_dir(&dir)
        .env("LOCK2BUILD_CACHE", shared_cache())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 64];
    child.stdout.take().unwrap().read_exact(&mut head).unwrap();
    // The read end is closed here (dropped); the plan is far bigger than a pipe.
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(err.is_empty(), "{err}");
    assert!(!status.success() || status.code() == Some(0), "{status:?}");
}

#[test]
fn a_cargo_or_npm_project_needs_no_python_and_refuses_another_machine() {
    let dir = tempdir("no-python");
    copy_dir(&fixture("cargo/native-app"), &dir);
    let store = tempdir("store");
    let empty_path = tempdir("empty-path");
    // No python3 (nor anything else) on PATH: plan works, and an offline
    // fetch says what is missing, not that python3 is.
    for args in [&["plan"][..], &["fetch", "--offline"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_lock2build"))
            .args(args)
            .current_dir(&dir)
            .env("PATH", &empty_path)
            .env("LOCK2BUILD_CACHE", shared_cache())
            .env("LOCK2BUILD_STORE", &store)
            .output()
            .unwrap();
        assert!(
            !stderr(&out).contains("python"),
            "{args:?}: {}",
            stderr(&out)
        );
        if args == ["plan"] {
            assert!(out.status.success(), "{}", stderr(&out));
        }
    }
    for (fixture_rel, what) in [("cargo/native-app", "Rust"), ("npm/native-app", "Node")] {
        let project = tempdir("other-machine");
        copy_dir(&fixture(fixture_rel), &project);
        let out = run_in(
            &project,
            &["app", "--os", "macos", "--libc", "musl-1.2"],
            &store,
        );
        assert_eq!(out.status.code(), Some(1));
        assert!(
            stderr(&out).contains(&format!(
                "--os, --libc describe another machine, but {what} builds run on this one"
            )),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn a_broken_lock2build_toml_is_an_error_before_anything_is_built() {
    let dir = tempdir("broken-config");
    copy_dir(&fixture("cargo/native-app"), &dir);
    let store = tempdir("store");
    for (text, wanted) in [
        (
            "[app]\nscripts = [\"x\"\n",
            "lock2build.toml:3:1: not valid TOML",
        ),
        (
            "[ap]\nscripts = [\"x\"]\n",
            "lock2build.toml:1: unknown table `ap`",
        ),
        ("[app]\nscript = [\"x\"]\n", "unknown field `script`"),
        ("[mirrors]\n\"https://crates.io\" = 3\n", "lock2build.toml"),
    ] {
        std::fs::write(dir.join("lock2build.toml"), text).unwrap();
        for command in ["app", "fetch", "doctor"] {
            let out = run_in(&dir, &[command], &store);
            assert_eq!(out.status.code(), Some(1), "{command} {text:?}");
            let err = stderr(&out);
            assert!(
                err.contains(wanted) && err.contains("help:"),
                "{command} {text:?}: {err}"
            );
            assert!(!err.contains("vendor") && !err.contains("fetched"), "{err}");
        }
    }
    assert!(!store.join("outputs").exists(), "nothing was built");
}

/// Every reporting command's --json document has a version; fetch counts
/// one download per file (npm locks may list one tarball at several
/// locations), so its counts add up.
#[test]
fn json_documents_have_versions_and_fetch_counts_add_up() {
    let dir = tempdir("json-docs");
    copy_dir(&fixture("npm/native-app"), &dir);
    let store = tempdir("store");
    let json = |args: &[&str]| -> serde_json::Value {
        let out = run_in(&dir, args, &store);
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}\n{}\n{}", stdout(&out), stderr(&out)))
    };
    let plan = json(&["plan", "--json"]);
    assert_eq!(plan["version"], 1);
    let with_artifact: Vec<&serde_json::Value> = plan["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["artifact"]["url"].is_string())
        .collect();
    let files: std::collections::BTreeSet<&str> = with_artifact
        .iter()
        .map(|n| n["artifact"]["integrity"].as_str().unwrap())
        .collect();
    assert!(
        files.len() < with_artifact.len(),
        "the fixture shares a tarball between locations"
    );

    let fetch = json(&["fetch", "--json"]);
    assert_eq!(fetch["version"], 1);
    assert_eq!(fetch["artifacts"], files.len(), "{fetch}");
    assert_eq!(fetch["downloaded"], files.len());
    assert_eq!(fetch["cached"], 0);
    assert_eq!(
        fetch["items"].as_array().unwrap().len(),
        with_artifact.len()
    );
    // -q: no progress even when asked for plain lines; -v: a line per file.
    let quiet = run_in(&dir, &["fetch", "-q", "--progress", "plain"], &store);
    assert!(
        quiet.status.success() && quiet.stderr.is_empty(),
        "{}",
        stderr(&quiet)
    );
    let again = json(&["fetch", "--json", "--offline"]);
    assert_eq!(
        (again["downloaded"].as_u64(), again["cached"].as_u64()),
        (Some(0), Some(files.len() as u64))
    );

    let doctor = json(&["doctor", "--json"]);
    assert_eq!(doctor["version"], 1);
    assert_eq!(doctor["overrides"]["source"], "embedded");
    assert!(doctor["native"]["packages"].is_array(), "{doctor}");
    assert!(doctor["sandbox"]["ok"].is_boolean());

    let why = json(&["overrides", "why", "--json", "pypi/pillow@10.4.0"]);
    assert_eq!(why["version"], 1);
    assert_eq!(why["packages"][0]["name"], "pillow");
    assert!(why["packages"][0]["resolved"]["native"]
        .as_array()
        .unwrap()
        .contains(&"libjpeg".into()));

    let gc = json(&["gc", "--json", "--keep-days", "30"]);
    assert_eq!(gc["version"], 1);
    assert_eq!(
        gc["removed"].as_array().unwrap().len(),
        0,
        "the plan just fetched keeps its sources"
    );
}
