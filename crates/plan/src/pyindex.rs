//! Finding the URLs that poetry.lock and requirements.txt leave out.
//!
//! Both formats pin files by hash (poetry also by file name) but not by URL.
//! For every Python package of the plan whose artifacts have no URL, the
//! package's page on its index is read through the simple API in its JSON
//! form (PEP 691: `GET <index>/<name>/` with
//! `Accept: application/vnd.pypi.simple.v1+json`), and each locked file is
//! matched by file name (poetry) or by hash (requirements.txt). The answer is
//! cached on disk (`<cache>/index/`), so a second plan needs no network;
//! the page is fetched again only when a locked file is missing from the
//! cached copy, or the copy is of an older cache format (one that did not
//! keep `requires-python`; offline, it is used as it is).
//!
//! Each file's `requires-python` (PEP 691, the `Requires-Python` of its
//! metadata) is kept: a requirements.txt records no Python range of its
//! own, so the plan checks the chosen file's against the target, as pip
//! does before it installs one.
//!
//! Pages are asked the way downloads are (`lock2build-fetch`): through the
//! configured mirrors (the mirror's page is what is asked and cached), with
//! the credentials of the environment and netrc; a host that cannot be
//! reached ([`Unreachable`]) is not asked again, and the plan names the
//! cause once for every package on it.
//!
//! A locked file the index lists with another hash is an error naming the
//! package: nothing is guessed. One it does not list at all is an error
//! too ([`resolve_urls`]), or, for the plan ([`resolve_urls_lenient`]),
//! only when it is the artifact chosen for the target.

use anyhow::{anyhow, Context, Result};
use lock2build_model::{Artifact, ArtifactKind, Graph, Hash, HashAlgorithm, PackageIndex, Source};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use lock2build_fetch::{redact_url, Credentials, MirrorConfig, Reachability, Unreachable};

/// One file of an index page, as cached.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IndexFile {
    /// File name.
    pub filename: String,
    /// Absolute URL.
    pub url: String,
    /// Hashes the index gives, `algo -> hex`.
    pub hashes: BTreeMap<String, String>,
    /// Size in bytes, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The file's `requires-python`, if the index gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_python: Option<String>,
}

/// The format of a cached page: 1 keeps each file's `requires-python`
/// (pages written before have no `version`: 0).
const CACHE_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
struct CachedPage {
    #[serde(default)]
    version: u32,
    url: String,
    files: Vec<IndexFile>,
}

/// How to reach the indexes.
#[derive(Debug, Clone)]
pub struct IndexOptions {
    /// Where pages are cached.
    pub cache_dir: PathBuf,
    /// Never use the network; fail when the cache lacks an answer.
    pub offline: bool,
    /// Parallel requests.
    pub jobs: usize,
    /// URL rewriting, the same as for downloads: a page is asked of the
    /// mirror its URL rewrites to.
    pub mirrors: MirrorConfig,
    /// Credentials by host, the same as for downloads (environment, netrc).
    pub credentials: Credentials,
}

impl IndexOptions {
    /// Caching in `cache_dir`, 8 requests at a time, no mirror, no
    /// credentials.
    pub fn new(cache_dir: PathBuf, offline: bool) -> IndexOptions {
        IndexOptions {
            cache_dir,
            offline,
            jobs: 8,
            mirrors: MirrorConfig::default(),
            credentials: Credentials::default(),
        }
    }

    /// Mirrors of the user's config, `<project_dir>/lock2build.toml` and
    /// `LOCK2BUILD_MIRRORS`, and the credentials of the environment and
    /// netrc: what `lock2build fetch` reads. A file (a PEP 723 script)
    /// stands for its directory.
    pub fn with_network_config(mut self, project_dir: Option<&Path>) -> Result<IndexOptions> {
        let dir = project_dir.map(|d| match d.is_file() {
            true => d.parent().unwrap_or(Path::new(".")),
            false => d,
        });
        self.mirrors = MirrorConfig::load(dir).map_err(|e| anyhow!("{e}"))?;
        self.credentials = Credentials::load();
        Ok(self)
    }
}

