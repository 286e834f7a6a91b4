//! `lock2build app` and `overrides check` on an npm project, end to end:
//! `fixtures/npm/native-app` (bcrypt 5, whose install script compiles a
//! native module with node-gyp, and picocolors) laid out from its
//! package-lock.json, its install scripts run in the sandbox, its `npm run
//! build` run, and `result/bin/hash-demo` run with the host's node. Each
//! test copies the fixture and uses its own store.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn project(name: &str) -> (PathBuf, PathBuf) {
    app_project(name, "npm/native-app")
}

/// Writes a project-layer override for an npm package.
fn layer(project: &Path, name: &str, toml: &str) -> PathBuf {
    override_layer(project, "npm", name, toml)
}

/// The node_modules output of a store.
fn modules_dir(store: &Path) -> PathBuf {
    store_output(store, "node-modules").join("node_modules")
}

fn sources_count(store: &Path) -> usize {
    std::fs::read_dir(store.join("sources"))
        .map(|rd| rd.count())
        .unwrap_or(0)
}

#[test]
fn npm_project_builds_bcrypt_from_source_in_the_sandbox_and_its_bin_runs() {
    let (project, store) = project("npm-app");
    let first = report(&app(&project, &store, &["--json"]));
    assert_eq!(strings(&first["scripts"]), ["hash-demo"]);
    assert_eq!(
        strings(&first["built"]),
        ["node_modules", "bcrypt 5.1.1", "native-app 1.0.0"]
    );
    // 59 tarballs for 60 locations: minipass@3 is locked twice
    // (fs-minipass's and minizlib's) and downloaded once.
    assert_eq!(first["artifacts"], 59, "{first}");
    assert_eq!(first["downloaded"], 59, "{first}");

    // The launcher runs the app with the host's node; bcrypt's native
    // module hashes and verifies.
    let out = Command::new(project.join("result/bin/hash-demo"))
        .arg("s3cret")
        // picocolors colours its output when CI is set (as on CI).
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(text.contains("hash: $2b$04$"), "{text}");
    assert!(text.contains("verify(s3cret): true"), "{text}");
    assert!(text.contains("verify(wrong): false"), "{text}");
    // `npm run build` ran (dist/ is not in the fixture).
    assert!(text.contains("built with node v"), "{text}");
    assert!(!fixture("npm/native-app/dist").exists());

    // The .node file was compiled here, from source, against the headers
    // of this node (nodedir), not downloaded: the override's
    // npm_config_build_from_source reached bcrypt's script.
    let modules = modules_dir(&store);
    let bcrypt = modules.join("bcrypt");
    assert!(bcrypt
        .join("build-tmp-napi-v3/Release/bcrypt_lib.node")
        .is_file());
    assert!(bcrypt.join("lib/binding/napi-v3/bcrypt_lib.node").is_file());
    let log = std::fs::read_to_string(first["logs"]["bcrypt 5.1.1"].as_str().unwrap()).unwrap();
    assert!(log.contains("requesting source compile"), "{log}");
    assert!(
        log.contains("CXX(target) Release/obj.target/bcrypt_lib/src/bcrypt_node.o"),
        "{log}"
    );
    assert!(log.contains("include/node/common.gypi"), "{log}");
    assert!(
        !log.contains("https://"),
        "a download was attempted:\n{log}"
    );
    // The tree is laid out as the lock says (a nested copy included) and
    // its bins are linked.
    assert!(modules
        .join("make-dir/node_modules/semver/package.json")
        .is_file());
    assert!(modules.join(".bin/node-pre-gyp").exists());
    // The project directory is not installed into.
    assert!(!project.join("node_modules").exists());
    assert!(!project.join("dist").exists());

    // Nothing changed: nothing fetched, nothing built.
    let again = report(&app(&project, &store, &["--json"]));
    assert_eq!(again["downloaded"], 0);
    assert!(strings(&again["built"]).is_empty(), "{again}");
    assert_eq!(again["reused"], 2);
    assert_eq!(again["output"], first["output"]);

    // A project file changed: only the app is rebuilt; bcrypt is not
    // compiled again and nothing is fetched.
    let script = project.join("bin/hash-demo.js");
    let source = std::fs::read_to_string(&script).unwrap();
    std::fs::write(&script, source.replace("hash: ", "bcrypt hash: ")).unwrap();
    let edited = report(&app(&project, &store, &["--json"]));
    assert_eq!(strings(&edited["built"]), ["native-app 1.0.0"]);
    assert_eq!(edited["downloaded"], 0);
    let out = Command::new(project.join("result/bin/hash-demo"))
        .output()
        .unwrap();
    assert!(
        stdout(&out).contains("bcrypt hash: $2b$"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_failing_install_script_shows_the_log_tail_and_the_override_command() {
    let (project, store) = project("npm-app-failing");
    // The project layer hands bcrypt's script a compiler that fails.
    layer(
        &project,
        "bcrypt",
        "[[entry]]\nversions = \"*\"\nenv = { CXX = \"/bin/false\" }\n",
    );
    let out = app(&project, &store, &["-L", "--keep-failed"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("building bcrypt 5.1.1 from source failed: `npm rebuild bcrypt@5.1.1"),
        "{err}"
    );
    // -L: node-gyp's lines as they came, prefixed with the package.
    assert!(err.contains("bcrypt> gyp ERR!"), "{err}");
    let log = step_log(&err, "bcrypt 5.1.1 (install scripts)");
    assert!(std::fs::read_to_string(log).unwrap().contains("gyp ERR!"));
    // -K: the node_modules being built, with the build directory node-pre-gyp
    // made for bcrypt (its Makefile from node-gyp configure).
    let kept = kept_build_dir(&err, &store);
    assert!(
        kept.join("output/node_modules/bcrypt/build-tmp-napi-v3/Makefile")
            .is_file(),
        "{}",
        kept.display()
    );
    assert!(err.contains("    | "), "no log tail in:\n{err}");
    assert!(err.contains("gyp ERR!"), "{err}");
    assert!(err.contains("override in use: "), "{err}");
    assert!(
        err.contains("lock2build overrides new npm/bcrypt --from-log "),
        "{err}"
    );
    assert!(!project.join("result").exists());
}

#[test]
fn overrides_check_test_builds_the_npm_packages_the_project_layer_touches() {
    let (project, store) = project("npm-overrides-check");
    let patch = "--- /dev/null\n+++ b/LOCK2BUILD_PATCHED\n@@ -0,0 +1 @@\n+patched by a lock2build override\n";
    let dir = layer(
        &project,
        "bcrypt",
        "[[entry]]\nversions = \"<6\"\ntools = [\"python3\", \"make\", \"c++\"]\nenv = { npm_config_build_from_source = \"true\" }\npatches = [\"bcrypt/mark.patch\"]\n",
    );
    std::fs::write(dir.join("bcrypt/mark.patch"), patch).unwrap();
    layer(
        &project,
        "picocolors",
        "[[entry]]\nversions = \"*\"\nnote = \"pure JavaScript\"\n",
    );
    let args = ["overrides", "check", "--dir", project.to_str().unwrap()];
    let out = lock2build(&args, &shared_cache(), &store);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    let log = text
        .lines()
        .find_map(|l| l.strip_prefix("test build ok: npm/bcrypt 5.1.1 (log: "))
        .and_then(|l| l.strip_suffix(')'))
        .unwrap_or_else(|| panic!("no test build of bcrypt in:\n{text}"));
    let log = std::fs::read_to_string(log).unwrap();
    assert!(log.contains("bcrypt_lib.node"), "{log}");
    assert!(
        text.contains("picocolors 1.1.1 has no install script"),
        "{text}"
    );
    // The patch was applied before the script ran.
    assert!(modules_dir(&store)
        .join("bcrypt/LOCK2BUILD_PATCHED")
        .is_file());
}

#[test]
fn missing_node_headers_are_named_before_anything_is_fetched() {
    let (project, store) = project("npm-app-no-headers");
    // A node whose prefix has no include/node.
    let prefix = project.parent().unwrap().join("fake-node");
    std::fs::create_dir_all(prefix.join("bin")).unwrap();
    let node = prefix.join("bin/node");
    std::fs::write(&node, "#!/bin/sh\nexec /usr/bin/node \"$@\"\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&node, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        prefix.join("bin").display(),
        std::env::var("PATH").unwrap()
    );
    let out = Command::new(env!("CARGO_BIN_EXE_lock2build"))
        .args(["app", project.to_str().unwrap()])
        .env("LOCK2BUILD_CACHE", shared_cache())
        .env("LOCK2BUILD_STORE", &store)
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("Node.js headers of "), "{err}");
    assert!(
        err.contains(&prefix.join("include/node").display().to_string()),
        "{err}"
    );
    assert!(err.contains("libnode-dev"), "{err}");
    assert_eq!(sources_count(&store), 0);
}

/// The one file of `dir` whose name starts with `prefix`, read.
fn read_asset(dir: &Path, prefix: &str) -> String {
    let file = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix}* in {}", dir.display()));
    std::fs::read_to_string(file).unwrap()
}

#[test]
fn a_vite_build_writes_into_node_modules_and_dev_tools_get_no_launchers() {
    // fixtures/npm/vite-app: vite 6 bundles its ESM config into
    // node_modules/.vite-temp/ before it builds; esbuild's install script
    // runs, and rollup's and esbuild's Linux packages are picked by os/cpu/libc.
    let (project, store) = app_project("npm-vite", "npm/vite-app");
    let first = report(&app(&project, &store, &["--json"]));
    assert_eq!(
        strings(&first["built"]),
        ["node_modules", "esbuild 0.25.12", "vite-app 1.0.0"]
    );
    let app_dir = project.join("result/app");
    let js = read_asset(&app_dir.join("dist/assets"), "index-");
    // vite's `define` from vite.config.js reached the bundle: the config loaded.
    assert!(js.contains("built by vite"), "{js}");
    // The build wrote into the app's own node_modules, not into the store's tree.
    let modules = app_dir.join("node_modules");
    assert!(modules.join(".vite-temp").is_dir());
    assert!(!std::fs::symlink_metadata(&modules).unwrap().is_symlink());
    assert!(std::fs::symlink_metadata(modules.join("vite"))
        .unwrap()
        .is_symlink());
    assert!(!modules_dir(&store).join(".vite-temp").exists());
    // vite and esbuild are dev tools, not the app: no launchers, and a note
    // saying how to name the entry point.
    assert!(strings(&first["scripts"]).is_empty(), "{first}");
    let notes = strings(&first["notes"]).join("\n");
    assert!(notes.contains("[app] bin = { vite-app = "), "{notes}");
    // fsevents (darwin) and the other platforms' packages are left out.
    assert!(!modules_dir(&store).join("fsevents").exists());
    assert!(modules_dir(&store)
        .join("@rollup/rollup-linux-x64-gnu")
        .is_dir());
    assert!(!modules_dir(&store)
        .join("@rollup/rollup-darwin-x64")
        .exists());
}

#[test]
fn lock2build_toml_names_the_build_script_and_the_entry_point() {
    let (project, store) = app_project("npm-vite-config", "npm/vite-app");
    std::fs::write(
        project.join("lock2build.toml"),
        "[app]\nbuild-script = \"no-such-script\"\n",
    )
    .unwrap();
    let out = app(&project, &store, &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("`[app] build-script = \"no-such-script\"`, but package.json has no script `no-such-script`"),
        "{err}"
    );
    assert!(
        err.contains("its scripts are: build, ci-build-release"),
        "{err}"
    );
    assert_eq!(sources_count(&store), 0);

    std::fs::write(
        project.join("lock2build.toml"),
        "[app]\nbuild-script = \"ci-build-release\"\nbin = { vite-app = \"./server.js\" }\n",
    )
    .unwrap();
    let built = report(&app(&project, &store, &["--json"]));
    assert_eq!(strings(&built["scripts"]), ["vite-app"]);
    assert!(strings(&built["notes"]).is_empty(), "{built}");
    let app_dir = project.join("result/app");
    assert!(app_dir.join("release/index.html").is_file());
    assert!(!app_dir.join("dist").exists());
    let log = std::fs::read_to_string(built["logs"]["vite-app 1.0.0"].as_str().unwrap()).unwrap();
    assert!(log.contains("> vite build --outDir release"), "{log}");
    let out = Command::new(project.join("result/bin/vite-app"))
        .arg("release")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(text.starts_with("serving release: index-"), "{text}");

    // `build-script = ""`: no build step, so no dev dependencies either.
    std::fs::write(
        project.join("lock2build.toml"),
        "[app]\nbuild-script = \"\"\n",
    )
    .unwrap();
    let plain = report(&app(&project, &store, &["--json"]));
    assert_eq!(strings(&plain["built"]), ["node_modules", "vite-app 1.0.0"]);
    assert!(!project.join("result/app/dist").exists());
    assert!(project.join("result/app/node_modules/picocolors").exists());
    assert!(!project.join("result/app/node_modules/vite").exists());
}

/// `result/bin/NAME` run with colours off: its standard output.
fn run_bin(project: &Path, name: &str) -> String {
    let out = Command::new(project.join("result/bin").join(name))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    stdout(&out)
}

#[test]
fn the_project_s_own_bundle_dependencies_are_fetched_and_laid_out() {
    // fixtures/npm/bundled: bundleDependencies ["ms", "debug"], as npm/cli
    // bundles its dependencies; the lock flags them inBundle.
    let (project, store) = app_project("npm-bundled", "npm/bundled");
    let first = report(&app(&project, &store, &["--json"]));
    assert_eq!(first["downloaded"], 3, "{first}");
    let modules = modules_dir(&store);
    assert!(modules.join("ms/package.json").is_file());
    assert!(modules.join("debug/package.json").is_file());
    assert_eq!(
        run_bin(&project, "bundled-app"),
        "bundled: 1m, debug function\n"
    );
}

#[test]
fn an_npm_shrinkwrap_json_is_read_as_the_package_lock() {
    let (project, store) = app_project("npm-shrinkwrap", "npm/shrinkwrap");
    // npm reads npm-shrinkwrap.json and ignores a package-lock.json beside it.
    std::fs::write(project.join("package-lock.json"), "not read").unwrap();
    let out = lock2build(
        &["plan", project.to_str().unwrap(), "--json"],
        &shared_cache(),
        &store,
    );
    let plan: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(plan["projects"][0]["lockfile"], "npm-shrinkwrap.json");
    assert_eq!(plan["projects"][0]["format"], "npm-shrinkwrap.json v3");
    let built = report(&app(&project, &store, &["--json"]));
    assert_eq!(strings(&built["scripts"]), ["shrinkwrapped-cli"]);
    assert_eq!(
        run_bin(&project, "shrinkwrapped-cli"),
        "shrinkwrapped: 2m\n"
    );
    assert!(store_output(&store, "node-modules")
        .join("npm-shrinkwrap.json")
        .is_file());
}

#[test]
fn fsevents_of_a_v1_lock_is_left_out_on_linux_from_its_own_package_json() {
    // npm 6's lock of chokidar 2 says fsevents 1 is optional, not that it
    // is for darwin; its install script would fail here.
    let (project, store) = app_project("npm-v1-fsevents", "npm/v1-fsevents");
    let first = report(&app(&project, &store, &["--json"]));
    let notes = strings(&first["notes"]).join("\n");
    assert!(
        notes.contains("left out node_modules/fsevents (os darwin)"),
        "{notes}"
    );
    let modules = modules_dir(&store);
    assert!(modules.join("chokidar/package.json").is_file());
    assert!(modules.join("braces/package.json").is_file());
    // fsevents, and what only fsevents needed, are not laid out.
    for gone in ["fsevents", "nan", "bindings", "file-uri-to-path"] {
        assert!(!modules.join(gone).exists(), "{gone} was laid out");
    }
    assert!(!strings(&first["built"])
        .iter()
        .any(|b| b.starts_with("fsevents")));
    assert_eq!(
        run_bin(&project, "v1-fsevents"),
        "chokidar function, fsevents absent\n"
    );
    // Built once: nothing fetched the second time, fsevents' tarball included.
    let again = report(&app(&project, &store, &["--json"]));
    assert_eq!(again["downloaded"], 0, "{again}");
    assert!(strings(&again["built"]).is_empty(), "{again}");
}

#[test]
fn the_plan_of_a_v1_lock_leaves_fsevents_out_once_its_package_json_is_fetched() {
    // A copy: `fetch` writes lock2build.trees.json beside the lock.
    let (project, store) = app_project("npm-v1-plan", "npm/v1-fsevents");
    let plan = |extra: &[&str]| -> std::process::Output {
        let mut args = vec!["plan", project.to_str().unwrap()];
        args.extend_from_slice(extra);
        lock2build(&args, &shared_cache(), &store)
    };
    let json = |out: &std::process::Output| -> serde_json::Value {
        serde_json::from_str(&ok(out)).unwrap()
    };
    let names = plan_names;
    // Nothing fetched: the lock does not say fsevents is for darwin, and the
    // plan says it cannot know yet.
    let before = json(&plan(&["--json"]));
    assert!(names(&before).contains(&"fsevents".to_owned()));
    let unknown: Vec<&str> = before["projects"][0]["platform_unknown"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(unknown, ["bindings", "file-uri-to-path", "fsevents", "nan"]);
    let text = ok(&plan(&[]));
    assert!(
        text.contains("platform unknown until fetched (4;") && text.contains("fsevents 1.2.13"),
        "{text}"
    );
    // `fetch` downloads the tarballs (as npm 6 did to read them); the plan
    // then reads fsevents' package.json and agrees with the builder.
    ok(&lock2build(
        &["fetch", project.to_str().unwrap(), "--progress", "quiet"],
        &shared_cache(),
        &store,
    ));
    let after = json(&plan(&["--json"]));
    for gone in ["fsevents", "nan", "bindings", "file-uri-to-path"] {
        assert!(!names(&after).contains(&gone.to_owned()), "{gone} planned");
    }
    assert!(names(&after).contains(&"chokidar".to_owned()));
    let excluded = &after["projects"][0]["excluded"];
    let fsevents = excluded
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "fsevents")
        .unwrap_or_else(|| panic!("{excluded}"));
    assert_eq!(fsevents["reason"], "other-platform");
    assert_eq!(fsevents["detail"], "os darwin, from its package.json");
    assert!(
        after["projects"][0].get("platform_unknown").is_none(),
        "{after}"
    );
    assert_eq!(
        after["projects"][0]["selected"].as_u64().unwrap() + 4,
        before["projects"][0]["selected"].as_u64().unwrap()
    );
    // No edge points at what was left out.
    let ids: Vec<&str> = after["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    for p in after["packages"].as_array().unwrap() {
        for d in p["dependencies"].as_array().unwrap() {
            assert!(ids.contains(&d.as_str().unwrap()), "{d} dangles");
        }
    }
    let text = ok(&plan(&[]));
    assert!(
        text.contains("other platform (1): fsevents 1.2.13"),
        "{text}"
    );
}

/// The package names of `lock2build plan DIR --json EXTRA…`.
fn planned(dir: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["plan", dir.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    let out = lock2build(&args, &shared_cache(), &tempdir("npm-plan-store"));
    plan_names(&serde_json::from_str(&ok(&out)).unwrap())
}

#[test]
fn optional_peers_and_dev_packages_reached_by_peers_are_not_selected_without_dev() {
    // cosmiconfig's optional peer typescript is locked only because the
    // project has it as a dev dependency (`devOptional`).
    let optional = fixture("npm/peers-optional");
    let names = planned(&optional, &[]);
    assert!(names.contains(&"cosmiconfig".to_owned()), "{names:?}");
    assert!(!names.contains(&"typescript".to_owned()), "{names:?}");
    assert!(planned(&optional, &["--dev"]).contains(&"typescript".to_owned()));
    // Locked with --legacy-peer-deps: react is flagged `dev` though
    // react-dom has it as a peer; `npm ci --omit=dev` leaves it out.
    let legacy = fixture("npm/peers-legacy");
    let names = planned(&legacy, &[]);
    assert_eq!(
        names,
        [
            "js-tokens",
            "legacy-peers-app",
            "loose-envify",
            "react-dom",
            "scheduler"
        ]
    );
    assert!(planned(&legacy, &["--dev"]).contains(&"react".to_owned()));
}

#[test]
fn a_dev_dependency_that_is_also_an_optional_peer_gets_no_launcher() {
    // typescript is `devOptional` in this lock (the project's dev
    // dependency and cosmiconfig's optional peer), not `dev`: package.json
    // says it is a dev tool, so tsc and tsserver are not the app's bins.
    let (project, store) = app_project("npm-dev-optional", "npm/peers-optional");
    let built = report(&app(&project, &store, &["--json", "--dev"]));
    assert!(modules_dir(&store).join("typescript/bin/tsc").is_file());
    assert!(strings(&built["scripts"]).is_empty(), "{built}");
    // Named, a dev tool's bin is offered.
    let named = report(&app(
        &project,
        &store,
        &["--json", "--dev", "--script", "tsc"],
    ));
    assert_eq!(strings(&named["scripts"]), ["tsc"]);
    let out = Command::new(project.join("result/bin/tsc"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "Version 5.6.3\n");
}
