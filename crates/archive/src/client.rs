//! The archive's HTTP API (shapes in `shared/SWH-API.md`): content by hash,
//! ExtIDs, revisions, the vault and Save Code Now, with its rate limits.

use crate::error::{io_err, ArchiveError};
use lock2build_fetch::ArchiveConfig;
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::AUTHORIZATION;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What the vault cooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bundle {
    /// A tar.gz of a directory (`swh:1:dir:…`).
    Flat,
    /// A tar.gz of a bare git repository of a revision (`swh:1:rev:…`).
    GitBare,
}

impl Bundle {
    fn path(self) -> &'static str {
        match self {
            Bundle::Flat => "flat",
            Bundle::GitBare => "git-bare",
        }
    }
}

/// A Save Code Now request, as the archive reports it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SaveRequest {
    /// The origin asked for.
    #[serde(default)]
    pub origin_url: String,
    /// `accepted`, `rejected`, `pending`.
    pub save_request_status: String,
    /// `not created`, `not yet scheduled`, `scheduled`, `succeeded`, `failed`.
    #[serde(default)]
    pub save_task_status: Option<String>,
}

#[derive(Deserialize)]
struct ExtId {
    target: String,
}

#[derive(Deserialize)]
struct VaultStatus {
    status: String,
    #[serde(default)]
    fetch_url: Option<String>,
    #[serde(default)]
    progress_message: Option<String>,
}

/// A client of one archive instance.
pub struct Swh {
    client: Client,
    config: ArchiveConfig,
    /// Set when an answer said `X-RateLimit-Remaining: 0`: the next
    /// request waits until this reset (Unix seconds) first.
    exhausted_until: std::sync::Mutex<Option<u64>>,
    /// A host found unreachable is not asked again this run.
    reach: lock2build_fetch::Reachability,
}

impl Swh {
    /// A client for `config` (no request is made).
    pub fn new(config: &ArchiveConfig) -> Result<Swh, ArchiveError> {
        let client = Client::builder()
            .use_rustls_tls()
            .tls_built_in_native_certs(true)
            .timeout(config.timeout)
            .user_agent(concat!("lock2build/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ArchiveError::Http {
                url: config.url.clone(),
                message: format!("cannot set up the HTTP client: {e}"),
            })?;
        Ok(Swh {
            client,
            config: config.clone(),
            exhausted_until: std::sync::Mutex::new(None),
            reach: lock2build_fetch::Reachability::new(),
        })
    }

