//! Git crates of a Cargo.lock (`git+URL?rev=…#<commit>`) as cargo's
//! offline directory sources, beside the registry crates.
//!
//! Each git source of the lock (a URL with its branch, tag or rev and the
//! locked commit) is checked out by commit through `lock2build-git`
//! (verified: a checkout of another commit is refused). Each of its crates
//! is laid out once in its own store output (`git-crate-NAME-VERSION`,
//! named by the commit, the crate's directory in the checkout and its
//! normalised manifest) as `<name>-<version>/` with `.cargo-checksum.json`
//! = `{"files":{},"package":null}` (what `cargo vendor` writes for git
//! crates, less the file list), so every project with that crate at that
//! commit shares its files, as registry crates are shared. The lock's
//! `cargo-git` output holds one directory `<n>/` per source of hard links
//! to them. The vendor directory holds them under
//! `.git-sources/<n>/` (cargo's directory source skips hidden entries),
//! and the cargo configuration replaces each git source by its directory:
//!
//! ```toml
//! [source."git+https://host/repo?rev=abc"]
//! git = "https://host/repo"
//! rev = "abc"
//! replace-with = "lock2build-git-0"
//!
//! [source.lock2build-git-0]
//! directory = "/build/vendor/.git-sources/0"
//! ```
//!
//! One directory per source: the same crate version from two refs of one
//! repository (a lock may have both) does not collide.
//!
//! A crate inside a git workspace is found by reading the checkout's
//! `Cargo.toml` files (name and version, inherited ones resolved). cargo
//! refuses `version.workspace = true` outside its workspace, so the
//! manifest is normalised as `cargo vendor` does: fields and dependencies
//! inherited from `[workspace.package]` / `[workspace.dependencies]` are
//! written out, `lints.workspace` dropped, and `[workspace]`, `[patch]`,
//! `[profile]` removed; the original is kept as `Cargo.toml.orig`.

use anyhow::{anyhow, bail, Context, Result};
use lock2build_fetch::FetchOptions;
use lock2build_git::GitSpec;
use lock2build_model::Source;
use lock2build_plan::plan::Node;
use lock2build_store::{NodeId, Store};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One git source of the lock, as the cargo configuration names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub(super) struct GitSource {
    /// The repository URL.
    pub url: String,
    /// `branch=…`, `tag=…`, `rev=…`, or none (the default branch).
    pub reference: Option<String>,
    /// The locked commit.
    pub commit: String,
    /// Its crates, `(name, version)`.
    pub crates: Vec<(String, String)>,
}

/// The git crates of a lock: the `cargo-git` output, one directory per
/// source (`sources[n]` in `<path>/<n>/`).
#[derive(Debug, Clone)]
pub(super) struct GitCrates {
    pub id: NodeId,
    pub path: PathBuf,
    pub sources: Vec<GitSource>,
}

impl GitCrates {
    /// The cargo configuration that replaces each git source by its
    /// directory under `root` (`<root>/<n>`).
    pub fn cargo_config(&self, root: &Path) -> String {
        let mut out = String::new();
        for (n, s) in self.sources.iter().enumerate() {
            let quote = |v: &str| toml::Value::String(v.to_owned()).to_string();
            let mut name = format!("git+{}", s.url);
            let mut key = String::new();
            if let Some((kind, value)) = s.reference.as_deref().and_then(|r| r.split_once('=')) {
                name.push_str(&format!("?{kind}={value}"));
                key = format!("{kind} = {}\n", quote(value));
            }
            out.push_str(&format!(
                "\n[source.{}]\ngit = {}\n{key}replace-with = \"lock2build-git-{n}\"\n\n[source.lock2build-git-{n}]\ndirectory = {}\n",
                quote(&name),
                quote(&s.url),
                quote(&root.join(n.to_string()).display().to_string()),
            ));
        }
        out
    }
}

/// A git source's URL, reference and commit.
type SourceKey = (String, Option<String>, String);

/// The git sources among `nodes`, grouped and ordered.
pub(super) fn git_sources(nodes: &[&Node]) -> Vec<GitSource> {
    let mut groups: BTreeMap<SourceKey, Vec<(String, String)>> = BTreeMap::new();
    for node in nodes {
        if let Source::Git {
            url,
            reference,
            commit,
            ..
        } = &node.source
        {
            groups
                .entry((url.clone(), reference.clone(), commit.clone()))
                .or_default()
                .push((node.name.clone(), node.version.clone()));
        }
    }
    groups
        .into_iter()
        .map(|((url, reference, commit), mut crates)| {
            crates.sort();
            crates.dedup();
            GitSource {
                url,
                reference,
                commit,
                crates,
            }
        })
        .collect()
}

