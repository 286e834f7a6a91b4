//! The importer over the real locks of `fixtures/npm/`: whole-graph
//! snapshots, counts checked against `npm ls`, and the facts that matter.

mod common;

use common::{at, import_case, index_at, texts};
use lock2build_model::{ArtifactKind, DepKind, Graph, Hash, HashAlgorithm, Package, Source};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const CASES: [&str; 6] = [
    "v3-resolved",
    "v3-no-resolved",
    "v2",
    "v1",
    "workspace",
    "big-2000",
];

/// The edge `name` of `package`, as (target location, kind).
fn edge<'g>(graph: &'g Graph, package: &Package, name: &str) -> Option<(&'g Package, DepKind)> {
    package
        .dependencies
        .iter()
        .find(|d| d.name == name)
        .map(|d| (graph.package(d.target), d.kind))
}

fn root(graph: &Graph) -> &Package {
    graph.package(graph.roots[0])
}

#[test]
fn snapshots() {
    for case in CASES {
        let graph = import_case(case);
        if case == "big-2000" {
            insta::assert_json_snapshot!(case, summary(&graph));
        } else {
            insta::assert_json_snapshot!(case, graph);
        }
    }
}

/// Counts for the big lock, where a full snapshot would be unreadable.
fn summary(graph: &Graph) -> Value {
    let mut sources: BTreeMap<&str, usize> = BTreeMap::new();
    let mut edge_kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut flags: BTreeMap<&str, usize> = BTreeMap::new();
    for package in &graph.packages {
        let source = match &package.source {
            Source::Registry { .. } => "registry",
            Source::Git { .. } => "git",
            Source::Url { .. } => "url",
            Source::File { .. } => "file",
            Source::Directory { .. } => "directory",
            Source::Virtual { .. } => "virtual",
        };
        *sources.entry(source).or_default() += 1;
        for dependency in &package.dependencies {
            *edge_kinds
                .entry(format!("{:?}", dependency.kind))
                .or_default() += 1;
        }
        let f = &package.flags;
        for (name, set) in [
            ("dev", f.dev),
            ("optional", f.optional),
            ("dev_optional", f.dev_optional),
            ("peer", f.peer),
            ("in_bundle", f.in_bundle),
            ("has_install_script", f.has_install_script),
            ("platform", !package.platform.is_empty()),
            ("bin", !package.bin.is_empty()),
        ] {
            *flags.entry(name).or_default() += usize::from(set);
        }
    }
    serde_json::json!({
        "format": graph.format,
        "packages": graph.packages.len(),
        "roots": graph.roots.len(),
        "sources": sources,
        "edge_kinds": edge_kinds,
        "flags": flags,
        "artifacts_with_sha512": graph.packages.iter().filter(|p| p.artifacts.iter().any(|a| a.hashes.iter().any(|h| h.algorithm == HashAlgorithm::Sha512))).count(),
    })
}

/// `npm ls --all --parseable --package-lock-only`, saved beside each lock,
/// lists one line per installed location (the first, empty, is the project).
/// Links are listed at the link, the importer lists their target directory:
/// map one to the other with the lock's own `link`/`resolved` fields.
#[test]
fn package_counts_match_npm_ls() {
    for case in CASES {
        let graph = import_case(case);
        let listed =
            std::fs::read_to_string(common::fixture_dir(case).join("npm-ls.parseable.txt"))
                .unwrap();
        let (lock, _) = texts(case);
        let lock: Value = serde_json::from_str(&lock).unwrap();
        let link_target = |location: &str| -> Option<String> {
            let entry = lock.get("packages")?.get(location)?;
            (entry.get("link")? == &Value::Bool(true))
                .then(|| entry.get("resolved")?.as_str().map(str::to_owned))?
        };
        let expected: BTreeSet<String> = listed
            .lines()
            .map(|line| link_target(line).unwrap_or_else(|| line.to_owned()))
            .collect();
        let imported: BTreeSet<String> = graph
            .packages
            .iter()
            .map(|p| p.location.clone().unwrap())
            .collect();
        assert_eq!(
            listed.lines().count(),
            graph.packages.len(),
            "{case}: npm ls count"
        );
        assert_eq!(expected, imported, "{case}: locations");
    }
}

#[test]
fn v3_alias_installs_the_real_package() {
    let graph = import_case("v3-resolved");
    let (lodash, kind) = edge(&graph, root(&graph), "lodash3").expect("edge lodash3");
    assert_eq!(kind, DepKind::Normal);
    assert_eq!(
        (lodash.name.as_str(), lodash.version.as_str()),
        ("lodash", "3.10.1")
    );
    assert_eq!(lodash.location.as_deref(), Some("node_modules/lodash3"));
    assert_eq!(
        lodash.artifacts[0].url.as_deref(),
        Some("https://registry.npmjs.org/lodash/-/lodash-3.10.1.tgz")
    );
    assert_eq!(
        lodash.source,
        Source::Registry {
            url: "https://registry.npmjs.org".into()
        }
    );
}

