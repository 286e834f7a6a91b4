//! Which crates of a Cargo.lock the host build compiles, and with which
//! features, learnt from cargo itself before any `.crate` is downloaded.
//!
//! A Cargo.lock lists the crates of every platform (bat's: 365 of 751 MB
//! are Windows crates), and cargo's resolver, platform-blind, wants every
//! one of them in a vendor directory. It reads only their manifests,
//! though, and the registry index holds what a manifest says to the
//! resolver (dependencies with their `target` cfg, kinds, optional flags
//! and features; features; `links`). So:
//!
//! ```text
//! cargo-stubs    every registry crate of the lock as a manifest written from   ← the lock's crates and checksums
//!                its index entry (checked: index cksum = lock checksum), an
//!                empty lib.rs and .cargo-checksum.json
//! cargo-resolve  `cargo metadata --offline --locked --filter-platform HOST`    ← the skeleton, the stubs, features,
//!                of the workspace's skeleton over the stubs: the crates           the host triple, cargo
//!                reachable from the members through normal and build
//!                dependencies, with the features cargo enables
//! ```
//!
//! The vendor directory then holds the real crates of that set and the
//! stubs of the rest (which cargo resolves but never compiles): the
//! downloads and the native checks are those of what cargo builds
//! (hyperfine 1.19.0: 106 of 155 crates). When the index cannot be read
//! (offline with a cold cache, a registry without a sparse index), every
//! crate is vendored and checked, as before, and a note says so.

use super::cargo_git::GitCrates;
use super::cargo_vendor::{RustToolchain, VendoredCrate};
use anyhow::{anyhow, Context, Result};
use lock2build_plan::cargo_index::{index_entries, sparse_index, LockedCrate};
use lock2build_plan::pyindex::IndexOptions;
use lock2build_store::{NodeId, Store};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The stub crates of a lock: one store output.
#[derive(Debug, Clone)]
pub(super) struct Stubs {
    pub id: NodeId,
    pub path: PathBuf,
}

/// What the host build compiles: `(name, version)` → enabled features, path
/// crates included.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct HostBuild {
    pub crates: BTreeMap<String, BTreeMap<String, Vec<String>>>,
}

impl HostBuild {
    /// Whether cargo compiles `name` `version` for the host.
    pub fn builds(&self, name: &str, version: &str) -> bool {
        self.crates
            .get(name)
            .is_some_and(|v| v.contains_key(version))
    }

    /// Adds what `other` compiles (another workspace of the same build).
    pub fn merge(&mut self, other: HostBuild) {
        for (name, versions) in other.crates {
            let mine = self.crates.entry(name).or_default();
            for (version, features) in versions {
                let enabled = mine.entry(version).or_default();
                enabled.extend(features);
                enabled.sort();
                enabled.dedup();
            }
        }
    }

    /// The features cargo enables on `name` `version`.
    pub fn features(&self, name: &str, version: &str) -> &[String] {
        self.crates
            .get(name)
            .and_then(|v| v.get(version))
            .map_or(&[], Vec::as_slice)
    }
}

/// The stubs of `crates` (all registry crates of a lock), made from their
/// index entries or found in the store.
pub(super) fn stubs(
    store: &Store,
    crates: &[VendoredCrate],
    options: &IndexOptions,
) -> Result<Stubs> {
    let mut listed: Vec<String> = crates
        .iter()
        .map(|c| format!("{}-{} {} {}", c.name, c.version, c.sha256, c.registry))
        .collect();
    listed.sort();
    listed.dedup();
    let id = NodeId::compute(
        "cargo-stubs",
        &serde_json::json!({"recipe": "cargo-stubs/2", "crates": listed}),
        &[],
        &[],
        "",
    )?;
    if let Some(path) = store.output(&id) {
        return Ok(Stubs { id, path });
    }
    let mut by_index: BTreeMap<String, Vec<LockedCrate>> = BTreeMap::new();
    for c in crates {
        let index = sparse_index(&c.registry).ok_or_else(|| {
            anyhow!(
                "{} {} comes from {}, which has no sparse index to read",
                c.name,
                c.version,
                c.registry
            )
        })?;
        by_index.entry(index).or_default().push(LockedCrate {
            name: c.name.clone(),
            version: c.version.clone(),
            sha256: c.sha256.clone(),
        });
    }
    let mut manifests = Vec::new();
    for (index, locked) in &by_index {
        let entries = index_entries(index, locked, options)?;
        for (c, entry) in locked.iter().zip(entries) {
            let manifest = stub_manifest(&entry)
                .with_context(|| format!("the index entry of {} {}", c.name, c.version))?;
            manifests.push((c.clone(), manifest));
        }
    }
    let made = store.build_output(&id, &[], |out| {
        for (c, manifest) in &manifests {
            let dir = out.building.join(format!("{}-{}", c.name, c.version));
            std::fs::create_dir_all(&dir)?;
            std::fs::write(dir.join("Cargo.toml"), manifest)?;
            std::fs::write(dir.join("lib.rs"), "")?;
            std::fs::write(dir.join("build.rs"), "fn main() {}\n")?;
            std::fs::write(
                dir.join(".cargo-checksum.json"),
                serde_json::json!({"files": {}, "package": c.sha256}).to_string(),
            )?;
        }
        Ok(())
    })?;
    Ok(Stubs {
        id,
        path: made.path,
    })
}

