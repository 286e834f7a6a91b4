//! Git sources against a real `git daemon` on 127.0.0.1 and `file://`
//! repositories made here.

use lock2build_git::testing::{commit_files, git_in, GitServer};
use lock2build_git::{checkout, find_checkout, tree_id_of_dir, GitError, GitOptions, GitSpec};
use lock2build_store::Store;
use std::path::Path;

fn spec(url: &str, commit: &str) -> GitSpec {
    GitSpec {
        label: "crates demo 0.1.0".into(),
        url: url.into(),
        commit: commit.into(),
        reference: None,
        submodules: false,
    }
}

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    (dir, store)
}

#[test]
fn fetches_the_locked_commit_not_the_branch_head() {
    let server = GitServer::start().unwrap();
    let first = server
        .repo(
            "demo",
            &[
                ("Cargo.toml", "[package]\nname = \"demo\"\n"),
                ("src/lib.rs", "// one\n"),
            ],
        )
        .unwrap();
    let head = commit_files(
        &server.root().join("demo"),
        &[("src/lib.rs", "// two\n")],
        "two",
    )
    .unwrap();
    assert_ne!(first, head);
    let (_t, store) = store();
    let got = checkout(
        &store,
        &spec(&server.url("demo"), &first),
        &GitOptions::default(),
    )
    .unwrap();
    assert!(got.fetched);
    assert_eq!(got.commit, first);
    assert_eq!(
        std::fs::read_to_string(got.dir.join("src/lib.rs")).unwrap(),
        "// one\n"
    );
    assert!(!got.dir.join(".git").exists(), "no .git in the store");
    let expected_tree = git_in(
        &server.root().join("demo"),
        &["rev-parse", &format!("{first}^{{tree}}")],
    )
    .unwrap();
    assert_eq!(got.tree, expected_tree);
    assert!(
        got.nar_sha256.starts_with("sha256-") && got.nar_sha256.len() == 51,
        "{}",
        got.nar_sha256
    );
    // read-only, as every store entry
    let meta = std::fs::metadata(got.dir.join("src/lib.rs")).unwrap();
    assert!(meta.permissions().readonly());
}

#[test]
fn second_fetch_and_offline_use_the_store() {
    let server = GitServer::start().unwrap();
    let commit = server.repo("demo", &[("a.txt", "a\n")]).unwrap();
    let (_t, store) = store();
    let first = checkout(
        &store,
        &spec(&server.url("demo"), &commit),
        &GitOptions::default(),
    )
    .unwrap();
    drop(server); // the host is gone
    let offline = GitOptions {
        offline: true,
        ..GitOptions::default()
    };
    let again = checkout(&store, &spec("git://127.0.0.1:1/demo", &commit), &offline).unwrap();
    assert!(!again.fetched);
    assert_eq!(again.tree, first.tree);
    assert_eq!(again.nar_sha256, first.nar_sha256);
    assert_eq!(
        find_checkout(&store, &commit, false).unwrap().dir,
        first.dir
    );
}

#[test]
fn offline_without_the_commit_is_an_error_naming_it() {
    let (_t, store) = store();
    let commit = "0123456789abcdef0123456789abcdef01234567";
    let offline = GitOptions {
        offline: true,
        ..GitOptions::default()
    };
    let err = checkout(
        &store,
        &spec("https://git.invalid/demo.git", commit),
        &offline,
    )
    .unwrap_err();
    assert!(matches!(err, GitError::Offline { .. }));
    let text = err.to_string();
    assert!(
        text.contains(commit)
            && text.contains("crates demo 0.1.0")
            && text.contains("without --offline"),
        "{text}"
    );
}

#[test]
fn unreachable_host_names_package_url_commit_and_what_to_do() {
    let (_t, store) = store();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let commit = "0123456789abcdef0123456789abcdef01234567";
    let url = format!("git://127.0.0.1:{port}/gone");
    let err = checkout(&store, &spec(&url, commit), &GitOptions::default()).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, GitError::Unreachable { .. }), "{text}");
    assert!(
        text.contains(&url)
            && text.contains(commit)
            && text.contains("--offline")
            && text.contains("insteadOf"),
        "{text}"
    );
    assert!(!store.root().join("git/checkouts").join(commit).exists());
}

#[test]
fn a_commit_the_repository_does_not_have_is_refused_and_nothing_stored() {
    let server = GitServer::start().unwrap();
    server.repo("demo", &[("a.txt", "a\n")]).unwrap();
    let (_t, store) = store();
    let missing = "89abcdef0123456789abcdef0123456789abcdef";
    let err = checkout(
        &store,
        &spec(&server.url("demo"), missing),
        &GitOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, GitError::CommitMissing { .. }), "{err}");
    assert!(find_checkout(&store, missing, false).is_none());
    let leftovers: Vec<_> = std::fs::read_dir(store.root().join("tmp"))
        .unwrap()
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_short_or_branch_reference_is_not_a_commit() {
    let (_t, store) = store();
    for bad in ["main", "abc123", "refs/heads/main"] {
        let err = checkout(
            &store,
            &spec("file:///nowhere", bad),
            &GitOptions::default(),
        )
        .unwrap_err();
        assert!(matches!(err, GitError::NotACommit { .. }), "{bad}: {err}");
    }
}

