//! Building a source tree (an unpacked sdist, or the project itself) into
//! a wheel through its PEP 517 backend, in the sandbox, offline.
//!
//! The step runs the build environment's interpreter (a composed
//! environment of pinned, hashed build-system wheels: setuptools, hatchling,
//! poetry-core, …) on a small PEP 517 front end ([`FRONTEND`]) that:
//!
//! 1. applies the override's patches (`patch -p1`), if any;
//! 2. reads `[build-system]` from `pyproject.toml` (no file, or no
//!    `build-backend`: `setuptools.build_meta:__legacy__`, as pip does),
//!    honouring `backend-path`;
//! 3. for a setuptools (distutils) build, compiles an extension's C and
//!    C++ files [`build_cores`] at a time instead of one after another
//!    (`LOCK2BUILD_BUILD_CORES` in the step's environment; an override's
//!    `env` may set it to `"1"`); only where the compiler's per-file step is
//!    distutils' own Unix one, so the objects and the wheel are the same;
//! 4. asks the backend for its dynamic requirements
//!    (`get_requires_for_build_wheel`) and stops with a clear message if
//!    one is not installed in the build environment (there is no network to
//!    fetch it: it has to be pinned); [`build_wheel`] then returns
//!    [`PythonError::MissingBuildRequirements`](crate::PythonError) with
//!    them, for the caller to resolve and build again;
//! 5. calls `build_wheel` (or, for an editable install, PEP 660's
//!    `build_editable`: `LOCK2BUILD_PEP517_HOOK=editable`) into the output
//!    directory; a backend without that hook exits with [`MISSING_HOOK`].
//!
//! The source tree is a writable scratch mount (`/build/src`): backends
//! write `build/` and `*.egg-info` next to the sources. Only the wheel
//! directory (`/build/dist`) is kept. Everything the step printed is in the
//! log the caller names. What the step leaves in the wheel directory is
//! untrusted: only a regular `*.whl` file is installed (never through a
//! link, never a FIFO), and lock2build's own record there is read with a
//! size limit.

use crate::error::{io_err, PythonError, Result};
use crate::python::PythonInfo;
use lock2build_sandbox::{Mount, Sandbox, SandboxSpec, StepWatch};
use lock2build_store::{kind_name, read_untrusted, ARTIFACT_LIMIT, RECORD_LIMIT};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

/// The PEP 517 front end run inside the sandbox:
/// `python -c FRONTEND <source> <wheel dir> [patch …]`.
pub const FRONTEND: &str = r#"
import importlib, os, re, subprocess, sys
src, out, patches = sys.argv[1], sys.argv[2], sys.argv[3:]
os.chdir(src)
for patch in patches:
    print(f"lock2build: applying {os.path.basename(patch)}", flush=True)
    subprocess.run(["patch", "-p1", "--forward", "--batch", "-i", patch], check=True)
try:
    import tomllib
except ImportError:
    import tomli as tomllib
try:
    with open("pyproject.toml", "rb") as f:
        system = tomllib.load(f).get("build-system", {})
except FileNotFoundError:
    system = {}
backend = system.get("build-backend") or "setuptools.build_meta:__legacy__"
for path in reversed(system.get("backend-path", [])):
    sys.path.insert(0, os.path.abspath(path))
module, _, attrs = backend.partition(":")
print(f"lock2build: build backend {backend}", flush=True)
hooks = importlib.import_module(module)
for attr in filter(None, attrs.split(".")):
    hooks = getattr(hooks, attr)
