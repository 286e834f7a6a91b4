//! `lock2build app` and `overrides check` on a Cargo project, end to end:
//! `fixtures/cargo/native-app` (rusqlite over the system's SQLite, openssl
//! over the system's OpenSSL) built offline in the sandbox from its
//! Cargo.lock. Each test copies the fixture and uses its own store.

mod common;

use common::*;
use lock2build_sandbox::OVERLAY_NOTE;
use std::path::{Path, PathBuf};
use std::process::Command;

fn project(name: &str) -> (PathBuf, PathBuf) {
    app_project(name, "cargo/native-app")
}

/// Writes a project-layer override for a crate.
fn layer(project: &Path, name: &str, toml: &str) -> PathBuf {
    override_layer(project, "crates", name, toml)
}

/// The `cargo-vendor` output of a store.
fn vendor_dir(store: &Path) -> PathBuf {
    store_output(store, "cargo-vendor")
}

#[test]
fn cargo_project_builds_offline_against_the_system_libraries() {
    let (project, store) = project("rust-app");
    // -L: cargo's lines on stderr as they come, prefixed with the step
    // (`nix build -L`); the JSON report alone on stdout.
    let out = app(&project, &store, &["--json", "-L"]);
    let first = report(&out);
    let err = stderr(&out);
    assert!(
        err.contains("native-app-deps>    Compiling openssl-sys v0.9.118"),
        "{err}"
    );
    assert!(
        err.contains("native-app>    Compiling native-app v0.1.0 (/build/src)"),
        "{err}"
    );
    assert!(
        !err.contains('\u{1b}'),
        "escape codes without a terminal: {err}"
    );
    assert_eq!(strings(&first["scripts"]), ["native-app"]);
    assert_eq!(
        strings(&first["built"]),
        [
            "vendor directory",
            "dependencies of native-app",
            "native-app 0.1.0"
        ]
    );
    // 29 registry crates; zerocopy-derive (zerocopy's `derive` feature is
    // off, its other edge is `cfg(any())`) is vendored as a stub, not
    // downloaded.
    assert_eq!(first["downloaded"], 28, "{first}");
    let stub = vendor_dir(&store).join("zerocopy-derive-0.8.63");
    assert!(stub.join("lib.rs").is_file() && !stub.join("src").exists());

    // The binary runs: OpenSSL's SHA-256, stored in and read back from SQLite.
    let exe = project.join("result/bin/native-app");
    let out = Command::new(&exe).arg("lock2build").output().unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(text.contains(&format!(
        "sha256(lock2build) = {}",
        sha256_hex(b"lock2build")
    )));
    assert!(text.starts_with("sqlite 3."), "{text}");
    // The overrides' knobs took effect: the host's SQLite through
    // pkg-config (LIBSQLITE3_SYS_USE_PKG_CONFIG), not a bundled copy, and
    // the host's libcrypto (OPENSSL_NO_VENDOR).
    let ldd = Command::new("ldd").arg(&exe).output().unwrap();
    let ldd = stdout(&ldd);
    assert!(ldd.contains("libsqlite3.so"), "{ldd}");
    assert!(ldd.contains("libcrypto.so"), "{ldd}");
    let deps_log = std::fs::read_dir(store.join("logs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("-native-app-deps.log"))
        .expect("the dependencies' build log");
    let log = std::fs::read_to_string(deps_log).unwrap();
    assert!(log.contains("Compiling openssl-sys v0.9.118"), "{log}");
    // The vendor directory is what cargo's directory source wants.
    let vendor = vendor_dir(&store);
    let checksum: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(vendor.join("libsqlite3-sys-0.30.1/.cargo-checksum.json"))
            .unwrap(),
    )
    .unwrap();
    let lock = std::fs::read_to_string(project.join("Cargo.lock")).unwrap();
    assert!(lock.contains(checksum["package"].as_str().unwrap()));
    // The project's directory is not built in.
    assert!(!project.join("target").exists());

    // Nothing changed: nothing fetched, nothing built.
    let again = report(&app(&project, &store, &["--json"]));
    assert_eq!(again["downloaded"], 0);
    assert!(strings(&again["built"]).is_empty(), "{again}");
    assert_eq!(again["output"], first["output"]);

    // The project's source changed: only the app is rebuilt, from the same
    // vendor directory and dependencies' build, with nothing fetched, and
    // cargo compiles the project's crate alone.
    let main = project.join("src/main.rs");
    let source = std::fs::read_to_string(&main).unwrap();
    std::fs::write(&main, source.replace("sha256({word})", "SHA-256 of {word}")).unwrap();
    let edited = report(&app(&project, &store, &["--json"]));
    assert_eq!(strings(&edited["built"]), ["native-app 0.1.0"]);
    assert_eq!(edited["downloaded"], 0);
    let log =
        std::fs::read_to_string(edited["logs"]["native-app 0.1.0"].as_str().unwrap()).unwrap();
    let compiled: Vec<&str> = log.lines().filter(|l| l.contains("Compiling ")).collect();
    assert_eq!(
        compiled,
        ["   Compiling native-app v0.1.0 (/build/src)"],
        "{log}"
    );
    let out = Command::new(project.join("result/bin/native-app"))
        .arg("x")
        .output()
        .unwrap();
    assert!(stdout(&out).contains("SHA-256 of x = "), "{}", stdout(&out));
    // It built on the stored dependencies' build in place (an overlay),
    // which is as it was: its content hash, and every file's time and mode.
    let deps = store_output(&store, "native-app-deps");
    assert!(
        log.starts_with(&format!(
            "{OVERLAY_NOTE}{}/target at /build/target",
            deps.display()
        )),
        "{log}"
    );
    assert_verified(&store);
    let stored = file_stamps(&deps);
    assert!(stored.len() > 300, "{}", stored.len());

    // A second edit: again only the project's crate, from the same
    // dependencies' build, still unchanged.
    std::fs::write(&main, source.replace("sha256({word})", "digest of {word}")).unwrap();
    let edited = report(&app(&project, &store, &["--json"]));
    assert_eq!(strings(&edited["built"]), ["native-app 0.1.0"]);
    let log =
        std::fs::read_to_string(edited["logs"]["native-app 0.1.0"].as_str().unwrap()).unwrap();
    assert_eq!(log.matches("Compiling ").count(), 1, "{log}");
    let out = Command::new(project.join("result/bin/native-app"))
        .arg("y")
        .output()
        .unwrap();
    assert!(stdout(&out).contains("digest of y = "), "{}", stdout(&out));
    assert_eq!(file_stamps(&deps), stored);
    assert_verified(&store);
}

/// `lock2build store verify` finds nothing damaged.
fn assert_verified(store: &Path) {
    let out = lock2build(&["store", "verify"], &shared_cache(), store);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains(": 0 damaged"), "{}", stdout(&out));
}

