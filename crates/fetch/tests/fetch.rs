//! fetch_all against a local HTTP/1.1 server that misbehaves on purpose:
//! corrupt bodies, 404s, 500s, stalls, bodies cut off mid-way, and two
//! processes fetching the same plan into one store.

use lock2build_fetch::{
    fetch_all, Credentials, FetchFailure, FetchOptions, FetchRequest, FetchedVia, MirrorConfig,
    Problem, ProgressMode,
};
use lock2build_model::{Hash, HashAlgorithm, HashNotation};
use lock2build_store::{MultiHasher, Store};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

// ---- the server ---------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Behavior {
    /// 200, or 206 for a `Range` request.
    Ok,
    /// 200 with one byte changed.
    Corrupt,
    /// 404.
    Missing,
    /// 500 this many times, then Ok.
    FailFirst(u32),
    /// Says nothing for `delay` this many times, then Ok.
    StallFirst(u32, Duration),
    /// Sends the headers and only `at` bytes of the body, then closes, this
    /// many times; then Ok (honouring `Range`).
    CutFirst(u32, usize),
    /// Ok, but each 16 KiB chunk after a pause (to make downloads overlap).
    Slowly(Duration),
}

#[derive(Debug, Clone)]
struct Logged {
    path: String,
    range: Option<String>,
    authorization: Option<String>,
}

#[derive(Default)]
struct State {
    routes: BTreeMap<String, (Vec<u8>, Behavior)>,
    log: Vec<Logged>,
    connections: usize,
}

#[derive(Clone)]
struct Server {
    base: String,
    state: Arc<Mutex<State>>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                shared.lock().unwrap().connections += 1;
                let state = shared.clone();
                std::thread::spawn(move || serve_connection(stream, state));
            }
        });
        Server { base, state }
    }

    fn route(&self, path: &str, body: Vec<u8>, behavior: Behavior) -> String {
        self.state
            .lock()
            .unwrap()
            .routes
            .insert(path.to_owned(), (body, behavior));
        format!("{}{path}", self.base)
    }

    fn requests(&self, path: &str) -> Vec<Logged> {
        self.state
            .lock()
            .unwrap()
            .log
            .iter()
            .filter(|l| l.path == path)
            .cloned()
            .collect()
    }

    fn total_requests(&self) -> usize {
        self.state.lock().unwrap().log.len()
    }
}

fn serve_connection(stream: TcpStream, state: Arc<Mutex<State>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("/")
            .to_owned();
        let (mut range, mut authorization) = (None, None);
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                match name.to_ascii_lowercase().as_str() {
                    "range" => range = Some(value.trim().to_owned()),
                    "authorization" => authorization = Some(value.trim().to_owned()),
                    _ => {}
                }
            }
        }
        let action = {
            let mut state = state.lock().unwrap();
            state.log.push(Logged {
                path: path.clone(),
                range: range.clone(),
                authorization,
            });
            match state.routes.get_mut(&path) {
                None => None,
                Some((body, behavior)) => {
                    let current = *behavior;
                    *behavior = match current {
                        Behavior::FailFirst(n) if n > 1 => Behavior::FailFirst(n - 1),
                        Behavior::StallFirst(n, d) if n > 1 => Behavior::StallFirst(n - 1, d),
                        Behavior::CutFirst(n, at) if n > 1 => Behavior::CutFirst(n - 1, at),
                        Behavior::FailFirst(_)
                        | Behavior::StallFirst(..)
                        | Behavior::CutFirst(..) => Behavior::Ok,
                        other => other,
                    };
                    Some((body.clone(), current))
                }
            }
        };
        let keep_going = match action {
            None | Some((_, Behavior::Missing)) => {
                respond(&mut stream, "404 Not Found", &[], b"not here", None)
            }
            Some((_, Behavior::FailFirst(_))) => {
                respond(&mut stream, "500 Internal Server Error", &[], b"oops", None)
            }
            Some((body, Behavior::Corrupt)) => {
                let mut body = body;
                let middle = body.len() / 2;
                body[middle] ^= 0xff;
                respond(&mut stream, "200 OK", &[], &body, None)
            }
            Some((body, Behavior::CutFirst(_, at))) => {
                let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body[..at]);
                let _ = stream.flush();
                let _ = stream.shutdown(std::net::Shutdown::Both);
                false
            }
            Some((body, Behavior::StallFirst(_, delay))) => {
                std::thread::sleep(delay);
                let _ = stream.shutdown(std::net::Shutdown::Both);
                let _ = body;
                false
            }
            Some((body, Behavior::Ok)) => serve_ok(&mut stream, &body, range.as_deref(), None),
            Some((body, Behavior::Slowly(pause))) => {
                serve_ok(&mut stream, &body, range.as_deref(), Some(pause))
            }
        };
        if !keep_going {
            return;
        }
    }
}

