//! End-to-end tests of `lock2build sources` over the real fixtures.
//!
//! The expected hashes are read from each lockfile here, independently of
//! the importers (serde_json / toml / a scan of `--hash=` options), and the
//! `swh` list must hold exactly those: every lock hash with the same SRI,
//! nothing missing, nothing extra. Python fixtures need PyPI's simple index
//! once; pages are cached in `$LOCK2BUILD_CACHE` or
//! `target/lock2build-test-cache`.

use base64::Engine;
use lock2build_plan::plan::PlanOptions;
use lock2build_plan::pyindex::IndexOptions;
use lock2build_plan::select::SelectOptions;
use lock2build_plan::target::{Target, TargetOptions};
use lock2build_sources::{collect, collect_with, render, swh, Format, SourcesReport, EXIT_SKIPPED};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn options() -> &'static PlanOptions {
    static OPTIONS: OnceLock<PlanOptions> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        let cache = std::env::var_os("LOCK2BUILD_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| root().join("target/lock2build-test-cache"));
        PlanOptions {
            target: Target::resolve(&TargetOptions {
                python_version: Some("3.12".into()),
                ..Default::default()
            })
            .expect("host target"),
            select: SelectOptions::default(),
            index: IndexOptions::new(cache, false),
        }
    })
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("l2b-sources-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn sri(algo: &str, hex_digest: &str) -> String {
    let bytes = hex::decode(hex_digest).expect("hex digest");
    format!(
        "{algo}-{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// The strongest of an npm `integrity` string.
fn npm_strongest(integrity: &str) -> String {
    let rank = |s: &str| {
        ["md5-", "sha1-", "sha256-", "sha384-", "sha512-"]
            .iter()
            .position(|p| s.starts_with(p))
    };
    integrity
        .split_whitespace()
        .max_by_key(|s| rank(s))
        .unwrap_or_default()
        .to_owned()
}

/// What a lockfile pins: the set of SRI hashes, and the git commits.
#[derive(Debug, Default)]
struct Pinned {
    hashes: BTreeSet<String>,
    commits: BTreeSet<String>,
}

fn pinned_npm(text: &str) -> Pinned {
    let doc: Value = serde_json::from_str(text).expect("json");
    let mut pinned = Pinned::default();
    fn v1(deps: &Value, pinned: &mut Pinned) {
        let Some(map) = deps.as_object() else { return };
        for dep in map.values() {
            if let Some(i) = dep["integrity"].as_str() {
                pinned.hashes.insert(npm_strongest(i));
            }
            if let Some(commit) = dep["version"]
                .as_str()
                .and_then(|v| v.starts_with("git").then(|| v.rsplit('#').next()))
                .flatten()
            {
                pinned.commits.insert(commit.to_owned());
            }
            v1(&dep["dependencies"], pinned);
        }
    }
    if let Some(packages) = doc["packages"].as_object() {
        for (path, p) in packages {
            if path.is_empty() || p["link"].as_bool() == Some(true) {
                continue;
            }
            if let Some(i) = p["integrity"].as_str() {
                pinned.hashes.insert(npm_strongest(i));
            }
            if let Some(r) = p["resolved"].as_str().filter(|r| r.starts_with("git")) {
                pinned
                    .commits
                    .extend(r.rsplit('#').next().map(str::to_owned));
            }
        }
    } else {
        v1(&doc["dependencies"], &mut pinned);
    }
    pinned
}

fn pinned_cargo(text: &str) -> Pinned {
    let doc: toml::Table = text.parse().expect("toml");
    let mut pinned = Pinned::default();
    for p in doc
        .get("package")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
    {
        if let Some(c) = p.get("checksum").and_then(|c| c.as_str()) {
            pinned.hashes.insert(sri("sha256", c));
        }
        if let Some(s) = p
            .get("source")
            .and_then(|s| s.as_str())
            .filter(|s| s.starts_with("git+"))
        {
            pinned
                .commits
                .extend(s.rsplit('#').next().map(str::to_owned));
        }
    }
    for (key, value) in doc
        .get("metadata")
        .and_then(|m| m.as_table())
        .into_iter()
        .flatten()
    {
        if let (true, Some(c)) = (key.starts_with("checksum "), value.as_str()) {
            if c != "<none>" {
                pinned.hashes.insert(sri("sha256", c));
            }
        }
    }
    pinned
}

fn prefixed(hash: &str) -> String {
    let (algo, hex_digest) = hash.split_once(':').expect("algo:hex");
    sri(algo, hex_digest)
}

fn pinned_uv(text: &str) -> Pinned {
    let doc: toml::Table = text.parse().expect("toml");
    let mut pinned = Pinned::default();
    for p in doc
        .get("package")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
    {
        let files = p.get("sdist").into_iter().chain(
            p.get("wheels")
                .and_then(|w| w.as_array())
                .into_iter()
                .flatten(),
        );
        for f in files {
            if let Some(h) = f.get("hash").and_then(|h| h.as_str()) {
                pinned.hashes.insert(prefixed(h));
            }
        }
        if let Some(g) = p
            .get("source")
            .and_then(|s| s.get("git"))
            .and_then(|g| g.as_str())
        {
            pinned
                .commits
                .extend(g.rsplit('#').next().map(str::to_owned));
        }
    }
    pinned
}

fn pinned_poetry(text: &str) -> Pinned {
    let doc: toml::Table = text.parse().expect("toml");
    let mut pinned = Pinned::default();
    let mut add_files = |files: &toml::Value| {
        for f in files.as_array().into_iter().flatten() {
            if let Some(h) = f.get("hash").and_then(|h| h.as_str()) {
                pinned.hashes.insert(prefixed(h));
            }
        }
    };
    for p in doc
        .get("package")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
    {
        if let Some(files) = p.get("files") {
            add_files(files);
        }
    }
    for files in doc
        .get("metadata")
        .and_then(|m| m.get("files"))
        .and_then(|f| f.as_table())
        .into_iter()
        .flatten()
        .map(|(_, v)| v)
    {
        add_files(files);
    }
    let mut commits = BTreeSet::new();
    for p in doc
        .get("package")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
    {
        let source = p.get("source");
        if source.and_then(|s| s.get("type")).and_then(|t| t.as_str()) == Some("git") {
            commits.extend(
                source
                    .and_then(|s| s.get("resolved_reference"))
                    .and_then(|r| r.as_str())
                    .map(str::to_owned),
            );
        }
    }
    pinned.commits = commits;
    pinned
}

fn pinned_requirements(text: &str) -> Pinned {
    let mut pinned = Pinned::default();
    for word in text.split_whitespace() {
        if let Some(h) = word.strip_prefix("--hash=") {
            pinned.hashes.insert(prefixed(h));
        }
    }
    pinned
}

/// A requirements file and the files it includes with `-r` / `--requirement`.
fn pinned_requirements_file(file: &Path) -> Pinned {
    let text = std::fs::read_to_string(file).expect("requirements");
    let mut pinned = pinned_requirements(&text);
    for line in text.lines() {
        let include = line
            .strip_prefix("-r ")
            .or_else(|| line.strip_prefix("--requirement "));
        if let (Some(inc), Some(dir)) = (include, file.parent()) {
            pinned
                .hashes
                .extend(pinned_requirements_file(&dir.join(inc.trim())).hashes);
        }
    }
    pinned
}

fn pinned(lockfile: &Path) -> Pinned {
    let text = std::fs::read_to_string(lockfile).expect("lockfile");
    match lockfile.file_name().and_then(|n| n.to_str()) {
        Some("package-lock.json") => pinned_npm(&text),
        Some("Cargo.lock") => pinned_cargo(&text),
        Some("uv.lock") => pinned_uv(&text),
        Some("poetry.lock") => pinned_poetry(&text),
        Some("requirements.txt") => pinned_requirements_file(lockfile),
        other => panic!("not a lockfile: {other:?}"),
    }
}

fn swh_doc(report: &SourcesReport) -> Value {
    serde_json::from_str(&render(report, Format::Swh, Some("0".repeat(40))).expect("render"))
        .expect("json")
}

fn integrities(doc: &Value) -> BTreeSet<String> {
    doc["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .filter(|s| s["type"] == "url")
        .map(|s| s["integrity"].as_str().expect("integrity").to_owned())
        .collect()
}

fn git_refs(doc: &Value) -> BTreeSet<String> {
    doc["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .filter(|s| s["type"] == "git")
        .map(|s| s["git_ref"].as_str().expect("git_ref").to_owned())
        .collect()
}

/// Every fixture project with a lockfile the importers accept.
fn fixture_projects() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for eco in ["poetry", "uv", "requirements", "npm", "cargo"] {
        for entry in std::fs::read_dir(root().join("fixtures").join(eco))
            .expect("fixtures")
            .flatten()
        {
            let dir = entry.path();
            let has_lock = [
                "poetry.lock",
                "uv.lock",
                "requirements.txt",
                "package-lock.json",
                "Cargo.lock",
            ]
            .iter()
            .any(|f| dir.join(f).is_file());
            if dir.is_dir() && has_lock && !dir.ends_with("bad") {
                dirs.push(dir);
            }
        }
    }
    dirs.sort();
    dirs
}

#[test]
fn every_lock_hash_is_listed_with_the_same_sri_and_nothing_else() {
    let projects = fixture_projects();
    assert!(projects.len() >= 20, "{projects:?}");
    for dir in projects {
        let report = collect_with(std::slice::from_ref(&dir), false, options(), None, true);
        assert!(
            report.skipped.is_empty(),
            "{}: {:?}",
            dir.display(),
            report.skipped
        );
        let doc = swh_doc(&report);
        let listed = integrities(&doc);
        let mut expected = Pinned::default();
        for p in &report.projects {
            let pinned = pinned(&p.lockfile);
            expected.hashes.extend(pinned.hashes);
            expected.commits.extend(pinned.commits);
        }
        let entries = swh::entries(&report);
        // Files only on this machine (path dependencies, `file:` URLs) are
        // reported, not listed.
        let local: BTreeSet<String> = report
            .graphs()
            .flat_map(|g| &g.packages)
            .filter(|p| match &p.source {
                lock2build_model::Source::Url { url, .. } => !swh::is_remote(url),
                other => other.is_local(),
            })
            .flat_map(|p| {
                p.artifacts
                    .iter()
                    .flat_map(|a| a.hashes.iter().map(|h| h.to_sri()))
            })
            .collect();
        // Files with no known URL (a local registry) are reported too.
        let mut no_url = BTreeSet::new();
        for g in report.graphs() {
            for p in g.packages.iter().filter(|p| !p.source.is_local()) {
                for a in p.artifacts.iter().filter(|a| a.url.is_none()) {
                    assert!(entries
                        .unlisted
                        .iter()
                        .any(|u| u.contains(&format!("{} {}", p.name, p.version))
                            && u.contains("no URL")));
                    no_url.extend(a.hashes.iter().map(|h| h.to_sri()));
                }
            }
        }
        let local: BTreeSet<String> = local.union(&no_url).cloned().collect();
        let want: BTreeSet<String> = expected.hashes.difference(&local).cloned().collect();
        let missing: Vec<_> = want.difference(&listed).collect();
        assert!(
            missing.is_empty(),
            "{}: missing from sources.json: {missing:?}\nunlisted: {:?}",
            dir.display(),
            entries.unlisted
        );
        let extra: Vec<_> = listed.difference(&want).collect();
        assert!(
            extra.is_empty(),
            "{}: not in the lockfile: {extra:?}",
            dir.display()
        );
        let refs = git_refs(&doc);
        for commit in &expected.commits {
            let is_local = entries.unlisted.iter().any(|u| u.contains("git "));
            assert!(
                refs.iter().any(|r| r.starts_with(commit.as_str())) || is_local,
                "{}: git commit {commit} missing",
                dir.display()
            );
        }
        // Every entry has the shape the nixguix lister reads.
        for s in doc["sources"].as_array().expect("sources") {
            match s["type"].as_str() {
                Some("url") => {
                    let integrity = s["integrity"].as_str().expect("integrity");
                    let algo = s["outputHashAlgo"].as_str().expect("algo");
                    assert!(integrity.starts_with(&format!("{algo}-")), "{s}");
                    assert_eq!(s["outputHashMode"], "flat");
                    assert_eq!(integrity.split('-').count(), 2, "one SRI token: {s}");
                    assert!(s["urls"].as_array().is_some_and(|u| !u.is_empty()));
                }
                Some("git") => {
                    assert!(s["git_url"].as_str().is_some_and(swh::is_remote), "{s}");
                    assert!(s["git_ref"].as_str().is_some_and(|r| r.len() >= 7));
                }
                other => panic!("unexpected type {other:?}"),
            }
        }
    }
}

#[test]
fn plans_artifacts_are_a_subset_of_the_list() {
    let dirs = vec![
        root().join("fixtures/poetry/flask-pillow"),
        root().join("fixtures/npm/v3-no-resolved"),
    ];
    let report = collect_with(&dirs, false, options(), None, true);
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    let entries = swh::entries(&report);
    let listed: BTreeSet<(String, String)> = entries
        .entries
        .iter()
        .filter_map(|e| match e {
            swh::Entry::Url { urls, integrity } => {
                Some(urls.iter().map(move |u| (u.clone(), integrity.to_sri())))
            }
            _ => None,
        })
        .flatten()
        .collect();
    let mut chosen = 0;
    for (_, plan) in report.plans() {
        for node in &plan.packages {
            let Some(a) = &node.artifact else { continue };
            let (Some(url), Some(integrity)) = (&a.url, &a.integrity) else {
                continue;
            };
            chosen += 1;
            assert!(
                listed.contains(&(url.clone(), integrity.clone())),
                "{} {url}",
                node.id
            );
        }
    }
    assert!(chosen > 20, "{chosen}");
}

#[test]
fn two_projects_sharing_files_list_each_file_once() {
    let a = root().join("fixtures/npm/v3-resolved");
    let tmp = tempdir("dedup");
    let b = tmp.join("copy");
    copy_dir(&a, &b);
    let one = swh::entries(&collect_with(
        std::slice::from_ref(&a),
        false,
        options(),
        None,
        true,
    ));
    let both = collect_with(&[a.clone(), b.clone()], false, options(), None, true);
    assert_eq!(both.projects.len(), 2);
    let two = swh::entries(&both);
    assert_eq!(one.entries, two.entries);
    // Two different projects: the union of their hashes, once each.
    let c = root().join("fixtures/npm/v2");
    let mixed = swh_doc(&collect_with(
        &[a.clone(), c.clone()],
        false,
        options(),
        None,
        true,
    ));
    let union: BTreeSet<String> = pinned(&a.join("package-lock.json"))
        .hashes
        .into_iter()
        .chain(pinned(&c.join("package-lock.json")).hashes)
        .collect();
    assert_eq!(integrities(&mixed), union);
    assert_eq!(mixed["sources"].as_array().map(Vec::len), Some(union.len()));
    let _ = std::fs::remove_dir_all(tmp);
}

#[test]
fn recursive_walk_reports_and_skips_a_broken_lockfile() {
    let tmp = tempdir("tree");
    copy_dir(
        &root().join("fixtures/cargo/v3-git"),
        &tmp.join("apps/rust"),
    );
    copy_dir(&root().join("fixtures/npm/v1"), &tmp.join("apps/web"));
    copy_dir(
        &root().join("fixtures/uv/project"),
        &tmp.join("libs/py/deep/uv"),
    );
    std::fs::create_dir_all(tmp.join("broken")).expect("mkdir");
    std::fs::write(
        tmp.join("broken/package-lock.json"),
        "{\"lockfileVersion\": 3, \"packages\": {",
    )
    .expect("write");
    // Ignored: installed copies and hidden directories.
    copy_dir(
        &root().join("fixtures/npm/v2"),
        &tmp.join("apps/web/node_modules/x"),
    );
    copy_dir(&root().join("fixtures/npm/v2"), &tmp.join(".cache/x"));
    let report = collect_with(std::slice::from_ref(&tmp), true, options(), None, true);
    let read: Vec<String> = report
        .projects
        .iter()
        .map(|p| p.display.display().to_string())
        .collect();
    assert_eq!(
        read,
        [
            "apps/rust/Cargo.lock",
            "apps/web/package-lock.json",
            "libs/py/deep/uv/uv.lock"
        ]
    );
    assert_eq!(report.skipped.len(), 1, "{:?}", report.skipped);
    assert_eq!(
        report.skipped[0].0,
        PathBuf::from("broken/package-lock.json")
    );
    assert!(
        report.skipped[0].1.contains("package-lock.json"),
        "{}",
        report.skipped[0].1
    );
    assert_eq!(report.exit_code(), EXIT_SKIPPED);
    assert!(report
        .summary()
        .contains("skipped broken/package-lock.json"));
    // The rest is still listed.
    let listed = integrities(&swh_doc(&report));
    for lock in [
        "apps/rust/Cargo.lock",
        "apps/web/package-lock.json",
        "libs/py/deep/uv/uv.lock",
    ] {
        let p = pinned(&tmp.join(lock));
        assert!(p.hashes.is_subset(&listed), "{lock}");
    }
    // Without --recursive only the top directory and one level down count.
    let flat = collect_with(std::slice::from_ref(&tmp), false, options(), None, true);
    assert_eq!(flat.exit_code(), EXIT_SKIPPED);
    let _ = std::fs::remove_dir_all(tmp);
}

#[test]
fn truncated_lockfiles_in_a_tree_are_skipped_never_fatal() {
    let tmp = tempdir("fuzz");
    let text = std::fs::read(root().join("fixtures/cargo/v2-msrv/Cargo.lock")).expect("lock");
    let npm =
        std::fs::read(root().join("fixtures/npm/v3-resolved/package-lock.json")).expect("lock");
    let mut seed = 0x2545_f491_u64;
    for i in 0..40 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let (name, bytes) = if i % 2 == 0 {
            ("Cargo.lock", &text)
        } else {
            ("package-lock.json", &npm)
        };
        let mut cut = bytes[..(seed as usize) % bytes.len()].to_vec();
        if i % 3 == 0 && !cut.is_empty() {
            let at = (seed as usize / 7) % cut.len();
            cut[at] ^= 0x5a;
        }
        let dir = tmp.join(format!("p{i}"));
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join(name), cut).expect("write");
    }
    let report = collect_with(std::slice::from_ref(&tmp), true, options(), None, true);
    assert_eq!(report.projects.len() + report.skipped.len(), 40);
    assert!(!report.skipped.is_empty());
    for format in Format::ALL {
        render(&report, format, None).expect("render");
    }
    let _ = std::fs::remove_dir_all(tmp);
}

#[test]
fn pinned_build_systems_are_listed_for_python_projects() {
    let dir = root().join("fixtures/uv/project");
    let report = collect(&[dir], false, options());
    let bs = report.build_systems.as_ref().expect("build systems found");
    assert!(bs.packages.iter().any(|p| p.name == "setuptools"));
    let listed = integrities(&swh_doc(&report));
    let file = root().join("overrides/pypi/build-systems/requirements.txt");
    let expected = pinned_requirements(&std::fs::read_to_string(file).expect("build systems"));
    let missing: Vec<_> = expected.hashes.difference(&listed).collect();
    assert!(missing.is_empty(), "{missing:?}");
    // Not for a project with no Python in it.
    let npm = collect(&[root().join("fixtures/npm/v2")], false, options());
    assert!(npm.build_systems.is_none());
}

#[test]
fn urls_format_is_one_line_per_source() {
    let report = collect_with(
        &[root().join("fixtures/cargo/v3-git")],
        false,
        options(),
        None,
        true,
    );
    let text = render(&report, Format::Urls, None).expect("urls");
    let entries = swh::entries(&report);
    assert_eq!(text.lines().count(), entries.entries.len());
    assert!(
        text.lines()
            .all(|l| l.starts_with("https://static.crates.io/crates/")),
        "{text}"
    );
    // The fixture's git dependency is a repository on this machine: reported, not listed.
    assert!(
        entries
            .unlisted
            .iter()
            .any(|u| u.contains("gitdep") && u.contains("file://")),
        "{:?}",
        entries.unlisted
    );
}

fn cyclonedx_validator() -> jsonschema::Validator {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas");
    let load = |f: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(f)).expect("schema")).expect("json")
    };
    let bom = load("bom-1.6.SNAPSHOT.schema.json");
    let spdx = load("spdx.SNAPSHOT.schema.json");
    let jsf = load("jsf-0.82.SNAPSHOT.schema.json");
    let registry = Box::leak(Box::new(
        jsonschema::Registry::new()
            .add(
                "http://cyclonedx.org/schema/spdx.SNAPSHOT.schema.json",
                spdx,
            )
            .expect("spdx")
            .add(
                "http://cyclonedx.org/schema/jsf-0.82.SNAPSHOT.schema.json",
                jsf,
            )
            .expect("jsf")
            .prepare()
            .expect("registry"),
    ));
    jsonschema::options()
        .with_registry(registry)
        .should_validate_formats(true)
        .build(&bom)
        .expect("validator")
}

