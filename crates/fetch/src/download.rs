//! Downloading one file into the store: retries, backoff, resumption and
//! verification.

use crate::auth::redact_url;
use crate::progress::Progress;
use crate::types::{FetchOptions, FetchRequest, FetchedVia, Problem};
use lock2build_store::{EntryLock, MultiHasher, Store, StoreError};
use reqwest::blocking::{Client, Response};
use reqwest::header::{CONTENT_RANGE, RANGE};
use reqwest::StatusCode;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What one attempt came to.
enum Attempt {
    /// The file is stored.
    Stored(PathBuf),
    /// Worth trying again (the partial file is kept for resumption).
    Retry(Problem),
    /// Not worth trying this URL again.
    GiveUp(Problem),
    /// A resumed download did not verify: the partial file may not be a
    /// prefix of this file (it is deleted), so try once more from scratch.
    MismatchAfterResume(Problem),
}

pub(crate) struct Downloader<'a> {
    pub client: &'a Client,
    pub store: &'a Store,
    pub options: &'a FetchOptions,
    pub progress: &'a Progress,
    /// Routes found unreachable this run.
    pub reach: &'a crate::Reachability,
}

impl Downloader<'_> {
    /// Downloads `request` (whose entry lock the caller holds) from its URLs
    /// in order. Returns the stored path and how it got there, or what went
    /// wrong with each URL.
    pub(crate) fn download(
        &self,
        request: &FetchRequest,
        lock: &EntryLock,
    ) -> Result<(PathBuf, FetchedVia), Vec<(String, Problem)>> {
        let mut problems = Vec::new();
        for original in &request.urls {
            let url = self.options.mirrors.rewrite(original);
            let shown = redact_url(&url);
            if let Some(known) = self.reach.known(&url) {
                problems.push((shown, Problem::Unreachable(known)));
                continue;
            }
            let mut transferred = 0u64;
            let mut attempt = 0u32;
            let mut scratch_restarts = 0u32;
            let mut speed = SpeedCheck::new(self.options);
            loop {
                match self.attempt(request, lock, &url, &mut transferred, &mut speed) {
                    Attempt::Stored(path) => {
                        return Ok((
                            path,
                            FetchedVia::Downloaded {
                                url: shown,
                                bytes: transferred,
                            },
                        ));
                    }
                    Attempt::MismatchAfterResume(_) if scratch_restarts == 0 => {
                        scratch_restarts += 1
                    }
                    Attempt::GiveUp(problem) | Attempt::MismatchAfterResume(problem) => {
                        problems.push((shown.clone(), problem));
                        break;
                    }
                    Attempt::Retry(problem) => {
                        if let Err(slow) = speed.check() {
                            problems.push((shown.clone(), slow));
                            break;
                        }
                        if attempt >= self.options.retries {
                            problems.push((shown.clone(), problem));
                            break;
                        }
                        let wait = self
                            .options
                            .backoff
                            .saturating_mul(1 << attempt.min(16))
                            .min(Duration::from_secs(30));
                        self.progress.note(&format!(
                            "{}: {shown}: {problem}; retrying in {:.1}s ({}/{})",
                            request.label,
                            wait.as_secs_f64(),
                            attempt + 1,
                            self.options.retries
                        ));
                        std::thread::sleep(wait);
                        attempt += 1;
                    }
                }
            }
        }
        Err(problems)
    }

    fn attempt(
        &self,
        request: &FetchRequest,
        lock: &EntryLock,
        url: &str,
        transferred: &mut u64,
        speed: &mut SpeedCheck,
    ) -> Attempt {
        let partial = self.store.partial_path(lock);
        let mut hasher = MultiHasher::for_expected(&request.hashes);
        // Re-hash what an earlier attempt (or run) already has.
        let have = match hash_existing(&partial, &mut hasher) {
            Ok(n) => n,
            Err(e) => {
                return Attempt::GiveUp(Problem::Store(format!(
                    "cannot read `{}`: {e}",
                    partial.display()
                )))
            }
        };
        let mut builder = self
            .options
            .credentials
            .authorize(self.client.get(url), url);
        if have > 0 {
            builder = builder.header(RANGE, format!("bytes={have}-"));
        }
        let response = match builder.send() {
            Ok(r) => r,
            Err(e) => {
                return match self.reach.check(&e, url) {
                    Some(cause) => Attempt::GiveUp(Problem::Unreachable(cause)),
                    None => Attempt::Retry(Problem::Network(describe(&e))),
                }
            }
        };
        let status = response.status();
        let append = if status == StatusCode::PARTIAL_CONTENT
            && have > 0
            && range_starts_at(&response, have)
        {
            true
        } else if status == StatusCode::OK {
            hasher = MultiHasher::for_expected(&request.hashes);
            false
        } else if status == StatusCode::RANGE_NOT_SATISFIABLE && have > 0 {
            // The partial file is no prefix of what the server has: start over.
            let _ = std::fs::remove_file(&partial);
            return Attempt::Retry(Problem::Status(416));
        } else if status == StatusCode::NOT_FOUND || status == StatusCode::GONE {
            return Attempt::GiveUp(Problem::NotFound(status.as_u16()));
        } else if status.is_server_error()
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT
        {
            return Attempt::Retry(Problem::Status(status.as_u16()));
        } else {
            return Attempt::GiveUp(Problem::Status(status.as_u16()));
        };
        let start = if append { have } else { 0 };
        if let Some(announced) = response.content_length() {
            if let Err(problem) = self.within_size(request.size, start.saturating_add(announced)) {
                let _ = std::fs::remove_file(&partial);
                return Attempt::GiveUp(problem);
            }
        }
        let file = if append {
            OpenOptions::new().append(true).open(&partial)
        } else {
            File::create(&partial)
        };
        let mut file = match file {
            Ok(f) => f,
            Err(e) => {
                return Attempt::GiveUp(Problem::Store(format!(
                    "cannot write `{}`: {e}",
                    partial.display()
                )))
            }
        };
        let body = Body {
            start,
            size: request.size,
        };
        match self.copy_body(response, &mut file, &mut hasher, body, transferred, speed) {
            Ok(()) => {}
            Err(problem @ (Problem::TooLarge { .. } | Problem::OverCeiling { .. })) => {
                let _ = std::fs::remove_file(&partial);
                return Attempt::GiveUp(problem);
            }
            Err(problem @ (Problem::Store(_) | Problem::TooSlow { .. })) => {
                return Attempt::GiveUp(problem)
            }
            Err(problem) => return Attempt::Retry(problem),
        }
        if let Err(e) = file.flush() {
            return Attempt::GiveUp(Problem::Store(e.to_string()));
        }
        drop(file);
        let digests = hasher.finish();
        match self
            .store
            .commit_source(lock, &partial, &digests, &request.hashes)
        {
            Ok(path) => Attempt::Stored(path),
            Err(StoreError::HashMismatch { expected, actual }) => {
                let problem = Problem::HashMismatch {
                    expected,
                    actual,
                    notation: request.notation,
                };
                if append {
                    Attempt::MismatchAfterResume(problem)
                } else {
                    Attempt::GiveUp(problem)
                }
            }
            Err(e) => Attempt::GiveUp(Problem::Store(e.to_string())),
        }
    }

    /// Whether a file of `len` bytes may be taken: not past the recorded
    /// size, nor past the ceiling when none is recorded.
    fn within_size(&self, size: Option<u64>, len: u64) -> Result<(), Problem> {
        match size {
            Some(expected) if len > expected => Err(Problem::TooLarge { expected }),
            None if len > self.options.max_unknown_size => Err(Problem::OverCeiling {
                limit: self.options.max_unknown_size,
            }),
            _ => Ok(()),
        }
    }

    fn copy_body(
        &self,
        mut response: Response,
        file: &mut File,
        hasher: &mut MultiHasher,
        body: Body,
        transferred: &mut u64,
        speed: &mut SpeedCheck,
    ) -> Result<(), Problem> {
        let mut buf = vec![0u8; 64 * 1024];
        let mut len = body.start;
        loop {
            let n = match response.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(Problem::Network(format!(
                        "download cut off after {len} bytes: {}",
                        io_message(&e)
                    )))
                }
            };
            let chunk = buf.get(..n).unwrap_or_default();
            len += n as u64;
            self.within_size(body.size, len)?;
            speed.record(n as u64)?;
            hasher.update(chunk);
            file.write_all(chunk)
                .map_err(|e| Problem::Store(format!("cannot write the download: {e}")))?;
            *transferred += n as u64;
            self.progress.bytes(n as u64);
        }
    }
}

