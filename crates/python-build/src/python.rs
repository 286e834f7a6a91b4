//! The interpreter a build and an environment use.
//!
//! [`PythonInfo::probe`] runs the interpreter once and asks it where it
//! really lives (`pyenv` shims and venv interpreters are resolved to the
//! base interpreter's binary, because a venv-style environment needs the
//! real one as its `home`) and which layout its site-packages has.

use crate::error::{PythonError, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What lock2build needs to know about a Python interpreter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonInfo {
    /// The interpreter binary, symlinks resolved (never a shim or a venv's
    /// link): the target of `bin/python` in a composed environment.
    pub executable: PathBuf,
    /// `sys.base_prefix`: the installation the standard library lives in.
    pub prefix: PathBuf,
    /// `sys.implementation.name` (`cpython`, `pypy`).
    pub implementation: String,
    /// `sys.version_info[:3]`.
    pub version: (u32, u32, u32),
    /// Where packages go relative to a prefix, for this interpreter in a
    /// venv (`lib/python3.11/site-packages`).
    pub site_packages: PathBuf,
    /// Where `Python.h` is (`sysconfig`'s `include`): C extensions need it.
    pub include: PathBuf,
}

/// The probe's answer (a JSON object on one line).
#[derive(Deserialize)]
struct Probe {
    executable: PathBuf,
    prefix: PathBuf,
    implementation: String,
    version: (u32, u32, u32),
    site_packages: PathBuf,
    include: PathBuf,
}

/// Printed by the interpreter being probed.
const PROBE: &str = r#"
import json, os, sys, sysconfig
exe = getattr(sys, "_base_executable", None) or sys.executable
scheme = "venv" if "venv" in sysconfig.get_scheme_names() else "posix_prefix"
purelib = sysconfig.get_path("purelib", scheme, vars={"base": "/@", "platbase": "/@"})
print(json.dumps({
    "executable": os.path.realpath(exe),
    "prefix": sys.base_prefix,
    "implementation": sys.implementation.name,
    "version": list(sys.version_info[:3]),
    "site_packages": os.path.relpath(purelib, "/@"),
    "include": sysconfig.get_paths()["include"],
}))
"#;

impl PythonInfo {
    /// Asks `python` (a path, or a name looked up in `PATH`) about itself.
    pub fn probe(python: &Path) -> Result<PythonInfo> {
        let err = |message: String| PythonError::Interpreter {
            python: python.to_owned(),
            message,
        };
        let output = Command::new(python)
            .args(["-I", "-c", PROBE])
            .output()
            .map_err(|e| err(format!("cannot run it: {e}")))?;
        if !output.status.success() {
            return Err(err(format!(
                "it exited with {}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        let probe: Probe = serde_json::from_slice(&output.stdout).map_err(|e| {
            err(format!(
                "unexpected answer ({e}): {}",
                String::from_utf8_lossy(&output.stdout).trim()
            ))
        })?;
        if probe.version.0 != 3 || probe.version.1 < 8 {
            return Err(err(format!(
                "Python {}.{} is too old",
                probe.version.0, probe.version.1
            )));
        }
        if probe.site_packages.is_absolute()
            || probe
                .site_packages
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(err(format!(
                "unexpected site-packages layout `{}`",
                probe.site_packages.display()
            )));
        }
        Ok(PythonInfo {
            executable: probe.executable,
            prefix: probe.prefix,
            implementation: probe.implementation,
            version: probe.version,
            site_packages: probe.site_packages,
            include: probe.include,
        })
    }

    /// Whether C extensions can be built against it (`Python.h` exists).
    pub fn has_headers(&self) -> bool {
        self.include.join("Python.h").is_file()
    }

    /// `3.11`.
    pub fn version_short(&self) -> String {
        format!("{}.{}", self.version.0, self.version.1)
    }

    /// The directory holding [`PythonInfo::executable`]: a venv's `home`.
    pub fn home(&self) -> &Path {
        self.executable.parent().unwrap_or(Path::new("/"))
    }

    /// Directories a sandboxed step must see for this interpreter to run:
    /// its prefix (the standard library) and the directory of its binary
    /// (when outside the prefix).
    pub fn runtime_dirs(&self) -> Vec<PathBuf> {
        let mut dirs = vec![self.prefix.clone()];
        if !self.executable.starts_with(&self.prefix) {
            dirs.push(self.home().to_owned());
        }
        dirs
    }
}
