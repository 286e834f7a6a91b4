//! Where an installed package comes from, read from its `resolved` field.
//!
//! | `resolved`                                        | source              | artifact |
//! |---------------------------------------------------|---------------------|----------|
//! | absent (registry package, `omit-lockfile-registry-resolved`) | registry (npmjs) | npm tarball at the rebuilt URL |
//! | `https://host/path/<name>/-/<file>.tgz`           | registry `https://host/path` | npm tarball |
//! | other `http(s)://…`                               | URL                 | npm tarball |
//! | `git+ssh://…#<commit>`, `git+https://…#<commit>`, `git://…#<commit>`, `github:o/r#<commit>` | git at the commit | git checkout |
//! | `https://codeload.github.com/o/r/tar.gz/<commit>` (also `/tarball/`, `github.com/o/r/archive/<commit>.tar.gz`, `api.github.com/repos/o/r/tarball/<commit>`), with `integrity` | git `https://github.com/o/r.git` at the commit | npm tarball (the GitHub archive, checked against `integrity`) |
//! | the same without `integrity`                      | git at the commit   | git checkout (the commit id is the only pin: the archive is not used) |
//! | `file:<path>.tgz` / `.tar.gz` / `.tar`            | local file          | npm tarball (by file name) |
//! | `file:<dir>`                                      | local directory     | none |
//!
//! A rebuilt URL is `<registry>/<name>/-/<basename>-<version>.tgz`, where the
//! basename is the name without its `@scope/`. Packages shipped inside their
//! parent's tarball (`inBundle`) have nothing to fetch: no artifact.

use lock2build_model::{Artifact, ArtifactKind, Hash, Source};

/// The public npm registry, used when `resolved` is absent.
pub const DEFAULT_REGISTRY: &str = "https://registry.npmjs.org";

/// What one entry's `resolved` means.
#[derive(Debug)]
pub(crate) struct Origin {
    pub source: Source,
    pub artifacts: Vec<Artifact>,
}

/// The tarball URL the public registry serves `name@version` at.
pub(crate) fn registry_tarball_url(registry: &str, name: &str, version: &str) -> String {
    let basename = name.rsplit('/').next().unwrap_or(name);
    format!(
        "{}/{name}/-/{basename}-{version}.tgz",
        registry.trim_end_matches('/')
    )
}

fn npm_artifact(url: Option<String>, filename: Option<String>, hashes: Vec<Hash>) -> Artifact {
    Artifact {
        kind: ArtifactKind::Npm,
        filename,
        url,
        hashes,
        size: None,
    }
}