#[test]
fn v3_sharp_platform_packages() {
    let graph = import_case("v3-resolved");
    let sharp = at(&graph, "node_modules/sharp");
    assert!(sharp.flags.has_install_script);
    let platform_edges: Vec<_> = sharp
        .dependencies
        .iter()
        .filter(|d| d.name.starts_with("@img/sharp-"))
        .map(|d| d.kind)
        .collect();
    assert_eq!(platform_edges.len(), 24);
    assert!(platform_edges.iter().all(|k| *k == DepKind::Optional));

    let linux = at(&graph, "node_modules/@img/sharp-linux-x64");
    assert_eq!(linux.name, "@img/sharp-linux-x64");
    assert_eq!(linux.platform.os, ["linux"]);
    assert_eq!(linux.platform.cpu, ["x64"]);
    assert_eq!(linux.platform.libc, ["glibc"]);
    assert!(linux.flags.optional);
    let musl = at(&graph, "node_modules/@img/sharp-linuxmusl-x64");
    assert_eq!(musl.platform.libc, ["musl"]);
    let darwin = at(&graph, "node_modules/@img/sharp-darwin-arm64");
    assert_eq!(
        (
            darwin.platform.os.as_slice(),
            darwin.platform.cpu.as_slice()
        ),
        (&["darwin".to_owned()][..], &["arm64".to_owned()][..])
    );
    assert!(darwin.platform.libc.is_empty());
    // The libvips binaries are optional dependencies of the platform package.
    let (libvips, kind) = edge(&graph, linux, "@img/sharp-libvips-linux-x64").unwrap();
    assert_eq!(kind, DepKind::Optional);
    assert_eq!(libvips.platform.libc, ["glibc"]);
}

#[test]
fn v3_hashes_flags_bin_and_peers() {
    let graph = import_case("v3-resolved");
    let (lock, _) = texts("v3-resolved");
    let lock: Value = serde_json::from_str(&lock).unwrap();
    // Every artifact carries exactly the lock's integrity.
    for package in graph.packages.iter().skip(1) {
        let location = package.location.as_deref().unwrap();
        let integrity = lock["packages"][location]["integrity"].as_str().unwrap();
        assert_eq!(package.artifacts.len(), 1, "{location}");
        assert_eq!(
            package.artifacts[0].hashes,
            Hash::parse_sri_list(integrity).unwrap(),
            "{location}"
        );
        assert_eq!(package.artifacts[0].kind, ArtifactKind::Npm);
        assert_eq!(
            package.artifacts[0].url.as_deref(),
            lock["packages"][location]["resolved"].as_str()
        );
    }
    let typescript = at(&graph, "node_modules/typescript");
    assert!(typescript.flags.dev && !typescript.flags.optional);
    assert_eq!(
        typescript.artifacts[0].hashes[0].algorithm,
        HashAlgorithm::Sha512
    );
    assert_eq!(
        typescript.bin,
        BTreeMap::from([
            ("tsc".to_owned(), "bin/tsc".to_owned()),
            ("tsserver".to_owned(), "bin/tsserver".to_owned())
        ])
    );
    assert_eq!(
        edge(&graph, root(&graph), "typescript").unwrap().1,
        DepKind::Dev
    );
    let (is_number, kind) = edge(&graph, root(&graph), "is-number").unwrap();
    assert_eq!(kind, DepKind::Optional);
    assert!(is_number.flags.optional && !is_number.flags.dev);
    let react_dom = at(&graph, "node_modules/react-dom");
    let (react, kind) = edge(&graph, react_dom, "react").unwrap();
    assert_eq!(
        (kind, react.location.as_deref()),
        (DepKind::Peer, Some("node_modules/react"))
    );
    assert_eq!(
        root(&graph).source,
        Source::Directory {
            path: ".".into(),
            editable: false
        }
    );
    assert_eq!(graph.format, "package-lock.json v3");
}

