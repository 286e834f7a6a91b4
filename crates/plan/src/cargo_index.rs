//! Locked crates' index entries, read from their registry's sparse index.
//!
//! A Cargo registry's index holds, per crate name, one JSON line per
//! published version: its dependencies (with their `target` cfg, `kind`,
//! `optional`, features), its features, `links` and `cksum`, the sha256 of
//! the `.crate`. That is everything cargo's resolver reads about a crate,
//! so a manifest written from it resolves like the real one
//! (`crates/build/src/app/cargo_resolve.rs` relies on this to learn which crates a host
//! build compiles without downloading the others).
//!
//! The sparse protocol: `GET <index>/<prefix>/<lowercased name>`, where the
//! prefix is `1`, `2`, `3/<first letter>` or `<first two>/<next two>`.
//! crates.io's index (`registry+https://github.com/rust-lang/crates.io-index`
//! in a Cargo.lock) is served at `https://index.crates.io/`. Each entry used
//! is checked: its `cksum` must be the lock's checksum, else nothing is
//! used. Pages are cached in `<cache>/cargo-index/`; a cached page that
//! lacks a locked version is fetched again.

use crate::pyindex::IndexOptions;
use anyhow::{anyhow, bail, Context, Result};
use lock2build_fetch::{Reachability, Unreachable};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// crates.io's index as a Cargo.lock names it (after `registry+`).
pub const CRATES_IO: &str = "https://github.com/rust-lang/crates.io-index";

/// A crate as the lock pins it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LockedCrate {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// The lock's checksum (sha256 hex of the `.crate`).
    pub sha256: String,
}

/// The sparse index URL of a registry (a lock's `source` with or without
/// `registry+`), with a trailing `/`: crates.io's, or any `sparse+`
/// registry's; `None` for git registries other than crates.io.
pub fn sparse_index(source: &str) -> Option<String> {
    let source = source.strip_prefix("registry+").unwrap_or(source);
    if source == CRATES_IO || source == "sparse+https://index.crates.io/" {
        return Some("https://index.crates.io/".to_owned());
    }
    let url = source.strip_prefix("sparse+")?;
    Some(format!("{}/", url.trim_end_matches('/')))
}

/// Cargo's index path of a crate name (`se/rd/serde`, `3/s/syn`).
fn index_path(name: &str) -> String {
    let name = name.to_lowercase();
    match name.len() {
        1 => format!("1/{name}"),
        2 => format!("2/{name}"),
        3 => format!("3/{}/{name}", &name[..1]),
        _ => format!("{}/{}/{name}", &name[..2], &name[2..4]),
    }
}

/// The index entry of every crate of `crates` on the sparse index `index`,
/// in `crates` order. Fails naming each crate whose entry is missing or
/// whose `cksum` differs from the lock.
pub fn index_entries(
    index: &str,
    crates: &[LockedCrate],
    options: &IndexOptions,
) -> Result<Vec<serde_json::Value>> {
    let mut names: Vec<&str> = crates.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let http = if options.offline {
        None
    } else {
        Some(crate::pyindex::http_client()?)
    };
    let wanted = |name: &str| -> Vec<&str> {
        crates
            .iter()
            .filter(|c| c.name == name)
            .map(|c| c.version.as_str())
            .collect()
    };
    let pages: Mutex<BTreeMap<String, Result<String>>> = Mutex::new(BTreeMap::new());
    let next = AtomicUsize::new(0);
    let reach = Reachability::new();
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.clamp(1, names.len().max(1)) {
            scope.spawn(|| {
                while let Some(name) = names.get(next.fetch_add(1, Ordering::Relaxed)) {
                    // The mirror's copy, when one is set, as for downloads.
                    let url = options
                        .mirrors
                        .rewrite(&format!("{index}{}", index_path(name)));
                    let access = Access {
                        http: http.as_ref(),
                        options,
                        reach: &reach,
                    };
                    let page = page(&url, &wanted(name), &access);
                    pages
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert((*name).to_owned(), page);
                }
            });
        }
    });
    let pages = pages.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    // Crates whose index host cannot be reached, by cause: said once.
    let mut unreachable: BTreeMap<&Unreachable, Vec<String>> = BTreeMap::new();
    for c in crates {
        let text = match pages.get(&c.name) {
            Some(Ok(text)) => text,
            Some(Err(e)) if e.downcast_ref::<Unreachable>().is_some() => {
                if let Some(cause) = e.downcast_ref::<Unreachable>() {
                    let names = unreachable.entry(cause).or_default();
                    names.push(format!("{} {}", c.name, c.version));
                }
                continue;
            }
            Some(Err(e)) => {
                problems.push(format!("  {} {}: {e:#}", c.name, c.version));
                continue;
            }
            None => {
                problems.push(format!("  {} {}: not read", c.name, c.version));
                continue;
            }
        };
        match find_version(text, &c.version) {
            Some(entry) if entry["cksum"].as_str() == Some(c.sha256.as_str()) => {
                entries.push(entry)
            }
            Some(entry) => problems.push(format!(
                "  {} {}: the index gives checksum {} where the lock has {}",
                c.name, c.version, entry["cksum"], c.sha256
            )),
            None => problems.push(format!(
                "  {} {}: the index has no such version",
                c.name, c.version
            )),
        }
    }
    for (cause, names) in &unreachable {
        problems.push(format!("  {cause}: {}", names.join(", ")));
        problems.push(format!("  help: {}", cause.help()));
    }
    if !problems.is_empty() {
        bail!(
            "cannot read these crates from the index {index}:\n{}",
            problems.join("\n")
        );
    }
    Ok(entries)
}

