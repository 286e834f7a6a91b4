//! What a package's `source` says about where it comes from and what to
//! download: see the table in the crate docs.

use cargo_lock::package::{GitReference, SourceKind};
use cargo_lock::{Checksum, SourceId};
use lock2build_model::{Artifact, ArtifactKind, Hash, HashAlgorithm, Source};

/// Where crates.io serves `.crate` files.
const CRATES_IO_DOWNLOAD: &str = "https://static.crates.io/crates";

/// A source as dependencies refer to it: the `source` string without the
/// git commit (`dependencies` entries leave it out) and without the
/// registry's internal `locked` marker.
pub(crate) fn identity(source: &SourceId) -> String {
    source.with_precise(None).to_string()
}

/// Why a registry or git source cannot be used.
pub(crate) enum SourceProblem {
    /// A registry crate without a checksum.
    NoChecksum,
    /// A git source without `#<commit>`.
    NoCommit,
}

/// The model's source and artifacts of a package from a registry or git
/// (path packages are handled by the caller).
pub(crate) fn remote(
    name: &str,
    version: &str,
    source: &SourceId,
    checksum: Option<&Checksum>,
) -> Result<(Source, Vec<Artifact>), SourceProblem> {
    let url = source.url().to_string();
    match source.kind() {
        SourceKind::Git(reference) => {
            let commit = source.precise().ok_or(SourceProblem::NoCommit)?.to_owned();
            let artifact = Artifact {
                kind: ArtifactKind::Git,
                filename: None,
                url: Some(url.clone()),
                hashes: Vec::new(),
                size: None,
            };
            let reference = match reference {
                GitReference::DefaultBranch => None,
                GitReference::Branch(b) => Some(format!("branch={b}")),
                GitReference::Tag(t) => Some(format!("tag={t}")),
                GitReference::Rev(r) => Some(format!("rev={r}")),
            };
            Ok((
                Source::Git {
                    url,
                    reference,
                    commit,
                    subdirectory: None,
                },
                vec![artifact],
            ))
        }
        kind => {
            let registry = match kind {
                SourceKind::Registry => url,
                // `sparse+…`, `local-registry+…`, `directory+…`: keep the
                // protocol, it says how to read the index.
                _ => identity(source),
            };
            let digest = checksum
                .and_then(Checksum::as_sha256)
                .ok_or(SourceProblem::NoChecksum)?;
            let download = source
                .is_default_registry()
                .then(|| format!("{CRATES_IO_DOWNLOAD}/{name}/{name}-{version}.crate"));
            let artifact = Artifact {
                kind: ArtifactKind::Crate,
                filename: Some(format!("{name}-{version}.crate")),
                url: download,
                hashes: vec![Hash::new(HashAlgorithm::Sha256, digest.to_vec())],
                size: None,
            };
            Ok((Source::Registry { url: registry }, vec![artifact]))
        }
    }
}
