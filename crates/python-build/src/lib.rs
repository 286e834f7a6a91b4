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
//!
//! See `docs/python-build.md` for the layouts and what is verified.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bytecode;
mod env;
mod error;
mod pep517;
mod python;
mod record;
mod scripts;
mod wheel;

pub use bytecode::{compile_bytecode, PYC_INVALIDATION_MODE};
pub use env::{compose_env, ComposedEnv, ScriptSelection, ENV_PTH};
pub use error::{PythonError, Result};
pub use pep517::{
    build_wheel, BuildSystem, WheelBuild, FRONTEND, MISSING_BUILD_REQUIREMENT,
    MISSING_REQUIREMENTS_FILE,
};
pub use python::PythonInfo;
pub use record::{record_hash, Record, RecordEntry};
pub use scripts::{launcher, parse_entry_points, python_shebang, EntryPoint};
pub use wheel::{install_wheel, InstalledWheel};