/// Counts of what a lookup did, for the summary.
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct LookupStats {
    /// Pages read from the disk cache.
    pub cached: usize,
    /// Pages fetched from an index.
    pub fetched: usize,
}

/// The default cache directory: `$LOCK2BUILD_CACHE`, else
/// `$XDG_CACHE_HOME/lock2build`, else `~/.cache/lock2build`.
pub fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("LOCK2BUILD_CACHE") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("lock2build");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    home.join(".cache").join("lock2build")
}

/// The HTTP client index lookups use: lock2build's user agent, a 60 s
/// timeout.
pub(crate) fn http_client() -> Result<reqwest::blocking::Client> {
    reqwest::blocking::Client::builder()
        .user_agent(concat!("lock2build/", env!("CARGO_PKG_VERSION")))
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .context("cannot set up the HTTP client")
}

fn page_url(index: &str, name: &str) -> String {
    format!("{}/{}/", index.trim_end_matches('/'), name)
}

fn cache_path(cache_dir: &Path, url: &str) -> PathBuf {
    let digest = hex::encode(Sha256::digest(url.as_bytes()));
    cache_dir
        .join("index")
        .join(format!("{}.json", &digest[..32]))
}

/// Reads pages through the disk cache.
pub struct IndexClient {
    options: IndexOptions,
    /// Made at the first page not in the cache (a client loads the
    /// system's certificates and starts a thread: most plans need none).
    http: std::sync::OnceLock<reqwest::blocking::Client>,
    stats: Mutex<LookupStats>,
    /// Index hosts found unreachable: not asked again.
    reach: Reachability,
}

impl IndexClient {
    /// A client.
    pub fn new(options: IndexOptions) -> Result<Self> {
        Ok(IndexClient {
            options,
            http: std::sync::OnceLock::new(),
            stats: Mutex::new(LookupStats::default()),
            reach: Reachability::new(),
        })
    }

    /// What was read from cache and from the network so far.
    pub fn stats(&self) -> LookupStats {
        *self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the disk cache has a copy of `name`'s page on `index`.
    pub fn has_cached(&self, index: &str, name: &str) -> bool {
        let url = self.options.mirrors.rewrite(&page_url(index, name));
        cache_path(&self.options.cache_dir, &url).is_file()
    }

    /// The files of `name` on `index`; `refresh` skips the cache.
    pub fn page(&self, index: &str, name: &str, refresh: bool) -> Result<Vec<IndexFile>> {
        // What is asked (and cached) is the mirror's page, when one is set.
        let url = self.options.mirrors.rewrite(&page_url(index, name));
        let cache = cache_path(&self.options.cache_dir, &url);
        if !refresh {
            if let Ok(text) = std::fs::read_to_string(&cache) {
                if let Ok(page) = serde_json::from_str::<CachedPage>(&text) {
                    let current = page.version >= CACHE_VERSION || self.options.offline;
                    if page.url == url && current {
                        self.stats.lock().unwrap_or_else(|e| e.into_inner()).cached += 1;
                        return Ok(page.files);
                    }
                }
            }
        }
        if self.options.offline {
            return Err(anyhow!(
                "{} is not in the index cache and --offline forbids the network",
                redact_url(&url)
            ));
        }
        let http = match self.http.get() {
            Some(http) => http,
            None => {
                let made = http_client()?;
                self.http.get_or_init(|| made)
            }
        };
        if let Some(known) = self.reach.known(&url) {
            return Err(known.into());
        }
        let files = fetch_page(http, &url, &self.options.credentials, &self.reach)?;
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).fetched += 1;
        let page = CachedPage {
            version: CACHE_VERSION,
            url: url.clone(),
            files,
        };
        write_atomic(&cache, &serde_json::to_vec(&page)?)
            .with_context(|| format!("cannot write the index cache {}", cache.display()))?;
        Ok(page.files)
    }
}