#[test]
fn file_urls_and_a_commit_reachable_only_from_a_tag() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("r");
    std::fs::create_dir_all(&repo).unwrap();
    git_in(&repo, &["init", "--quiet", "-b", "main"]).unwrap();
    let tagged = commit_files(&repo, &[("v.txt", "1\n")], "v1").unwrap();
    git_in(&repo, &["tag", "v1"]).unwrap();
    git_in(&repo, &["reset", "--quiet", "--hard", "HEAD"]).unwrap();
    git_in(&repo, &["checkout", "--quiet", "--orphan", "other"]).unwrap();
    git_in(&repo, &["rm", "-rfq", "."]).unwrap();
    commit_files(&repo, &[("w.txt", "2\n")], "other").unwrap();
    git_in(&repo, &["branch", "-D", "main"]).unwrap();
    let (_t, store) = store();
    let url = format!("file://{}", repo.display());
    let got = checkout(&store, &spec(&url, &tagged), &GitOptions::default()).unwrap();
    assert_eq!(
        std::fs::read_to_string(got.dir.join("v.txt")).unwrap(),
        "1\n"
    );
}

#[test]
fn line_ending_attributes_do_not_change_the_files() {
    let server = GitServer::start().unwrap();
    let commit = server
        .repo(
            "crlf",
            &[
                (".gitattributes", "* text=auto eol=crlf\n"),
                ("a.txt", "one\ntwo\n"),
            ],
        )
        .unwrap();
    let (_t, store) = store();
    let got = checkout(
        &store,
        &spec(&server.url("crlf"), &commit),
        &GitOptions::default(),
    )
    .unwrap();
    assert_eq!(std::fs::read(got.dir.join("a.txt")).unwrap(), b"one\ntwo\n");
}

#[test]
fn submodules_are_checked_out_when_asked() {
    let server = GitServer::start().unwrap();
    server.repo("child", &[("child.txt", "child\n")]).unwrap();
    let parent = server.root().join("parent");
    std::fs::create_dir_all(&parent).unwrap();
    git_in(&parent, &["init", "--quiet", "-b", "main"]).unwrap();
    let child_url = format!("file://{}", server.root().join("child").display());
    git_in(
        &parent,
        &["submodule", "--quiet", "add", &child_url, "vendor/child"],
    )
    .unwrap();
    let commit = commit_files(&parent, &[("top.txt", "top\n")], "with submodule").unwrap();
    let (_t, store) = store();
    let mut with = spec(&server.url("parent"), &commit);
    with.submodules = true;
    let got = checkout(&store, &with, &GitOptions::default()).unwrap();
    assert_eq!(
        std::fs::read_to_string(got.dir.join("vendor/child/child.txt")).unwrap(),
        "child\n"
    );
    assert!(!got.dir.join("vendor/child/.git").exists());
    let plain = checkout(
        &store,
        &spec(&server.url("parent"), &commit),
        &GitOptions::default(),
    )
    .unwrap();
    assert!(!plain.dir.join("vendor/child/child.txt").exists());
    assert_eq!(plain.tree, got.tree, "both record the commit's tree");
}

#[test]
fn subdirectory_must_stay_inside() {
    let server = GitServer::start().unwrap();
    let commit = server
        .repo("ws", &[("crates/a/Cargo.toml", "x\n")])
        .unwrap();
    let (_t, store) = store();
    let got = checkout(
        &store,
        &spec(&server.url("ws"), &commit),
        &GitOptions::default(),
    )
    .unwrap();
    assert_eq!(
        got.subdir(Some("crates/a")).unwrap(),
        got.dir.join("crates/a")
    );
    assert_eq!(got.subdir(None).unwrap(), got.dir);
    for bad in ["../..", "/etc", "crates/../../x", "missing"] {
        assert!(got.subdir(Some(bad)).is_err(), "{bad}");
    }
}

#[test]
fn tree_id_of_a_directory_matches_git() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("r");
    std::fs::create_dir_all(&repo).unwrap();
    git_in(&repo, &["init", "--quiet"]).unwrap();
    let commit = commit_files(&repo, &[("a/b.txt", "b\n"), ("c.txt", "c\n")], "c").unwrap();
    let tree = git_in(&repo, &["rev-parse", &format!("{commit}^{{tree}}")]).unwrap();
    std::fs::remove_dir_all(repo.join(".git")).unwrap();
    let scratch = tmp.path().join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    assert_eq!(tree_id_of_dir(&repo, &scratch).unwrap(), tree);
    assert!(Path::new(&repo).join("a/b.txt").exists());
}

#[test]
fn nar_hash_matches_nix() {
    // The expected value is what Nix 2.8's `nix-hash --type sha256` prints
    // for this tree (cffc06d0…8c69), as SRI.
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path().join("t");
    std::fs::create_dir_all(t.join("sub")).unwrap();
    std::fs::write(t.join("a"), "hi\n").unwrap();
    std::fs::write(t.join("sub/x"), "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(t.join("sub/x"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("a", t.join("l")).unwrap();
    assert_eq!(
        lock2build_git::nar_sha256(&t).unwrap(),
        "sha256-z/wG0PAExfszobPsjNIBRJmvXOBihc0nC+qglMeNjGk="
    );
}
