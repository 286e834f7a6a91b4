//! Where a locked package comes from, and its candidate files.
//!
//! `[package.source] type` is one of:
//!
//! | type        | model                                   | artifacts                          |
//! |-------------|-----------------------------------------|------------------------------------|
//! | (absent)    | `Registry` `https://pypi.org/simple`    | every listed file, URL looked up later |
//! | `legacy`    | `Registry` with the source's URL        | every listed file, URL looked up later |
//! | `url`       | `Url` (URL, subdirectory)               | the listed file, with that URL     |
//! | `file`      | `File` (path)                           | the listed file                    |
//! | `git`       | `Git` (URL, reference, commit, subdir)  | one `git` artifact                 |
//! | `directory` | `Directory` (path, `develop` = editable)| none                               |

use crate::lockfile::{RawFile, RawSource};
use lock2build_model::{Artifact, ArtifactKind, Hash, Source};

/// The index Poetry uses when a package has no `[package.source]`.
pub(crate) const PYPI_SIMPLE: &str = "https://pypi.org/simple";

/// The model source of a package; the error names the unknown type.
pub(crate) fn source(raw: Option<&RawSource>, develop: bool) -> Result<Source, String> {
    let Some(raw) = raw else {
        return Ok(Source::Registry {
            url: PYPI_SIMPLE.to_owned(),
        });
    };
    let non_empty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    Ok(match raw.kind.as_str() {
        "legacy" | "pypi" => Source::Registry {
            url: if raw.url.is_empty() {
                PYPI_SIMPLE.to_owned()
            } else {
                raw.url.clone()
            },
        },
        "url" => Source::Url {
            url: raw.url.clone(),
            subdirectory: non_empty(&raw.subdirectory),
        },
        "file" => Source::File {
            path: raw.url.clone(),
        },
        "directory" => Source::Directory {
            path: raw.url.clone(),
            editable: develop,
        },
        "git" => Source::Git {
            url: raw.url.clone(),
            reference: non_empty(&raw.reference),
            commit: non_empty(&raw.resolved_reference)
                .or_else(|| non_empty(&raw.reference))
                .ok_or_else(|| {
                    format!(
                        "the git source {} has no resolved_reference (commit)",
                        raw.url
                    )
                })?,
            subdirectory: non_empty(&raw.subdirectory),
        },
        other => {
            return Err(format!(
                "unknown source type `{other}` (expected legacy, url, file, git or directory)"
            ))
        }
    })
}

/// The artifacts of a package: one per listed file, plus the checkout of a
/// git source. The error names a hash that cannot be read.
pub(crate) fn artifacts(source: &Source, files: &[&RawFile]) -> Result<Vec<Artifact>, String> {
    let mut out = Vec::new();
    if let Source::Git { url, .. } = source {
        out.push(Artifact {
            kind: ArtifactKind::Git,
            filename: None,
            url: Some(url.clone()),
            hashes: Vec::new(),
            size: None,
        });
    }
    for file in files {
        let hash = Hash::parse_prefixed(&file.hash)
            .map_err(|e| format!("the hash of `{}` cannot be read: {e}", file.file))?;
        let (kind, url) = match source {
            Source::Url { url, .. } => (direct_kind(&file.file), Some(url.clone())),
            Source::File { .. } => (direct_kind(&file.file), None),
            _ => (ArtifactKind::python_from_filename(&file.file), None),
        };
        out.push(Artifact {
            kind,
            filename: Some(file.file.clone()),
            url,
            hashes: vec![hash],
            size: None,
        });
    }
    Ok(out)
}

/// A wheel, an sdist (a Python source archive name), or another archive.
fn direct_kind(filename: &str) -> ArtifactKind {
    const SDIST: [&str; 5] = [".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar"];
    if filename.ends_with(".whl") {
        ArtifactKind::Wheel
    } else if SDIST.iter().any(|ext| filename.ends_with(ext)) {
        ArtifactKind::Sdist
    } else {
        ArtifactKind::Archive
    }
}

/// Lock 1.1 lists files per name, for every locked version of that name:
/// keeps those whose file name carries `version` (wheels and sdists are
/// named `{name}-{version}…`). Files whose version cannot be read are kept.
pub(crate) fn files_for_version<'a>(files: &'a [RawFile], version: &str) -> Vec<&'a RawFile> {
    files
        .iter()
        .filter(|f| match filename_version(&f.file) {
            Some(v) => same_version(&v, version),
            None => true,
        })
        .collect()
}

fn filename_version(filename: &str) -> Option<String> {
    if let Some(stem) = filename.strip_suffix(".whl") {
        return stem.split('-').nth(1).map(str::to_owned);
    }
    let stem = [".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar"]
        .iter()
        .find_map(|ext| filename.strip_suffix(ext))?;
    stem.rsplit_once('-').map(|(_, v)| v.to_owned())
}

fn same_version(a: &str, b: &str) -> bool {
    use std::str::FromStr;
    match (
        pep440_rs::Version::from_str(a),
        pep440_rs::Version::from_str(b),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_in_file_names() {
        assert_eq!(
            filename_version("PySocks-1.7.1-py27-none-any.whl").as_deref(),
            Some("1.7.1")
        );
        assert_eq!(
            filename_version("charset-normalizer-3.5.2.tar.gz").as_deref(),
            Some("3.5.2")
        );
        assert_eq!(filename_version("weird"), None);
        assert!(same_version("1.0", "1.0.0"));
        assert_eq!(direct_kind("x-1.0.tar.gz"), ArtifactKind::Sdist);
        assert_eq!(direct_kind("x.rpm"), ArtifactKind::Archive);
    }
}