/// Every entry under `root`: its path, length, mode and modification time.
fn file_stamps(root: &Path) -> Vec<(PathBuf, u64, u32, std::time::SystemTime)> {
    use std::os::unix::fs::PermissionsExt;
    let mut all = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path.clone());
            }
            let mode = meta.permissions().mode();
            all.push((path, meta.len(), mode, meta.modified().unwrap()));
        }
    }
    all.sort();
    all
}

#[test]
fn an_edit_builds_on_a_copy_where_no_overlay_can_be_mounted_and_without_the_sandbox() {
    // overlayfs cannot name a lower directory with a `,` in its path: the
    // sandboxed edit runs on a copy of the dependencies' build instead.
    let (project, store) = project("rust-edit-copy");
    let store = store.with_file_name("store,copy");
    let main = project.join("src/main.rs");
    let source = std::fs::read_to_string(&main).unwrap();
    for (args, word) in [(&[][..], "copied"), (&["--no-sandbox"][..], "unsandboxed")] {
        let json = [args, &["--json"]].concat();
        let first = report(&app(&project, &store, &json));
        assert!(
            strings(&first["built"]).contains(&"dependencies of native-app".to_owned()),
            "{first}"
        );
        std::fs::write(
            &main,
            source.replace("sha256({word})", &format!("{word} {{word}}")),
        )
        .unwrap();
        let edited = report(&app(&project, &store, &json));
        assert_eq!(strings(&edited["built"]), ["native-app 0.1.0"], "{edited}");
        let log =
            std::fs::read_to_string(edited["logs"]["native-app 0.1.0"].as_str().unwrap()).unwrap();
        assert_eq!(log.matches("Compiling ").count(), 1, "{log}");
        assert!(!log.contains(OVERLAY_NOTE), "{log}");
        if args.is_empty() {
            assert!(
                log.contains("lock2build: no overlay (") && log.contains("ran on a copy of"),
                "{log}"
            );
        }
        let out = Command::new(project.join("result/bin/native-app"))
            .arg("z")
            .output()
            .unwrap();
        assert!(
            stdout(&out).contains(&format!("{word} z = ")),
            "{}",
            stdout(&out)
        );
        assert_verified(&store);
    }
}