/// The plans both SBOM schema tests render: one per ecosystem (a git
/// source among them) and one of several lockfiles.
fn sbom_cases() -> Vec<Vec<PathBuf>> {
    vec![
        vec![root().join("fixtures/poetry/flask-pillow")],
        vec![root().join("fixtures/npm/workspace")],
        vec![root().join("fixtures/cargo/v3-git")],
        vec![
            root().join("fixtures/uv/workspace"),
            root().join("fixtures/npm/v1"),
            root().join("fixtures/requirements/pip-compile"),
        ],
    ]
}

/// The SBOMs of [`sbom_cases`] in `format`, each checked against the
/// schema; every violation is printed with where it is.
fn valid_sboms(format: Format, validator: &jsonschema::Validator) -> Vec<(SourcesReport, Value)> {
    sbom_cases()
        .into_iter()
        .map(|dirs| {
            let report = collect_with(&dirs, false, options(), None, true);
            assert!(report.skipped.is_empty(), "{:?}", report.skipped);
            let doc: Value = serde_json::from_str(&render(&report, format, None).expect("render"))
                .expect("json");
            let errors: Vec<String> = validator
                .iter_errors(&doc)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(errors.is_empty(), "{dirs:?}: {errors:#?}");
            (report, doc)
        })
        .collect()
}

