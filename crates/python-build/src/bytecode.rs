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
//! That command is what each output gets, but not how it runs: starting
//! an interpreter and `-j0`'s process pool for each output cost more CPU
//! than compiling most of them (~0.17 s against ~0.1 s for a small
//! package; 19 outputs in fixtures/uv/native-app). So a few interpreters
//! ([`build_cores`](crate::pep517) of them) stay up for the whole run, each
//! calling `compileall.compile_file` with the same arguments on the files
//! it is sent ([`WORKER`]); the files are those `compile_dir` would visit
//! (its walk: `__pycache__` and symlinked directories skipped), a large
//! output's spread over the workers. The `.pyc` bytes do not depend on
//! which process compiles a file. A worker that dies or answers nonsense
//! is dropped, and the output is compiled by the command above instead.
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
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Condvar, Mutex};

/// The invalidation mode of the `.pyc`s written (PEP 552).
pub const PYC_INVALIDATION_MODE: &str = "unchecked-hash";

/// Fewer files than this per worker are not worth splitting an output for.
const FILES_PER_PART: usize = 64;

/// Writes the `.pyc` of every module under `out_dir`'s site-packages (see
/// the module docs), then normalises the tree's mtimes again. An output
/// without site-packages is left as it is.
pub fn compile_bytecode(out_dir: &Path, python: &PythonInfo) -> Result<()> {
    let site = out_dir.join(&python.site_packages);
    if !site.is_dir() {
        return Ok(());
    }
    let mut files = Vec::new();
    walk(&site, &mut files).map_err(io_err("read directory", &site))?;
    if !files.is_empty() && compile_in_workers(out_dir, &files, python).is_err() {
        compile_once(out_dir, &site, python)?;
    }
    crate::wheel::normalize_tree(out_dir)
}

/// The `.py` files `compileall.compile_dir(site)` compiles: every name
/// below `dir` but `__pycache__`, not descending into symlinked
/// directories (`compile_file` then skips what is not a file).
fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == "__pycache__" {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            if !entry.file_type()?.is_symlink() {
                walk(&path, files)?;
            }
        } else if name.as_bytes().ends_with(b".py") {
            files.push(path);
        }
    }
    Ok(())
}

/// Compiles `files` in the interpreter's workers, a large output in
/// parts at once; any worker failure is an error (the caller falls back).
fn compile_in_workers(out_dir: &Path, files: &[PathBuf], python: &PythonInfo) -> io::Result<()> {
    let parts = (files.len() / FILES_PER_PART).clamp(1, crate::pep517::build_cores());
    let part = |k: usize| -> Vec<&PathBuf> { files.iter().skip(k).step_by(parts).collect() };
    if parts == 1 {
        return with_worker(&python.executable, |w| w.compile(out_dir, &part(0)));
    }
    std::thread::scope(|scope| {
        let running: Vec<_> = (0..parts)
            .map(|k| {
                let files = part(k);
                scope.spawn(move || with_worker(&python.executable, |w| w.compile(out_dir, &files)))
            })
            .collect();
        running.into_iter().try_for_each(|h| {
            h.join()
                .unwrap_or_else(|_| Err(io::Error::other("a compile thread panicked")))
        })
    })
}

/// The one-shot command of the module docs, for `site` of `out_dir`.
fn compile_once(out_dir: &Path, site: &Path, python: &PythonInfo) -> Result<()> {
    let failed = |message: String| PythonError::Bytecode {
        output: out_dir.to_owned(),
        message,
    };
    let mut command = Command::new(&python.executable);
    command
        .args(["-s", "-B", "-m", "compileall", "-q", "-j0"])
        .args(["--invalidation-mode", PYC_INVALIDATION_MODE, "-s"])
        .arg(out_dir)
        .arg(site);
    let output = compile_env(&mut command)
        .stdin(Stdio::null())
        .output()
        .map_err(io_err("run", &python.executable))?;
    // 1: some file did not compile (named on stdout), which is fine.
    match output.status.code() {
        Some(0 | 1) => Ok(()),
        _ => {
            let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
            text.push_str(&String::from_utf8_lossy(&output.stdout));
            let tail: Vec<&str> = text.lines().rev().take(10).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            Err(failed(format!(
                "`{} -m compileall` {}:\n{}",
                python.executable.display(),
                output.status,
                tail.join("\n")
            )))
        }
    }
}

/// The environment every compiling interpreter gets: nothing of the
/// caller's, and what makes the bytes reproducible.
fn compile_env(command: &mut Command) -> &mut Command {
    command
        .current_dir("/")
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("PYTHONHASHSEED", "0")
        .env("PYTHONNOUSERSITE", "1")
        .env(
            "SOURCE_DATE_EPOCH",
            lock2build_store::NORMALIZED_MTIME.to_string(),
        )
        .env("LC_ALL", "C.UTF-8")
}

