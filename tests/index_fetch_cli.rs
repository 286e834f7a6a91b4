//! URL lookup on a PEP 691 index and `lock2build fetch`, end to end,
//! against an index and file server on loopback.

mod common;

use common::*;

const WHEEL: &str = "demo-1.0-py3-none-any.whl";

/// A project whose requirements.txt pins `demo==1.0` by the hash of `locked`,
/// on an index that lists `listed` and serves `served` as the file.
fn setup(locked: &[u8], listed: &[u8], served: &[u8]) -> (Server, std::path::PathBuf) {
    let server = Server::start();
    let page = serde_json::json!({
        "meta": {"api-version": "1.1"},
        "name": "demo",
        "files": [{
            "filename": WHEEL,
            "url": format!("/files/{WHEEL}"),
            "hashes": {"sha256": sha256_hex(listed)},
            "size": listed.len(),
        }],
    });
    server.route(
        "/simple/demo/",
        "application/vnd.pypi.simple.v1+json",
        serde_json::to_vec(&page).unwrap(),
    );
    server.route(
        &format!("/files/{WHEEL}"),
        "application/octet-stream",
        served.to_vec(),
    );
    let dir = tempdir("project");
    std::fs::write(
        dir.join("requirements.txt"),
        format!(
            "--index-url {}/simple\n\ndemo==1.0 \\\n    --hash=sha256:{}\n",
            server.base,
            sha256_hex(locked)
        ),
    )
    .unwrap();
    (server, dir)
}

#[test]
fn finds_urls_by_hash_then_fetches_once() {
    let bytes = b"not really a wheel, but these are the locked bytes".to_vec();
    let (server, dir) = setup(&bytes, &bytes, &bytes);
    let cache = tempdir("cache");
    let store = tempdir("store");
    let d = dir.to_str().unwrap();

    let out = lock2build(&["plan", d, "--json"], &cache, &store);
    assert!(out.status.success(), "{}", stderr(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let node = plan["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "demo")
        .unwrap()
        .clone();
    assert_eq!(
        node["artifact"]["url"],
        format!("{}/files/{WHEEL}", server.base)
    );
    assert_eq!(node["artifact"]["filename"], WHEEL);
    assert_eq!(node["artifact"]["kind"], "wheel");

    let out = lock2build(&["fetch", d, "--progress", "plain"], &cache, &store);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("1 downloaded"), "{}", stdout(&out));
    let hits_after_first = server.hits();

    // Second run: no request at all (index page cached, file in the store).
    let out = lock2build(&["fetch", d, "--json"], &cache, &store);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        server.hits(),
        hits_after_first,
        "a second fetch must not touch the network"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["downloaded"], 0);
    let path = report["items"][0]["path"].as_str().unwrap();
    assert_eq!(
        std::fs::read(path).unwrap(),
        bytes,
        "the store holds the locked bytes"
    );

    // And offline works from the cache and store alone.
    let out = lock2build(&["fetch", d, "--offline"], &cache, &store);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_locked_hash_the_index_does_not_list_is_an_error() {
    let (_server, dir) = setup(
        b"what the lock pinned",
        b"what the index has now",
        b"what the index has now",
    );
    let out = lock2build(
        &["plan", dir.to_str().unwrap()],
        &tempdir("cache"),
        &tempdir("store"),
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("requirements.txt: demo 1.0") && err.contains("does not list"),
        "{err}"
    );
}

#[test]
fn corrupted_download_is_refused_and_nothing_is_stored() {
    let good = b"the locked bytes".to_vec();
    let (_server, dir) = setup(&good, &good, b"tampered bytes!!");
    let (cache, store) = (tempdir("cache"), tempdir("store"));
    let d = dir.to_str().unwrap();
    let out = lock2build(&["fetch", d, "--progress", "quiet"], &cache, &store);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("pypi demo 1.0"), "{err}");
    assert!(err.contains(&format!("/files/{WHEEL}")), "{err}");
    // As requirements.txt writes it: `--hash=sha256:<hex>`.
    assert!(
        err.contains(&format!(
            "hash mismatch: expected sha256:{}, got sha256:{}",
            sha256_hex(&good),
            sha256_hex(b"tampered bytes!!")
        )),
        "names the expected hash: {err}"
    );
    // Nothing entered the store: offline now fails, naming the package.
    let out = lock2build(&["fetch", d, "--offline"], &cache, &store);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("demo"), "{}", stderr(&out));
}