/// A manifest that resolves like the crate's own, from its index entry:
/// name, version, `links`, features, and every dependency with its kind,
/// target, optional flag, features and rename. Its library is an empty
/// `lib.rs` (and its build script, which `links` requires, an empty
/// `build.rs`).
pub(super) fn stub_manifest(entry: &serde_json::Value) -> Result<String> {
    use toml::{Table, Value};
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    let name = text(&entry["name"]).ok_or_else(|| anyhow!("no `name`"))?;
    let version = text(&entry["vers"]).ok_or_else(|| anyhow!("no `vers`"))?;
    let mut package = Table::new();
    package.insert("name".into(), Value::String(name));
    package.insert("version".into(), Value::String(version));
    if let Some(links) = text(&entry["links"]) {
        // cargo wants a build script beside `links`.
        package.insert("links".into(), Value::String(links));
        package.insert("build".into(), Value::String("build.rs".into()));
    }
    let mut doc = Table::new();
    doc.insert("package".into(), Value::Table(package));
    let mut lib = Table::new();
    lib.insert("path".into(), Value::String("lib.rs".into()));
    doc.insert("lib".into(), Value::Table(lib));
    let mut features = Table::new();
    for key in ["features", "features2"] {
        for (feature, enables) in entry[key].as_object().into_iter().flatten() {
            let list = enables
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(|s| Value::String(s.to_owned())))
                .collect();
            features.insert(feature.clone(), Value::Array(list));
        }
    }
    doc.insert("features".into(), Value::Table(features));
    let mut targets = Table::new();
    for dep in entry["deps"].as_array().into_iter().flatten() {
        let dep_name = text(&dep["name"]).ok_or_else(|| anyhow!("a dependency has no `name`"))?;
        let mut spec = Table::new();
        let req = text(&dep["req"]).unwrap_or_else(|| "*".into());
        spec.insert("version".into(), Value::String(req));
        if let Some(package) = text(&dep["package"]) {
            spec.insert("package".into(), Value::String(package));
        }
        if dep["optional"].as_bool() == Some(true) {
            spec.insert("optional".into(), Value::Boolean(true));
        }
        if dep["default_features"].as_bool() == Some(false) {
            spec.insert("default-features".into(), Value::Boolean(false));
        }
        let wanted: Vec<Value> = dep["features"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(|s| Value::String(s.to_owned())))
            .collect();
        if !wanted.is_empty() {
            spec.insert("features".into(), Value::Array(wanted));
        }
        let table = match dep["kind"].as_str() {
            Some("dev") => "dev-dependencies",
            Some("build") => "build-dependencies",
            _ => "dependencies",
        };
        let section = match text(&dep["target"]) {
            Some(target) => {
                let t = targets
                    .entry(target)
                    .or_insert_with(|| Value::Table(Table::new()));
                t.as_table_mut()
                    .ok_or_else(|| anyhow!("internal: target table"))?
            }
            None => &mut doc,
        };
        section
            .entry(table)
            .or_insert_with(|| Value::Table(Table::new()))
            .as_table_mut()
            .ok_or_else(|| anyhow!("internal: dependency table"))?
            .insert(dep_name, Value::Table(spec));
    }
    if !targets.is_empty() {
        doc.insert("target".into(), Value::Table(targets));
    }
    Ok(toml::to_string(&doc)?)
}

