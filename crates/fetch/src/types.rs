//! What goes into a fetch and what comes out.

use crate::auth::Credentials;
use crate::mirrors::MirrorConfig;
use lock2build_model::Hash;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// One artifact to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRequest {
    /// What to call it in messages (`pypi flask 3.0.3 (flask-3.0.3.tar.gz)`).
    pub label: String,
    /// Where it can be downloaded, tried in order.
    pub urls: Vec<String>,
    /// The hashes the lockfile pinned; every one is checked.
    pub hashes: Vec<Hash>,
    /// The size the lockfile recorded, if any: a download that grows past
    /// it is stopped.
    pub size: Option<u64>,
}

/// How progress is shown (on stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProgressMode {
    /// A bar when stderr is a terminal, plain lines otherwise.
    #[default]
    Auto,
    /// A bar: files, bytes, rate.
    Bar,
    /// One line per file.
    Plain,
    /// Nothing.
    Quiet,
}

/// Knobs of [`crate::fetch_all`].
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Downloads at once.
    pub jobs: usize,
    /// Never touch the network; fail, naming every artifact not stored.
    pub offline: bool,
    /// Retries per URL after the first attempt (timeouts, connection errors,
    /// 429, 5xx, cut-off bodies).
    pub retries: u32,
    /// Wait before the first retry; doubles each time (capped at 30 s).
    pub backoff: Duration,
    /// No answer (headers or the next body bytes) for this long: a timeout.
    pub timeout: Duration,
    /// URL rewriting.
    pub mirrors: MirrorConfig,
    /// Credentials by host.
    pub credentials: Credentials,
    /// Progress display.
    pub progress: ProgressMode,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            jobs: 8,
            offline: false,
            retries: 4,
            backoff: Duration::from_millis(500),
            timeout: Duration::from_secs(60),
            mirrors: MirrorConfig::default(),
            credentials: Credentials::default(),
            progress: ProgressMode::Auto,
        }
    }
}

/// How an artifact came to be in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchedVia {
    /// It was already there; nothing was requested.
    Cached,
    /// Downloaded now from this URL (redacted), `bytes` transferred (less
    /// than the file when a partial download was resumed).
    Downloaded {
        /// The URL (after mirror rewriting, credentials removed).
        url: String,
        /// Bytes transferred by this run.
        bytes: u64,
    },
}

/// One artifact in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedItem {
    /// The request's label.
    pub label: String,
    /// The stored file.
    pub path: PathBuf,
    /// Its size.
    pub size: u64,
    /// Cached or downloaded.
    pub via: FetchedVia,
}

/// Every artifact of a successful fetch, in request order.
#[derive(Debug, Clone, Default)]
pub struct FetchReport {
    /// One per request.
    pub items: Vec<FetchedItem>,
}

impl FetchReport {
    /// One item per distinct stored file: requests for the same file (npm
    /// locks list one tarball at several install locations) share it.
    pub fn files(&self) -> impl Iterator<Item = &FetchedItem> {
        let mut seen = std::collections::BTreeSet::new();
        self.items.iter().filter(move |i| seen.insert(&i.path))
    }

    /// How many files were downloaded (not cached); one download is one file.
    pub fn downloaded(&self) -> usize {
        self.files()
            .filter(|i| matches!(i.via, FetchedVia::Downloaded { .. }))
            .count()
    }

    /// Bytes transferred.
    pub fn bytes_downloaded(&self) -> u64 {
        self.files()
            .map(|i| match i.via {
                FetchedVia::Downloaded { bytes, .. } => bytes,
                FetchedVia::Cached => 0,
            })
            .sum()
    }
}

/// What went wrong with one URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// 404 or 410: not retried.
    NotFound(u16),
    /// Another HTTP status (after retries, for 429/5xx).
    Status(u16),
    /// Timeout, connection error or cut-off body (after retries).
    Network(String),
    /// The bytes are not the ones the lockfile pinned.
    HashMismatch {
        /// The pinned hash.
        expected: Hash,
        /// The downloaded bytes' hash, same algorithm.
        actual: Hash,
    },
    /// The server sent more than the recorded size.
    TooLarge {
        /// The size the lockfile recorded.
        expected: u64,
    },
    /// The store could not take the file.
    Store(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NotFound(code) => write!(f, "not found (HTTP {code})"),
            Problem::Status(401) | Problem::Status(403) => write!(
                f,
                "access denied (HTTP 401/403); set credentials in LOCK2BUILD_AUTH_<HOST> or ~/.netrc"
            ),
            Problem::Status(code) => write!(f, "HTTP {code}"),
            Problem::Network(message) => write!(f, "{message}"),
            Problem::HashMismatch { expected, actual } => {
                write!(f, "hash mismatch: expected {}, got {}", expected.to_sri(), actual.to_sri())
            }
            Problem::TooLarge { expected } => write!(f, "larger than the {expected} bytes the lockfile records"),
            Problem::Store(message) => write!(f, "{message}"),
        }
    }
}

/// Why one artifact could not be made available.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchFailure {
    /// Every URL failed.
    Download {
        /// The request's label.
        label: String,
        /// Each URL tried (redacted) and what went wrong with it.
        attempts: Vec<(String, Problem)>,
    },
    /// `--offline` and not in the store.
    MissingOffline {
        /// The request's label.
        label: String,
        /// The hash it would be stored under.
        hash: String,
    },
    /// The request has no URL.
    NoUrl {
        /// The request's label.
        label: String,
    },
    /// The lockfile pins no hash the store can verify with.
    Untrusted {
        /// The request's label.
        label: String,
        /// Why.
        message: String,
    },
}

impl FetchFailure {
    /// The label of the request that failed.
    pub fn label(&self) -> &str {
        match self {
            FetchFailure::Download { label, .. }
            | FetchFailure::MissingOffline { label, .. }
            | FetchFailure::NoUrl { label }
            | FetchFailure::Untrusted { label, .. } => label,
        }
    }
}

impl fmt::Display for FetchFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchFailure::Download { label, attempts } => {
                write!(f, "{label}: download failed")?;
                for (url, problem) in attempts {
                    write!(f, "\n    {url}: {problem}")?;
                }
                Ok(())
            }
            FetchFailure::MissingOffline { label, hash } => {
                write!(
                    f,
                    "{label}: not in the store ({hash}) and --offline forbids downloading it"
                )
            }
            FetchFailure::NoUrl { label } => write!(f, "{label}: no URL to download it from"),
            FetchFailure::Untrusted { label, message } => write!(f, "{label}: {message}"),
        }
    }
}

/// Every failure of a fetch (the artifacts that succeeded are stored all the
/// same).
#[derive(Debug, Clone, thiserror::Error)]
pub struct FetchError {
    /// One per failed request.
    pub failures: Vec<FetchFailure>,
    /// What did succeed.
    pub fetched: FetchReport,
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let offline = self
            .failures
            .iter()
            .all(|x| matches!(x, FetchFailure::MissingOffline { .. }));
        if offline {
            write!(
                f,
                "{} artifact(s) missing from the store in offline mode:",
                self.failures.len()
            )?;
        } else {
            write!(
                f,
                "{} artifact(s) could not be fetched:",
                self.failures.len()
            )?;
        }
        for failure in &self.failures {
            write!(f, "\n  {failure}")?;
        }
        if offline {
            write!(
                f,
                "\n  help: run `lock2build fetch` once with network access"
            )?;
        }
        Ok(())
    }
}