/// The most an index answer may be: PyPI's largest project pages are tens
/// of MiB; an endless answer stops here instead of filling memory.
pub const MAX_INDEX_ANSWER: u64 = 128 << 20;

/// The body of an index answer as text, refusing one past
/// [`MAX_INDEX_ANSWER`].
pub(crate) fn read_bounded(response: reqwest::blocking::Response, url: &str) -> Result<String> {
    read_at_most(response, url, MAX_INDEX_ANSWER)
}

fn read_at_most(response: reqwest::blocking::Response, url: &str, limit: u64) -> Result<String> {
    use std::io::Read;
    let mut body = Vec::new();
    response
        .take(limit + 1)
        .read_to_end(&mut body)
        .with_context(|| format!("GET {url}: reading the body"))?;
    if body.len() as u64 > limit {
        return Err(anyhow!(
            "GET {url}: the answer is larger than {limit} bytes; not an index page"
        ));
    }
    String::from_utf8(body).map_err(|_| anyhow!("GET {url}: the answer is not UTF-8 text"))
}

/// Fetches one PEP 691 page, with a few retries on network errors and 5xx.
/// A host that cannot be reached fails at once ([`Unreachable`], which
/// the caller can downcast to).
fn fetch_page(
    http: &reqwest::blocking::Client,
    url: &str,
    credentials: &Credentials,
    reach: &Reachability,
) -> Result<Vec<IndexFile>> {
    #[derive(Deserialize)]
    struct Page {
        files: Vec<PageFile>,
    }
    #[derive(Deserialize)]
    struct PageFile {
        filename: String,
        url: String,
        #[serde(default)]
        hashes: BTreeMap<String, String>,
        #[serde(default)]
        size: Option<u64>,
        #[serde(default, rename = "requires-python")]
        requires_python: Option<String>,
    }
    let mut last_error = None;
    for attempt in 0..4 {
        if attempt > 0 {
            std::thread::sleep(std::time::Duration::from_millis(250 << attempt));
        }
        let request = http
            .get(url)
            .header("Accept", "application/vnd.pypi.simple.v1+json");
        let request = credentials.authorize(request, url);
        let url = redact_url(url);
        let url = url.as_str();
        let response = match request.send() {
            Ok(r) => r,
            Err(e) => {
                if let Some(cause) = reach.check(&e, url) {
                    return Err(cause.into());
                }
                last_error = Some(anyhow!("GET {url}: {}", e.without_url()));
                continue;
            }
        };
        let status = response.status();
        if status.is_server_error() {
            last_error = Some(anyhow!("GET {url}: {status}"));
            continue;
        }
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(anyhow!("GET {url}: 404, the index has no such project"));
        }
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(anyhow!(
                "GET {url}: {status}; set credentials for its host in LOCK2BUILD_AUTH_<HOST> or ~/.netrc"
            ));
        }
        if !status.is_success() {
            return Err(anyhow!("GET {url}: {status}"));
        }
        let base = response.url().clone();
        let is_json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("json"));
        if !is_json {
            return Err(anyhow!(
                "GET {url}: the index did not answer in the PEP 691 JSON form; lock2build needs an index that supports it (PyPI, devpi, Artifactory and uv's indexes do)"
            ));
        }
        let body = read_bounded(response, url)?;
        let page: Page = serde_json::from_str(&body)
            .with_context(|| format!("GET {url}: not a PEP 691 page"))?;
        return page
            .files
            .into_iter()
            .map(|f| {
                let absolute = base
                    .join(&f.url)
                    .with_context(|| format!("bad file URL `{}` on {url}", f.url))?;
                let mut absolute = absolute.to_string();
                // The hash fragment is ours to check, not part of the address.
                if let Some(i) = absolute.find('#') {
                    absolute.truncate(i);
                }
                Ok(IndexFile {
                    filename: f.filename,
                    url: absolute,
                    hashes: f.hashes,
                    size: f.size,
                    requires_python: f.requires_python.filter(|r| !r.trim().is_empty()),
                })
            })
            .collect();
    }
    Err(last_error.unwrap_or_else(|| anyhow!("GET {url} failed")))
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

