//! `lock2build app` end to end, as a user runs it, on the Python fixtures:
//! the Poetry Flask + Pillow app (served and queried over HTTP), the uv
//! project whose psycopg2 is built from its sdist in the sandbox, and a
//! pip-compile requirements.txt. Each test copies its fixture into a
//! temporary directory (the `result` link lands there) and uses its own
//! store; the index cache is shared.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn built(report: &serde_json::Value) -> Vec<String> {
    strings(&report["built"])
}

fn project(name: &str, fixture_rel: &str) -> (PathBuf, PathBuf) {
    app_project(name, fixture_rel)
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

/// One HTTP/1.0 GET on loopback: (status line, body).
fn get(port: u16, path: &str) -> Option<(String, Vec<u8>)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).ok()?;
    let split = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    Some((head.lines().next()?.to_owned(), bytes[split + 4..].to_vec()))
}

/// Width and height from a JPEG's first SOFn segment.
fn jpeg_size(bytes: &[u8]) -> Option<(u16, u16)> {
    if bytes.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut i = 2;
    while i + 9 < bytes.len() {
        if bytes[i] != 0xFF {
            return None;
        }
        let marker = bytes[i + 1];
        let len = u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize;
        if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
            let h = u16::from_be_bytes([bytes[i + 5], bytes[i + 6]]);
            let w = u16::from_be_bytes([bytes[i + 7], bytes[i + 8]]);
            return Some((w, h));
        }
        i += 2 + len;
    }
    None
}

#[test]
fn flask_pillow_app_serves_hello_world_and_a_resized_jpeg() {
    let (project, store) = project("app-flask", "poetry/flask-pillow");
    // An exported requirements.txt next to poetry.lock: poetry.lock wins.
    std::fs::copy(
        fixture("requirements/pip-compile/requirements.txt"),
        project.join("requirements.txt"),
    )
    .unwrap();
    let out = app(&project, &store, &[]);
    let text = ok(&out);
    assert!(text.contains("result/bin: app, python"), "{text}");
    // The project itself was built by poetry-core in the sandbox; its log is kept.
    assert!(stderr(&out).contains("built app 0.1.0"), "{}", stderr(&out));
    let result = project.join("result");
    assert!(std::fs::read_link(&result)
        .unwrap()
        .starts_with(store.join("outputs")));

    // The environment sees the locked packages and nothing of the host.
    let python = result.join("bin/python");
    let probe = run(Command::new(&python).args([
        "-c",
        "import sys, flask, PIL, requests\n\
         print(sys.prefix)\n\
         print(flask.__file__)\n\
         try:\n    import pip\n    print('pip visible')\nexcept ImportError:\n    print('no pip')",
    ]));
    let lines: Vec<&str> = probe.lines().collect();
    assert_eq!(Path::new(lines[0]), result, "{probe}");
    assert!(
        lines[1].starts_with(store.join("outputs").to_str().unwrap()),
        "{probe}"
    );
    assert_eq!(
        lines[2], "no pip",
        "the host's site-packages leak into the environment"
    );

    // The app answers as the poetry2nix introduction's does.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut server = Command::new(result.join("bin/app"))
        .env("APP_PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let hello = loop {
        if let Some(answer) = get(port, "/") {
            break answer;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the app did not start listening"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let image = get(port, "/image");
    let _ = server.kill();
    let _ = server.wait();
    assert!(hello.0.contains("200"), "{}", hello.0);
    assert_eq!(String::from_utf8_lossy(&hello.1), "Hello World!");
    let (status, jpeg) = image.expect("/image answers");
    assert!(status.contains("200"), "{status}");
    assert_eq!(jpeg_size(&jpeg), Some((128, 128)), "not a 128x128 JPEG");

    // Nothing changed: nothing fetched, nothing built, and it says so.
    let again = app(&project, &store, &[]);
    assert!(ok(&again).contains("nothing to do"), "{}", stdout(&again));
    let json = report(&app(&project, &store, &["--json"]));
    assert_eq!(json["downloaded"], 0);
    assert_eq!(built(&json), Vec::<String>::new());
}

#[test]
fn uv_native_app_builds_psycopg2_from_its_sdist_against_libpq() {
    let (project, store) = project("app-native", "uv/native-app");
    let json = report(&app(&project, &store, &["--json"]));
    let built = built(&json);
    assert!(built.contains(&"psycopg2 2.9.13".to_owned()), "{built:?}");
    assert!(built.contains(&"native-app 0.1.0".to_owned()), "{built:?}");
    let log = PathBuf::from(json["logs"]["psycopg2 2.9.13"].as_str().unwrap());
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(log_text.contains("built psycopg2-2.9.13-cp"), "{log_text}");
    let printed = run(&mut Command::new(project.join("result/bin/native-app")));
    for module in ["lxml", "numpy", "yaml", "cryptography", "psycopg2 2.9.13"] {
        assert!(
            printed.lines().any(|l| l.starts_with(module)),
            "{module} missing from:\n{printed}"
        );
    }
    assert!(
        printed.contains("b\"'it''s'\""),
        "psycopg2 does not quote through libpq:\n{printed}"
    );
}

/// Every `__pycache__` directory in the store's outputs.
fn pycache_dirs(store: &std::path::Path) -> Vec<PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                if entry.file_name() == "__pycache__" {
                    out.push(path.clone());
                }
                walk(&path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&store.join("outputs"), &mut out);
    out.sort();
    out
}

/// Every `.pyc` below `dir`, relative to it, with its bytes.
fn pyc_files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                walk(root, &path, out);
            } else if path.extension().is_some_and(|e| e == "pyc") {
                let rel = path.strip_prefix(root).unwrap().to_owned();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn packages_are_byte_compiled_at_build_time_reproducibly_and_used_as_they_are() {
    let (project, store) = project("app-pyc", "requirements/pip-compile");
    ok(&app(&project, &store, &[]));
    let python = project.join("result/bin/python");
    // As a started app sees them: nothing may be written, nothing compiled.
    let probe = "import sys, os, importlib.util, flask, werkzeug.serving\n\
                 print(sys.implementation.cache_tag)\n\
                 print(flask.__cached__)\n\
                 print(os.path.dirname(flask.__file__))\n\
                 print(importlib.util.cache_from_source(werkzeug.serving.__file__))";
    let printed = run(Command::new(&python)
        .args(["-c", probe])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("PYTHONPYCACHEPREFIX"));
    let lines: Vec<&str> = printed.lines().collect();
    let (tag, cached, flask_dir, serving) = (lines[0], lines[1], lines[2], lines[3]);
    let store_outputs = std::fs::canonicalize(store.join("outputs")).unwrap();
    for pyc in [cached, serving] {
        assert!(
            pyc.starts_with(store_outputs.to_str().unwrap())
                && pyc.ends_with(&format!(".{tag}.pyc")),
            "{pyc}"
        );
        let bytes = std::fs::read(pyc).unwrap_or_else(|e| panic!("{pyc}: {e}"));
        // PEP 552 flags: hash-based (bit 0), not checked against the source (bit 1 clear).
        assert_eq!(bytes[4..8], [1, 0, 0, 0], "{pyc}");
    }
    // Every module of flask has its bytecode.
    for entry in std::fs::read_dir(flask_dir).unwrap().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "py") {
            let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
            let pyc = Path::new(flask_dir)
                .join("__pycache__")
                .join(format!("{stem}.{tag}.pyc"));
            assert!(pyc.is_file(), "{}", pyc.display());
        }
    }
    // And the import system loads them rather than compiling the source.
    let verbose = Command::new(&python)
        .args(["-v", "-c", "import flask.app"])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    let log = stderr(&verbose);
    let app_pyc = format!(
        "# code object from '{}'",
        Path::new(flask_dir)
            .join(format!("__pycache__/app.{tag}.pyc"))
            .display()
    );
    assert!(log.contains(&app_pyc), "{app_pyc} not in:\n{log}");
    assert!(
        !log.contains(&format!("# code object from {flask_dir}/app.py")),
        "{log}"
    );

    // Reproducible: another store builds the same bytes.
    let (again, store_again) = app_project("app-pyc-again", "requirements/pip-compile");
    ok(&app(&again, &store_again, &[]));
    let first = pyc_files(&store.join("outputs"));
    assert!(first.len() > 100, "{}", first.len());
    let second = pyc_files(&store_again.join("outputs"));
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        second.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &first {
        assert!(&second[path] == bytes, "{} differs", path.display());
    }
}

