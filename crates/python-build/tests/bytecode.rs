//! `compile_bytecode` against the one-shot `python -m compileall` it
//! replaces: the same `.pyc` files with the same bytes, from the long-lived
//! workers (a large output split over them, several outputs at once) and
//! from the fallback when a worker cannot run.

mod common;

use common::*;
use lock2build_python::{compile_bytecode, PythonInfo, PYC_INVALIDATION_MODE};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// An output whose site-packages has what `compileall` treats apart: many
/// modules (more than one worker's share), a sub-package, set constants
/// (their order depends on the hash seed), a module that does not compile,
/// one that warns, a symlinked directory, a `__pycache__` with a `.py` in
/// it, and a file that is not a module.
fn output_tree(out: &Path, python: &PythonInfo) -> PathBuf {
    let site = out.join(&python.site_packages);
    let pkg = site.join("pkg");
    std::fs::create_dir_all(pkg.join("sub")).unwrap();
    for i in 0..150 {
        let body =
            format!("X = {{'a{i}', 'b', 'c', 'd{i}'}}\ndef f():\n    return {i} in {{1, 2, 3}}\n");
        std::fs::write(pkg.join(format!("m{i:03}.py")), body).unwrap();
    }
    std::fs::write(pkg.join("__init__.py"), "").unwrap();
    std::fs::write(pkg.join("sub/__init__.py"), "import os\n").unwrap();
    std::fs::write(pkg.join("broken.py"), "def f(:\n").unwrap();
    std::fs::write(pkg.join("warns.py"), "S = '\\d'\n").unwrap();
    std::fs::write(pkg.join("data.txt"), "x = 1\n").unwrap();
    std::fs::create_dir_all(site.join("elsewhere")).unwrap();
    std::fs::write(site.join("elsewhere/e.py"), "E = 1\n").unwrap();
    std::os::unix::fs::symlink("elsewhere", site.join("linked")).unwrap();
    std::fs::create_dir_all(site.join("__pycache__")).unwrap();
    std::fs::write(site.join("__pycache__/stray.py"), "S = 1\n").unwrap();
    site
}

/// Every `.pyc` below `dir`, relative to it, with its bytes.
fn pycs(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    tree(dir)
        .into_iter()
        .filter(|p| p.ends_with(".pyc"))
        .map(|p| (PathBuf::from(&p), std::fs::read(dir.join(&p)).unwrap()))
        .collect()
}

/// What the one-shot command writes for `out`.
fn compileall_once(out: &Path, python: &PythonInfo) -> BTreeMap<PathBuf, Vec<u8>> {
    let status = Command::new(&python.executable)
        .args(["-s", "-B", "-m", "compileall", "-q", "-j0"])
        .args(["--invalidation-mode", PYC_INVALIDATION_MODE, "-s"])
        .arg(out)
        .arg(out.join(&python.site_packages))
        .env_clear()
        .env("PYTHONHASHSEED", "0")
        .current_dir("/")
        .output()
        .unwrap()
        .status;
    // 1: broken.py did not compile.
    assert_eq!(status.code(), Some(1));
    pycs(out)
}

/// `python` behind a script that exits 3 when its third argument is
/// `refused` (`-m`: the one-shot command; `-c`: a worker).
fn refusing(python: &PythonInfo, refused: &str, dir: &Path) -> PythonInfo {
    let script = dir.join(format!("python-no{refused}"));
    let body = format!(
        "#!/bin/sh\n[ \"$3\" = {refused} ] && exit 3\nexec {} \"$@\"\n",
        python.executable.display()
    );
    std::fs::write(&script, body).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    PythonInfo {
        executable: script,
        ..python.clone()
    }
}

#[test]
fn workers_write_the_bytes_compileall_writes() {
    let work = tempfile::tempdir().unwrap();
    // Only workers: the one-shot command (the fallback) is refused.
    let workers_only = refusing(python(), "-m", work.path());
    let python = python();
    let reference = work.path().join("reference");
    output_tree(&reference, python);
    let expected = compileall_once(&reference, python);
    let tag = format!("cpython-{}{}", python.version.0, python.version.1);
    let site = python.site_packages.clone();
    for name in [
        "pkg/__pycache__/m000",
        "pkg/sub/__pycache__/__init__",
        "pkg/__pycache__/warns",
    ] {
        assert!(
            expected.contains_key(&site.join(format!("{name}.{tag}.pyc"))),
            "{name}"
        );
    }
    for name in ["pkg/__pycache__/broken", "elsewhere/__pycache__/e"] {
        let pyc = site.join(format!("{name}.{tag}.pyc"));
        assert_eq!(
            expected.contains_key(&pyc),
            name.starts_with("elsewhere"),
            "{name}"
        );
    }
    assert_eq!(
        expected.len(),
        150 + 4,
        "{:?}",
        expected.keys().collect::<Vec<_>>()
    );

    // Four outputs at once: more than the workers, so some wait for one.
    let outs: Vec<PathBuf> = (0..4)
        .map(|i| work.path().join(format!("out{i}")))
        .collect();
    std::thread::scope(|scope| {
        for out in &outs {
            output_tree(out, python);
            let workers_only = &workers_only;
            scope.spawn(move || compile_bytecode(out, workers_only).unwrap());
        }
    });
    for out in &outs {
        assert_eq!(pycs(out), expected, "{}", out.display());
    }
}

#[test]
fn an_interpreter_without_workers_still_compiles_everything() {
    let python = python();
    let work = tempfile::tempdir().unwrap();
    let fallback = refusing(python, "-c", work.path());
    let reference = work.path().join("reference");
    output_tree(&reference, python);
    let expected = compileall_once(&reference, python);
    let out = work.path().join("out");
    output_tree(&out, python);
    compile_bytecode(&out, &fallback).unwrap();
    assert_eq!(pycs(&out), expected);
}
