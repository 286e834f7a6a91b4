//! The npm builder's build graph (src/app/node_graph.rs): `lock2build
//! graph` lists the nodes `app` builds, by the same ids; `lock2build
//! realise` makes each from its inputs' paths as `app` does; Debian's Nix
//! builds the graph of fixtures/npm/native-app (bcrypt compiled by
//! node-gyp against node's headers) into a result whose bin runs.

mod common;

use common::npm_git::{gitdep, locked_project};
use common::{
    app, app_project, graph_of, have_nix, nix_build, realise, report, shared_cache, stderr, stdout,
    tempdir,
};
use lock2build_git::testing::GitServer;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn nodes(graph: &serde_json::Value) -> &Vec<serde_json::Value> {
    graph["nodes"].as_array().unwrap()
}

fn id(node: &serde_json::Value) -> String {
    node["id"].as_str().unwrap().to_owned()
}

fn refs(inputs: &[(String, PathBuf)]) -> Vec<(&str, &Path)> {
    inputs
        .iter()
        .map(|(i, p)| (i.as_str(), p.as_path()))
        .collect()
}

/// Every node realised in graph order into `<dir>/<id>`, each from its
/// inputs' paths only (as Nix runs them); local trees are where they are.
fn realise_all(
    graph_path: &Path,
    graph: &serde_json::Value,
    dir: &Path,
) -> BTreeMap<String, PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    let mut paths: BTreeMap<String, PathBuf> = BTreeMap::new();
    for node in nodes(graph) {
        let id = id(node);
        if node["recipe"]["kind"] == "local-tree" {
            paths.insert(id, PathBuf::from(node["recipe"]["path"].as_str().unwrap()));
            continue;
        }
        let inputs: Vec<(String, PathBuf)> = node["inputs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| {
                let i = i.as_str().unwrap().to_owned();
                let path = paths[&i].clone();
                (i, path)
            })
            .collect();
        let out = dir.join(&id);
        let made = realise(graph_path, &id, &refs(&inputs), &out);
        assert!(made.status.success(), "realise {id}: {}", stderr(&made));
        paths.insert(id, out);
    }
    paths
}

/// A tree's files (bytes, executable bit) and links (targets), by path;
/// node-gyp's intermediate build directories (`build-tmp-*`: Makefiles
/// and dependency files that name the output path) left out.
fn contents(root: &Path) -> BTreeMap<String, (Vec<u8>, bool)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let kind = entry.file_type().unwrap();
            if kind.is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                out.insert(rel, (target.display().to_string().into_bytes(), false));
            } else if kind.is_dir() {
                if !entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with("build-tmp-")
                {
                    todo.push(path);
                }
            } else {
                let mode = entry.metadata().unwrap().permissions().mode();
                out.insert(rel, (std::fs::read(&path).unwrap(), mode & 0o111 != 0));
            }
        }
    }
    out
}

fn run_bin(bin: &Path) -> String {
    // The demo's colours follow picocolors, which turns them on under CI.
    let out = Command::new(bin)
        .arg("hello")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}: {}", bin.display(), stderr(&out));
    stdout(&out)
}

