//! `lock2build graph` and `lock2build realise`: the build graph as data
//! (crates/graph, docs/graph.md), and one node of it made on request, the
//! entry point other engines (Nix: `nix/`) call.
//!
//! The graph is the builder's (`app::graph_for`: rust_graph, node_graph,
//! python_graph, in crates/build); its sources are each a *fixed* node
//! (`fetch-url`: its URLs and the lock's hash; `git-checkout`: its URL,
//! commit and the checkout's NAR sha256). `realise` makes those, and every
//! built kind of `exec::KINDS`; it refuses a kind it cannot make.

use crate::fetch_plan::{checkout_or_recover, git_options};
use anyhow::{anyhow, bail, Context, Result};
use lock2build_fetch::{fetch_all, FetchOptions, FetchRequest};
use lock2build_git::{nar_sha256, GitSpec};
use lock2build_graph::{Graph, HashMode, Node, Output};
use lock2build_model::Hash;
use lock2build_store::Store;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Makes node `id` of the graph at `graph_path` into `out` (which must not
/// exist), from `inputs` (node id → path). The inputs are checked first:
/// every one the node takes, no other, each fixed one by its hash.
pub fn realise(
    graph_path: &Path,
    id: &str,
    inputs: &[(String, PathBuf)],
    out: &Path,
    options: &FetchOptions,
) -> Result<()> {
    let mut graph = Graph::read(graph_path).map_err(|e| anyhow!("{e}"))?;
    let index = graph
        .nodes
        .iter()
        .position(|n| n.id == id)
        .ok_or_else(|| anyhow!("{}", lock2build_graph::GraphError::UnknownNode(id.into())))?;
    let provided = Provided::from_env()?;
    if let Some(provided) = &provided {
        provided.apply(&mut graph, index)?;
    }
    let node = &graph.nodes[index];
    check_inputs(&graph, node, inputs)?;
    // What a built node embeds (launchers, a sandbox's mount points).
    let out = &std::path::absolute(out)?;
    let inputs: Vec<(String, PathBuf)> = inputs
        .iter()
        .map(|(id, path)| Ok((id.clone(), std::path::absolute(path)?)))
        .collect::<std::io::Result<_>>()?;
    let inputs = inputs.as_slice();
    if std::fs::symlink_metadata(out).is_ok() {
        bail!("{} exists; realise writes a new output only", out.display());
    }
    let scratch = tempfile::Builder::new()
        .prefix("lock2build-realise-")
        .tempdir()
        .context("creating a scratch directory")?;
    // Whatever realise and its steps cache goes to the scratch directory,
    // never the caller's home (Nix's builds have HOME=/homeless-shelter,
    // which must not appear: Nix refuses to build while it exists).
    let home = scratch.path().join("home");
    std::fs::create_dir(&home)?;
    std::env::set_var("HOME", &home);
    std::env::set_var("XDG_CACHE_HOME", home.join(".cache"));
    std::env::remove_var("LOCK2BUILD_CACHE");
    let store = Store::open(scratch.path().join("store"))?;
    let made = scratch.path().join("out");
    match node.recipe.kind.as_str() {
        "fetch-url" => realise_fetch(node, &store, &made, options)?,
        "git-checkout" => realise_git(node, &store, &made, options)?,
        other => match crate::app::exec::kind(other) {
            // A built node, or a fixed one lock2build writes (a skeleton).
            Some(kind) => {
                // Toolchains from the engine's store: its build is the
                // sandbox (bubblewrap's view is the host's /usr).
                let sandbox = match provided {
                    Some(_) => lock2build_sandbox::Sandbox::Unsandboxed,
                    None => lock2build_sandbox::Sandbox::detect()?,
                };
                let ctx = (&graph, node, &store, &sandbox);
                realise_built(kind, ctx, inputs, (&made, out), options)?
            }
            _ => bail!(
                "node `{id}` is a `{other}` node, which this lock2build cannot realise (kinds it realises: {})",
                realisable().join(", ")
            ),
        },
    }
    check_content(node, &made)?;
    std::fs::rename(&made, out)
        .or_else(|_| copy_out(&made, out))
        .with_context(|| format!("writing {}", out.display()))
}

/// The kinds `realise` makes.
fn realisable() -> Vec<&'static str> {
    let mut kinds = vec!["fetch-url", "git-checkout"];
    for kind in crate::app::exec::KINDS.iter().flat_map(|k| k.iter()) {
        if kind.name != "local-tree" && !kinds.contains(&kind.name) {
            kinds.push(kind.name);
        }
    }
    kinds
}