#[test]
fn cyclonedx_validates_against_the_official_schema() {
    let validator = cyclonedx_validator();
    for (report, doc) in valid_sboms(Format::Cyclonedx, &validator) {
        // The facts: every plan package, with its chosen artifact's hashes and URL.
        let components = doc["components"].as_array().expect("components");
        let nodes = report.plan_nodes();
        let meta = usize::from(doc["metadata"]["component"].is_object());
        assert_eq!(components.len() + meta, nodes.len());
        for node in nodes.iter().filter(|n| !n.root) {
            let c = components
                .iter()
                .find(|c| c["bom-ref"] == node.id.as_str())
                .expect("component");
            assert!(
                c["purl"].as_str().is_some_and(|p| p.starts_with("pkg:")),
                "{c}"
            );
            if let Some(a) = &node.artifact {
                let hexes: BTreeSet<&str> = c["hashes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|h| h["content"].as_str())
                    .collect();
                let want: Vec<String> = a.hashes.iter().map(|h| h.hex()).collect();
                assert!(want.iter().all(|w| hexes.contains(w.as_str())), "{c}");
                if let (Some(url), false) = (&a.url, node.commit_source()) {
                    assert_eq!(
                        c["externalReferences"][0]["url"].as_str(),
                        Some(url.as_str())
                    );
                }
            }
        }
        let deps = doc["dependencies"].as_array().expect("dependencies");
        assert_eq!(deps.len(), nodes.len());
    }
    // A deliberately broken BOM fails, so the validator does check.
    let mut bad = cyclonedx::document(&collect_with(
        &[root().join("fixtures/npm/v2")],
        false,
        options(),
        None,
        true,
    ));
    bad["components"][0]["hashes"][0]["alg"] = "SHA-999".into();
    assert!(!validator.is_valid(&bad));
}

use lock2build_sources::cyclonedx;

trait CommitSource {
    fn commit_source(&self) -> bool;
}

impl CommitSource for lock2build_plan::plan::Node {
    fn commit_source(&self) -> bool {
        matches!(self.source, lock2build_model::Source::Git { .. })
    }
}

#[test]
fn spdx_has_the_required_fields_of_spdx_2_3() {
    let report = collect_with(
        &[
            root().join("fixtures/cargo/v3-git"),
            root().join("fixtures/poetry/flask-pillow"),
        ],
        false,
        options(),
        None,
        true,
    );
    let text = lock2build_sources::spdx::render(&report, "2024-01-02T03:04:05Z").expect("render");
    let doc: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    assert_eq!(doc["dataLicense"], "CC0-1.0");
    assert_eq!(doc["SPDXID"], "SPDXRef-DOCUMENT");
    assert!(doc["name"].is_string());
    assert!(doc["documentNamespace"]
        .as_str()
        .is_some_and(|n| n.starts_with("https://") && !n.contains('#')));
    assert_eq!(doc["creationInfo"]["created"], "2024-01-02T03:04:05Z");
    assert!(doc["creationInfo"]["creators"][0]
        .as_str()
        .is_some_and(|c| c.starts_with("Tool: ")));
    let packages = doc["packages"].as_array().expect("packages");
    assert_eq!(packages.len(), report.plan_nodes().len());
    let ids: BTreeSet<&str> = packages
        .iter()
        .filter_map(|p| p["SPDXID"].as_str())
        .collect();
    assert_eq!(ids.len(), packages.len(), "SPDXIDs are unique");
    let algos = ["SHA1", "SHA224", "SHA256", "SHA384", "SHA512", "MD5"];
    for p in packages {
        let id = p["SPDXID"].as_str().expect("id");
        assert!(
            id.strip_prefix("SPDXRef-").is_some_and(|b| !b.is_empty()
                && b.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')),
            "{id}"
        );
        assert!(p["name"].is_string() && p["versionInfo"].is_string());
        let dl = p["downloadLocation"].as_str().expect("downloadLocation");
        // SPDX 2.3 §7.7: a URL, or a VCS location over a transport it names
        // (the fixture's git dependency is a `file://` repository: NOASSERTION).
        let vcs = [
            "git+https://",
            "git+http://",
            "git+ssh://",
            "git+git://",
            "git+git@",
        ];
        assert!(
            dl == "NOASSERTION"
                || dl.starts_with("https://")
                || vcs.iter().any(|t| dl.starts_with(t)),
            "{dl}"
        );
        for c in p["checksums"].as_array().into_iter().flatten() {
            assert!(
                algos.contains(&c["algorithm"].as_str().unwrap_or("")),
                "{c}"
            );
            assert!(c["checksumValue"]
                .as_str()
                .is_some_and(|v| v.chars().all(|c| c.is_ascii_hexdigit())));
        }
        let purl = &p["externalRefs"][0];
        assert_eq!(purl["referenceCategory"], "PACKAGE-MANAGER");
        assert_eq!(purl["referenceType"], "purl");
        assert!(purl["referenceLocator"]
            .as_str()
            .is_some_and(|l| l.starts_with("pkg:")));
    }
    for r in doc["relationships"].as_array().expect("relationships") {
        let from = r["spdxElementId"].as_str().expect("from");
        let to = r["relatedSpdxElement"].as_str().expect("to");
        assert!(from == "SPDXRef-DOCUMENT" || ids.contains(from));
        assert!(ids.contains(to), "{to}");
        assert!(["DESCRIBES", "DEPENDS_ON"].contains(&r["relationshipType"].as_str().unwrap_or("")));
    }
    // Both roots are described.
    let described = doc["relationships"]
        .as_array()
        .expect("rel")
        .iter()
        .filter(|r| r["relationshipType"] == "DESCRIBES")
        .count();
    assert_eq!(described, 2);
}

fn spdx_validator() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/spdx-2.3.schema.json");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("schema")).expect("json");
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("validator")
}

#[test]
fn spdx_validates_against_the_official_schema() {
    let validator = spdx_validator();
    for (report, doc) in valid_sboms(Format::Spdx, &validator) {
        assert_eq!(
            doc["packages"].as_array().expect("packages").len(),
            report.plan_nodes().len()
        );
    }
    // A deliberately broken document fails, so the validator does check.
    let mut bad = lock2build_sources::spdx::document(
        &collect_with(
            &[root().join("fixtures/npm/v2")],
            false,
            options(),
            None,
            true,
        ),
        "2024-01-02T03:04:05Z",
    );
    assert!(validator.is_valid(&bad));
    bad["packages"][0]["checksums"][0]["algorithm"] = "SHA-999".into();
    assert!(!validator.is_valid(&bad));
}

#[test]
fn collecting_for_swh_skips_plans_and_lists_the_same() {
    let dirs = [
        root().join("fixtures/uv/native-app"),
        root().join("fixtures/cargo/v2-msrv"),
    ];
    let full = collect(&dirs, false, options());
    let lean = lock2build_sources::collect_for(Format::Swh, &dirs, false, options());
    assert!(lean.projects.iter().all(|p| p.plan.is_none()));
    assert!(full.projects.iter().all(|p| p.plan.is_some()));
    for format in [Format::Swh, Format::Urls] {
        assert_eq!(
            render(&full, format, None).ok(),
            render(&lean, format, None).ok()
        );
    }
    assert!(render(&lean, Format::Cyclonedx, None).is_err());
    assert!(render(&full, Format::Spdx, None).is_ok());
}

#[test]
fn a_python_lock_pinning_a_file_the_index_lacks_is_skipped_alone() {
    let tmp = tempdir("badhash");
    copy_dir(&root().join("fixtures/uv/project"), &tmp.join("good"));
    copy_dir(&root().join("fixtures/poetry/lock-2.0"), &tmp.join("good2"));
    std::fs::create_dir_all(tmp.join("bad")).expect("mkdir");
    let zero = "0".repeat(64);
    std::fs::write(
        tmp.join("bad/requirements.txt"),
        format!("idna==3.10 \\\n    --hash=sha256:{zero}\n"),
    )
    .expect("write");
    let report = collect_with(std::slice::from_ref(&tmp), true, options(), None, false);
    let read: Vec<String> = report
        .projects
        .iter()
        .map(|p| p.display.display().to_string())
        .collect();
    assert_eq!(read, ["good/uv.lock", "good2/poetry.lock"]);
    assert_eq!(report.skipped.len(), 1, "{:?}", report.skipped);
    assert_eq!(report.skipped[0].0, PathBuf::from("bad/requirements.txt"));
    assert!(
        report.skipped[0].1.contains("idna"),
        "{}",
        report.skipped[0].1
    );
    // The good ones still have every URL.
    let listed = integrities(&swh_doc(&report));
    assert!(pinned(&tmp.join("good2/poetry.lock"))
        .hashes
        .is_subset(&listed));
    let _ = std::fs::remove_dir_all(tmp);
}

#[test]
fn recorded_trees_go_beside_integrity_and_git_sources_name_their_revision() {
    // A Cargo lock with a crate and a remote git dependency (as cargo
    // writes it), and the tree file `lock2build fetch` records.
    let dir = tempdir("sources-trees");
    copy_dir(&root().join("fixtures/cargo/v2-msrv"), &dir);
    let report = collect_with(&[dir.clone()], false, options(), None, false);
    let doc = swh_doc(&report);
    let first = doc["sources"][0]["integrity"]
        .as_str()
        .expect("a url entry")
        .to_owned();
    let trees = serde_json::json!({
        "version": 1,
        "trees": {
            first.clone(): {"swhid": "swh:1:dir:4b825dc642cb6eb9a060e54bf8d69288fbee4904", "nar_sha256": "sha256-AAAA"}
        }
    });
    std::fs::write(dir.join("lock2build.trees.json"), trees.to_string()).unwrap();
    let report = collect_with(&[dir.clone()], false, options(), None, false);
    let doc = swh_doc(&report);
    let with_tree: Vec<&Value> = doc["sources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s.get("swhid").is_some() && s["type"] == "url")
        .collect();
    assert_eq!(with_tree.len(), 1, "{doc}");
    assert_eq!(
        with_tree[0]["integrity"],
        first.as_str(),
        "integrity stays the file's hash"
    );
    assert_eq!(
        with_tree[0]["swhid"],
        "swh:1:dir:4b825dc642cb6eb9a060e54bf8d69288fbee4904"
    );
    assert_eq!(with_tree[0]["nar_sha256"], "sha256-AAAA");
    let git = swh::entry_json(&swh::Entry::Git {
        url: "https://example.org/r.git".into(),
        commit: "a".repeat(40),
    });
    assert_eq!(git["swhid"], format!("swh:1:rev:{}", "a".repeat(40)));
}
