//! The archive fallback against a local server that answers like the
//! Software Heritage API (crates/archive/src/testing.rs), with a registry
//! that answers 404.

use lock2build_archive::testing::{tar_gz, Cooking, SwhServer};
use lock2build_archive::{
    fetch_or_recover, find_tree, record_trees, recover_git, ArchiveConfig, ArchiveError,
    RecoveredVia, Swh, TreeFile,
};
use lock2build_fetch::{FetchOptions, FetchRequest, ProgressMode};
use lock2build_git::testing::{commit_files, git_in};
use lock2build_git::{GitOptions, GitSpec};
use lock2build_model::{Hash, HashAlgorithm};
use lock2build_store::Store;
use sha2::{Digest, Sha256, Sha512};
use std::path::Path;
use std::time::Duration;

fn config(server: &SwhServer) -> ArchiveConfig {
    ArchiveConfig {
        url: server.url.clone(),
        vault_poll: Duration::from_millis(20),
        max_rate_wait: Duration::from_secs(5),
        ..ArchiveConfig::default()
    }
}

fn options() -> FetchOptions {
    FetchOptions {
        retries: 0,
        progress: ProgressMode::Quiet,
        ..FetchOptions::default()
    }
}

fn options_with(archive: &ArchiveConfig) -> FetchOptions {
    FetchOptions {
        archive: archive.clone(),
        ..options()
    }
}

fn hashes(bytes: &[u8]) -> Vec<Hash> {
    vec![
        Hash::new(HashAlgorithm::Sha256, Sha256::digest(bytes).to_vec()),
        Hash::new(HashAlgorithm::Sha512, Sha512::digest(bytes).to_vec()),
    ]
}

fn request(server: &SwhServer, name: &str, hashes: Vec<Hash>) -> FetchRequest {
    FetchRequest {
        label: format!("npm {name} 1.0.0"),
        // The "registry" is the same loopback server: this path is a 404.
        urls: vec![format!("{}/registry/{name}-1.0.0.tgz", server.url)],
        hashes,
        size: None,
        notation: Default::default(),
    }
}

fn store(dir: &Path, name: &str) -> Store {
    Store::open(dir.join(name)).unwrap()
}

/// A package tree and its npm-style tarball (`package/…`).
fn package(dir: &Path) -> (std::path::PathBuf, Vec<u8>) {
    let tree = dir.join("pkg");
    std::fs::create_dir_all(tree.join("lib")).unwrap();
    std::fs::write(
        tree.join("package.json"),
        "{\"name\":\"left-pad\",\"version\":\"1.0.0\"}\n",
    )
    .unwrap();
    std::fs::write(tree.join("lib/index.js"), "module.exports = 1;\n").unwrap();
    (tree.clone(), tar_gz(&tree, "package"))
}

#[test]
fn exact_content_recovered_and_verified_by_the_lock_hash() {
    let server = SwhServer::start();
    let tmp = tempfile::tempdir().unwrap();
    let bytes = b"the wheel's bytes".to_vec();
    let h = hashes(&bytes);
    server.add_content(&h[0].hex(), None, bytes.clone());
    let store = store(tmp.path(), "store");
    let mut cfg = config(&server);
    cfg.token = Some("s3cret".into());
    let (report, recovered) = fetch_or_recover(
        &store,
        &[request(&server, "w", h.clone())],
        &options_with(&cfg),
        &TreeFile::default(),
    )
    .unwrap();
    assert_eq!(recovered.len(), 1);
    assert!(matches!(recovered[0].via, RecoveredVia::Content { .. }));
    assert_eq!(std::fs::read(&report.items[0].path).unwrap(), bytes);
    assert_eq!(store.source(&h).unwrap(), report.items[0].path);
    let log = server.state.lock().unwrap().log.clone();
    let raw = log
        .iter()
        .find(|(_, p, _)| p.contains("/content/sha256:"))
        .unwrap();
    assert_eq!(
        raw.2.as_deref(),
        Some("Bearer s3cret"),
        "the token is sent to the archive"
    );
    let registry = log
        .iter()
        .find(|(_, p, _)| p.starts_with("/registry/"))
        .unwrap();
    assert_eq!(
        registry.2, None,
        "the archive token never goes to the registry"
    );
}