#[test]
fn the_npm_graph_has_app_s_ids_and_realise_makes_each_node_as_app_does() {
    let (project, store) = app_project("graph-node", "npm/native-app");
    let (graph_path, graph) = graph_of(&project, &store);
    assert_eq!(graph["version"], 1);
    let modules = common::nodes_of_kind(&graph, "npm-node-modules");
    let apps = common::nodes_of_kind(&graph, "npm-app");
    assert_eq!((modules.len(), apps.len()), (1, 1), "{graph}");
    assert_eq!(graph["result"], apps[0]["id"]);
    assert!(common::nodes_of_kind(&graph, "npm-git-pack").is_empty());
    // The app reads node_modules and the project's files; node_modules
    // every tarball and the lock.
    let local: Vec<String> = common::nodes_of_kind(&graph, "local-tree")
        .into_iter()
        .map(id)
        .collect();
    assert_eq!(local.len(), 2);
    let app_inputs: Vec<String> = apps[0]["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap().to_owned())
        .collect();
    assert!(app_inputs.contains(&id(modules[0])), "{app_inputs:?}");
    assert!(
        app_inputs.iter().any(|i| local.contains(i)),
        "{app_inputs:?}"
    );
    let fetches = common::nodes_of_kind(&graph, "fetch-url");
    let lock = std::fs::read_to_string(project.join("package-lock.json")).unwrap();
    for f in &fetches {
        let hash = f["output"]["fixed"]["hash"].as_str().unwrap();
        assert!(
            lock.contains(hash),
            "{hash} is not an integrity of the lock"
        );
        assert!(modules[0]["inputs"].as_array().unwrap().contains(&f["id"]));
    }

    // `app` builds exactly the graph's built nodes, by the same ids.
    let built = report(&app(&project, &store, &["--json"]));
    assert_eq!(built["artifacts"], fetches.len(), "{built}");
    let mut outputs: Vec<String> = std::fs::read_dir(store.join("outputs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    outputs.sort();
    let mut ids = vec![id(modules[0]), id(apps[0])];
    ids.sort();
    assert_eq!(outputs, ids);
    assert!(
        built["output"].as_str().unwrap().ends_with(&id(apps[0])),
        "{built}"
    );

    // Each node from its inputs' paths alone: the same tree (the compiled
    // module byte for byte), an app whose bin runs.
    let made = realise_all(
        &graph_path,
        &graph,
        &project.parent().unwrap().join("realised"),
    );
    let laid = made[&id(modules[0])].clone();
    let from_app = store.join("outputs").join(id(modules[0]));
    let (ours, theirs) = (contents(&laid), contents(&from_app));
    assert!(
        ours.keys().any(|k| k.ends_with("bcrypt_lib.node")),
        "no compiled bcrypt"
    );
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>()
    );
    for (path, content) in &ours {
        assert!(theirs[path] == *content, "{path} differs from app's");
    }
    let app_out = made[&id(apps[0])].clone();
    let said = run_bin(&app_out.join("bin/hash-demo"));
    assert!(
        said.contains("bcrypt 5.1.1") && said.contains("verify(hello): true"),
        "{said}"
    );
    assert_eq!(
        said.lines().next(),
        run_bin(&project.join("result/bin/hash-demo"))
            .lines()
            .next()
    );
    let app_files = |dir: &Path| {
        contents(&dir.join("app"))
            .into_iter()
            .filter(|(k, _)| !k.starts_with("node_modules/"))
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(
        app_files(&app_out),
        app_files(&store.join("outputs").join(id(apps[0])))
    );
}

/// A git dependency: its commit a `git-checkout` node, packed by an
/// `npm-git-pack` node (its `prepare` run) that node_modules reads.
#[test]
fn a_git_dependency_is_a_checkout_packed_by_its_own_node() {
    let server = GitServer::start().unwrap();
    let locked = gitdep(&server);
    let root = tempdir("graph-node-git");
    let project = locked_project(&root, &server.url("gitdep"));
    let store = root.join("store");
    let (graph_path, graph) = graph_of(&project, &store);
    let checkouts = common::nodes_of_kind(&graph, "git-checkout");
    assert_eq!(checkouts.len(), 1, "{graph}");
    assert_eq!(checkouts[0]["recipe"]["commit"], locked.as_str());
    let packs = common::nodes_of_kind(&graph, "npm-git-pack");
    assert_eq!(packs.len(), 1, "{graph}");
    assert_eq!(packs[0]["inputs"], serde_json::json!([id(checkouts[0])]));
    let modules = common::nodes_of_kind(&graph, "npm-node-modules")[0];
    assert!(modules["inputs"]
        .as_array()
        .unwrap()
        .contains(&packs[0]["id"]));

    let made = realise_all(&graph_path, &graph, &root.join("realised"));
    assert!(made[&id(packs[0])].join("package.tgz").is_file());
    let app_node = common::nodes_of_kind(&graph, "npm-app")[0];
    let out = Command::new(made[&id(app_node)].join("bin/git-app"))
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "prepared gitdep: 1h\n", "{}", stderr(&out));

    // `app` builds the same three nodes.
    report(&app(&project, &store, &["--json"]));
    let mut outputs: Vec<String> = std::fs::read_dir(store.join("outputs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    outputs.sort();
    let mut ids = vec![id(packs[0]), id(modules), id(app_node)];
    ids.sort();
    assert_eq!(outputs, ids);
}

/// An override patch travels in the recipe: realise applies it with the
/// patch file gone (as on a machine that never had the project).
#[test]
fn override_patches_are_part_of_the_recipe() {
    let (project, store) = app_project("graph-node-patch", "npm/native-app");
    let patch = "--- /dev/null\n+++ b/LOCK2BUILD_PATCHED\n@@ -0,0 +1 @@\n+patched by a lock2build override\n";
    let dir = common::override_layer(
        &project,
        "npm",
        "picocolors",
        "[[entry]]\nversions = \"*\"\npatches = [\"picocolors/mark.patch\"]\n",
    );
    std::fs::write(dir.join("picocolors/mark.patch"), patch).unwrap();
    let (graph_path, graph) = graph_of(&project, &store);
    let modules = common::nodes_of_kind(&graph, "npm-node-modules")[0];
    let pico = modules["recipe"]["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "picocolors")
        .unwrap();
    assert_eq!(pico["patches"][0]["text"], patch, "{pico}");
    std::fs::remove_dir_all(project.join(".lock2build")).unwrap();
    let made = realise_all(
        &graph_path,
        &graph,
        &project.parent().unwrap().join("realised"),
    );
    let patched = made[&id(modules)].join("node_modules/picocolors/LOCK2BUILD_PATCHED");
    assert!(patched.is_file(), "{}", patched.display());
}

/// `node`'s inputs: each local tree where it is, every other one `path`.
fn local_trees_and(
    node: &serde_json::Value,
    by_id: &BTreeMap<String, &serde_json::Value>,
    path: &Path,
) -> Vec<(String, PathBuf)> {
    node["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let i = i.as_str().unwrap().to_owned();
            let path = match by_id[&i]["recipe"]["path"].as_str() {
                Some(local) => PathBuf::from(local),
                None => path.to_owned(),
            };
            (i, path)
        })
        .collect()
}

/// A fixed input whose file is not the tarball, a built input that is not
/// a node_modules: refused naming the node, nothing written.
#[test]
fn realise_refuses_inputs_that_are_not_the_nodes() {
    let (project, store) = app_project("graph-node-bad", "npm/native-app");
    let (graph_path, graph) = graph_of(&project, &store);
    let root = project.parent().unwrap();
    let modules = common::nodes_of_kind(&graph, "npm-node-modules")[0];
    let by_id: BTreeMap<String, &serde_json::Value> =
        nodes(&graph).iter().map(|n| (id(n), n)).collect();
    let fake = root.join("fake.tgz");
    std::fs::write(&fake, b"not a tarball").unwrap();
    let inputs = local_trees_and(modules, &by_id, &fake);
    let out = root.join("modules-out");
    let err = stderr(&realise(&graph_path, &id(modules), &refs(&inputs), &out));
    assert!(
        err.contains("input `")
            && err.contains(&format!("{}) of node `{}`", fake.display(), id(modules)))
            && err.contains("do not match"),
        "{err}"
    );
    assert!(!out.exists());

    // The app given an empty directory for node_modules.
    let app_node = common::nodes_of_kind(&graph, "npm-app")[0];
    let empty = root.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let inputs = local_trees_and(app_node, &by_id, &empty);
    let out = root.join("app-out");
    let made = realise(&graph_path, &id(app_node), &refs(&inputs), &out);
    let err = stderr(&made);
    assert!(!made.status.success());
    assert!(
        err.contains(&format!("realising node `{}`", id(app_node))),
        "{err}"
    );
    assert!(
        err.contains(&empty.display().to_string()),
        "names what it read: {err}"
    );
    assert!(!out.exists());
}

/// nix-build of the graph: the tarballs by Nix's fetchurl, node_modules
/// (bcrypt's install script: node-gyp with node's headers) and the app by
/// `lock2build realise`; `app --engine nix` links a result that runs too.
#[test]
fn nix_builds_the_npm_graph_into_an_app_whose_bin_runs() {
    if !have_nix() {
        return;
    }
    let (project, store) = app_project("graph-node-nix", "npm/native-app");
    let (graph_path, graph) = graph_of(&project, &store);
    let out = nix_build(&graph_path, "result");
    assert!(out.status.success(), "{}", stderr(&out));
    let result = PathBuf::from(stdout(&out).trim());
    assert!(result.starts_with("/nix/store"), "{}", result.display());
    assert!(result.to_string_lossy().ends_with("-native-app"));
    let said = run_bin(&result.join("bin/hash-demo"));
    assert!(
        said.contains("bcrypt 5.1.1") && said.contains("verify(hello): true"),
        "{said}"
    );
    // The launcher runs the app from the Nix store, whose node_modules
    // are the node_modules derivation's.
    let launcher = std::fs::read_to_string(result.join("bin/hash-demo")).unwrap();
    assert!(
        launcher.contains(&format!("{}/app/bin/hash-demo.js", result.display())),
        "{launcher}"
    );
    let bcrypt = std::fs::canonicalize(result.join("app/node_modules/bcrypt")).unwrap();
    assert!(
        bcrypt.starts_with("/nix/store")
            && bcrypt
                .to_string_lossy()
                .contains("-native-app-node-modules/")
    );
    assert_eq!(
        graph["result"].as_str().map(|r| r.ends_with("-native-app")),
        Some(true)
    );

    // An edit of the project's code rebuilds the app, not node_modules:
    // each derivation reads only its node and its inputs of the graph.
    let js = project.join("bin/hash-demo.js");
    let code = std::fs::read_to_string(&js).unwrap();
    std::fs::write(&js, format!("{code}// edited\n")).unwrap();
    let (graph_path, _) = graph_of(&project, &store);
    let again = nix_build(&graph_path, "result");
    let log = stderr(&again);
    assert!(again.status.success(), "{log}");
    assert!(
        log.contains("-native-app.drv'"),
        "the app is rebuilt: {log}"
    );
    assert!(
        !log.contains("node-modules.drv'"),
        "node_modules is not: {log}"
    );
    let edited = PathBuf::from(stdout(&again).trim());
    assert_ne!(edited, result);
    assert!(run_bin(&edited.join("bin/hash-demo")).contains("verify(hello): true"));

    let engine = Command::new(env!("CARGO_BIN_EXE_lock2build"))
        .args([
            "app",
            project.to_str().unwrap(),
            "--engine",
            "nix",
            "--progress",
            "plain",
        ])
        .env("LOCK2BUILD_CACHE", shared_cache())
        .env("LOCK2BUILD_STORE", &store)
        .env("LOCK2BUILD_SWH_URL", "http://127.0.0.1:9")
        .env("NIX_CONFIG", "substituters =")
        .output()
        .unwrap();
    assert!(engine.status.success(), "{}", stderr(&engine));
    let linked = std::fs::canonicalize(project.join("result")).unwrap();
    assert!(linked.starts_with("/nix/store"), "{}", linked.display());
    let said = run_bin(&project.join("result/bin/hash-demo"));
    assert!(said.contains("verify(hello): true"), "{said}");
}