/// The entry of `version` in an index page.
fn find_version(text: &str, version: &str) -> Option<serde_json::Value> {
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|e| e["vers"].as_str() == Some(version))
}

/// How pages are asked for: the client (none offline), the credentials,
/// the hosts found unreachable.
struct Access<'a> {
    http: Option<&'a reqwest::blocking::Client>,
    options: &'a IndexOptions,
    reach: &'a Reachability,
}

/// An index page: the cached copy when it has every version of `wanted`,
/// else downloaded (and cached). An unreachable host fails at once
/// ([`Unreachable`]).
fn page(url: &str, wanted: &[&str], access: &Access<'_>) -> Result<String> {
    let cache = cache_path(&access.options.cache_dir, url);
    if let Ok(text) = std::fs::read_to_string(&cache) {
        if wanted.iter().all(|v| find_version(&text, v).is_some()) {
            return Ok(text);
        }
    }
    let Some(http) = access.http else {
        bail!("{url} is not in the index cache and --offline forbids the network");
    };
    if let Some(known) = access.reach.known(url) {
        return Err(known.into());
    }
    let mut last = anyhow!("no attempt");
    for attempt in 0..3u32 {
        if attempt > 0 {
            std::thread::sleep(std::time::Duration::from_millis(500 << attempt));
        }
        match access
            .options
            .credentials
            .authorize(http.get(url), url)
            .send()
        {
            Ok(r) if r.status().is_success() => {
                let text = r.text().with_context(|| format!("reading {url}"))?;
                if let Some(parent) = cache.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                let tmp = cache.with_extension(format!("tmp{}", std::process::id()));
                std::fs::write(&tmp, &text)?;
                std::fs::rename(&tmp, &cache)?;
                return Ok(text);
            }
            Ok(r) if r.status().is_server_error() => last = anyhow!("GET {url}: {}", r.status()),
            Ok(r) => bail!("GET {url}: {}", r.status()),
            Err(e) => match access.reach.check(&e, url) {
                Some(cause) => return Err(cause.into()),
                None => last = anyhow!("GET {url}: {e}"),
            },
        }
    }
    Err(last)
}

