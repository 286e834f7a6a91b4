//! The fetcher's limits against a hostile HTTP/1.1 server on 127.0.0.1: one
//! that never answers, stalls mid-body, trickles a byte at a time, or sends
//! an endless body. Each artifact fails within about the low-speed window
//! (not retries × timeout, nor never), and an endless body is cut at the
//! recorded size or at the ceiling for files of unrecorded size. The limits
//! are set small here so the tests are quick; the defaults are 1 KiB/s over
//! 60 s and 2 GiB.

use lock2build_fetch::{
    fetch_all, FetchFailure, FetchOptions, FetchRequest, Problem, ProgressMode,
};
use lock2build_model::Hash;
use lock2build_store::{MultiHasher, Store};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone, Copy)]
enum Hostile {
    /// Reads the request and says nothing.
    NoHeaders,
    /// Headers (the full length), 1000 bytes, then silence.
    StallBody,
    /// Headers, then one byte every 100 ms.
    Trickle,
    /// A body without `Content-Length` that never ends.
    Endless,
    /// Announces this `Content-Length`, then sends without end.
    Announces(u64),
    /// The whole body at about 10 KB/s: slow, but above the limit.
    Steady,
}

struct Server {
    url: String,
    /// Body bytes written to the socket, over all connections.
    sent: Arc<AtomicU64>,
}

fn serve(behavior: Hostile, body: Vec<u8>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/file", listener.local_addr().unwrap());
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (body, counter) = (body.clone(), counter.clone());
            std::thread::spawn(move || answer(stream, behavior, &body, &counter));
        }
    });
    Server { url, sent }
}

