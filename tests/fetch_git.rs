//! `lock2build fetch` and `plan` on a Cargo project with a git dependency,
//! served by a real `git daemon` on 127.0.0.1; the lock is made by cargo.

mod common;

use common::{lock2build, project_with_git_dep, tempdir};
use lock2build_git::testing::GitServer;
use std::path::Path;

#[test]
fn fetch_checks_out_the_locked_commit_and_plan_reports_its_tree() {
    let server = GitServer::start().unwrap();
    let root = tempdir("fetch-git");
    let (project, locked, head) = project_with_git_dep(&server, &root);
    let lock = std::fs::read_to_string(project.join("Cargo.lock")).unwrap();
    assert!(lock.contains(&format!("#{locked}")), "{lock}");
    let (cache, store) = (root.join("cache"), root.join("store"));
    let dir = project.to_str().unwrap();

    let out = lock2build(&["fetch", dir, "--json"], &cache, &store);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let git = report["git"].as_array().unwrap();
    assert_eq!(git.len(), 1, "{report}");
    assert_eq!(git[0]["commit"], locked.as_str());
    assert_ne!(git[0]["commit"], head.as_str());
    let checkout = Path::new(git[0]["dir"].as_str().unwrap());
    assert!(std::fs::read_to_string(checkout.join("src/lib.rs"))
        .unwrap()
        .contains("42"));
    let tree = git[0]["tree"].as_str().unwrap().to_owned();
    assert_eq!(report["downloaded"], 1);

    // plan records the tree hashes the store knows
    let out = lock2build(&["plan", dir, "--json"], &cache, &store);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let dep = plan["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "dep")
        .unwrap();
    assert_eq!(dep["artifact"]["tree"], tree.as_str());
    assert!(dep["artifact"]["nar_sha256"]
        .as_str()
        .unwrap()
        .starts_with("sha256-"));

    // a second run, the server gone, offline: from the store
    drop(server);
    let out = lock2build(&["fetch", dir, "--json", "--offline"], &cache, &store);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(again["downloaded"], 0);
    assert_eq!(again["git"][0]["tree"], tree.as_str());
}

#[test]
fn fetch_names_the_crate_url_and_commit_when_the_host_is_gone() {
    let server = GitServer::start().unwrap();
    let root = tempdir("fetch-git-gone");
    let (project, locked, _) = project_with_git_dep(&server, &root);
    let url = server.url("dep");
    drop(server);
    let out = lock2build(
        &["fetch", project.to_str().unwrap()],
        &root.join("cache"),
        &root.join("store"),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("crates dep 0.1.0") && err.contains(&url) && err.contains(&locked),
        "{err}"
    );
    assert!(err.contains("--offline"), "{err}");
}