#[test]
fn content_with_other_bytes_is_refused_and_nothing_stored() {
    let server = SwhServer::start();
    let tmp = tempfile::tempdir().unwrap();
    let h = hashes(b"original");
    server.add_content(&h[0].hex(), None, b"tampered".to_vec());
    let store = store(tmp.path(), "store");
    let err = fetch_or_recover(
        &store,
        &[request(&server, "w", h.clone())],
        &options_with(&config(&server)),
        &TreeFile::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("do not match the lock's hash"),
        "{err}"
    );
    assert!(store.source(&h).is_none());
}

/// First machine: fetch the tarball, record its tree. Later machine: the
/// registry answers 404, the archive has the tree by ExtID.
fn recorded_project(tmp: &Path, tarball: &[u8], h: &[Hash]) -> TreeFile {
    let project = tmp.join("project");
    std::fs::create_dir_all(&project).unwrap();
    let first = store(tmp, "first-store");
    let path = first.insert_source(tarball, h).unwrap();
    let added = record_trees(
        &project,
        &first,
        &[("left-pad-1.0.0.tgz".into(), h.to_vec(), path)],
    )
    .unwrap();
    assert_eq!(added, 1);
    let text = std::fs::read_to_string(project.join("lock2build.trees.json")).unwrap();
    assert!(
        text.contains("swh:1:dir:") && text.contains(&h[1].to_sri()),
        "{text}"
    );
    TreeFile::load(&project).unwrap()
}

#[test]
fn tarball_recovered_as_a_tree_through_extid_and_vault() {
    let server = SwhServer::start();
    let tmp = tempfile::tempdir().unwrap();
    let (tree, tarball) = package(tmp.path());
    let h = hashes(&tarball);
    let trees = recorded_project(tmp.path(), &tarball, &h);
    let swhid = trees.get(&h).unwrap().swhid.clone();
    server.add_extid("checksum-sha512", &h[1].hex(), &swhid);
    server.add_directory(&swhid, &tree, Cooking::Done(2));
    let later = store(tmp.path(), "later-store");
    let (_, recovered) = fetch_or_recover(
        &later,
        &[request(&server, "left-pad", h.clone())],
        &options_with(&config(&server)),
        &trees,
    )
    .unwrap();
    let RecoveredVia::Tree {
        dir,
        verified,
        swhid: got,
    } = &recovered[0].via
    else {
        panic!("{recovered:?}")
    };
    assert!(*verified);
    assert_eq!(got, &swhid);
    assert_eq!(
        std::fs::read_to_string(dir.join("lib/index.js")).unwrap(),
        "module.exports = 1;\n"
    );
    assert!(
        later.source(&h).is_none(),
        "a re-made tarball never claims the file's hash"
    );
    assert_eq!(find_tree(&later, &h).unwrap().0, *dir);
    let polls = server
        .state
        .lock()
        .unwrap()
        .polls
        .get(&swhid)
        .copied()
        .unwrap();
    assert!(polls >= 2, "the vault was polled until done ({polls})");
}

#[test]
fn a_tree_other_than_the_recorded_one_is_refused() {
    let server = SwhServer::start();
    let tmp = tempfile::tempdir().unwrap();
    let (tree, tarball) = package(tmp.path());
    let h = hashes(&tarball);
    let trees = recorded_project(tmp.path(), &tarball, &h);
    let swhid = trees.get(&h).unwrap().swhid.clone();
    // The ExtID names the recorded tree, but the vault cooks other files.
    std::fs::write(tree.join("lib/index.js"), "module.exports = 'evil';\n").unwrap();
    server.add_extid("checksum-sha512", &h[1].hex(), &swhid);
    server.add_directory(&swhid, &tree, Cooking::Done(0));
    let later = store(tmp.path(), "later-store");
    let err = fetch_or_recover(
        &later,
        &[request(&server, "left-pad", h.clone())],
        &options_with(&config(&server)),
        &trees,
    )
    .unwrap_err();
    assert!(err.to_string().contains("refusing it"), "{err}");
    assert!(find_tree(&later, &h).is_none());
    // And an ExtID naming another tree is refused before any cooking.
    let server = SwhServer::start();
    server.add_extid(
        "checksum-sha512",
        &h[1].hex(),
        "swh:1:dir:0000000000000000000000000000000000000000",
    );
    let err = fetch_or_recover(
        &later,
        &[request(&server, "left-pad", h.clone())],
        &options_with(&config(&server)),
        &trees,
    )
    .unwrap_err();
    assert!(err.to_string().contains("recorded tree is"), "{err}");
    assert!(!server
        .state
        .lock()
        .unwrap()
        .log
        .iter()
        .any(|(_, p, _)| p.contains("/vault/")));
}

