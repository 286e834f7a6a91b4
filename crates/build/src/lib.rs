//! What `lock2build app`, `graph`, `fetch`, `shell` and `overrides check`
//! do, as operations the binary calls (one per command, as cargo's commands
//! call `ops`): the binary parses arguments, this crate builds.
//!
//! ```text
//! ops.rs         the operations the commands call (`app`, its target and
//!                sandbox, the text of its report)
//! app/           the three builders (python, rust, node: each turns a plan
//!                into build-graph nodes), the executor that runs any graph
//!                (app/exec.rs over lock2build_graph::execute), the Nix
//!                engine, the no-op memo
//! fetch_plan.rs  a plan's artifacts and git sources into the store, verified
//! source_nodes   the graph's fixed nodes for those sources (fetch-url, git-checkout)
//! overrides.rs   the overrides database as builds use it: loaded for a
//!                project, native needs checked on the host
//! check.rs       `overrides check`'s test builds from source
//! progress.rs    what a build step shows on stderr while it runs
//! shell/         `lock2build shell` / `env`: the dev environment
//! ```

pub mod app;
pub mod check;
pub mod fetch_plan;
pub mod ops;
pub mod overrides;
pub mod progress;
pub mod shell;
pub mod source_nodes;
