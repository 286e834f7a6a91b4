//! The Software Heritage fallback end to end: `lock2build fetch` on real
//! lockfiles whose registry answers 404 (a mirror rule sends every download
//! to a loopback server that has nothing), with a local server answering
//! like the archive's API (crates/archive/src/testing.rs).

mod common;

use common::{copy_dir, fixture, stderr, tempdir};
use lock2build_archive::testing::{Cooking, SwhServer};
use lock2build_model::Hash;
use std::path::Path;
use std::process::{Command, Output};

/// lock2build with its own store and cache, the archive at `swh`, and
/// `mirror` (a `prefix=replacement` rule) when given.
fn run(args: &[&str], root: &Path, store: &str, swh: &str, mirror: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lock2build"));
    cmd.args(args);
    if args.first() == Some(&"fetch") {
        // One download at a time: the test archive answers requests one by one.
        cmd.args(["-j", "1"]);
    }
    cmd.env("LOCK2BUILD_CACHE", root.join("cache"))
        .env("LOCK2BUILD_STORE", root.join(store))
        .env("LOCK2BUILD_SWH_URL", swh)
        .env("LOCK2BUILD_SWH_TOKEN", "test-token")
        .env_remove("LOCK2BUILD_MIRRORS");
    if let Some(rule) = mirror {
        cmd.env("LOCK2BUILD_MIRRORS", rule);
    }
    cmd.output().expect("run lock2build")
}

fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn vanished_wheels_come_back_as_their_exact_bytes() {
    let root = tempdir("archive-wheels");
    let project = root.join("project");
    copy_dir(&fixture("uv/old-uv-0.4"), &project);
    let swh = SwhServer::start();
    let dir = project.to_str().unwrap();
    // First machine: the registry has them.
    let first = json(&run(
        &["fetch", dir, "--json"],
        &root,
        "store-1",
        &swh.url,
        None,
    ));
    let items = first["items"].as_array().unwrap();
    assert!(items.len() >= 2, "{first}");
    for item in items {
        let bytes = std::fs::read(item["path"].as_str().unwrap()).unwrap();
        let name = Path::new(item["path"].as_str().unwrap())
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let hex = name.strip_prefix("sha256-").unwrap().to_owned();
        swh.add_content(&hex, None, bytes);
    }
    // Years later: files.pythonhosted.org answers 404 for all of them.
    let gone = format!("https://files.pythonhosted.org/={}/gone/", swh.url);
    let out = run(
        &["fetch", dir, "--json", "--no-archive"],
        &root,
        "store-2",
        &swh.url,
        Some(&gone),
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("404"), "{}", stderr(&out));
    let later = json(&run(
        &["fetch", dir, "--json"],
        &root,
        "store-2",
        &swh.url,
        Some(&gone),
    ));
    let recovered = later["recovered"].as_array().unwrap();
    assert_eq!(recovered.len(), items.len(), "{later}");
    assert!(recovered.iter().all(|r| r["via"]["kind"] == "content"));
    let log = swh.state.lock().unwrap().log.clone();
    assert!(log
        .iter()
        .any(|(_, p, a)| p.contains("/api/1/content/sha256:")
            && a.as_deref() == Some("Bearer test-token")));
    // A third run needs neither the registry nor the archive.
    let before = swh.state.lock().unwrap().log.len();
    let again = json(&run(
        &["fetch", dir, "--json"],
        &root,
        "store-2",
        &swh.url,
        Some(&gone),
    ));
    assert_eq!(again["downloaded"], 0);
    assert_eq!(swh.state.lock().unwrap().log.len(), before);
}