#[test]
fn missing_native_libraries_are_named_before_anything_is_fetched() {
    let (project, store) = project("rust-app-missing");
    layer(
        &project,
        "openssl-sys",
        "[[entry]]\nversions = \"*\"\nnative = [\"openssl\", \"gdal\"]\n",
    );
    let out = app(&project, &store, &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("lacks: gdal"), "{err}");
    assert!(err.contains("crates openssl-sys 0.9.118"), "{err}");
    assert!(err.contains("apt-get install"), "{err}");
    assert!(err.contains("libgdal-dev"), "{err}");
    assert!(
        !store.join("sources").exists()
            || std::fs::read_dir(store.join("sources"))
                .unwrap()
                .next()
                .is_none()
    );
}

#[test]
fn a_failing_build_script_names_the_crate_its_log_and_the_override_command() {
    let (project, store) = project("rust-app-failing");
    layer(
        &project,
        "openssl-sys",
        "[[entry]]\nversions = \"*\"\nnative = [\"openssl\"]\nenv = { OPENSSL_DIR = \"/nonexistent-openssl\" }\n",
    );
    let out = app(&project, &store, &["--keep-failed"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("building dependencies of native-app from source failed"),
        "{err}"
    );
    // The step said up front where its log is, and that it failed.
    let log = step_log(&err, "dependencies of native-app (cargo)");
    assert!(std::fs::read_to_string(log)
        .unwrap()
        .contains("/nonexistent-openssl"));
    assert!(
        err.contains("dependencies of native-app (cargo) failed after "),
        "{err}"
    );
    // --keep-failed: the step's directories, as it left them, outside tmp/.
    let kept = kept_build_dir(&err, &store);
    assert!(kept.join("build/src/Cargo.toml").is_file());
    let build_dirs = std::fs::read_dir(kept.join("build/target/release/build")).unwrap();
    assert!(
        build_dirs
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("openssl-sys-")),
        "no openssl-sys build directory under {}",
        kept.display()
    );
    assert!(
        err.contains("cargo reports that openssl-sys 0.9.118 failed"),
        "{err}"
    );
    assert!(err.contains("    | "), "no log tail in:\n{err}");
    assert!(err.contains("/nonexistent-openssl"), "{err}");
    assert!(err.contains("override in use: "), "{err}");
    assert!(
        err.contains("lock2build overrides new crates/openssl-sys --from-log "),
        "{err}"
    );
    assert!(!project.join("result").exists());
}

#[test]
fn overrides_check_test_builds_the_crates_the_project_layer_touches() {
    let (project, store) = project("rust-overrides-check");
    let patch = "--- /dev/null\n+++ b/LOCK2BUILD_PATCHED\n@@ -0,0 +1 @@\n+patched by a lock2build override\n";
    let dir = layer(
        &project,
        "openssl-sys",
        "[[entry]]\nversions = \">=0.9\"\nnative = [\"openssl\"]\ntools = [\"pkg-config\", \"cc\"]\nenv = { OPENSSL_NO_VENDOR = \"1\" }\npatches = [\"openssl-sys/mark.patch\"]\n",
    );
    std::fs::write(dir.join("openssl-sys/mark.patch"), patch).unwrap();
    let args = ["overrides", "check", "--dir", project.to_str().unwrap()];
    let logged = [&args[..], &["-L"]].concat();
    let out = lock2build(&logged, &shared_cache(), &store);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    // -L: cargo's lines, prefixed with the crate the check builds.
    assert!(
        stderr(&out).contains("openssl-sys>    Compiling openssl-sys v0.9.118"),
        "{}",
        stderr(&out)
    );
    assert!(
        text.contains("test-building from source: crates/openssl-sys"),
        "{text}"
    );
    let log = text
        .lines()
        .find_map(|l| l.strip_prefix("test build ok: crates/openssl-sys 0.9.118 (log: "))
        .and_then(|l| l.strip_suffix(')'))
        .unwrap_or_else(|| panic!("no test build of openssl-sys in:\n{text}"));
    let log = std::fs::read_to_string(log).unwrap();
    assert!(log.contains("Compiling openssl-sys v0.9.118"), "{log}");
    // Only that crate and what it needs, not the app.
    assert!(!log.contains("Compiling native-app"), "{log}");
    assert!(vendor_dir(&store)
        .join("openssl-sys-0.9.118/LOCK2BUILD_PATCHED")
        .is_file());
    assert!(!project.join("result").exists());

    // A patch that does not apply fails the check, naming the crate.
    let bad = "--- a/no-such-file.rs\n+++ b/no-such-file.rs\n@@ -1 +1 @@\n-old\n+new\n";
    std::fs::write(dir.join("openssl-sys/mark.patch"), bad).unwrap();
    let out = lock2build(&args, &shared_cache(), &store);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("does not apply to openssl-sys-0.9.118"),
        "{err}"
    );
}