fn index_hash(file: &IndexFile, algorithm: HashAlgorithm) -> Option<Hash> {
    let hex = file.hashes.get(algorithm.as_str())?;
    Hash::from_hex(algorithm, hex).ok()
}

/// Does `file` carry one of `locked`? `None` when the index gives no hash
/// we can compare.
fn file_matches(file: &IndexFile, locked: &[Hash]) -> Option<bool> {
    let mut comparable = false;
    for h in locked {
        if let Some(theirs) = index_hash(file, h.algorithm) {
            comparable = true;
            if &theirs == h {
                return Some(true);
            }
        }
    }
    comparable.then_some(false)
}

/// Locked files the index no longer lists, by package and position in its
/// artifacts: the message naming each (the artifact is kept, without URL).
pub type Unlisted = BTreeMap<(PackageIndex, usize), String>;

/// What the index said about the files it filled in, for the plan to
/// check once it has chosen one per package.
#[derive(Debug, Default)]
pub struct IndexAnswers {
    /// Locked files it does not list.
    pub unlisted: Unlisted,
    /// The `requires-python` of the files it lists, by package and
    /// position in its artifacts.
    pub requires_python: BTreeMap<(PackageIndex, usize), String>,
}

/// Fills in URLs (and, for requirements.txt, file names and kinds) of the
/// given packages of `graph` from their index pages. A locked file the
/// index does not list is an error.
pub fn resolve_urls(
    graph: &mut Graph,
    packages: &[PackageIndex],
    client: &IndexClient,
) -> Result<()> {
    let unlisted = resolve_urls_lenient(graph, packages, client)?.unlisted;
    if unlisted.is_empty() {
        Ok(())
    } else {
        Err(anyhow!(
            "{}",
            unlisted.into_values().collect::<Vec<_>>().join("\n")
        ))
    }
}