/// A full disk during a download is an error that says so and what to do,
/// and leaves nothing half-written in the store: the store is a 1 MiB tmpfs
/// (bubblewrap) and the locked file 3 MB.
#[test]
fn a_full_disk_is_a_clear_error_and_leaves_no_half_entry() {
    let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let (_server, dir) = setup(&bytes, &bytes, &bytes);
    let cache = tempdir("cache");
    let store = tempdir("small-store");
    let script = format!(
        "{} fetch {} --progress plain; echo \"exit=$?\"; find {} -path '*/sources/*' -type f",
        env!("CARGO_BIN_EXE_lock2build"),
        dir.display(),
        store.display()
    );
    let out = std::process::Command::new("bwrap")
        .args(["--dev-bind", "/", "/", "--size", "1048576", "--tmpfs"])
        .arg(&store)
        .args(["--", "sh", "-c", &script])
        .env("LOCK2BUILD_CACHE", &cache)
        .env("LOCK2BUILD_STORE", &store)
        .env_remove("LOCK2BUILD_MIRRORS")
        .output()
        .unwrap();
    let (text, err) = (stdout(&out), stderr(&out));
    assert!(text.starts_with("exit=1\n"), "{text}\n{err}");
    assert_eq!(text, "exit=1\n", "a stored source file is left: {text}");
    assert!(
        err.contains("No space left on device") && err.contains("help: the disk is full"),
        "{err}"
    );
}

/// `lock2build ARGS` with `env` set, and none of the caller's proxy,
/// mirror or netrc settings.
fn lock2build_env(
    args: &[&str],
    cache: &std::path::Path,
    store: &std::path::Path,
    env: &[(&str, &str)],
) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_lock2build"));
    command
        .args(args)
        .env("LOCK2BUILD_CACHE", cache)
        .env("LOCK2BUILD_STORE", store)
        .env("LOCK2BUILD_SWH_URL", "http://127.0.0.1:9")
        .env("NETRC", "/nonexistent/netrc");
    for name in [
        "LOCK2BUILD_MIRRORS",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("run lock2build")
}

/// A port on loopback that nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A project pinning `demo` and `pkg0`…`pkg{n-1}` (1.0 each) on the index
/// `index`; the server serves their pages, whose file URLs are `files`
/// (`{base}` for the server) and demo's file on the server itself.
fn many_packages(server: &Server, index: &str, n: usize, files: &str) -> std::path::PathBuf {
    let mut requirements = format!("--index-url {index}\n\n");
    let mut names = vec!["demo".to_owned()];
    names.extend((0..n).map(|i| format!("pkg{i}")));
    for name in &names {
        let bytes = format!("the bytes of {name}").into_bytes();
        let file = format!("{name}-1.0-py3-none-any.whl");
        let url = if name == "demo" {
            format!("{}/files/{file}", server.base)
        } else {
            format!("{}/{file}", files.replace("{base}", &server.base))
        };
        let page = serde_json::json!({
            "meta": {"api-version": "1.1"},
            "name": name,
            "files": [{"filename": file, "url": url, "hashes": {"sha256": sha256_hex(&bytes)}}],
        });
        server.route(
            &format!("/simple/{name}/"),
            "application/vnd.pypi.simple.v1+json",
            serde_json::to_vec(&page).unwrap(),
        );
        server.route(
            &format!("/files/{file}"),
            "application/octet-stream",
            bytes.clone(),
        );
        requirements.push_str(&format!(
            "{name}==1.0 \\\n    --hash=sha256:{}\n",
            sha256_hex(&bytes)
        ));
    }
    let dir = tempdir("many");
    std::fs::write(dir.join("requirements.txt"), requirements).unwrap();
    dir
}

/// How many lines of `text` contain `needle`.
fn lines_with(text: &str, needle: &str) -> usize {
    text.lines().filter(|l| l.contains(needle)).count()
}

