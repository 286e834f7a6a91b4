//! Download URLs of crates from alternative registries.
//!
//! Cargo.lock names a sparse registry by its index URL
//! (`sparse+https://example.com/index/`), not by where its `.crate` files
//! are. The registry's `config.json` says: its `dl` field is a URL template
//! with the markers `{crate}`, `{version}`, `{prefix}`, `{lowerprefix}` and
//! `{sha256-checksum}`; a `dl` with no marker means
//! `<dl>/{crate}/{version}/download` (the Cargo registry protocol). The
//! config is cached beside the index pages.

use anyhow::{anyhow, Context, Result};
use lock2build_model::{ArtifactKind, Graph, Source};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// Cargo's `{prefix}`: `1/`, `2/`, `3/a`, `ab/cd` from the crate name.
fn prefix(name: &str) -> String {
    match name.len() {
        1 => "1".to_owned(),
        2 => "2".to_owned(),
        3 => format!("3/{}", &name[..1]),
        _ => format!("{}/{}", &name[..2], &name[2..4]),
    }
}

/// The download URL of `name` `version` by the registry's `dl` template.
pub fn download_url(dl: &str, name: &str, version: &str, sha256_hex: &str) -> String {
    const MARKERS: [&str; 5] = [
        "{crate}",
        "{version}",
        "{prefix}",
        "{lowerprefix}",
        "{sha256-checksum}",
    ];
    if !MARKERS.iter().any(|m| dl.contains(m)) {
        return format!("{}/{name}/{version}/download", dl.trim_end_matches('/'));
    }
    dl.replace("{crate}", name)
        .replace("{version}", version)
        .replace("{prefix}", &prefix(name))
        .replace("{lowerprefix}", &prefix(&name.to_lowercase()))
        .replace("{sha256-checksum}", sha256_hex)
}

/// Fills in the URLs of sparse-registry crates of `graph` from their
/// registries' `config.json`. A registry that cannot be read leaves its
/// crates without URL and adds a warning (planning goes on; `fetch` then
/// names them).
pub fn resolve_urls(graph: &mut Graph, cache_dir: &Path, offline: bool) {
    let mut configs: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut warnings = Vec::new();
    for package in &mut graph.packages {
        let Source::Registry { url } = &package.source else {
            continue;
        };
        let Some(index) = url.strip_prefix("sparse+") else {
            continue;
        };
        for artifact in package
            .artifacts
            .iter_mut()
            .filter(|a| a.kind == ArtifactKind::Crate && a.url.is_none())
        {
            let dl = match configs.get(index) {
                Some(dl) => dl.clone(),
                None => {
                    let dl = match registry_dl(index, cache_dir, offline) {
                        Ok(dl) => Some(dl),
                        Err(e) => {
                            warnings.push(lock2build_model::Diagnostic {
                                file: graph.lockfile.clone(),
                                line: package.line,
                                message: format!(
                                    "cannot read the download address of the registry {index} ({e:#}); its crates have no URL until it can be reached"
                                ),
                            });
                            None
                        }
                    };
                    configs.insert(index.to_owned(), dl.clone());
                    dl
                }
            };
            let Some(dl) = dl else { continue };
            let sha = artifact
                .hashes
                .iter()
                .find(|h| h.algorithm == lock2build_model::HashAlgorithm::Sha256)
                .map(|h| h.hex())
                .unwrap_or_default();
            artifact.url = Some(download_url(&dl, &package.name, &package.version, &sha));
        }
    }
    graph.warnings.extend(warnings);
}

fn registry_dl(index: &str, cache_dir: &Path, offline: bool) -> Result<String> {
    let url = format!("{}/config.json", index.trim_end_matches('/'));
    let cache = cache_dir.join("cargo-registries").join(format!(
        "{}.json",
        &hex::encode(Sha256::digest(url.as_bytes()))[..32]
    ));
    let text = match std::fs::read_to_string(&cache) {
        Ok(text) => text,
        Err(_) if offline => {
            return Err(anyhow!(
                "{url} is not cached and --offline forbids the network"
            ))
        }
        Err(_) => {
            let response = reqwest::blocking::Client::builder()
                .user_agent(concat!("lock2build/", env!("CARGO_PKG_VERSION")))
                .timeout(std::time::Duration::from_secs(60))
                .build()?
                .get(&url)
                .send()
                .with_context(|| format!("GET {url}"))?;
            if !response.status().is_success() {
                return Err(anyhow!("GET {url}: {}", response.status()));
            }
            let text = crate::pyindex::read_bounded(response, &url)?;
            if let Some(parent) = cache.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let tmp = cache.with_extension(format!("tmp{}", std::process::id()));
            std::fs::write(&tmp, &text)?;
            std::fs::rename(&tmp, &cache)?;
            text
        }
    };
    let config: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{url}: not JSON"))?;
    config["dl"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("{url} has no `dl` field; it is not a Cargo registry config"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        assert_eq!(
            download_url(
                "https://crates.example/api/v1/crates",
                "serde",
                "1.0.0",
                "ab"
            ),
            "https://crates.example/api/v1/crates/serde/1.0.0/download"
        );
        assert_eq!(
            download_url(
                "https://dl.example/{prefix}/{crate}/{crate}-{version}.crate",
                "serde",
                "1.0.0",
                "ab"
            ),
            "https://dl.example/se/rd/serde/serde-1.0.0.crate"
        );
        assert_eq!(
            download_url(
                "https://x/{lowerprefix}/{sha256-checksum}",
                "Abc",
                "1",
                "ff"
            ),
            "https://x/3/a/ff"
        );
        assert_eq!(prefix("a"), "1");
        assert_eq!(prefix("ab"), "2");
    }
}