/// The git crates of `nodes` (none: `None`), checked out by commit and
/// laid out, or found in the store.
pub(super) fn git_crates(
    store: &Store,
    nodes: &[&Node],
    fetch: &FetchOptions,
) -> Result<Option<GitCrates>> {
    let sources = git_sources(nodes);
    if sources.is_empty() {
        return Ok(None);
    }
    let listed: Vec<serde_json::Value> = sources
        .iter()
        .map(|s| serde_json::json!({"url": s.url, "reference": s.reference, "commit": s.commit, "crates": s.crates}))
        .collect();
    let id = NodeId::compute(
        "cargo-git",
        &serde_json::json!({"recipe": "cargo-git/1", "sources": listed}),
        &[],
        &[],
        "",
    )?;
    if let Some(path) = store.output(&id) {
        return Ok(Some(GitCrates { id, path, sources }));
    }
    let options = crate::fetch_plan::git_options(
        fetch,
        !matches!(fetch.progress, lock2build_fetch::ProgressMode::Quiet),
    );
    let mut checkouts = Vec::new();
    for s in &sources {
        checkouts.push(checkout_source(store, s, &options)?.dir);
    }
    let (laid_out, references) = lay_out_sources(store, &sources, &checkouts)?;
    let made = store.build_output(&id, &references, |out| {
        link_laid_out(&laid_out, &out.building).map_err(|e| e.into())
    })?;
    Ok(Some(GitCrates {
        id,
        path: made.path,
        sources,
    }))
}

