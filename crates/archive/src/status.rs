//! `lock2build archive status` and `archive save`: what the archive holds
//! of a project's sources, and asking it to save the git origins.

use crate::client::{SaveRequest, Swh};
use crate::error::ArchiveError;
use crate::trees::TreeFile;
use lock2build_model::{Hash, HashAlgorithm};
use serde::Serialize;

/// One source of a project, as the status check sees it.
#[derive(Debug, Clone)]
pub enum SourceQuery {
    /// A file, by its locked hashes.
    File {
        /// `ecosystem name version`.
        label: String,
        /// The lock's hashes.
        hashes: Vec<Hash>,
    },
    /// A git commit.
    Git {
        /// `ecosystem name version`.
        label: String,
        /// The repository.
        url: String,
        /// The commit.
        commit: String,
    },
}

/// What the archive holds of one source.
#[derive(Debug, Clone, Serialize)]
pub struct SourceStatus {
    /// `ecosystem name version`.
    pub label: String,
    /// `content` (the exact bytes), `extid` (its tree, by an ExtID),
    /// `revision` (a git commit), `missing`, or `unknown` (the archive
    /// could not be asked: see `error`).
    pub found: String,
    /// The SWHID it is held as, when found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub swhid: Option<String>,
    /// For a tree: whether a recorded tree hash can verify it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verifiable: Option<bool>,
    /// An error asking about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The whole answer.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// Document version.
    pub version: u32,
    /// The archive asked.
    pub archive: String,
    /// One per source.
    pub sources: Vec<SourceStatus>,
    /// How many can be recovered (verifiably).
    pub recoverable: usize,
    /// Of how many.
    pub total: usize,
}

/// Asks the archive about every source.
pub fn archive_status(swh: &Swh, sources: &[SourceQuery], trees: &TreeFile) -> StatusReport {
    let mut out = Vec::new();
    for source in sources {
        let status = match source {
            SourceQuery::File { label, hashes } => file_status(swh, label, hashes, trees),
            SourceQuery::Git { label, commit, .. } => match swh.revision_known(commit) {
                Ok(true) => found(label, "revision", format!("swh:1:rev:{commit}"), None),
                Ok(false) => missing(label, None),
                Err(e) => missing(label, Some(e)),
            },
        };
        out.push(status);
    }
    let recoverable = out
        .iter()
        .filter(|s| {
            !matches!(s.found.as_str(), "missing" | "unknown") && s.verifiable != Some(false)
        })
        .count();
    StatusReport {
        version: 1,
        archive: swh.config().url.clone(),
        total: out.len(),
        recoverable,
        sources: out,
    }
}

fn file_status(swh: &Swh, label: &str, hashes: &[Hash], trees: &TreeFile) -> SourceStatus {
    let by = |a| hashes.iter().find(|h| h.algorithm == a);
    let content = by(HashAlgorithm::Sha256)
        .map(|h| ("sha256", h))
        .or_else(|| by(HashAlgorithm::Sha1).map(|h| ("sha1", h)));
    if let Some((algorithm, hash)) = content {
        match swh.content_known(algorithm, &hash.hex()) {
            Ok(true) => {
                return found(
                    label,
                    "content",
                    format!("{algorithm}:{}", hash.hex()),
                    None,
                )
            }
            Ok(false) => {}
            Err(e) => return missing(label, Some(e)),
        }
    }
    let recorded = trees.get(hashes);
    let mut lookups: Vec<(&str, String)> = Vec::new();
    if let Some(r) = recorded {
        if let Ok(nar) = Hash::parse_sri(&r.nar_sha256) {
            lookups.push(("nar-sha256", nar.hex()));
        }
    }
    for (a, kind) in [
        (HashAlgorithm::Sha256, "checksum-sha256"),
        (HashAlgorithm::Sha512, "checksum-sha512"),
    ] {
        if let Some(h) = by(a) {
            lookups.push((kind, h.hex()));
        }
    }
    for (kind, hex) in lookups {
        match swh.extid(kind, &hex) {
            Ok(Some(swhid)) => {
                let verifiable = recorded.map(|r| r.swhid == swhid).unwrap_or(false);
                return found(label, "extid", swhid, Some(verifiable));
            }
            Ok(None) => {}
            Err(e) => return missing(label, Some(e)),
        }
    }
    missing(label, None)
}

fn found(label: &str, how: &str, swhid: String, verifiable: Option<bool>) -> SourceStatus {
    SourceStatus {
        label: label.to_owned(),
        found: how.to_owned(),
        swhid: Some(swhid),
        verifiable,
        error: None,
    }
}

fn missing(label: &str, error: Option<ArchiveError>) -> SourceStatus {
    SourceStatus {
        label: label.to_owned(),
        found: if error.is_some() {
            "unknown"
        } else {
            "missing"
        }
        .to_owned(),
        swhid: None,
        verifiable: None,
        error: error.map(|e| e.to_string()),
    }
}

/// Asks the archive to save each git origin; one answer per URL.
pub fn save_origins(
    swh: &Swh,
    urls: &[String],
) -> Vec<(String, Result<SaveRequest, ArchiveError>)> {
    urls.iter()
        .map(|url| (url.clone(), swh.save_origin(url)))
        .collect()
}