#[test]
fn vanished_npm_tarballs_come_back_as_trees_verified_by_the_recorded_hash() {
    let root = tempdir("archive-npm");
    let project = root.join("project");
    copy_dir(&fixture("npm/workspace"), &project);
    let swh = SwhServer::start();
    let dir = project.to_str().unwrap();
    let first = json(&run(
        &["fetch", dir, "--json"],
        &root,
        "store-1",
        &swh.url,
        None,
    ));
    assert_eq!(
        first["trees_recorded"].as_u64().unwrap() as usize,
        first["items"].as_array().unwrap().len(),
        "{first}"
    );
    let recorded: serde_json::Value =
        serde_json::from_slice(&std::fs::read(project.join("lock2build.trees.json")).unwrap())
            .unwrap();
    assert_eq!(recorded["version"], 1);
    // The archive holds each tarball unpacked (as its tarball loader does),
    // known by the tarball's sha512 ExtID.
    for item in first["items"].as_array().unwrap() {
        let path = Path::new(item["path"].as_str().unwrap());
        let unpacked = root.join("unpacked").join(path.file_name().unwrap());
        std::fs::create_dir_all(&unpacked).unwrap();
        let ok = Command::new("tar")
            .arg("-xzf")
            .arg(path)
            .arg("-C")
            .arg(&unpacked)
            .status()
            .unwrap();
        assert!(ok.success());
        let sri = recorded["trees"]
            .as_object()
            .unwrap()
            .keys()
            .find(|k| {
                let h = Hash::parse_sri(k).unwrap();
                std::fs::read_link(path.parent().unwrap().join(format!(
                    "{}-{}",
                    h.algorithm.as_str(),
                    h.hex()
                )))
                .map(|t| t.file_name() == path.file_name())
                .unwrap_or(false)
            })
            .unwrap_or_else(|| panic!("no recorded tree for {}", path.display()))
            .clone();
        let swhid = recorded["trees"][&sri]["swhid"].as_str().unwrap();
        swh.add_extid(
            "checksum-sha512",
            &Hash::parse_sri(&sri).unwrap().hex(),
            swhid,
        );
        swh.add_directory(swhid, &unpacked.join("package"), Cooking::Done(0));
    }
    let gone = format!("https://registry.npmjs.org/={}/gone/", swh.url);
    let later = json(&run(
        &["fetch", dir, "--json"],
        &root,
        "store-2",
        &swh.url,
        Some(&gone),
    ));
    let recovered = later["recovered"].as_array().unwrap();
    assert_eq!(
        recovered.len(),
        first["items"].as_array().unwrap().len(),
        "{later}"
    );
    assert!(
        recovered
            .iter()
            .all(|r| r["via"]["kind"] == "tree" && r["via"]["verified"] == true),
        "{later}"
    );
    // Without the recorded trees, nothing unverified is accepted.
    std::fs::remove_file(project.join("lock2build.trees.json")).unwrap();
    let out = run(
        &["fetch", dir, "--json"],
        &root,
        "store-3",
        &swh.url,
        Some(&gone),
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--allow-unverified-archive"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn archive_status_says_what_is_recoverable() {
    let root = tempdir("archive-status");
    let project = root.join("project");
    copy_dir(&fixture("uv/old-uv-0.4"), &project);
    let swh = SwhServer::start();
    let dir = project.to_str().unwrap();
    let first = json(&run(
        &["fetch", dir, "--json"],
        &root,
        "store-1",
        &swh.url,
        None,
    ));
    let one = &first["items"][0];
    let name = Path::new(one["path"].as_str().unwrap())
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    swh.add_content(name.strip_prefix("sha256-").unwrap(), None, b"x".to_vec());
    let status = json(&run(
        &["archive", "status", dir, "--json"],
        &root,
        "store-1",
        &swh.url,
        None,
    ));
    assert_eq!(status["version"], 1);
    assert_eq!(status["recoverable"], 1, "{status}");
    assert_eq!(status["total"], first["items"].as_array().unwrap().len());
    let text = run(
        &["archive", "status", dir],
        &root,
        "store-1",
        &swh.url,
        None,
    );
    assert!(
        common::stdout(&text).contains(&format!("1 of {} recoverable", status["total"])),
        "{}",
        common::stdout(&text)
    );
}

#[test]
fn archive_save_asks_for_each_git_origin_and_status_finds_the_revision() {
    let server = lock2build_git::testing::GitServer::start().unwrap();
    let root = tempdir("archive-save");
    let (project, locked, _) = common::project_with_git_dep(&server, &root);
    let swh = SwhServer::start();
    let dir = project.to_str().unwrap();
    let saved = json(&run(
        &["archive", "save", dir, "--json"],
        &root,
        "store",
        &swh.url,
        None,
    ));
    assert_eq!(saved["version"], 1);
    assert_eq!(
        saved["requests"][0]["origin"],
        server.url("dep").as_str(),
        "{saved}"
    );
    assert_eq!(saved["requests"][0]["save_request_status"], "accepted");
    assert_eq!(swh.state.lock().unwrap().saved, [server.url("dep")]);
    // Not archived yet: missing; once the revision is there: recoverable.
    let before = json(&run(
        &["archive", "status", dir, "--json"],
        &root,
        "store",
        &swh.url,
        None,
    ));
    assert_eq!(before["recoverable"], 0, "{before}");
    swh.state.lock().unwrap().revisions.push(locked.clone());
    let after = json(&run(
        &["archive", "status", dir, "--json"],
        &root,
        "store",
        &swh.url,
        None,
    ));
    assert_eq!(after["recoverable"], 1, "{after}");
    assert_eq!(after["sources"][0]["swhid"], format!("swh:1:rev:{locked}"));
}

#[test]
fn an_archive_that_cannot_be_asked_is_unknown_not_missing_nor_recoverable() {
    let root = tempdir("archive-unknown");
    let project = root.join("project");
    copy_dir(&fixture("uv/old-uv-0.4"), &project);
    let dir = project.to_str().unwrap();
    let status = json(&run(
        &["archive", "status", dir, "--json"],
        &root,
        "store",
        "http://127.0.0.1:9",
        None,
    ));
    assert_eq!(status["recoverable"], 0, "{status}");
    let sources = status["sources"].as_array().unwrap();
    assert!(
        !sources.is_empty()
            && sources
                .iter()
                .all(|s| s["found"] == "unknown" && s["error"].is_string()),
        "{status}"
    );
    let text = common::stdout(&run(
        &["archive", "status", dir],
        &root,
        "store",
        "http://127.0.0.1:9",
        None,
    ));
    assert!(text.contains("could not be asked"), "{text}");
}