#[test]
fn no_recorded_tree_is_refused_unless_allowed_and_then_marked_unverified() {
    let server = SwhServer::start();
    let tmp = tempfile::tempdir().unwrap();
    let (tree, tarball) = package(tmp.path());
    let h = hashes(&tarball);
    let swhid = "swh:1:dir:1111111111111111111111111111111111111111";
    server.add_extid("checksum-sha256", &h[0].hex(), swhid);
    server.add_directory(swhid, &tree, Cooking::Done(0));
    let later = store(tmp.path(), "store");
    let req = [request(&server, "left-pad", h.clone())];
    let err = fetch_or_recover(
        &later,
        &req,
        &options_with(&config(&server)),
        &TreeFile::default(),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("npm left-pad 1.0.0") && text.contains("--allow-unverified-archive"),
        "{text}"
    );
    let mut cfg = config(&server);
    cfg.allow_unverified = true;
    let (_, recovered) =
        fetch_or_recover(&later, &req, &options_with(&cfg), &TreeFile::default()).unwrap();
    assert!(matches!(
        recovered[0].via,
        RecoveredVia::Tree {
            verified: false,
            ..
        }
    ));
    assert!(!find_tree(&later, &h).unwrap().1);
}

#[test]
fn vault_failure_is_an_error_with_its_message() {
    let server = SwhServer::start();
    let tmp = tempfile::tempdir().unwrap();
    let (tree, tarball) = package(tmp.path());
    let h = hashes(&tarball);
    let trees = recorded_project(tmp.path(), &tarball, &h);
    let swhid = trees.get(&h).unwrap().swhid.clone();
    server.add_extid("checksum-sha512", &h[1].hex(), &swhid);
    server.add_directory(
        &swhid,
        &tree,
        Cooking::Failed("Internal error while cooking".into()),
    );
    let later = store(tmp.path(), "later");
    let err = fetch_or_recover(
        &later,
        &[request(&server, "left-pad", h)],
        &options_with(&config(&server)),
        &trees,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("Internal error while cooking"),
        "{err}"
    );
}

#[test]
fn rate_limit_waits_for_a_near_reset_and_stops_for_a_far_one() {
    let server = SwhServer::start();
    let swh = Swh::new(&config(&server)).unwrap();
    {
        let mut s = server.state.lock().unwrap();
        s.rate_limited = 1;
        s.reset_after = 1;
    }
    assert!(!swh.content_known("sha256", &"0".repeat(64)).unwrap());
    {
        let mut s = server.state.lock().unwrap();
        s.rate_limited = 1;
        s.reset_after = 3600;
    }
    let err = swh.content_known("sha256", &"0".repeat(64)).unwrap_err();
    assert!(matches!(err, ArchiveError::RateLimited { .. }));
    assert!(err.to_string().contains("LOCK2BUILD_SWH_TOKEN"), "{err}");
}