#[test]
fn requirements_app_offers_top_level_scripts_and_rebuilds_only_a_bumped_pin() {
    let (project, store) = project("app-requirements", "requirements/pip-compile");
    let text = ok(&app(&project, &store, &[]));
    // flask is a top-level requirement; charset-normalizer's `normalizer` is not.
    assert!(text.contains("result/bin: flask, python"), "{text}");
    let pycache_before = pycache_dirs(&store);
    // (as a user runs them: writing bytecode allowed by the environment)
    let version = run(Command::new(project.join("result/bin/flask"))
        .arg("--version")
        .env_remove("PYTHONDONTWRITEBYTECODE"));
    assert!(version.contains("Flask 3.1.3"), "{version}");
    run(Command::new(project.join("result/bin/python"))
        .args(["-c", "import flask, werkzeug.serving, charset_normalizer"])
        .env_remove("PYTHONDONTWRITEBYTECODE"));
    // The store is read-only to what runs from it: no __pycache__ appeared.
    assert_eq!(pycache_dirs(&store), pycache_before);

    // lock2build.toml names what result/bin holds.
    std::fs::write(
        project.join("lock2build.toml"),
        "[app]\nscripts = [\"normalizer\"]\n",
    )
    .unwrap();
    let text = ok(&app(&project, &store, &[]));
    assert!(text.contains("result/bin: normalizer, python"), "{text}");
    std::fs::remove_file(project.join("lock2build.toml")).unwrap();

    // idna 3.20 → 3.10 (pip-compile with `idna==3.10`): only idna is
    // fetched and installed again, and the environment recomposed.
    std::fs::copy(
        fixture("requirements/pip-compile-bumped/requirements.txt"),
        project.join("requirements.txt"),
    )
    .unwrap();
    let json = report(&app(&project, &store, &["--json"]));
    assert_eq!(json["downloaded"], 1, "{json}");
    assert_eq!(built(&json), ["idna 3.10", "app environment"]);
    let idna = run(Command::new(project.join("result/bin/python"))
        .args(["-c", "import idna; print(idna.__version__)"]));
    assert_eq!(idna.trim(), "3.10");

    // gc of every source (no plan kept): the installed wheels need none, so
    // the next run fetches nothing.
    let gc = lock2build(&["gc", "--keep-days", "0"], &shared_cache(), &store);
    assert!(stdout(&gc).contains("/sources/"), "{}", stdout(&gc));
    let json = report(&app(&project, &store, &["--json"]));
    assert_eq!(
        (json["downloaded"].as_u64(), built(&json).len()),
        (Some(0), 0),
        "{json}"
    );
}