#[test]
fn v3_without_resolved_rebuilds_urls() {
    let graph = import_case("v3-no-resolved");
    let types = at(&graph, "node_modules/@types/node");
    let url = format!(
        "https://registry.npmjs.org/@types/node/-/node-{}.tgz",
        types.version
    );
    assert_eq!(types.artifacts[0].url.as_deref(), Some(url.as_str()));
    assert_eq!(types.artifacts[0].hashes.len(), 1);
    // An alias is fetched under its real name.
    let alias = at(&graph, "node_modules/string-width-cjs");
    assert_eq!(alias.name, "string-width");
    assert_eq!(
        alias.artifacts[0].url.as_deref(),
        Some("https://registry.npmjs.org/string-width/-/string-width-4.2.3.tgz")
    );
    // Nested copies win over the top-level one.
    let debug = at(&graph, "node_modules/debug");
    let (ms, _) = edge(&graph, debug, "ms").unwrap();
    assert_eq!(
        (ms.location.as_deref(), ms.version.as_str()),
        (Some("node_modules/debug/node_modules/ms"), "2.0.0")
    );
    let (top_ms, _) = edge(&graph, root(&graph), "ms").unwrap();
    assert_eq!(top_ms.location.as_deref(), Some("node_modules/ms"));
    // The auto-installed peer and the darwin-only optional package.
    assert!(at(&graph, "node_modules/react").flags.peer);
    let fsevents = at(&graph, "node_modules/fsevents");
    assert!(fsevents.flags.optional);
    assert_eq!(fsevents.platform.os, ["darwin"]);
    assert_eq!(
        edge(&graph, root(&graph), "fsevents").unwrap().1,
        DepKind::Optional
    );
    assert_eq!(
        edge(&graph, root(&graph), "chokidar").unwrap().1,
        DepKind::Dev
    );
    // Every registry package got a URL.
    assert!(graph
        .packages
        .iter()
        .skip(1)
        .all(|p| p.artifacts.len() == 1 && p.artifacts[0].url.is_some()));
}

#[test]
fn v2_reads_packages() {
    let graph = import_case("v2");
    assert_eq!(graph.format, "package-lock.json v2");
    let nodemon = at(&graph, "node_modules/nodemon");
    assert!(nodemon.flags.dev);
    let (debug, kind) = edge(&graph, nodemon, "debug").unwrap();
    assert_eq!(
        (debug.location.as_deref(), kind),
        (
            Some("node_modules/nodemon/node_modules/debug"),
            DepKind::Normal
        )
    );
    // debug's peer `supports-color` is only in peerDependenciesMeta: no edge.
    assert!(edge(&graph, debug, "supports-color").is_none());
    assert_eq!(
        edge(&graph, root(&graph), "express").unwrap().0.name,
        "express"
    );
    assert!(nodemon.bin.contains_key("nodemon"));
}

#[test]
fn v1_tree() {
    let graph = import_case("v1");
    assert_eq!(graph.format, "package-lock.json v1");
    let root = root(&graph);
    assert_eq!(
        (root.name.as_str(), root.version.as_str()),
        ("fixture-v1", "1.2.3")
    );
    let (lodash, _) = edge(&graph, root, "lodash3").unwrap();
    assert_eq!(
        (lodash.name.as_str(), lodash.version.as_str()),
        ("lodash", "3.10.1")
    );
    assert_eq!(lodash.location.as_deref(), Some("node_modules/lodash3"));
    let (sharp, kind) = edge(&graph, root, "sharp").unwrap();
    assert_eq!((sharp.version.as_str(), kind), ("0.32.6", DepKind::Normal));
    let sharp_deps: BTreeSet<&str> = sharp.dependencies.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        sharp_deps,
        BTreeSet::from([
            "color",
            "detect-libc",
            "node-addon-api",
            "prebuild-install",
            "semver",
            "simple-get",
            "tar-fs",
            "tunnel-agent"
        ])
    );
    let (mkdirp, kind) = edge(&graph, root, "mkdirp").unwrap();
    assert!(mkdirp.flags.dev);
    assert_eq!(kind, DepKind::Dev);
    let (is_number, kind) = edge(&graph, root, "is-number").unwrap();
    assert!(is_number.flags.optional);
    assert_eq!(kind, DepKind::Optional);
    assert_eq!(
        sharp.artifacts[0].hashes[0].to_sri(),
        "sha512-KyLTWwgcR9Oe4d9HwCwNM2l7+J0dUQwn/yf7S0EnTtb0eVS4RxO0eUSvxPtzT4F3SY+C4K6fqdv/DO27sJ/v/w=="
    );
    // Every `requires` of the tree resolved to an edge.
    let (lock, _) = texts("v1");
    let requires = lock.matches("\"requires\": {").count();
    assert!(requires > 10);
    let edges: usize = graph
        .packages
        .iter()
        .skip(1)
        .map(|p| p.dependencies.len())
        .sum();
    let lock: Value = serde_json::from_str(&lock).unwrap();
    fn count_requires(deps: &Value) -> usize {
        deps.as_object().map_or(0, |deps| {
            deps.values()
                .map(|d| {
                    d.get("requires")
                        .and_then(Value::as_object)
                        .map_or(0, |r| r.len())
                        + d.get("dependencies").map_or(0, count_requires)
                })
                .sum()
        })
    }
    assert_eq!(edges, count_requires(&lock["dependencies"]));
}

