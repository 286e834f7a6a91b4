//! [`fetch_all`]: deduplication, the offline check, and the worker pool.

use crate::download::Downloader;
use crate::progress::Progress;
use crate::types::{
    FetchError, FetchFailure, FetchOptions, FetchReport, FetchRequest, FetchedItem, FetchedVia,
    Problem,
};
use lock2build_store::Store;
use reqwest::blocking::Client;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Requests for the same file (same strongest hash), merged.
struct Group {
    key: String,
    request: FetchRequest,
    members: Vec<usize>,
}

type GroupResult = Result<(PathBuf, FetchedVia), FetchFailure>;

/// Makes every requested artifact available in `store`, downloading what
/// is missing (see the crate docs). Succeeds only if all are stored; the
/// error lists every failure (and what did succeed).
pub fn fetch_all(
    store: &Store,
    requests: &[FetchRequest],
    options: &FetchOptions,
) -> Result<FetchReport, FetchError> {
    let mut failures: Vec<(usize, FetchFailure)> = Vec::new();
    let mut groups: Vec<Group> = Vec::new();
    let mut by_key: BTreeMap<String, usize> = BTreeMap::new();
    for (index, request) in requests.iter().enumerate() {
        let key = match Store::source_key(&request.hashes) {
            Ok(key) => key,
            Err(e) => {
                failures.push((
                    index,
                    FetchFailure::Untrusted {
                        label: request.label.clone(),
                        message: e.to_string(),
                    },
                ));
                continue;
            }
        };
        match by_key.get(&key) {
            Some(&g) => {
                let group = &mut groups[g];
                group.members.push(index);
                merge(&mut group.request, request);
            }
            None => {
                by_key.insert(key.clone(), groups.len());
                groups.push(Group {
                    key,
                    request: request.clone(),
                    members: vec![index],
                });
            }
        }
    }

    let mut results: Vec<Option<GroupResult>> = groups
        .iter()
        .map(|g| {
            // Re-checked before a build uses it: a stored file that changed
            // is removed and fetched again.
            store
                .verified_source(&g.request.hashes)
                .map(|path| Ok((path, FetchedVia::Cached)))
        })
        .collect();
    let mut pending: Vec<usize> = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        if results[g].is_some() {
            continue;
        }
        if options.offline {
            let failure = FetchFailure::MissingOffline {
                label: group.request.label.clone(),
                hash: group.key.clone(),
            };
            results[g] = Some(Err(failure));
        } else if group.request.urls.is_empty() {
            results[g] = Some(Err(FetchFailure::NoUrl {
                label: group.request.label.clone(),
            }));
        } else {
            pending.push(g);
        }
    }

    if !pending.is_empty() {
        let sizes: Option<u64> = pending.iter().map(|&g| groups[g].request.size).sum();
        let progress = Progress::new(options.progress, pending.len(), sizes);
        match shared_client(options) {
            Ok(client) => {
                let reach = crate::Reachability::new();
                let downloader = Downloader {
                    client: &client,
                    store,
                    options,
                    progress: &progress,
                    reach: &reach,
                };
                let done: Mutex<Vec<(usize, GroupResult)>> = Mutex::new(Vec::new());
                let next = AtomicUsize::new(0);
                let workers = options.jobs.clamp(1, pending.len());
                std::thread::scope(|scope| {
                    for _ in 0..workers {
                        scope.spawn(|| {
                            while let Some(&g) = pending.get(next.fetch_add(1, Ordering::Relaxed)) {
                                let result = fetch_group(&downloader, &groups[g]);
                                if let Ok((path, via)) = &result {
                                    let size =
                                        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
                                    progress.done(&groups[g].request.label, via, size);
                                }
                                if let Ok(mut done) = done.lock() {
                                    done.push((g, result));
                                }
                            }
                        });
                    }
                });
                for (g, result) in done.into_inner().unwrap_or_default() {
                    results[g] = Some(result);
                }
            }
            Err(message) => {
                for &g in &pending {
                    let label = groups[g].request.label.clone();
                    let attempts = vec![(
                        String::from("(no request made)"),
                        Problem::Network(message.clone()),
                    )];
                    results[g] = Some(Err(FetchFailure::Download { label, attempts }));
                }
            }
        }
        progress.finish();
        let report_line = summary(&results);
        if !report_line.is_empty() && options.progress != crate::ProgressMode::Quiet {
            progress.note(&report_line);
        }
    }

    let mut items: Vec<(usize, FetchedItem)> = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        match results[g].take() {
            Some(Ok((path, via))) => {
                let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                for &index in &group.members {
                    let label = requests
                        .get(index)
                        .map(|r| r.label.clone())
                        .unwrap_or_default();
                    items.push((
                        index,
                        FetchedItem {
                            label,
                            path: path.clone(),
                            size,
                            via: via.clone(),
                        },
                    ));
                }
            }
            Some(Err(failure)) => {
                failures.push((group.members.first().copied().unwrap_or(0), failure))
            }
            None => {}
        }
    }
    items.sort_by_key(|(index, _)| *index);
    failures.sort_by_key(|(index, _)| *index);
    let report = FetchReport {
        items: items.into_iter().map(|(_, item)| item).collect(),
    };
    if failures.is_empty() {
        Ok(report)
    } else {
        Err(FetchError {
            failures: failures.into_iter().map(|(_, f)| f).collect(),
            fetched: report,
        })
    }
}