#[test]
fn missing_native_libraries_are_all_named_before_any_build() {
    let (project, store) = project("app-native-missing", "uv/native-app");
    // A project override: psycopg2 also needs GDAL and HDF5 (not installed).
    let layer = project.join(".lock2build/overrides/pypi");
    std::fs::create_dir_all(&layer).unwrap();
    std::fs::write(
        layer.join("psycopg2.toml"),
        "[[entry]]\nversions = \"*\"\nnative = [\"gdal\", \"hdf5\"]\n",
    )
    .unwrap();
    let out = app(&project, &store, &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("need native libraries or tools this machine lacks: gdal, hdf5"),
        "{err}"
    );
    assert!(
        err.contains("pypi psycopg2 2.9.13: libpq, gdal (missing), hdf5 (missing), cc"),
        "{err}"
    );
    assert!(
        err.contains("apt-get install -y libgdal-dev libhdf5-dev"),
        "{err}"
    );
    assert!(err.contains("Nix users: nix-shell -p gdal hdf5"), "{err}");
    // Nothing was built (or even fetched).
    assert!(std::fs::read_dir(store.join("outputs"))
        .map(|d| d.count() == 0)
        .unwrap_or(true));
}

#[test]
fn a_failing_build_shows_its_log_tail_the_log_and_the_override_to_write() {
    let (project, store) = project("app-failing", "uv/failing-build");
    let out = app(&project, &store, &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("building failing-build 0.1.0 from source failed: "),
        "{err}"
    );
    assert!(err.contains("the build exited with code 1"), "{err}");
    assert!(err.contains("last lines of the build log:"), "{err}");
    assert!(
        err.contains(
            "| psycopg/psycopg.h:36:10: fatal error: libpq-fe.h: No such file or directory"
        ),
        "{err}"
    );
    assert!(
        err.contains("the log suggests these are missing: libpq"),
        "{err}"
    );
    let log = err
        .lines()
        .find_map(|l| l.trim().strip_prefix("whole log: "))
        .expect("the log's path");
    assert!(Path::new(log).starts_with(store.join("logs")), "{log}");
    assert!(std::fs::read_to_string(log)
        .unwrap()
        .contains("compilation terminated."));
    assert!(
        err.contains(&format!(
            "lock2build overrides new pypi/failing-build --from-log {log}"
        )),
        "{err}"
    );
    // No half output and no result link.
    assert!(!project.join("result").exists());
    let outputs: Vec<String> = std::fs::read_dir(store.join("outputs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !outputs.iter().any(|o| o.ends_with("failing-build-0.1.0")),
        "{outputs:?}"
    );
    // Without --keep-failed the build directory went with the build.
    assert!(!store.join("failed").exists());
    assert!(!err.contains("build directory kept at"), "{err}");
}

#[test]
fn keep_failed_keeps_the_failed_build_directory_and_print_build_logs_streams_the_backend() {
    let (project, store) = project("app-keep-failed", "uv/failing-build");
    let out = app(&project, &store, &["-K", "--print-build-logs"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    // The start line names the log; -L shows the backend's lines as they come.
    let log = step_log(&err, "failing-build 0.1.0 (source)");
    assert!(std::fs::read_to_string(log)
        .unwrap()
        .contains("compilation terminated."));
    assert!(
        err.contains("failing-build> lock2build: build backend setuptools.build_meta"),
        "{err}"
    );
    assert!(
        err.contains("failing-build> psycopg/psycopg.h:36:10: fatal error: libpq-fe.h"),
        "{err}"
    );
    assert!(
        err.contains("failing-build 0.1.0 (source) failed after "),
        "{err}"
    );
    assert!(
        !err.contains('\u{1b}'),
        "escape codes without a terminal: {err}"
    );
    let kept = kept_build_dir(&err, &store);
    // The source tree as the backend left it: setuptools' build/ beside setup.py.
    assert!(
        kept.join("build/src/setup.py").is_file(),
        "{}",
        kept.display()
    );
    assert!(
        kept.join("build/src/build/psycopgmodule.o.partial")
            .is_file(),
        "{}",
        kept.display()
    );
    // The next run's Store::open leaves it; gc removes it. -q: the error
    // alone, no step lines.
    let again = app(&project, &store, &["-q"]);
    assert!(!again.status.success());
    let quiet = stderr(&again);
    assert!(quiet.contains("from source failed"), "{quiet}");
    assert!(
        !quiet.contains("— log:") && !quiet.contains("failed after"),
        "{quiet}"
    );
    assert!(kept.join("build/src/setup.py").is_file());
    let gc = lock2build(&["gc"], &shared_cache(), &store);
    assert!(gc.status.success(), "{}", stderr(&gc));
    assert!(!kept.exists());
}

#[test]
fn no_sandbox_warns_and_does_not_share_outputs_with_sandboxed_builds() {
    let (project, store) = project("app-no-sandbox", "poetry/flask-pillow");
    let sandboxed = report(&app(&project, &store, &["--json"]));
    let out = app(&project, &store, &["--json", "--no-sandbox"]);
    assert!(
        stderr(&out).contains("WARNING: --no-sandbox"),
        "{}",
        stderr(&out)
    );
    let unsandboxed = report(&out);
    // The project is built again, outside the sandbox, as another node.
    assert_eq!(built(&unsandboxed), ["app 0.1.0", "app environment"]);
    assert_ne!(sandboxed["output"], unsandboxed["output"]);
}

#[test]
fn overrides_check_test_builds_the_packages_the_project_layer_touches() {
    let (project, store) = project("app-overrides-check", "uv/native-app");
    let layer = project.join(".lock2build/overrides/pypi");
    std::fs::create_dir_all(layer.join("psycopg2")).unwrap();
    let patch = "--- /dev/null\n+++ b/LOCK2BUILD_PATCHED\n@@ -0,0 +1 @@\n+patched by a lock2build override\n";
    std::fs::write(layer.join("psycopg2/mark.patch"), patch).unwrap();
    let entry = "[[entry]]\nversions = \">=2.9\"\nnative = [\"libpq\"]\ntools = [\"cc\"]\npatches = [\"psycopg2/mark.patch\"]\n";
    std::fs::write(layer.join("psycopg2.toml"), entry).unwrap();
    let dir = project.to_str().unwrap();
    // -L: the sdist's backend output on stderr, prefixed with the package.
    let out = lock2build(
        &["overrides", "check", "--dir", dir, "-L"],
        &shared_cache(),
        &store,
    );
    let text = ok(&out);
    assert!(
        text.contains("test-building from source: pypi/psycopg2"),
        "{text}"
    );
    let err = stderr(&out);
    assert!(
        err.contains("psycopg2> lock2build: applying 0.patch"),
        "{err}"
    );
    assert!(
        err.contains("psycopg2> lock2build: built psycopg2-2.9.13-cp"),
        "{err}"
    );
    assert!(
        err.contains("building psycopg2 2.9.13 (sdist) — log: "),
        "{err}"
    );
    let log = text
        .lines()
        .find_map(|l| l.strip_prefix("test build ok: pypi/psycopg2 2.9.13 (log: "))
        .and_then(|l| l.strip_suffix(')'))
        .unwrap_or_else(|| panic!("no test build of psycopg2 in:\n{text}"));
    let log = std::fs::read_to_string(log).unwrap();
    assert!(log.contains("lock2build: applying 0.patch"), "{log}");
    assert!(log.contains("built psycopg2-2.9.13-cp"), "{log}");
    // The user's result is left alone.
    assert!(!project.join("result").exists());

    // A patch that does not apply fails the check, naming the package.
    let bad = "--- a/no-such-file.c\n+++ b/no-such-file.c\n@@ -1 +1 @@\n-old\n+new\n";
    std::fs::write(layer.join("psycopg2/mark.patch"), bad).unwrap();
    let out = lock2build(
        &["overrides", "check", "--dir", dir],
        &shared_cache(),
        &store,
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("building psycopg2 2.9.13 from source failed"),
        "{err}"
    );
    assert!(err.contains("no-such-file.c"), "{err}");
}

#[test]
fn projects_build_through_pdm_backend_flit_core_and_setuptools() {
    let store = tempdir("app-backends").join("store");
    for (fixture_dir, script, backend) in [
        ("uv/backend-pdm", "hello-pdm", "pdm-backend"),
        ("uv/backend-flit", "hello-flit", "flit-core"),
        ("uv/backend-setuptools", "hello-setuptools", "setuptools"),
    ] {
        let (project, _) = project(&format!("app-{script}"), fixture_dir);
        let json = report(&app(&project, &store, &["--json"]));
        assert_eq!(json["scripts"], serde_json::json!([script]), "{json}");
        let log =
            std::fs::read_to_string(json["logs"][format!("{script} 0.1.0")].as_str().unwrap())
                .unwrap();
        assert!(log.contains("lock2build: built "), "{backend}: {log}");
        let printed = run(&mut Command::new(project.join("result/bin").join(script)));
        assert_eq!(printed.trim(), format!("hello from {backend}"));
    }
}

#[test]
fn a_plan_for_another_python_than_the_interpreter_is_refused() {
    let (project, store) = project("app-python-version", "requirements/pip-compile");
    // 3.12: every locked file allows it, so the plan is made; the
    // interpreter (3.11) is not for it.
    let out = app(&project, &store, &["--python-version", "3.12"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("the plan is for Python 3.12"), "{err}");
    assert!(
        err.contains("pass the interpreter to build for with --python PATH"),
        "{err}"
    );
    assert!(!project.join("result").exists());
}

#[test]
fn an_sdist_with_rust_code_builds_offline_from_the_cargo_lock_it_ships() {
    let (project, store) = project("app-rust-extension", "uv/rust-extension");
    let first = report(&app(
        &project,
        &store,
        &["--json", "--no-binary", "rpds-py"],
    ));
    assert!(
        built(&first).contains(&"rpds-py 0.18.1".to_owned()),
        "{first}"
    );
    // Its crates were fetched (checked against rpds-py's Cargo.lock) and
    // compiled offline in the sandbox by maturin.
    let log = std::fs::read_to_string(first["logs"]["rpds-py 0.18.1"].as_str().unwrap()).unwrap();
    assert!(log.contains("Compiling rpds v1.1.0"), "{log}");
    assert!(log.contains("Compiling pyo3 v0.20.3"), "{log}");
    assert!(log.contains("Built wheel for CPython 3.11"), "{log}");
    let printed = run(&mut Command::new(project.join("result/bin/rust-extension")));
    assert_eq!(printed.trim(), "HashTrieMap: [('a', 1), ('b', 2)]");

    // Only the crates cargo compiles here were downloaded: the lock's 38
    // registry crates include parking_lot_core's Windows and Redox ones
    // (windows-targets and its seven windows_* crates, redox_syscall and
    // its bitflags).
    let notes = strings(&first["notes"]).join("\n");
    assert!(
        notes.contains(
            "rpds-py 0.18.1: 28 of the lock's 38 registry crates are compiled on this host"
        ),
        "{notes}"
    );
    let vendor = store_output(&store, "cargo-vendor");
    let crates: Vec<String> = std::fs::read_dir(&vendor)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(crates.len(), 38, "{crates:?}");
    for stub in [
        "windows_x86_64_msvc-0.48.0",
        "windows-targets-0.48.1",
        "redox_syscall-0.3.5",
        "bitflags-1.3.2",
    ] {
        let dir = vendor.join(stub);
        assert_eq!(
            std::fs::read_to_string(dir.join("lib.rs")).unwrap(),
            "",
            "{stub}"
        );
        assert!(!dir.join("src").exists(), "{stub} is not a stub");
    }
    assert!(!store_has_output(
        &store,
        "crate-windows_x86_64_msvc-0.48.0"
    ));
    // The .crate files in the store, by the checksums of rpds-py's lock:
    // rpds 1.1.0's, not windows_x86_64_msvc 0.48.0's.
    let sources: Vec<String> = std::fs::read_dir(store.join("sources"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let rpds = "sha256-a0e15515d3ce3313324d842629ea4905c25a13f81953eadb88f85516f59290a4";
    let windows = "sha256-1a515f5799fe4961cb532f983ce2b23082366b898e52ffbce459c86f67c8378a";
    assert!(sources.iter().any(|s| s == rpds), "{sources:?}");
    assert!(!sources.iter().any(|s| s == windows), "{sources:?}");
    // A real crate is a hard link to its own, shared store output.
    use std::os::unix::fs::MetadataExt;
    let own = store_output(&store, "crate-rpds-1.1.0").join("rpds-1.1.0/src/lib.rs");
    let linked = vendor.join("rpds-1.1.0/src/lib.rs");
    assert_eq!(
        std::fs::metadata(own).unwrap().ino(),
        std::fs::metadata(linked).unwrap().ino()
    );

    let again = report(&app(
        &project,
        &store,
        &["--json", "--no-binary", "rpds-py"],
    ));
    assert!(built(&again).is_empty(), "{again}");
    assert_eq!(again["downloaded"], 0);
}

#[test]
fn a_python_build_with_rust_code_gets_its_cargo_locks_git_crates_by_commit() {
    // A Cargo crate depending on `dep` from `git daemon` by branch, locked
    // at its first commit (the branch has moved on since), built by the
    // project's own PEP 517 backend (cargo_backend.py: `cargo build
    // --offline --locked`, its binary the wheel's script).
    let server = lock2build_git::testing::GitServer::start().unwrap();
    let root = tempdir("app-cargo-backend");
    let (project, first, _) = project_with_git_dep(&server, &root);
    copy_dir(&fixture("uv/cargo-backend"), &project);
    let store = root.join("store");
    let args = ["--json", "--ecosystem", "pypi"];
    let json = report(&app(&project, &store, &args));
    assert!(
        built(&json).contains(&"cargo-backend 0.1.0".to_owned()),
        "{json}"
    );
    let printed = run(&mut Command::new(project.join("result/bin/app")));
    assert_eq!(
        printed.trim(),
        "42",
        "the locked commit's code, not the branch's"
    );
    // The git crate is vendored from the locked commit, beside the
    // (here absent) registry crates.
    let vendor = store_output(&store, "cargo-vendor");
    let lib = std::fs::read_to_string(vendor.join(".git-sources/0/dep-0.1.0/src/lib.rs")).unwrap();
    assert!(lib.contains("42"), "{lib}");
    let lock = std::fs::read_to_string(project.join("Cargo.lock")).unwrap();
    assert!(lock.contains(&format!("?branch=main#{first}")), "{lock}");
    let log =
        std::fs::read_to_string(json["logs"]["cargo-backend 0.1.0"].as_str().unwrap()).unwrap();
    assert!(log.contains("Compiling dep v0.1.0"), "{log}");

    // Without the server: the checkout and the build come from the store.
    drop(server);
    let again = report(&app(&project, &store, &args));
    assert!(built(&again).is_empty(), "{again}");

    // A fresh store cannot reach the repository: the error names the
    // Python package, the crate, the URL and the commit.
    let out = app(&project, &root.join("store-2"), &args[1..]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("cargo-backend 0.1.0 compiles the Rust crates"),
        "{err}"
    );
    assert!(
        err.contains("crates dep 0.1.0") && err.contains(&first),
        "{err}"
    );
    assert!(err.contains("git://127.0.0.1:"), "{err}");
}

/// Whether the store has an output named `*-<suffix>`.
fn store_has_output(store: &Path, suffix: &str) -> bool {
    std::fs::read_dir(store.join("outputs")).unwrap().any(|e| {
        e.unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(&format!("-{suffix}"))
    })
}

/// The `[[sdist]]` entries of a build lock: (name, packages as `name version`).
fn build_lock_entries(path: &Path) -> Vec<(String, Vec<String>)> {
    let text = std::fs::read_to_string(path).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    let mut entries: Vec<(String, Vec<String>)> = doc["sdist"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let packages = e["package"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    format!(
                        "{} {}",
                        p["name"].as_str().unwrap(),
                        p["version"].as_str().unwrap()
                    )
                })
                .collect();
            (e["name"].as_str().unwrap().to_owned(), packages)
        })
        .collect();
    entries.sort();
    entries
}

#[test]
fn build_requirements_the_community_pins_lack_are_resolved_into_the_build_lock() {
    // commitizen's sdist and the project need uv_build (not a community
    // pin); legacy-helper needs setuptools<60 (the pin is newer), and its
    // backend asks at build time for cffi (setup_requires).
    let (project, store) = project("app-build-lock", "uv/build-requirements");
    let lock = project.join("lock2build.build.lock");
    assert!(!lock.exists());
    let out = app(&project, &store, &["--json", "--no-binary", "commitizen"]);
    let first = report(&out);
    let err = stderr(&out);
    assert!(
        err.contains("legacy-helper 1.0: its build backend asks at build time for cffi>=1.0; resolved, building again"),
        "{err}"
    );
    for label in [
        "buildreq-app 0.1.0",
        "commitizen 4.19.3",
        "legacy-helper 1.0",
    ] {
        assert!(err.contains(&format!("built {label}")), "{err}");
    }
    assert!(
        strings(&first["notes"])
            .iter()
            .any(|n| n.contains("lock2build.build.lock: commit it")),
        "{first}"
    );
    let entries = build_lock_entries(&lock);
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["buildreq-app", "commitizen", "legacy-helper"]);
    for (name, packages) in &entries {
        let has = |prefix: &str| packages.iter().any(|p| p.starts_with(prefix));
        match name.as_str() {
            "legacy-helper" => {
                let setuptools = packages
                    .iter()
                    .find(|p| p.starts_with("setuptools "))
                    .unwrap();
                let major: u32 = setuptools[11..].split('.').next().unwrap().parse().unwrap();
                assert!(major < 60, "{packages:?}");
                // And cffi (asked for at build time) with its dependency.
                for name in ["wheel ", "packaging ", "cffi ", "pycparser "] {
                    assert!(has(name), "{packages:?}");
                }
            }
            _ => assert!(has("uv-build 0.") && has("packaging "), "{packages:?}"),
        }
    }
    // The app runs; legacy-helper's metadata is old setuptools' (2.1:
    // today's setuptools writes 2.2 and later).
    let out = run(&mut Command::new(project.join("result/bin/buildreq-app")));
    assert_eq!(
        out,
        "commitizen 4.19.3\nlegacy-helper hello from legacy-helper 2.1\n"
    );

    // Committed, the lock makes the build offline, unchanged, nothing rebuilt.
    let before = std::fs::read(&lock).unwrap();
    let again = report(&app(
        &project,
        &store,
        &[
            "--json",
            "--no-binary",
            "commitizen",
            "--locked",
            "--offline",
        ],
    ));
    assert_eq!(strings(&again["built"]), Vec::<String>::new(), "{again}");
    assert_eq!(std::fs::read(&lock).unwrap(), before);

    // Without it, --locked refuses to resolve, naming each source build.
    std::fs::remove_file(&lock).unwrap();
    let out = app(&project, &store, &["--no-binary", "commitizen", "--locked"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("lock2build.build.lock lacks the build requirements"),
        "{err}"
    );
    assert!(err.contains("--locked forbids changing it"), "{err}");
    assert!(
        err.contains("legacy-helper 1.0: packaging, setuptools<60, wheel"),
        "{err}"
    );
    assert!(
        err.contains("commitizen 4.19.3: packaging, uv_build >= 0.9.17, < 0.14"),
        "{err}"
    );
    assert!(!lock.exists());
}

#[test]
fn an_unresolvable_build_requirement_names_the_sdist_the_requirement_and_the_index() {
    let (project, store) = project("app-build-unresolvable", "uv/build-requirements");
    let manifest = project.join("legacy/pyproject.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replace("setuptools<60", "setuptools>=999")).unwrap();
    let out = app(&project, &store, &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("legacy-helper 1.0: its build requirements cannot be resolved from the index https://pypi.org/simple: packaging, setuptools>=999, wheel"),
        "{err}"
    );
    // uv's explanation names the requirement.
    assert!(err.contains("setuptools>=999"), "{err}");
    assert!(!project.join("lock2build.build.lock").exists());
    assert!(std::fs::read_dir(store.join("outputs"))
        .map(|d| d
            .filter_map(|e| e.ok())
            .all(|e| !e.file_name().to_string_lossy().contains("legacy")))
        .unwrap_or(true));
}

/// The commit `fixtures/git/make-repo.sh` makes (fixed author and dates),
/// which the git fixtures' locks pin.
const MONO_COMMIT: &str = "e2926af1a6eb81fb2ffc3bc46adddbe3e9ad309c";

/// Makes the fixtures' git repository at `dest` with the fixture script.
fn make_mono_repo(dest: &Path) {
    let out = run(Command::new("sh")
        .arg(fixture("git/make-repo.sh"))
        .arg(dest));
    assert_eq!(
        out.trim(),
        MONO_COMMIT,
        "the fixture repository's commit changed"
    );
}

/// Replaces `from` by `to` in the file `path`.
fn rewrite(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        text.contains(from),
        "{} does not name {from}",
        path.display()
    );
    std::fs::write(path, text.replace(from, to)).unwrap();
}

#[test]
fn git_packages_of_uv_and_poetry_locks_are_built_from_the_locked_commit_by_their_backends() {
    let server = lock2build_git::testing::GitServer::start().unwrap();
    make_mono_repo(&server.root().join("mono"));
    let expected = "hello from gitroot (git, top directory)\nhello from gitsub (git, sub/gitsub)\n";

    // uv.lock: file:// (uv locks no git:// URL), the repository moved here.
    let (uv_project, store) = project("app-git-uv", "uv/git-packages");
    let repo_url = format!("file://{}", server.root().join("mono").display());
    rewrite(
        &uv_project.join("uv.lock"),
        "file:///tmp/lock2build-git-fixtures/mono",
        &repo_url,
    );
    let first = report(&app(&uv_project, &store, &["--json"]));
    for label in ["gitroot 0.1.0", "gitsub 0.2.0", "gitapp 0.1.0"] {
        assert!(built(&first).contains(&label.to_string()), "{first}");
    }
    let out = run(&mut Command::new(uv_project.join("result/bin/gitapp")));
    assert_eq!(out, expected);
    // gitsub's uv_build is not a community pin: its entry names the commit.
    let lock = std::fs::read_to_string(uv_project.join("lock2build.build.lock")).unwrap();
    assert!(
        lock.contains(&format!(
            "source = \"git+{repo_url}@{MONO_COMMIT}#subdirectory=sub/gitsub\""
        )),
        "{lock}"
    );

    // poetry.lock: git:// from `git daemon`, same store: the checkouts and
    // the packages built from them are reused, only the app is new.
    let (poetry_project, _) = project("app-git-poetry", "poetry/git-packages");
    rewrite(
        &poetry_project.join("poetry.lock"),
        "git://127.0.0.1:9418/mono",
        &server.url("mono"),
    );
    let json = report(&app(&poetry_project, &store, &["--json"]));
    let built_now = built(&json);
    assert!(built_now.contains(&"gitapp 0.1.0".to_string()), "{json}");
    assert!(!built_now.contains(&"gitsub 0.2.0".to_string()), "{json}");
    let out = run(&mut Command::new(poetry_project.join("result/bin/gitapp")));
    assert_eq!(out, expected);

    // With the checkouts in the store and the build lock written: offline,
    // locked, nothing to do.
    let again = report(&app(
        &poetry_project,
        &store,
        &["--json", "--offline", "--locked"],
    ));
    assert_eq!(built(&again), Vec::<String>::new(), "{again}");

    // A lock naming a commit the repository lacks is refused, naming it.
    let missing = "0123456789abcdef0123456789abcdef01234567";
    rewrite(&poetry_project.join("poetry.lock"), MONO_COMMIT, missing);
    let out = app(&poetry_project, &store, &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(missing) && err.contains(&server.url("mono")),
        "{err}"
    );
}

#[test]
fn a_missing_optional_library_is_named_as_a_disabled_feature_not_a_refusal() {
    // commitizen built from its sdist with a project override naming a
    // library no machine has: optional, the build goes on and says so.
    let (project, store) = project("app-optional-native", "uv/build-requirements");
    std::fs::write(
        project.join("lock2build.toml"),
        r#"[overrides.pypi.commitizen]
native = ["lock2build-absent"]
optional = ["lock2build-absent"]

[overrides.providers.native.lock2build-absent]
description = "a library no machine has (lock2build test)"
pkg-config = ["lock2build-absent-test-module"]
debian = ["lock2build-absent-dev"]
nixpkgs = ["lock2build-absent"]
"#,
    )
    .unwrap();
    let json = report(&app(
        &project,
        &store,
        &["--json", "--no-binary", "commitizen"],
    ));
    assert!(
        built(&json).contains(&"commitizen 4.19.3".to_string()),
        "{json}"
    );
    let notes = strings(&json["notes"]);
    assert!(
        notes.iter().any(|n| n.starts_with(
            "commitizen 4.19.3 is built without its optional lock2build-absent (disabled features: this machine lacks them); `apt-get install"
        ) && n.contains("lock2build-absent-dev")),
        "{notes:?}"
    );

    // Not optional, the same library stops the build before anything is fetched.
    let text = std::fs::read_to_string(project.join("lock2build.toml")).unwrap();
    std::fs::write(
        project.join("lock2build.toml"),
        text.replace("optional = [\"lock2build-absent\"]\n", ""),
    )
    .unwrap();
    let out = app(&project, &store, &["--no-binary", "commitizen"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("native libraries or tools this machine lacks: lock2build-absent"),
        "{err}"
    );
}

#[test]
fn a_lock_whose_requires_python_excludes_the_interpreter_is_refused_naming_both() {
    let (project, store) = project("app-requires-python", "uv/backend-flit");
    // As if locked with `requires-python = ">=3.12"` (the interpreter is 3.11).
    rewrite(
        &project.join("uv.lock"),
        "requires-python = \">=3.8\"",
        "requires-python = \">=3.12\"",
    );
    let out = app(&project, &store, &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("uv.lock: the lock is for Python `>=3.12` (requires-python), but /"),
        "{err}"
    );
    assert!(err.contains(" is Python 3.11"), "{err}");
    assert!(!project.join("result").exists());
}

/// `lock2build app --json` on `project` with `LOCK2BUILD_BUILD_CORES=cores`.
fn app_with_build_cores(project: &Path, store: &Path, cores: &str) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_lock2build"))
        .args(["app", project.to_str().unwrap(), "--progress", "plain"])
        .arg("--json")
        .env("LOCK2BUILD_CACHE", shared_cache())
        .env("LOCK2BUILD_STORE", store)
        .env("LOCK2BUILD_BUILD_CORES", cores)
        .env_remove("LOCK2BUILD_MIRRORS")
        .env("LOCK2BUILD_SWH_URL", "http://127.0.0.1:9")
        .output()
        .expect("run lock2build");
    report(&out)
}

#[test]
fn a_c_extensions_files_compile_in_parallel_into_the_same_output_as_one_by_one() {
    let (project, store) = project("app-c-parallel", "uv/c-extension");
    let build = |cores: &str| {
        let json = app_with_build_cores(&project, &store, cores);
        assert!(built(&json).contains(&"csum 0.1.0".to_owned()), "{json}");
        let log = std::fs::read_to_string(json["logs"]["csum 0.1.0"].as_str().unwrap()).unwrap();
        let compiled = log.lines().filter(|l| l.contains(" -c src/csum/")).count();
        assert_eq!(compiled, 6, "{log}");
        let printed = run(&mut Command::new(project.join("result/bin/csum")));
        assert_eq!(printed.trim(), "add 5 mul 6 sub -1 neg -2 sq 9");
        let output = store_output(&store, "csum-0.1.0");
        let node = output.file_name().unwrap().to_string_lossy().into_owned();
        let meta = std::fs::read(store.join("meta").join(format!("{node}.json"))).unwrap();
        let meta: serde_json::Value = serde_json::from_slice(&meta).unwrap();
        (log, node, meta["content"].clone())
    };
    let (log, node, content) = build("3");
    assert!(
        log.contains("lock2build: compiling C sources 3 at a time"),
        "{log}"
    );
    // One file at a time, the same store path again (the build records the
    // build environment's path): the same node, the same bytes.
    std::fs::remove_dir_all(&store).unwrap();
    let (log_serial, node_serial, content_serial) = build("1");
    assert!(!log_serial.contains("at a time"), "{log_serial}");
    assert_eq!(node, node_serial);
    assert!(content.is_string(), "{content}");
    assert_eq!(content, content_serial);
}
