//! `lock2build shell` and `lock2build env` end to end: each test enters the
//! shell of a copied fixture with `-- CMD` and checks what the command
//! sees (imports, bins, an offline cargo build), or the one-line error of
//! bad input and that nothing was made. The tests share one store (per
//! run) and the index cache.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

fn store() -> &'static Path {
    static STORE: OnceLock<PathBuf> = OnceLock::new();
    STORE.get_or_init(|| tempdir("shell-store"))
}

fn project(name: &str, fixture_rel: &str) -> PathBuf {
    app_project(name, fixture_rel).0
}

/// `lock2build ARGS…` with the shared store.
fn l2b(args: &[&str]) -> Output {
    lock2build(args, &shared_cache(), store())
}

/// `lock2build shell DIR EXTRA… -- CMD…`, run in DIR (the command keeps
/// the caller's directory, as `nix develop` does).
fn shell(dir: &Path, extra: &[&str], cmd: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_lock2build"))
        .arg("shell")
        .arg(dir)
        .args(extra)
        .arg("--")
        .args(cmd)
        .current_dir(dir)
        .env("LOCK2BUILD_CACHE", shared_cache())
        .env("LOCK2BUILD_STORE", store())
        .env_remove("LOCK2BUILD_MIRRORS")
        .env("LOCK2BUILD_SWH_URL", "http://127.0.0.1:9")
        .output()
        .expect("run lock2build")
}

fn failed(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "expected a failure:\n{}",
        stdout(out)
    );
    stderr(out)
}

