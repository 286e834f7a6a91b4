//! SPDX 2.3 JSON (<https://spdx.github.io/spdx-spec/v2.3/>) of the plans:
//! one package per package that applies on the target.
//!
//! - `SPDXID`: `SPDXRef-` and the plan node id with every character outside
//!   `[A-Za-z0-9.-]` turned into `-` (the id's hash keeps them distinct);
//! - `downloadLocation`: the chosen artifact's URL, `git+<repo>@<commit>` for
//!   git sources (`NOASSERTION` for a repository on this machine: SPDX 2.3
//!   §7.7 names only the `git`, `https`, `http` and `ssh` transports),
//!   `NOASSERTION` for local ones;
//! - `checksums`: every hash the lock pins for the artifact;
//! - `externalRefs`: the purl (`PACKAGE-MANAGER` / `purl`);
//! - licences and copyright are `NOASSERTION` (a lock does not say);
//! - relationships: `DOCUMENT DESCRIBES <root>`, `<a> DEPENDS_ON <b>` for
//!   every plan edge.
//!
//! `creationInfo.created` is `$SOURCE_DATE_EPOCH` when set (reproducible
//! documents), else now; `documentNamespace` is made from a hash of the
//! content.

use crate::cyclonedx::content_uuid;
use crate::purl::purl;
use crate::SourcesReport;
use anyhow::Result;
use lock2build_model::{HashAlgorithm, Source};
use lock2build_plan::plan::Node;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

/// The SPDX checksum algorithm name.
pub fn checksum_algorithm(algorithm: HashAlgorithm) -> &'static str {
    match algorithm {
        HashAlgorithm::Md5 => "MD5",
        HashAlgorithm::Sha1 => "SHA1",
        HashAlgorithm::Sha256 => "SHA256",
        HashAlgorithm::Sha384 => "SHA384",
        HashAlgorithm::Sha512 => "SHA512",
    }
}

/// The SPDX element id of a plan node.
pub fn spdx_id(node_id: &str) -> String {
    let body: String = node_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("SPDXRef-{body}")
}

/// `YYYY-MM-DDThh:mm:ssZ` for `$SOURCE_DATE_EPOCH`, else for now.
pub fn created_now() -> String {
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        });
    iso8601(secs)
}

/// Seconds since the epoch as an SPDX timestamp (UTC).
pub fn iso8601(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The VCS location of a git commit (SPDX 2.3 §7.7): `git+<repo>@<commit>`
/// for the transports SPDX names (`git`, `https`, `http`, `ssh`, and
/// `git@host:path`); `None` for a repository on this machine (`file://`, a
/// path), which is no download location.
pub fn git_location(url: &str, commit: &str) -> Option<String> {
    let url = url.strip_prefix("git+").unwrap_or(url);
    let supported = ["git://", "https://", "http://", "ssh://", "git@"]
        .iter()
        .any(|t| url.starts_with(t));
    supported.then(|| format!("git+{url}@{commit}"))
}

fn download_location(node: &Node) -> String {
    match (&node.source, &node.artifact) {
        (Source::Git { url, commit, .. }, _) => {
            git_location(url, commit).unwrap_or_else(|| "NOASSERTION".into())
        }
        (_, Some(artifact)) => artifact.url.clone().unwrap_or_else(|| "NOASSERTION".into()),
        _ => "NOASSERTION".into(),
    }
}

fn package(node: &Node) -> Value {
    let mut p = Map::new();
    p.insert("SPDXID".into(), json!(spdx_id(&node.id)));
    p.insert("name".into(), json!(node.name));
    p.insert("versionInfo".into(), json!(node.version));
    p.insert("downloadLocation".into(), json!(download_location(node)));
    p.insert("filesAnalyzed".into(), json!(false));
    if let Some(artifact) = &node.artifact {
        if let Some(filename) = &artifact.filename {
            p.insert("packageFileName".into(), json!(filename));
        }
        if !artifact.hashes.is_empty() {
            let sums: Vec<Value> = artifact
                .hashes
                .iter()
                .map(|h| json!({"algorithm": checksum_algorithm(h.algorithm), "checksumValue": h.hex()}))
                .collect();
            p.insert("checksums".into(), json!(sums));
        }
    }
    p.insert("licenseConcluded".into(), json!("NOASSERTION"));
    p.insert("licenseDeclared".into(), json!("NOASSERTION"));
    p.insert("copyrightText".into(), json!("NOASSERTION"));
    if node.root {
        p.insert("primaryPackagePurpose".into(), json!("APPLICATION"));
    }
    if let Some(purl) = purl(node.ecosystem, &node.name, &node.version, &node.source) {
        p.insert(
            "externalRefs".into(),
            json!([{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl}]),
        );
    }
    Value::Object(p)
}

/// The document as a JSON value; `created` is its timestamp.
pub fn document(report: &SourcesReport, created: &str) -> Value {
    let nodes = report.plan_nodes();
    let present: BTreeSet<&str> = nodes.iter().map(|n| n.id.as_str()).collect();
    let packages: Vec<Value> = nodes.iter().map(|n| package(n)).collect();
    let mut relationships = Vec::new();
    let roots: Vec<String> = nodes
        .iter()
        .filter(|n| n.root)
        .map(|n| spdx_id(&n.id))
        .collect();
    for root in &roots {
        relationships.push(json!({"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": root}));
    }
    for n in &nodes {
        for d in n
            .dependencies
            .iter()
            .filter(|d| present.contains(d.as_str()))
        {
            relationships.push(json!({"spdxElementId": spdx_id(&n.id), "relationshipType": "DEPENDS_ON", "relatedSpdxElement": spdx_id(d)}));
        }
    }
    let name = match report.projects.as_slice() {
        [one] => format!("lock2build sources of {}", one.display.display()),
        many => format!("lock2build sources of {} lockfiles", many.len()),
    };
    let body = json!({"packages": packages, "relationships": relationships});
    let namespace = format!(
        "https://lock2build.invalid/spdx/{}",
        content_uuid(body.to_string().as_bytes())
    );
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": name,
        "documentNamespace": namespace,
        "creationInfo": {
            "created": created,
            "creators": [format!("Tool: lock2build-{}", env!("CARGO_PKG_VERSION"))],
        },
        "packages": body["packages"],
        "relationships": body["relationships"],
    })
}

/// The document, pretty-printed.
pub fn render(report: &SourcesReport, created: &str) -> Result<String> {
    let mut text = serde_json::to_string_pretty(&document(report, created))?;
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn git_locations() {
        let commit = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(
            git_location("git+https://github.com/a/b", commit).as_deref(),
            Some("git+https://github.com/a/b@0123456789abcdef0123456789abcdef01234567")
        );
        assert_eq!(
            git_location("ssh://git@github.com/a/b.git", commit).as_deref(),
            Some("git+ssh://git@github.com/a/b.git@0123456789abcdef0123456789abcdef01234567")
        );
        assert_eq!(
            git_location("git@github.com:a/b.git", commit).as_deref(),
            Some("git+git@github.com:a/b.git@0123456789abcdef0123456789abcdef01234567")
        );
        assert_eq!(git_location("git+file:///tmp/repo", commit), None);
        assert_eq!(git_location("../repo", commit), None);
    }

    #[test]
    fn ids() {
        assert_eq!(
            spdx_id("npm:@babel/core@7.1.0:0123abcd"),
            "SPDXRef-npm--babel-core-7.1.0-0123abcd"
        );
    }
}
