//! Helpers shared by the CLI tests: run the binary, copy fixtures, serve a
//! PEP 691 index and files on loopback.

#![allow(dead_code)]

pub mod npm_git;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The fixed target every snapshot is made for (the CI machine's own).
pub const TARGET: &[&str] = &[
    "--python-version",
    "3.11.7",
    "--os",
    "linux",
    "--arch",
    "x86_64",
    "--libc",
    "glibc-2.36",
];

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(rel: &str) -> PathBuf {
    repo().join("fixtures").join(rel)
}

/// A fresh temporary directory under the target dir.
pub fn tempdir(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The index cache shared by tests that read PyPI (so each page is fetched once per run).
pub fn shared_cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("index-cache")
}

pub fn lock2build(args: &[&str], cache: &Path, store: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lock2build"))
        .args(args)
        .env("LOCK2BUILD_CACHE", cache)
        .env("LOCK2BUILD_STORE", store)
        .env_remove("LOCK2BUILD_MIRRORS")
        // No test asks the real Software Heritage archive.
        .env("LOCK2BUILD_SWH_URL", "http://127.0.0.1:9")
        .output()
        .expect("run lock2build")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// One response the server gives for a path.
#[derive(Clone)]
pub struct Route {
    pub content_type: String,
    pub body: Vec<u8>,
}

/// A small HTTP/1.1 server on loopback that answers GETs from a route
/// table (404 otherwise) and counts requests per path.
pub struct Server {
    pub base: String,
    pub routes: Arc<Mutex<BTreeMap<String, Route>>>,
    pub hits: Arc<Mutex<BTreeMap<String, usize>>>,
    /// When set, the `Authorization` header every request must carry (401
    /// otherwise).
    pub auth: Arc<Mutex<Option<String>>>,
}

impl Server {
    pub fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let routes: Arc<Mutex<BTreeMap<String, Route>>> = Arc::default();
        let hits: Arc<Mutex<BTreeMap<String, usize>>> = Arc::default();
        let auth: Arc<Mutex<Option<String>>> = Arc::default();
        let (r, h, a) = (routes.clone(), hits.clone(), auth.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (r, h, a) = (r.clone(), h.clone(), a.clone());
                std::thread::spawn(move || serve(stream, &r, &h, &a));
            }
        });
        Server {
            base,
            routes,
            hits,
            auth,
        }
    }

    /// Every request must carry `Authorization: <header>` from now on.
    pub fn require_auth(&self, header: &str) {
        *self.auth.lock().unwrap() = Some(header.to_owned());
    }

    pub fn route(&self, path: &str, content_type: &str, body: impl Into<Vec<u8>>) {
        self.routes.lock().unwrap().insert(
            path.to_owned(),
            Route {
                content_type: content_type.to_owned(),
                body: body.into(),
            },
        );
    }

    pub fn hits(&self) -> usize {
        self.hits.lock().unwrap().values().sum()
    }
}

fn serve(
    stream: TcpStream,
    routes: &Mutex<BTreeMap<String, Route>>,
    hits: &Mutex<BTreeMap<String, usize>>,
    auth: &Mutex<Option<String>>,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let mut content_length = 0usize;
        let mut authorization = None;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header == "\r\n" {
                break;
            }
            if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                content_length = v.trim().parse().unwrap_or(0);
            }
            if header.to_ascii_lowercase().starts_with("authorization:") {
                authorization = header.split_once(':').map(|(_, v)| v.trim().to_owned());
            }
        }
        let mut body = vec![0; content_length];
        let _ = reader.read_exact(&mut body);
        *hits.lock().unwrap().entry(path.clone()).or_default() += 1;
        let wanted = auth.lock().unwrap().clone();
        let route = routes.lock().unwrap().get(&path).cloned();
        let route = route.filter(|_| wanted.is_none() || wanted == authorization);
        let denied = wanted.is_some() && wanted != authorization;
        let response = match route {
            None if denied => b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n".to_vec(),
            Some(route) => {
                let mut r = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Length: {}\r\n\r\n",
                    route.content_type,
                    route.body.len()
                )
                .into_bytes();
                r.extend_from_slice(&route.body);
                r
            }
            None => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
        };
        if stream.write_all(&response).is_err() {
            return;
        }
    }
}