/// Makes a built node with its kind, as `lock2build app` would, into
/// `made` for `final_path`: the builder runs in the sandbox without
/// network (`lock2build realise` under Nix: inside Nix's build).
fn realise_built(
    kind: &crate::app::exec::Kind,
    (graph, node, store, sandbox): (&Graph, &Node, &Store, &lock2build_sandbox::Sandbox),
    inputs: &[(String, PathBuf)],
    (made, final_path): (&Path, &Path),
    options: &FetchOptions,
) -> Result<()> {
    use crate::app::exec::{Ctx, Out};
    let steps =
        crate::progress::BuildProgress::new(crate::progress::StepDisplay::Quiet, false, None);
    let ctx = Ctx {
        graph,
        store,
        sandbox,
        steps: &steps,
        fetch: options,
        jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
        logs_dir: store.logs_dir(),
        builder: None,
    };
    std::fs::create_dir_all(&ctx.logs_dir)?;
    std::fs::create_dir(made).with_context(|| format!("creating {}", made.display()))?;
    let inputs = inputs.iter().cloned().collect();
    let out = Out {
        building: made,
        final_path,
    };
    (kind.make)(&ctx, node, &inputs, &out)
        .with_context(|| format!("realising node `{}`", node.id))
        .map_err(|e| with_logs(e, &ctx.logs_dir))
}

/// A failed step's error with the end of its logs: the scratch store
/// (and the log in it) is removed when `realise` ends, and an engine shows
/// only what `realise` prints.
fn with_logs(e: anyhow::Error, logs_dir: &Path) -> anyhow::Error {
    let mut text = format!("{e:#}");
    for entry in std::fs::read_dir(logs_dir).into_iter().flatten().flatten() {
        let tail = lock2build_store::read_tail(&entry.path(), 64 << 10);
        let lines: Vec<&str> = tail.lines().collect();
        text.push_str(&format!(
            "\n--- the last lines of {} ---\n{}",
            entry.file_name().to_string_lossy(),
            lines[lines.len().saturating_sub(40)..].join("\n")
        ));
    }
    anyhow!("{text}")
}

/// What an engine gives a node instead of the host's tools and libraries
/// (`nix/` with `pkgs`): the JSON document in `LOCK2BUILD_NIXPKGS`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Provided {
    /// Toolchain name (a key of the graph's `toolchains`) → the package
    /// whose `bin/` has it.
    #[serde(default)]
    toolchains: BTreeMap<String, PathBuf>,
    /// Native library (the graph's `native`) → its packages' outputs
    /// (`dev` and `out`).
    #[serde(default)]
    native: BTreeMap<String, Vec<PathBuf>>,
    /// More tools for the step's `PATH` (pkg-config, coreutils): `bin/`s.
    #[serde(default)]
    path: Vec<PathBuf>,
}

/// The variable [`Provided`] is read from.
const PROVIDED_VAR: &str = "LOCK2BUILD_NIXPKGS";

impl Provided {
    fn from_env() -> Result<Option<Provided>> {
        let Some(text) = std::env::var_os(PROVIDED_VAR) else {
            return Ok(None);
        };
        let text = text.to_string_lossy();
        serde_json::from_str(&text).map(Some).with_context(|| {
            format!("reading {PROVIDED_VAR} (toolchains, native, path: store paths)")
        })
    }