#[test]
fn python_shell_has_every_package_and_the_project_editable() {
    let dir = project("shell-flask", "poetry/flask-pillow");
    let code = "import PIL, flask, app, sys, os; print(app.__file__); print(sys.prefix == os.environ['VIRTUAL_ENV'])";
    let printed = ok(&shell(&dir, &[], &["python", "-c", code]));
    assert!(
        printed.contains(&format!("{}/app/__init__.py", dir.display())),
        "{printed}"
    );
    assert!(printed.contains("True"), "{printed}");
    // An edit to the project's code is seen at once, without re-entering.
    let init = dir.join("app/__init__.py");
    let mut text = std::fs::read_to_string(&init).unwrap();
    text.push_str("\nEDITED = 'yes'\n");
    std::fs::write(&init, text).unwrap();
    let printed = ok(&shell(
        &dir,
        &[],
        &["python", "-c", "import app; print(app.EDITED)"],
    ));
    assert_eq!(printed.trim(), "yes");
    // The environment is the store's: pip says so instead of writing there.
    let err = failed(&shell(&dir, &[], &["pip", "install", "six"]));
    assert!(err.contains("read-only"), "{err}");
    // The command's exit code is the shell's.
    let out = shell(&dir, &[], &["sh", "-c", "exit 7"]);
    assert_eq!(out.status.code(), Some(7));
    // Re-entry with nothing changed answers from the cache (no planning);
    // a changed manifest or lock is planned again.
    let again = shell(&dir, &[], &["true"]);
    assert!(
        !stderr(&again).contains("lock2build app:"),
        "{}",
        stderr(&again)
    );
    assert!(dir.join(".lock2build/shell/env.json").is_file());
    assert_eq!(
        std::fs::read_to_string(dir.join(".lock2build/shell/.gitignore")).unwrap(),
        "*\n"
    );
    let manifest = dir.join("pyproject.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str("\n# edited\n");
    std::fs::write(&manifest, text).unwrap();
    let replanned = shell(&dir, &[], &["true"]);
    assert!(
        stderr(&replanned).contains("lock2build app:"),
        "{}",
        stderr(&replanned)
    );
}

/// What `python -c CODE` prints in the shell of `dir` (its stderr too),
/// run in `/` (so that the project is not found as the current directory).
fn python_in(dir: &Path, code: &str) -> (String, String) {
    let run = "cd / && exec python -c \"$1\"";
    let out = shell(dir, &[], &["sh", "-c", run, "sh", code]);
    (ok(&out), stderr(&out))
}

/// The pip refusal (lock2build_python::PIP_REFUSAL) of `cmd` in `dir`'s shell.
fn refused(dir: &Path, cmd: &[&str]) {
    let err = failed(&shell(dir, &[], cmd));
    assert!(
        err.contains("pip does not install into it"),
        "{cmd:?}: {err}"
    );
    assert!(err.contains("uv add NAME"), "{cmd:?}: {err}");
}

#[test]
fn python_shell_installs_the_project_editable_through_its_backend() {
    // setuptools' PEP 660 hook (a flat layout: its import finder).
    let dir = project("shell-editable", "uv/backend-setuptools");
    let code = "import hello_setuptools as h, importlib.metadata as m; print(h.__file__); print(m.version('hello-setuptools')); print(any('__editable__' in str(f) for f in m.files('hello-setuptools')))";
    let (printed, _) = python_in(&dir, code);
    assert_eq!(
        printed,
        format!(
            "{}/hello_setuptools/__init__.py\n0.1.0\nTrue\n",
            dir.display()
        )
    );
    // The project's console script, from its editable wheel's entry points.
    let printed = ok(&shell(&dir, &[], &["hello-setuptools"]));
    assert_eq!(printed, "hello from setuptools\n");
    // An edit is seen by the next command, with no re-entry work.
    let init = dir.join("hello_setuptools/__init__.py");
    let text = std::fs::read_to_string(&init).unwrap();
    std::fs::write(&init, text.replace("hello from", "edited:")).unwrap();
    let out = shell(&dir, &[], &["hello-setuptools"]);
    assert_eq!(ok(&out), "edited: setuptools\n");
    assert!(
        !stderr(&out).contains("lock2build app:"),
        "{}",
        stderr(&out)
    );
    // No pip in this environment: both ways of starting it refuse.
    refused(&dir, &["pip", "install", "six"]);
    refused(&dir, &["python", "-m", "pip", "install", "requests"]);
    assert!(!dir.join("six").exists() && !dir.join("build").exists());
    // …and pip is not there to import (the host's is not seen).
    let err = failed(&shell(&dir, &[], &["python", "-c", "import pip"]));
    assert!(err.contains("No module named 'pip'"), "{err}");
}

#[test]
fn a_backend_without_build_editable_gets_a_pth_to_the_source_and_pip_refuses() {
    let dir = project("shell-pth-fallback", "uv/editable-fallback");
    let code = "import pth_fallback as p, importlib.metadata as m; print(p.__file__); print(m.version('pth-fallback')); print(sorted(str(f) for f in m.files('pth-fallback') if f.suffix == '.pth'))";
    let (printed, _) = python_in(&dir, code);
    assert_eq!(
        printed,
        format!(
            "{}/src/pth_fallback/__init__.py\n0.3.0\n['_pth_fallback_editable.pth']\n",
            dir.display()
        )
    );
    let init = dir.join("src/pth_fallback/__init__.py");
    std::fs::write(&init, "def main():\n    print('edited')\n").unwrap();
    assert_eq!(ok(&shell(&dir, &[], &["pth-fallback"])), "edited\n");
    // pip is a dev dependency here: it lists, shows and freezes, and
    // refuses to install or uninstall however it is started.
    let listed = ok(&shell(&dir, &[], &["pip", "list"]));
    assert!(
        listed.contains("pth-fallback") && listed.contains("pip "),
        "{listed}"
    );
    let shown = ok(&shell(
        &dir,
        &[],
        &["python", "-m", "pip", "show", "pth-fallback"],
    ));
    assert!(shown.contains("Version: 0.3.0"), "{shown}");
    assert!(ok(&shell(&dir, &[], &["pip", "freeze"])).contains("pth-fallback"));
    refused(&dir, &["pip", "install", "six"]);
    refused(&dir, &["python", "-m", "pip", "install", "requests"]);
    refused(
        &dir,
        &["python3", "-m", "pip", "install", "--user", "requests"],
    );
    refused(&dir, &["pip", "uninstall", "-y", "pip"]);
    // Without [build-system] no backend runs: lock2build writes the .pth.
    let manifest = dir.join("pyproject.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let cut = text.find("[build-system]").unwrap();
    let rest = &text[cut..];
    let end = rest.find("\n\n").map_or(text.len(), |e| cut + e);
    std::fs::write(&manifest, format!("{}{}", &text[..cut], &text[end..])).unwrap();
    assert!(!std::fs::read_to_string(&manifest)
        .unwrap()
        .contains("build-backend"));
    let (printed, err) = python_in(&dir, code);
    assert!(err.contains("lock2build app:"), "not planned again: {err}");
    assert_eq!(
        printed,
        format!(
            "{}/src/pth_fallback/__init__.py\n0.3.0\n['_pth_fallback_editable.pth']\n",
            dir.display()
        )
    );
}

#[test]
fn a_workspace_member_is_editable_and_a_virtual_root_stays_on_pythonpath() {
    let dir = project("shell-workspace", "uv/editable-workspace");
    let code = "import ws_app, ws_lib, importlib.metadata as m, os; print(ws_app.__file__); print(ws_lib.__file__); print(m.version('ws-lib')); print(os.environ['PYTHONPATH'])";
    let (printed, _) = python_in(&dir, code);
    let member = dir.join("packages/ws-lib/src/ws_lib/__init__.py");
    let d = dir.display();
    assert_eq!(
        printed,
        format!("{d}/ws_app.py\n{}\n2.0.1\n{d}\n", member.display())
    );
    // The member's console script (the root's direct requirement).
    let printed = ok(&shell(&dir, &[], &["ws-lib"]));
    assert_eq!(printed, format!("ws-lib from {}\n", member.display()));
}

#[test]
fn uv_native_shell_imports_psycopg2_built_against_libpq() {
    let dir = project("shell-uv-native", "uv/native-app");
    let printed = ok(&shell(
        &dir,
        &[],
        &[
            "python",
            "-c",
            "import psycopg2, native_app; print(psycopg2.__version__)",
        ],
    ));
    assert!(printed.starts_with("2.9.13"), "{printed}");
    // The project's own console script runs over its source.
    let printed = ok(&shell(&dir, &[], &["native-app"]));
    assert!(
        printed.lines().any(|l| l.starts_with("psycopg2 2.9.13")),
        "{printed}"
    );
}

#[test]
fn npm_shell_has_bcrypt_and_the_dev_dependencies_bins() {
    let dir = project("shell-npm", "npm/shell-app");
    let printed = ok(&shell(
        &dir,
        &[],
        &["sh", "-c", "node index.js && he --encode '<a>'"],
    ));
    assert_eq!(printed.trim_end(), "true\n&#x3C;a&#x3E;");
    let link = std::fs::read_link(dir.join("node_modules")).unwrap();
    assert!(link.starts_with(store()), "{}", link.display());
    // --no-dev relinks a node_modules without the dev dependency (he).
    let out = shell(
        &dir,
        &["--no-dev"],
        &["node", "-e", "require('bcrypt'); require('he')"],
    );
    assert!(failed(&out).contains("Cannot find module 'he'"));
    ok(&shell(
        &dir,
        &["--no-dev"],
        &["node", "-e", "require('bcrypt')"],
    ));
}

/// Whether a file named `name` is anywhere under `dir`.
fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let kind = entry.file_type().ok()?;
        if entry.file_name() == name {
            return Some(path);
        }
        if kind.is_dir() {
            if let Some(found) = find_file(&path, name) {
                return Some(found);
            }
        }
    }
    None
}