/// Replaces `path` by a shell script that runs `target` with its
/// arguments (a compiler wrapper: another binary, the same compiler).
pub fn write_wrapper(path: &Path, target: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::remove_file(path);
    std::fs::write(
        path,
        format!("#!/bin/sh\nexec {} \"$@\"\n", target.display()),
    )
    .unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// `lock2build app` tests: a copy of `fixture_rel` (without a `result`
/// link or a `target/`) and an empty store, for one test.
pub fn app_project(name: &str, fixture_rel: &str) -> (PathBuf, PathBuf) {
    let dir = tempdir(name);
    let project = dir.join("project");
    copy_dir(&fixture(fixture_rel), &project);
    let _ = std::fs::remove_file(project.join("result"));
    let _ = std::fs::remove_dir_all(project.join("target"));
    (project, dir.join("store"))
}

/// `lock2build app PROJECT --progress plain EXTRA…` with its own store.
pub fn app(project: &Path, store: &Path, extra: &[&str]) -> Output {
    let dir = project.to_str().unwrap();
    let mut args = vec!["app", dir, "--progress", "plain"];
    args.extend_from_slice(extra);
    lock2build(&args, &shared_cache(), store)
}

/// Its standard output, after checking that it succeeded.
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "lock2build failed:\n{}\n{}",
        stdout(out),
        stderr(out)
    );
    stdout(out)
}

/// A successful `--json` report.
pub fn report(out: &Output) -> serde_json::Value {
    serde_json::from_str(&ok(out)).expect("--json prints JSON")
}

/// The package names of a plan document (`lock2build plan --json`).
pub fn plan_names(plan: &serde_json::Value) -> Vec<String> {
    plan["packages"]
        .as_array()
        .unwrap_or_else(|| panic!("not a plan: {plan}"))
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

/// A JSON array of strings.
pub fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

/// Writes a project-layer override `<project>/.lock2build/overrides/
/// <ecosystem>/<name>.toml` (and makes `<name>/` beside it for patches);
/// returns the ecosystem's directory.
pub fn override_layer(project: &Path, ecosystem: &str, name: &str, toml: &str) -> PathBuf {
    let dir = project.join(".lock2build/overrides").join(ecosystem);
    std::fs::create_dir_all(dir.join(name)).unwrap();
    std::fs::write(dir.join(format!("{name}.toml")), toml).unwrap();
    dir
}

/// The store output whose name ends with `-<suffix>`.
pub fn store_output(store: &Path, suffix: &str) -> PathBuf {
    std::fs::read_dir(store.join("outputs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(&format!("-{suffix}")))
        .unwrap_or_else(|| panic!("no output named *-{suffix} in {}", store.display()))
}

/// A crate `dep` in the daemon's repository `dep`, two commits; a project
/// that depends on it by branch, locked by `cargo generate-lockfile` while
/// the branch is at the first commit.
pub fn project_with_git_dep(
    server: &lock2build_git::testing::GitServer,
    root: &Path,
) -> (std::path::PathBuf, String, String) {
    project_with_marked_git_dep(server, root, None)
}

/// [`project_with_git_dep`], the dep's tree also holding `MARKER` with
/// `marker` in it (a tree no other test has).
pub fn project_with_marked_git_dep(
    server: &lock2build_git::testing::GitServer,
    root: &Path,
    marker: Option<&str>,
) -> (std::path::PathBuf, String, String) {
    let mut files = vec![
        (
            "Cargo.toml",
            "[package]\nname = \"dep\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        ),
        ("src/lib.rs", "pub fn answer() -> u32 { 42 }\n"),
    ];
    if let Some(marker) = marker {
        files.push(("MARKER", marker));
    }
    let first = server.repo("dep", &files).unwrap();
    let project = root.join("app");
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(
        project.join("Cargo.toml"),
        format!(
            "[workspace]\n\n[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ndep = {{ git = \"{}\", branch = \"main\" }}\n",
            server.url("dep")
        ),
    )
    .unwrap();
    std::fs::write(
        project.join("src/main.rs"),
        "fn main() { println!(\"{}\", dep::answer()); }\n",
    )
    .unwrap();
    let status = Command::new("cargo")
        .arg("generate-lockfile")
        .current_dir(&project)
        .env("CARGO_HOME", root.join("cargo-home"))
        .env("CARGO_NET_GIT_FETCH_WITH_CLI", "true")
        .status()
        .unwrap();
    assert!(status.success());
    // The branch moves on after locking: the lock's commit must be used.
    let head = lock2build_git::testing::commit_files(
        &server.root().join("dep"),
        &[("src/lib.rs", "pub fn answer() -> u32 { 7 }\n")],
        "seven",
    )
    .unwrap();
    (project, first, head)
}

/// The directory a failed build's error says `--keep-failed` kept (in
/// `<store>/failed/`).
pub fn kept_build_dir(err: &str, store: &Path) -> PathBuf {
    let kept = err
        .lines()
        .find_map(|l| l.trim().strip_prefix("build directory kept at "))
        .and_then(|l| l.split(" (--keep-failed").next())
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("no kept directory in:\n{err}"));
    assert!(kept.starts_with(store.join("failed")), "{}", kept.display());
    kept
}

/// The log a build step's start line (`building LABEL — log: PATH`) names.
pub fn step_log<'a>(err: &'a str, label: &str) -> &'a str {
    let start = format!("building {label} — log: ");
    err.lines()
        .find_map(|l| l.strip_prefix(start.as_str()))
        .unwrap_or_else(|| panic!("no start line of {label} naming its log in:\n{err}"))
}

/// `lock2build graph PROJECT -o <project's parent>/graph.json` with this
/// store (and the shared index cache): the file and its document.
/// The nodes of a graph document whose recipe is of `kind`.
pub fn nodes_of_kind<'a>(graph: &'a serde_json::Value, kind: &str) -> Vec<&'a serde_json::Value> {
    graph["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["recipe"]["kind"] == kind)
        .collect()
}