kind = os.environ.get("LOCK2BUILD_PEP517_HOOK", "wheel")
def parallel_c_compile(cores):
    # distutils (setuptools' own, once setuptools is imported) compiles an
    # extension's sources one after another: compile them `cores` at a
    # time, as pybind11's ParallelCompile does. Only for compilers whose
    # per-file step is the stock Unix one (a setup.py that overrides
    # `_compile` may change shared state in it); the objects are the same
    # files and the link takes them in the same order.
    try:
        import inspect
        from concurrent.futures import ThreadPoolExecutor
        from distutils import ccompiler, unixccompiler
    except ImportError:
        return
    base, stock = ccompiler.CCompiler, unixccompiler.UnixCCompiler._compile
    serial = base.compile
    signature = inspect.signature(serial)
    said = []
    def compile(self, *args, **kwargs):
        if type(self)._compile is not stock:
            return serial(self, *args, **kwargs)
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        a = bound.arguments
        macros, objects, postargs, pp_opts, build = self._setup_compile(
            a["output_dir"], a["macros"], a["include_dirs"], a["sources"], a["depends"], a["extra_postargs"])
        cc_args = self._get_cc_args(pp_opts, a["debug"], a["extra_preargs"])
        todo = [(obj,) + tuple(build[obj]) for obj in objects if obj in build]
        if len(todo) > 1 and not said:
            said.append(True)
            print(f"lock2build: compiling C sources {cores} at a time", flush=True)
        with ThreadPoolExecutor(max(1, min(cores, len(todo)))) as pool:
            running = [pool.submit(self._compile, obj, src, ext, cc_args, postargs, pp_opts) for obj, src, ext in todo]
            for done in running:
                done.result()
        return objects
    base.compile = compile
cores = os.environ.get("LOCK2BUILD_BUILD_CORES", "1")
if cores.isdigit() and int(cores) > 1 and "setuptools" in sys.modules:
    parallel_c_compile(int(cores))
if not hasattr(hooks, f"build_{kind}"):
    print(f"lock2build: the build backend has no build_{kind} hook", file=sys.stderr)
    sys.exit(4)
get_requires = getattr(hooks, f"get_requires_for_build_{kind}", None)
if get_requires is not None:
    import importlib.metadata as md
    try:
        from packaging.requirements import Requirement
    except ImportError:
        Requirement = None
    missing = []
    for req in get_requires({}) or []:
        if Requirement is not None:
            parsed = Requirement(req)
            if parsed.marker is not None and not parsed.marker.evaluate():
                continue
            name = parsed.name
        else:
            name = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req).group(1)
        try:
            md.distribution(name)
        except md.PackageNotFoundError:
            missing.append(req)
    if missing:
        print("lock2build: the build backend also needs " + ", ".join(missing) + ", which the pinned build systems do not have (the build has no network)", file=sys.stderr)
        import json
        with open(os.path.join(out, "lock2build-missing-requirements.json"), "w") as f:
            json.dump(missing, f)
        sys.exit(3)
wheel = getattr(hooks, f"build_{kind}")(os.path.abspath(out), {})
print(f"lock2build: built {wheel}", flush=True)
"#;

/// Exit code of [`FRONTEND`] when the backend needs a requirement that is
/// not in the build environment; it then lists them, as a JSON array, in
/// [`MISSING_REQUIREMENTS_FILE`] of the wheel directory.
pub const MISSING_BUILD_REQUIREMENT: i32 = 3;

/// Exit code of [`FRONTEND`] when the backend lacks the hook asked for
/// (`build_editable`, which PEP 660 makes optional).
pub const MISSING_HOOK: i32 = 4;

/// Where [`FRONTEND`] lists what the backend asked for and the build
/// environment lacks (in the wheel directory).
pub const MISSING_REQUIREMENTS_FILE: &str = "lock2build-missing-requirements.json";

/// `[build-system]` of a source tree, as a front end reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSystem {
    /// `requires` (PEP 508 strings); setuptools and wheel without a `pyproject.toml`.
    pub requires: Vec<String>,
    /// `build-backend`; `setuptools.build_meta:__legacy__` when absent.
    pub backend: String,
}

impl BuildSystem {
    /// Reads `<source>/pyproject.toml`.
    pub fn read(source: &Path) -> Result<BuildSystem> {
        let path = source.join("pyproject.toml");
        let legacy = "setuptools.build_meta:__legacy__".to_owned();
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(BuildSystem {
                    requires: vec!["setuptools>=40.8.0".into(), "wheel".into()],
                    backend: legacy,
                })
            }
            Err(e) => return Err(io_err("read", &path)(e)),
        };
        let doc: toml::Table = toml::from_str(&text).map_err(|e| PythonError::Build {
            project: source.to_owned(),
            reason: format!("`pyproject.toml` is not valid TOML: {e}"),
        })?;
        let system = doc.get("build-system").and_then(toml::Value::as_table);
        let requires = match system.and_then(|s| s.get("requires")) {
            Some(toml::Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Some(_) => {
                return Err(PythonError::Build {
                    project: source.to_owned(),
                    reason: "`[build-system] requires` in pyproject.toml is not a list of strings"
                        .into(),
                })
            }
            None => vec!["setuptools>=40.8.0".into(), "wheel".into()],
        };
        let backend = system
            .and_then(|s| s.get("build-backend"))
            .and_then(toml::Value::as_str)
            .map(str::to_owned)
            .unwrap_or(legacy);
        Ok(BuildSystem { requires, backend })
    }
}

