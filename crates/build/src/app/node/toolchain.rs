//! The host's Node.js toolchain: `node`, the npm beside it (its
//! `npm-cli.js`, run by that node) and the headers native modules compile
//! against (`<prefix>/include/node`, handed to node-gyp as
//! `npm_config_nodedir`).

use anyhow::{anyhow, bail, Result};
use lock2build_store::ToolchainId;
use std::path::{Path, PathBuf};

const INSTALL_HELP: &str = "help: install Node.js and npm (`sudo apt-get install nodejs npm` on Debian and Ubuntu, or the official tarball from https://nodejs.org) so that `node` and `npm` are in PATH";

/// `node` and `npm` as found in `PATH`.
pub(crate) struct NodeToolchain {
    /// The `node` binary as found in `PATH` (launchers call it).
    pub node: PathBuf,
    /// npm's `bin/npm-cli.js`.
    pub npm_cli: PathBuf,
    /// npm's package directory (holds its node-gyp).
    pub npm_root: PathBuf,
    /// The installation prefix of the real node binary (`/usr` for
    /// `/usr/bin/node`): node-gyp's `nodedir`.
    pub prefix: PathBuf,
    /// `node --version` (`v20.20.2`).
    pub version: String,
    /// node, npm; the identities of every output built with them.
    pub ids: Vec<ToolchainId>,
}

impl NodeToolchain {
    /// Finds `node` and `npm` in `PATH`.
    pub fn find() -> Result<NodeToolchain> {
        let node = find_in_path("node").ok_or_else(|| {
            anyhow!("`node` is not in PATH: lock2build builds npm projects with the host's Node.js\n  {INSTALL_HELP}")
        })?;
        let npm = find_in_path("npm").ok_or_else(|| {
            anyhow!(
                "`npm` is not in PATH (node is {}): lock2build runs the packages' install scripts with npm\n  {INSTALL_HELP}",
                node.display()
            )
        })?;
        let real_node = std::fs::canonicalize(&node)?;
        let prefix = real_node
            .parent()
            .and_then(Path::parent)
            .ok_or_else(|| anyhow!("{} has no installation prefix", real_node.display()))?
            .to_owned();
        // `npm` is a link to (or a shell wrapper beside) npm-cli.js.
        let real_npm = std::fs::canonicalize(&npm)?;
        let npm_cli = if real_npm.extension().is_some_and(|e| e == "js") {
            real_npm
        } else {
            [
                prefix.join("lib/node_modules/npm/bin/npm-cli.js"),
                real_npm
                    .parent()
                    .map(|d| d.join("../lib/node_modules/npm/bin/npm-cli.js"))
                    .unwrap_or_default(),
            ]
            .into_iter()
            .find(|p| p.is_file())
            .ok_or_else(|| {
                anyhow!(
                    "cannot find npm-cli.js for {} (looked in {}/lib/node_modules/npm)\n  {INSTALL_HELP}",
                    npm.display(),
                    prefix.display()
                )
            })?
        };
        let npm_cli = std::fs::canonicalize(&npm_cli)?;
        let npm_root = npm_cli
            .parent()
            .and_then(Path::parent)
            .ok_or_else(|| anyhow!("{} is not inside an npm package", npm_cli.display()))?
            .to_owned();
        let node_id = ToolchainId::probe(&node)?;
        let version = node_id.version.clone();
        // What `npm --version` prints, without starting node: npm's
        // package.json version (npm reads it from there itself).
        let manifest = npm_root.join("package.json");
        let npm_id = match std::fs::read_to_string(&manifest)
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|json| json["version"].as_str().map(str::to_owned))
        {
            Some(version) => ToolchainId::with_version(Path::new("npm"), &npm, version)?,
            None => ToolchainId::probe(&npm)?,
        };
        let ids = vec![node_id, npm_id];
        Ok(NodeToolchain {
            node,
            npm_cli,
            npm_root,
            prefix,
            version,
            ids,
        })
    }

    /// The headers node-gyp compiles against: `<prefix>/include/node`,
    /// of this very node version.
    pub fn check_headers(&self) -> Result<()> {
        let dir = self.prefix.join("include/node");
        let help = format!(
            "help: native modules are compiled against the headers of the node that runs them; install them for {} (Debian and Ubuntu: `sudo apt-get install libnode-dev`; the official Node.js tarballs ship include/node), or put a node that has them first in PATH",
            self.node.display()
        );
        let header = dir.join("node_version.h");
        let text = std::fs::read_to_string(&header).map_err(|_| {
            anyhow!(
                "the Node.js headers of {} ({}) are not in {} (no node_version.h), and this project has packages with install scripts\n  {help}",
                self.node.display(),
                self.version,
                dir.display()
            )
        })?;
        if !dir.join("common.gypi").is_file() {
            bail!(
                "{} has no common.gypi: node-gyp cannot use it as nodedir\n  {help}",
                dir.display()
            );
        }
        let macro_value = |name: &str| -> Option<String> {
            text.lines().find_map(|l| {
                let mut words = l.split_whitespace();
                (words.next() == Some("#define") && words.next() == Some(name))
                    .then(|| words.next().map(str::to_owned))
                    .flatten()
            })
        };
        if let (Some(major), Some(minor), Some(patch)) = (
            macro_value("NODE_MAJOR_VERSION"),
            macro_value("NODE_MINOR_VERSION"),
            macro_value("NODE_PATCH_VERSION"),
        ) {
            let headers = format!("v{major}.{minor}.{patch}");
            if headers != self.version {
                bail!(
                    "the Node.js headers in {} are of {headers} but {} is {}\n  {help}",
                    dir.display(),
                    self.node.display(),
                    self.version
                );
            }
        }
        Ok(())
    }

    /// The host directories a step needs besides `/usr`: the prefix (node,
    /// headers) and npm's package, when elsewhere.
    pub fn mounts(&self) -> Vec<PathBuf> {
        let mut dirs = vec![self.prefix.clone()];
        if !self.npm_root.starts_with(&self.prefix) {
            dirs.push(self.npm_root.clone());
        }
        dirs.retain(|d| !d.starts_with("/usr"));
        dirs
    }

    /// The directory of the `node` binary (first in the step's `PATH`).
    pub fn bin_dir(&self) -> PathBuf {
        self.node
            .parent()
            .map(Path::to_owned)
            .unwrap_or_else(|| PathBuf::from("/usr/bin"))
    }
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .map(|p| std::path::absolute(&p).unwrap_or(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// npm's identity without running it is the one `npm --version` gives
    /// (the ids of every npm output depend on it).
    #[test]
    fn npm_is_identified_as_its_version_flag_says() {
        let Ok(found) = NodeToolchain::find() else {
            eprintln!("no node and npm in PATH: skipped");
            return;
        };
        let npm = found.node.with_file_name("npm");
        let npm = if npm.is_file() {
            npm
        } else {
            PathBuf::from("npm")
        };
        assert_eq!(found.ids[1], ToolchainId::probe(&npm).unwrap());
    }
}
