//! `lock2build doctor` and `lock2build overrides …` end to end.

mod common;

use common::*;
use std::process::Command;

#[test]
fn why_shows_the_community_layer_and_a_project_layer_winning() {
    let dir = tempdir("why");
    copy_dir(&fixture("poetry/flask-pillow"), &dir);
    let (cache, store) = (shared_cache(), tempdir("store"));
    let out = lock2build(
        &["overrides", "why", "pillow", "--dir", dir.to_str().unwrap()],
        &cache,
        &store,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("libjpeg")
            && text.contains("community layer")
            && text.contains("pillow.toml"),
        "{text}"
    );

    std::fs::write(
        dir.join("lock2build.toml"),
        "[overrides.pypi.pillow]\nenv = { PILLOW_TEST_KNOB = \"1\" }\n",
    )
    .unwrap();
    let out = lock2build(
        &["overrides", "why", "pillow", "--dir", dir.to_str().unwrap()],
        &cache,
        &store,
    );
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        text.contains("PILLOW_TEST_KNOB=1") && text.contains("project layer"),
        "{text}"
    );

    let out = lock2build(
        &["overrides", "why", "crates/openssl-sys@0.9.103"],
        &cache,
        &store,
    );
    assert!(
        stdout(&out).contains("OPENSSL_NO_VENDOR=1"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn doctor_names_what_is_missing_and_how_to_install_it() {
    let dir = tempdir("doctor");
    copy_dir(&fixture("cargo/v2-msrv"), &dir);
    // A project-layer fact: this crate needs ALSA (a library CI does not install).
    let plan = lock2build(
        &["plan", dir.to_str().unwrap(), "--json"],
        &shared_cache(),
        &tempdir("store"),
    );
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let some_crate = plan["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p.get("root").is_none())
        .unwrap()["name"]
        .as_str()
        .unwrap()
        .to_owned();
    std::fs::write(
        dir.join("lock2build.toml"),
        format!("[overrides.crates.{some_crate}]\nnative = [\"alsa\"]\n"),
    )
    .unwrap();
    let out = lock2build(
        &["doctor", dir.to_str().unwrap()],
        &shared_cache(),
        &tempdir("store"),
    );
    let text = stdout(&out);
    if std::path::Path::new("/usr/share/pkgconfig/alsa.pc").exists()
        || std::path::Path::new("/usr/lib/x86_64-linux-gnu/pkgconfig/alsa.pc").exists()
    {
        eprintln!("libasound2-dev is installed here; the missing case cannot be shown");
        return;
    }
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    assert!(text.contains("alsa (missing)"), "{text}");
    assert!(
        text.contains("apt-get install") && text.contains("libasound2-dev"),
        "{text}"
    );
    assert!(text.contains("alsa-lib"), "nixpkgs attribute too: {text}");
}

#[test]
fn draft_check_export_flow() {
    let dir = tempdir("contrib");
    std::fs::write(
        dir.join("build.log"),
        "In file included from src/x.c:3:\nsrc/x.c:3:10: fatal error: jpeglib.h: No such file or directory\n",
    )
    .unwrap();
    let d = dir.to_str().unwrap();
    let (cache, store) = (shared_cache(), tempdir("store"));
    let log = dir.join("build.log");
    let out = lock2build(
        &[
            "overrides",
            "new",
            "pypi/not-a-real-pkg@1.2",
            "--from-log",
            log.to_str().unwrap(),
            "--dir",
            d,
        ],
        &cache,
        &store,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let draft = std::fs::read_to_string(dir.join(".lock2build/overrides/pypi/not-a-real-pkg.toml"))
        .unwrap();
    assert!(draft.contains("libjpeg"), "{draft}");
    assert!(draft.contains(">=1.2"), "{draft}");

    let out = lock2build(&["overrides", "check", "--dir", d], &cache, &store);
    assert!(out.status.success(), "{}", stderr(&out));

    // A broken draft is refused with its file named.
    std::fs::write(
        dir.join(".lock2build/overrides/pypi/broken.toml"),
        "[[entry]]\nversions = \"*\"\nnative = [\"no-such-lib\"]\n",
    )
    .unwrap();
    let out = lock2build(&["overrides", "check", "--dir", d], &cache, &store);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("broken.toml") && stderr(&out).contains("no-such-lib"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_file(dir.join(".lock2build/overrides/pypi/broken.toml")).unwrap();

    let patch = dir.join("contrib.patch");
    let out = lock2build(
        &[
            "overrides",
            "export",
            "--dir",
            d,
            "-o",
            patch.to_str().unwrap(),
        ],
        &cache,
        &store,
    );
    assert!(out.status.success(), "{}", stderr(&out));

    // The patch applies to a copy of the community database with git apply.
    let repo_copy = tempdir("community");
    copy_dir(&repo().join("overrides"), &repo_copy.join("overrides"));
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(&repo_copy)
            .output()
            .unwrap()
    };
    assert!(git(&["init", "-q"]).status.success());
    let applied = git(&["apply", patch.to_str().unwrap()]);
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    let added =
        std::fs::read_to_string(repo_copy.join("overrides/pypi/not-a-real-pkg.toml")).unwrap();
    assert_eq!(added, draft);
    // With its fixture test: the version the entry starts at, and what the
    // database must then say.
    let case = std::fs::read_to_string(
        repo_copy.join("crates/overrides/tests/cases/pypi-not-a-real-pkg.toml"),
    )
    .unwrap();
    assert!(
        case.contains("version = \"1.2\"") && case.contains("native = [\"libjpeg\"]"),
        "{case}"
    );
}

#[test]
fn draft_from_a_wheel_that_needs_an_unbundled_library() {
    let dir = tempdir("wheelneeds");
    // A compiled module that needs libz.so.1, which the wheel does not bundle.
    std::fs::write(dir.join("m.c"), "int answer(void) { return 42; }\n").unwrap();
    let libz = [
        "/lib/x86_64-linux-gnu/libz.so.1",
        "/usr/lib/x86_64-linux-gnu/libz.so.1",
        "/lib/aarch64-linux-gnu/libz.so.1",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists())
    .expect("zlib's runtime library (zlib1g) is on every Debian system");
    let cc = Command::new("cc")
        .args([
            "-shared",
            "-fPIC",
            "-Wl,--no-as-needed",
            "-o",
            "m.so",
            "m.c",
            libz,
        ])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        cc.status.success(),
        "{}",
        String::from_utf8_lossy(&cc.stderr)
    );
    let wheel = dir.join("foo-1.0-cp311-cp311-linux_x86_64.whl");
    let py = Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1], 'w')\nz.write(sys.argv[2], 'foo/_m.cpython-311-x86_64-linux-gnu.so')\nz.writestr('foo-1.0.dist-info/WHEEL', 'Wheel-Version: 1.0\\n')\nz.close()",
            wheel.to_str().unwrap(),
            dir.join("m.so").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    let d = dir.to_str().unwrap();
    let out = lock2build(
        &[
            "overrides",
            "new",
            "pypi/foo",
            "--from-wheel",
            wheel.to_str().unwrap(),
            "--dir",
            d,
        ],
        &shared_cache(),
        &tempdir("store"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("found: zlib"), "{}", stdout(&out));
    let draft = std::fs::read_to_string(dir.join(".lock2build/overrides/pypi/foo.toml")).unwrap();
    assert!(draft.contains("\"zlib\""), "{draft}");
}

#[test]
fn doctor_without_bubblewrap_says_how_to_install_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_lock2build"))
        .args([
            "doctor",
            fixture("npm/v1").to_str().unwrap(),
            "--python-version",
            "3.11",
        ])
        .env("LOCK2BUILD_CACHE", shared_cache())
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    assert!(
        text.contains("bubblewrap") && text.contains("apt-get install bubblewrap"),
        "{text}"
    );
}

#[test]
fn doctor_names_the_rust_toolchain_and_node_headers_builds_would_use() {
    let run = |dir: &str, path: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lock2build"));
        cmd.args(["doctor", fixture(dir).to_str().unwrap()])
            .env("LOCK2BUILD_CACHE", shared_cache());
        if let Some(path) = path {
            cmd.env("PATH", path);
        }
        cmd.output().unwrap()
    };
    let rustc = Command::new("rustc").arg("--version").output().unwrap();
    let version = stdout(&rustc).trim().to_owned();
    let out = run("cargo/native-app", None);
    assert!(
        stdout(&out).contains(&format!("Rust: {version} (")),
        "{}",
        stdout(&out)
    );
    let out = run("npm/native-app", None);
    assert!(
        stdout(&out).contains("with its headers in ") && stdout(&out).contains("include/node"),
        "{}",
        stdout(&out)
    );
    // A rustc that cannot say where its toolchain is: named, with the fix.
    let bin = tempdir("doctor-rustc");
    let fake = bin.join("rustc");
    std::fs::write(&fake, "#!/bin/sh\necho 'no toolchain' >&2\nexit 1\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let out = run("cargo/native-app", Some(&path));
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("`rustc --print sysroot` failed: no toolchain"),
        "{text}"
    );
    assert!(text.contains("help: install a Rust toolchain"), "{text}");
}