/// As [`resolve_urls`], but a locked file the index no longer lists is
/// kept without a URL and returned, so that only the artifact a plan
/// chooses has to be there (a lock lists every wheel of a version; an
/// index may have deleted some since). The files' `requires-python` are
/// returned with them.
pub fn resolve_urls_lenient(
    graph: &mut Graph,
    packages: &[PackageIndex],
    client: &IndexClient,
) -> Result<IndexAnswers> {
    let mut answers = IndexAnswers::default();
    let lockfile = graph.lockfile.display().to_string();
    let todo: Vec<PackageIndex> = packages
        .iter()
        .copied()
        .filter(|&i| {
            let p = graph.package(i);
            matches!(p.source, Source::Registry { .. })
                && p.artifacts.iter().any(|a| a.url.is_none())
        })
        .collect();
    if todo.is_empty() {
        return Ok(answers);
    }
    // Fetch pages in parallel, bounded.
    let pages: Mutex<BTreeMap<PackageIndex, Result<Vec<IndexFile>>>> = Mutex::new(BTreeMap::new());
    let next = Mutex::new(0usize);
    let jobs = client.options.jobs.clamp(1, 16).min(todo.len());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let i = {
                    let mut n = next.lock().unwrap_or_else(|e| e.into_inner());
                    let i = *n;
                    *n += 1;
                    i
                };
                let Some(&index) = todo.get(i) else { break };
                let package = graph.package(index);
                let Source::Registry { url } = &package.source else {
                    continue;
                };
                let needs = package.artifacts.clone();
                let mut result = client.page(url, &package.name, false);
                if let Ok(files) = &result {
                    let lookup = PageLookup::new(files);
                    if !needs.iter().all(|a| lookup.find(a).is_some()) && !client.options.offline {
                        result = client.page(url, &package.name, true);
                    }
                }
                pages
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(index, result);
            });
        }
    });
    let pages = pages.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut errors = Vec::new();
    // Packages whose index cannot be reached, by cause: named once.
    let mut unreachable: BTreeMap<Unreachable, Vec<String>> = BTreeMap::new();
    let mut cached = 0;
    for (index, result) in pages {
        let package = &mut graph.packages[index.0];
        let files = match result {
            Ok(files) => files,
            Err(e) if e.downcast_ref::<Unreachable>().is_some() => {
                if let Some(cause) = e.downcast_ref::<Unreachable>() {
                    let names = unreachable.entry(cause.clone()).or_default();
                    names.push(format!("{} {}", package.name, package.version));
                }
                if let Source::Registry { url } = &package.source {
                    cached += usize::from(client.has_cached(url, &package.name));
                }
                continue;
            }
            Err(e) => {
                errors.push(format!(
                    "{lockfile}: {} {}: {e:#}",
                    package.name, package.version
                ));
                continue;
            }
        };
        let lookup = PageLookup::new(&files);
        let mut resolved = Vec::new();
        for (position, artifact) in package.artifacts.iter().enumerate() {
            if artifact.url.is_some() {
                resolved.push(artifact.clone());
                continue;
            }
            match lookup.find(artifact) {
                Some(Ok(file)) => {
                    if let Some(range) = &file.requires_python {
                        answers
                            .requires_python
                            .insert((index, position), range.clone());
                    }
                    resolved.push(Artifact {
                    kind: ArtifactKind::python_from_filename(&file.filename),
                    filename: Some(file.filename.clone()),
                    url: Some(file.url.clone()),
                    hashes: artifact.hashes.clone(),
                    size: artifact.size.or(file.size),
                    })
                }
                Some(Err(theirs)) => errors.push(format!(
                    "{lockfile}: {} {}: the index lists {} with {theirs}, but the lock pins {}; the file changed on the index or the lock was edited: re-lock, or investigate before trusting either",
                    package.name,
                    package.version,
                    artifact.filename.as_deref().unwrap_or("the file"),
                    artifact.hashes.iter().map(|h| h.to_string()).collect::<Vec<_>>().join(", ")
                )),
                None => {
                    answers.unlisted.insert((index, position), format!(
                        "{lockfile}: {} {}: the index does not list the locked file {} — it may have been deleted from the index; re-lock, or set a mirror that still has it (LOCK2BUILD_MIRRORS, or [mirrors] in lock2build.toml)",
                        package.name,
                        package.version,
                        match &artifact.filename {
                            Some(f) => f.clone(),
                            None => artifact.hashes.iter().map(|h| h.to_string()).collect::<Vec<_>>().join(" / "),
                        }
                    ));
                    resolved.push(artifact.clone());
                }
            }
        }
        package.artifacts = resolved;
    }
    if !unreachable.is_empty() {
        errors.push(unreachable_message(&lockfile, &unreachable, cached));
    }
    if errors.is_empty() {
        Ok(answers)
    } else {
        Err(anyhow!("{}", errors.join("\n")))
    }
}

/// One line per cause of the index pages that could not be asked for,
/// with what to do; the index cache has older copies of `cached` of them.
fn unreachable_message(
    lockfile: &str,
    unreachable: &BTreeMap<Unreachable, Vec<String>>,
    cached: usize,
) -> String {
    let mut lines = Vec::new();
    let mut helps: Vec<String> = Vec::new();
    for (cause, names) in unreachable {
        let shown: Vec<&str> = names.iter().take(6).map(String::as_str).collect();
        let more = match names.len().saturating_sub(6) {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        lines.push(format!(
            "{lockfile}: {cause}: the index pages of {}{more} could not be read",
            shown.join(", ")
        ));
        let help = format!("  help: {}", cause.help());
        if !helps.contains(&help) {
            helps.push(help);
        }
    }
    if cached > 0 {
        let pages: usize = unreachable.values().map(Vec::len).sum();
        helps.push(format!(
            "  help: the index cache has an older copy of {cached} of these {pages} pages; `--offline` plans from the cache alone"
        ));
    }
    lines.extend(helps);
    lines.join("\n")
}

/// A page's files, looked up by file name and by digest.
struct PageLookup<'f> {
    files: &'f [IndexFile],
    by_name: HashMap<&'f str, usize>,
    by_digest: HashMap<(String, String), usize>,
}