/// What the host build of the workspace at `skeleton` compiles, given
/// `stubs` for every registry crate: cargo's own resolve, cached in the
/// store.
pub(super) fn host_build(
    store: &Store,
    toolchain: &RustToolchain,
    skeleton: &super::cargo_workspace::SkeletonDir,
    stubs: &Stubs,
    git: Option<&GitCrates>,
    selection: &[String],
) -> Result<HostBuild> {
    let host = host_triple(toolchain)?;
    let inputs: Vec<NodeId> = std::iter::once(stubs.id.clone())
        .chain(git.map(|g| g.id.clone()))
        .collect();
    let id = NodeId::compute(
        "cargo-resolve",
        &serde_json::json!({
            "recipe": "cargo-resolve/1",
            "skeleton": skeleton.hash(),
            "selection": selection,
            "host": host,
        }),
        &inputs,
        &toolchain.ids[1..2],
        "",
    )?;
    let made = store.build_output(&id, &inputs, |out| {
        let mut config = super::cargo_vendor::cargo_config(&stubs.path);
        if let Some(git) = git {
            config.push_str(&git.cargo_config(&git.path));
        }
        let resolved = skeleton
            .path()
            .and_then(|skeleton| run_metadata(toolchain, skeleton, &config, selection, &host))
            .map_err(|e| format!("{e:#}"))?;
        std::fs::write(
            out.building.join("host-build.json"),
            serde_json::to_vec_pretty(&resolved)?,
        )?;
        Ok(())
    })?;
    let path = made.path.join("host-build.json");
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("reading {}", path.display()))
}

/// `rustc -vV`'s host triple, remembered by the stamp of the sysroot's
/// `rustc` (the compiler itself, never rustup's proxy: it answers from
/// itself).
fn host_triple(toolchain: &RustToolchain) -> Result<String> {
    let ask = || -> Result<String> {
        let out = std::process::Command::new(&toolchain.rustc)
            .arg("-vV")
            .output()
            .context("running `rustc -vV`")?;
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("host: "))
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("`rustc -vV` names no host triple"))
    };
    let rustc = std::fs::canonicalize(&toolchain.rustc).unwrap_or(toolchain.rustc.clone());
    let given = toolchain.rustc.display().to_string();
    lock2build_store::remembered_probe("rustc -vV host", &[&rustc], &[&given], ask)
}

/// Runs `cargo metadata` offline with `config` (the stubs and git crates as
/// its sources) and walks its resolve from
/// the workspace members through normal and build dependencies.
fn run_metadata(
    toolchain: &RustToolchain,
    skeleton: &Path,
    config: &str,
    selection: &[String],
    host: &str,
) -> Result<HostBuild> {
    let mut args = vec!["--locked", "--filter-platform", host];
    args.extend(selection.iter().map(String::as_str));
    let metadata = toolchain.metadata(skeleton, config, &args)?;
    Ok(walk_resolve(&metadata))
}

/// The packages reachable from the workspace members through dependency
/// edges that are not dev-only, with their features.
fn walk_resolve(metadata: &serde_json::Value) -> HostBuild {
    let nodes: BTreeMap<&str, &serde_json::Value> = metadata["resolve"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| Some((n["id"].as_str()?, n)))
        .collect();
    let packages: BTreeMap<&str, (&str, &str)> = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            Some((
                p["id"].as_str()?,
                (p["name"].as_str()?, p["version"].as_str()?),
            ))
        })
        .collect();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut stack: Vec<&str> = metadata["workspace_members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m.as_str())
        .collect();
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        let Some(node) = nodes.get(id) else { continue };
        for dep in node["deps"].as_array().into_iter().flatten() {
            let not_dev_only = dep["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].as_str() != Some("dev"));
            if let (true, Some(pkg)) = (not_dev_only, dep["pkg"].as_str()) {
                stack.push(pkg);
            }
        }
    }
    let mut build = HostBuild::default();
    for id in seen {
        let (Some((name, version)), Some(node)) = (packages.get(id), nodes.get(id)) else {
            continue;
        };
        let features = node["features"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str().map(str::to_owned))
            .collect();
        build
            .crates
            .entry((*name).to_owned())
            .or_default()
            .insert((*version).to_owned(), features);
    }
    build
}