fn serve_ok(
    stream: &mut TcpStream,
    body: &[u8],
    range: Option<&str>,
    pause: Option<Duration>,
) -> bool {
    let start = range
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse::<usize>().ok());
    match start {
        Some(start) if start < body.len() => {
            let content_range = format!(
                "Content-Range: bytes {start}-{}/{}",
                body.len() - 1,
                body.len()
            );
            respond(
                stream,
                "206 Partial Content",
                &[&content_range],
                &body[start..],
                pause,
            )
        }
        Some(_) => respond(stream, "416 Range Not Satisfiable", &[], b"", pause),
        None => respond(stream, "200 OK", &[], body, pause),
    }
}

fn respond(
    stream: &mut TcpStream,
    status: &str,
    headers: &[&str],
    body: &[u8],
    pause: Option<Duration>,
) -> bool {
    let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    if stream.write_all(head.as_bytes()).is_err() {
        return false;
    }
    for chunk in body.chunks(16 * 1024) {
        if let Some(pause) = pause {
            std::thread::sleep(pause);
        }
        if stream.write_all(chunk).is_err() {
            return false;
        }
    }
    stream.flush().is_ok()
}

// ---- helpers --------------------------------------------------------------------

fn content(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn sha256(bytes: &[u8]) -> Hash {
    let mut h = MultiHasher::new(false);
    h.update(bytes);
    h.finish().sha256
}

fn sha512(bytes: &[u8]) -> Hash {
    let mut h = MultiHasher::new(false);
    h.update(bytes);
    h.finish().sha512
}

fn request(label: &str, urls: &[&str], hash: Hash) -> FetchRequest {
    FetchRequest {
        label: label.to_owned(),
        urls: urls.iter().map(|u| u.to_string()).collect(),
        hashes: vec![hash],
        size: None,
        notation: Default::default(),
    }
}

fn options() -> FetchOptions {
    FetchOptions {
        jobs: 4,
        retries: 3,
        backoff: Duration::from_millis(10),
        timeout: Duration::from_millis(700),
        progress: ProgressMode::Quiet,
        ..FetchOptions::default()
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

// ---- tests ----------------------------------------------------------------------

#[test]
fn retries_5xx_stalls_and_resumes_cut_off_downloads() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (good, flaky, cut, stall) = (
        content(1, 50_000),
        content(2, 70_000),
        content(3, 300_000),
        content(4, 20_000),
    );
    let requests = vec![
        request(
            "good 1.0",
            &[&server.route("/good", good.clone(), Behavior::Ok)],
            sha256(&good),
        ),
        request(
            "flaky 1.0",
            &[&server.route("/flaky", flaky.clone(), Behavior::FailFirst(2))],
            sha512(&flaky),
        ),
        request(
            "cut 1.0",
            &[&server.route("/cut", cut.clone(), Behavior::CutFirst(1, 100_000))],
            sha256(&cut),
        ),
        request(
            "stall 1.0",
            &[&server.route(
                "/stall",
                stall.clone(),
                Behavior::StallFirst(1, Duration::from_secs(2)),
            )],
            sha256(&stall),
        ),
    ];
    let report = fetch_all(&store, &requests, &options()).unwrap();
    for (item, bytes) in report.items.iter().zip([&good, &flaky, &cut, &stall]) {
        assert_eq!(&std::fs::read(&item.path).unwrap(), bytes, "{}", item.label);
        assert!(
            matches!(item.via, FetchedVia::Downloaded { .. }),
            "{}",
            item.label
        );
    }
    assert_eq!(server.requests("/good").len(), 1);
    assert_eq!(server.requests("/flaky").len(), 3, "two 500s, then success");
    assert_eq!(
        server.requests("/stall").len(),
        2,
        "a timeout, then success"
    );
    // Resumed, not restarted: the second request asks for the rest only,
    // and exactly the file's size crossed the wire.
    let cut_requests = server.requests("/cut");
    assert_eq!(cut_requests.len(), 2);
    assert_eq!(cut_requests[0].range, None);
    assert_eq!(cut_requests[1].range.as_deref(), Some("bytes=100000-"));
    assert_eq!(
        report.items[2].via,
        FetchedVia::Downloaded {
            url: format!("{}/cut", server.base),
            bytes: 300_000
        }
    );
    assert!(names(&dir.path().join("partial")).is_empty());
    assert!(names(&dir.path().join("tmp")).is_empty());
}

#[test]
fn a_partial_file_left_by_an_earlier_run_is_resumed() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let body = content(5, 200_000);
    let url = server.route("/cut", body.clone(), Behavior::CutFirst(1, 64 * 1024));
    let no_retry = FetchOptions {
        retries: 0,
        ..options()
    };
    let first = fetch_all(
        &store,
        &[request("cut 1.0", &[&url], sha256(&body))],
        &no_retry,
    )
    .unwrap_err();
    assert!(
        matches!(&first.failures[0], FetchFailure::Download { attempts, .. } if matches!(attempts[0].1, Problem::Network(_)))
    );
    assert_eq!(
        names(&dir.path().join("partial")).len(),
        1,
        "the partial download is kept"
    );
    let second = fetch_all(
        &store,
        &[request("cut 1.0", &[&url], sha256(&body))],
        &no_retry,
    )
    .unwrap();
    assert_eq!(std::fs::read(&second.items[0].path).unwrap(), body);
    let requests = server.requests("/cut");
    assert_eq!(requests[1].range.as_deref(), Some("bytes=65536-"));
    assert_eq!(second.bytes_downloaded(), 200_000 - 65_536);
}

#[test]
fn a_hash_mismatch_names_everything_and_stores_nothing() {
    let server = Server::start();
    let body = content(6, 40_000);
    let mut corrupted = body.clone();
    corrupted[body.len() / 2] ^= 0xff;
    let url = server.route("/corrupt", body.clone(), Behavior::Corrupt);
    // Each lock's own notation: poetry/uv/requirements, Cargo.lock, npm.
    let cases = [
        (
            "pypi flask 3.0.3",
            sha256(&body),
            sha256(&corrupted),
            HashNotation::Prefixed,
        ),
        (
            "crates libc 0.2.1",
            sha256(&body),
            sha256(&corrupted),
            HashNotation::Hex,
        ),
        (
            "npm react 18.3.1",
            sha512(&body),
            sha512(&corrupted),
            HashNotation::Sri,
        ),
    ];
    for (label, expected, actual, notation) in cases {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let before = server.requests("/corrupt").len();
        let err = fetch_all(
            &store,
            &[FetchRequest {
                notation,
                ..request(label, &[&url], expected.clone())
            }],
            &options(),
        )
        .unwrap_err();
        assert_eq!(
            err.failures,
            [FetchFailure::Download {
                label: label.into(),
                attempts: vec![(
                    url.clone(),
                    Problem::HashMismatch {
                        expected: expected.clone(),
                        actual: actual.clone(),
                        notation,
                    }
                )]
            }]
        );
        let message = err.to_string();
        let shown = format!(
            "hash mismatch: expected {}, got {}",
            expected.in_notation(notation),
            actual.in_notation(notation)
        );
        for needle in [label, &url, &shown] {
            assert!(
                message.contains(needle),
                "`{needle}` missing from: {message}"
            );
        }
        match notation {
            HashNotation::Prefixed => {
                assert!(message.contains(&format!("sha256:{}", expected.hex())))
            }
            // Bare hex, as `checksum = "…"` is written.
            HashNotation::Hex => assert!(!message.contains("sha256"), "{message}"),
            HashNotation::Sri => assert!(message.contains(&expected.to_sri()), "{message}"),
        }
        assert_eq!(
            server.requests("/corrupt").len() - before,
            1,
            "a mismatch is not retried"
        );
        assert!(names(&dir.path().join("sources")).is_empty());
        assert!(names(&dir.path().join("partial")).is_empty());
        assert!(names(&dir.path().join("tmp")).is_empty());
    }
}

#[test]
fn not_found_is_not_retried_and_the_next_url_is_tried() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let body = content(7, 1000);
    let missing = server.route("/gone", Vec::new(), Behavior::Missing);
    let good = server.route("/here", body.clone(), Behavior::Ok);
    let report = fetch_all(
        &store,
        &[request("two urls", &[&missing, &good], sha256(&body))],
        &options(),
    )
    .unwrap();
    assert_eq!(
        report.items[0].via,
        FetchedVia::Downloaded {
            url: good,
            bytes: 1000
        }
    );
    assert_eq!(server.requests("/gone").len(), 1);

    let other = content(8, 10);
    let err = fetch_all(
        &store,
        &[request("only missing", &[&missing], sha256(&other))],
        &options(),
    )
    .unwrap_err();
    assert_eq!(
        err.failures,
        [FetchFailure::Download {
            label: "only missing".into(),
            attempts: vec![(missing, Problem::NotFound(404))]
        }]
    );
    assert_eq!(server.requests("/gone").len(), 2, "404 is final");
}