impl<'f> PageLookup<'f> {
    fn new(files: &'f [IndexFile]) -> Self {
        let mut by_name = HashMap::with_capacity(files.len());
        let mut by_digest = HashMap::with_capacity(files.len());
        for (i, f) in files.iter().enumerate() {
            by_name.insert(f.filename.as_str(), i);
            for (algo, hex) in &f.hashes {
                by_digest.insert((algo.to_ascii_lowercase(), hex.to_ascii_lowercase()), i);
            }
        }
        PageLookup {
            files,
            by_name,
            by_digest,
        }
    }

    /// Finds the index file for a locked artifact: by file name when the
    /// lock has one (then the hash must agree), else by hash.
    /// `Some(Err(hashes))` when the name matches but the index's hash differs.
    fn find(&self, artifact: &Artifact) -> Option<Result<&'f IndexFile, String>> {
        match &artifact.filename {
            Some(name) => {
                let file = &self.files[*self.by_name.get(name.as_str())?];
                match file_matches(file, &artifact.hashes) {
                    Some(false) => Some(Err(file
                        .hashes
                        .iter()
                        .map(|(a, h)| format!("{a}:{h}"))
                        .collect::<Vec<_>>()
                        .join(", "))),
                    _ => Some(Ok(file)),
                }
            }
            None => artifact
                .hashes
                .iter()
                .find_map(|h| {
                    self.by_digest
                        .get(&(h.algorithm.as_str().to_owned(), h.hex()))
                })
                .map(|&i| Ok(&self.files[i])),
        }
    }
}

/// One-off lookup (tests).
#[cfg(test)]
fn find_file<'f>(
    files: &'f [IndexFile],
    artifact: &Artifact,
) -> Option<Result<&'f IndexFile, String>> {
    PageLookup::new(files).find(artifact)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_answer_stops_at_the_limit() {
        use std::io::Write;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/simple/x/", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            if let Ok((mut stream, _)) = listener.accept() {
                let mut request = [0u8; 1024];
                let _ = std::io::Read::read(&mut stream, &mut request);
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
                let chunk = vec![b' '; 64 * 1024];
                while stream.write_all(&chunk).is_ok() {}
            }
        });
        let response = reqwest::blocking::get(&url).unwrap();
        let error = read_at_most(response, &url, 1 << 20)
            .unwrap_err()
            .to_string();
        assert!(error.contains("larger than 1048576 bytes"), "{error}");
    }

    fn file(name: &str, sha: &str) -> IndexFile {
        IndexFile {
            filename: name.into(),
            url: format!("https://files.example/{name}"),
            hashes: [("sha256".to_string(), sha.to_string())].into(),
            size: None,
            requires_python: None,
        }
    }

    #[test]
    fn matches_by_name_and_hash() {
        let a = "a".repeat(64);
        let b = "b".repeat(64);
        let files = vec![file("x-1.tar.gz", &a), file("x-1-py3-none-any.whl", &b)];
        let by_name = Artifact {
            kind: ArtifactKind::Sdist,
            filename: Some("x-1.tar.gz".into()),
            url: None,
            hashes: vec![Hash::from_hex(HashAlgorithm::Sha256, &a).unwrap()],
            size: None,
        };
        assert_eq!(
            find_file(&files, &by_name).unwrap().unwrap().filename,
            "x-1.tar.gz"
        );
        let wrong = Artifact {
            hashes: vec![Hash::from_hex(HashAlgorithm::Sha256, &b).unwrap()],
            ..by_name.clone()
        };
        assert!(find_file(&files, &wrong).unwrap().is_err());
        let by_hash = Artifact {
            kind: ArtifactKind::Archive,
            filename: None,
            ..wrong
        };
        assert_eq!(
            find_file(&files, &by_hash).unwrap().unwrap().filename,
            "x-1-py3-none-any.whl"
        );
        let missing = Artifact {
            filename: Some("x-2.tar.gz".into()),
            ..by_name
        };
        assert!(find_file(&files, &missing).is_none());
    }
}