#[test]
fn npm_reentry_after_a_relock_lays_out_node_modules_without_the_app_build() {
    let dir = project("shell-npm-relock", "npm/shell-app-build");
    std::fs::remove_dir_all(dir.join("relocked")).unwrap();
    ok(&shell(&dir, &[], &["node", "-e", "require('bcrypt')"]));
    let out = shell(&dir, &[], &["node", "-e", "require('is-number')"]);
    assert!(failed(&out).contains("Cannot find module 'is-number'"));
    // Relocked by npm with one more dependency: re-entry lays it out.
    let relocked = fixture("npm/shell-app-build/relocked");
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(relocked.join(file), dir.join(file)).unwrap();
    }
    let printed = ok(&shell(
        &dir,
        &[],
        &["node", "-e", "console.log(require('is-number')(5))"],
    ));
    assert_eq!(printed.trim(), "true");
    ok(&shell(&dir, &[], &["node", "index.js"]));
    // The app's `build` script (it leaves BUILD-SCRIPT-RAN) never ran.
    let marker = find_file(store(), "BUILD-SCRIPT-RAN").or(find_file(&dir, "BUILD-SCRIPT-RAN"));
    assert_eq!(marker, None, "the build script ran");
}

#[test]
fn a_node_modules_lock2build_did_not_make_is_kept_unless_forced() {
    let dir = project("shell-npm-in-the-way", "npm/shell-app");
    std::fs::create_dir_all(dir.join("node_modules/mine")).unwrap();
    let err = failed(&shell(&dir, &[], &["true"]));
    assert!(
        err.contains("node_modules exists and lock2build did not make it"),
        "{err}"
    );
    assert!(err.contains("--force"), "{err}");
    assert!(dir.join("node_modules/mine").is_dir());
    assert!(!dir.join(".lock2build").exists(), "something was made");
    ok(&shell(
        &dir,
        &["--force"],
        &["node", "-e", "require('bcrypt')"],
    ));
    assert!(dir.join("node_modules.replaced/mine").is_dir());
}

