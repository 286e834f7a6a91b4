//! `lock2build app --engine nix`: the same build graph, built by Nix.
//!
//! The graph `app` would run is written to a scratch directory beside the
//! Nix library lock2build carries (`nix/default.nix`, embedded in the
//! binary so the two always agree on the graph's version), and
//! `nix-build` builds its `result` node: sources as fixed-output
//! derivations, lock2build's own steps through `lock2build realise` (this
//! very binary, copied into the Nix store so the derivations name it).
//! `result` is Nix's own link (a GC root). What the user's nix.conf says
//! (substituters, remote `builders`, `max-jobs`) applies unchanged.

use super::{AppOptions, AppReport};
use anyhow::{anyhow, bail, Context, Result};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

/// The Nix library, as this lock2build reads graphs.
const NIX_LIBRARY: &str = include_str!("../../../../nix/default.nix");

/// Which engine builds the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    /// lock2build's own executor, store and sandbox.
    Local,
    /// `nix-build` with lock2build's nix/ library.
    Nix,
}

/// Makes the graph of the project in `options.dir` and has Nix build its
/// result into `options.out_link`.
pub fn build(options: &AppOptions) -> Result<AppReport> {
    let graph = super::graph_for(options)?;
    let Some(result) = graph.result.clone() else {
        bail!(
            "the build graph of {} has no result node yet (this builder is not on the graph): build it with `lock2build app` (the local engine)",
            options.dir.display()
        );
    };
    for (name, tool) in &graph.toolchains {
        if let Some(dir) = unreadable_by_others(Path::new(&tool.path)) {
            crate::progress::warn(&[format!(
                "the {name} toolchain ({}) is under {}, which Nix's build users cannot enter: a single-user Nix run as its owner can build as the caller with NIX_CONFIG='build-users-group =', else install the toolchain where they can read it",
                tool.path,
                dir.display()
            )]);
        }
    }
    let scratch = tempfile::Builder::new()
        .prefix("lock2build-nix-")
        .tempdir()
        .context("creating a scratch directory")?;
    let graph_path = scratch.path().join("graph.json");
    std::fs::write(&graph_path, serde_json::to_vec_pretty(&graph)?)
        .with_context(|| format!("writing {}", graph_path.display()))?;
    let library = scratch.path().join("nix");
    std::fs::create_dir(&library)?;
    std::fs::write(library.join("default.nix"), NIX_LIBRARY)?;
    let me = std::env::current_exe().context("finding the lock2build binary")?;
    let mut command = Command::new("nix-build");
    command
        .arg(&library)
        .args(["--arg", "graph"])
        .arg(&graph_path)
        .args(["--arg", "lock2build"])
        .arg(&me)
        .args(["-A", "result", "--out-link"])
        .arg(&options.out_link)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let built = run_nix_build(command, options.progress)?;
    let output = std::fs::canonicalize(&options.out_link)
        .with_context(|| format!("reading {}", options.out_link.display()))?;
    let mut scripts: Vec<String> = std::fs::read_dir(output.join("bin"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "python")
        .collect();
    scripts.sort();
    Ok(AppReport {
        link: options.out_link.clone(),
        output,
        scripts,
        artifacts: graph.nodes.iter().filter(|n| !n.output.is_built()).count(),
        downloaded: 0,
        bytes_downloaded: 0,
        reused: graph.nodes.len().saturating_sub(built.len()),
        built,
        logs: Default::default(),
        notes: vec![format!(
            "built by Nix (node {result}); `nix log {}` shows a node's build log",
            options.out_link.display()
        )],
    })
}

/// Runs `nix-build`, passing its messages on when `progress`, and returns
/// the derivations it built (by name); its last lines are the error.
/// nixpkgs attributes of toolchains whose builder names none (the
/// providers table's `[tool.*]` entries, per binary).
const TOOLCHAIN_NIXPKGS: &[(&str, &str)] = &[
    ("cargo", "cargo"),
    ("rustc", "rustc"),
    ("cc", "gcc"),
    ("c++", "gcc"),
    ("node", "nodejs"),
    ("npm", "nodejs"),
    ("python", "python3"),
];

/// What `nix/` needs to take a graph's toolchains and native libraries
/// from nixpkgs: each toolchain's attribute (where its builder gave none),
/// each native library nodes link with the providers table's attributes.
/// Neither is part of a node id.
pub(crate) fn add_nixpkgs_names(
    graph: &mut lock2build_graph::Graph,
    providers: Option<&lock2build_overrides::Providers>,
) {
    for (name, tool) in graph.toolchains.iter_mut() {
        if tool.nixpkgs.is_none() {
            tool.nixpkgs = TOOLCHAIN_NIXPKGS
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, attr)| attr.to_string());
        }
    }
    for id in graph.nodes.iter().flat_map(|n| n.native.iter()) {
        if let Some(provider) = providers.and_then(|p| p.get(id)) {
            graph.native.insert(
                id.clone(),
                lock2build_graph::NativeLibrary {
                    nixpkgs: provider.nixpkgs.clone(),
                },
            );
        }
    }
}

fn run_nix_build(mut command: Command, progress: bool) -> Result<Vec<String>> {
    let mut child = command.spawn().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            anyhow!("nix-build is not installed: install Nix (`apt-get install nix-bin` on Debian), or build with `--engine local`")
        } else {
            anyhow!("running nix-build: {e}")
        }
    })?;
    let stderr = child
        .stderr
        .take()
        .ok_or_else(|| anyhow!("nix-build: no stderr"))?;
    let mut built = Vec::new();
    let mut tail: Vec<String> = Vec::new();
    for line in BufReader::new(stderr).lines() {
        let line = line?;
        if progress {
            eprintln!("nix> {line}");
        }
        if let Some(name) = built_derivation(&line) {
            built.push(name);
        }
        tail.push(line);
        if tail.len() > 30 {
            tail.remove(0);
        }
    }
    let status = child.wait()?;
    if !status.success() {
        bail!(
            "nix-build failed ({status}):\n{}\n(`nix log` on the failed derivation shows its whole log)",
            tail.join("\n")
        );
    }
    Ok(built)
}

/// The first directory above `path` that others may not enter (a rustup
/// toolchain under `/root`): Nix's build users could not run the tool.
fn unreadable_by_others(path: &Path) -> Option<&Path> {
    use std::os::unix::fs::PermissionsExt;
    path.ancestors()
        .skip(1)
        .find(|dir| std::fs::metadata(dir).is_ok_and(|m| m.permissions().mode() & 0o001 == 0))
}

/// `building '/nix/store/…-name.drv'...` → `name`.
fn built_derivation(line: &str) -> Option<String> {
    let drv = line.strip_prefix("building '")?.split('\'').next()?;
    let base = Path::new(drv).file_name()?.to_str()?.strip_suffix(".drv")?;
    Some(base.split_once('-').map_or(base, |(_, n)| n).to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_the_derivations_nix_says_it_builds() {
        assert_eq!(
            super::built_derivation(
                "building '/nix/store/0a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p-native-app-0.1.0.drv'..."
            )
            .as_deref(),
            Some("native-app-0.1.0")
        );
        assert_eq!(super::built_derivation("copying path '/nix/store/x'"), None);
    }

    #[test]
    fn finds_a_directory_build_users_cannot_enter() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let closed = dir.path().join("home");
        let tool = closed.join("toolchain/bin/cargo");
        std::fs::create_dir_all(tool.parent().unwrap()).unwrap();
        std::fs::write(&tool, "").unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(super::unreadable_by_others(&tool), Some(closed.as_path()));
        std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(super::unreadable_by_others(&tool), None);
    }
}
