//! CycloneDX 1.6 JSON (<https://cyclonedx.org/docs/1.6/json/>) of the
//! plans: one component per package that applies on the target.
//!
//! - `bom-ref` is the plan's node id; `purl` as in [`crate::purl`];
//!   npm scopes go in `group`.
//! - `hashes`: every hash the lock pins for the chosen artifact.
//! - `externalReferences`: `distribution` (the artifact URL, with its
//!   hashes) or `vcs` (`<repo>#<commit>`) for git sources.
//! - `swhid`: `swh:1:rev:<commit>` for git sources (a git commit id is its
//!   Software Heritage revision id); files are identified by hash only, as
//!   their SWHID (`swh:1:cnt:`, a git blob hash) is not known from a lock.
//! - `dependencies`: the plan's edges.
//! - With a single project, its root is `metadata.component`; with several,
//!   each root is a component of type `application`.
//!
//! The document is deterministic: no timestamp, and `serialNumber` is a
//! UUID made from a hash of the content.

use crate::purl::{purl, split_name};
use crate::SourcesReport;
use anyhow::Result;
use lock2build_model::{Hash, HashAlgorithm, Source};
use lock2build_plan::plan::Node;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

/// The CycloneDX algorithm name.
pub fn hash_alg(algorithm: HashAlgorithm) -> &'static str {
    match algorithm {
        HashAlgorithm::Md5 => "MD5",
        HashAlgorithm::Sha1 => "SHA-1",
        HashAlgorithm::Sha256 => "SHA-256",
        HashAlgorithm::Sha384 => "SHA-384",
        HashAlgorithm::Sha512 => "SHA-512",
    }
}

fn hashes_json(hashes: &[Hash]) -> Vec<Value> {
    hashes
        .iter()
        .map(|h| json!({"alg": hash_alg(h.algorithm), "content": h.hex()}))
        .collect()
}

/// The git commit as a SWHID, when it is a full SHA-1.
pub fn git_swhid(source: &Source) -> Option<String> {
    match source {
        Source::Git { commit, .. }
            if commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            Some(format!("swh:1:rev:{}", commit.to_ascii_lowercase()))
        }
        _ => None,
    }
}

fn component(node: &Node, application: bool) -> Value {
    let mut c = Map::new();
    c.insert(
        "type".into(),
        json!(if application {
            "application"
        } else {
            "library"
        }),
    );
    c.insert("bom-ref".into(), json!(node.id));
    let (group, name) = split_name(node.ecosystem, &node.name);
    if let Some(group) = group {
        c.insert("group".into(), json!(group));
    }
    c.insert("name".into(), json!(name));
    c.insert("version".into(), json!(node.version));
    if let Some(p) = purl(node.ecosystem, &node.name, &node.version, &node.source) {
        c.insert("purl".into(), json!(p));
    }
    let mut references = Vec::new();
    if let Some(artifact) = &node.artifact {
        if !artifact.hashes.is_empty() {
            c.insert("hashes".into(), json!(hashes_json(&artifact.hashes)));
        }
        if let (Some(url), false) = (&artifact.url, matches!(node.source, Source::Git { .. })) {
            let mut r = Map::new();
            r.insert("type".into(), json!("distribution"));
            r.insert("url".into(), json!(url));
            if !artifact.hashes.is_empty() {
                r.insert("hashes".into(), json!(hashes_json(&artifact.hashes)));
            }
            references.push(Value::Object(r));
        }
    }
    if let Source::Git { url, commit, .. } = &node.source {
        references.push(json!({"type": "vcs", "url": format!("{url}#{commit}")}));
    }
    if !references.is_empty() {
        c.insert("externalReferences".into(), json!(references));
    }
    if let Some(swhid) = git_swhid(&node.source) {
        c.insert("swhid".into(), json!([swhid]));
    }
    c.insert(
        "properties".into(),
        json!([{"name": "lock2build:ecosystem", "value": node.ecosystem.as_str()}]),
    );
    Value::Object(c)
}

/// A UUID (version 5 layout) from a SHA-256 of `bytes`.
pub fn content_uuid(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// The BOM as a JSON value.
pub fn document(report: &SourcesReport) -> Value {
    let nodes = report.plan_nodes();
    let roots: Vec<&&Node> = nodes.iter().filter(|n| n.root).collect();
    let single_root = (roots.len() == 1).then(|| roots[0].id.clone());
    let present: BTreeSet<&str> = nodes.iter().map(|n| n.id.as_str()).collect();
    let components: Vec<Value> = nodes
        .iter()
        .filter(|n| Some(&n.id) != single_root.as_ref())
        .map(|n| component(n, n.root))
        .collect();
    let dependencies: Vec<Value> = nodes
        .iter()
        .map(|n| {
            let on: Vec<&str> = n
                .dependencies
                .iter()
                .map(String::as_str)
                .filter(|d| present.contains(d))
                .collect();
            json!({"ref": n.id, "dependsOn": on})
        })
        .collect();
    let mut metadata = Map::new();
    metadata.insert(
        "tools".into(),
        json!({"components": [{"type": "application", "name": "lock2build", "version": env!("CARGO_PKG_VERSION")}]}),
    );
    if let Some(root) = roots.first().filter(|_| single_root.is_some()) {
        metadata.insert("component".into(), component(root, true));
    }
    metadata.insert("lifecycles".into(), json!([{"phase": "pre-build"}]));
    let body = json!({"components": components, "dependencies": dependencies});
    let serial = content_uuid(body.to_string().as_bytes());
    json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": format!("urn:uuid:{serial}"),
        "version": 1,
        "metadata": Value::Object(metadata),
        "components": body["components"],
        "dependencies": body["dependencies"],
    })
}

/// The BOM, pretty-printed.
pub fn render(report: &SourcesReport) -> Result<String> {
    let mut text = serde_json::to_string_pretty(&document(report))?;
    text.push('\n');
    Ok(text)
}