#[test]
fn cargo_features_and_binaries_come_from_the_command_line_or_lock2build_toml() {
    let (project, store) = project("rust-app-features");
    std::fs::write(
        project.join("lock2build.toml"),
        "[app]\nfeatures = [\"shout\"]\nscripts = [\"native-app\"]\n",
    )
    .unwrap();
    let shouting = report(&app(&project, &store, &["--json"]));
    assert_eq!(strings(&shouting["scripts"]), ["native-app"]);
    let run = |arg: &str| {
        let out = Command::new(project.join("result/bin/native-app"))
            .arg(arg)
            .output()
            .unwrap();
        stdout(&out)
    };
    assert!(
        run("quiet").contains(&format!("sha256(QUIET) = {}", sha256_hex(b"QUIET"))),
        "{}",
        run("quiet")
    );
    // Without lock2build.toml: default features, another build; then
    // `--features` on the command line.
    std::fs::remove_file(project.join("lock2build.toml")).unwrap();
    let plain = report(&app(&project, &store, &["--json"]));
    assert_ne!(plain["output"], shouting["output"]);
    assert!(
        run("quiet").contains("sha256(quiet) = "),
        "{}",
        run("quiet")
    );
    report(&app(&project, &store, &["--json", "--features", "shout"]));
    assert!(
        run("quiet").contains("sha256(QUIET) = "),
        "{}",
        run("quiet")
    );
    // A binary the workspace does not have: cargo's error, in the log tail.
    let out = app(&project, &store, &["--script", "no-such-bin"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no-such-bin"), "{}", stderr(&out));
}

/// The directory of crate `name` (any version) in a vendor directory.
fn vendored(vendor: &Path, name: &str) -> PathBuf {
    std::fs::read_dir(vendor)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let file = p.file_name().unwrap().to_string_lossy().into_owned();
            file.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
        })
        .unwrap_or_else(|| panic!("no {name} in {}", vendor.display()))
}

