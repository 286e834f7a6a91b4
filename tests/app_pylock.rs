//! `lock2build app` on PEP 751 pylock.toml projects (fixtures/pylock/,
//! written by uv, pip and PDM) and on PEP 723 scripts locked by
//! `uv lock --script` (fixtures/script/), end to end: the environment is
//! built, its programs run.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

fn python(project: &Path, code: &str) -> std::process::Output {
    Command::new(project.join("result/bin/python"))
        .args(["-c", code])
        .output()
        .unwrap()
}

#[test]
fn pylock_app_from_uv_export_builds_and_runs() {
    let (project, store) = app_project("pylock-uv", "pylock/uv-export");
    let out = app(&project, &store, &[]);
    let text = ok(&out);
    assert!(text.contains("result/bin: pylock-app, python"), "{text}");
    assert!(
        stderr(&out).contains("(pylock.toml, 4 packages)"),
        "{}",
        stderr(&out)
    );
    let run = Command::new(project.join("result/bin/pylock-app"))
        .output()
        .unwrap();
    assert_eq!(
        stdout(&run),
        "pylock-app: idna 3.10 six 1.17.0\nxn--bcher-kva.example\n",
        "{}",
        stderr(&run)
    );
    // uv exported its default `dev` group: iniconfig is in the lock.
    assert!(python(&project, "import iniconfig").status.success());
    // Nothing changed, nothing done.
    let again = ok(&app(&project, &store, &[]));
    assert!(
        again.contains("nothing to do: all 8 outputs built"),
        "{again}"
    );
}

#[test]
fn pylock_apps_from_pip_lock_and_pdm_follow_their_markers() {
    let (project, store) = app_project("pylock-pip", "pylock/pip-lock");
    ok(&app(&project, &store, &[]));
    let out = python(
        &project,
        "import idna, six, pylock_app; print(pylock_app.__version__)",
    );
    assert_eq!(stdout(&out).trim(), "0.1.0", "{}", stderr(&out));
    assert!(!python(&project, "import iniconfig").status.success());

    // PDM: `"socks" in extras` is installed with --extra socks only.
    let (project, store) = app_project("pylock-pdm", "pylock/pdm");
    ok(&app(&project, &store, &[]));
    assert!(!python(&project, "import socks").status.success());
    ok(&app(&project, &store, &["--extra", "socks"]));
    let out = python(&project, "import socks, six; print(socks.__version__)");
    assert_eq!(stdout(&out).trim(), "1.7.1", "{}", stderr(&out));
}
