//! `lock2build app` on npm projects with git dependencies, end to end: the
//! dependency is a repository served by a real `git daemon` on 127.0.0.1,
//! the lock is made by real npm (`npm install git://127.0.0.1:PORT/gitdep
//! --package-lock-only`), and the dependency has a `prepare` script and a
//! `files` list, so what npm installs differs from the repository.

mod common;

use common::npm_git::{gitdep, locked_project, BUILD_JS};
use common::*;
use lock2build_git::testing::{commit_files, git_in, GitServer};
use std::path::{Path, PathBuf};
use std::process::Command;

fn lock_entry(project: &Path) -> serde_json::Value {
    let lock: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(project.join("package-lock.json")).unwrap())
            .unwrap();
    lock["packages"]["node_modules/gitdep"].clone()
}

fn run_app(project: &Path) -> String {
    let out = Command::new(project.join("result/bin/git-app"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

#[test]
fn a_git_dependency_is_checked_out_by_commit_prepared_and_packed_as_npm_does() {
    let server = GitServer::start().unwrap();
    let locked = gitdep(&server);
    let root = tempdir("npm-git");
    let project = locked_project(&root, &server.url("gitdep"));
    let entry = lock_entry(&project);
    assert_eq!(
        entry["resolved"],
        format!("{}#{locked}", server.url("gitdep"))
    );
    // The branch moves on after locking: the lock's commit is what is built.
    commit_files(
        &server.root().join("gitdep"),
        &[("build.js", BUILD_JS.replace("prepared", "HEAD").as_str())],
        "moved",
    )
    .unwrap();

    let store = root.join("store");
    let first = report(&app(&project, &store, &["--json"]));
    assert_eq!(
        strings(&first["built"]),
        ["gitdep 1.2.0 (git pack)", "node_modules", "git-app 1.0.0"]
    );
    assert_eq!(run_app(&project), "prepared gitdep: 1h\n");
    let log = std::fs::read_to_string(first["logs"]["gitdep 1.2.0 (git pack)"].as_str().unwrap())
        .unwrap();
    assert!(
        log.contains("> node build.js"),
        "prepare did not run:\n{log}"
    );
    // Laid out as `npm pack` packs it: prepare's lib/, package.json; not
    // the repository's other files.
    let laid = store_output(&store, "node-modules").join("node_modules/gitdep");
    let mut files: Vec<String> = walk_files(&laid);
    files.sort();
    assert_eq!(files, ["lib/index.js", "package.json", "target/keep.js"]);
    assert!(store_output(&store, "gitdep-git-pack")
        .join("package.tgz")
        .is_file());
    assert!(has_checkout(&store, &locked), "no checkout of {locked}");

    // Nothing changed: nothing fetched, nothing built, no server needed.
    drop(server);
    let again = report(&app(&project, &store, &["--json"]));
    assert!(strings(&again["built"]).is_empty(), "{again}");
    // A project file changed: the pack output and the tree are reused.
    std::fs::write(
        project.join("main.js"),
        "console.log('v2 ' + require(\"gitdep\")());\n",
    )
    .unwrap();
    let edited = report(&app(&project, &store, &["--json"]));
    assert_eq!(strings(&edited["built"]), ["git-app 1.0.0"]);
    assert_eq!(run_app(&project), "v2 prepared gitdep: 1h\n");
}

#[test]
fn an_unreachable_git_dependency_names_the_package_url_commit_and_what_to_do() {
    let server = GitServer::start().unwrap();
    let locked = gitdep(&server);
    let root = tempdir("npm-git-gone");
    let url = server.url("gitdep");
    let project = locked_project(&root, &url);
    drop(server);
    let out = app(&project, &root.join("store"), &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("gitdep 1.2.0"), "{err}");
    assert!(err.contains("node_modules/gitdep"), "{err}");
    assert!(err.contains(&url), "{err}");
    assert!(err.contains(&locked), "{err}");
    assert!(err.contains("help: "), "{err}");
    assert!(err.contains("--offline"), "{err}");
    assert!(!project.join("result").exists());
}

/// A lock whose gitdep entry says what npm records for a `github:` range
/// of a hosted repository: a codeload archive URL of the commit, with or
/// without `integrity`. Mirrors send github.com to the local servers.
fn codeload_project(
    root: &Path,
    server: &GitServer,
    commit: &str,
    integrity: Option<&str>,
) -> PathBuf {
    let project = locked_project(root, &server.url("gitdep"));
    let path = project.join("package-lock.json");
    let mut lock: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let entry = &mut lock["packages"]["node_modules/gitdep"];
    entry["resolved"] = format!("https://codeload.github.com/owner/gitdep/tar.gz/{commit}").into();
    if let Some(integrity) = integrity {
        entry["integrity"] = integrity.into();
    }
    std::fs::write(&path, serde_json::to_string_pretty(&lock).unwrap()).unwrap();
    project
}

#[test]
fn codeload_archives_are_fetched_by_integrity_or_checked_out_by_their_commit() {
    let server = GitServer::start().unwrap();
    let locked = gitdep(&server);
    let repo = server.root().join("gitdep");
    // GitHub's archive of the commit: one top directory `<repo>-<commit>/`.
    let archive = repo.join("archive.tar.gz");
    git_in(
        &repo,
        &[
            "archive",
            "--format=tar.gz",
            &format!("--prefix=gitdep-{locked}/"),
            "-o",
            archive.to_str().unwrap(),
            &locked,
        ],
    )
    .unwrap();
    let bytes = std::fs::read(&archive).unwrap();
    let integrity = sri_sha512(&archive);
    let http = Server::start();
    http.route(
        &format!("/owner/gitdep/tar.gz/{locked}"),
        "application/x-gzip",
        bytes,
    );

    // With integrity: the archive, verified, then prepared and packed.
    let root = tempdir("npm-codeload");
    let project = codeload_project(&root, &server, &locked, Some(&integrity));
    mirror(
        &project,
        "https://codeload.github.com/",
        &format!("{}/", http.base),
    );
    let built = report(&app(&project, &root.join("store"), &["--json"]));
    assert_eq!(run_app(&project), "prepared gitdep: 1h\n");
    assert_eq!(built["downloaded"], 2, "{built}");
    assert!(!has_checkout(&root.join("store"), &locked));

    // A wrong integrity: refused, nothing built.
    let root = tempdir("npm-codeload-bad");
    let wrong = sri_sha512(&repo.join("package.json"));
    let project = codeload_project(&root, &server, &locked, Some(&wrong));
    mirror(
        &project,
        "https://codeload.github.com/",
        &format!("{}/", http.base),
    );
    let out = app(&project, &root.join("store"), &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("gitdep"), "{}", stderr(&out));
    assert!(!project.join("result").exists());

    // Without integrity the archive is not pinned: the commit is checked
    // out from https://github.com/owner/gitdep.git (here: its mirror).
    let root = tempdir("npm-codeload-commit");
    let project = codeload_project(&root, &server, &locked, None);
    mirror(
        &project,
        "https://github.com/owner/gitdep.git",
        &server.url("gitdep"),
    );
    let archive_hits = http.hits();
    let built = report(&app(&project, &root.join("store"), &["--json"]));
    assert_eq!(run_app(&project), "prepared gitdep: 1h\n");
    assert_eq!(
        http.hits(),
        archive_hits,
        "the archive was fetched unpinned"
    );
    assert!(has_checkout(&root.join("store"), &locked), "{built}");
}

/// The project's lock2build.toml: one `[mirrors]` rule.
fn mirror(project: &Path, prefix: &str, replacement: &str) {
    std::fs::write(
        project.join("lock2build.toml"),
        format!("[mirrors]\n\"{prefix}\" = \"{replacement}\"\n"),
    )
    .unwrap();
}

/// Whether the store holds a checkout of `commit` (`<commit>[-sm]`).
fn has_checkout(store: &Path, commit: &str) -> bool {
    std::fs::read_dir(store.join("git/checkouts"))
        .map(|rd| {
            rd.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with(commit))
        })
        .unwrap_or(false)
}

/// `sha512-<base64>` of a file, computed by node.
fn sri_sha512(file: &Path) -> String {
    let out = Command::new("node")
        .args([
            "-e",
            "const c=require('crypto'),f=require('fs');console.log('sha512-'+c.createHash('sha512').update(f.readFileSync(process.argv[1])).digest('base64'))",
            file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    stdout(&out).trim().to_owned()
}

/// Every file below `dir`, relative, with `/`.
fn walk_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out
}
