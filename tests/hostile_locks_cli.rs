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
    assert!(
        err.contains("it would be used as a file name or path"),
        "{err}"
    );
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
    assert!(
        err.contains("uv.lock:42: package `idna`: file name `/tmp/x/PWNED-1.0-py3-none-any.whl`"),
        "{err}"
    );
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
    assert!(
        err.contains("package `is-even`: bin name `../../../usr/bin/evil`"),
        "{err}"
    );
}

#[test]
fn crate_names_with_a_path_are_refused() {
    let err = refused("cargo/v2-msrv", "Cargo.lock", |t| {
        t + "\n[[package]]\nname = \"../../evil\"\nversion = \"1.0.0\"\n\
             source = \"registry+https://github.com/rust-lang/crates.io-index\"\n\
             checksum = \"0000000000000000000000000000000000000000000000000000000000000000\"\n"
    });
    assert!(
        err.contains("Cargo.lock:44: package `../../evil`: name"),
        "{err}"
    );
}

/// `lock2build plan --offline` in `dir`: its stderr, asserting it failed
/// cleanly (an error, not a crash).
fn plan_fails(dir: &Path) -> String {
    let out = lock2build(
        &["plan", dir.to_str().unwrap(), "--offline"],
        &shared_cache(),
        &tempdir("store"),
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "not a clean error: {}",
        stderr(&out)
    );
    stderr(&out)
}

fn deep_marker(quote: char) -> String {
    format!(
        "{}python_version >= {quote}3{quote}{}",
        "(".repeat(20_000),
        ")".repeat(20_000)
    )
}

#[test]
fn markers_nested_20000_deep_are_an_error_not_a_stack_overflow() {
    // requirements.txt, written here.
    let dir = tempdir("deep-req");
    std::fs::write(
        dir.join("requirements.txt"),
        format!(
            "six==1.17.0 ; {} \\\n    --hash=sha256:4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274\n",
            deep_marker('"')
        ),
    )
    .unwrap();
    let err = plan_fails(&dir);
    assert!(
        err.contains("requirements.txt:1:") && err.contains("dependency `six`"),
        "{}",
        &err[..err.len().min(400)]
    );
    assert!(
        err.contains("deeper than 64 levels"),
        "{}",
        &err[..err.len().min(400)]
    );

    // uv.lock: an edge marker.
    let dir = tempdir("deep-uv");
    copy_dir(&fixture("uv/workspace"), &dir);
    let lock = std::fs::read_to_string(dir.join("uv.lock")).unwrap();
    let edited = lock.replacen(
        "marker = \"sys_platform == 'linux'\"",
        &format!("marker = \"{}\"", deep_marker('\'')),
        1,
    );
    assert_ne!(lock, edited);
    std::fs::write(dir.join("uv.lock"), edited).unwrap();
    let err = plan_fails(&dir);
    assert!(
        err.contains("uv.lock:") && err.contains("dependency `idna`"),
        "{}",
        &err[..err.len().min(400)]
    );

    // poetry.lock: a dependency's markers.
    let dir = tempdir("deep-poetry");
    copy_dir(&fixture("poetry/lock-2.0"), &dir);
    let lock = std::fs::read_to_string(dir.join("poetry.lock")).unwrap();
    let edited = lock.replacen(
        "markers = \"python_version < \\\"3.13\\\"\"",
        &format!("markers = '{}'", deep_marker('"')),
        1,
    );
    assert_ne!(lock, edited);
    std::fs::write(dir.join("poetry.lock"), edited).unwrap();
    let err = plan_fails(&dir);
    assert!(
        err.contains("poetry.lock:") && err.contains("deeper than 64 levels"),
        "{}",
        &err[..err.len().min(400)]
    );
}

/// `lock2build plan --offline` on a requirements.txt whose first line is
/// `include`, with a secret in lock2build's environment and one in a file
/// outside the project; neither may appear in what it prints.
fn plan_including(include: &str, setup: impl FnOnce(&Path)) -> String {
    let root = tempdir("include");
    let dir = root.join("project");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(root.join("outside.txt"), "OUTSIDE-SECRET==1.0\n").unwrap();
    std::fs::write(
        dir.join("requirements.txt"),
        format!("{include}\nsix==1.17.0 \\\n    --hash=sha256:4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274\n"),
    )
    .unwrap();
    setup(&dir);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lock2build"))
        .args(["plan", dir.to_str().unwrap(), "--offline"])
        .env("LOCK2BUILD_CACHE", shared_cache())
        .env("LOCK2BUILD_STORE", tempdir("store"))
        .env("SECRET_TOKEN", "hunter2-env-secret")
        .output()
        .unwrap();
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!out.status.success(), "{all}");
    assert!(!all.contains("hunter2"), "the environment leaked: {all}");
    assert!(
        !all.contains("OUTSIDE-SECRET"),
        "a file outside leaked: {all}"
    );
    all
}

#[test]
fn includes_outside_the_project_are_refused_unread() {
    let err = plan_including("-r /proc/self/environ", |_| {});
    assert!(
        err.contains(
            "requirements.txt:1: `-r /proc/self/environ`: the included file is an absolute path"
        ),
        "{err}"
    );
    let err = plan_including("-r ../outside.txt", |_| {});
    assert!(err.contains("leaves the lockfile's directory"), "{err}");
    let err = plan_including("-c ../outside.txt", |_| {});
    assert!(err.contains("`-c ../outside.txt`"), "{err}");
    let err = plan_including("--requirement=sub/../../outside.txt", |_| {});
    assert!(err.contains("leaves the lockfile's directory"), "{err}");
}

#[test]
fn includes_through_symlinks_and_special_files_are_not_read() {
    // A name inside that resolves outside.
    let err = plan_including("-r env.txt", |dir| {
        std::os::unix::fs::symlink("/proc/self/environ", dir.join("env.txt")).unwrap();
    });
    assert!(err.contains("cannot read included file"), "{err}");
    let err = plan_including("-r linked.txt", |dir| {
        std::os::unix::fs::symlink("../outside.txt", dir.join("linked.txt")).unwrap();
    });
    assert!(err.contains("cannot read included file"), "{err}");
    // A FIFO would block the import forever.
    let err = plan_including("-r pipe.txt", |dir| {
        let status = std::process::Command::new("mkfifo")
            .arg(dir.join("pipe.txt"))
            .status()
            .unwrap();
        assert!(status.success());
    });
    assert!(err.contains("cannot read included file"), "{err}");
}