    /// The settings in use.
    pub fn config(&self) -> &ArchiveConfig {
        &self.config
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.config.url.trim_end_matches('/'))
        }
    }

    /// Sends a request (token attached), honouring the rate limit: a 429,
    /// or a `Remaining: 0` answer, waits for the reset when it is near and
    /// retries once; else [`ArchiveError::RateLimited`].
    fn send(
        &self,
        make: impl Fn(&Client, &str) -> RequestBuilder,
        path: &str,
    ) -> Result<Response, ArchiveError> {
        let url = self.url(path);
        self.wait_for_reset(&url)?;
        for attempt in 0..2 {
            let mut request = make(&self.client, &url);
            if let Some(token) = &self.config.token {
                request = request.header(AUTHORIZATION, format!("Bearer {token}"));
            }
            if let Some(known) = self.reach.known(&url) {
                return Err(ArchiveError::Unreachable(known));
            }
            let response = request
                .send()
                .map_err(|e| match self.reach.check(&e, &url) {
                    Some(cause) => ArchiveError::Unreachable(cause),
                    None => ArchiveError::Http {
                        url: url.clone(),
                        message: describe(&e),
                    },
                })?;
            let limited = response.status() == StatusCode::TOO_MANY_REQUESTS;
            if !limited {
                if remaining(&response) == Some(0) {
                    if let (Ok(mut slot), Some(reset)) =
                        (self.exhausted_until.lock(), reset_at(&response))
                    {
                        *slot = Some(reset);
                    }
                }
                return Ok(response);
            }
            let wait = reset_in(&response).unwrap_or(Duration::from_secs(60));
            if attempt == 1 || wait > self.config.max_rate_wait {
                return Err(ArchiveError::RateLimited {
                    url,
                    wait_secs: wait.as_secs(),
                });
            }
            std::thread::sleep(wait);
        }
        unreachable!("the loop returns on its second attempt")
    }

    /// The last answer spent the limit: wait for its reset when it is near
    /// enough, else stop (naming the token variable) without asking.
    fn wait_for_reset(&self, url: &str) -> Result<(), ArchiveError> {
        let Some(reset) = self.exhausted_until.lock().ok().and_then(|mut s| s.take()) else {
            return Ok(());
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let wait = Duration::from_secs(reset.saturating_sub(now));
        if wait > self.config.max_rate_wait {
            return Err(ArchiveError::RateLimited {
                url: url.to_owned(),
                wait_secs: wait.as_secs(),
            });
        }
        std::thread::sleep(wait);
        Ok(())
    }

    fn get(&self, path: &str) -> Result<Response, ArchiveError> {
        self.send(|c, u| c.get(u), path)
    }

    fn post(&self, path: &str) -> Result<Response, ArchiveError> {
        self.send(|c, u| c.post(u), path)
    }

    /// `GET`, `None` on 404, the JSON body otherwise (non-2xx is an error).
    fn get_json<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
    ) -> Result<Option<T>, ArchiveError> {
        let response = self.get(path)?;
        json_answer(&self.url(path), response)
    }

    /// The exact bytes of a content, by `sha256` or `sha1` hex; `None` when
    /// the archive does not have it.
    pub fn content_raw(
        &self,
        algorithm: &str,
        hex: &str,
    ) -> Result<Option<Response>, ArchiveError> {
        let path = format!("/api/1/content/{algorithm}:{hex}/raw/");
        let response = self.get(&path)?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => Ok(Some(response)),
            s => Err(status_error(&self.url(&path), s)),
        }
    }

    /// Whether the archive has a content (metadata request only).
    pub fn content_known(&self, algorithm: &str, hex: &str) -> Result<bool, ArchiveError> {
        let found: Option<serde_json::Value> =
            self.get_json(&format!("/api/1/content/{algorithm}:{hex}/"))?;
        Ok(found.is_some())
    }

    /// The SWHID an ExtID points to (`nar-sha256`, `checksum-sha256`, …).
    pub fn extid(&self, extid_type: &str, hex: &str) -> Result<Option<String>, ArchiveError> {
        let path = format!("/api/1/extid/{extid_type}/hex:{hex}/?extid_version=1");
        Ok(self.get_json::<ExtId>(&path)?.map(|e| e.target))
    }

    /// Whether the archive has a revision (a git commit).
    pub fn revision_known(&self, commit: &str) -> Result<bool, ArchiveError> {
        let found: Option<serde_json::Value> =
            self.get_json(&format!("/api/1/revision/{commit}/"))?;
        Ok(found.is_some())
    }

    /// Cooks `swhid` as `bundle` and downloads the result to `dest`:
    /// `POST` to start, `GET` to poll (backing off), then the `fetch_url`.
    pub fn cook(&self, bundle: Bundle, swhid: &str, dest: &Path) -> Result<(), ArchiveError> {
        let path = format!("/api/1/vault/{}/{swhid}/", bundle.path());
        let started = Instant::now();
        let mut status: VaultStatus = json_answer(&self.url(&path), self.post(&path)?)?
            .ok_or_else(|| ArchiveError::NotArchived {
                label: swhid.to_owned(),
                tried: format!("vault {}", bundle.path()),
            })?;
        let mut wait = self.config.vault_poll;
        loop {
            match status.status.as_str() {
                "done" => break,
                "failed" => {
                    return Err(ArchiveError::VaultFailed {
                        swhid: swhid.to_owned(),
                        message: status
                            .progress_message
                            .unwrap_or_else(|| "no message".into()),
                    })
                }
                "new" | "pending" => {}
                other => {
                    return Err(ArchiveError::BadAnswer {
                        url: self.url(&path),
                        message: format!("unknown vault status `{other}`"),
                    })
                }
            }
            if started.elapsed() > self.config.vault_timeout {
                return Err(ArchiveError::VaultTimeout {
                    swhid: swhid.to_owned(),
                    secs: self.config.vault_timeout.as_secs(),
                });
            }
            std::thread::sleep(wait);
            wait = (wait * 2).min(Duration::from_secs(60));
            status = self
                .get_json(&path)?
                .ok_or_else(|| ArchiveError::BadAnswer {
                    url: self.url(&path),
                    message: "the cooking task disappeared (404)".into(),
                })?;
        }
        let fetch = status.fetch_url.unwrap_or_else(|| format!("{path}raw/"));
        self.download(&fetch, dest)
    }

    /// Streams `path` to `dest`, at most `max_bundle` bytes.
    fn download(&self, path: &str, dest: &Path) -> Result<(), ArchiveError> {
        let url = self.url(path);
        let response = self.get(path)?;
        if !response.status().is_success() {
            return Err(status_error(&url, response.status()));
        }
        let limit = self.config.max_bundle;
        let mut file = std::fs::File::create(dest).map_err(io_err("create", dest))?;
        let copied = std::io::copy(&mut response.take(limit + 1), &mut file).map_err(|e| {
            ArchiveError::Http {
                url: url.clone(),
                message: format!("the bundle was cut off: {e}"),
            }
        })?;
        if copied > limit {
            return Err(ArchiveError::Http {
                url,
                message: format!("the bundle is larger than the {limit} bytes allowed"),
            });
        }
        file.flush().map_err(io_err("write", dest))
    }

    /// Asks the archive to save a git origin (Save Code Now).
    pub fn save_origin(&self, origin: &str) -> Result<SaveRequest, ArchiveError> {
        let path = format!("/api/1/origin/save/git/url/{origin}/");
        json_answer(&self.url(&path), self.post(&path)?)?.ok_or_else(|| ArchiveError::BadAnswer {
            url: self.url(&path),
            message: "404 for a save request".into(),
        })
    }
}

