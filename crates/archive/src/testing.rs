//! A local server that answers like the Software Heritage API (the shapes
//! of `shared/SWH-API.md`), for tests: contents by hash, ExtIDs,
//! revisions, the vault (with its status steps), Save Code Now, rate-limit
//! headers and 429s. It records every request (with its Authorization).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// What the vault does with a cooking request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cooking {
    /// `new`, then `pending` for this many polls, then `done`.
    Done(u32),
    /// `failed` with this message.
    Failed(String),
}

/// The archive's contents and behaviour.
#[derive(Default)]
pub struct State {
    /// `sha256:<hex>` / `sha1:<hex>` → bytes.
    pub contents: BTreeMap<String, Vec<u8>>,
    /// `<type>/<hex>` → target SWHID.
    pub extids: BTreeMap<String, String>,
    /// SWHID → (cooked tar.gz, how cooking goes).
    pub bundles: BTreeMap<String, (Vec<u8>, Cooking)>,
    /// Known revisions (commit ids).
    pub revisions: Vec<String>,
    /// Polls seen per SWHID.
    pub polls: BTreeMap<String, u32>,
    /// Answer 429 to this many requests first.
    pub rate_limited: u32,
    /// Seconds until the reset in a 429's `X-RateLimit-Reset`.
    pub reset_after: u64,
    /// Answer this many requests normally but with `X-RateLimit-Remaining: 0`
    /// (and the reset `reset_after` from now).
    pub last_allowed: u32,
    /// Answer JSON requests with an HTML error page instead (a proxy's).
    pub garbage: bool,
    /// Every request: (method, path, Authorization header).
    pub log: Vec<(String, String, Option<String>)>,
    /// Origins asked to be saved.
    pub saved: Vec<String>,
}

/// The server; stops with the process (each test makes its own).
#[derive(Clone)]
pub struct SwhServer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// Shared state: fill it, then read the log.
    pub state: Arc<Mutex<State>>,
}

impl SwhServer {
    /// Starts serving on a free port of 127.0.0.1.
    pub fn start() -> SwhServer {
        let server = tiny_http::Server::http("127.0.0.1:0").expect("bind 127.0.0.1");
        let url = format!(
            "http://{}",
            server.server_addr().to_ip().expect("ip address")
        );
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        std::thread::spawn(move || {
            // One request at a time: tiny_http answers each connection's
            // requests in order, and these answers are quick.
            for request in server.incoming_requests() {
                respond(request, &shared);
            }
        });
        SwhServer { url, state }
    }

    /// Adds a content (findable by sha256 and sha1).
    pub fn add_content(&self, sha256_hex: &str, sha1_hex: Option<&str>, bytes: Vec<u8>) {
        let mut s = self.state.lock().unwrap();
        if let Some(sha1) = sha1_hex {
            s.contents.insert(format!("sha1:{sha1}"), bytes.clone());
        }
        s.contents.insert(format!("sha256:{sha256_hex}"), bytes);
    }

    /// Adds an ExtID.
    pub fn add_extid(&self, extid_type: &str, hex: &str, target: &str) {
        self.state
            .lock()
            .unwrap()
            .extids
            .insert(format!("{extid_type}/{hex}"), target.to_owned());
    }

    /// Adds a directory, cooked as a flat bundle of `dir` (under a top
    /// directory named by its SWHID, as the vault does).
    pub fn add_directory(&self, swhid: &str, dir: &Path, cooking: Cooking) {
        let bundle = tar_gz(dir, swhid);
        self.state
            .lock()
            .unwrap()
            .bundles
            .insert(swhid.to_owned(), (bundle, cooking));
    }

    /// Adds a revision whose git-bare bundle is the bare repository `repo`.
    pub fn add_revision(&self, commit: &str, repo: &Path, cooking: Cooking) {
        let swhid = format!("swh:1:rev:{commit}");
        let bundle = tar_gz(repo, &format!("{swhid}.git"));
        let mut s = self.state.lock().unwrap();
        s.revisions.push(commit.to_owned());
        s.bundles.insert(swhid, (bundle, cooking));
    }
}

/// A tar.gz of `dir` under `top/`.
pub fn tar_gz(dir: &Path, top: &str) -> Vec<u8> {
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut builder = tar::Builder::new(encoder);
    builder.follow_symlinks(false);
    builder.append_dir_all(top, dir).expect("tar the directory");
    builder
        .into_inner()
        .expect("finish tar")
        .finish()
        .expect("finish gzip")
}

