//! nix/ with `pkgs`: a built node's toolchains and native libraries come
//! from the package set, by the attribute names the graph records, and
//! `lock2build realise` builds with those store paths instead of the
//! host's. There is no nixpkgs here: `tests/common/test-pkgs.nix` is a
//! stand-in (wrappers of the host's tools, copies of the host's OpenSSL
//! and SQLite with their own `.pc` files), each attribute a derivation.

mod common;

use common::{app_project, graph_of, have_nix, nodes_of_kind};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The stand-in pkgs' arguments, from the host the graph was made on.
fn pkgs_args(graph: &serde_json::Value) -> String {
    let rustc = graph["toolchains"]["rustc"]["path"].as_str().unwrap();
    let rust_bin = Path::new(rustc).parent().unwrap().display().to_string();
    let ask = |program: &str, args: &[&str]| {
        let out = Command::new(program).args(args).output().unwrap();
        assert!(out.status.success(), "{program} {args:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    format!(
        "{{ rustBin = \"{rust_bin}\"; libdir = \"{}\"; multiarch = \"{}\"; \
         opensslVersion = \"{}\"; sqliteVersion = \"{}\"; }}",
        ask("pkg-config", &["--variable=libdir", "openssl"]),
        ask("cc", &["-print-multiarch"]),
        ask("pkg-config", &["--modversion", "openssl"]),
        ask("pkg-config", &["--modversion", "sqlite3"]),
    )
}

/// A Nix file importing nix/ with the stand-in pkgs, minus `without`.
fn with_pkgs(dir: &Path, graph: &serde_json::Value, without: &[&str]) -> PathBuf {
    let file = dir.join(format!("with-pkgs-{}.nix", without.join("-")));
    let without: Vec<String> = without.iter().map(|a| format!("\"{a}\"")).collect();
    let text = format!(
        "{{ graph, lock2build }}:\nimport {nix} {{\n  inherit graph lock2build;\n  \
         pkgs = builtins.removeAttrs (import {pkgs} {args}) [ {without} ];\n}}\n",
        nix = common::repo().join("nix").display(),
        pkgs = common::repo().join("tests/common/test-pkgs.nix").display(),
        args = pkgs_args(graph),
        without = without.join(" "),
    );
    std::fs::write(&file, text).unwrap();
    file
}

/// `nix-instantiate`/`nix-build FILE -A ATTR` as tests/common's nix_build.
fn nix(program: &str, file: &Path, graph: &Path, attr: &str) -> Output {
    let bin = std::ffi::OsStr::new(env!("CARGO_BIN_EXE_lock2build"));
    nix_with(program, (file, graph, bin), attr, &[])
}

/// The same with another lock2build binary and more arguments.
fn nix_with(
    program: &str,
    (file, graph, lock2build): (&Path, &Path, &std::ffi::OsStr),
    attr: &str,
    extra: &[&str],
) -> Output {
    Command::new(program)
        .arg(file)
        .args(["--arg", "graph"])
        .arg(graph)
        .args(["--arg", "lock2build"])
        .arg(lock2build)
        .args(["-A", attr, "--option", "substituters", ""])
        .args(["--option", "build-users-group", ""])
        .args(if program == "nix-build" {
            &["--no-out-link"][..]
        } else {
            &[]
        })
        .args(extra)
        .output()
        .unwrap()
}

fn one_id(graph: &serde_json::Value, kind: &str) -> String {
    nodes_of_kind(graph, kind)[0]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The derivation of `node` (the graph at `graph`, with `file`'s pkgs)
/// has each stand-in `test-<name>` derivation among its inputs.
fn assert_takes(file: &Path, graph: &Path, node: &str, names: &[&str]) {
    let drv = out_text(&nix(
        "nix-instantiate",
        file,
        graph,
        &format!("nodes.\"{node}\""),
    ));
    let refs = out_text(
        &Command::new("nix-store")
            .args(["-q", "--references", &drv])
            .output()
            .unwrap(),
    );
    for name in names {
        let suffix = format!("-test-{name}.drv");
        assert!(
            refs.lines().any(|l| l.ends_with(&suffix)),
            "{drv} does not take test-{name}:\n{refs}"
        );
    }
}

fn out_text(out: &Output) -> String {
    assert!(out.status.success(), "{}", common::stderr(out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn the_cargo_app_builds_with_the_toolchains_and_libraries_of_pkgs() {
    if !have_nix() {
        return;
    }
    let (project, store) = app_project("graph-nixpkgs-build", "cargo/native-app");
    let (path, graph) = graph_of(&project, &store);
    // What nix/ reads: the attributes of each toolchain and library.
    assert_eq!(graph["toolchains"]["rustc"]["nixpkgs"], "rustc");
    assert_eq!(graph["native"]["openssl"]["nixpkgs"][0], "openssl");
    assert_eq!(graph["native"]["sqlite3"]["nixpkgs"][0], "sqlite");
    let file = with_pkgs(project.parent().unwrap(), &graph, &[]);
    let deps = one_id(&graph, "cargo-deps");

    // The deps' derivation has the pkgs' derivations among its inputs.
    assert_takes(
        &file,
        &path,
        &deps,
        &["rustc", "cargo", "cc", "pkg-config", "openssl", "sqlite"],
    );

    let made = out_text(&nix("nix-build", &file, &path, "result"));
    let run = Command::new(Path::new(&made).join("bin/native-app"))
        .arg("hello")
        .output()
        .unwrap();
    let said = out_text(&run);
    assert!(said.contains("openssl OpenSSL"), "{said}");
    assert!(said.contains("sqlite 3."), "{said}");

    // openssl-sys found OpenSSL through the pkgs' .pc file (PKG_CONFIG_LIBDIR
    // has only the pkgs' modules): its build script printed the dev
    // output's include directory, not /usr/include.
    let deps_out = out_text(&nix(
        "nix-build",
        &file,
        &path,
        &format!("nodes.\"{deps}\""),
    ));
    let build = Path::new(&deps_out).join("target/release/build");
    let printed: String = std::fs::read_dir(&build)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("openssl-sys-"))
        .filter_map(|e| std::fs::read_to_string(e.path().join("output")).ok())
        .collect();
    let include = printed
        .lines()
        .find_map(|l| l.strip_prefix("cargo:include="))
        .unwrap_or_else(|| panic!("openssl-sys printed no include:\n{printed}"));
    assert!(
        include.starts_with("/nix/store/") && include.ends_with("-test-openssl-dev/include"),
        "{include}"
    );
}

#[test]
fn a_package_pkgs_lacks_fails_evaluation_naming_the_node_and_the_attribute() {
    if !have_nix() {
        return;
    }
    let (project, store) = app_project("graph-nixpkgs-missing", "cargo/native-app");
    let (path, graph) = graph_of(&project, &store);
    let dir = project.parent().unwrap();
    let deps = one_id(&graph, "cargo-deps");
    let node = format!("nodes.\"{deps}\"");

    for (without, needs) in [
        ("sqlite", "the native library `sqlite3`"),
        ("rustc", "the `rustc` toolchain"),
    ] {
        let file = with_pkgs(dir, &graph, &[without]);
        let out = nix("nix-instantiate", &file, &path, &node);
        let err = common::stderr(&out);
        assert!(
            !out.status.success()
                && err.contains(&format!("node `{deps}` needs {needs} from pkgs"))
                && err.contains(&format!("no attribute `{without}`")),
            "{err}"
        );
    }

    // A node without toolchains or libraries needs neither.
    let vendor = one_id(&graph, "cargo-vendor");
    let no_rustc = with_pkgs(dir, &graph, &["rustc"]);
    let out = nix(
        "nix-instantiate",
        &no_rustc,
        &path,
        &format!("nodes.\"{vendor}\""),
    );
    out_text(&out);
}

/// With Nix's `sandbox = true` nothing of the host is visible, so the node's
/// tools must all be store paths: lock2build itself (a statically linked
/// build, since the host's loader and libc are not there) and the pkgs'
/// rustc and cargo (`storeRust`: the host's copied into the store with
/// their libraries). Opt-in: `LOCK2BUILD_STATIC_BIN` names a static
/// lock2build (`RUSTFLAGS='-C target-feature=+crt-static' cargo build
/// --target x86_64-unknown-linux-gnu`), and patchelf must be installed.
#[test]
fn a_cargo_node_builds_in_nixs_sandbox_with_the_toolchains_of_pkgs() {
    let Some(static_bin) = std::env::var_os("LOCK2BUILD_STATIC_BIN") else {
        eprintln!("LOCK2BUILD_STATIC_BIN is not set: skipping (a static lock2build runs in Nix's sandbox)");
        return;
    };
    if !have_nix() || !Path::new("/usr/bin/patchelf").exists() {
        eprintln!(
            "nix-build or /usr/bin/patchelf missing: skipping (apt-get install nix-bin patchelf)"
        );
        return;
    }
    let (project, store) = app_project("graph-nixpkgs-sandbox", "cargo/native-app");
    let (path, graph) = graph_of(&project, &store);
    let dir = project.parent().unwrap();
    let file = dir.join("sandboxed.nix");
    std::fs::write(
        &file,
        format!(
            "{{ graph, lock2build }}:\nlet base = import {pkgs} {args}; in\nimport {nix} {{\n  \
             inherit graph lock2build;\n  \
             pkgs = base // {{ rustc = base.storeRust; cargo = base.storeRust; }};\n}}\n",
            nix = common::repo().join("nix").display(),
            pkgs = common::repo().join("tests/common/test-pkgs.nix").display(),
            args = pkgs_args(&graph),
        ),
    )
    .unwrap();
    let skeleton = one_id(&graph, "cargo-skeleton");
    let attr = format!("nodes.\"{skeleton}\"");
    let run =
        |program: &str, args: &[&str]| nix_with(program, (&file, &path, &static_bin), &attr, args);
    // The pkgs (made from the host's files) are built first, outside the
    // sandbox; then the node, inside it.
    build_inputs_of(&out_text(&run("nix-instantiate", &[])));
    let made = run("nix-build", &["--option", "sandbox", "true"]);
    assert!(made.status.success(), "{}", common::stderr(&made));
    // A fixed output may exist from an earlier build: --check makes it
    // again (in the sandbox) and compares.
    let again = run("nix-build", &["--check", "--option", "sandbox", "true"]);
    let err = common::stderr(&again);
    assert!(again.status.success(), "{err}");
    assert!(
        err.contains("-native-app-skeleton.drv"),
        "nothing was built:\n{err}"
    );
    // Nix checked the output against the skeleton's NAR hash: the tree the
    // host's cargo made when the graph was made.
    let out = String::from_utf8_lossy(&again.stdout).trim().to_string();
    assert!(Path::new(&out).join("Cargo.toml").is_file(), "{out}");

    // The control: the stand-in pkgs whose rustc and cargo are scripts
    // exec-ing the host's, which the sandbox does not show.
    let wrappers = with_pkgs(dir, &graph, &[]);
    let args = ["--check", "--option", "sandbox", "true"];
    let drv = nix_with(
        "nix-instantiate",
        (&wrappers, &path, &static_bin),
        &attr,
        &[],
    );
    build_inputs_of(&out_text(&drv));
    let failed = nix_with("nix-build", (&wrappers, &path, &static_bin), &attr, &args);
    let err = common::stderr(&failed);
    assert!(
        !failed.status.success() && err.contains("-test-rustc/bin/rustc --print sysroot"),
        "{err}"
    );
}

/// Builds (outside the sandbox) the derivations `drv` takes.
fn build_inputs_of(drv: &str) {
    let refs = Command::new("nix-store")
        .args(["-q", "--references", drv])
        .output()
        .unwrap();
    let refs = out_text(&refs);
    let built = Command::new("nix-store")
        .args(["-r", "--option", "substituters", ""])
        .args(["--option", "build-users-group", ""])
        .args(refs.lines().filter(|l| l.ends_with(".drv")))
        .output()
        .unwrap();
    out_text(&built);
}

/// `lock2build realise` with `LOCK2BUILD_NIXPKGS` (what nix/ sets).
fn realise_with(graph: &Path, node: &str, given: &str, out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lock2build"))
        .args(["realise", "--graph"])
        .arg(graph)
        .arg(node)
        .arg("--out")
        .arg(out)
        .env("LOCK2BUILD_NIXPKGS", given)
        .env("LOCK2BUILD_SWH_URL", "http://127.0.0.1:9")
        .output()
        .unwrap()
}

#[test]
fn realise_refuses_given_tools_that_lack_what_the_node_runs() {
    let (project, store) = app_project("graph-nixpkgs-realise", "cargo/native-app");
    let (path, graph) = graph_of(&project, &store);
    let dir = project.parent().unwrap();
    let deps = one_id(&graph, "cargo-deps");

    let out = realise_with(&path, &deps, "{\"toolchains\": 3}", &dir.join("o1"));
    let err = common::stderr(&out);
    assert!(
        !out.status.success() && err.contains("LOCK2BUILD_NIXPKGS"),
        "{err}"
    );

    let out = realise_with(&path, &deps, "{}", &dir.join("o2"));
    let err = common::stderr(&out);
    assert!(
        err.contains(&format!("node `{deps}` runs the `cargo` toolchain"))
            && err.contains("LOCK2BUILD_NIXPKGS does not give"),
        "{err}"
    );

    // A package without the binary the graph's toolchain names.
    let empty = dir.join("empty-package");
    std::fs::create_dir_all(empty.join("bin")).unwrap();
    let given = serde_json::json!({
        "toolchains": { "cargo": empty, "cc": empty, "rustc": empty },
    });
    let out = realise_with(&path, &deps, &given.to_string(), &dir.join("o3"));
    let err = common::stderr(&out);
    assert!(
        err.contains("toolchain's package") && err.contains("bin/cargo"),
        "{err}"
    );
    // The toolchains there, a library not.
    for tool in ["cargo", "cc", "rustc"] {
        std::fs::write(empty.join("bin").join(tool), "").unwrap();
    }
    let out = realise_with(&path, &deps, &given.to_string(), &dir.join("o4"));
    let err = common::stderr(&out);
    assert!(
        err.contains(&format!("node `{deps}` links `openssl`"))
            && err.contains("LOCK2BUILD_NIXPKGS does not give"),
        "{err}"
    );
    for o in ["o1", "o2", "o3", "o4"] {
        assert!(!dir.join(o).exists());
    }
}

/// A Python node's interpreter is the pkgs' `python3XY`: the wheel's
/// scripts start with the stand-in's store path, not the host's Python.
#[test]
fn a_python_wheel_is_installed_for_the_python_of_pkgs() {
    if !have_nix() {
        return;
    }
    let (project, store) = app_project("graph-nixpkgs-python", "poetry/flask-pillow");
    let (path, graph) = graph_of(&project, &store);
    let attr = graph["toolchains"]["python"]["nixpkgs"].as_str().unwrap();
    let host = format!("/usr/bin/{}", attr.replacen("python3", "python3.", 1));
    if !Path::new(&host).is_file() {
        eprintln!("{host} missing: skipping (the stand-in {attr} copies it)");
        return;
    }
    let file = project.parent().unwrap().join("with-python.nix");
    std::fs::write(
        &file,
        format!(
            "{{ graph, lock2build }}:\nimport {nix} {{\n  inherit graph lock2build;\n  \
             pkgs = import {pkgs} {{ rustBin = \"/none\"; libdir = \"/none\"; multiarch = \"none\"; \
             opensslVersion = \"0\"; sqliteVersion = \"0\"; pythonAttr = \"{attr}\"; \
             hostPython = \"{host}\"; }};\n}}\n",
            nix = common::repo().join("nix").display(),
            pkgs = common::repo().join("tests/common/test-pkgs.nix").display(),
        ),
    )
    .unwrap();
    let flask = nodes_of_kind(&graph, "python-wheel")
        .into_iter()
        .find(|n| n["name"].as_str().unwrap().starts_with("flask-"))
        .expect("flask's install")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let made = out_text(&nix(
        "nix-build",
        &file,
        &path,
        &format!("nodes.\"{flask}\""),
    ));
    let script = std::fs::read_to_string(Path::new(&made).join("bin/flask")).unwrap();
    let shebang = script.lines().next().unwrap();
    assert!(
        shebang.starts_with("#!/nix/store/")
            && shebang.ends_with(&format!(
                "-test-{attr}/bin/{}",
                Path::new(&host).file_name().unwrap().to_string_lossy()
            )),
        "{shebang}"
    );
}

/// The stand-in pkgs for an npm graph (no Rust, OpenSSL or SQLite read),
/// minus `without`: its `nodejs` links the host's node and npm (the
/// graph's `node` toolchain, its recipes' npm), as nixpkgs lays them out.
fn with_npm_pkgs(dir: &Path, graph: &serde_json::Value, without: &[&str]) -> PathBuf {
    let modules = &nodes_of_kind(graph, "npm-node-modules")[0]["recipe"]["toolchain"];
    let file = dir.join(format!("with-npm-pkgs-{}.nix", without.join("-")));
    let without: Vec<String> = without.iter().map(|a| format!("\"{a}\"")).collect();
    let text = format!(
        "{{ graph, lock2build }}:\nimport {nix} {{\n  inherit graph lock2build;\n  \
         pkgs = builtins.removeAttrs (import {pkgs} {{ rustBin = \"/none\"; libdir = \"/none\"; \
         multiarch = \"none\"; opensslVersion = \"0\"; sqliteVersion = \"0\"; \
         hostNode = \"{node}\"; hostNpm = \"{npm}\"; nodeHeaders = \"{prefix}/include/node\"; }}) \
         [ {without} ];\n}}\n",
        nix = common::repo().join("nix").display(),
        pkgs = common::repo().join("tests/common/test-pkgs.nix").display(),
        node = graph["toolchains"]["node"]["path"].as_str().unwrap(),
        npm = modules["npm_root"].as_str().unwrap(),
        prefix = modules["prefix"].as_str().unwrap(),
        without = without.join(" "),
    );
    std::fs::write(&file, text).unwrap();
    file
}

/// The dependency files (`.o.d`) the compiler wrote under `dir`: the
/// headers each object was compiled with.
fn compiled_headers(dir: &Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            text.push_str(&compiled_headers(&path));
        } else if path.to_string_lossy().ends_with(".o.d") {
            text.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
    text
}

#[test]
fn the_npm_app_builds_with_the_node_and_build_tools_of_pkgs() {
    if !have_nix() {
        return;
    }
    let (project, store) = app_project("graph-nixpkgs-npm", "npm/native-app");
    let (path, graph) = graph_of(&project, &store);
    // The toolchains node-gyp runs, by nixpkgs' names; bcrypt's override
    // lists make and python3, which node_modules runs.
    for (tool, attr) in [
        ("node", "nodejs"),
        ("npm", "nodejs"),
        ("c++", "gcc"),
        ("make", "gnumake"),
        ("python3", "python3"),
    ] {
        assert_eq!(graph["toolchains"][tool]["nixpkgs"], attr, "{tool}");
    }
    let modules = one_id(&graph, "npm-node-modules");
    let runs = &nodes_of_kind(&graph, "npm-node-modules")[0]["toolchains"];
    for tool in ["node", "npm", "c++", "make", "python3"] {
        assert!(runs.as_array().unwrap().iter().any(|t| t == tool), "{runs}");
    }
    let file = with_npm_pkgs(project.parent().unwrap(), &graph, &[]);

    assert_takes(
        &file,
        &path,
        &modules,
        &["nodejs", "cc", "binutils", "make", "python3", "bash"],
    );

    let made = out_text(&nix("nix-build", &file, &path, "result"));
    let bin = Path::new(&made).join("bin/hash-demo");
    // picocolors colours its output when CI is set, whatever the terminal.
    let said = out_text(
        &Command::new(&bin)
            .arg("hello")
            .env("NO_COLOR", "1")
            .output()
            .unwrap(),
    );
    assert!(
        said.contains("bcrypt 5.1.1") && said.contains("verify(hello): true"),
        "{said}"
    );
    // The launcher runs the pkgs' node, not the host's.
    let launcher = std::fs::read_to_string(&bin).unwrap();
    assert!(
        launcher.contains("-test-nodejs/bin/node'")
            && !launcher.contains(graph["toolchains"]["node"]["path"].as_str().unwrap()),
        "{launcher}"
    );
    // node-gyp compiled bcrypt against the headers of the pkgs' nodejs
    // (its nodedir), which the compiler's dependency files name.
    let bcrypt = std::fs::canonicalize(Path::new(&made).join("app/node_modules/bcrypt")).unwrap();
    let headers = compiled_headers(&bcrypt);
    assert!(
        headers.contains("-test-nodejs/include/node/node_api.h"),
        "{}",
        &headers[..headers.len().min(2000)]
    );
}

#[test]
fn an_npm_graph_with_pkgs_lacking_nodejs_or_make_fails_naming_the_node() {
    if !have_nix() {
        return;
    }
    let (project, store) = app_project("graph-nixpkgs-npm-missing", "npm/native-app");
    let (path, graph) = graph_of(&project, &store);
    let dir = project.parent().unwrap();
    let modules = one_id(&graph, "npm-node-modules");
    for (without, needs) in [
        ("nodejs", "the `node` toolchain"),
        ("gnumake", "the `make` toolchain"),
    ] {
        let file = with_npm_pkgs(dir, &graph, &[without]);
        let out = nix(
            "nix-instantiate",
            &file,
            &path,
            &format!("nodes.\"{modules}\""),
        );
        let err = common::stderr(&out);
        assert!(
            !out.status.success()
                && err.contains(&format!("node `{modules}` needs {needs} from pkgs"))
                && err.contains(&format!("no attribute `{without}`")),
            "{err}"
        );
    }
}

#[test]
fn realise_refuses_an_npm_node_given_no_nodejs_or_one_without_npm() {
    let (project, store) = app_project("graph-nixpkgs-npm-realise", "npm/native-app");
    let (path, graph) = graph_of(&project, &store);
    let dir = project.parent().unwrap();
    let modules = one_id(&graph, "npm-node-modules");
    let runs: Vec<String> = nodes_of_kind(&graph, "npm-node-modules")[0]["toolchains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();

    // Every toolchain but node given.
    let package = dir.join("package");
    std::fs::create_dir_all(package.join("bin")).unwrap();
    let mut given = serde_json::Map::new();
    for tool in &runs {
        let binary = Path::new(graph["toolchains"][tool]["path"].as_str().unwrap());
        std::fs::write(package.join("bin").join(binary.file_name().unwrap()), "").unwrap();
        if tool != "node" {
            given.insert(tool.clone(), serde_json::json!(package));
        }
    }
    let doc = |given: &serde_json::Map<String, serde_json::Value>| {
        serde_json::json!({ "toolchains": given }).to_string()
    };
    let out = realise_with(&path, &modules, &doc(&given), &dir.join("o1"));
    let err = common::stderr(&out);
    assert!(
        !out.status.success()
            && err.contains(&format!("node `{modules}` runs the `node` toolchain"))
            && err.contains("LOCK2BUILD_NIXPKGS does not give"),
        "{err}"
    );

    // A node package with bin/node but no lib/node_modules/npm.
    given.insert("node".into(), serde_json::json!(package));
    let out = realise_with(&path, &modules, &doc(&given), &dir.join("o2"));
    let err = common::stderr(&out);
    assert!(
        !out.status.success()
            && err.contains(&format!("node `{modules}`: the `npm` toolchain's package"))
            && err.contains("lib/node_modules/npm/bin/npm-cli.js"),
        "{err}"
    );
    for o in ["o1", "o2"] {
        assert!(!dir.join(o).exists());
    }
}
