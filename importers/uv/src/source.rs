//! `source = { ... }` tables and what they mean.
//!
//! | uv.lock                                  | [`Source`]                          |
//! |------------------------------------------|-------------------------------------|
//! | `registry = "<index url or dir>"`        | `Registry { url }`                  |
//! | `git = "<url>?<ref>&subdirectory=…#sha"` | `Git { url, reference, commit, … }` |
//! | `url = "<archive url>"` (+`subdirectory`)| `Url { url, subdirectory }`         |
//! | `path = "<file or dir>"`                 | `File` (archive) or `Directory`     |
//! | `directory = "<dir>"`                    | `Directory { editable: false }`     |
//! | `editable = "<dir>"`                     | `Directory { editable: true }`      |
//! | `virtual = "<dir>"`                      | `Virtual`                           |
//!
//! The git query names the reference the user asked for (`rev`, `tag` or
//! `branch`) and the package's `subdirectory`; the fragment is the full
//! commit uv resolved.

use crate::raw::RawSource;
use lock2build_model::Source;

/// Reads a `source` table. The error is a sentence for the user.
pub(crate) fn convert(raw: &RawSource) -> Result<Source, String> {
    let kinds = [
        raw.registry.is_some(),
        raw.git.is_some(),
        raw.url.is_some(),
        raw.path.is_some(),
        raw.directory.is_some(),
        raw.editable.is_some(),
        raw.virtual_.is_some(),
    ];
    let count = kinds.iter().filter(|&&k| k).count();
    if count != 1 {
        return Err(format!(
            "a package source needs exactly one of registry, git, url, path, directory, editable or virtual (found {count})"
        ));
    }
    if let Some(url) = &raw.registry {
        return Ok(Source::Registry { url: url.clone() });
    }
    if let Some(git) = &raw.git {
        return parse_git(git);
    }
    if let Some(url) = &raw.url {
        return Ok(Source::Url {
            url: url.clone(),
            subdirectory: raw.subdirectory.clone(),
        });
    }
    if let Some(path) = &raw.path {
        return Ok(if looks_like_archive(path) {
            Source::File { path: path.clone() }
        } else {
            Source::Directory {
                path: path.clone(),
                editable: false,
            }
        });
    }
    if let Some(path) = &raw.directory {
        return Ok(Source::Directory {
            path: path.clone(),
            editable: false,
        });
    }
    if let Some(path) = &raw.editable {
        return Ok(Source::Directory {
            path: path.clone(),
            editable: true,
        });
    }
    match &raw.virtual_ {
        Some(path) => Ok(Source::Virtual { path: path.clone() }),
        None => Err("a package source has no kind".to_owned()),
    }
}

/// True for the file names of Python distributions (wheel or sdist).
fn looks_like_archive(path: &str) -> bool {
    const ENDINGS: [&str; 7] = [
        ".whl", ".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz", ".tar",
    ];
    let lower = path.to_ascii_lowercase();
    ENDINGS.iter().any(|e| lower.ends_with(e))
}

/// Parses uv's git source: `<url>[?rev=|tag=|branch=…&subdirectory=…]#<commit>`.
pub(crate) fn parse_git(git: &str) -> Result<Source, String> {
    let (rest, commit) = git.rsplit_once('#').ok_or_else(|| {
        format!("git source `{git}` has no `#<commit>`: uv always pins the resolved commit")
    })?;
    let commit = commit.trim();
    if commit.is_empty() || !commit.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!(
            "git source `{git}` pins `{commit}`, which is not a commit hash"
        ));
    }
    let (url, query) = match rest.split_once('?') {
        Some((url, query)) => (url, Some(query)),
        None => (rest, None),
    };
    let mut reference = None;
    let mut subdirectory = None;
    for pair in query.into_iter().flat_map(|q| q.split('&')) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value);
        match key {
            "rev" | "tag" | "branch" => reference = Some(value),
            "subdirectory" => subdirectory = Some(value),
            _ => {}
        }
    }
    Ok(Source::Git {
        url: url.to_owned(),
        reference,
        commit: commit.to_ascii_lowercase(),
        subdirectory,
    })
}

/// Decodes `%XX` escapes; anything malformed is kept as written.
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes.get(i).copied().unwrap_or_default();
        if b == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(decoded) = hex {
                out.push(decoded);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The last path segment of a URL or path, without query or fragment, decoded.
pub(crate) fn basename(url_or_path: &str) -> Option<String> {
    let end = url_or_path.find(['?', '#']).unwrap_or(url_or_path.len());
    let path = url_or_path.get(..end)?;
    let name = path.rsplit(['/', '\\']).next()?;
    if name.is_empty() {
        None
    } else {
        Some(percent_decode(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_with_tag_and_subdirectory() {
        let s =
            parse_git("https://example.org/r.git?tag=v1&subdirectory=pkg%2Fa#0123abcd").unwrap();
        assert_eq!(
            s,
            Source::Git {
                url: "https://example.org/r.git".into(),
                reference: Some("v1".into()),
                commit: "0123abcd".into(),
                subdirectory: Some("pkg/a".into()),
            }
        );
        assert!(parse_git("https://example.org/r.git?tag=v1").is_err());
        assert!(parse_git("https://example.org/r.git#main").is_err());
    }

    #[test]
    fn basenames() {
        assert_eq!(
            basename("https://x/a/b-1.0%2Blocal.tar.gz#sha256=00").as_deref(),
            Some("b-1.0+local.tar.gz")
        );
        assert_eq!(
            basename("wheels/t-0.1-py3-none-any.whl").as_deref(),
            Some("t-0.1-py3-none-any.whl")
        );
        assert_eq!(basename("https://x/"), None);
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