#[test]
fn only_the_crates_the_host_build_compiles_are_fetched_checked_and_vendored() {
    let (project, store) = app_project("rust-host-build", "cargo/host-build");
    // Tools and libraries no build of this fixture has: demanded by crates
    // cargo does not compile here (cmake: libz-sys's `zlib-ng` feature is
    // off), or bundled (zstd-sys builds its own zstd unless asked).
    layer(
        &project,
        "cmake",
        "[[entry]]\nversions = \"*\"\nnative = [\"gdal\"]\n",
    );
    layer(
        &project,
        "zstd-sys",
        "[[entry]]\nversions = \"*\"\nnative = [\"gdal\"]\n",
    );
    let first = report(&app(&project, &store, &["--json"]));
    assert_eq!(strings(&first["scripts"]), ["host-build"]);
    // 19 registry crates in the lock; 7 are not downloaded: Windows-only
    // (winapi-util, windows-sys, windows-link; jobserver's getrandom with
    // its cfg-if and r-efi), or only reached through a feature this build
    // leaves off (cmake).
    assert_eq!(first["downloaded"], 12, "{first}");
    assert_eq!(first["artifacts"], 12, "{first}");
    let notes = strings(&first["notes"]).join("\n");
    assert!(
        notes.contains("12 of the lock's 19 registry crates are compiled on this host"),
        "{notes}"
    );
    let out = Command::new(project.join("result/bin/host-build"))
        .arg("hello")
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(text.contains(": hello round-trips"), "{text}");
    assert!(text.contains("/ and /. are one file: true"), "{text}");

    // The vendor directory: real crates, hard links to their own store
    // outputs; stubs for the rest (a manifest from the index, an empty lib).
    let vendor = vendor_dir(&store);
    let winapi = vendored(&vendor, "winapi-util");
    assert_eq!(std::fs::read_to_string(winapi.join("lib.rs")).unwrap(), "");
    assert!(!winapi.join("src").exists());
    let manifest = std::fs::read_to_string(winapi.join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains("[target.\"cfg(windows)\".dependencies"),
        "{manifest}"
    );
    let zstd_sys = vendored(&vendor, "zstd-sys");
    assert!(zstd_sys.join("zstd/lib/zstd.h").is_file());
    let name = zstd_sys.file_name().unwrap().to_string_lossy().into_owned();
    let own = store_output(&store, &format!("crate-{name}")).join(&name);
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(own.join("Cargo.toml")).unwrap().ino(),
        std::fs::metadata(zstd_sys.join("Cargo.toml"))
            .unwrap()
            .ino()
    );

    // Nothing changed: nothing read, nothing built.
    let again = report(&app(&project, &store, &["--json"]));
    assert!(strings(&again["built"]).is_empty(), "{again}");
    assert_eq!(again["output"], first["output"]);

    // A feature that makes cargo compile cmake, or zstd-sys use the
    // system's zstd: their needs are named before any crate is fetched.
    for (feature, crate_name) in [("ng", "cmake"), ("system-zstd", "zstd-sys")] {
        let out = app(&project, &store, &["--features", feature]);
        assert!(!out.status.success(), "--features {feature} built");
        let err = stderr(&out);
        assert!(err.contains("lacks: ") && err.contains("gdal"), "{err}");
        assert!(err.contains(&format!("crates {crate_name} ")), "{err}");
    }
    // So does the environment knob, set in the project layer.
    layer(
        &project,
        "zstd-sys",
        "[[entry]]\nversions = \"*\"\nnative = [\"gdal\"]\nenv = { ZSTD_SYS_USE_PKG_CONFIG = \"1\" }\n",
    );
    let err = stderr(&app(&project, &store, &[]));
    assert!(
        err.contains("crates zstd-sys ") && err.contains("gdal (missing)"),
        "{err}"
    );
    assert!(!err.contains("crates cmake "), "{err}");
}

/// A git workspace `tools` (members `gita`, `gitb`; `gita` inherits its
/// version, edition and its dependency on `gitb` from the workspace)
/// served by `git daemon`, and a project that depends on `gita` by rev,
/// locked by `cargo generate-lockfile`; the branch then moves on.
fn project_with_git_workspace(
    server: &lock2build_git::testing::GitServer,
    root: &Path,
) -> (PathBuf, String) {
    let first = server
        .repo(
            "tools",
            &[
                (
                    "Cargo.toml",
                    "[workspace]\nmembers = [\"a\", \"b\"]\nresolver = \"2\"\n\n[workspace.package]\nversion = \"0.2.0\"\nedition = \"2021\"\n\n[workspace.dependencies]\ngitb = { path = \"b\", version = \"0.2.0\" }\n\n[workspace.lints.rust]\nunsafe_code = \"forbid\"\n",
                ),
                (
                    "a/Cargo.toml",
                    "[package]\nname = \"gita\"\nversion.workspace = true\nedition.workspace = true\n\n[dependencies]\ngitb = { workspace = true }\n\n[lints]\nworkspace = true\n",
                ),
                ("a/src/lib.rs", "pub fn answer() -> u32 { gitb::base() + 1 }\n"),
                (
                    "b/Cargo.toml",
                    "[package]\nname = \"gitb\"\nversion = \"0.2.0\"\nedition = \"2021\"\n",
                ),
                ("b/src/lib.rs", "pub fn base() -> u32 { 41 }\n"),
            ],
        )
        .unwrap();
    let project = root.join("app");
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(
        project.join("Cargo.toml"),
        format!(
            "[workspace]\n\n[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ngita = {{ git = \"{}\", rev = \"{}\" }}\n",
            server.url("tools"),
            &first[..12]
        ),
    )
    .unwrap();
    std::fs::write(
        project.join("src/main.rs"),
        "fn main() { println!(\"answer {}\", gita::answer()); }\n",
    )
    .unwrap();
    let out = Command::new("cargo")
        .arg("generate-lockfile")
        .current_dir(&project)
        .env("CARGO_HOME", root.join("cargo-home"))
        .env("CARGO_NET_GIT_FETCH_WITH_CLI", "true")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    lock2build_git::testing::commit_files(
        &server.root().join("tools"),
        &[("b/src/lib.rs", "pub fn base() -> u32 { 6 }\n")],
        "moved on",
    )
    .unwrap();
    (project, first)
}

