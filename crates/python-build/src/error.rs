//! The errors of Python builds.

use std::path::PathBuf;

/// Why a wheel was not installed, an environment not composed, or a
/// project not built.
#[derive(Debug, thiserror::Error)]
pub enum PythonError {
    /// The wheel breaks the wheel format (PEP 427 / the binary distribution
    /// format spec) or fails its own `RECORD`.
    #[error("refusing to install `{}`: {reason}\n  help: the wheel is corrupt or was tampered with; delete it from the store and fetch it again (`lock2build fetch`), and report it upstream if it persists", wheel.display())]
    BadWheel {
        /// The wheel file.
        wheel: PathBuf,
        /// What is wrong, naming the entry at fault.
        reason: String,
    },
    /// The wheel could not be read as a zip archive.
    #[error("cannot read wheel `{}`: {source}", wheel.display())]
    Zip {
        /// The wheel file.
        wheel: PathBuf,
        /// The zip error.
        #[source]
        source: zip::result::ZipError,
    },
    /// The interpreter could not be probed.
    #[error("cannot use `{}` as the Python interpreter: {message}\n  help: pass an interpreter that runs (`python3 --version`), CPython or PyPy 3.8 or newer", python.display())]
    Interpreter {
        /// The interpreter given.
        python: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A package output handed to [`compose_env`](crate::compose_env) is
    /// not an installed wheel.
    #[error("`{}` is not an installed package: {reason}\n  help: pass outputs made by `install_wheel`", path.display())]
    NotInstalled {
        /// The output.
        path: PathBuf,
        /// What is missing.
        reason: String,
    },
    /// A project could not be built into a wheel.
    #[error("cannot build `{}`: {reason}", project.display())]
    Build {
        /// The project (source tree) directory.
        project: PathBuf,
        /// Why, with what to do next.
        reason: String,
    },
    /// The backend asked at build time (`get_requires_for_build_wheel`)
    /// for requirements the build environment lacks.
    #[error("cannot build `{}`: its build backend asks at build time for {}, which its build environment lacks (the build has no network)", project.display(), requirements.join(", "))]
    MissingBuildRequirements {
        /// The project (source tree) directory.
        project: PathBuf,
        /// What the backend asked for and is not installed.
        requirements: Vec<String>,
    },
    /// The interpreter could not byte-compile an installed output.
    #[error("cannot byte-compile `{}`: {message}\n  help: check that the interpreter runs `-m compileall`", output.display())]
    Bytecode {
        /// The output being compiled.
        output: PathBuf,
        /// What the interpreter said.
        message: String,
    },
    /// The sandbox could not run the build.
    #[error(transparent)]
    Sandbox(#[from] lock2build_sandbox::SandboxError),
    /// A file system operation failed.
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// To what.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Shorthand for this crate's results.
pub type Result<T, E = PythonError> = std::result::Result<T, E>;

pub(crate) fn io_err(
    action: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> PythonError {
    let path = path.into();
    move |source| PythonError::Io {
        action,
        path,
        source,
    }
}