fn answer(stream: TcpStream, behavior: Hostile, body: &[u8], sent: &AtomicU64) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
        line.clear();
    }
    let mut stream = stream;
    let mut head_stream = stream.try_clone().unwrap();
    let mut send = |bytes: &[u8]| -> bool {
        let ok = stream.write_all(bytes).is_ok();
        if ok {
            sent.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        }
        ok
    };
    let head = |length: Option<u64>| match length {
        Some(n) => format!("HTTP/1.1 200 OK\r\nContent-Length: {n}\r\n\r\n"),
        None => "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_owned(),
    };
    let forever = Duration::from_secs(120);
    match behavior {
        Hostile::NoHeaders => std::thread::sleep(forever),
        Hostile::StallBody => {
            let _ = head_stream.write_all(head(Some(body.len() as u64)).as_bytes());
            send(&body[..1000]);
            std::thread::sleep(forever);
        }
        Hostile::Trickle => {
            let _ = head_stream.write_all(head(Some(body.len() as u64)).as_bytes());
            for byte in body.chunks(1) {
                if !send(byte) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Hostile::Endless | Hostile::Announces(_) => {
            let length = match behavior {
                Hostile::Announces(n) => Some(n),
                _ => None,
            };
            let _ = head_stream.write_all(head(length).as_bytes());
            let chunk = vec![b'x'; 64 * 1024];
            while send(&chunk) {}
        }
        Hostile::Steady => {
            let _ = head_stream.write_all(head(Some(body.len() as u64)).as_bytes());
            for chunk in body.chunks(1000) {
                if !send(chunk) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

fn content(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(7)).collect()
}

fn sha256(bytes: &[u8]) -> Hash {
    let mut h = MultiHasher::new(false);
    h.update(bytes);
    h.finish().sha256
}

fn request(url: &str, body: &[u8], size: Option<u64>) -> FetchRequest {
    FetchRequest {
        label: "hostile 1.0".to_owned(),
        urls: vec![url.to_owned()],
        hashes: vec![sha256(body)],
        size,
        notation: Default::default(),
    }
}

/// Small limits: 2000 bytes/s over 1 s, 1 MiB for files of unknown size;
/// the timeout and the retries stay at their (long, many) defaults.
fn options() -> FetchOptions {
    FetchOptions {
        backoff: Duration::from_millis(10),
        low_speed_limit: 2000,
        low_speed_time: Duration::from_secs(1),
        max_unknown_size: 1 << 20,
        progress: ProgressMode::Quiet,
        ..FetchOptions::default()
    }
}

/// Fetches `request` into a fresh store and returns how long it took and the
/// one problem (asserting nothing was stored).
fn fail(request: FetchRequest) -> (Duration, Problem) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let started = Instant::now();
    let error = fetch_all(&store, &[request], &options()).unwrap_err();
    let took = started.elapsed();
    assert_eq!(
        std::fs::read_dir(dir.path().join("sources"))
            .unwrap()
            .count(),
        0,
        "nothing stored"
    );
    let problem = match &error.failures[..] {
        [FetchFailure::Download { attempts, .. }] if attempts.len() == 1 => attempts[0].1.clone(),
        other => panic!("one failed URL expected: {other:?}"),
    };
    (took, problem)
}

#[test]
fn a_server_that_never_sends_headers_fails_within_the_window() {
    let body = content(10_000);
    let server = serve(Hostile::NoHeaders, body.clone());
    let (took, problem) = fail(request(&server.url, &body, None));
    assert!(took < Duration::from_secs(4), "took {took:?}");
    assert!(
        matches!(problem, Problem::TooSlow { received: 0, .. }),
        "{problem:?}"
    );
    assert!(
        problem
            .to_string()
            .contains("LOCK2BUILD_FETCH_LOW_SPEED_TIME"),
        "{problem}"
    );
}

#[test]
fn a_body_that_stalls_fails_within_the_window() {
    let body = content(100_000);
    let server = serve(Hostile::StallBody, body.clone());
    let (took, problem) = fail(request(&server.url, &body, Some(100_000)));
    assert!(took < Duration::from_secs(4), "took {took:?}");
    assert!(matches!(problem, Problem::TooSlow { .. }), "{problem:?}");
}

#[test]
fn a_trickling_body_fails_within_the_window() {
    let body = content(100_000);
    let server = serve(Hostile::Trickle, body.clone());
    let (took, problem) = fail(request(&server.url, &body, Some(100_000)));
    assert!(took < Duration::from_secs(4), "took {took:?}");
    match problem {
        Problem::TooSlow {
            received, limit, ..
        } => {
            assert!(received < 2000, "{received}");
            assert_eq!(limit, 2000);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_endless_body_of_unknown_size_stops_at_the_ceiling() {
    let body = content(1000);
    let server = serve(Hostile::Endless, body.clone());
    let (took, problem) = fail(request(&server.url, &body, None));
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert_eq!(problem, Problem::OverCeiling { limit: 1 << 20 });
    assert!(
        problem.to_string().contains("LOCK2BUILD_FETCH_MAX_SIZE"),
        "{problem}"
    );
    // Read up to the ceiling (and what the socket buffers hold), not on.
    let sent = server.sent.load(Ordering::Relaxed);
    assert!(sent < 16 << 20, "{sent} bytes sent");
}

#[test]
fn a_body_announced_longer_than_the_recorded_size_is_refused_unread() {
    let body = content(1000);
    let server = serve(Hostile::Announces(10 << 30), body.clone());
    let (_, problem) = fail(request(&server.url, &body, Some(1000)));
    assert_eq!(problem, Problem::TooLarge { expected: 1000 });
    let server = serve(Hostile::Announces(10 << 30), body.clone());
    let (_, problem) = fail(request(&server.url, &body, None));
    assert_eq!(problem, Problem::OverCeiling { limit: 1 << 20 });
}

#[test]
fn an_endless_body_past_the_recorded_size_is_cut_at_once() {
    let body = content(1000);
    let server = serve(Hostile::Endless, body.clone());
    let (_, problem) = fail(request(&server.url, &body, Some(5000)));
    assert_eq!(problem, Problem::TooLarge { expected: 5000 });
}

#[test]
fn a_slow_but_steady_download_longer_than_the_window_succeeds() {
    let body = content(25_000);
    let server = serve(Hostile::Steady, body.clone());
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let started = Instant::now();
    let report = fetch_all(&store, &[request(&server.url, &body, None)], &options()).unwrap();
    assert!(
        started.elapsed() > Duration::from_secs(2),
        "slower than the window"
    );
    assert_eq!(std::fs::read(&report.items[0].path).unwrap(), body);
}

#[test]
fn limits_come_from_the_environment() {
    // One test sets the variables: no other test in this binary reads them.
    std::env::set_var("LOCK2BUILD_FETCH_LOW_SPEED_LIMIT", "10");
    std::env::set_var("LOCK2BUILD_FETCH_LOW_SPEED_TIME", "300");
    std::env::set_var("LOCK2BUILD_FETCH_MAX_SIZE", "");
    let options = FetchOptions::from_env().unwrap();
    assert_eq!(options.low_speed_limit, 10);
    assert_eq!(options.low_speed_time, Duration::from_secs(300));
    assert_eq!(
        options.max_unknown_size,
        FetchOptions::default().max_unknown_size
    );
    std::env::set_var("LOCK2BUILD_FETCH_MAX_SIZE", "2GB");
    let error = FetchOptions::from_env().unwrap_err().to_string();
    assert!(
        error.contains("LOCK2BUILD_FETCH_MAX_SIZE=\"2GB\""),
        "{error}"
    );
    for name in [
        "LOCK2BUILD_FETCH_LOW_SPEED_LIMIT",
        "LOCK2BUILD_FETCH_LOW_SPEED_TIME",
        "LOCK2BUILD_FETCH_MAX_SIZE",
    ] {
        std::env::remove_var(name);
    }
}
