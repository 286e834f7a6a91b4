//! Python builds for lock2build, without pip.
//!
//! - [`install_wheel`]: a wheel into its own output (`lib/python3.X/site-packages`,
//!   `bin/`, …), every file checked against the wheel's `RECORD`.
//! - [`compile_bytecode`]: the `.pyc` of an installed output's modules,
//!   written at build time (PEP 552 unchecked-hash, reproducible).
//! - [`compose_env`]: a venv-like `result` whose `bin/python` and console
//!   scripts see exactly the locked packages' outputs, nothing of the host.
//! - [`build_wheel`]: an sdist or project built into a wheel through its
//!   PEP 517 backend, in the sandbox, with pinned build systems.
//! - [`build_editable`]: a project's editable wheel (PEP 660, or a `.pth`
//!   to its source where the backend has no such hook).
//!
//! See `docs/python-build.md` for the layouts and what is verified.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bytecode;
mod editable;
mod env;
mod error;
mod pep517;
mod python;
mod record;
mod scripts;
mod wheel;

pub use bytecode::{compile_bytecode, PYC_INVALIDATION_MODE};
pub use editable::{build_editable, pth_wheel, EditableProject};
pub use env::{
    compose_env, write_pip_guard, ComposedEnv, ScriptSelection, ENV_PTH, PIP_GUARD_MODULE,
    PIP_GUARD_PTH, PIP_REFUSAL,
};
pub use error::{PythonError, Result};
pub use pep517::{
    build_wheel, BuildSystem, WheelBuild, FRONTEND, MISSING_BUILD_REQUIREMENT, MISSING_HOOK,
    MISSING_REQUIREMENTS_FILE,
};
pub use python::PythonInfo;
pub use record::{record_hash, Record, RecordEntry};
pub use scripts::{launcher, parse_entry_points, python_shebang, EntryPoint};
pub use wheel::{install_wheel, InstalledWheel};