/// Where a body starts in the file and the size the file should have.
struct Body {
    start: u64,
    size: Option<u64>,
}

/// The low-speed check of one URL, across its attempts: progress is
/// `low_speed_limit × low_speed_time` bytes received since the last
/// checkpoint; no progress for `low_speed_time` (no headers, a stalled or a
/// trickling body) gives the URL up.
pub(crate) struct SpeedCheck {
    limit: u64,
    needed: u64,
    window: Duration,
    since: Instant,
    received: u64,
}

impl SpeedCheck {
    pub(crate) fn new(options: &FetchOptions) -> SpeedCheck {
        let needed = (options.low_speed_limit as f64 * options.low_speed_time.as_secs_f64()) as u64;
        SpeedCheck {
            limit: options.low_speed_limit,
            needed,
            window: options.low_speed_time,
            since: Instant::now(),
            received: 0,
        }
    }

    /// Counts `n` bytes received; an error once the window passed without
    /// enough.
    fn record(&mut self, n: u64) -> Result<(), Problem> {
        self.received += n;
        if self.received >= self.needed {
            self.since = Instant::now();
            self.received = 0;
            return Ok(());
        }
        self.check()
    }

    /// An error when the window since the last progress has passed.
    fn check(&self) -> Result<(), Problem> {
        let elapsed = self.since.elapsed();
        if self.limit > 0 && elapsed >= self.window {
            Err(Problem::TooSlow {
                received: self.received,
                window: elapsed,
                limit: self.limit,
            })
        } else {
            Ok(())
        }
    }
}

/// How long one read (or the wait for headers) may block: the timeout, but
/// never past the low-speed window, so a silent server is given up in about
/// that long.
pub(crate) fn read_timeout(options: &FetchOptions) -> Duration {
    if options.low_speed_limit > 0 {
        options.timeout.min(options.low_speed_time)
    } else {
        options.timeout
    }
}

/// Whether a 206 answer continues at `offset` (`Content-Range: bytes N-…`).
fn range_starts_at(response: &Response, offset: u64) -> bool {
    response
        .headers()
        .get(CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes "))
        .and_then(|v| v.split('-').next())
        .and_then(|v| v.trim().parse::<u64>().ok())
        == Some(offset)
}

fn hash_existing(path: &Path, hasher: &mut MultiHasher) -> std::io::Result<u64> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(total);
        }
        hasher.update(buf.get(..n).unwrap_or_default());
        total += n as u64;
    }
}

/// A reqwest error without its URL (which may carry credentials), with its
/// causes.
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let mut message = kind.to_owned();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

fn io_message(e: &std::io::Error) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}