pub fn graph_of(project: &Path, store: &Path) -> (PathBuf, serde_json::Value) {
    let path = project.parent().unwrap().join("graph.json");
    let out = lock2build(
        &[
            "graph",
            project.to_str().unwrap(),
            "-o",
            path.to_str().unwrap(),
        ],
        &shared_cache(),
        store,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    (path, doc)
}

/// `lock2build realise --graph GRAPH NODE --input ID=PATH… --out OUT`,
/// with a cache and store beside the graph (realise uses only a scratch
/// store of its own).
pub fn realise(
    graph: &Path,
    node: &str,
    inputs: &[(&str, &Path)],
    out: &Path,
) -> std::process::Output {
    let mut args = vec![
        "realise".to_string(),
        "--graph".into(),
        graph.display().to_string(),
        node.into(),
        "--out".into(),
        out.display().to_string(),
    ];
    for (id, path) in inputs {
        args.push("--input".into());
        args.push(format!("{id}={}", path.display()));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let root = graph.parent().unwrap();
    lock2build(&args, &root.join("cache"), &root.join("store"))
}

/// Nix is there (CI installs Debian's nix-bin); elsewhere the Nix tests say
/// they are skipped.
pub fn have_nix() -> bool {
    let found = Command::new("nix-build").arg("--version").output().is_ok();
    if !found {
        assert!(std::env::var_os("CI").is_none(), "CI must install nix-bin");
        eprintln!("nix-build not found: skipping (apt-get install nix-bin)");
    }
    found
}

/// `nix-build nix --arg graph GRAPH -A ATTR` with this lock2build, no
/// substituters (cache.nixos.org is unreachable here).
pub fn nix_build(graph: &Path, attr: &str) -> std::process::Output {
    Command::new("nix-build")
        .arg(repo().join("nix"))
        .args(["--arg", "graph"])
        .arg(graph)
        .args(["--arg", "lock2build"])
        .arg(env!("CARGO_BIN_EXE_lock2build"))
        .args(["-A", attr, "--no-out-link", "--option", "substituters", ""])
        // Builds as root, not nixbld1: the Rust nodes run root's rustup
        // toolchain, which the build users cannot read (docs/nix.md).
        .args(["--option", "build-users-group", ""])
        .output()
        .unwrap()
}