/// The checkout of git source `s` (by its commit), from the store or the
/// repository.
pub(super) fn checkout_source(
    store: &Store,
    s: &GitSource,
    options: &lock2build_git::GitOptions,
) -> Result<lock2build_git::Checkout> {
    let spec = source_spec(s);
    crate::fetch_plan::checkout_or_recover(store, &spec, options).map_err(|e| {
        anyhow!(
            "{e}\n  (the lock's git source git+{}{} for {})",
            s.url,
            s.reference
                .as_deref()
                .map(|r| format!("?{r}"))
                .unwrap_or_default(),
            s.crates
                .iter()
                .map(|(n, v)| format!("{n} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

/// What checks git source `s` out.
pub(super) fn source_spec(s: &GitSource) -> GitSpec {
    let (name, version) = &s.crates[0];
    GitSpec {
        label: format!("crates {name} {version}"),
        url: s.url.clone(),
        commit: s.commit.clone(),
        reference: s.reference.clone(),
        submodules: true,
    }
}

/// Each crate of `sources` (checked out at `checkouts`) its own output,
/// shared by every lock that has it at this commit: what the lock's
/// directory of sources links (`from`, `to` under it) and its outputs.
pub(super) fn lay_out_sources(
    store: &Store,
    sources: &[GitSource],
    checkouts: &[PathBuf],
) -> Result<(Vec<(PathBuf, PathBuf)>, Vec<NodeId>)> {
    let mut laid_out = Vec::new();
    let mut references = Vec::new();
    for (n, (s, dir)) in sources.iter().zip(checkouts).enumerate() {
        let packages = workspace_packages(dir)?;
        for (name, version) in &s.crates {
            let found = packages
                .iter()
                .find(|p| p.name == *name && p.version == *version)
                .ok_or_else(|| {
                    anyhow!(
                        "crates {name} {version}: no Cargo.toml in {} at commit {} is package {name} {version} (it has: {})\n  help: relock (`cargo update -p {name}`) so that the lock matches the repository",
                        s.url,
                        s.commit,
                        packages.iter().map(|p| format!("{} {}", p.name, p.version)).collect::<Vec<_>>().join(", ")
                    )
                })?;
            let (crate_id, path) = crate_output(store, s, dir, found)?;
            let name = format!("{name}-{version}");
            laid_out.push((path.join(&name), PathBuf::from(n.to_string()).join(name)));
            references.push(crate_id);
        }
    }
    Ok((laid_out, references))
}

/// Links each laid-out crate into `dest`.
pub(super) fn link_laid_out(laid_out: &[(PathBuf, PathBuf)], dest: &Path) -> Result<(), String> {
    for (from, to) in laid_out {
        super::cargo_vendor::link_tree(from, &dest.join(to))
            .map_err(|e| format!("linking {}: {e}", from.display()))?;
    }
    Ok(())
}

/// The store output holding the git crate `package` of the checkout `dir`
/// of `source`, laid out as `<name>-<version>/`: named by the commit, the
/// crate's directory in the checkout and its normalised manifest, so every
/// lock with this crate at this commit shares it.
fn crate_output(
    store: &Store,
    source: &GitSource,
    dir: &Path,
    package: &GitPackage,
) -> Result<(NodeId, PathBuf)> {
    use sha2::Digest;
    let manifest = toml::to_string(&package.manifest)?;
    let id = NodeId::compute(
        &format!("git-crate-{}-{}", package.name, package.version),
        &serde_json::json!({
            "recipe": "cargo-git-crate/1",
            "commit": source.commit,
            "path": package.dir.strip_prefix(dir).unwrap_or(Path::new("")),
            "manifest": hex::encode(sha2::Sha256::digest(manifest.as_bytes())),
        }),
        &[],
        &[],
        "",
    )?;
    let dest = format!("{}-{}", package.name, package.version);
    let made = store.build_output(&id, &[], |out| {
        lay_out(package, &out.building.join(&dest)).map_err(|e| {
            format!(
                "crates {} {} from {}: {e:#}",
                package.name, package.version, source.url
            )
            .into()
        })
    })?;
    Ok((id, made.path))
}

/// A package of a checkout: its directory and its normalised manifest.
struct GitPackage {
    name: String,
    version: String,
    dir: PathBuf,
    manifest: toml::Table,
}

/// Every package whose `Cargo.toml` lies in the checkout at `top` (four
/// levels deep at most), with inherited fields resolved from the nearest
/// `[workspace]` above it.
fn workspace_packages(top: &Path) -> Result<Vec<GitPackage>> {
    let mut manifests = Vec::new();
    find_manifests(top, 0, &mut manifests)?;
    let mut packages = Vec::new();
    for dir in &manifests {
        let path = dir.join("Cargo.toml");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let Ok(manifest) = toml::from_str::<toml::Table>(&text) else {
            continue;
        };
        if !manifest.contains_key("package") {
            continue;
        }
        let root = dir
            .ancestors()
            .take_while(|a| a.starts_with(top))
            .find(|a| {
                std::fs::read_to_string(a.join("Cargo.toml"))
                    .ok()
                    .and_then(|t| toml::from_str::<toml::Table>(&t).ok())
                    .is_some_and(|m| m.contains_key("workspace"))
            })
            .map(Path::to_owned);
        let workspace = match &root {
            Some(r) => {
                let t: toml::Table =
                    toml::from_str(&std::fs::read_to_string(r.join("Cargo.toml"))?)?;
                t.get("workspace")
                    .and_then(|w| w.as_table())
                    .cloned()
                    .unwrap_or_default()
            }
            None => toml::Table::new(),
        };
        let manifest = normalise(manifest, &workspace, root.as_deref(), dir)
            .with_context(|| format!("normalising {}", path.display()))?;
        let field = |key: &str| {
            manifest
                .get("package")
                .and_then(|p| p.get(key))
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        let (Some(name), version) = (
            field("name"),
            field("version").unwrap_or_else(|| "0.0.0".into()),
        ) else {
            continue;
        };
        packages.push(GitPackage {
            name,
            version,
            dir: dir.clone(),
            manifest,
        });
    }
    Ok(packages)
}

fn find_manifests(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) -> Result<()> {
    if dir.join("Cargo.toml").is_file() {
        found.push(dir.to_owned());
    }
    if depth >= 4 {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if entry.file_type()?.is_dir() && !name.starts_with('.') && name != "target" {
            find_manifests(&entry.path(), depth + 1, found)?;
        }
    }
    Ok(())
}

/// The manifest as `cargo vendor` would have it: `workspace = true` fields
/// and dependencies written out from the workspace's tables, the sections
/// that only a workspace root may have removed.
fn normalise(
    mut manifest: toml::Table,
    workspace: &toml::Table,
    root: Option<&Path>,
    dir: &Path,
) -> Result<toml::Table> {
    let inherits = |v: &toml::Value| v.get("workspace").and_then(|w| w.as_bool()) == Some(true);
    if let Some(package) = manifest.get_mut("package").and_then(|p| p.as_table_mut()) {
        package.remove("workspace");
        let shared = workspace.get("package").and_then(|p| p.as_table());
        for (key, value) in package.iter_mut() {
            if inherits(value) {
                let from = shared.and_then(|s| s.get(key)).ok_or_else(|| {
                    anyhow!("`package.{key}.workspace = true`, but the workspace has no `workspace.package.{key}`")
                })?;
                *value = match (key.as_str(), from, root) {
                    ("readme" | "license-file", toml::Value::String(p), Some(root)) => {
                        toml::Value::String(relative(&root.join(p), dir).display().to_string())
                    }
                    _ => from.clone(),
                };
            }
        }
    }
    for key in ["workspace", "patch", "replace", "profile"] {
        manifest.remove(key);
    }
    if manifest.get("lints").is_some_and(inherits) {
        manifest.remove("lints");
    }
    let shared = workspace.get("dependencies").and_then(|d| d.as_table());
    let mut tables: Vec<&mut toml::Table> = Vec::new();
    let (targets, rest): (Vec<_>, Vec<_>) = manifest.iter_mut().partition(|(k, _)| *k == "target");
    for (key, value) in rest {
        if key.ends_with("dependencies") {
            if let Some(t) = value.as_table_mut() {
                tables.push(t);
            }
        }
    }
    for (_, value) in targets {
        for (_, platform) in value.as_table_mut().into_iter().flatten() {
            for (key, deps) in platform.as_table_mut().into_iter().flatten() {
                if key.ends_with("dependencies") {
                    if let Some(t) = deps.as_table_mut() {
                        tables.push(t);
                    }
                }
            }
        }
    }
    for deps in tables {
        for (name, spec) in deps.iter_mut() {
            if inherits(spec) {
                *spec = inherit_dependency(name, spec, shared, root, dir)?;
            }
        }
    }
    Ok(manifest)
}

/// `name = { workspace = true, features, optional }` with the workspace's
/// `[workspace.dependencies]` entry written in (its `path` made relative
/// to the package, its features extended).
fn inherit_dependency(
    name: &str,
    local: &toml::Value,
    shared: Option<&toml::Table>,
    root: Option<&Path>,
    dir: &Path,
) -> Result<toml::Value> {
    let from = shared
        .and_then(|s| s.get(name))
        .ok_or_else(|| anyhow!("dependency `{name}.workspace = true`, but the workspace has no `workspace.dependencies.{name}`"))?;
    let mut spec = match from {
        toml::Value::String(v) => {
            let mut t = toml::Table::new();
            t.insert("version".into(), toml::Value::String(v.clone()));
            t
        }
        toml::Value::Table(t) => t.clone(),
        _ => bail!("`workspace.dependencies.{name}` is neither a version nor a table"),
    };
    if let (Some(toml::Value::String(p)), Some(root)) = (spec.get("path"), root) {
        let rebased = relative(&root.join(p), dir).display().to_string();
        spec.insert("path".into(), toml::Value::String(rebased));
    }
    for (key, value) in local.as_table().into_iter().flatten() {
        match key.as_str() {
            "workspace" => {}
            "features" => {
                let mut all: Vec<toml::Value> = spec
                    .get("features")
                    .and_then(|f| f.as_array())
                    .cloned()
                    .unwrap_or_default();
                all.extend(value.as_array().cloned().unwrap_or_default());
                spec.insert("features".into(), toml::Value::Array(all));
            }
            _ => {
                spec.insert(key.clone(), value.clone());
            }
        }
    }
    Ok(toml::Value::Table(spec))
}

/// `to` relative to the directory `from` (both absolute, inside one tree).
fn relative(to: &Path, from: &Path) -> PathBuf {
    let to: Vec<_> = to.components().collect();
    let from: Vec<_> = from.components().collect();
    let common = to.iter().zip(&from).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for c in &to[common..] {
        out.push(c);
    }
    out
}

/// Copies the package's directory to `dest` (not `target/`, not nested
/// packages' `.git`), writes its normalised manifest and the checksum file.
fn lay_out(package: &GitPackage, dest: &Path) -> Result<()> {
    super::copy_tree(&package.dir, dest)
        .with_context(|| format!("copying {}", package.dir.display()))?;
    make_writable(dest)?;
    let original = dest.join("Cargo.toml");
    std::fs::rename(&original, dest.join("Cargo.toml.orig"))?;
    std::fs::write(&original, toml::to_string(&package.manifest)?)?;
    std::fs::write(
        dest.join(".cargo-checksum.json"),
        serde_json::json!({"files": {}, "package": null}).to_string(),
    )?;
    Ok(())
}

/// The checkout is read-only; its copy must not be (the store's rename
/// and gc need to remove it).
fn make_writable(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        if entry.file_type()?.is_symlink() {
            continue;
        }
        let mut perms = meta.permissions();
        perms.set_mode(perms.mode() | 0o200);
        std::fs::set_permissions(entry.path(), perms)?;
        if meta.is_dir() {
            make_writable(&entry.path())?;
        }
    }
    let mut perms = std::fs::metadata(dir)?.permissions();
    perms.set_mode(perms.mode() | 0o200);
    std::fs::set_permissions(dir, perms)?;
    Ok(())
}
