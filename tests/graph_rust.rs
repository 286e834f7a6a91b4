//! The Rust builder's build graph (`src/app/rust_graph.rs`) on
//! `fixtures/cargo/native-app`: `lock2build graph` lists the nodes `app`
//! builds by the same ids, `lock2build realise` makes each cargo step from
//! its inputs' paths, and Debian's Nix builds the app from the graph with
//! the nix/ library (single-user, `sandbox = false`: host OpenSSL and
//! SQLite are found through pkg-config, as by `app`).

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn graph_of(project: &Path, store: &Path, out: &Path) -> serde_json::Value {
    let made = lock2build(
        &[
            "graph",
            project.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
        &shared_cache(),
        store,
    );
    assert!(made.status.success(), "{}", stderr(&made));
    serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap()
}

/// The ids of the graph's nodes by kind.
fn ids(graph: &serde_json::Value) -> BTreeMap<String, Vec<String>> {
    let mut by_kind: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for n in graph["nodes"].as_array().unwrap() {
        by_kind
            .entry(n["recipe"]["kind"].as_str().unwrap().to_owned())
            .or_default()
            .push(n["id"].as_str().unwrap().to_owned());
    }
    by_kind
}

fn one(graph: &serde_json::Value, kind: &str) -> serde_json::Value {
    let found: Vec<&serde_json::Value> = graph["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["recipe"]["kind"] == kind)
        .collect();
    assert_eq!(found.len(), 1, "one {kind} node");
    found[0].clone()
}

fn inputs_of(node: &serde_json::Value) -> Vec<String> {
    strings(&node["inputs"])
}

fn realise(
    graph: &Path,
    node: &str,
    inputs: &[(String, PathBuf)],
    out: &Path,
    store: &Path,
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
    lock2build(&args, &shared_cache(), store)
}

/// A digest of a tree: each file's path, executable bit and bytes, each
/// symlink's target.
fn tree_digest(dir: &Path) -> String {
    fn walk(root: &Path, dir: &Path, into: &mut Vec<(String, String)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                walk(root, &path, into);
            } else if meta.file_type().is_symlink() {
                into.push((
                    rel,
                    format!("-> {}", std::fs::read_link(&path).unwrap().display()),
                ));
            } else {
                use std::os::unix::fs::PermissionsExt;
                let x = meta.permissions().mode() & 0o111 != 0;
                into.push((
                    rel,
                    format!("{x} {}", sha256_hex(&std::fs::read(&path).unwrap())),
                ));
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, dir, &mut files);
    files.sort();
    sha256_hex(format!("{files:?}").as_bytes())
}

/// The paths of `node`'s inputs in `store` (its outputs, its sources, the
/// project itself).
fn store_inputs(
    graph: &serde_json::Value,
    node: &serde_json::Value,
    store: &Path,
    project: &Path,
) -> Vec<(String, PathBuf)> {
    inputs_of(node)
        .into_iter()
        .map(|id| {
            let input = graph["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|n| n["id"] == id.as_str())
                .unwrap();
            let path = match input["recipe"]["kind"].as_str().unwrap() {
                "local-tree" => project.to_path_buf(),
                _ => store.join("outputs").join(&id),
            };
            assert!(path.exists(), "{} is in the store", path.display());
            (id, path)
        })
        .collect()
}

#[test]
fn the_graph_has_apps_ids_and_realise_makes_each_cargo_step_from_its_inputs() {
    let (project, store) = app_project("graph-rust-realise", "cargo/native-app");
    let built = report(&app(&project, &store, &["--json"]));
    let root = project.parent().unwrap().to_path_buf();
    let path = root.join("graph.json");
    let graph = graph_of(&project, &store, &path);
    let kinds = ids(&graph);
    // 28 .crate files (zerocopy-derive is a stub), each unpacked by a node.
    assert_eq!(kinds["fetch-url"].len(), 28, "{kinds:?}");
    assert_eq!(kinds["cargo-crate"].len(), 28, "{kinds:?}");
    for kind in [
        "cargo-stubs",
        "cargo-vendor",
        "local-tree",
        "cargo-skeleton",
        "cargo-deps",
        "cargo-app",
    ] {
        assert_eq!(kinds[kind].len(), 1, "{kind}: {kinds:?}");
    }
    // The built nodes are app's store outputs, the result its output.
    let app_id = &kinds["cargo-app"][0];
    assert_eq!(graph["result"], app_id.as_str());
    assert_eq!(
        std::fs::canonicalize(built["output"].as_str().unwrap()).unwrap(),
        std::fs::canonicalize(store.join("outputs").join(app_id)).unwrap()
    );
    for kind in [
        "cargo-vendor",
        "cargo-deps",
        "cargo-crate",
        "cargo-stubs",
        "cargo-skeleton",
    ] {
        for id in &kinds[kind] {
            assert!(store.join("outputs").join(id).is_dir(), "{kind} {id}");
        }
    }
    let deps = one(&graph, "cargo-deps");
    assert_eq!(deps["env"]["OPENSSL_NO_VENDOR"], "1", "{deps}");
    assert!(
        strings(&deps["native"]).contains(&"openssl".to_string()),
        "{deps}"
    );

    // The vendor directory again, from the crates' and the stubs' paths.
    let vendor = one(&graph, "cargo-vendor");
    let out = root.join("vendor-out");
    let made = realise(
        &path,
        vendor["id"].as_str().unwrap(),
        &store_inputs(&graph, &vendor, &store, &project),
        &out,
        &root.join("scratch"),
    );
    assert!(made.status.success(), "{}", stderr(&made));
    assert_eq!(
        tree_digest(&out),
        tree_digest(&store.join("outputs").join(vendor["id"].as_str().unwrap()))
    );

    // One crate, from its .crate file.
    let crate_node = graph["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["recipe"]["kind"] == "cargo-crate" && n["recipe"]["name"] == "libsqlite3-sys")
        .unwrap()
        .clone();
    let fetch = inputs_of(&crate_node)[0].clone();
    let dot_crate = root.join("libsqlite3-sys.crate");
    let fetched = realise(&path, &fetch, &[], &dot_crate, &root.join("scratch"));
    assert!(fetched.status.success(), "{}", stderr(&fetched));
    let out = root.join("crate-out");
    let made = realise(
        &path,
        crate_node["id"].as_str().unwrap(),
        &[(fetch.clone(), dot_crate.clone())],
        &out,
        &root.join("scratch"),
    );
    assert!(made.status.success(), "{}", stderr(&made));
    assert_eq!(
        tree_digest(&out),
        tree_digest(
            &store
                .join("outputs")
                .join(crate_node["id"].as_str().unwrap())
        )
    );

    // The skeleton from the project's tree: Nix checks it by its NAR hash.
    let skeleton = one(&graph, "cargo-skeleton");
    let out = root.join("skeleton-out");
    let made = realise(
        &path,
        skeleton["id"].as_str().unwrap(),
        &store_inputs(&graph, &skeleton, &store, &project),
        &out,
        &root.join("scratch"),
    );
    assert!(made.status.success(), "{}", stderr(&made));
    assert_eq!(
        std::fs::read_to_string(out.join("src/main.rs")).unwrap(),
        "fn main() {}\n"
    );

    // The dependencies, then the app from them: the same program.
    let out_deps = root.join("deps-out");
    let made = realise(
        &path,
        deps["id"].as_str().unwrap(),
        &store_inputs(&graph, &deps, &store, &project),
        &out_deps,
        &root.join("scratch"),
    );
    assert!(made.status.success(), "{}", stderr(&made));
    let rlibs: Vec<String> = std::fs::read_dir(out_deps.join("target/release/deps"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        rlibs
            .iter()
            .any(|n| n.starts_with("libopenssl-") && n.ends_with(".rlib")),
        "{rlibs:?}"
    );
    let app_node = one(&graph, "cargo-app");
    let mut inputs = store_inputs(&graph, &app_node, &store, &project);
    for (id, p) in &mut inputs {
        if id == deps["id"].as_str().unwrap() {
            *p = out_deps.clone();
        }
    }
    let out = root.join("app-out");
    let made = realise(&path, app_id, &inputs, &out, &root.join("scratch"));
    assert!(made.status.success(), "{}", stderr(&made));
    let run = Command::new(out.join("bin/native-app"))
        .arg("graph")
        .output()
        .unwrap();
    assert!(
        stdout(&run).contains(&format!("sha256(graph) = {}", sha256_hex(b"graph"))),
        "{}{}",
        stdout(&run),
        stderr(&run)
    );
}

#[test]
fn an_edit_of_the_code_changes_the_app_node_only() {
    let (project, store) = app_project("graph-rust-edit", "cargo/native-app");
    let root = project.parent().unwrap().to_path_buf();
    let before_path = root.join("before.json");
    let before = graph_of(&project, &store, &before_path);
    let main = project.join("src/main.rs");
    let source = std::fs::read_to_string(&main).unwrap();
    std::fs::write(&main, source.replace("sha256({word})", "SHA-256 of {word}")).unwrap();
    let after_path = root.join("after.json");
    let after = graph_of(&project, &store, &after_path);
    let (b, a) = (ids(&before), ids(&after));
    for (kind, ids) in &b {
        match kind.as_str() {
            "cargo-app" | "local-tree" => assert_ne!(ids, &a[kind], "{kind}"),
            _ => assert_eq!(ids, &a[kind], "{kind}"),
        }
    }
    assert_eq!(b.keys().collect::<Vec<_>>(), a.keys().collect::<Vec<_>>());

    // Nix's output of the dependencies is the same (nothing to rebuild):
    // the skeleton is a fixed-output derivation, and Nix names the deps'
    // output modulo it (its derivation file names the skeleton's, made
    // from the edited tree, so the .drv path itself changes). The app's
    // output is another.
    if !have_nix() {
        return;
    }
    let out_path = |graph: &Path, id: &str| {
        let drv = Command::new("nix-instantiate")
            .arg(repo().join("nix"))
            .args(["--arg", "graph"])
            .arg(graph)
            .args(["--arg", "lock2build"])
            .arg(env!("CARGO_BIN_EXE_lock2build"))
            .args(["-A", &format!("nodes.{id}"), "--option", "substituters", ""])
            .output()
            .unwrap();
        assert!(drv.status.success(), "{}", stderr(&drv));
        let out = Command::new("nix-store")
            .args(["--query", "--outputs", stdout(&drv).trim()])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out).trim().to_owned()
    };
    let deps = &b["cargo-deps"][0];
    let deps_before = out_path(&before_path, deps);
    assert!(deps_before.ends_with("-native-app-deps"), "{deps_before}");
    assert_eq!(deps_before, out_path(&after_path, deps));
    assert_eq!(
        out_path(&before_path, &b["cargo-vendor"][0]),
        out_path(&after_path, &a["cargo-vendor"][0])
    );
    assert_ne!(
        out_path(&before_path, &b["cargo-app"][0]),
        out_path(&after_path, &a["cargo-app"][0])
    );
}

#[test]
fn realise_refuses_inputs_whose_contents_are_not_the_nodes() {
    let (project, store) = app_project("graph-rust-bad", "cargo/native-app");
    let root = project.parent().unwrap().to_path_buf();
    let path = root.join("graph.json");
    let graph = graph_of(&project, &store, &path);
    let scratch = root.join("scratch");

    // A .crate that is not the locked one.
    let crate_node = one_of(&graph, "cargo-crate");
    let fetch = inputs_of(&crate_node)[0].clone();
    let fake = root.join("fake.crate");
    std::fs::write(&fake, b"not a crate").unwrap();
    let out = root.join("crate-out");
    let err = stderr(&realise(
        &path,
        crate_node["id"].as_str().unwrap(),
        &[(fetch.clone(), fake)],
        &out,
        &scratch,
    ));
    assert!(
        err.contains(&format!("input `{fetch}`")) && err.contains("do not match"),
        "{err}"
    );
    assert!(!out.exists());

    // Another skeleton for the dependencies.
    let deps = one(&graph, "cargo-deps");
    let skeleton = one(&graph, "cargo-skeleton")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = root.join("other-skeleton");
    std::fs::create_dir_all(other.join("src")).unwrap();
    std::fs::write(other.join("Cargo.toml"), "[package]\nname = \"x\"\n").unwrap();
    let vendor = one(&graph, "cargo-vendor")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = root.join("deps-out");
    let err = stderr(&realise(
        &path,
        deps["id"].as_str().unwrap(),
        &[(vendor.clone(), root.clone()), (skeleton.clone(), other)],
        &out,
        &scratch,
    ));
    assert!(
        err.contains(&format!("input `{skeleton}`")) && err.contains("do not match"),
        "{err}"
    );
    assert!(!out.exists());

    // The project's tree after an edit the graph does not know.
    let app = one(&graph, "cargo-app");
    let tree = one(&graph, "local-tree")["id"].as_str().unwrap().to_owned();
    std::fs::write(project.join("src/main.rs"), "fn main() {}\n").unwrap();
    let inputs: Vec<(String, PathBuf)> = inputs_of(&app)
        .into_iter()
        .map(|id| {
            let p = if id == tree {
                project.clone()
            } else {
                root.clone()
            };
            (id, p)
        })
        .collect();
    let out = root.join("app-out");
    let err = stderr(&realise(
        &path,
        app["id"].as_str().unwrap(),
        &inputs,
        &out,
        &scratch,
    ));
    assert!(
        err.contains(&format!("input `{tree}`")) && err.contains("do not match"),
        "{err}"
    );
    assert!(!out.exists());
}

fn one_of(graph: &serde_json::Value, kind: &str) -> serde_json::Value {
    graph["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["recipe"]["kind"] == kind)
        .unwrap()
        .clone()
}

/// Nix is there (CI installs Debian's nix-bin); elsewhere the Nix tests say
/// they are skipped.
fn have_nix() -> bool {
    let found = Command::new("nix-build").arg("--version").output().is_ok();
    if !found {
        assert!(std::env::var_os("CI").is_none(), "CI must install nix-bin");
        eprintln!("nix-build not found: skipping (apt-get install nix-bin)");
    }
    found
}

#[test]
fn nix_builds_the_cargo_app_from_the_graph() {
    if !have_nix() {
        return;
    }
    let (project, store) = app_project("graph-rust-nix", "cargo/native-app");
    let root = project.parent().unwrap().to_path_buf();
    let path = root.join("graph.json");
    graph_of(&project, &store, &path);
    let link = root.join("result");
    let out = nix_build_result(&path, &link);
    assert!(out.status.success(), "{}", stderr(&out));
    let made = std::fs::canonicalize(&link).unwrap();
    assert!(made.starts_with("/nix/store"), "{}", made.display());
    let run = Command::new(link.join("bin/native-app"))
        .arg("nix")
        .output()
        .unwrap();
    let text = stdout(&run);
    assert!(run.status.success(), "{text}{}", stderr(&run));
    assert!(text.starts_with("sqlite 3."), "{text}");
    assert!(
        text.contains(&format!("sha256(nix) = {}", sha256_hex(b"nix"))),
        "{text}"
    );
}

/// `nix-build nix -A result` of the graph at `graph`, linked at `link`.
fn nix_build_result(graph: &Path, link: &Path) -> std::process::Output {
    Command::new("nix-build")
        .arg(repo().join("nix"))
        .args(["--arg", "graph"])
        .arg(graph)
        .args(["--arg", "lock2build"])
        .arg(env!("CARGO_BIN_EXE_lock2build"))
        .args(["-A", "result", "--out-link"])
        .arg(link)
        .args(["--option", "substituters", ""])
        // Builds as root, not as nixbld1: the host's Rust toolchain is
        // under /root (rustup), which only root may read.
        .args(["--option", "build-users-group", ""])
        .output()
        .unwrap()
}

/// A project whose one dependency is a git crate (a repository served on
/// 127.0.0.1): its checkout is a `git-checkout` node, the crates laid out
/// from it a `cargo-git` node that `realise` makes from the checkout's
/// path, and Nix builds the app at the locked commit.
#[test]
fn git_crates_are_laid_out_from_their_checkout_by_realise_and_by_nix() {
    let server = lock2build_git::testing::GitServer::start().unwrap();
    let root = tempdir("graph-rust-git");
    let (project, locked, _) = project_with_git_dep(&server, &root);
    let store = root.join("store");
    report(&app(&project, &store, &["--json"]));
    let path = root.join("graph.json");
    let graph = graph_of(&project, &store, &path);
    let checkout = one(&graph, "git-checkout");
    assert_eq!(checkout["recipe"]["commit"], locked.as_str());
    let checkout_id = checkout["id"].as_str().unwrap().to_owned();
    let git = one(&graph, "cargo-git");
    assert_eq!(inputs_of(&git), [checkout_id.clone()]);
    assert!(
        inputs_of(&one(&graph, "cargo-vendor")).contains(&git["id"].as_str().unwrap().to_owned())
    );

    let scratch = root.join("scratch");
    let checked_out = root.join("checkout-out");
    let made = realise(&path, &checkout_id, &[], &checked_out, &scratch);
    assert!(made.status.success(), "{}", stderr(&made));
    let out = root.join("git-out");
    let made = realise(
        &path,
        git["id"].as_str().unwrap(),
        &[(checkout_id, checked_out)],
        &out,
        &scratch,
    );
    assert!(made.status.success(), "{}", stderr(&made));
    assert_eq!(
        tree_digest(&out),
        tree_digest(&store.join("outputs").join(git["id"].as_str().unwrap()))
    );

    if !have_nix() {
        return;
    }
    let link = root.join("result");
    let out = nix_build_result(&path, &link);
    assert!(out.status.success(), "{}", stderr(&out));
    let run = Command::new(link.join("bin/app")).output().unwrap();
    assert_eq!(
        stdout(&run).trim(),
        "42",
        "the locked commit: {}",
        stderr(&run)
    );
}