/// One wheel build.
#[derive(Debug, Clone)]
pub struct WheelBuild<'a> {
    /// The source tree on the host; the build may write into it.
    pub source: &'a Path,
    /// The build environment (a [`compose_env`](crate::compose_env) output
    /// in the store) whose `bin/python` runs the build.
    pub build_env: &'a Path,
    /// The package outputs the build environment refers to: mounted
    /// read-only at their paths.
    pub env_inputs: &'a [PathBuf],
    /// The interpreter (its directories are mounted read-only).
    pub python: &'a PythonInfo,
    /// Variables on top of the sandbox's clean environment (override knobs).
    pub env: BTreeMap<String, String>,
    /// Patches to apply (`patch -p1`) before building.
    pub patches: &'a [PathBuf],
    /// Where the step's output goes.
    pub log: &'a Path,
    /// More inputs, read-only (a vendor directory of Rust crates, a
    /// toolchain's sysroot).
    pub extra_read_only: &'a [Mount],
    /// More writable scratch directories (a `CARGO_HOME`).
    pub extra_scratch: &'a [Mount],
    /// More toolchain directories, first in `PATH` after the build
    /// environment's `bin` (a Rust toolchain's `bin`).
    pub extra_toolchain_dirs: &'a [PathBuf],
    /// Who sees the step's lines as they come, and where a failed build's
    /// directories are kept (a backend that only asked for more
    /// requirements is not kept: it runs again).
    pub watch: StepWatch,
}

/// Builds `build.source` into a wheel in `dist` (an empty host directory)
/// and returns the wheel's path.
pub fn build_wheel(sandbox: &Sandbox, build: &WheelBuild, dist: &Path) -> Result<PathBuf> {
    run_backend(sandbox, build, dist, Hook::Wheel)?
        .ok_or_else(|| fail(build, "the build backend has no build_wheel hook".into()))
}

/// Which PEP 517 hook [`run_backend`] calls.
pub(crate) enum Hook<'a> {
    /// `build_wheel`, the source seen at `/build/src`.
    Wheel,
    /// `build_editable`, the source seen at this path (the project's own,
    /// which the editable wheel's `.pth` or finder names).
    Editable(&'a Path),
}

fn fail(build: &WheelBuild, reason: String) -> PythonError {
    PythonError::Build {
        project: build.source.to_owned(),
        reason,
    }
}

