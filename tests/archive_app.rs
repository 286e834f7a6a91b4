//! `lock2build app` when the registry has lost everything: a project built
//! once (which records its trees), then built on an empty store whose every
//! download answers 404, from a local server speaking the Software
//! Heritage API. npm tarballs come back as trees verified against
//! lock2build.trees.json; wheels and the build systems' wheels as their
//! exact bytes.

mod common;

use common::{app_project, shared_cache, stderr, stdout};
use lock2build_archive::testing::{Cooking, SwhServer};
use lock2build_model::Hash;
use std::path::Path;
use std::process::{Command, Output};

fn app(project: &Path, store: &Path, swh: &str, mirror: Option<&str>, out: &str) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lock2build"));
    cmd.args([
        "app",
        project.to_str().unwrap(),
        "--progress",
        "plain",
        // One download at a time: the test archive answers requests one by one.
        "-j",
        "1",
        "-o",
    ])
    .arg(project.join(out))
    .env("LOCK2BUILD_CACHE", shared_cache())
    .env("LOCK2BUILD_STORE", store)
    .env("LOCK2BUILD_SWH_URL", swh)
    .env("NO_COLOR", "1")
    .env_remove("LOCK2BUILD_MIRRORS");
    if let Some(rule) = mirror {
        cmd.env("LOCK2BUILD_MIRRORS", rule);
    }
    cmd.output().expect("run lock2build")
}

fn ok(out: &Output) {
    assert!(out.status.success(), "{}\n{}", stdout(out), stderr(out));
}

/// Every file of a store, by its sha256 name, as archive contents.
fn archive_every_source(store: &Path, swh: &SwhServer) -> usize {
    let mut n = 0;
    for entry in std::fs::read_dir(store.join("sources")).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(hex) = name.strip_prefix("sha256-") {
            if entry.file_type().unwrap().is_file() {
                swh.add_content(hex, None, std::fs::read(entry.path()).unwrap());
                n += 1;
            }
        }
    }
    n
}

#[test]
fn an_npm_app_builds_from_trees_recovered_from_the_archive() {
    let (project, store) = app_project("archive-app-npm", "npm/shrinkwrap");
    let swh = SwhServer::start();
    ok(&app(&project, &store, &swh.url, None, "result"));
    let recorded: serde_json::Value = serde_json::from_slice(
        &std::fs::read(project.join("lock2build.trees.json")).expect("app records the trees"),
    )
    .unwrap();
    let trees = recorded["trees"].as_object().unwrap();
    assert!(trees.len() >= 2, "{recorded}");
    // The archive holds each tarball unpacked, known by its sha512 ExtID;
    // it does not hold the tarballs' bytes.
    for (sri, tree) in trees {
        let hash = Hash::parse_sri(sri).unwrap();
        let file =
            store
                .join("sources")
                .join(format!("{}-{}", hash.algorithm.as_str(), hash.hex()));
        let unpacked = project.parent().unwrap().join("unpacked").join(hash.hex());
        std::fs::create_dir_all(&unpacked).unwrap();
        let tar = Command::new("tar")
            .arg("-xzf")
            .arg(&file)
            .arg("-C")
            .arg(&unpacked)
            .status()
            .unwrap();
        assert!(tar.success(), "{}", file.display());
        let swhid = tree["swhid"].as_str().unwrap();
        swh.add_extid("checksum-sha512", &hash.hex(), swhid);
        swh.add_directory(swhid, &unpacked.join("package"), Cooking::Done(0));
    }
    let gone = format!("https://registry.npmjs.org/={}/gone/", swh.url);
    let later = project.parent().unwrap().join("later-store");
    ok(&app(
        &project,
        &later,
        &swh.url,
        Some(&gone),
        "result-later",
    ));
    let run = Command::new(project.join("result-later/bin/shrinkwrapped-cli"))
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr(&run));
    let first = Command::new(project.join("result/bin/shrinkwrapped-cli"))
        .output()
        .unwrap();
    assert_eq!(run.stdout, first.stdout, "the same app");
    let log = swh.state.lock().unwrap().log.clone();
    assert!(
        log.iter().any(|(_, p, _)| p.contains("/vault/flat/")),
        "{log:?}"
    );
    // The same build nodes: the app output is the same store name.
    let name = |link: &str| {
        std::fs::read_link(project.join(link))
            .unwrap()
            .file_name()
            .unwrap()
            .to_owned()
    };
    assert_eq!(name("result"), name("result-later"));
}