fn cache_path(cache_dir: &Path, url: &str) -> PathBuf {
    let digest = hex::encode(Sha256::digest(url.as_bytes()));
    cache_dir.join("cargo-index").join(&digest[..32])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};

    /// Serves `pages` (path → body; others 404) over HTTP/1.1 on
    /// 127.0.0.1 for `requests` connections; returns the base URL.
    fn serve(pages: Vec<(&'static str, String)>, requests: usize) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}/", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming().take(requests) {
                let mut stream = stream.unwrap();
                let mut line = String::new();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                reader.read_line(&mut line).unwrap();
                let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap() <= 2 {
                        break;
                    }
                }
                let (status, body) = match pages.iter().find(|(p, _)| path == *p) {
                    Some((_, body)) => ("200 OK", body.clone()),
                    None => ("404 Not Found", String::new()),
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        base
    }

    fn options(name: &str, offline: bool) -> IndexOptions {
        let cache_dir = std::env::temp_dir().join(format!(
            "lock2build-cargo-index-test-{name}-{}",
            std::process::id()
        ));
        IndexOptions {
            jobs: 2,
            ..IndexOptions::new(cache_dir, offline)
        }
    }

    fn locked(name: &str, version: &str, sha256: &str) -> LockedCrate {
        LockedCrate {
            name: name.into(),
            version: version.into(),
            sha256: sha256.into(),
        }
    }

    #[test]
    fn entries_are_read_checked_against_the_lock_and_cached() {
        let page = concat!(
            r#"{"name":"demo","vers":"1.0.0","deps":[],"cksum":"aa","features":{},"yanked":false}"#,
            "\n",
            r#"{"name":"demo","vers":"1.1.0","deps":[{"name":"libc","req":"^0.2","features":[],"optional":false,"default_features":true,"target":"cfg(unix)","kind":"normal"}],"cksum":"bb","features":{},"yanked":false}"#,
            "\n"
        );
        let base = serve(vec![("/de/mo/demo", page.to_owned())], 3);
        let options = options("ok", false);
        let entries = index_entries(&base, &[locked("demo", "1.1.0", "bb")], &options).unwrap();
        assert_eq!(entries[0]["deps"][0]["target"], "cfg(unix)");
        // Cached: read again offline, no server needed.
        let offline = IndexOptions {
            offline: true,
            ..options.clone()
        };
        assert!(index_entries(&base, &[locked("demo", "1.0.0", "aa")], &offline).is_ok());
        // The index disagrees with the lock: refused, naming the crate.
        let err = index_entries(&base, &[locked("demo", "1.1.0", "cc")], &offline)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("demo 1.1.0: the index gives checksum \"bb\" where the lock has cc"),
            "{err}"
        );
        // A version the cached page lacks is fetched again; a crate the
        // index does not have is named.
        let err = index_entries(
            &base,
            &[locked("demo", "2.0.0", "dd"), locked("nope", "1.0.0", "ee")],
            &options,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("demo 2.0.0: the index has no such version"),
            "{err}"
        );
        assert!(err.contains("nope 1.0.0: GET "), "{err}");
        assert!(err.contains("404"), "{err}");
        let _ = std::fs::remove_dir_all(&options.cache_dir);
    }

    #[test]
    fn the_mirror_is_asked_and_an_unreachable_index_is_named_once() {
        let page =
            r#"{"name":"demo","vers":"1.0.0","deps":[],"cksum":"aa","features":{},"yanked":false}"#;
        let base = serve(vec![("/de/mo/demo", page.to_owned())], 1);
        // The lock's index does not resolve (RFC 6761); the mirror answers.
        let mut options = options("mirror", false);
        options.mirrors.add("https://index.example.invalid/", &base);
        let crates = [locked("demo", "1.0.0", "aa")];
        assert!(index_entries("https://index.example.invalid/", &crates, &options).is_ok());
        // Without it, the host is named once for every crate, at once.
        options.mirrors = Default::default();
        let crates = [
            locked("demo", "1.0.0", "aa"),
            locked("other", "1.0.0", "bb"),
            locked("third", "2.0.0", "cc"),
        ];
        let started = std::time::Instant::now();
        let err = index_entries("https://index.example.invalid/", &crates, &options)
            .unwrap_err()
            .to_string();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        let cause = "cannot resolve the host name `index.example.invalid`";
        assert_eq!(err.matches(cause).count(), 1, "{err}");
        assert!(
            err.contains("other 1.0.0") && err.contains("third 2.0.0"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&options.cache_dir);
    }

    #[test]
    fn index_paths_follow_cargo() {
        assert_eq!(index_path("a"), "1/a");
        assert_eq!(index_path("cc"), "2/cc");
        assert_eq!(index_path("syn"), "3/s/syn");
        assert_eq!(index_path("Serde"), "se/rd/serde");
    }

    #[test]
    fn sources_map_to_sparse_indexes() {
        assert_eq!(
            sparse_index(CRATES_IO).as_deref(),
            Some("https://index.crates.io/")
        );
        assert_eq!(
            sparse_index("sparse+http://127.0.0.1:8765/index").as_deref(),
            Some("http://127.0.0.1:8765/index/")
        );
        assert_eq!(
            sparse_index(&format!("registry+{CRATES_IO}")).as_deref(),
            Some("https://index.crates.io/")
        );
        assert_eq!(sparse_index("registry+https://example.com/index"), None);
    }
}