fn file_name_of(path: &str) -> Option<String> {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    path.rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// True when `resolved` names a git repository.
fn is_git(resolved: &str) -> bool {
    ["git+", "git://", "github:", "gitlab:", "bitbucket:"]
        .iter()
        .any(|p| resolved.starts_with(p))
}

/// The source of a registry/URL/git/file package. `Err` holds the reason a
/// `resolved` value is not understood.
pub(crate) fn origin(
    name: &str,
    version: &str,
    resolved: Option<&str>,
    hashes: Vec<Hash>,
    in_bundle: bool,
) -> Result<Origin, String> {
    let Some(resolved) = resolved else {
        let registry = Source::Registry {
            url: DEFAULT_REGISTRY.to_owned(),
        };
        if in_bundle {
            return Ok(Origin {
                source: registry,
                artifacts: Vec::new(),
            });
        }
        if version.is_empty() {
            return Err(String::from("it has neither `version` nor `resolved`"));
        }
        let url = registry_tarball_url(DEFAULT_REGISTRY, name, version);
        let artifact = npm_artifact(Some(url.clone()), file_name_of(&url), hashes);
        return Ok(Origin {
            source: registry,
            artifacts: vec![artifact],
        });
    };
    if is_git(resolved) {
        return git_origin(resolved, hashes);
    }
    if let Some(path) = resolved.strip_prefix("file:") {
        let path = path.strip_prefix("./").unwrap_or(path).to_owned();
        let is_archive = [".tgz", ".tar.gz", ".tar"]
            .iter()
            .any(|ext| path.ends_with(ext));
        return Ok(if is_archive {
            let artifact = npm_artifact(None, file_name_of(&path), hashes);
            Origin {
                source: Source::File { path },
                artifacts: vec![artifact],
            }
        } else {
            Origin {
                source: Source::Directory {
                    path,
                    editable: false,
                },
                artifacts: Vec::new(),
            }
        });
    }
    if let Some((repository, commit)) = github_archive(resolved) {
        let source = Source::Git {
            url: repository.clone(),
            reference: None,
            commit: commit.clone(),
            subdirectory: None,
        };
        let artifact = if hashes.is_empty() {
            git_artifact(&repository, hashes)
        } else {
            npm_artifact(Some(resolved.to_owned()), None, hashes)
        };
        return Ok(Origin {
            source,
            artifacts: vec![artifact],
        });
    }
    if resolved.starts_with("https://") || resolved.starts_with("http://") {
        let artifact = npm_artifact(Some(resolved.to_owned()), file_name_of(resolved), hashes);
        let marker = format!("/{name}/-/");
        let source = match resolved.find(&marker) {
            Some(i) => Source::Registry {
                url: resolved[..i].to_owned(),
            },
            None => Source::Url {
                url: resolved.to_owned(),
                subdirectory: None,
            },
        };
        return Ok(Origin {
            source,
            artifacts: vec![artifact],
        });
    }
    Err(format!(
        "its `resolved` value `{resolved}` is neither a registry, URL, git nor file: address"
    ))
}

fn git_origin(resolved: &str, hashes: Vec<Hash>) -> Result<Origin, String> {
    let (repository, commit) = resolved
        .split_once('#')
        .filter(|(_, commit)| !commit.is_empty())
        .ok_or_else(|| format!("its git address `{resolved}` has no `#<commit>`"))?;
    let url = if let Some(shorthand) = repository.strip_prefix("github:") {
        format!("https://github.com/{shorthand}.git")
    } else if let Some(shorthand) = repository.strip_prefix("gitlab:") {
        format!("https://gitlab.com/{shorthand}.git")
    } else if let Some(shorthand) = repository.strip_prefix("bitbucket:") {
        format!("https://bitbucket.org/{shorthand}.git")
    } else {
        repository
            .strip_prefix("git+")
            .unwrap_or(repository)
            .to_owned()
    };
    let artifact = git_artifact(&url, hashes);
    let source = Source::Git {
        url,
        reference: None,
        commit: commit.to_owned(),
        subdirectory: None,
    };
    Ok(Origin {
        source,
        artifacts: vec![artifact],
    })
}

fn git_artifact(repository: &str, hashes: Vec<Hash>) -> Artifact {
    Artifact {
        kind: ArtifactKind::Git,
        filename: None,
        url: Some(repository.to_owned()),
        hashes,
        size: None,
    }
}

/// A GitHub archive URL of a full commit (what npm records for `github:`
/// ranges of hosted repositories): the repository and the commit.
fn github_archive(resolved: &str) -> Option<(String, String)> {
    let rest = resolved.strip_prefix("https://")?;
    let parts: Vec<&str> = rest.split(['?', '#']).next()?.split('/').collect();
    let (owner, repo, commit) = match parts.as_slice() {
        ["codeload.github.com", o, r, "tar.gz" | "tarball", c] => (*o, *r, *c),
        ["github.com", o, r, "archive", file] => (*o, *r, file.strip_suffix(".tar.gz")?),
        ["api.github.com", "repos", o, r, "tarball", c] => (*o, *r, *c),
        _ => return None,
    };
    let full = commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit());
    (full && !owner.is_empty() && !repo.is_empty()).then(|| {
        (
            format!("https://github.com/{owner}/{repo}.git"),
            commit.to_ascii_lowercase(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebuilt_urls() {
        assert_eq!(
            registry_tarball_url(DEFAULT_REGISTRY, "@types/node", "20.1.0"),
            "https://registry.npmjs.org/@types/node/-/node-20.1.0.tgz"
        );
        assert_eq!(
            registry_tarball_url("https://r.example/", "ms", "2.1.3"),
            "https://r.example/ms/-/ms-2.1.3.tgz"
        );
    }

    #[test]
    fn kinds_of_resolved() {
        let o = origin(
            "@s/a",
            "1.0.0",
            Some("https://npm.example/api/@s/a/-/a-1.0.0.tgz"),
            vec![],
            false,
        )
        .unwrap();
        assert_eq!(
            o.source,
            Source::Registry {
                url: "https://npm.example/api".into()
            }
        );
        let o = origin(
            "a",
            "1.0.0",
            Some("https://example.com/a.tgz"),
            vec![],
            false,
        )
        .unwrap();
        assert!(matches!(o.source, Source::Url { .. }));
        let o = origin(
            "y",
            "1.0.0",
            Some("git+ssh://git@github.com/x/y.git#0123abc"),
            vec![],
            false,
        )
        .unwrap();
        assert_eq!(
            o.source,
            Source::Git {
                url: "ssh://git@github.com/x/y.git".into(),
                reference: None,
                commit: "0123abc".into(),
                subdirectory: None
            }
        );
        assert_eq!(o.artifacts[0].kind, ArtifactKind::Git);
        let o = origin("y", "", Some("github:x/y#c0ffee"), vec![], false).unwrap();
        assert!(
            matches!(o.source, Source::Git { ref url, .. } if url == "https://github.com/x/y.git")
        );
        assert!(origin("y", "1", Some("git+https://h/x.git"), vec![], false).is_err());
        let o = origin("t", "1.0.0", Some("file:vendor/t-1.0.0.tgz"), vec![], false).unwrap();
        assert_eq!(
            o.source,
            Source::File {
                path: "vendor/t-1.0.0.tgz".into()
            }
        );
        let o = origin("d", "1.0.0", Some("file:../d"), vec![], false).unwrap();
        assert_eq!(
            o.source,
            Source::Directory {
                path: "../d".into(),
                editable: false
            }
        );
        assert!(origin("d", "1.0.0", Some("what"), vec![], false).is_err());
        let commit = "0123456789abcdef0123456789abcdef01234567";
        for url in [
            format!("https://codeload.github.com/o/r/tar.gz/{commit}"),
            format!("https://github.com/o/r/archive/{commit}.tar.gz"),
            format!("https://api.github.com/repos/o/r/tarball/{commit}"),
        ] {
            let o = origin("r", "1.0.0", Some(&url), vec![], false).unwrap();
            assert_eq!(
                o.source,
                Source::Git {
                    url: "https://github.com/o/r.git".into(),
                    reference: None,
                    commit: commit.into(),
                    subdirectory: None
                },
                "{url}"
            );
            assert_eq!(o.artifacts[0].kind, ArtifactKind::Git);
            let sha = Hash::parse_sri_list("sha512-6FlzubTLZG3J2a/NVCAleEhjzq5oxgHyaCU9yYXvcLsvoVaHJq/s5xXI6/XXP6tz7R9xAOtHnSO/tXtF3WRTlA==").unwrap();
            let o = origin("r", "1.0.0", Some(&url), sha, false).unwrap();
            assert_eq!(o.artifacts[0].kind, ArtifactKind::Npm);
            assert_eq!(o.artifacts[0].url.as_deref(), Some(url.as_str()));
        }
        // A branch name is no pin: an ordinary URL tarball.
        let o = origin(
            "r",
            "1.0.0",
            Some("https://codeload.github.com/o/r/tar.gz/main"),
            vec![],
            false,
        )
        .unwrap();
        assert!(matches!(o.source, Source::Url { .. }));
        assert!(origin("d", "", None, vec![], false).is_err());
        assert!(origin("d", "", None, vec![], true)
            .unwrap()
            .artifacts
            .is_empty());
    }
}
