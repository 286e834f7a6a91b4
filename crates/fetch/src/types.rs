//! What goes into a fetch and what comes out.

use crate::auth::Credentials;
use crate::mirrors::{ConfigError, MirrorConfig};
use lock2build_model::{Hash, HashNotation};
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
    /// How the lockfile writes hashes: a mismatch is shown that way.
    pub notation: HashNotation,
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
    /// No answer (headers or the next body bytes) for this long: a timeout
    /// (the attempt is retried while [`low_speed_time`](Self::low_speed_time)
    /// allows).
    pub timeout: Duration,
    /// The slowest transfer accepted, in bytes per second, measured over
    /// [`low_speed_time`](Self::low_speed_time): a URL that delivers less
    /// than `low_speed_limit × low_speed_time` bytes in that long (no
    /// headers, a stalled or trickling body, across retries) is given up
    /// (`LOCK2BUILD_FETCH_LOW_SPEED_LIMIT`; 0 turns the check off).
    pub low_speed_limit: u64,
    /// The window of the low-speed check (`LOCK2BUILD_FETCH_LOW_SPEED_TIME`,
    /// seconds).
    pub low_speed_time: Duration,
    /// The largest download accepted when neither the lockfile nor the index
    /// records the file's size (`LOCK2BUILD_FETCH_MAX_SIZE`, bytes). A file
    /// with a recorded size is stopped as soon as it grows past that.
    pub max_unknown_size: u64,
    /// URL rewriting.
    pub mirrors: MirrorConfig,
    /// Credentials by host.
    pub credentials: Credentials,
    /// Progress display.
    pub progress: ProgressMode,
    /// The Software Heritage fallback (used by `lock2build-archive`).
    pub archive: crate::ArchiveConfig,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            jobs: 8,
            offline: false,
            retries: 4,
            backoff: Duration::from_millis(500),
            timeout: Duration::from_secs(60),
            low_speed_limit: 1024,
            low_speed_time: Duration::from_secs(60),
            max_unknown_size: 2 << 30,
            mirrors: MirrorConfig::default(),
            credentials: Credentials::default(),
            progress: ProgressMode::Auto,
            archive: crate::ArchiveConfig::default(),
        }
    }
}

impl FetchOptions {
    /// The defaults with the limits of the environment applied:
    /// `LOCK2BUILD_FETCH_LOW_SPEED_LIMIT` (bytes/s),
    /// `LOCK2BUILD_FETCH_LOW_SPEED_TIME` (seconds) and
    /// `LOCK2BUILD_FETCH_MAX_SIZE` (bytes); unset or empty keeps the default.
    pub fn from_env() -> Result<FetchOptions, ConfigError> {
        let mut options = FetchOptions::default();
        if let Some(limit) = env_number(
            "LOCK2BUILD_FETCH_LOW_SPEED_LIMIT",
            "bytes per second (default 1024; 0 turns the check off)",
        )? {
            options.low_speed_limit = limit;
        }
        if let Some(secs) = env_number(
            "LOCK2BUILD_FETCH_LOW_SPEED_TIME",
            "seconds (default 60, at least 1)",
        )? {
            options.low_speed_time = Duration::from_secs(secs.max(1));
        }
        if let Some(max) = env_number("LOCK2BUILD_FETCH_MAX_SIZE", "bytes (default 2147483648)")? {
            options.max_unknown_size = max;
        }
        Ok(options)
    }
}