fn json_answer<T: for<'de> Deserialize<'de>>(
    url: &str,
    response: Response,
) -> Result<Option<T>, ArchiveError> {
    let status = response.status();
    if status == StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !status.is_success() {
        return Err(status_error(url, status));
    }
    let mut body = Vec::new();
    response
        .take(16 << 20)
        .read_to_end(&mut body)
        .map_err(|e| ArchiveError::Http {
            url: url.to_owned(),
            message: e.to_string(),
        })?;
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| ArchiveError::BadAnswer {
            url: url.to_owned(),
            message: e.to_string(),
        })
}

fn status_error(url: &str, status: StatusCode) -> ArchiveError {
    ArchiveError::Http {
        url: url.to_owned(),
        message: format!("HTTP {status}"),
    }
}

/// A numeric header.
fn header_number(response: &Response, name: &str) -> Option<u64> {
    response
        .headers()
        .get(name)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// `X-RateLimit-Remaining`.
fn remaining(response: &Response) -> Option<u64> {
    header_number(response, "x-ratelimit-remaining")
}

/// `X-RateLimit-Reset` (Unix seconds).
fn reset_at(response: &Response) -> Option<u64> {
    header_number(response, "x-ratelimit-reset")
}

/// How long until `X-RateLimit-Reset`.
fn reset_in(response: &Response) -> Option<Duration> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(reset_at(response)?.saturating_sub(now)))
}

/// A reqwest error with its causes, which say what really happened (DNS,
/// refused connection, TLS).
pub(crate) fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
