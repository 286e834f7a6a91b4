//! Fetching: the only part of lock2build that talks to the network.
//!
//! [`fetch_all`] takes the artifacts of a plan ([`FetchRequest`]: a label
//! for messages, candidate URLs, the hashes the lockfile pinned) and makes
//! sure each is in the [`Store`](lock2build_store::Store):
//!
//! - already stored (under any pinned hash): nothing is requested;
//! - otherwise it is downloaded by one of `jobs` worker threads sharing one
//!   HTTP client (connection reuse), with retries and exponential backoff on
//!   timeouts, connection resets, 429 and 5xx, none on 404;
//! - a host name that does not resolve, a refused connection or proxy, no
//!   network ([`Unreachable`]): not retried, and remembered for the run, so
//!   every other artifact on that host fails at once and the error names
//!   the cause once, with what to do (and `--offline` when the store has
//!   some of the files);
//! - an interrupted download stays in `partial/` and is resumed with a
//!   `Range` request by the next attempt or the next run;
//! - every byte is hashed on the way in; a mismatch is an error naming the
//!   package, the URL, the expected and the actual hash, and nothing is
//!   stored;
//! - one download per file even across processes: the store's entry lock is
//!   held while downloading, and whoever waited finds the file stored.
//!
//! URLs go through [`MirrorConfig`] (prefix rewriting) and get credentials
//! from [`Credentials`] (environment, netrc); credentials never appear in
//! messages ([`redact_url`]).
//!
//! Why blocking reqwest and threads rather than async: the work per file is
//! sequential (lock, download, hash, rename), the concurrency is small and
//! bounded, and the root crate already uses reqwest's blocking client with
//! the same TLS setup; a thread pool keeps the code straight-line.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod archive_config;
mod auth;
mod download;
mod fetch;
mod mirrors;
mod progress;
mod types;
mod unreachable;

pub use archive_config::ArchiveConfig;
pub use auth::{redact_url, Auth, Credentials};
pub use fetch::fetch_all;
pub use mirrors::{ConfigError, MirrorConfig};
pub use types::{
    FetchError, FetchFailure, FetchOptions, FetchReport, FetchRequest, FetchedItem, FetchedVia,
    Problem, ProgressMode,
};
pub use unreachable::{Reachability, Reason, Route, Unreachable};
