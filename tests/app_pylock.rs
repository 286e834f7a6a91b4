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

#[test]
fn pep723_script_runs_with_its_locked_dependencies() {
    let (project, store) = app_project("script", "script");
    let script = project.join("hello.py");
    let run_app = |extra: &[&str]| {
        let mut args = vec!["app", script.to_str().unwrap(), "--progress", "plain"];
        args.extend_from_slice(extra);
        lock2build(&args, &shared_cache(), &store)
    };
    let out = run_app(&[]);
    let text = ok(&out);
    assert!(text.contains("result/bin: hello, python"), "{text}");
    assert!(
        stderr(&out).contains("(hello.py.lock, 3 packages)"),
        "{}",
        stderr(&out)
    );
    // result is beside the script, and runs it with the locked packages.
    let run = Command::new(project.join("result/bin/hello"))
        .output()
        .unwrap();
    let printed = stdout(&run);
    assert!(
        printed.contains("idna 3.10 six 1.17.0\nxn--bcher-kva.example\n"),
        "{printed}{}",
        stderr(&run)
    );
    // The copy in the store is what runs, not the user's file.
    assert!(
        printed.contains("/share/lock2build-script/hello.py"),
        "{printed}"
    );
    let out = python(&project, "import sys, six; print(sys.prefix)");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!python(&project, "import pip").status.success());
    assert!(ok(&run_app(&[])).contains("nothing to do"));

    // Editing the script rebuilds its launcher only.
    let text = std::fs::read_to_string(&script).unwrap();
    std::fs::write(&script, text.replace("hello from", "hi from")).unwrap();
    let report = report(&run_app(&["--json"]));
    assert_eq!(strings(&report["built"]), ["script hello"]);
    let run = Command::new(project.join("result/bin/hello"))
        .output()
        .unwrap();
    assert!(stdout(&run).starts_with("hi from"), "{}", stdout(&run));

    // A dependency the lock lacks: the lock is stale, nothing is built.
    std::fs::write(
        &script,
        text.replace(
            "#     \"six==1.17.0\",\n",
            "#     \"six==1.17.0\",\n#     \"PySocks\",\n",
        ),
    )
    .unwrap();
    let out = run_app(&[]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("the script needs `pysocks`, which its lock does not have"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("uv lock --script"),
        "{}",
        stderr(&out)
    );

    std::fs::remove_file(project.join("hello.py.lock")).unwrap();
    let out = run_app(&[]);
    assert!(
        stderr(&out).contains("this script has no lock"),
        "{}",
        stderr(&out)
    );
}