#[test]
fn a_second_run_makes_no_request_and_duplicates_are_fetched_once() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let bodies: Vec<Vec<u8>> = (0..6)
        .map(|i| content(10 + i, 30_000 + i as usize))
        .collect();
    let mut requests: Vec<FetchRequest> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| {
            request(
                &format!("pkg{i}"),
                &[&server.route(&format!("/f{i}"), b.clone(), Behavior::Ok)],
                sha256(b),
            )
        })
        .collect();
    // The same file wanted by another lockfile entry, pinned by sha512.
    // It is found in the store by its sha512 once the sha256 request stored it.
    requests.push(request(
        "pkg0 again",
        &[&format!("{}/f0", server.base)],
        sha512(&bodies[0]),
    ));
    // The very same pin twice: merged into one download.
    requests.push(request(
        "pkg1 again",
        &[&format!("{}/f1", server.base)],
        sha256(&bodies[1]),
    ));
    let first = fetch_all(
        &store,
        &requests,
        &FetchOptions {
            jobs: 1,
            ..options()
        },
    )
    .unwrap();
    assert_eq!(first.items.len(), 8);
    assert_eq!(
        first.downloaded(),
        6,
        "one download is one file: pkg1 twice is one download"
    );
    assert_eq!(first.files().count(), 6);
    assert_eq!(
        first.bytes_downloaded(),
        bodies[..6].iter().map(|b| b.len() as u64).sum::<u64>()
    );
    assert_eq!(first.items[6].via, FetchedVia::Cached);
    assert_eq!(first.items[0].path, first.items[6].path);
    assert_eq!(first.items[1].path, first.items[7].path);
    assert_eq!(first.items[1].via, first.items[7].via);
    assert_eq!(server.total_requests(), 6);
    // One connection for everything: keep-alive reuse with one worker.
    assert_eq!(server.state.lock().unwrap().connections, 1);

    let second = fetch_all(&store, &requests, &options()).unwrap();
    assert!(second.items.iter().all(|i| i.via == FetchedVia::Cached));
    assert_eq!(server.total_requests(), 6, "the second run made a request");
    let paths: Vec<_> = second.items.iter().map(|i| &i.path).collect();
    assert_eq!(
        paths,
        first.items.iter().map(|i| &i.path).collect::<Vec<_>>()
    );
}

