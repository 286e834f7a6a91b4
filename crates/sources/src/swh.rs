//! The archivists' list: every locked artifact of every package, as the
//! `sources.json` that Software Heritage's nixguix lister reads (the format
//! of nixpkgs-swh and Guix), or as plain URLs.
//!
//! ```json
//! {"version": 1, "revision": "<commit>", "sources": [
//!   {"type": "url", "urls": ["https://…/x.whl"], "integrity": "sha256-…",
//!    "outputHashAlgo": "sha256", "outputHashMode": "flat"},
//!   {"type": "git", "git_url": "https://…", "git_ref": "<commit>"}]}
//! ```
//!
//! One `url` entry per distinct file, keyed by its strongest locked hash
//! (the same file locked by two projects is listed once; two URLs for the
//! same bytes become one entry with both URLs). One `git` entry per
//! (repository, commit). Local sources (the project, path dependencies) are
//! not listed: they are the project's own tree; nor are `file:` URLs. Artifacts that have no URL
//! or no hash cannot be archived by hash and are listed in
//! [`Entries::unlisted`] instead.

use crate::SourcesReport;
use anyhow::Result;
use lock2build_model::{Graph, Hash, Source};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// One source to archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A file, by URL(s) and hash.
    Url {
        /// Where it can be downloaded; the first is the one the lock names.
        urls: Vec<String>,
        /// The strongest hash the lock pins.
        integrity: Hash,
    },
    /// A git repository at a commit.
    Git {
        /// Repository URL.
        url: String,
        /// The pinned commit.
        commit: String,
    },
}

/// The list, and what could not go in it.
#[derive(Debug, Clone, Default)]
pub struct Entries {
    /// Tree hashes recorded at the first good fetch (`lock2build.trees.json`
    /// of the projects), by the file's SRI hash: written beside `integrity`.
    pub trees: BTreeMap<String, RecordedTree>,
    /// Distinct sources, `url` entries first, each kind sorted by URL.
    pub entries: Vec<Entry>,
    /// `<lockfile>: <name> <version>: <why>` for artifacts left out.
    pub unlisted: Vec<String>,
}

/// Every locked artifact of every graph of the report (projects, then build
/// systems), deduplicated.
pub fn entries(report: &SourcesReport) -> Entries {
    let mut entries = entries_of(report.graphs());
    entries.trees = report.trees.clone();
    entries
}

/// One artifact's unpacked tree, as `lock2build fetch` recorded it in
/// `lock2build.trees.json` (docs/archive.md).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct RecordedTree {
    /// `swh:1:dir:<hex>` of the unpacked tree.
    pub swhid: String,
    /// SRI sha256 of its NAR serialisation.
    pub nar_sha256: String,
}