#[test]
fn cargo_builds_offline_in_the_shell_from_the_vendored_crates() {
    let dir = project("shell-cargo", "cargo/native-app");
    let out = shell(
        &dir,
        &[],
        &["unshare", "-n", "cargo", "build", "--offline", "--locked"],
    );
    ok(&out);
    assert!(dir.join("target/debug/native-app").is_file());
    assert!(
        !dir.join(".cargo").exists(),
        "the project's files were touched"
    );
}

#[test]
fn a_python_back_end_and_a_node_front_end_give_one_shell() {
    let dir = project("shell-mixed", "poetry/flask-pillow");
    copy_dir(&fixture("npm/shell-app"), &dir.join("frontend"));
    let printed = ok(&shell(
        &dir,
        &[],
        &[
            "sh",
            "-c",
            "python -c 'import flask, app' && cd frontend && node index.js && he --decode '&amp;'",
        ],
    ));
    assert_eq!(printed.trim_end(), "true\n&");
}

#[test]
fn env_prints_bash_fish_and_json_and_the_direnv_function_uses_it() {
    let dir = project("shell-env", "cargo/native-app");
    let d = dir.to_str().unwrap();
    let json = report(&l2b(&["env", d, "--format", "json"]));
    let home = format!("{d}/.lock2build/shell/cargo-home");
    assert_eq!(json["vars"]["CARGO_HOME"], home.as_str());
    assert_eq!(json["vars"]["OPENSSL_NO_VENDOR"], "1");
    assert!(
        strings(&json["watch"]).contains(&format!("{d}/Cargo.lock")),
        "{json}"
    );
    let config = std::fs::read_to_string(format!("{home}/config.toml")).unwrap();
    assert!(
        config.contains("replace-with = \"lock2build-vendor\""),
        "{config}"
    );
    let fish = ok(&l2b(&["env", d, "--format", "fish"]));
    assert!(
        fish.contains(&format!("set -gx CARGO_HOME '{home}';")),
        "{fish}"
    );
    // The bash form, evaluated by bash.
    let bash = ok(&l2b(&["env", d]));
    let out = std::process::Command::new("bash")
        .args(["-c", &format!("{bash}\necho \"$CARGO_HOME\"")])
        .output()
        .unwrap();
    assert_eq!(stdout(&out).trim(), home);
    // A native library pkg-config finds outside its default path: exported.
    let extra = tempdir("shell-extra-pc");
    let sqlite = std::process::Command::new("pkg-config")
        .args(["--variable", "pcfiledir", "sqlite3"])
        .output()
        .unwrap();
    let pc = PathBuf::from(stdout(&sqlite).trim()).join("sqlite3.pc");
    std::fs::copy(&pc, extra.join("sqlite3.pc")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lock2build"))
        .args(["env", d, "--format", "json"])
        .env("PKG_CONFIG_PATH", &extra)
        .env("LOCK2BUILD_STORE", store())
        .env("LOCK2BUILD_CACHE", shared_cache())
        .output()
        .unwrap();
    let json = report(&out);
    assert_eq!(
        json["vars"]["PKG_CONFIG_PATH"],
        extra.to_str().unwrap(),
        "{json}"
    );
    // direnv's `use lock2build`, with stand-ins for direnv's own functions.
    let hook = ok(&l2b(&["direnv-hook"]));
    let bin = Path::new(env!("CARGO_BIN_EXE_lock2build"))
        .parent()
        .unwrap();
    let script = format!(
        "watch_file() {{ echo \"watch $*\" >&2; }}\nlog_error() {{ echo \"$*\" >&2; }}\n{hook}\nuse_lock2build {d}\necho \"$CARGO_HOME\""
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &script])
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .env("LOCK2BUILD_STORE", store())
        .env("LOCK2BUILD_CACHE", shared_cache())
        .output()
        .unwrap();
    assert_eq!(stdout(&out).trim(), home, "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("{d}/Cargo.lock")),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_input_is_one_error_naming_what_and_the_fix() {
    let empty = tempdir("shell-empty");
    let err = failed(&shell(&empty, &[], &["true"]));
    assert!(err.contains("no lockfile found"), "{err}");
    assert!(err.contains("make one with your package manager"), "{err}");

    let dir = project("shell-wrong-python", "uv/native-app");
    let py310 = "/root/.pyenv/versions/3.10.13/bin/python3";
    if Path::new(py310).exists() {
        let err = failed(&shell(&dir, &["--python", py310], &["true"]));
        assert!(err.contains("uv.lock requires Python >=3.11"), "{err}");
        assert!(err.contains("help: pass --python"), "{err}");
    }

    // A missing native library: named with the apt-get line, nothing linked.
    let layer = dir.join(".lock2build/overrides/pypi");
    std::fs::create_dir_all(&layer).unwrap();
    std::fs::write(
        layer.join("psycopg2.toml"),
        "[[entry]]\nversions = \"*\"\nnative = [\"gdal\"]\n",
    )
    .unwrap();
    let err = failed(&shell(&dir, &[], &["true"]));
    assert!(
        err.contains("need native libraries or tools this machine lacks: gdal"),
        "{err}"
    );
    assert!(err.contains("apt-get install -y libgdal-dev"), "{err}");
    assert!(!dir.join(".lock2build/shell/bin").exists());

    // A lock that no longer matches its manifest: an error with --locked.
    let stale = project("shell-stale", "uv/native-app");
    let manifest = stale.join("pyproject.toml");
    let text = std::fs::read_to_string(&manifest).unwrap().replace(
        "\"psycopg2>=2.9\",",
        "\"psycopg2>=2.9\",\n    \"requests>=2\",",
    );
    std::fs::write(&manifest, text).unwrap();
    let out = l2b(&["--locked", "shell", stale.to_str().unwrap(), "--", "true"]);
    let err = failed(&out);
    assert!(err.contains("out of date"), "{err}");
    assert!(!stale.join(".lock2build/shell/bin").exists());
    // Without --locked: a warning, on entry and again on a cached re-entry.
    for _ in 0..2 {
        let out = shell(&stale, &[], &["python", "-c", "import psycopg2"]);
        ok(&out);
        assert!(stderr(&out).contains("warning: "), "{}", stderr(&out));
        assert!(stderr(&out).contains("requests"), "{}", stderr(&out));
    }
}

#[test]
fn direnv_loads_use_lock2build_from_the_hook() {
    if std::process::Command::new("direnv")
        .arg("version")
        .output()
        .is_err()
    {
        eprintln!("direnv is not installed (apt-get install direnv): skipped");
        return;
    }
    let dir = project("shell-direnv", "cargo/native-app");
    let home = tempdir("shell-direnv-home");
    let hook = ok(&l2b(&["direnv-hook"]));
    std::fs::write(home.join("lock2build.sh"), hook).unwrap();
    std::fs::write(
        dir.join(".envrc"),
        format!("source {}/lock2build.sh\nuse lock2build\n", home.display()),
    )
    .unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_lock2build"))
        .parent()
        .unwrap();
    let direnv = |args: &[&str]| {
        std::process::Command::new("direnv")
            .args(args)
            .current_dir(&dir)
            .env(
                "PATH",
                format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
            )
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("LOCK2BUILD_STORE", store())
            .env("LOCK2BUILD_CACHE", shared_cache())
            .output()
            .unwrap()
    };
    ok(&direnv(&["allow", "."]));
    let out = direnv(&["exec", ".", "sh", "-c", "echo $CARGO_HOME"]);
    assert_eq!(
        stdout(&out).trim(),
        format!("{}/.lock2build/shell/cargo-home", dir.display()),
        "{}",
        stderr(&out)
    );
}

#[test]
fn print_build_logs_streams_the_shell_s_install_scripts() {
    // Its own store: the shared one may have bcrypt built already.
    let dir = project("shell-npm-logs", "npm/shell-app");
    let own = tempdir("shell-logs-store");
    let out = lock2build(
        &["shell", dir.to_str().unwrap(), "-L", "--", "true"],
        &shared_cache(),
        &own,
    );
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let log = step_log(&err, "bcrypt 5.1.1 (install scripts)");
    assert!(Path::new(log).starts_with(own.join("logs")), "{log}");
    assert!(err.contains("bcrypt> gyp info"), "{err}");
    assert!(
        err.contains("built bcrypt 5.1.1 (install scripts) in "),
        "{err}"
    );
    assert!(
        !err.contains('\u{1b}'),
        "escape codes without a terminal: {err}"
    );
}