#[test]
fn offline_fails_fast_naming_what_is_missing() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let have = content(20, 100);
    store.insert_source(&have[..], &[sha256(&have)]).unwrap();
    let (b, c) = (content(21, 100), content(22, 100));
    let requests = [
        request(
            "have 1.0",
            &[&server.route("/have", have.clone(), Behavior::Ok)],
            sha256(&have),
        ),
        request(
            "bee 2.0",
            &[&server.route("/b", b.clone(), Behavior::Ok)],
            sha256(&b),
        ),
        request(
            "cee 3.0",
            &[&server.route("/c", c.clone(), Behavior::Ok)],
            sha256(&c),
        ),
    ];
    let err = fetch_all(
        &store,
        &requests,
        &FetchOptions {
            offline: true,
            ..options()
        },
    )
    .unwrap_err();
    let labels: Vec<&str> = err.failures.iter().map(FetchFailure::label).collect();
    assert_eq!(labels, ["bee 2.0", "cee 3.0"]);
    assert!(err
        .failures
        .iter()
        .all(|f| matches!(f, FetchFailure::MissingOffline { .. })));
    assert_eq!(err.fetched.items.len(), 1);
    let message = err.to_string();
    assert!(
        message.contains("offline") && message.contains("bee 2.0") && message.contains("cee 3.0"),
        "{message}"
    );
    assert_eq!(server.total_requests(), 0);
}

