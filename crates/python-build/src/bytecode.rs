//! Byte-compiling an installed wheel, at build time, as pip, uv
//! (`--compile-bytecode`) and Nix's and Guix's Python builders do.
//!
//! Store outputs are read-only and the environments set
//! `sys.dont_write_bytecode`, so a module without a `.pyc` beside it is
//! compiled again, in memory, at every start. [`compile_bytecode`] writes
//! the `.pyc` of every module of an output's `site-packages` before the
//! output is made read-only:
//!
//! ```text
//! python -s -B -m compileall -q -j0 --invalidation-mode unchecked-hash -s <out> <out>/<site-packages>
//! ```
//!
//! - **unchecked-hash** (PEP 552): the `.pyc` holds a hash of its source
//!   and the import system uses it without looking at the source at all.
//!   Timestamp `.pyc`s would be compared with the source's mtime (which the
//!   store normalises) at every import; checked-hash `.pyc`s (what Python
//!   writes by default under `SOURCE_DATE_EPOCH`, hence what Nix's builders
//!   get) read and hash the source at every import, to catch an edited
//!   source. A store output never changes once built (read-only, named by
//!   its inputs, its tree hash recorded in `meta/`), so the check buys
//!   nothing here and unchecked-hash is what Guix compiles its Python with.
//! - **deterministic**: no timestamp goes in; `PYTHONHASHSEED=0` fixes the
//!   order of set constants; `-s <out>` strips the (per-process) build
//!   directory from the file names recorded in the code objects, which the
//!   import system replaces with the real path when it loads a `.pyc`. Two
//!   builds, in any store, give the same bytes (`-j0` compiles files in
//!   separate processes; each file's bytes depend only on its source).
//! - a file that does not compile (a template, Python 2 code in a test
//!   directory) is left without `.pyc`, as pip and uv leave it: it would
//!   fail the same way if imported.
//! - the `.pyc`s are not added to `RECORD`: pip lists them there so that
//!   `pip uninstall` removes them, but nothing uninstalls from the store
//!   (`lock2build gc` removes an output whole).

use crate::error::{io_err, PythonError, Result};
use crate::python::PythonInfo;
use std::path::Path;
use std::process::{Command, Stdio};

/// The invalidation mode of the `.pyc`s written (PEP 552).
pub const PYC_INVALIDATION_MODE: &str = "unchecked-hash";

/// Writes the `.pyc` of every module under `out_dir`'s site-packages (see
/// the module docs), then normalises the tree's mtimes again. An output
/// without site-packages is left as it is.
pub fn compile_bytecode(out_dir: &Path, python: &PythonInfo) -> Result<()> {
    let site = out_dir.join(&python.site_packages);
    if !site.is_dir() {
        return Ok(());
    }
    let failed = |message: String| PythonError::Bytecode {
        output: out_dir.to_owned(),
        message,
    };
    let output = Command::new(&python.executable)
        .args(["-s", "-B", "-m", "compileall", "-q", "-j0"])
        .args(["--invalidation-mode", PYC_INVALIDATION_MODE, "-s"])
        .arg(out_dir)
        .arg(&site)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("PYTHONHASHSEED", "0")
        .env("PYTHONNOUSERSITE", "1")
        .env(
            "SOURCE_DATE_EPOCH",
            lock2build_store::NORMALIZED_MTIME.to_string(),
        )
        .env("LC_ALL", "C.UTF-8")
        .stdin(Stdio::null())
        .output()
        .map_err(io_err("run", &python.executable))?;
    // 1: some file did not compile (named on stdout), which is fine.
    match output.status.code() {
        Some(0 | 1) => {}
        _ => {
            let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
            text.push_str(&String::from_utf8_lossy(&output.stdout));
            let tail: Vec<&str> = text.lines().rev().take(10).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(failed(format!(
                "`{} -m compileall` {}:\n{}",
                python.executable.display(),
                output.status,
                tail.join("\n")
            )));
        }
    }
    crate::wheel::normalize_tree(out_dir)
}