#[test]
fn git_crates_of_a_workspace_are_vendored_by_their_locked_commit() {
    let server = lock2build_git::testing::GitServer::start().unwrap();
    let root = tempdir("rust-git");
    let (project, commit) = project_with_git_workspace(&server, &root);
    let store = root.join("store");
    let lock = std::fs::read_to_string(project.join("Cargo.lock")).unwrap();
    assert!(
        lock.contains(&format!("?rev={}#{commit}", &commit[..12])),
        "{lock}"
    );
    let first = report(&app(&project, &store, &["--json"]));
    assert_eq!(strings(&first["scripts"]), ["app"]);
    // The locked commit's code (41 + 1), not the branch's newer one.
    let out = Command::new(project.join("result/bin/app"))
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "answer 42\n");
    // Each git source is its own directory source; the manifest inherited
    // from the workspace is written out, the original kept.
    let vendor = vendor_dir(&store);
    let gita = vendor.join(".git-sources/0/gita-0.2.0");
    let manifest = std::fs::read_to_string(gita.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("version = \"0.2.0\""), "{manifest}");
    assert!(!manifest.contains("workspace"), "{manifest}");
    assert!(gita.join("Cargo.toml.orig").is_file());
    assert!(vendor
        .join(".git-sources/0/gitb-0.2.0/src/lib.rs")
        .is_file());
    assert_eq!(
        std::fs::read_to_string(gita.join(".cargo-checksum.json")).unwrap(),
        r#"{"files":{},"package":null}"#
    );

    // Without the server: the store has everything, nothing is built.
    drop(server);
    let again = report(&app(&project, &store, &["--json"]));
    assert!(strings(&again["built"]).is_empty(), "{again}");

    // A fresh store cannot reach the repository: the error names the
    // crate, the URL and the commit, and what to do.
    let out = app(&project, &root.join("store-2"), &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("crates gita 0.2.0"), "{err}");
    assert!(err.contains("git://127.0.0.1:"), "{err}");
    assert!(err.contains(&commit), "{err}");
    assert!(err.contains("help: "), "{err}");
    assert!(!project
        .join("result")
        .read_link()
        .unwrap()
        .starts_with(root.join("store-2")));
}

#[test]
fn a_locked_git_commit_the_repository_lacks_is_refused() {
    let server = lock2build_git::testing::GitServer::start().unwrap();
    let root = tempdir("rust-git-missing");
    let (project, commit) = project_with_git_workspace(&server, &root);
    // The lock pins a commit the repository does not have.
    let bogus = "0123456789abcdef0123456789abcdef01234567";
    let lock = std::fs::read_to_string(project.join("Cargo.lock")).unwrap();
    std::fs::write(project.join("Cargo.lock"), lock.replace(&commit, bogus)).unwrap();
    let store = root.join("store");
    let out = app(&project, &store, &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("crates gita 0.2.0"), "{err}");
    assert!(err.contains(bogus), "{err}");
    assert!(err.contains(&server.url("tools")), "{err}");
    assert!(!project.join("result").exists());
    // Nothing was vendored.
    assert!(std::fs::read_dir(store.join("outputs"))
        .map(|rd| rd
            .filter_map(|e| e.ok())
            .all(|e| !e.file_name().to_string_lossy().ends_with("-cargo-git")))
        .unwrap_or(true));
}