#[test]
fn mirrors_rewrite_urls_and_credentials_are_sent_but_never_printed() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let body = content(30, 5000);
    server.route("/mirror/packages/x.whl", body.clone(), Behavior::Ok);
    let mut mirrors = MirrorConfig::default();
    mirrors.add(
        "https://files.example.invalid/",
        &format!("{}/mirror/", server.base),
    );
    let host = server
        .base
        .trim_start_matches("http://")
        .split(':')
        .next()
        .unwrap()
        .replace('.', "_");
    let credentials = Credentials::from_parts(
        [(format!("LOCK2BUILD_AUTH_{host}"), "alice:s3cret".to_owned())],
        "",
    );
    let opts = FetchOptions {
        mirrors,
        credentials,
        ..options()
    };
    let report = fetch_all(
        &store,
        &[request(
            "x 1.0",
            &["https://files.example.invalid/packages/x.whl"],
            sha256(&body),
        )],
        &opts,
    )
    .unwrap();
    assert_eq!(std::fs::read(&report.items[0].path).unwrap(), body);
    let logged = server.requests("/mirror/packages/x.whl");
    // base64("alice:s3cret")
    assert_eq!(
        logged[0].authorization.as_deref(),
        Some("Basic YWxpY2U6czNjcmV0")
    );

    // Credentials in a URL: used, and absent from the error.
    let url_with_password = format!(
        "http://bob:hunter2@{}/nope",
        server.base.trim_start_matches("http://")
    );
    let err = fetch_all(
        &store,
        &[request("y 1.0", &[&url_with_password], sha256(b"y"))],
        &options(),
    )
    .unwrap_err();
    let message = format!("{err} {err:?}");
    assert!(!message.contains("hunter2"), "{message}");
    assert!(message.contains("/nope"), "{message}");
    assert_eq!(
        server.requests("/nope")[0].authorization.as_deref(),
        Some("Basic Ym9iOmh1bnRlcjI=")
    );
}

#[test]
fn a_request_without_a_trusted_hash_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let md5 = Hash::new(HashAlgorithm::Md5, vec![0; 16]);
    let err = fetch_all(
        &store,
        &[request("old 0.1", &["http://127.0.0.1:9/x"], md5)],
        &options(),
    )
    .unwrap_err();
    assert!(
        matches!(&err.failures[0], FetchFailure::Untrusted { label, .. } if label == "old 0.1")
    );
}

// ---- two processes ----------------------------------------------------------------

const CHILD_ENV: &str = "LOCK2BUILD_FETCH_TEST_CHILD";