#[test]
fn index_lookups_go_through_the_mirror_with_its_credentials() {
    let server = Server::start();
    // The lock's index does not resolve (RFC 6761); the mirror on loopback
    // answers only with the netrc's credentials.
    let dir = many_packages(
        &server,
        "https://pypi.example.invalid/simple",
        2,
        "{base}/files",
    );
    server.require_auth("Basic cmVhZGVyOnMzY3JldA==");
    let netrc = tempdir("netrc").join("netrc");
    std::fs::write(
        &netrc,
        "machine 127.0.0.1\n  login reader\n  password s3cret\n",
    )
    .unwrap();
    let mirror = format!(
        "https://pypi.example.invalid/simple/={}/simple/",
        server.base
    );
    let (cache, store) = (tempdir("cache"), tempdir("store"));
    let d = dir.to_str().unwrap();
    let env = [
        ("LOCK2BUILD_MIRRORS", mirror.as_str()),
        ("NETRC", netrc.to_str().unwrap()),
    ];

    let out = lock2build_env(&["plan", d, "--json"], &cache, &store, &env);
    assert!(out.status.success(), "{}", stderr(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let urls: Vec<&str> = plan["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["artifact"]["url"].as_str())
        .collect();
    assert_eq!(urls.len(), 3, "{plan}");
    assert!(urls.iter().all(|u| u.starts_with(&server.base)), "{urls:?}");
    let out = lock2build_env(&["fetch", d, "--progress", "quiet"], &cache, &store, &env);
    assert!(out.status.success(), "{}", stderr(&out));

    // Without the credentials the mirror says 401, and the error says
    // where credentials go.
    let out = lock2build_env(
        &["plan", d],
        &tempdir("cache"),
        &store,
        &[("LOCK2BUILD_MIRRORS", mirror.as_str())],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("401") && err.contains("~/.netrc"), "{err}");
    // Without the mirror, the lock's own index is named, once.
    let out = lock2build_env(&["plan", d], &tempdir("cache"), &store, &[]);
    let err = stderr(&out);
    assert_eq!(lines_with(&err, "pypi.example.invalid"), 1, "{err}");
    assert!(
        err.contains("cannot resolve the host name `pypi.example.invalid`"),
        "{err}"
    );
}

/// Two ways not to reach `host`: its name does not resolve; HTTPS_PROXY
/// names `closed`, which refuses. The environment and the cause each gives.
fn unreachable_cases(host: &str, closed: &str) -> [(Vec<(&'static str, String)>, String); 2] {
    [
        (Vec::new(), format!("cannot resolve the host name `{host}`")),
        (
            vec![("HTTPS_PROXY", format!("http://{closed}"))],
            format!("the proxy http://{closed} (from HTTPS_PROXY) refused the connection"),
        ),
    ]
}

#[test]
fn an_unreachable_index_or_file_host_or_proxy_is_named_once_for_all_packages() {
    let server = Server::start();
    let port = closed_port();
    let closed = format!("127.0.0.1:{port}");
    let (cache, store) = (tempdir("cache"), tempdir("store"));

    // The index: a name that does not resolve, then a refused port; then
    // a proxy that refuses (the name is never resolved here: the proxy would).
    let dir = many_packages(
        &server,
        "https://pypi.example.invalid/simple",
        5,
        "{base}/files",
    );
    let d = dir.to_str().unwrap();
    for (env, cause) in unreachable_cases("pypi.example.invalid", &closed) {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let started = std::time::Instant::now();
        let out = lock2build_env(&["plan", d], &cache, &store, &env);
        assert!(!out.status.success());
        let err = stderr(&out);
        assert_eq!(lines_with(&err, &cause), 1, "{err}");
        assert_eq!(err.matches("pypi.example.invalid").count(), 1, "{err}");
        assert!(
            err.contains("pkg0 1.0") && err.contains("pkg4 1.0") && err.contains("help: "),
            "{err}"
        );
        // Not retried with backoff (4 tries × 6 pages would take seconds).
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }
    let dir = many_packages(
        &server,
        &format!("http://{closed}/simple"),
        5,
        "{base}/files",
    );
    let out = lock2build_env(&["plan", dir.to_str().unwrap()], &cache, &store, &[]);
    let err = stderr(&out);
    assert_eq!(
        lines_with(&err, &format!("`{closed}` refused the connection")),
        1,
        "{err}"
    );
    assert!(
        err.contains(&format!("help: is the server at {closed} running?")),
        "{err}"
    );

    // The files: the index answers, but every file except demo's is on a
    // host that does not resolve, or behind a proxy that refuses.
    let dir = many_packages(
        &server,
        &format!("{}/simple", server.base),
        5,
        "https://files.example.invalid/packages",
    );
    let d = dir.to_str().unwrap();
    for (env, cause) in unreachable_cases("files.example.invalid", &closed) {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let out = lock2build_env(&["fetch", d, "--progress", "plain"], &cache, &store, &env);
        assert!(!out.status.success());
        let err = stderr(&out);
        assert_eq!(lines_with(&err, &cause), 1, "{err}");
        assert_eq!(lines_with(&err, "files.example.invalid"), 1, "{err}");
        assert!(!err.contains("retrying"), "{err}");
        assert!(
            err.contains("pypi pkg0 1.0") && err.contains("pypi pkg4 1.0"),
            "{err}"
        );
        assert!(
            err.contains("the store has 1 of these 6 files; `--offline` uses only those"),
            "{err}"
        );
    }
}

#[test]
fn a_corrupted_download_shows_the_hashes_as_its_lock_writes_them() {
    use lock2build_model::{Hash, HashAlgorithm};
    // Every file the plan names is served by a loopback mirror, corrupted.
    let cases = [
        // package-lock.json `integrity`: SRI, as written.
        (
            "npm/peers-legacy",
            "https://registry.npmjs.org/",
            HashAlgorithm::Sha512,
        ),
        // Cargo.lock `checksum`: bare hex.
        (
            "cargo/v2-msrv",
            "https://static.crates.io/",
            HashAlgorithm::Sha256,
        ),
    ];
    for (fixture_rel, origin, algorithm) in cases {
        let server = Server::start();
        let dir = tempdir("corrupt");
        copy_dir(&fixture(fixture_rel), &dir);
        let (cache, store) = (tempdir("cache"), tempdir("store"));
        let d = dir.to_str().unwrap();
        let out = lock2build_env(&["plan", d, "--json"], &cache, &store, &[]);
        assert!(out.status.success(), "{}", stderr(&out));
        let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut pinned = Vec::new();
        for node in plan["packages"].as_array().unwrap() {
            let Some(url) = node["artifact"]["url"].as_str() else {
                continue;
            };
            let path = url.strip_prefix(origin).unwrap();
            server.route(
                &format!("/{path}"),
                "application/octet-stream",
                b"corrupted".to_vec(),
            );
            let sri = node["artifact"]["integrity"].as_str().unwrap();
            pinned.push(Hash::parse_sri(sri).unwrap());
        }
        assert!(pinned.len() >= 3, "{plan}");
        let mirror = format!("{origin}={}/", server.base);
        let env = [("LOCK2BUILD_MIRRORS", mirror.as_str())];
        let out = lock2build_env(&["fetch", d, "--progress", "quiet"], &cache, &store, &env);
        assert!(!out.status.success());
        let err = stderr(&out);
        let lock = std::fs::read_to_string(if algorithm == HashAlgorithm::Sha512 {
            dir.join("package-lock.json")
        } else {
            dir.join("Cargo.lock")
        })
        .unwrap();
        use sha2::Digest;
        let got = match algorithm {
            HashAlgorithm::Sha512 => {
                Hash::new(algorithm, sha2::Sha512::digest(b"corrupted").to_vec()).to_sri()
            }
            _ => sha256_hex(b"corrupted"),
        };
        for hash in &pinned {
            let expected = match algorithm {
                HashAlgorithm::Sha512 => hash.to_sri(),
                _ => hash.hex(),
            };
            // Written in the lock exactly as the message shows it.
            assert!(
                lock.contains(&format!("\"{expected}\"")),
                "{expected} not in the lock"
            );
            assert!(
                err.contains(&format!("hash mismatch: expected {expected}, got {got}")),
                "{err}"
            );
        }
        if algorithm == HashAlgorithm::Sha256 {
            assert!(
                !err.contains("sha256"),
                "Cargo.lock writes no `sha256-`/`sha256:`: {err}"
            );
        }
    }
}

#[test]
fn no_network_at_all_is_said_once_as_such() {
    // bubblewrap's own network namespace: loopback only, no route out.
    let dir = tempdir("offline-machine");
    copy_dir(&fixture("npm/peers-legacy"), &dir.join("npm"));
    copy_dir(&fixture("requirements/pip-compile"), &dir.join("py"));
    let (cache, store) = (tempdir("cache"), tempdir("store"));
    for (args, what) in [
        (
            vec!["fetch", "npm", "--progress", "plain"],
            "registry.npmjs.org:443",
        ),
        (vec!["plan", "py"], "pypi.org:443"),
    ] {
        let out = std::process::Command::new("bwrap")
            .args(["--dev-bind", "/", "/", "--unshare-net", "--chdir"])
            .arg(&dir)
            .arg(env!("CARGO_BIN_EXE_lock2build"))
            .args(&args)
            .env("LOCK2BUILD_CACHE", &cache)
            .env("LOCK2BUILD_STORE", &store)
            .env("LOCK2BUILD_SWH_URL", "http://127.0.0.1:9")
            .env_remove("LOCK2BUILD_MIRRORS")
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = stderr(&out);
        let cause = format!("no network to reach `{what}`");
        assert_eq!(lines_with(&err, &cause), 1, "{err}");
        assert_eq!(lines_with(&err, "no route to any network"), 1, "{err}");
        assert!(
            err.contains("help: connect this machine to the network"),
            "{err}"
        );
        assert!(!err.contains("retrying"), "{err}");
    }
}