/// The trees recorded in `<dir>/lock2build.trees.json` (none when the file
/// is missing or unreadable: it only adds information).
pub fn recorded_trees(dir: &std::path::Path) -> BTreeMap<String, RecordedTree> {
    #[derive(serde::Deserialize)]
    struct File {
        version: u32,
        trees: BTreeMap<String, RecordedTree>,
    }
    std::fs::read(dir.join("lock2build.trees.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<File>(&bytes).ok())
        .filter(|f| f.version == 1)
        .map(|f| f.trees)
        .unwrap_or_default()
}

/// [`entries`] for any set of graphs.
pub fn entries_of<'g>(graphs: impl IntoIterator<Item = &'g Graph>) -> Entries {
    let mut by_hash: BTreeMap<(u8, Vec<u8>), (Vec<String>, Hash)> = BTreeMap::new();
    let mut git: BTreeMap<(String, String), ()> = BTreeMap::new();
    let mut unlisted = Vec::new();
    for graph in graphs {
        for package in &graph.packages {
            let what = || {
                format!(
                    "{}: {} {}",
                    graph.lockfile.display(),
                    package.name,
                    package.version
                )
            };
            match &package.source {
                Source::Git { url, commit, .. } => {
                    if is_remote(url) {
                        git.insert((url.clone(), commit.clone()), ());
                    } else {
                        unlisted.push(format!("{}: git {url}: a repository on this machine, not reachable by an archive", what()));
                    }
                    continue;
                }
                Source::Directory { .. } | Source::Virtual { .. } | Source::File { .. } => continue,
                Source::Registry { .. } | Source::Url { .. } => {}
            }
            for artifact in &package.artifacts {
                let name = artifact.filename.as_deref().unwrap_or("artifact");
                let (Some(url), Some(hash)) = (&artifact.url, Hash::strongest(&artifact.hashes))
                else {
                    let why = if artifact.url.is_none() {
                        "no URL is known"
                    } else {
                        "the lock pins no hash"
                    };
                    unlisted.push(format!("{}: {name}: {why}", what()));
                    continue;
                };
                if !is_remote(url) {
                    unlisted.push(format!(
                        "{}: {url}: a file on this machine, not reachable by an archive",
                        what()
                    ));
                    continue;
                }
                let key = (hash.algorithm.strength(), hash.digest.clone());
                let slot = by_hash
                    .entry(key)
                    .or_insert_with(|| (Vec::new(), hash.clone()));
                if !slot.0.contains(url) {
                    slot.0.push(url.clone());
                }
            }
        }
    }
    let mut urls: Vec<Entry> = by_hash
        .into_values()
        .map(|(urls, integrity)| Entry::Url { urls, integrity })
        .collect();
    urls.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
    let git = git
        .into_keys()
        .map(|(url, commit)| Entry::Git { url, commit });
    unlisted.sort();
    unlisted.dedup();
    Entries {
        entries: urls.into_iter().chain(git).collect(),
        unlisted,
        trees: BTreeMap::new(),
    }
}

/// True for URLs an archive can fetch (not `file:` or a bare path).
pub fn is_remote(url: &str) -> bool {
    let url = url.strip_prefix("git+").unwrap_or(url);
    ["https://", "http://", "ssh://", "git://", "ftp://"]
        .iter()
        .any(|s| url.starts_with(s))
        || (url.contains('@') && url.contains(':') && !url.contains("://"))
}

fn sort_key(entry: &Entry) -> (&str, String) {
    match entry {
        Entry::Url { urls, integrity } => (
            urls.first().map(String::as_str).unwrap_or(""),
            integrity.to_sri(),
        ),
        Entry::Git { url, commit } => (url.as_str(), commit.clone()),
    }
}

/// One entry as the nixguix lister reads it.
pub fn entry_json(entry: &Entry) -> Value {
    match entry {
        Entry::Url { urls, integrity } => json!({
            "type": "url",
            "urls": urls,
            "integrity": integrity.to_sri(),
            "outputHashAlgo": integrity.algorithm.as_str(),
            "outputHashMode": "flat",
        }),
        Entry::Git { url, commit } => json!({
            "type": "git",
            "git_url": url,
            "git_ref": commit,
            "swhid": format!("swh:1:rev:{commit}"),
        }),
    }
}

/// [`entry_json`], with the recorded tree of a file beside its integrity
/// (`swhid`, `nar_sha256`): what verifies a tree recovered from the
/// archive, whose re-made tarball cannot match `integrity`.
pub fn entry_json_with_tree(entry: &Entry, trees: &BTreeMap<String, RecordedTree>) -> Value {
    let mut value = entry_json(entry);
    if let (Entry::Url { integrity, .. }, Value::Object(map)) = (entry, &mut value) {
        if let Some(tree) = trees.get(&integrity.to_sri()) {
            map.insert("swhid".into(), json!(tree.swhid));
            map.insert("nar_sha256".into(), json!(tree.nar_sha256));
        }
    }
    value
}

/// The `sources.json` document; `revision` is left out when unknown.
pub fn render_json(entries: &Entries, revision: Option<String>) -> Result<String> {
    let mut doc = serde_json::Map::new();
    doc.insert("version".into(), json!(1));
    if let Some(rev) = revision {
        doc.insert("revision".into(), json!(rev));
    }
    doc.insert(
        "sources".into(),
        Value::Array(
            entries
                .entries
                .iter()
                .map(|e| entry_json_with_tree(e, &entries.trees))
                .collect(),
        ),
    );
    let mut text = serde_json::to_string_pretty(&Value::Object(doc))?;
    text.push('\n');
    Ok(text)
}

/// One line per source: the file's URL (the first, when there are several),
/// or `git+<url>#<commit>` for a git checkout.
pub fn render_urls(entries: &Entries) -> String {
    let mut out = String::new();
    for entry in &entries.entries {
        match entry {
            Entry::Url { urls, .. } => {
                if let Some(url) = urls.first() {
                    out.push_str(url);
                    out.push('\n');
                }
            }
            Entry::Git { url, commit } => {
                let url = url.strip_prefix("git+").unwrap_or(url);
                out.push_str(&format!("git+{url}#{commit}\n"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use lock2build_model::{Artifact, ArtifactKind, Ecosystem, HashAlgorithm, Package};

    fn graph() -> Graph {
        let mut g = Graph::new(Ecosystem::Npm, "package-lock.json", "package-lock.json v3");
        let sha512 = Hash::new(HashAlgorithm::Sha512, vec![7; 64]);
        let sha1 = Hash::new(HashAlgorithm::Sha1, vec![1; 20]);
        for (name, url) in [
            ("a", "https://registry.npmjs.org/a/-/a-1.0.0.tgz"),
            ("a-mirror", "https://mirror.example/a-1.0.0.tgz"),
        ] {
            let mut p = Package::new(
                name,
                "1.0.0",
                Source::Registry {
                    url: "https://registry.npmjs.org".into(),
                },
            );
            p.artifacts.push(Artifact {
                kind: ArtifactKind::Npm,
                filename: None,
                url: Some(url.into()),
                hashes: vec![sha1.clone(), sha512.clone()],
                size: None,
            });
            g.push(p);
        }
        let commit = "0123456789abcdef0123456789abcdef01234567".to_string();
        for url in ["https://github.com/x/y.git", "file:///tmp/z"] {
            g.push(Package::new(
                "y",
                "2.0.0",
                Source::Git {
                    url: url.into(),
                    reference: None,
                    commit: commit.clone(),
                    subdirectory: None,
                },
            ));
        }
        let mut unhashed = Package::new(
            "u",
            "1",
            Source::Url {
                url: "https://example.org/u.tgz".into(),
                subdirectory: None,
            },
        );
        unhashed.artifacts.push(Artifact {
            kind: ArtifactKind::Archive,
            filename: None,
            url: Some("https://example.org/u.tgz".into()),
            hashes: vec![],
            size: None,
        });
        g.push(unhashed);
        g
    }

    #[test]
    fn same_bytes_once_with_every_url_and_git_by_commit() {
        let g = graph();
        let e = entries_of([&g, &g]);
        assert_eq!(e.entries.len(), 2, "{:?}", e.entries);
        let Entry::Url { urls, integrity } = &e.entries[0] else {
            panic!("url first")
        };
        assert_eq!(urls.len(), 2);
        assert_eq!(integrity.algorithm, HashAlgorithm::Sha512);
        let json = entry_json(&e.entries[0]);
        assert_eq!(json["outputHashAlgo"], "sha512");
        assert!(json["integrity"]
            .as_str()
            .is_some_and(|i| i.starts_with("sha512-")));
        assert_eq!(
            entry_json(&e.entries[1]),
            serde_json::json!({"type": "git", "git_url": "https://github.com/x/y.git", "git_ref": "0123456789abcdef0123456789abcdef01234567", "swhid": "swh:1:rev:0123456789abcdef0123456789abcdef01234567"})
        );
        assert_eq!(e.unlisted.len(), 2, "{:?}", e.unlisted);
        let urls = render_urls(&e);
        assert_eq!(urls, "https://registry.npmjs.org/a/-/a-1.0.0.tgz\ngit+https://github.com/x/y.git#0123456789abcdef0123456789abcdef01234567\n");
        let doc: serde_json::Value =
            serde_json::from_str(&render_json(&e, None).unwrap_or_default()).unwrap_or_default();
        assert_eq!(doc["version"], 1);
        assert!(doc.get("revision").is_none());
    }
}