fn shared_plan(base: &str) -> Vec<FetchRequest> {
    (0..5u8)
        .map(|i| {
            let body = content(40 + i, 200_000);
            request(
                &format!("shared{i}"),
                &[&format!("{base}/s{i}")],
                sha256(&body),
            )
        })
        .collect()
}

/// The body of the child processes of the test below (a no-op unless the
/// environment variable is set).
#[test]
fn child_fetcher() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (base, root) = spec.split_once('|').unwrap();
    let store = Store::open(root).unwrap();
    let report = fetch_all(
        &store,
        &shared_plan(base),
        &FetchOptions {
            jobs: 2,
            ..options()
        },
    )
    .unwrap();
    assert_eq!(report.items.len(), 5);
}

#[test]
fn two_processes_fetch_one_plan_into_one_store() {
    let server = Server::start();
    for i in 0..5u8 {
        server.route(
            &format!("/s{i}"),
            content(40 + i, 200_000),
            Behavior::Slowly(Duration::from_millis(15)),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let children: Vec<_> = (0..2)
        .map(|_| {
            std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "child_fetcher", "--test-threads=1"])
                .env(CHILD_ENV, format!("{}|{}", server.base, root.display()))
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success(), "a child fetch failed");
    }
    for i in 0..5 {
        assert_eq!(
            server.requests(&format!("/s{i}")).len(),
            1,
            "/s{i} was downloaded twice"
        );
    }
    let store = Store::open(&root).unwrap();
    for (i, req) in shared_plan(&server.base).iter().enumerate() {
        let path = store.source(&req.hashes).unwrap();
        assert_eq!(std::fs::read(path).unwrap(), content(40 + i as u8, 200_000));
    }
    assert!(names(&root.join("tmp")).is_empty());
    assert!(names(&root.join("partial")).is_empty());
}

/// A port on loopback that nothing listens on.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn an_unreachable_host_fails_at_once_for_every_artifact_and_is_named_once() {
    let server = Server::start();
    let good = content(9, 1000);
    let good_url = server.route("/good.tgz", good.clone(), Behavior::Ok);
    // Retries that would take many seconds if they were made.
    let patient = FetchOptions {
        jobs: 2,
        retries: 4,
        backoff: Duration::from_secs(2),
        ..options()
    };
    let port = closed_port();
    let cases = [
        (
            format!("http://127.0.0.1:{port}"),
            format!("`127.0.0.1:{port}` refused the connection"),
        ),
        (
            // RFC 6761: `.invalid` never resolves.
            "https://files.example.invalid".to_owned(),
            "cannot resolve the host name `files.example.invalid`".to_owned(),
        ),
    ];
    for (base, cause) in cases {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut requests: Vec<FetchRequest> = (0..6u8)
            .map(|i| {
                let url = format!("{base}/pkg{i}-1.0.tgz");
                request(&format!("pkg{i} 1.0"), &[&url], sha256(&content(i, 100)))
            })
            .collect();
        requests.push(request("good 1.0", &[&good_url], sha256(&good)));
        let started = std::time::Instant::now();
        let error = fetch_all(&store, &requests, &patient).unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "neither retried nor waited for: {:?}",
            started.elapsed()
        );
        assert_eq!(error.failures.len(), 6);
        for failure in &error.failures {
            let causes = failure
                .unreachable()
                .unwrap_or_else(|| panic!("{failure:?}"));
            assert_eq!(causes.len(), 1, "{failure:?}");
        }
        let text = error.to_string();
        assert_eq!(
            text.lines().filter(|l| l.contains(&cause)).count(),
            1,
            "the cause once:\n{text}"
        );
        assert_eq!(text.matches(&cause).count(), 1, "{text}");
        assert!(
            text.contains("pkg0 1.0") && text.contains("pkg5 1.0") && !text.contains("good 1.0"),
            "{text}"
        );
        assert!(
            text.contains("help: the store has 1 of these 7 files; `--offline` uses only those"),
            "{text}"
        );
        assert!(text.contains("help: "), "{text}");
    }
}