#[test]
fn v1_without_package_json_guesses_root_edges() {
    let (lock, _) = texts("v1");
    let graph = common::import_text(&lock, None).unwrap();
    assert_eq!(graph.warnings.len(), 1);
    let root = root(&graph);
    assert_eq!(edge(&graph, root, "mkdirp").unwrap().1, DepKind::Dev);
    assert_eq!(
        edge(&graph, root, "is-number").unwrap().1,
        DepKind::Optional
    );
    assert_eq!(edge(&graph, root, "sharp").unwrap().1, DepKind::Normal);
    // Only the top level: `minimist` is top-level too (hoisted), nested ones are not.
    assert!(root.dependencies.len() >= 4);
    assert!(root.dependencies.iter().all(|d| graph
        .package(d.target)
        .location
        .as_deref()
        .unwrap()
        .matches("node_modules/")
        .count()
        == 1));
}

#[test]
fn workspace_roots_links_and_files() {
    let graph = import_case("workspace");
    let roots: Vec<(&str, Option<&str>)> = graph
        .roots
        .iter()
        .map(|&r| {
            (
                graph.package(r).name.as_str(),
                graph.package(r).location.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        roots,
        [
            ("fixture-workspace", Some("")),
            ("@fx/app", Some("packages/app")),
            ("@fx/util", Some("packages/util"))
        ]
    );
    let app = at(&graph, "packages/app");
    assert_eq!(
        app.source,
        Source::Directory {
            path: "packages/app".into(),
            editable: false
        }
    );
    assert!(app.artifacts.is_empty());
    assert_eq!(
        app.bin,
        BTreeMap::from([("app".to_owned(), "cli.js".to_owned())])
    );
    // A workspace dependency goes through the link to the member itself.
    assert_eq!(
        app.dependencies
            .iter()
            .find(|d| d.name == "@fx/util")
            .unwrap()
            .target,
        index_at(&graph, "packages/util")
    );
    // A member's dev dependency, installed in its own node_modules.
    let (is_number, kind) = edge(&graph, app, "is-number").unwrap();
    assert_eq!((is_number.version.as_str(), kind), ("7.0.0", DepKind::Dev));
    let util = at(&graph, "packages/util");
    assert_eq!(edge(&graph, util, "is-number").unwrap().0.version, "6.0.0");
    // file: directory: a directory package, not a root; its own nested dependency.
    let (local, _) = edge(&graph, root(&graph), "local-lib").unwrap();
    assert_eq!(
        local.source,
        Source::Directory {
            path: "local-lib".into(),
            editable: false
        }
    );
    assert!(!graph.roots.contains(&index_at(&graph, "local-lib")));
    assert_eq!(
        edge(&graph, local, "is-odd").unwrap().0.location.as_deref(),
        Some("local-lib/node_modules/is-odd")
    );
    // file: tarball: a local file with its integrity.
    let tiny = at(&graph, "node_modules/tiny");
    assert_eq!(
        tiny.source,
        Source::File {
            path: "vendor/tiny-1.0.0.tgz".into()
        }
    );
    assert_eq!(
        tiny.artifacts[0].filename.as_deref(),
        Some("tiny-1.0.0.tgz")
    );
    assert_eq!(tiny.artifacts[0].url, None);
    assert_eq!(tiny.artifacts[0].hashes[0].algorithm, HashAlgorithm::Sha512);
    // Link entries are not packages.
    assert!(graph
        .packages
        .iter()
        .all(|p| p.location.as_deref() != Some("node_modules/@fx/app")));
}

#[test]
fn big_lock_resolves_every_edge() {
    let graph = import_case("big-2000");
    assert_eq!(graph.packages.len(), 2057);
    let (lock, _) = texts("big-2000");
    let lock: Value = serde_json::from_str(&lock).unwrap();
    // Every normal dependency of every entry became an edge (none missing);
    // only optional/peer ones may be absent.
    let mut normal = 0;
    for (location, entry) in lock["packages"].as_object().unwrap() {
        if entry.get("link").is_some() {
            continue;
        }
        let declared: BTreeSet<&String> = entry
            .get("dependencies")
            .and_then(Value::as_object)
            .map(|d| d.keys().collect())
            .unwrap_or_default();
        let optional: BTreeSet<&String> = entry
            .get("optionalDependencies")
            .and_then(Value::as_object)
            .map(|d| d.keys().collect())
            .unwrap_or_default();
        let package = at(&graph, location);
        for name in declared.difference(&optional) {
            normal += 1;
            assert_eq!(
                edge(&graph, package, name).map(|e| e.1),
                Some(DepKind::Normal),
                "{location} -> {name}"
            );
        }
    }
    assert!(normal > 3000);
}
