//! Python builds for lock2build, without pip.
//!
//! - [`install_wheel`]: a wheel into its own output (`lib/python3.X/site-packages`,
//!   `bin/`, …), every file checked against the wheel's `RECORD`.
//! - [`compose_env`]: a venv-like `result` whose `bin/python` and console
//!   scripts see exactly the locked packages' outputs, nothing of the host.
//!
//! See `docs/python-build.md` for the layouts and what is verified.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod env;
mod error;
mod python;
mod record;
mod scripts;
mod wheel;

pub use env::{compose_env, ComposedEnv, ENV_PTH};
pub use error::{PythonError, Result};
pub use python::PythonInfo;
pub use record::{record_hash, Record, RecordEntry};
pub use scripts::{launcher, parse_entry_points, python_shebang, EntryPoint};
pub use wheel::{install_wheel, InstalledWheel};
