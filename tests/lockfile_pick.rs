//! Which lockfile `lock2build app` builds, on layouts of real projects
//! recreated with the real tools (fixtures/pick/README.md): textual's
//! empty uv.lock beside its poetry.lock, jrnl's and llm's
//! `docs/requirements.txt` that are not locks, sigstore's
//! `requirements/main.txt`.

mod common;

use common::*;
use std::process::Command;

fn run_python(python: &std::path::Path, code: &str) -> String {
    let out = Command::new(python).args(["-c", code]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

#[test]
fn a_real_poetry_lock_beats_the_empty_uv_lock_beside_it() {
    let (project, store) = app_project("pick-textual", "pick/textual");
    let out = app(&project, &store, &[]);
    let text = ok(&out);
    assert!(
        text.contains("note: uv.lock lists no packages: building poetry.lock instead"),
        "{text}"
    );
    assert!(
        stderr(&out).contains("(poetry.lock, 2 packages)"),
        "{}",
        stderr(&out)
    );
    let six = run_python(
        &project.join("result/bin/python"),
        "import six, textual_like; print(six.__version__)",
    );
    assert_eq!(six.trim(), "1.17.0");
}

#[test]
fn docs_requirements_one_directory_down_do_not_stop_the_app() {
    // jrnl: docs/requirements.txt pins without hashes, docs_theme's does
    // not pin at all; neither is a lock, neither is read.
    let (project, store) = app_project("pick-jrnl", "pick/jrnl");
    let text = ok(&app(&project, &store, &[]));
    for lock in ["docs/requirements.txt", "docs_theme/requirements.txt"] {
        assert!(
            text.contains(&format!("note: {lock} is not built (one directory down)")),
            "{text}"
        );
    }
    let out = Command::new(project.join("result/bin/jrnl-like"))
        .output()
        .unwrap();
    assert_eq!(
        stdout(&out).trim(),
        "jrnl-like with six 1.17.0",
        "{}",
        stderr(&out)
    );

    // llm: the same with --ecosystem, which used to import them all too.
    let (project, store) = app_project("pick-llm", "pick/llm");
    let text = ok(&app(&project, &store, &["--ecosystem", "pypi"]));
    assert!(
        text.contains("note: docs/requirements.txt is not built"),
        "{text}"
    );
    let out = Command::new(project.join("result/bin/llm-like"))
        .output()
        .unwrap();
    assert_eq!(
        stdout(&out).trim(),
        "llm-like with idna 3.10",
        "{}",
        stderr(&out)
    );
}

#[test]
fn plan_skips_a_requirements_file_one_directory_down_that_is_not_a_lock() {
    let out = lock2build(
        &["plan", fixture("pick/jrnl").to_str().unwrap(), "--json"],
        &shared_cache(),
        &tempdir("store"),
    );
    let plan: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    let skipped: Vec<(&str, &str)> = plan["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["lockfile"].as_str().unwrap(),
                s["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert_eq!(skipped[0].0, "docs/requirements.txt");
    assert!(skipped[0].1.contains("has no `--hash`"), "{}", skipped[0].1);
    assert_eq!(skipped[1].0, "docs_theme/requirements.txt");
    assert!(skipped[1].1.contains("not pinned"), "{}", skipped[1].1);
    assert_eq!(plan["projects"].as_array().unwrap().len(), 1);
    assert_eq!(plan["projects"][0]["lockfile"], "poetry.lock");
}

#[test]
fn lockfile_names_a_lock_under_another_name() {
    // sigstore: no lockfile under a known name; the error points at the
    // hashed requirements/main.txt, and --lockfile builds it.
    let (project, store) = app_project("pick-sigstore", "pick/sigstore");
    let out = app(&project, &store, &[]);
    assert!(!out.status.success());
    let main = project.join("requirements/main.txt");
    let hint = format!(
        "requirements/main.txt looks like a hashed requirements file: `lock2build app --lockfile {}` builds it",
        main.display()
    );
    assert!(stderr(&out).contains(&hint), "{}", stderr(&out));

    let out = app(&project, &store, &["--lockfile", main.to_str().unwrap()]);
    ok(&out);
    assert!(
        stderr(&out).contains("(requirements/main.txt, 3 packages)"),
        "{}",
        stderr(&out)
    );
    let versions = run_python(
        &project.join("result/bin/python"),
        "import idna, six; print(idna.__version__, six.__version__)",
    );
    assert_eq!(versions.trim(), "3.10 1.17.0");
}

#[test]
fn a_broken_lock_or_a_bad_lockfile_argument_is_named() {
    // The richest lock is damaged: that is an error about it, not a
    // silent build of the poorer one beside it.
    let (project, store) = app_project("pick-broken", "pick/jrnl");
    std::fs::write(
        project.join("uv.lock"),
        "version = 1\n[[package]]\nname = \"x\n",
    )
    .unwrap();
    let out = app(&project, &store, &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("uv.lock:3:"), "{}", stderr(&out));
    assert!(!project.join("result").exists());

    let out = app(&project, &store, &["--lockfile", "pyproject.toml"]);
    assert!(
        stderr(&out).contains("does not know this lockfile's format from its name"),
        "{}",
        stderr(&out)
    );
    let missing = project.join("nope/requirements.txt");
    let out = app(&project, &store, &["--lockfile", missing.to_str().unwrap()]);
    assert!(stderr(&out).contains("no such file"), "{}", stderr(&out));
    let lock = project.join("poetry.lock");
    let out = app(
        &project,
        &store,
        &["--lockfile", lock.to_str().unwrap(), "--ecosystem", "npm"],
    );
    assert!(
        stderr(&out).contains("a pypi lockfile, but --ecosystem npm was asked for"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn pylock_toml_is_found_and_two_named_pylocks_need_lockfile() {
    // pylock.toml ranks above the requirements.txt exported beside it.
    let (project, store) = app_project("pick-pylock", "pylock/pip-lock");
    std::fs::copy(
        fixture("pick/sigstore/requirements/main.txt"),
        project.join("requirements.txt"),
    )
    .unwrap();
    let out = app(&project, &store, &[]);
    let text = ok(&out);
    assert!(
        stderr(&out).contains("(pylock.toml, 3 packages)"),
        "{}",
        stderr(&out)
    );
    assert!(
        text.contains("note: requirements.txt is not built: pylock.toml is the richer lock"),
        "{text}"
    );

    // Two `pylock.<name>.toml` and no pylock.toml: which one?
    std::fs::remove_file(project.join("requirements.txt")).unwrap();
    std::fs::rename(
        project.join("pylock.toml"),
        project.join("pylock.prod.toml"),
    )
    .unwrap();
    std::fs::copy(
        fixture("pylock/pdm/pylock.toml"),
        project.join("pylock.dev.toml"),
    )
    .unwrap();
    let out = app(&project, &store, &[]);
    assert!(!out.status.success());
    assert!(
        stderr(&out)
            .contains("several lockfiles of the same kind (pylock.dev.toml, pylock.prod.toml)"),
        "{}",
        stderr(&out)
    );
    let lock = project.join("pylock.prod.toml");
    ok(&app(
        &project,
        &store,
        &["--lockfile", lock.to_str().unwrap()],
    ));
    let out = Command::new(project.join("result/bin/python"))
        .args(["-c", "import six, idna"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}