/// `cargo install --path .` and then deleting the checkout must leave a
/// working lock2build: the binary, copied out of the tree, run with the
/// whole checkout hidden (an empty tmpfs over it, in bubblewrap), still
/// has its community database (and the build-system lock the Python
/// builder reads), and doctor says which one is in use.
#[test]
fn an_installed_binary_needs_no_checkout() {
    let outside = tempfile::Builder::new()
        .prefix("lock2build-installed-")
        .tempdir_in("/tmp")
        .unwrap();
    let bin = outside.path().join("bin/lock2build");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_lock2build"), &bin).unwrap();
    let project = outside.path().join("project");
    copy_dir(&fixture("npm/native-app"), &project);
    let cache = outside.path().join("cache");
    let run = |args: &[&str]| {
        let mut command = std::process::Command::new("bwrap");
        command
            .args(["--dev-bind", "/", "/", "--tmpfs"])
            .arg(repo())
            .arg("--chdir")
            .arg(&project)
            .arg("--")
            .arg(&bin)
            .args(args)
            .env("LOCK2BUILD_CACHE", &cache)
            .env("LOCK2BUILD_STORE", outside.path().join("store"))
            .env_remove("LOCK2BUILD_OVERRIDES");
        command.output().expect("run bwrap")
    };
    // The checkout really is gone inside.
    let out = run(&["overrides", "why", "pypi/pillow@10.4.0"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("libjpeg") && text.contains("community layer"),
        "{text}"
    );
    assert!(
        text.contains(&cache.display().to_string()),
        "the override must come from the unpacked copy: {text}"
    );
    let unpacked: Vec<_> = std::fs::read_dir(cache.join("community"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(unpacked.len(), 1, "{unpacked:?}");
    assert!(unpacked[0]
        .join("overrides/pypi/build-systems/requirements.txt")
        .is_file());

    let mut args = vec!["doctor"];
    args.extend_from_slice(TARGET);
    let out = run(&args);
    let text = stdout(&out);
    assert!(
        text.contains("Overrides: community database built into lock2build")
            && text.contains(&unpacked[0].display().to_string()),
        "{text}\n{}",
        stderr(&out)
    );

    // LOCK2BUILD_OVERRIDES names a newer copy; a wrong one is an error, not
    // a build without overrides.
    let newer = outside.path().join("newer");
    copy_dir(&repo().join("overrides"), &newer);
    std::fs::write(
        newer.join("pypi/pillow.toml"),
        "[[entry]]\nversions = \"*\"\nnative = [\"zlib\"]\n",
    )
    .unwrap();
    let out = std::process::Command::new(&bin)
        .args(["overrides", "why", "pypi/pillow@10.4.0"])
        .current_dir(&project)
        .env("LOCK2BUILD_CACHE", &cache)
        .env("LOCK2BUILD_OVERRIDES", &newer)
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(
        out.status.success() && !text.contains("libjpeg") && text.contains("zlib"),
        "{text}{}",
        stderr(&out)
    );
    let out = std::process::Command::new(&bin)
        .args(["overrides", "why", "pypi/pillow@10.4.0"])
        .current_dir(&project)
        .env("LOCK2BUILD_CACHE", &cache)
        .env("LOCK2BUILD_OVERRIDES", outside.path().join("missing"))
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("LOCK2BUILD_OVERRIDES="),
        "{}",
        stderr(&out)
    );
}