    /// Node `index` of `graph` runs the given toolchains (their binaries
    /// by the host's file names, rustc's sysroot asked of it, an npm
    /// recipe's node and npm those packages') and builds
    /// against the given libraries: `PATH`, pkg-config's search path,
    /// `CPATH` and `LIBRARY_PATH` from those packages only.
    fn apply(&self, graph: &mut Graph, index: usize) -> Result<()> {
        let node = &graph.nodes[index];
        let mut path: Vec<PathBuf> = Vec::new();
        for name in node.toolchains.clone() {
            let binary = self.toolchain(graph, &node.id, &name)?;
            if let Some(dir) = binary.parent().filter(|d| !path.iter().any(|p| p == d)) {
                path.push(dir.to_owned());
            }
            if let Some(tool) = graph.toolchains.get_mut(&name) {
                tool.path = binary.display().to_string();
            }
        }
        let node = &graph.nodes[index];
        let mut env = BTreeMap::new();
        let found = self.library_dirs(node)?;
        let [pc, include, lib] = &found;
        path.extend(self.path.iter().cloned());
        let join =
            |dirs: &[PathBuf]| std::env::join_paths(dirs).map(|p| p.to_string_lossy().into_owned());
        env.insert("PATH", join(&path)?);
        // Only the given packages' modules: never the host's default ones.
        env.insert("PKG_CONFIG_PATH", join(pc)?);
        env.insert("PKG_CONFIG_LIBDIR", join(pc)?);
        env.insert("CPATH", join(include)?);
        env.insert("LIBRARY_PATH", join(lib)?);
        let sysroot = match (
            node.recipe.params.contains_key("sysroot"),
            graph.toolchains.get("rustc"),
        ) {
            (true, Some(rustc)) if node.toolchains.iter().any(|t| t == "rustc") => {
                Some(rustc_sysroot(Path::new(&rustc.path), &node.id)?)
            }
            _ => None,
        };
        let node = &mut graph.nodes[index];
        node.env
            .extend(env.into_iter().map(|(k, v)| (k.to_owned(), v)));
        if let Some(sysroot) = sysroot {
            node.recipe
                .params
                .insert("sysroot".into(), serde_json::json!(sysroot));
        }
        crate::app::exec::use_given_toolchains(node, &self.toolchains)
    }

    /// The node's libraries' pkg-config, header and library directories
    /// (those of their given outputs that exist).
    fn library_dirs(&self, node: &Node) -> Result<[Vec<PathBuf>; 3]> {
        let mut found: [Vec<PathBuf>; 3] = Default::default();
        for native in &node.native {
            let outputs = self.native.get(native).ok_or_else(|| {
                anyhow!(
                    "node `{}` links `{native}`, which {PROVIDED_VAR} does not give",
                    node.id
                )
            })?;
            for out in outputs {
                for (dir, into) in [
                    ("lib/pkgconfig", 0),
                    ("share/pkgconfig", 0),
                    ("include", 1),
                    ("lib", 2),
                ] {
                    let dir = out.join(dir);
                    if dir.is_dir() && !found[into].contains(&dir) {
                        found[into].push(dir);
                    }
                }
            }
        }
        Ok(found)
    }

    /// The binary of toolchain `name` in its given package: `bin/` and the
    /// file name the graph's (host) path has, or `bin/NAME`.
    fn toolchain(&self, graph: &Graph, node: &str, name: &str) -> Result<PathBuf> {
        let package = self.toolchains.get(name).ok_or_else(|| {
            anyhow!("node `{node}` runs the `{name}` toolchain, which {PROVIDED_VAR} does not give")
        })?;
        let host = graph.toolchains.get(name).map(|t| Path::new(&t.path));
        let names = host
            .and_then(|h| h.file_name())
            .into_iter()
            .chain([std::ffi::OsStr::new(name)]);
        let candidates: Vec<PathBuf> = names.map(|n| package.join("bin").join(n)).collect();
        candidates
            .iter()
            .find(|c| c.is_file())
            .cloned()
            .ok_or_else(|| {
                anyhow!(
                    "node `{node}`: the `{name}` toolchain's package {} has no {}",
                    package.display(),
                    candidates
                        .iter()
                        .map(|c| c.display().to_string())
                        .collect::<Vec<_>>()
                        .join(" or ")
                )
            })
    }
}