/// How many C files one build compiles at a time ([`FRONTEND`]'s
/// `LOCK2BUILD_BUILD_CORES`): `$LOCK2BUILD_BUILD_CORES` when it is a
/// number, else the CPUs this process may run on. A scheduling knob, not an
/// input: the objects and the wheel are the same whatever it is.
pub(crate) fn build_cores() -> usize {
    std::env::var("LOCK2BUILD_BUILD_CORES")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Runs [`FRONTEND`] with `hook` on `build.source` in the sandbox: the
/// wheel it wrote into `dist`, or nothing when the backend lacks the hook.
pub(crate) fn run_backend(
    sandbox: &Sandbox,
    build: &WheelBuild,
    dist: &Path,
    hook: Hook,
) -> Result<Option<PathBuf>> {
    let fail = |reason: String| fail(build, reason);
    let (src_inside, kind) = match hook {
        Hook::Wheel => (Path::new("/build/src"), "wheel"),
        Hook::Editable(project) => (project, "editable"),
    };
    let dist_inside = Path::new("/build/dist");
    let mut read_only: Vec<Mount> = std::iter::once(build.build_env)
        .chain(build.env_inputs.iter().map(PathBuf::as_path))
        .map(|p| Mount::new(p, p))
        .chain(build.extra_read_only.iter().cloned())
        .collect();
    let mut patch_args = Vec::new();
    for (i, patch) in build.patches.iter().enumerate() {
        let inside = PathBuf::from(format!("/build/patches/{i}.patch"));
        read_only.push(Mount::new(patch, &inside));
        patch_args.push(inside);
    }
    let mut env = build.env.clone();
    env.entry("PYTHONNOUSERSITE".into())
        .or_insert_with(|| "1".into());
    env.entry("PYTHONDONTWRITEBYTECODE".into())
        .or_insert_with(|| "1".into());
    env.entry("PIP_NO_INDEX".into())
        .or_insert_with(|| "1".into());
    env.insert("LOCK2BUILD_PEP517_HOOK".into(), kind.into());
    env.entry("LOCK2BUILD_BUILD_CORES".into())
        .or_insert_with(|| build_cores().to_string());
    let mut spec = SandboxSpec {
        command: Vec::new(),
        env,
        read_only,
        output: Mount::new(dist, dist_inside),
        scratch: std::iter::once(Mount::new(build.source, src_inside))
            .chain(build.extra_scratch.iter().cloned())
            .collect(),
        workdir: src_inside.to_owned(),
        // The build systems' scripts (cython, ninja, cmake, maturin) first in PATH.
        toolchain_dirs: std::iter::once(build.build_env.join("bin"))
            .chain(build.extra_toolchain_dirs.iter().cloned())
            .chain(build.python.runtime_dirs())
            .collect(),
    };
    let visible = |p: &Path| OsString::from(sandbox.visible_path(&spec, p));
    let mut command: Vec<OsString> = vec![
        build.build_env.join("bin/python").into(),
        "-c".into(),
        FRONTEND.into(),
        visible(src_inside),
        visible(dist_inside),
    ];
    command.extend(patch_args.iter().map(|p| visible(p)));
    spec.command = command;
    let status = sandbox.run_watched(&spec, build.log, &build.watch)?;
    if status.code() == Some(MISSING_HOOK) {
        if let Some(kept) = &build.watch.keep_failed {
            let _ = lock2build_store::remove_any(kept);
        }
        return Ok(None);
    }
    if !status.success() {
        if status.code() == Some(MISSING_BUILD_REQUIREMENT) {
            if let Some(kept) = &build.watch.keep_failed {
                let _ = lock2build_store::remove_any(kept);
            }
            // Written by the step: read as untrusted (a regular file, small).
            let listed = match read_untrusted(&dist.join(MISSING_REQUIREMENTS_FILE), RECORD_LIMIT) {
                Ok(bytes) => serde_json::from_slice::<Vec<String>>(&bytes).ok(),
                Err(e) if e.is_missing() => None,
                Err(e) => return Err(fail(format!(
                    "its build exited as if build requirements were missing, but their list cannot be read: {e}"
                ))),
            };
            if let Some(requirements) = listed.filter(|r| !r.is_empty()) {
                return Err(PythonError::MissingBuildRequirements {
                    project: build.source.to_owned(),
                    requirements,
                });
            }
        }
        return Err(fail(match status.code() {
            Some(MISSING_BUILD_REQUIREMENT) => {
                "its build backend needs a requirement the pinned build systems do not have (see the log)".into()
            }
            Some(code) => format!("the build exited with code {code}"),
            None => format!("the build was killed ({status})"),
        }));
    }
    find_wheel(dist).map(Some).map_err(fail)
}

/// The one wheel the backend left in `dist`. The directory was the build
/// step's: a `*.whl` that is not a regular file (a FIFO would block the
/// installer forever, a symlink could name a host file) or is larger than
/// an archive may unpack to is refused, named.
fn find_wheel(dist: &Path) -> std::result::Result<PathBuf, String> {
    let entries = fs::read_dir(dist).map_err(|e| format!("cannot list {}: {e}", dist.display()))?;
    let mut wheels = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "whl") {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let meta = fs::symlink_metadata(&path)
            .map_err(|e| format!("cannot inspect the wheel `{name}` it wrote: {e}"))?;
        if !meta.is_file() {
            return Err(format!(
                "the backend left `{name}`, which is {}, not a regular file: lock2build installs only a wheel file the backend wrote",
                kind_name(meta.file_type())
            ));
        }
        if meta.len() > ARTIFACT_LIMIT {
            return Err(format!(
                "the backend left `{name}`, larger than {ARTIFACT_LIMIT} bytes"
            ));
        }
        wheels.push(path);
    }
    match wheels.len() {
        1 => Ok(wheels.remove(0)),
        0 => Err("the backend reported success but wrote no wheel".into()),
        n => Err(format!("the backend wrote {n} wheels; expected one")),
    }
}
