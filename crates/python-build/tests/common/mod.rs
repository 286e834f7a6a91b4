//! Shared test setup: the host interpreter, pip (the host's, or a pinned
//! pip wheel run directly when the host has none, as on a bare Debian),
//! real wheels downloaded from PyPI and verified by sha256, and a tiny
//! project built into a wheel by pip.
#![allow(dead_code)]

use lock2build_python::PythonInfo;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// Downloads shared by the tests of one `cargo test` (kept between runs).
pub fn cache_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-build-cache");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn python() -> &'static PythonInfo {
    static PY: OnceLock<PythonInfo> = OnceLock::new();
    PY.get_or_init(|| PythonInfo::probe(Path::new("python3")).expect("python3 on PATH"))
}

pub fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn sha256_file(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

const PIP_URL: &str = "https://files.pythonhosted.org/packages/c9/bc/b7db44f5f39f9d0494071bddae6880eb645970366d0a200022a1a93d57f5/pip-25.0.1-py3-none-any.whl";
const PIP_SHA256: &str = "c46efd13b6aa8279f33f2864459c8ce587ea6a1a59ee20de055868d8f7688f7f";

/// `python3 -m pip`, or `python3 pip-25.0.1.whl/pip` when the host has no pip.
pub fn pip() -> Command {
    static PIP: OnceLock<Vec<String>> = OnceLock::new();
    let argv = PIP.get_or_init(|| {
        let has_pip = Command::new("python3")
            .args(["-m", "pip", "--version"])
            .output()
            .is_ok_and(|o| o.status.success());
        if has_pip {
            return vec!["python3".into(), "-m".into(), "pip".into()];
        }
        let wheel = cache_dir().join("pip-25.0.1-py3-none-any.whl");
        if !wheel.exists() || sha256_file(&wheel) != PIP_SHA256 {
            run(Command::new("python3").args([
                "-c",
                "import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])",
                PIP_URL,
                wheel.to_str().unwrap(),
            ]));
        }
        assert_eq!(sha256_file(&wheel), PIP_SHA256, "pip wheel hash");
        vec!["python3".into(), format!("{}/pip", wheel.display())]
    });
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .args(["--disable-pip-version-check", "--no-input"]);
    cmd
}

/// A real wheel from PyPI, `pip download`ed once and checked against the
/// sha256 PyPI publishes for it.
pub fn pypi_wheel(requirement: &str, filename: &str, sha256: &str) -> PathBuf {
    let dir = cache_dir().join("pypi");
    let path = dir.join(filename);
    if !path.exists() {
        run(pip()
            .args(["download", "--no-deps", "--only-binary", ":all:", "-d"])
            .arg(&dir)
            .arg(requirement));
    }
    assert_eq!(sha256_file(&path), sha256, "{filename}");
    path
}

pub fn six_wheel() -> PathBuf {
    pypi_wheel(
        "six==1.16.0",
        "six-1.16.0-py2.py3-none-any.whl",
        "8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254",
    )
}

/// pybind11-global 3.1.0 (pybind11's headers and CMake files installed
/// globally; pybind11 itself is pinned in overrides/pypi/build-systems): a
/// real wheel with `.data/headers` and `.data/data`.
pub fn pybind11_global_wheel() -> PathBuf {
    pypi_wheel(
        "pybind11-global==3.1.0",
        "pybind11_global-3.1.0-py3-none-any.whl",
        "ae4ce119e9f0d7a2ef2372a6bd70d7906073a67a7d7c759023601a629c4bbd36",
    )
}

/// Writes the demo project: a package with package data, a console and a
/// GUI entry point, a shell and a Python script (`.data/scripts`), a data
/// file (`.data/data`), and a dependency on six.
pub fn write_demo_project(dir: &Path) {
    let files: &[(&str, &str)] = &[
        (
            "setup.py",
            r#"from setuptools import setup
setup(
    name="l2b-demo",
    version="1.0",
    packages=["l2b_demo"],
    package_data={"l2b_demo": ["data/*.txt"]},
    scripts=["scripts/l2b-shell", "scripts/l2b-py"],
    data_files=[("share/l2b-demo", ["share/readme.txt"])],
    entry_points={
        "console_scripts": ["l2b-hello = l2b_demo.cli:main"],
        "gui_scripts": ["l2b-gui = l2b_demo.cli:Gui.run"],
    },
    install_requires=["six"],
)
"#,
        ),
        ("l2b_demo/__init__.py", "VERSION = '1.0'\n"),
        (
            "l2b_demo/cli.py",
            r#"import sys
from importlib import resources

def main():
    import six
    greeting = resources.files("l2b_demo").joinpath("data/greeting.txt").read_text().strip()
    print(greeting, "six", six.__version__, "from", six.__file__)
    print("argv0", sys.argv[0])
    print("prefix", sys.prefix)
    return 0

class Gui:
    @staticmethod
    def run():
        print("gui ok")
        return 0
"#,
        ),
        ("l2b_demo/data/greeting.txt", "hello from package data\n"),
        ("scripts/l2b-shell", "#!/bin/sh\necho shell-ok\n"),
        (
            "scripts/l2b-py",
            "#!/usr/bin/env python\nimport sys\nprint('py-script', sys.executable)\n",
        ),
        ("share/readme.txt", "installed as data\n"),
    ];
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
    }
    for script in ["scripts/l2b-shell", "scripts/l2b-py"] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.join(script), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// The demo project built into a wheel by pip (once per test binary).
pub fn demo_wheel() -> PathBuf {
    static WHEEL: OnceLock<PathBuf> = OnceLock::new();
    WHEEL
        .get_or_init(|| {
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("python-build-demo-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let project = dir.join("project");
            write_demo_project(&project);
            let host_has_setuptools = Command::new("python3")
                .args(["-c", "import setuptools, wheel"])
                .output()
                .is_ok_and(|o| o.status.success());
            let mut cmd = pip();
            cmd.args(["wheel", "--no-deps", "-w"]).arg(dir.join("dist"));
            if host_has_setuptools {
                cmd.arg("--no-build-isolation");
            }
            run(cmd.arg(&project));
            dir.join("dist/l2b_demo-1.0-py3-none-any.whl")
        })
        .clone()
}

/// Every file under `root` (relative paths, sorted).
pub fn tree(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// pip's own install of `wheel` (`--prefix`, no bytecode), for comparison.
pub fn pip_install(wheel: &Path, prefix: &Path) {
    run(pip()
        .args([
            "install",
            "--no-deps",
            "--no-compile",
            "--no-index",
            "--prefix",
        ])
        .arg(prefix)
        .arg(wheel));
}
