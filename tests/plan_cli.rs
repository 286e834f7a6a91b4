//! `lock2build plan` end to end, on the real fixtures.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;

fn plan_json(dir: &std::path::Path, extra: &[&str]) -> Value {
    let store = tempdir("store");
    let mut args = vec!["plan", dir.to_str().unwrap(), "--json"];
    args.extend_from_slice(TARGET);
    args.extend_from_slice(extra);
    let out = lock2build(&args, &shared_cache(), &store);
    assert!(
        out.status.success(),
        "plan {} failed: {}",
        dir.display(),
        stderr(&out)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn plan_with_target(dir: &std::path::Path, target: &[&str]) -> Value {
    let mut args = vec!["plan", dir.to_str().unwrap(), "--json"];
    args.extend_from_slice(target);
    let out = lock2build(&args, &shared_cache(), &tempdir("store"));
    assert!(
        out.status.success(),
        "plan {} failed: {}",
        dir.display(),
        stderr(&out)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Selected packages per fixture (roots excluded), each number obtained from
/// the native tool on the same target (see fixtures/README.md, "Selected counts").
const NATIVE_COUNTS: &[(&str, usize, &str)] = &[
    (
        "poetry/flask-pillow",
        13,
        "poetry install --dry-run --only main: 13 installs",
    ),
    (
        "poetry/markers-extras",
        7,
        "poetry install --dry-run --only main: 7 installs, 4 skipped",
    ),
    (
        "uv/native-app",
        7,
        "uv sync --frozen --dry-run --no-dev: would install 8 (the project included)",
    ),
    (
        "uv/project",
        10,
        "uv sync --frozen --dry-run --no-dev: would install 11 (the project included)",
    ),
    (
        "requirements/pip-compile",
        13,
        "pip install --dry-run --no-deps --report: 13",
    ),
    (
        "requirements/universal",
        3,
        "pip install --dry-run --no-deps --report: 3",
    ),
    (
        "pylock/uv-export",
        3,
        "uv pip install --dry-run -r pylock.toml: would install 4 (the project included)",
    ),
    (
        "pylock/pip-lock",
        2,
        "uv pip install --dry-run -r pylock.toml: would install 3 (the project included)",
    ),
    (
        "pylock/pdm",
        2,
        "uv pip install --dry-run -r pylock.toml: would install 3 (the project included)",
    ),
    (
        "pylock/uv-sources",
        4,
        "uv pip install --dry-run -r pylock.toml: would install 5 (the project included)",
    ),
    (
        "npm/v3-resolved",
        13,
        "npm ci --dry-run --ignore-scripts --omit=dev: added 13",
    ),
    (
        "npm/v1",
        59,
        "npm ci --dry-run --ignore-scripts --omit=dev: added 59",
    ),
];

#[test]
fn selected_counts_match_the_native_tools() {
    for (fixture_dir, expected, how) in NATIVE_COUNTS {
        let plan = plan_json(&fixture(fixture_dir), &[]);
        let non_roots = plan["packages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p.get("root").and_then(Value::as_bool) != Some(true))
            .count();
        assert_eq!(non_roots, *expected, "{fixture_dir}: expected as {how}");
    }
}

#[test]
fn cargo_plan_holds_every_locked_crate() {
    // Cargo.lock does not say which platform a crate is for: all apply,
    // as `cargo metadata` (saved next to the fixture) lists them all.
    for dir in [
        "cargo/v4-workspace",
        "cargo/v3-git",
        "cargo/v2-msrv",
        "cargo/v1-translated",
    ] {
        let plan = plan_json(&fixture(dir), &[]);
        let metadata = std::fs::read_to_string(fixture(dir).join("cargo-metadata.txt")).unwrap();
        let listed = metadata
            .lines()
            .filter(|l| l.starts_with("package "))
            .count();
        assert_eq!(plan["packages"].as_array().unwrap().len(), listed, "{dir}");
    }
}

#[test]
fn plan_snapshots() {
    for dir in [
        "poetry/flask-pillow",
        "poetry/markers-extras",
        "poetry/lock-1.1",
        "poetry/lock-2.0",
        "uv/project",
        "uv/native-app",
        "requirements/pip-compile",
        "requirements/universal",
        "npm/v3-resolved",
        "npm/v3-no-resolved",
        "npm/v2",
        "npm/v1",
        "npm/workspace",
        "cargo/v4-workspace",
        "cargo/v3-git",
        "cargo/v1-translated",
    ] {
        let mut plan = plan_json(&fixture(dir), &[]);
        plan["generator"] = Value::String("lock2build".into());
        // The fixture's sparse registry is not running: the warning says why,
        // in words that depend on the OS; keep only its start.
        for project in plan["projects"].as_array_mut().unwrap() {
            for w in project
                .get_mut("warnings")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                let m = w["message"].as_str().unwrap_or_default().to_owned();
                if let Some(i) = m.find(" (") {
                    w["message"] = Value::String(format!("{}…", &m[..i]));
                }
            }
        }
        insta::assert_json_snapshot!(dir.replace('/', "__"), plan);
    }
}

#[test]
fn every_artifact_has_url_and_integrity() {
    for dir in [
        "poetry/flask-pillow",
        "requirements/pip-compile",
        "uv/native-app",
        "npm/v3-no-resolved",
        "npm/v1",
    ] {
        let plan = plan_json(&fixture(dir), &[]);
        for p in plan["packages"].as_array().unwrap() {
            let Some(a) = p.get("artifact").filter(|a| !a.is_null()) else {
                continue;
            };
            assert!(
                a["url"].as_str().is_some_and(|u| u.starts_with("https://")),
                "{dir}: {p}"
            );
            assert!(
                a["integrity"]
                    .as_str()
                    .is_some_and(|i| i.starts_with("sha")),
                "{dir}: {p}"
            );
        }
    }
}

#[test]
fn picks_wheels_for_the_target_and_sdist_when_asked() {
    let plan = plan_json(&fixture("uv/native-app"), &[]);
    let by_name = |plan: &Value, name: &str| -> Value {
        plan["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
            .unwrap()
    };
    // psycopg2 has no Linux wheel: its sdist.
    assert_eq!(by_name(&plan, "psycopg2")["artifact"]["kind"], "sdist");
    let lxml = by_name(&plan, "lxml");
    let file = lxml["artifact"]["filename"].as_str().unwrap();
    assert!(
        file.contains("cp311") && file.contains("manylinux"),
        "{file}"
    );
    // An older glibc rules out newer manylinux wheels.
    let old = plan_with_target(
        &fixture("uv/native-app"),
        &["--python-version", "3.11.7", "--libc", "glibc-2.17"],
    );
    let file = by_name(&old, "lxml")["artifact"]["filename"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        file.contains("manylinux_2_17")
            || file.contains("manylinux2014")
            || file.ends_with(".tar.gz"),
        "{file}"
    );
    // --no-binary gives the sdist.
    let src = plan_json(&fixture("uv/native-app"), &["--no-binary", "lxml"]);
    assert_eq!(by_name(&src, "lxml")["artifact"]["kind"], "sdist");
    // macOS arm64 gets a macOS wheel.
    let mac = plan_with_target(
        &fixture("uv/native-app"),
        &[
            "--python-version",
            "3.11.7",
            "--os",
            "macos",
            "--arch",
            "aarch64",
        ],
    );
    let file = by_name(&mac, "pyyaml")["artifact"]["filename"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(file.contains("macosx") && file.contains("arm64"), "{file}");
}

#[test]
fn groups_and_extras_by_flag() {
    let names = plan_names;
    let base = plan_json(&fixture("poetry/markers-extras"), &[]);
    assert!(!names(&base).contains(&"pytest".to_string()));
    assert!(!names(&base).contains(&"rich".to_string()));
    let excluded = &base["projects"][0]["excluded"];
    assert!(excluded
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["name"] == "pytest" && e["reason"] == "dev"));
    let dev = plan_json(&fixture("poetry/markers-extras"), &["--group", "dev"]);
    assert!(names(&dev).contains(&"pytest".to_string()));
    let extra = plan_json(&fixture("poetry/markers-extras"), &["--all-extras"]);
    assert!(names(&extra).contains(&"rich".to_string()));
    // npm: sharp's platform packages for linux-x64-glibc only.
    let npm = plan_json(&fixture("npm/v3-resolved"), &[]);
    let img: Vec<String> = names(&npm)
        .into_iter()
        .filter(|n| n.starts_with("@img/"))
        .collect();
    assert!(
        img.iter()
            .all(|n| n.contains("linux-x64") || n == "@img/colour"),
        "{img:?}"
    );
    let npm_dev = plan_json(&fixture("npm/v3-resolved"), &["--dev"]);
    assert!(names(&npm_dev).contains(&"typescript".to_string()));
}

#[test]
fn several_lockfiles_give_one_plan() {
    let dir = tempdir("monorepo");
    copy_dir(&fixture("poetry/flask-pillow"), &dir.join("backend"));
    copy_dir(&fixture("npm/v3-resolved"), &dir.join("frontend"));
    let plan = plan_json(&dir, &[]);
    let projects = plan["projects"].as_array().unwrap();
    assert_eq!(projects.len(), 2);
    assert_eq!(projects[0]["lockfile"], "backend/poetry.lock");
    assert_eq!(projects[1]["lockfile"], "frontend/package-lock.json");
    let ecosystems: std::collections::BTreeSet<&str> = plan["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["ecosystem"].as_str().unwrap())
        .collect();
    assert_eq!(ecosystems.into_iter().collect::<Vec<_>>(), ["npm", "pypi"]);
    // The summary names both.
    let out = lock2build(
        &["plan", dir.to_str().unwrap()],
        &shared_cache(),
        &tempdir("store"),
    );
    let text = stdout(&out);
    assert!(
        text.contains("backend/poetry.lock (pypi")
            && text.contains("frontend/package-lock.json (npm"),
        "{text}"
    );
}

#[test]
fn summary_says_what_was_left_out_and_why() {
    let out = lock2build(
        &[
            "plan",
            fixture("npm/v3-resolved").to_str().unwrap(),
            "--os",
            "linux",
            "--arch",
            "x86_64",
            "--libc",
            "glibc-2.36",
            "--python-version",
            "3.11",
        ],
        &shared_cache(),
        &tempdir("store"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("14 packages apply"), "{text}");
    assert!(text.contains("other platform (22)"), "{text}");
    assert!(text.contains("dev (1): typescript"), "{text}");
}

#[test]
fn no_lockfile_says_which_command_makes_one() {
    let dir = tempdir("nolock");
    std::fs::write(
        dir.join("package.json"),
        r#"{"name":"x","version":"1.0.0"}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"x\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    let out = lock2build(
        &["plan", dir.to_str().unwrap()],
        &shared_cache(),
        &tempdir("store"),
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("no lockfile found"), "{err}");
    assert!(
        err.contains("npm install --package-lock-only") && err.contains("cargo generate-lockfile"),
        "{err}"
    );
}

#[test]
fn bad_lockfiles_name_file_and_line() {
    let dir = tempdir("badlock");
    std::fs::write(
        dir.join("uv.lock"),
        "version = 1\n[[package]]\nname = \"x\"\nversion = \n",
    )
    .unwrap();
    let out = lock2build(
        &["plan", dir.to_str().unwrap()],
        &shared_cache(),
        &tempdir("store"),
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("uv.lock:4"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    let dir = tempdir("badversion");
    std::fs::write(
        dir.join("package-lock.json"),
        "{\"name\":\"x\",\"lockfileVersion\":9,\"packages\":{}}",
    )
    .unwrap();
    let out = lock2build(
        &["plan", dir.to_str().unwrap()],
        &shared_cache(),
        &tempdir("store"),
    );
    let err = stderr(&out);
    assert!(
        !out.status.success() && err.contains("package-lock.json") && err.contains('9'),
        "{err}"
    );
}

#[test]
fn second_plan_needs_no_network() {
    let cache = tempdir("cache");
    let store = tempdir("store");
    let dir = fixture("poetry/flask-pillow");
    let offline = lock2build(
        &["plan", dir.to_str().unwrap(), "--offline"],
        &cache,
        &store,
    );
    assert!(
        !offline.status.success(),
        "an empty cache cannot answer offline"
    );
    assert!(
        stderr(&offline).contains("--offline"),
        "{}",
        stderr(&offline)
    );
    let first = lock2build(&["plan", dir.to_str().unwrap(), "--json"], &cache, &store);
    assert!(first.status.success(), "{}", stderr(&first));
    let second = lock2build(
        &["plan", dir.to_str().unwrap(), "--json", "--offline"],
        &cache,
        &store,
    );
    assert!(second.status.success(), "{}", stderr(&second));
    assert_eq!(first.stdout, second.stdout);
}

#[test]
fn sparse_registry_crates_get_their_url_from_config_json() {
    let server = Server::start();
    server.route(
        "/index/config.json",
        "application/json",
        format!(
            r#"{{"dl": "{}/dl/{{crate}}/{{version}}.crate"}}"#,
            server.base
        ),
    );
    let dir = tempdir("sparse");
    copy_dir(&fixture("cargo/v4-workspace"), &dir);
    for file in ["Cargo.lock", ".cargo/config.toml"] {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("http://127.0.0.1:8765", &server.base);
        std::fs::write(path, text).unwrap();
    }
    let cache = tempdir("cache");
    let out = lock2build(
        &["plan", dir.to_str().unwrap(), "--json"],
        &cache,
        &tempdir("store"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let local = plan["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "localcrate")
        .unwrap()
        .clone();
    assert_eq!(
        local["artifact"]["url"],
        format!("{}/dl/localcrate/0.1.0.crate", server.base)
    );
    // Cached: a second plan works offline.
    let out = lock2build(
        &["plan", dir.to_str().unwrap(), "--json", "--offline"],
        &cache,
        &tempdir("store"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(server.hits(), 1);
}

#[test]
fn a_lock_for_another_python_range_is_refused_naming_the_range_and_the_python() {
    // uv.lock `requires-python = ">=3.9"`; poetry.lock `python-versions = "^3.9"`.
    for (fixture_rel, lockfile, range) in [
        ("uv/project", "uv.lock", ">=3.9"),
        ("poetry/lock-2.0", "poetry.lock", ">=3.9,<4.0"),
    ] {
        let out = lock2build(
            &[
                "plan",
                fixture(fixture_rel).to_str().unwrap(),
                "--python-version",
                "3.8.10",
                "--os",
                "linux",
                "--arch",
                "x86_64",
            ],
            &shared_cache(),
            &tempdir("store"),
        );
        assert!(!out.status.success(), "{fixture_rel}");
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "{lockfile}: the lock is for Python `{range}` (requires-python), but the target is Python 3.8.10"
            )),
            "{err}"
        );
        assert!(err.contains("--python PATH"), "{err}");
    }
    // In the range: planned.
    plan_with_target(
        &fixture("uv/project"),
        &[
            "--python-version",
            "3.9.18",
            "--os",
            "linux",
            "--arch",
            "x86_64",
        ],
    );
}

/// A PEP 691 page for the files of `lock`'s pyyaml, less `leave_out`.
fn pyyaml_page(base: &str, lock: &Path, leave_out: &str) -> String {
    let doc: toml::Table = toml::from_str(&std::fs::read_to_string(lock).unwrap()).unwrap();
    let files: Vec<Value> = doc["package"][0]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let name = f["file"].as_str().unwrap();
            let sha = f["hash"].as_str().unwrap().strip_prefix("sha256:").unwrap();
            serde_json::json!({"filename": name, "url": format!("{base}/files/{name}"), "hashes": {"sha256": sha}})
        })
        .filter(|f| f["filename"] != leave_out)
        .collect();
    serde_json::json!({"meta": {"api-version": "1.0"}, "name": "pyyaml", "files": files})
        .to_string()
}

#[test]
fn a_locked_file_the_index_no_longer_lists_fails_the_plan_only_when_chosen() {
    // poetry.lock lists all 73 files of pyyaml 6.0.3; the index has
    // deleted one (as PyPI projects do: poetry2nix's triton case).
    let chosen = "pyyaml-6.0.3-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl";
    let other = "pyyaml-6.0.3-cp311-cp311-win_amd64.whl";
    for (leave_out, fails) in [(other, false), (chosen, true)] {
        let server = Server::start();
        let dir = tempdir("unlisted");
        copy_dir(&fixture("poetry/many-wheels"), &dir);
        let lock = dir.join("poetry.lock");
        let text = std::fs::read_to_string(&lock).unwrap();
        assert!(text.contains(leave_out));
        std::fs::write(
            &lock,
            text.replace(
                "url = \"https://pypi.org/simple\"",
                &format!("url = \"{}/simple\"", server.base),
            ),
        )
        .unwrap();
        server.route(
            "/simple/pyyaml/",
            "application/vnd.pypi.simple.v1+json",
            pyyaml_page(&server.base, &lock, leave_out),
        );
        let mut args = vec!["plan", dir.to_str().unwrap(), "--json"];
        args.extend_from_slice(TARGET);
        let out = lock2build(&args, &tempdir("cache"), &tempdir("store"));
        let err = stderr(&out);
        if fails {
            assert!(!out.status.success());
            assert!(
                err.contains(&format!(
                    "poetry.lock: pyyaml 6.0.3: the index does not list the locked file {chosen}"
                )),
                "{err}"
            );
        } else {
            assert!(out.status.success(), "{err}");
            let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
            let pyyaml = plan["packages"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == "pyyaml")
                .unwrap();
            assert_eq!(
                pyyaml["artifact"]["url"],
                format!("{}/files/{chosen}", server.base)
            );
        }
    }
}

#[test]
fn a_requirements_file_compiled_for_another_python_is_refused_naming_the_file_and_its_range() {
    // `uv pip compile --python-version 3.12` of sphinx 9.1.0, whose files
    // PyPI lists with `requires-python: ">=3.12"` (the page is PyPI's own
    // answer, cut to those files). A requirements.txt has no range of its
    // own: pip refuses to install such a file on 3.11, and so must the plan.
    let server = Server::start();
    let dir = tempdir("for-py312");
    copy_dir(&fixture("requirements/for-py312"), &dir);
    let lock = dir.join("requirements.txt");
    let text = std::fs::read_to_string(&lock).unwrap();
    std::fs::write(
        &lock,
        text.replace(
            "--index-url https://pypi.org/simple",
            &format!("--index-url {}/simple", server.base),
        ),
    )
    .unwrap();
    server.route(
        "/simple/sphinx/",
        "application/vnd.pypi.simple.v1+json",
        std::fs::read(dir.join("sphinx-page.json")).unwrap(),
    );
    // The cache holds the page as an older lock2build wrote it (no
    // `version`, no `requires-python`): it is fetched again, not trusted.
    let cache = tempdir("cache");
    let page_url = format!("{}/simple/sphinx/", server.base);
    let page: Value =
        serde_json::from_slice(&std::fs::read(dir.join("sphinx-page.json")).unwrap()).unwrap();
    let old_files: Vec<Value> = page["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| serde_json::json!({"filename": f["filename"], "url": f["url"], "hashes": f["hashes"]}))
        .collect();
    let cached = cache
        .join("index")
        .join(format!("{}.json", &sha256_hex(page_url.as_bytes())[..32]));
    std::fs::create_dir_all(cached.parent().unwrap()).unwrap();
    std::fs::write(
        &cached,
        serde_json::json!({"url": page_url, "files": old_files}).to_string(),
    )
    .unwrap();
    let plan_for = |python: &str, cache: &Path| {
        let mut args = vec!["plan", dir.to_str().unwrap(), "--json", "--lockfile"];
        args.push(lock.to_str().unwrap());
        args.extend_from_slice(TARGET);
        args[6] = python; // TARGET's `--python-version` value
        lock2build(&args, cache, &tempdir("store"))
    };
    let out = plan_for("3.11.7", &cache);
    assert_eq!(server.hits(), 1, "the old-format page is fetched again");
    let rewritten: Value = serde_json::from_slice(&std::fs::read(&cached).unwrap()).unwrap();
    assert_eq!(rewritten["version"], 1, "the same cache entry, now current");
    assert_eq!(rewritten["files"][0]["requires_python"], ">=3.12");
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("requirements.txt: 1 locked file requires another Python (the index's requires-python), but the target is Python 3.11.7:\n  sphinx 9.1.0 (sphinx-9.1.0-py3-none-any.whl: `>=3.12`)"),
        "{err}"
    );
    assert_eq!(err.matches("help:").count(), 1, "{err}");
    assert!(err.contains("--python PATH"), "{err}");
    // For a Python in its range the same file is planned.
    let out = plan_for("3.12.1", &tempdir("cache"));
    assert!(out.status.success(), "{}", stderr(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let sphinx = plan["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "sphinx")
        .unwrap();
    assert_eq!(
        sphinx["artifact"]["filename"],
        "sphinx-9.1.0-py3-none-any.whl"
    );
}

#[test]
fn pylock_group_and_extra_markers_follow_group_and_extra() {
    // PDM writes `"dev" in dependency_groups` and `"socks" in extras`.
    let names = |plan: &Value| -> Vec<String> {
        let mut names: Vec<String> = plan["packages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p.get("root").and_then(Value::as_bool) != Some(true))
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    let dir = fixture("pylock/pdm");
    assert_eq!(names(&plan_json(&dir, &[])), ["idna", "six"]);
    assert_eq!(
        names(&plan_json(&dir, &["--group", "dev", "--extra", "socks"])),
        ["idna", "iniconfig", "pysocks", "six"]
    );
    let plan = plan_json(&dir, &[]);
    let excluded = &plan["projects"][0]["excluded"];
    assert_eq!(excluded[0]["name"], "iniconfig");
    assert_eq!(excluded[0]["reason"], "dev");
    assert_eq!(excluded[1]["name"], "pysocks");
    assert_eq!(excluded[1]["reason"], "extra-not-requested");
}

#[test]
fn a_pep723_script_is_planned_from_its_lock() {
    let script = fixture("script/hello.py");
    let plan = plan_json(&script, &[]);
    let project = &plan["projects"][0];
    assert_eq!(project["lockfile"], "hello.py.lock");
    let mut names: Vec<&str> = plan["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["hello", "idna", "pyflakes", "six"]);
    // --lockfile names the same lock.
    let lock = fixture("script/hello.py.lock");
    let again = plan_json(&fixture("script"), &["--lockfile", lock.to_str().unwrap()]);
    assert_eq!(again["packages"], plan["packages"]);
}

#[test]
fn a_pylock_made_for_other_environments_is_refused() {
    // PDM wrote `environments = ["python_version >= \"3.9\""]`.
    let dir = fixture("pylock/pdm");
    let out = lock2build(
        &["plan", dir.to_str().unwrap(), "--python-version", "3.8.18"],
        &shared_cache(),
        &tempdir("store"),
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(
            "pylock.toml: this lock was made for other environments (python_version >= \"3.9\")"
        ),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("re-lock it for this machine"),
        "{}",
        stderr(&out)
    );
    // The target it was made for plans.
    plan_json(&dir, &[]);
}

#[test]
fn a_target_python_the_lock_does_not_allow_is_refused() {
    // uv.lock and pylock.toml record `requires-python = ">=3.9"`.
    for lock in ["uv/project", "pylock/uv-export"] {
        let dir = fixture(lock);
        let out = lock2build(
            &["plan", dir.to_str().unwrap(), "--python-version", "3.8"],
            &shared_cache(),
            &tempdir("store"),
        );
        assert!(!out.status.success(), "{lock}");
        assert!(
            stderr(&out).contains(
                "the lock is for Python `>=3.9` (requires-python), but the target is Python 3.8"
            ),
            "{lock}: {}",
            stderr(&out)
        );
    }
    // 3.9 (any 3.9.z) is allowed.
    plan_with_target(&fixture("uv/project"), &["--python-version", "3.9"]);
}