fn fetch_group(downloader: &Downloader<'_>, group: &Group) -> GroupResult {
    let label = || group.request.label.clone();
    let lock = downloader
        .store
        .lock_source(&group.request.hashes)
        .map_err(|e| FetchFailure::Download {
            label: label(),
            attempts: vec![(String::from("(store)"), Problem::Store(e.to_string()))],
        })?;
    // Another process may have stored it while we waited for the lock.
    if let Some(path) = downloader.store.source(&group.request.hashes) {
        return Ok((path, FetchedVia::Cached));
    }
    downloader
        .download(&group.request, &lock)
        .map_err(|attempts| FetchFailure::Download {
            label: label(),
            attempts,
        })
}

/// Adds another request for the same file: its URLs (after ours) and hashes.
fn merge(into: &mut FetchRequest, other: &FetchRequest) {
    for url in &other.urls {
        if !into.urls.contains(url) {
            into.urls.push(url.clone());
        }
    }
    for hash in &other.hashes {
        if !into.hashes.contains(hash) {
            into.hashes.push(hash.clone());
        }
    }
    if into.label != other.label && !into.label.ends_with(" (and others)") {
        into.label.push_str(" (and others)");
    }
    into.size = into.size.or(other.size);
}

/// The HTTP client of this process for `options`' timeouts and job count,
/// made once: a second fetch (the build systems after the app's wheels)
/// reuses the first one's open connections (no new TLS handshakes) and its
/// certificate store.
fn shared_client(options: &FetchOptions) -> Result<Client, String> {
    type Clients = Vec<((Duration, usize), Client)>;
    static CLIENTS: Mutex<Clients> = Mutex::new(Vec::new());
    let key = (crate::download::read_timeout(options), options.jobs.max(1));
    let mut clients = CLIENTS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, client)) = clients.iter().find(|(k, _)| *k == key) {
        return Ok(client.clone());
    }
    let client = build_client(options)?;
    clients.push((key, client.clone()));
    Ok(client)
}

fn build_client(options: &FetchOptions) -> Result<Client, String> {
    Client::builder()
        .use_rustls_tls()
        .tls_built_in_native_certs(true)
        .timeout(crate::download::read_timeout(options))
        .connect_timeout(crate::download::read_timeout(options).min(Duration::from_secs(30)))
        .pool_max_idle_per_host(options.jobs.max(1))
        .user_agent(concat!("lock2build/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot set up the HTTP client: {e}"))
}

fn summary(results: &[Option<GroupResult>]) -> String {
    let (mut files, mut bytes) = (0usize, 0u64);
    for result in results.iter().flatten() {
        if let Ok((_, FetchedVia::Downloaded { bytes: b, .. })) = result {
            files += 1;
            bytes += b;
        }
    }
    if files == 0 {
        String::new()
    } else {
        format!(
            "downloaded {files} file(s), {}",
            indicatif::HumanBytes(bytes)
        )
    }
}