fn respond(mut request: tiny_http::Request, state: &Mutex<State>) {
    let method = request.method().to_string();
    let path = request.url().to_owned();
    let auth = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Authorization"))
        .map(|h| h.value.to_string());
    let mut body = Vec::new();
    let _ = std::io::Read::read_to_end(request.as_reader(), &mut body);
    let (status, bytes, content_type, reset) = {
        let mut s = state.lock().unwrap();
        s.log.push((method.clone(), path.clone(), auth));
        if s.rate_limited > 0 {
            s.rate_limited -= 1;
            let reset = now() + s.reset_after;
            (
                429,
                br#"{"exception":"RateLimited","reason":"Rate limit exceeded"}"#.to_vec(),
                "application/json",
                Some(reset),
            )
        } else {
            let (status, mut bytes, ct) = route(&mut s, &method, &path);
            if s.garbage && ct == "application/json" && status == 200 {
                bytes = b"<html><body>502 Bad Gateway</body></html>".to_vec();
            }
            let spent = s.last_allowed > 0;
            if spent {
                s.last_allowed -= 1;
            }
            (status, bytes, ct, spent.then(|| now() + s.reset_after))
        }
    };
    let mut response = tiny_http::Response::from_data(bytes).with_status_code(status);
    let header = |k: &str, v: String| {
        tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).expect("header")
    };
    response.add_header(header("Content-Type", content_type.to_owned()));
    response.add_header(header("X-RateLimit-Limit", "120".into()));
    response.add_header(header(
        "X-RateLimit-Remaining",
        if reset.is_some() {
            "0".into()
        } else {
            "100".into()
        },
    ));
    response.add_header(header(
        "X-RateLimit-Reset",
        reset.unwrap_or(now() + 3600).to_string(),
    ));
    let _ = request.respond(response);
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

type Answer = (u16, Vec<u8>, &'static str);

fn json(status: u16, value: serde_json::Value) -> Answer {
    (status, value.to_string().into_bytes(), "application/json")
}

fn not_found(reason: &str) -> Answer {
    json(
        404,
        serde_json::json!({"exception": "NotFoundExc", "reason": reason}),
    )
}

fn route(s: &mut State, method: &str, path: &str) -> Answer {
    let (path, _query) = path.split_once('?').unwrap_or((path, ""));
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["api", "1", "content", hash, "raw"] => match s.contents.get(*hash) {
            Some(bytes) => (200, bytes.clone(), "application/octet-stream"),
            None => not_found("Content not found"),
        },
        ["api", "1", "content", hash] => match s.contents.get(*hash) {
            Some(bytes) => json(
                200,
                serde_json::json!({"length": bytes.len(), "status": "visible", "data_url": format!("/api/1/content/{hash}/raw/")}),
            ),
            None => not_found("Content not found"),
        },
        ["api", "1", "extid", kind, value] => {
            let Some(hex) = value.strip_prefix("hex:") else {
                return json(
                    400,
                    serde_json::json!({"exception": "BadInputExc", "reason": format!("Invalid external identifier format: {value}")}),
                );
            };
            match s.extids.get(&format!("{kind}/{hex}")) {
                Some(target) => json(
                    200,
                    serde_json::json!({"extid_type": kind, "extid": hex, "extid_version": 1, "target": target, "target_url": format!("/{target}")}),
                ),
                None => not_found(&format!("ExtID of type {kind} and value {hex} not found.")),
            }
        }
        ["api", "1", "revision", commit] => {
            if s.revisions.iter().any(|r| r == commit) {
                json(200, serde_json::json!({"id": commit, "type": "git"}))
            } else {
                not_found("Revision not found")
            }
        }
        ["api", "1", "vault", kind, swhid, "raw"] => match s.bundles.get(*swhid) {
            Some((bytes, Cooking::Done(_))) => (200, bytes.clone(), "application/gzip"),
            _ => not_found(&format!("{kind} bundle not found")),
        },
        ["api", "1", "vault", kind, swhid] => vault(s, method, kind, swhid),
        ["api", "1", "origin", "save", "git", "url", rest @ ..] => {
            let origin = rest.join("/");
            if method == "POST" {
                s.saved.push(origin.clone());
            }
            json(
                200,
                serde_json::json!({"origin_url": origin, "visit_type": "git", "save_request_status": "accepted", "save_task_status": "not yet scheduled"}),
            )
        }
        _ => not_found("no such endpoint"),
    }
}

fn vault(s: &mut State, method: &str, kind: &str, swhid: &str) -> Answer {
    let Some((_, cooking)) = s.bundles.get(swhid).cloned() else {
        return not_found(&format!("Cannot cook {swhid}: not in the archive"));
    };
    let polls = s.polls.entry(swhid.to_owned()).or_default();
    if method == "GET" {
        *polls += 1;
    }
    let (status, message) = match cooking {
        Cooking::Failed(message) => ("failed", message),
        Cooking::Done(pending) if method == "POST" && pending > 0 => ("new", "Waiting".into()),
        Cooking::Done(pending) if *polls < pending => ("pending", "Creating tarball...".into()),
        Cooking::Done(_) => ("done", "Done".into()),
    };
    json(
        200,
        serde_json::json!({"id": 42, "fetch_url": format!("/api/1/vault/{kind}/{swhid}/raw/"), "swhid": swhid, "progress_message": message, "status": status}),
    )
}
