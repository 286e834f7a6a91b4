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
    let expected_sri = lock2build_model::Hash::from_hex(
        lock2build_model::HashAlgorithm::Sha256,
        &sha256_hex(&good),
    )
    .unwrap()
    .to_sri();
    assert!(
        err.contains(&expected_sri),
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