#[test]
fn a_python_app_builds_from_wheels_recovered_from_the_archive() {
    let (project, store) = app_project("archive-app-py", "uv/old-uv-0.4");
    let swh = SwhServer::start();
    ok(&app(&project, &store, &swh.url, None, "result"));
    assert!(archive_every_source(&store, &swh) >= 2);
    let gone = format!("https://files.pythonhosted.org/={}/gone/", swh.url);
    let later = project.parent().unwrap().join("later-store");
    let out = app(&project, &later, &swh.url, Some(&gone), "result-later");
    ok(&out);
    let python = project.join("result-later/bin/python");
    let run = Command::new(python)
        .args(["-c", "import attrs, packaging; print('ok')"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&run.stdout).trim(),
        "ok",
        "{}",
        stderr(&run)
    );
    let log = swh.state.lock().unwrap().log.clone();
    assert!(
        log.iter()
            .any(|(_, p, _)| p.contains("/api/1/content/sha256:")),
        "{log:?}"
    );
    // --no-archive: the 404s stand.
    let other = project.parent().unwrap().join("third-store");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lock2build"));
    let out = cmd
        .args(["app", project.to_str().unwrap(), "--no-archive", "-o"])
        .arg(project.join("result-third"))
        .env("LOCK2BUILD_CACHE", shared_cache())
        .env("LOCK2BUILD_STORE", &other)
        .env("LOCK2BUILD_SWH_URL", &swh.url)
        .env("LOCK2BUILD_MIRRORS", &gone)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("404"), "{}", stderr(&out));
}

#[test]
fn a_cargo_app_whose_git_host_is_gone_builds_from_the_archived_revision() {
    let server = lock2build_git::testing::GitServer::start().unwrap();
    let root = common::tempdir("archive-app-git");
    let (project, locked, _) = common::project_with_git_dep(&server, &root);
    // The archive has the locked revision (as its git loader saved it).
    let bare = root.join("archived.git");
    lock2build_git::testing::git_in(
        &root,
        &[
            "clone",
            "--quiet",
            "--bare",
            server.root().join("dep").to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    )
    .unwrap();
    let swh = SwhServer::start();
    swh.add_revision(&locked, &bare, Cooking::Done(0));
    drop(server); // the git host is gone
    let store = root.join("store");
    ok(&app(&project, &store, &swh.url, None, "result"));
    let run = Command::new(project.join("result/bin/app"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&run.stdout).trim(),
        "42",
        "the locked commit, not the branch head"
    );
    let log = swh.state.lock().unwrap().log.clone();
    assert!(
        log.iter()
            .any(|(_, p, _)| p.contains(&format!("/vault/git-bare/swh:1:rev:{locked}/"))),
        "{log:?}"
    );
    // --no-archive: the host's absence is the error, naming the crate.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lock2build"));
    let out = cmd
        .args(["app", project.to_str().unwrap(), "--no-archive", "-o"])
        .arg(project.join("result-2"))
        .env("LOCK2BUILD_CACHE", shared_cache())
        .env("LOCK2BUILD_STORE", root.join("store-2"))
        .env("LOCK2BUILD_SWH_URL", &swh.url)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("crates dep 0.1.0") && stderr(&out).contains(&locked),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_cargo_app_builds_from_crates_recovered_from_the_archive() {
    let root = common::tempdir("archive-app-crate");
    let project = root.join("project");
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(
        project.join("Cargo.toml"),
        "[workspace]\n\n[package]\nname = \"crate-app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nitoa = \"=1.0.11\"\n",
    )
    .unwrap();
    std::fs::write(
        project.join("src/main.rs"),
        "fn main() { println!(\"{}\", itoa::Buffer::new().format(42u8)); }\n",
    )
    .unwrap();
    // The lock, by cargo (from crates.io's index).
    let locked = Command::new("cargo")
        .arg("generate-lockfile")
        .current_dir(&project)
        .env("CARGO_HOME", root.join("cargo-home"))
        .status()
        .unwrap();
    assert!(locked.success());
    let swh = SwhServer::start();
    let first = root.join("store-1");
    ok(&app(&project, &first, &swh.url, None, "result"));
    assert!(archive_every_source(&first, &swh) >= 1);
    // static.crates.io answers 404 for every .crate.
    let gone = format!("https://static.crates.io/={}/gone/", swh.url);
    ok(&app(
        &project,
        &root.join("store-2"),
        &swh.url,
        Some(&gone),
        "result-later",
    ));
    let run = Command::new(project.join("result-later/bin/crate-app"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&run.stdout).trim(),
        "42",
        "{}",
        stderr(&run)
    );
    let log = swh.state.lock().unwrap().log.clone();
    assert!(
        log.iter()
            .any(|(_, p, _)| p.contains("/api/1/content/sha256:")),
        "{log:?}"
    );
    assert!(
        log.iter()
            .any(|(_, p, _)| p.starts_with("/gone/crates/itoa/")),
        "the registry was asked first: {log:?}"
    );
}