fn env_number(name: &'static str, help: &'static str) -> Result<Option<u64>, ConfigError> {
    match std::env::var(name) {
        Ok(value) if value.trim().is_empty() => Ok(None),
        Ok(value) => value
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| ConfigError::Limit { name, value, help }),
        Err(_) => Ok(None),
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
    /// The host (or the proxy) cannot be reached at all: not retried, and
    /// not tried again this run.
    Unreachable(crate::Unreachable),
    /// The bytes are not the ones the lockfile pinned.
    HashMismatch {
        /// The pinned hash.
        expected: Hash,
        /// The downloaded bytes' hash, same algorithm.
        actual: Hash,
        /// How the lockfile writes it (the request's).
        notation: HashNotation,
    },
    /// The server sent (or announced) more than the recorded size.
    TooLarge {
        /// The size the lockfile or the index recorded.
        expected: u64,
    },
    /// No size is recorded and the server sent (or announced) more than
    /// [`FetchOptions::max_unknown_size`].
    OverCeiling {
        /// The ceiling.
        limit: u64,
    },
    /// Slower than [`FetchOptions::low_speed_limit`] for
    /// [`FetchOptions::low_speed_time`] (no answer, a stalled or trickling
    /// body): not retried.
    TooSlow {
        /// Bytes received in the window.
        received: u64,
        /// The window.
        window: Duration,
        /// The minimum rate, bytes per second.
        limit: u64,
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
            Problem::Unreachable(cause) => write!(f, "{cause}"),
            Problem::HashMismatch {
                expected,
                actual,
                notation,
            } => write!(
                f,
                "hash mismatch: expected {}, got {}",
                expected.in_notation(*notation),
                actual.in_notation(*notation)
            ),
            Problem::TooLarge { expected } => write!(f, "larger than the {expected} bytes the lockfile or index records"),
            Problem::OverCeiling { limit } => write!(
                f,
                "larger than {limit} bytes, the most accepted for a file of unrecorded size; \
                 raise LOCK2BUILD_FETCH_MAX_SIZE if it really is that big"
            ),
            Problem::TooSlow { received, window, limit } => write!(
                f,
                "only {received} bytes in {:.1}s (less than {limit} bytes/s): the server stalls; \
                 on a slow link raise LOCK2BUILD_FETCH_LOW_SPEED_TIME or lower LOCK2BUILD_FETCH_LOW_SPEED_LIMIT",
                window.as_secs_f64()
            ),
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

impl FetchFailure {
    /// The causes of a download that failed only because its hosts (or
    /// proxies) cannot be reached; `None` for any other failure.
    /// Each comes with what was asked: a URL, or a fallback's name
    /// (`Software Heritage`).
    pub fn unreachable(&self) -> Option<Vec<(&str, &crate::Unreachable)>> {
        let FetchFailure::Download { attempts, .. } = self else {
            return None;
        };
        let mut causes: Vec<(&str, &crate::Unreachable)> = Vec::new();
        for (asked, problem) in attempts {
            let Problem::Unreachable(cause) = problem else {
                return None;
            };
            if !causes.iter().any(|(_, c)| *c == cause) {
                causes.push((asked, cause));
            }
        }
        (!causes.is_empty()).then_some(causes)
    }
}

/// Whether two failures have the same causes (whatever their URLs).
fn same_causes(a: &[(&str, &crate::Unreachable)], b: &[(&str, &crate::Unreachable)]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|((_, x), (_, y))| x == y)
}

/// At most this many labels are named on the line of one cause.
const LABELS_SHOWN: usize = 6;

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
        // Artifacts whose hosts cannot be reached: one line per cause.
        type Causes<'a> = Vec<(&'a str, &'a crate::Unreachable)>;
        let mut unreachable: Vec<(Causes<'_>, Vec<&str>)> = Vec::new();
        for failure in &self.failures {
            match failure.unreachable() {
                Some(causes) => match unreachable
                    .iter_mut()
                    .find(|(c, _)| same_causes(c, &causes))
                {
                    Some((_, labels)) => labels.push(failure.label()),
                    None => unreachable.push((causes, vec![failure.label()])),
                },
                None => write!(f, "\n  {failure}")?,
            }
        }
        let mut helps: Vec<String> = Vec::new();
        for (causes, labels) in &unreachable {
            // A fallback (not a URL) is named: it is not the artifact's host.
            let causes: Vec<String> = causes
                .iter()
                .map(|(asked, cause)| match asked.contains("://") {
                    true => cause.to_string(),
                    false => format!("and the {asked} fallback: {cause}"),
                })
                .collect();
            let mut named: Vec<&str> = labels.iter().take(LABELS_SHOWN).copied().collect();
            let more = labels.len().saturating_sub(LABELS_SHOWN);
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            named.sort_unstable();
            write!(
                f,
                "\n  {}: not fetched: {}{more}",
                causes.join("; "),
                named.join(", ")
            )?;
        }
        for (causes, _) in &unreachable {
            for (_, cause) in causes.iter().filter(|(asked, _)| asked.contains("://")) {
                let help = cause.help();
                if !helps.contains(&help) {
                    helps.push(help);
                }
            }
        }
        for help in &helps {
            write!(f, "\n  help: {help}")?;
        }
        let stored = self.fetched.files().count();
        if !unreachable.is_empty() && stored > 0 {
            write!(
                f,
                "\n  help: the store has {stored} of these {} files; `--offline` uses only those",
                stored + self.failures.len()
            )?;
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