/// What a worker runs (`python -s -B -c WORKER MODE`): per request, a
/// byte count line, then that many bytes: the directory to strip and the
/// files, separated by NUL; it answers with the number of files that did
/// not compile. Messages (`compile_file`'s, warnings) are dropped, as the
/// one-shot command's are when it succeeds.
pub(crate) const WORKER: &str = r#"
import sys
del sys.path[0]
import compileall, io, os, py_compile
mode = py_compile.PycInvalidationMode[sys.argv[1].replace("-", "_").upper()]
requests, answers = sys.stdin.buffer, sys.stdout.buffer
while True:
    line = requests.readline()
    if not line:
        break
    strip, *files = [os.fsdecode(f) for f in requests.read(int(line)).split(b"\0")]
    sys.stdout = sys.stderr = io.StringIO()
    failed = 0
    for f in files:
        try:
            ok = compileall.compile_file(f, quiet=1, invalidation_mode=mode, stripdir=strip)
        except Exception:
            ok = False
        failed += not ok
    sys.stdout = sys.stderr = io.StringIO()
    answers.write(b"%d\n" % failed)
    answers.flush()
"#;

/// One long-lived compiling interpreter.
struct Worker {
    child: Child,
    requests: ChildStdin,
    answers: BufReader<ChildStdout>,
}

impl Worker {
    fn spawn(python: &Path) -> io::Result<Worker> {
        let mut command = Command::new(python);
        command.args(["-s", "-B", "-c", WORKER, PYC_INVALIDATION_MODE]);
        let mut child = compile_env(&mut command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let (Some(requests), Some(answers)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(io::Error::other("no pipes to the compile worker"));
        };
        Ok(Worker {
            child,
            requests,
            answers: BufReader::new(answers),
        })
    }

    /// Compiles `files` with `strip` removed from their recorded names.
    fn compile(&mut self, strip: &Path, files: &[&PathBuf]) -> io::Result<()> {
        let mut payload: Vec<u8> = strip.as_os_str().as_bytes().to_vec();
        for file in files {
            payload.push(0);
            payload.extend_from_slice(file.as_os_str().as_bytes());
        }
        writeln!(self.requests, "{}", payload.len())?;
        self.requests.write_all(&payload)?;
        self.requests.flush()?;
        let mut answer = String::new();
        self.answers.read_line(&mut answer)?;
        // The count of files that did not compile: fine, as for compileall.
        answer
            .trim_end()
            .parse::<usize>()
            .map(drop)
            .map_err(|_| io::Error::other(format!("compile worker answered {answer:?}")))
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Idle workers by interpreter, and how many each has in all.
#[derive(Default)]
struct Workers {
    idle: BTreeMap<OsString, Vec<Worker>>,
    live: BTreeMap<OsString, usize>,
}

static WORKERS: Mutex<Workers> = Mutex::new(Workers {
    idle: BTreeMap::new(),
    live: BTreeMap::new(),
});
static FREED: Condvar = Condvar::new();

/// Runs `f` with an idle worker of `python` (started when fewer than
/// [`build_cores`](crate::pep517) run, else waited for); a worker `f`
/// fails with is dropped.
fn with_worker(python: &Path, f: impl FnOnce(&mut Worker) -> io::Result<()>) -> io::Result<()> {
    let key = python.as_os_str().to_owned();
    let lock = || WORKERS.lock().unwrap_or_else(|e| e.into_inner());
    let taken = {
        let mut workers = lock();
        loop {
            if let Some(worker) = workers.idle.get_mut(&key).and_then(Vec::pop) {
                break Some(worker);
            }
            let live = workers.live.entry(key.clone()).or_default();
            if *live < crate::pep517::build_cores() {
                *live += 1;
                break None;
            }
            workers = FREED.wait(workers).unwrap_or_else(|e| e.into_inner());
        }
    };
    let mut worker = match taken.map_or_else(|| Worker::spawn(python), Ok) {
        Ok(worker) => worker,
        Err(e) => {
            release(&key, None);
            return Err(e);
        }
    };
    let result = f(&mut worker);
    release(&key, result.is_ok().then_some(worker));
    result
}

/// Gives a worker back (`None`: it is gone) and wakes a waiting caller.
fn release(key: &OsString, worker: Option<Worker>) {
    let mut workers = WORKERS.lock().unwrap_or_else(|e| e.into_inner());
    match worker {
        Some(worker) => workers.idle.entry(key.clone()).or_default().push(worker),
        None => {
            if let Some(live) = workers.live.get_mut(key) {
                *live = live.saturating_sub(1);
            }
        }
    }
    drop(workers);
    FREED.notify_one();
}