/// `rustc --print sysroot` of a given rustc (nixpkgs' is its package).
fn rustc_sysroot(rustc: &Path, node: &str) -> Result<String> {
    let out = std::process::Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .with_context(|| format!("node `{node}`: running {} --print sysroot", rustc.display()))?;
    if !out.status.success() {
        bail!(
            "node `{node}`: {} --print sysroot failed: {}",
            rustc.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn check_inputs(graph: &Graph, node: &Node, given: &[(String, PathBuf)]) -> Result<()> {
    let given: BTreeMap<&str, &PathBuf> = given.iter().map(|(k, v)| (k.as_str(), v)).collect();
    for (id, path) in &given {
        if !node.inputs.iter().any(|i| i == id) {
            bail!("node `{}` does not take `{id}` as input", node.id);
        }
        let input = graph
            .node(id)
            .ok_or_else(|| anyhow!("`{id}` is not in the graph"))?;
        check_content(input, path)
            .with_context(|| format!("input `{id}` ({}) of node `{}`", path.display(), node.id))?;
    }
    if let Some(missing) = node.inputs.iter().find(|i| !given.contains_key(i.as_str())) {
        bail!(
            "node `{}` needs input `{missing}`: pass --input {missing}=PATH",
            node.id
        );
    }
    Ok(())
}

/// A fixed node's output must hash to its hash (a file: its bytes; a
/// tree: its NAR serialisation).
fn check_content(node: &Node, path: &Path) -> Result<()> {
    if node.recipe.kind == "local-tree" {
        // The project's files: their tree hash (what the app's id has).
        // One file (an npm lock): the sha256 of its bytes.
        let expected = node.recipe.params.get("tree").and_then(|t| t.as_str());
        let got = if std::fs::symlink_metadata(path)?.is_file() {
            use sha2::Digest;
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            hex::encode(sha2::Sha256::digest(bytes))
        } else {
            crate::app::tree_hash(path)?
        };
        return match expected {
            Some(tree) if tree == got => Ok(()),
            _ => bail!(
                "the contents of {} do not match node `{}`: its files hash to {got}, not {}",
                path.display(),
                node.id,
                expected.unwrap_or("(none recorded)")
            ),
        };
    }
    let Output::Fixed(fixed) = &node.output else {
        return Ok(());
    };
    let why = match fixed.mode {
        HashMode::Flat => {
            let expected = Hash::parse_sri(&fixed.hash).map_err(|e| anyhow!("{e}"))?;
            lock2build_store::check_source_file(path, std::slice::from_ref(&expected)).err()
        }
        HashMode::Nar => {
            let got = nar_sha256(path).map_err(|e| anyhow!("{e}"))?;
            (got != fixed.hash).then(|| format!("expected {}, got {got}", fixed.hash))
        }
    };
    match why {
        None => Ok(()),
        Some(why) => bail!(
            "the contents of {} do not match node `{}`: {why}",
            path.display(),
            node.id
        ),
    }
}

fn realise_fetch(node: &Node, store: &Store, made: &Path, options: &FetchOptions) -> Result<()> {
    let Output::Fixed(fixed) = &node.output else {
        bail!("fetch-url node `{}` has no fixed hash", node.id);
    };
    let urls: Vec<String> =
        serde_json::from_value(node.recipe.params.get("urls").cloned().unwrap_or_default())
            .with_context(|| format!("node `{}`: `urls`", node.id))?;
    let request = FetchRequest {
        label: node.name.clone(),
        urls,
        hashes: vec![Hash::parse_sri(&fixed.hash).map_err(|e| anyhow!("{e}"))?],
        size: node.recipe.params.get("size").and_then(|s| s.as_u64()),
        // The graph writes hashes as SRI.
        notation: lock2build_model::HashNotation::Sri,
    };
    let report = fetch_all(store, std::slice::from_ref(&request), options)?;
    let item = report
        .items
        .first()
        .ok_or_else(|| anyhow!("nothing fetched"))?;
    std::fs::copy(&item.path, made).with_context(|| format!("copying to {}", made.display()))?;
    Ok(())
}

fn realise_git(node: &Node, store: &Store, made: &Path, options: &FetchOptions) -> Result<()> {
    let spec = git_spec_of(node)?;
    let git_options = git_options(options, false);
    let checkout = checkout_or_recover(store, &spec, &git_options)?;
    copy_out(&checkout.dir, made)?;
    Ok(())
}

/// The git source a `git-checkout` node checks out.
fn git_spec_of(node: &Node) -> Result<GitSpec> {
    let param = |key: &str| {
        node.recipe
            .params
            .get(key)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("git-checkout node `{}` has no `{key}`", node.id))
    };
    Ok(GitSpec {
        label: node.name.clone(),
        url: param("url")?,
        commit: param("commit")?,
        reference: None,
        submodules: node
            .recipe
            .params
            .get("submodules")
            .and_then(|v| v.as_bool())
            .unwrap_or(true),
    })
}

/// Copies a file or a whole tree (links kept as links, modes as they are;
/// nothing left out: a checkout's `target/` is part of its NAR hash).
fn copy_out(from: &Path, to: &Path) -> std::io::Result<()> {
    if std::fs::symlink_metadata(from)?.is_dir() {
        crate::app::copy_all(from, to)
    } else {
        std::fs::copy(from, to).map(|_| ())
    }
}
