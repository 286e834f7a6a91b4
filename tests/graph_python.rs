//! The Python builder's graph (src/app/python_graph.rs): `lock2build graph`
//! lists the nodes `lock2build app` builds, by the same ids; `lock2build
//! realise` makes each built kind from its inputs' paths as `app` does; and
//! the nix/ library builds the app (Debian's Nix 2.8, `sandbox = false`).

mod common;

use common::{app, app_project, lock2build, ok, shared_cache, stderr};
use sha2::Digest;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// `lock2build graph PROJECT -o graph.json EXTRA…` with `store`.
fn graph_of(project: &Path, store: &Path) -> (PathBuf, serde_json::Value) {
    graph_with(project, store, &[])
}

fn graph_with(project: &Path, store: &Path, extra: &[&str]) -> (PathBuf, serde_json::Value) {
    let path = project.parent().unwrap().join("graph.json");
    let mut args = vec![
        "graph",
        project.to_str().unwrap(),
        "-o",
        path.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = lock2build(&args, &shared_cache(), store);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    (path, doc)
}

fn nodes(graph: &serde_json::Value) -> &Vec<serde_json::Value> {
    graph["nodes"].as_array().unwrap()
}

fn id(node: &serde_json::Value) -> &str {
    node["id"].as_str().unwrap()
}

/// The ids of the graph's built Python nodes.
fn python_ids(graph: &serde_json::Value) -> BTreeSet<String> {
    nodes(graph)
        .iter()
        .filter(|n| n["recipe"]["kind"].as_str().unwrap().starts_with("python-"))
        .map(|n| id(n).to_owned())
        .collect()
}

fn store_outputs(store: &Path) -> BTreeSet<String> {
    std::fs::read_dir(store.join("outputs"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// `lock2build realise` of `node` into `out`, its inputs by path.
fn realise(
    graph: &Path,
    node: &str,
    inputs: &[(String, PathBuf)],
    out: &Path,
) -> std::process::Output {
    let inputs: Vec<(&str, &Path)> = inputs
        .iter()
        .map(|(id, path)| (id.as_str(), path.as_path()))
        .collect();
    common::realise(graph, node, &inputs, out)
}

/// Where `lock2build app` left each input of `node`: the store's output
/// of a built one, the downloaded file of a fetch (realised once into
/// `scratch`), the project's directory of a local tree.
fn inputs_in_store(
    graph_path: &Path,
    graph: &serde_json::Value,
    node: &serde_json::Value,
    store: &Path,
    scratch: &Path,
) -> Vec<(String, PathBuf)> {
    let by_id: BTreeMap<&str, &serde_json::Value> =
        nodes(graph).iter().map(|n| (id(n), n)).collect();
    let mut inputs = Vec::new();
    for input in node["inputs"].as_array().into_iter().flatten() {
        let input = input.as_str().unwrap();
        let of = by_id[input];
        let path = match of["recipe"]["kind"].as_str().unwrap() {
            "fetch-url" => {
                let file = scratch.join(input);
                if !file.exists() {
                    let made = realise(graph_path, input, &[], &file);
                    assert!(made.status.success(), "{}", stderr(&made));
                }
                file
            }
            "local-tree" => PathBuf::from(of["recipe"]["path"].as_str().unwrap()),
            _ => store.join("outputs").join(input),
        };
        inputs.push((input.to_owned(), path));
    }
    inputs
}

/// Every file, link and directory under `root`, each with its content's
/// sha256 (a link: its target), `root` itself written as `$out` in files
/// (a launcher's shebang names its environment) — but compiled bytecode,
/// which embeds the path the source was compiled at.
fn contents(root: &Path) -> BTreeMap<PathBuf, String> {
    contents_with(root, ("", ""))
}

/// [`contents`] with the path `from` read as `to` in files and links
/// (an output realised from inputs elsewhere than app's store).
fn contents_with(root: &Path, swap: (&str, &str)) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    walk(root, root, swap, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, swap: (&str, &str), out: &mut BTreeMap<PathBuf, String>) {
    let swapped = |text: &str| match swap.0.is_empty() {
        true => text.to_owned(),
        false => text.replace(swap.0, swap.1),
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let rel = path.strip_prefix(root).unwrap().to_owned();
        let kind = e.file_type().unwrap();
        if kind.is_symlink() {
            let target = std::fs::read_link(&path).unwrap();
            out.insert(
                rel,
                format!("-> {}", swapped(&target.display().to_string())),
            );
        } else if kind.is_dir() {
            if e.file_name() != "__pycache__" {
                out.insert(rel, "dir".into());
                walk(root, &path, swap, out);
            }
        } else {
            let bytes = std::fs::read(&path).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            let own = root.to_str().unwrap();
            let named = |t: &str| t.contains(own) || (!swap.0.is_empty() && t.contains(swap.0));
            let bytes = match named(&text) {
                true => swapped(&text.replace(own, "$out")).into_bytes(),
                false => bytes,
            };
            out.insert(rel, hex::encode(sha2::Sha256::digest(&bytes)));
        }
    }
}

#[test]
fn the_graph_holds_the_nodes_app_builds_by_their_ids() {
    let (project, store) = app_project("graph-py-ids", "poetry/flask-pillow");
    ok(&app(&project, &store, &[]));
    let (_, graph) = graph_of(&project, &store);

    // Every built Python node is an output app made, and nothing else is.
    let ids = python_ids(&graph);
    assert_eq!(
        ids,
        store_outputs(&store),
        "graph ids against the store's outputs"
    );
    // The result is the app's environment, `./result`.
    let result = std::fs::read_link(project.join("result")).unwrap();
    assert_eq!(
        graph["result"].as_str().unwrap(),
        result.file_name().unwrap().to_str().unwrap()
    );
    assert_eq!(common::nodes_of_kind(&graph, "python-env").len(), 1);

    // Pillow comes as a wheel, installed from its download.
    let pillow = common::nodes_of_kind(&graph, "python-wheel")
        .into_iter()
        .find(|n| n["recipe"]["name"] == "pillow")
        .expect("pillow's wheel install");
    let fetch = pillow["recipe"]["source"].as_str().unwrap();
    assert_eq!(pillow["inputs"], serde_json::json!([fetch]));
    let fetched = nodes(&graph).iter().find(|n| id(n) == fetch).unwrap();
    assert_eq!(fetched["recipe"]["kind"], "fetch-url");
    assert!(
        fetched["name"]
            .as_str()
            .unwrap()
            .starts_with("pillow-12.3.0-cp311"),
        "{fetched}"
    );

    // The project is built from its own files by its backend's environment.
    let own = &common::nodes_of_kind(&graph, "python-project")[0];
    assert_eq!(own["recipe"]["name"], "app");
    let tree = own["recipe"]["source"].as_str().unwrap();
    let local = nodes(&graph).iter().find(|n| id(n) == tree).unwrap();
    assert_eq!(local["recipe"]["kind"], "local-tree");
    assert_eq!(
        Path::new(local["recipe"]["path"].as_str().unwrap()),
        std::path::absolute(&project).unwrap()
    );
    let env = own["recipe"]["build_env"].as_str().unwrap();
    assert!(common::nodes_of_kind(&graph, "python-build-env")
        .iter()
        .any(|n| id(n) == env));
    assert!(own["toolchains"]
        .as_array()
        .unwrap()
        .contains(&"python".into()));
    assert!(graph["toolchains"]["python"]["path"]
        .as_str()
        .unwrap()
        .contains("python3"));
}

#[test]
fn realise_makes_each_python_kind_from_its_inputs_as_app_does() {
    let (project, store) = app_project("graph-py-realise", "poetry/flask-pillow");
    ok(&app(&project, &store, &[]));
    let (path, graph) = graph_of(&project, &store);
    let scratch = project.parent().unwrap().join("fetched");
    std::fs::create_dir_all(&scratch).unwrap();
    let pillow = common::nodes_of_kind(&graph, "python-wheel")
        .into_iter()
        .find(|n| n["recipe"]["name"] == "pillow")
        .unwrap();
    let picked = [
        pillow,
        common::nodes_of_kind(&graph, "python-build-env")[0],
        common::nodes_of_kind(&graph, "python-project")[0],
        common::nodes_of_kind(&graph, "python-env")[0],
    ];
    for node in picked {
        let inputs = inputs_in_store(&path, &graph, node, &store, &scratch);
        // As long as the store's path: a launcher's shebang form depends
        // on its length (the `exec` trick past 127 bytes).
        let kind = node["recipe"]["kind"].as_str().unwrap();
        let width = format!("store/outputs/{}", id(node)).len();
        let out = project.parent().unwrap().join(format!("{kind:-<width$}"));
        let made = realise(&path, id(node), &inputs, &out);
        assert!(made.status.success(), "{}: {}", id(node), stderr(&made));
        assert_eq!(
            contents(&out),
            contents(&store.join("outputs").join(id(node))),
            "{} ({}) realised against app's output",
            id(node),
            node["recipe"]["kind"]
        );
    }
}

#[test]
fn realise_of_a_python_node_with_a_wrong_input_fails_naming_it_and_writes_nothing() {
    let (project, store) = app_project("graph-py-bad", "poetry/flask-pillow");
    ok(&app(&project, &store, &[]));
    let (path, graph) = graph_of(&project, &store);
    let dir = project.parent().unwrap();
    let wheels = common::nodes_of_kind(&graph, "python-wheel");
    let (pillow, other) = (
        wheels
            .iter()
            .find(|n| n["recipe"]["name"] == "pillow")
            .unwrap(),
        wheels
            .iter()
            .find(|n| n["recipe"]["name"] == "flask")
            .unwrap(),
    );
    // Another wheel's file given as Pillow's download.
    let wrong = dir.join("flask.whl");
    let fetch = other["recipe"]["source"].as_str().unwrap();
    assert!(realise(&path, fetch, &[], &wrong).status.success());
    let source = pillow["recipe"]["source"].as_str().unwrap().to_owned();
    let out = dir.join("pillow-out");
    let err = stderr(&realise(&path, id(pillow), &[(source, wrong)], &out));
    assert!(
        err.contains(id(pillow)) && err.contains("do not match"),
        "{err}"
    );
    assert!(!out.exists());

    // An environment given a directory that is no installed package.
    let env = common::nodes_of_kind(&graph, "python-env")[0];
    let mut inputs = inputs_in_store(&path, &graph, env, &store, dir);
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    inputs[0].1 = empty;
    let out = dir.join("env-out");
    let err = stderr(&realise(&path, id(env), &inputs, &out));
    assert!(
        err.contains(id(env)) && err.contains("site-packages"),
        "{err}"
    );
    assert!(!out.exists());
}

/// The interpreter Nix's builds run: Debian's (they run as a build user,
/// who cannot read an interpreter under /root).
const SYSTEM_PYTHON: &[&str] = &["--python", "/usr/bin/python3.11"];

/// `nix-build nix --arg graph G --arg lock2build BIN -A result`: the path.
fn nix_result(graph: &Path) -> PathBuf {
    let out = Command::new("nix-build")
        .arg(common::repo().join("nix"))
        .args(["--arg", "graph"])
        .arg(graph)
        .args(["--arg", "lock2build"])
        .arg(env!("CARGO_BIN_EXE_lock2build"))
        .args([
            "-A",
            "result",
            "--no-out-link",
            "--option",
            "substituters",
            "",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "nix-build: {}", stderr(&out));
    PathBuf::from(common::stdout(&out).trim())
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        common::stdout(&out),
        stderr(&out)
    );
    common::stdout(&out)
}

#[test]
fn nix_builds_flask_pillow_with_pillows_wheel_and_its_native_libraries() {
    if !common::have_nix() {
        return;
    }
    let (project, store) = app_project("graph-py-nix-flask", "poetry/flask-pillow");
    let (path, _) = graph_with(&project, &store, SYSTEM_PYTHON);
    let result = nix_result(&path);
    assert!(result.starts_with("/nix/store"), "{}", result.display());
    let printed = run(Command::new(result.join("bin/python")).args([
        "-c",
        "import io, flask, PIL.Image as I\n\
         b = io.BytesIO(); I.new('RGB', (64, 48), 'red').resize((32, 24)).save(b, 'JPEG')\n\
         print(flask.__file__); print(I.open(b).size)",
    ]));
    assert!(printed.starts_with("/nix/store/"), "{printed}");
    assert!(printed.contains("(32, 24)"), "{printed}");
    assert!(result.join("bin/app").exists(), "the project's script");
}

#[test]
fn nix_builds_native_app_with_psycopg2_from_its_sdist_against_libpq() {
    if !common::have_nix() {
        return;
    }
    let (project, store) = app_project("graph-py-nix-native", "uv/native-app");
    let (path, graph) = graph_with(&project, &store, SYSTEM_PYTHON);
    let sdist = common::nodes_of_kind(&graph, "python-sdist")
        .into_iter()
        .find(|n| n["recipe"]["name"] == "psycopg2")
        .expect("psycopg2 built from its sdist");
    assert!(
        sdist["native"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n == "libpq"),
        "{sdist}"
    );
    let result = nix_result(&path);
    let printed = run(&mut Command::new(result.join("bin/native-app")));
    assert!(
        printed.lines().any(|l| l.starts_with("psycopg2 2.9.13")),
        "{printed}"
    );
    assert!(
        printed.contains("b\"'it''s'\""),
        "psycopg2 quotes through libpq:\n{printed}"
    );
}

/// rpds-py from its sdist under Nix: its crates' fetch-url nodes by Nix's
/// builtin:fetchurl, the cargo-crate, stubs and vendor nodes and the
/// maturin build by `lock2build realise` (as root: the Rust toolchain is
/// root's rustup one, which Nix's build users cannot read).
#[test]
fn nix_builds_rust_extension_with_rpds_py_and_its_crates_from_the_sdist() {
    if !common::have_nix() {
        return;
    }
    let (project, store) = app_project("graph-py-nix-rust", "uv/rust-extension");
    let mut args = SYSTEM_PYTHON.to_vec();
    args.extend(["--no-binary", "rpds-py"]);
    let (path, graph) = graph_with(&project, &store, &args);
    assert!(!common::nodes_of_kind(&graph, "cargo-vendor").is_empty());
    let out = common::nix_build(&path, "result");
    assert!(out.status.success(), "nix-build: {}", stderr(&out));
    let result = PathBuf::from(common::stdout(&out).trim());
    assert!(result.starts_with("/nix/store"), "{}", result.display());
    let printed = run(&mut Command::new(result.join("bin/rust-extension")));
    assert_eq!(printed.trim(), "HashTrieMap: [('a', 1), ('b', 2)]");
}

/// What a backend asks for at build time is in the graph made after
/// `app` resolved it into the build lock: every node of that graph is one
/// `app` made, none is discovered while it runs.
#[test]
fn the_graph_after_app_holds_what_backends_asked_for_at_build_time() {
    let (project, store) = app_project("graph-py-asked", "uv/build-requirements");
    ok(&app(&project, &store, &["--no-binary", "commitizen"]));
    assert!(project.join("lock2build.build.lock").is_file());
    let (_, graph) = graph_with(&project, &store, &["--no-binary", "commitizen"]);
    let made = store_outputs(&store);
    let ids = python_ids(&graph);
    assert!(
        ids.is_subset(&made),
        "not made by app: {:?}",
        ids.difference(&made).collect::<Vec<_>>()
    );
    // legacy-helper's backend asked for cffi (setup_requires): its build
    // environment has it.
    let env = legacy_env(&graph);
    assert!(env.iter().any(|n| n == "cffi"), "{env:?}");
}

/// The build environment of `graph`'s legacy-helper build: the names of
/// its wheels.
fn legacy_env(graph: &serde_json::Value) -> Vec<String> {
    let legacy = common::nodes_of_kind(graph, "python-project")
        .into_iter()
        .chain(common::nodes_of_kind(graph, "python-sdist"))
        .find(|n| n["recipe"]["name"] == "legacy-helper")
        .expect("legacy-helper's build");
    let by_id: BTreeMap<&str, &serde_json::Value> =
        nodes(graph).iter().map(|n| (id(n), n)).collect();
    legacy["recipe"]["env_inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            by_id[i.as_str().unwrap()]["recipe"]["name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// `lock2build graph` alone, before any `app`, on a project whose backend
/// asks at build time for more (legacy-helper's setup_requires: cffi):
/// the graph is complete. Its build environment holds cffi, the build lock
/// records it, and `app` afterwards makes exactly the graph's nodes.
#[test]
fn the_graph_made_before_app_holds_what_backends_ask_for_at_build_time() {
    let (project, store) = app_project("graph-py-asked-first", "uv/build-requirements");
    let from_sdist = ["--no-binary", "commitizen"];
    let (_, graph) = graph_with(&project, &store, &from_sdist);
    let env = legacy_env(&graph);
    assert!(env.iter().any(|n| n == "cffi"), "{env:?}");
    let lock = std::fs::read_to_string(project.join("lock2build.build.lock")).unwrap();
    assert!(lock.contains("cffi"), "{lock}");
    let app_out = app(&project, &store, &from_sdist);
    let err = stderr(&app_out);
    assert!(app_out.status.success(), "{err}");
    assert!(!err.contains("asks at build time"), "{err}");
    let made = store_outputs(&store);
    let ids = python_ids(&graph);
    assert!(
        ids.is_subset(&made),
        "not made by app: {:?}",
        ids.difference(&made).collect::<Vec<_>>()
    );
    let (_, again) = graph_with(&project, &store, &from_sdist);
    assert_eq!(python_ids(&again), ids, "the graph after app");
}

/// Under `--locked`, `graph` on a project whose build lock lacks what a
/// backend asks for at build time (a lock holding legacy-helper's static
/// requirements only, as committed before its backend asked for cffi)
/// fails naming the package, what it asked for and what to run, and
/// leaves the build lock as it was.
#[test]
fn the_graph_under_locked_refuses_what_the_build_lock_lacks_naming_it() {
    let (first, store) = app_project("graph-py-asked-locked", "uv/build-requirements");
    let from_sdist = ["--no-binary", "commitizen"];
    graph_with(&first, &store, &from_sdist);
    let full = std::fs::read_to_string(first.join("lock2build.build.lock")).unwrap();
    // legacy-helper's entry without what its backend asked for: cffi and
    // its dependency pycparser.
    let mut blocks: Vec<&str> = full.split("\n[[").collect();
    blocks.retain(|b| !b.contains("name = \"cffi\"") && !b.contains("name = \"pycparser\""));
    let stale = blocks
        .join("\n[[")
        .replace("\"cffi>=1.0\", \"packaging\"", "\"packaging\"");
    assert_ne!(stale, full);
    let (project, _) = app_project("graph-py-asked-locked", "uv/build-requirements");
    std::fs::write(project.join("lock2build.build.lock"), &stale).unwrap();
    let path = project.parent().unwrap().join("graph.json");
    let mut args = vec![
        "graph",
        project.to_str().unwrap(),
        "-o",
        path.to_str().unwrap(),
    ];
    args.extend_from_slice(&from_sdist);
    args.push("--locked");
    let out = lock2build(&args, &shared_cache(), &store);
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("legacy-helper") && err.contains("cffi") && err.contains("--locked"),
        "{err}"
    );
    assert!(err.contains("lock2build graph"), "{err}");
    assert!(
        !err.contains("commitizen"),
        "only legacy-helper lacks: {err}"
    );
    assert!(!path.exists());
    let now = std::fs::read_to_string(project.join("lock2build.build.lock")).unwrap();
    assert_eq!(now, stale);
}

/// A package with Rust code (rpds-py: maturin and PyO3, from its sdist)
/// has its crates as graph nodes: each `.crate` a `fetch-url` and a
/// `cargo-crate`, the stubs, the `cargo-vendor` directory, inputs of its
/// `python-sdist` with the Rust toolchain among its toolchains. `realise`
/// of every node in turn, each from the outputs realised before it, makes
/// what `app` made.
#[test]
fn realise_of_every_node_builds_a_python_package_with_rust_crates_as_app_does() {
    let (project, store) = app_project("graph-py-rust", "uv/rust-extension");
    let from_sdist = ["--no-binary", "rpds-py"];
    ok(&app(&project, &store, &from_sdist));
    let (path, graph) = graph_with(&project, &store, &from_sdist);
    let rpds = common::nodes_of_kind(&graph, "python-sdist")
        .into_iter()
        .find(|n| n["recipe"]["name"] == "rpds-py")
        .expect("rpds-py built from its sdist");
    let vendor = rpds["recipe"]["rust"]["vendor"].as_str().unwrap();
    assert!(rpds["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i == vendor));
    for tool in ["rustc", "cargo"] {
        assert!(rpds["toolchains"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == tool));
        assert!(graph["toolchains"][tool]["path"].is_string(), "{tool}");
    }
    let by_id: BTreeMap<&str, &serde_json::Value> =
        nodes(&graph).iter().map(|n| (id(n), n)).collect();
    let vendor_node = by_id[vendor];
    assert_eq!(vendor_node["recipe"]["kind"], "cargo-vendor");
    let crates = vendor_node["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| by_id[i.as_str().unwrap()]["recipe"]["kind"] == "cargo-crate")
        .count();
    assert_eq!(crates, 28, "the crates the host build compiles");

    // Every node realised, inputs first, into a store of the same path
    // length as app's (`Store/` for `store/`: launchers' shebangs).
    let ours = project.parent().unwrap().join("Store/outputs");
    std::fs::create_dir_all(&ours).unwrap();
    let mut made: BTreeMap<String, PathBuf> = BTreeMap::new();
    for node in nodes(&graph) {
        let path_of = |i: &str| match by_id[i]["recipe"]["kind"].as_str().unwrap() {
            "local-tree" => PathBuf::from(by_id[i]["recipe"]["path"].as_str().unwrap()),
            _ => made[i].clone(),
        };
        if node["recipe"]["kind"] == "local-tree" {
            continue;
        }
        let inputs: Vec<(String, PathBuf)> = node["inputs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| (i.as_str().unwrap().to_owned(), path_of(i.as_str().unwrap())))
            .collect();
        let out = ours.join(id(node));
        let done = realise(&path, id(node), &inputs, &out);
        assert!(done.status.success(), "{}: {}", id(node), stderr(&done));
        made.insert(id(node).to_owned(), out);
    }
    // Each built node as app's output (the paths of the inputs it names
    // are ours: read as app's).
    let (app_store, our_store) = (store.join("outputs"), ours.clone());
    let as_app = |root: &Path| -> BTreeMap<PathBuf, String> {
        contents_with(
            root,
            (our_store.to_str().unwrap(), app_store.to_str().unwrap()),
        )
    };
    let mut compared = 0;
    for node in nodes(&graph).iter().filter(|n| n.get("output").is_none()) {
        if node["recipe"]["kind"] == "local-tree" {
            continue;
        }
        let theirs = app_store.join(id(node));
        assert!(theirs.exists(), "app made {}", id(node));
        assert_eq!(
            as_app(&made[id(node)]),
            contents(&theirs),
            "{} ({}) realised against app's output",
            id(node),
            node["recipe"]["kind"]
        );
        compared += 1;
    }
    assert!(compared > crates + 3, "{compared} nodes compared");
    let printed = Command::new(made[graph["result"].as_str().unwrap()].join("bin/rust-extension"))
        .output()
        .unwrap();
    assert_eq!(
        common::stdout(&printed).trim(),
        "HashTrieMap: [('a', 1), ('b', 2)]",
        "{}",
        stderr(&printed)
    );
}