#[test]
fn a_vanished_git_commit_is_recovered_from_its_revision_and_verified() {
    let server = SwhServer::start();
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    git_in(&work, &["init", "--quiet", "-b", "main"]).unwrap();
    let commit = commit_files(
        &work,
        &[("Cargo.toml", "[package]\nname = \"dep\"\n")],
        "one",
    )
    .unwrap();
    let bare = tmp.path().join("bare.git");
    git_in(
        tmp.path(),
        &[
            "clone",
            "--quiet",
            "--bare",
            work.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    )
    .unwrap();
    server.add_revision(&commit, &bare, Cooking::Done(1));
    let store = store(tmp.path(), "store");
    let spec = GitSpec {
        label: "crates dep 0.1.0".into(),
        url: "https://git.invalid/gone/dep.git".into(),
        commit: commit.clone(),
        reference: None,
        submodules: true,
    };
    let swh = Swh::new(&config(&server)).unwrap();
    let got = recover_git(&swh, &store, &spec, &GitOptions::default()).unwrap();
    assert_eq!(got.commit, commit);
    assert!(got.dir.join("Cargo.toml").is_file());
    let found = lock2build_git::find_checkout(&store, &commit, true).unwrap();
    assert_eq!(found.tree, got.tree);
    // A revision the archive does not have.
    let mut other = spec.clone();
    other.commit = "ab".repeat(20);
    assert!(recover_git(&swh, &store, &other, &GitOptions::default()).is_err());
}

#[test]
fn a_hostile_bundle_is_refused_and_nothing_stored() {
    let server = SwhServer::start();
    let tmp = tempfile::tempdir().unwrap();
    let (_tree, tarball) = package(tmp.path());
    let h = hashes(&tarball);
    let trees = recorded_project(tmp.path(), &tarball, &h);
    let swhid = trees.get(&h).unwrap().swhid.clone();
    server.add_extid("checksum-sha512", &h[1].hex(), &swhid);
    // A bundle whose entry climbs out of the tree.
    let mut header = tar::Header::new_gnu();
    let body = b"pwned\n";
    header.set_size(body.len() as u64);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    {
        let name = &mut header.as_old_mut().name;
        let path = b"../../escaped.txt";
        name[..path.len()].copy_from_slice(path);
    }
    header.set_cksum();
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    builder.append(&header, &body[..]).unwrap();
    let evil = builder.into_inner().unwrap().finish().unwrap();
    server
        .state
        .lock()
        .unwrap()
        .bundles
        .insert(swhid.clone(), (evil, Cooking::Done(0)));
    let later = store(tmp.path(), "later");
    let err = fetch_or_recover(
        &later,
        &[request(&server, "left-pad", h.clone())],
        &options_with(&config(&server)),
        &trees,
    )
    .unwrap_err();
    assert!(err.to_string().contains("bundle is unusable"), "{err}");
    assert!(find_tree(&later, &h).is_none());
    assert!(!tmp.path().join("escaped.txt").exists());
}

#[test]
fn a_server_error_is_retried_not_sent_to_the_archive() {
    // A registry that is busy (5xx) is not "gone": no archive request.
    let server = SwhServer::start();
    let tmp = tempfile::tempdir().unwrap();
    let h = hashes(b"x");
    server.add_content(&h[0].hex(), None, b"x".to_vec());
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut s in busy.incoming().flatten() {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    let req = FetchRequest {
        label: "pypi w 1.0".into(),
        urls: vec![format!("http://127.0.0.1:{port}/w.whl")],
        hashes: h.clone(),
        size: None,
        notation: Default::default(),
    };
    let store = store(tmp.path(), "store");
    assert!(fetch_or_recover(
        &store,
        &[req],
        &options_with(&config(&server)),
        &TreeFile::default()
    )
    .is_err());
    assert!(
        server.state.lock().unwrap().log.is_empty(),
        "no archive request for a 5xx"
    );
}

#[test]
fn a_spent_limit_waits_for_its_reset_before_the_next_request() {
    let server = SwhServer::start();
    let swh = Swh::new(&config(&server)).unwrap();
    {
        let mut s = server.state.lock().unwrap();
        s.last_allowed = 1;
        s.reset_after = 2;
    }
    assert!(!swh.content_known("sha256", &"0".repeat(64)).unwrap());
    let started = std::time::Instant::now();
    assert!(!swh.content_known("sha256", &"1".repeat(64)).unwrap());
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "waited {:?}",
        started.elapsed()
    );
    // A far reset: stop before asking, naming the token variable.
    {
        let mut s = server.state.lock().unwrap();
        s.last_allowed = 1;
        s.reset_after = 3600;
    }
    assert!(!swh.content_known("sha256", &"2".repeat(64)).unwrap());
    let asked = server.state.lock().unwrap().log.len();
    let err = swh.content_known("sha256", &"3".repeat(64)).unwrap_err();
    assert!(err.to_string().contains("LOCK2BUILD_SWH_TOKEN"), "{err}");
    assert_eq!(
        server.state.lock().unwrap().log.len(),
        asked,
        "no request sent"
    );
    assert!(server
        .state
        .lock()
        .unwrap()
        .log
        .iter()
        .all(|(_, p, _)| !p.contains("/raw/")));
}

#[test]
fn an_answer_that_is_not_the_api_s_json_is_an_error_naming_the_request() {
    let server = SwhServer::start();
    let tmp = tempfile::tempdir().unwrap();
    let (_tree, tarball) = package(tmp.path());
    let h = hashes(&tarball);
    let trees = recorded_project(tmp.path(), &tarball, &h);
    server.add_extid(
        "checksum-sha512",
        &h[1].hex(),
        &trees.get(&h).unwrap().swhid,
    );
    server.state.lock().unwrap().garbage = true;
    let later = store(tmp.path(), "later");
    let err = fetch_or_recover(
        &later,
        &[request(&server, "left-pad", h.clone())],
        &options_with(&config(&server)),
        &trees,
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("not its API's JSON") && text.contains("/api/1/extid/"),
        "{text}"
    );
    assert!(find_tree(&later, &h).is_none());
}