/// `cargo generate-lockfile` (or `cargo ARGS`) in `project`.
fn relock(project: &Path, root: &Path, args: &[&str]) {
    let out = Command::new("cargo")
        .args(if args.is_empty() {
            &["generate-lockfile"][..]
        } else {
            args
        })
        .current_dir(project)
        .env("CARGO_HOME", root.join("cargo-home"))
        .env("CARGO_NET_GIT_FETCH_WITH_CLI", "true")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_git_crate_is_laid_out_once_per_commit_and_shared_between_projects() {
    let server = lock2build_git::testing::GitServer::start().unwrap();
    let root = tempdir("rust-git-shared");
    let (by_branch, first, head) = project_with_git_dep(&server, &root);
    // The same crate at the same commit, named by rev: another git source
    // for cargo, another vendor directory, the same crate.
    let by_rev = root.join("by-rev");
    copy_dir(&by_branch, &by_rev);
    let manifest = std::fs::read_to_string(by_rev.join("Cargo.toml")).unwrap();
    std::fs::write(
        by_rev.join("Cargo.toml"),
        manifest.replace("branch = \"main\"", &format!("rev = \"{first}\"")),
    )
    .unwrap();
    relock(&by_rev, &root, &[]);
    // The branch's newer commit.
    let newer = root.join("newer");
    copy_dir(&by_branch, &newer);
    relock(&newer, &root, &["update", "-p", "dep"]);
    assert!(std::fs::read_to_string(newer.join("Cargo.lock"))
        .unwrap()
        .contains(&head));

    let store = root.join("store");
    for (project, answer) in [(&by_branch, "42"), (&by_rev, "42"), (&newer, "7")] {
        report(&app(project, &store, &["--json"]));
        let out = Command::new(project.join("result/bin/app"))
            .output()
            .unwrap();
        assert_eq!(stdout(&out).trim(), answer, "{}", project.display());
    }
    // Three vendor directories; the crate's files are one inode per commit.
    use std::os::unix::fs::MetadataExt;
    let mut inodes: Vec<(String, u64)> = std::fs::read_dir(store.join("outputs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with("-cargo-vendor"))
        .map(|vendor| {
            let lib = vendor.join(".git-sources/0/dep-0.1.0/src/lib.rs");
            let text = std::fs::read_to_string(&lib).unwrap();
            (text, std::fs::metadata(&lib).unwrap().ino())
        })
        .collect();
    inodes.sort();
    assert_eq!(inodes.len(), 3, "{inodes:?}");
    assert!(
        inodes[0].0.contains("42") && inodes[1].0.contains("42"),
        "{inodes:?}"
    );
    assert!(inodes[2].0.contains('7'), "{inodes:?}");
    assert_eq!(inodes[0].1, inodes[1].1, "one commit, one copy");
    assert_ne!(inodes[0].1, inodes[2].1, "another commit, another copy");
    // Each is its own store output: one per commit.
    let crate_outputs = std::fs::read_dir(store.join("outputs"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with("-git-crate-dep-0.1.0")
        })
        .count();
    assert_eq!(crate_outputs, 2);
}

/// How many answers of the probe memo in `cache` contain `needle`: each
/// time a probe is asked anew (its inputs changed), one more.
fn remembered_answers(cache: &Path, needle: &str) -> usize {
    std::fs::read_dir(cache.join("probes"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            std::fs::read_to_string(e.path())
                .is_ok_and(|t| t.starts_with("lock2build-probe\n") && t.contains(needle))
        })
        .count()
}

#[test]
fn remembered_cargo_metadata_and_pkg_config_are_asked_again_when_what_they_read_changes() {
    let (project, store) = project("rust-probes");
    let root = project.parent().unwrap().to_owned();
    let cache = root.join("cache");
    // Our own pkg-config binary (its stamp is an input) and a directory of
    // `.pc` files searched first (PKG_CONFIG_PATH).
    let bin = root.join("bin");
    let pc = root.join("pc");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&pc).unwrap();
    std::fs::copy("/usr/bin/pkgconf", bin.join("pkg-config")).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let run = || {
        let out = Command::new(env!("CARGO_BIN_EXE_lock2build"))
            .args([
                "app",
                project.to_str().unwrap(),
                "--progress",
                "plain",
                "--json",
            ])
            .env("LOCK2BUILD_CACHE", &cache)
            .env("LOCK2BUILD_STORE", &store)
            .env("LOCK2BUILD_SWH_URL", "http://127.0.0.1:9")
            .env_remove("LOCK2BUILD_MIRRORS")
            .env("PATH", &path)
            .env("PKG_CONFIG_PATH", &pc)
            // The full check every time (the no-op memo would answer first).
            .env("LOCK2BUILD_NO_MEMO", "1")
            .output()
            .unwrap();
        strings(&report(&out)["built"])
    };
    let metadata = || remembered_answers(&cache, "\"manifest_path\"");
    let sqlite = || remembered_answers(&cache, "found 3.");
    let built = run();
    assert_eq!(built.len(), 3, "{built:?}");
    // The first run learns what `cargo metadata` reads (the project's
    // directory, which then gets `result`); the second remembers its answer
    // under those stamps.
    assert!(run().is_empty());
    let (m0, s0) = (metadata(), sqlite());
    assert!(m0 >= 1);
    assert!(s0 >= 1, "pkg-config --modversion sqlite3 remembered");

    // An edit by rename (as `sed -i` and editors write): nothing cargo
    // metadata or pkg-config read changed; only the app is rebuilt.
    let main = project.join("src/main.rs");
    let source = std::fs::read_to_string(&main).unwrap();
    std::fs::write(
        project.join("src/main.rs.new"),
        source.replace("sha256({word})", "S({word})"),
    )
    .unwrap();
    std::fs::rename(project.join("src/main.rs.new"), &main).unwrap();
    assert_eq!(run(), ["native-app 0.1.0"]);
    assert_eq!((metadata(), sqlite()), (m0, s0), "nothing asked again");

    // Cargo.toml changed (a new binary): asked again, and the skeleton has
    // the new target (else the dependencies' build would not find it).
    let manifest = project.join("Cargo.toml");
    let toml = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        project.join("src/second.rs"),
        "fn main() { println!(\"second\"); }\n",
    )
    .unwrap();
    std::fs::write(
        &manifest,
        toml.replace(
            "[dependencies]",
            "[[bin]]\nname = \"second\"\npath = \"src/second.rs\"\n\n[dependencies]",
        ),
    )
    .unwrap();
    assert_eq!(run(), ["dependencies of native-app", "native-app 0.1.0"]);
    assert_eq!(metadata(), m0 + 1);
    assert!(project.join("result/bin/second").is_file());
    // A target cargo finds by itself (src/bin/third.rs): no manifest
    // changed, but the directory it looks in did.
    std::fs::create_dir_all(project.join("src/bin")).unwrap();
    std::fs::write(project.join("src/bin/third.rs"), "fn main() {}\n").unwrap();
    assert_eq!(run(), ["dependencies of native-app", "native-app 0.1.0"]);
    assert!(metadata() >= m0 + 2);
    assert!(project.join("result/bin/third").is_file());
    // Cargo.lock rewritten with the same bytes: asked again, nothing rebuilt.
    let m1 = metadata();
    let lock = std::fs::read(project.join("Cargo.lock")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(project.join("Cargo.lock"), &lock).unwrap();
    assert!(run().is_empty());
    assert_eq!(metadata(), m1 + 1);

    // A `.pc` file: SQLite's, first in PKG_CONFIG_PATH, says another
    // version; then it is edited in place. Each time pkg-config is asked
    // again and the builds that link SQLite are made again.
    let system = std::fs::read_to_string(
        String::from_utf8(
            Command::new("pkg-config")
                .args(["--path", "sqlite3"])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap()
        .trim(),
    )
    .unwrap();
    let version = |v: &str| {
        system
            .lines()
            .map(|l| {
                if l.starts_with("Version:") {
                    format!("Version: {v}")
                } else {
                    l.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    std::fs::write(pc.join("sqlite3.pc"), version("3.99.1")).unwrap();
    assert_eq!(run(), ["dependencies of native-app", "native-app 0.1.0"]);
    assert_eq!(remembered_answers(&cache, "found 3.99.1"), 1);
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(pc.join("sqlite3.pc"), version("3.99.2")).unwrap();
    assert_eq!(run(), ["dependencies of native-app", "native-app 0.1.0"]);
    assert_eq!(remembered_answers(&cache, "found 3.99.2"), 1);

    // The pkg-config binary replaced (its stamp): asked again, same
    // answers, nothing rebuilt.
    let before = remembered_answers(&cache, "found 3.99.2");
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::remove_file(bin.join("pkg-config")).unwrap();
    std::fs::copy("/usr/bin/pkgconf", bin.join("pkg-config")).unwrap();
    assert!(run().is_empty());
    assert_eq!(remembered_answers(&cache, "found 3.99.2"), before + 1);
}
