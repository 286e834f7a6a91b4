//! One requirement line of a lock-grade requirements file:
//!
//! ```text
//! requirement := name [ "[" extra ("," extra)* "]" ] pin [ ";" marker ] option*
//! pin         := ("==" | "===") version          # exact, no wildcard
//!              | "@" url                          # direct reference
//! option      := "--hash=" algo ":" hex | "--hash" SPACE algo ":" hex
//! ```
//!
//! Options start at the first ` --` of the line. Any option but `--hash` is
//! reported as a warning and ignored. A direct reference is pinned by its
//! hashes (`--hash`, or a `#sha256=…` fragment), or for `git+` URLs by a full
//! commit (`@<40 hex>`), which pip cannot hash.

use lock2build_model::{normalize_python_name, Hash};

/// What a requirement pins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pin {
    /// `==version` or `===version`.
    Version(String),
    /// `@ url`, with any `#algo=hex` fragment removed.
    Url {
        /// The URL without fragment.
        url: String,
        /// `#subdirectory=` from the fragment.
        subdirectory: Option<String>,
        /// Hashes given in the fragment.
        fragment_hashes: Vec<Hash>,
    },
    /// `@ git+url@commit`.
    Git {
        /// The repository URL, without `git+` and `@commit`.
        url: String,
        /// The full commit.
        commit: String,
        /// `#subdirectory=` from the fragment.
        subdirectory: Option<String>,
    },
}

/// A parsed requirement line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Requirement {
    /// PEP 503 name.
    pub name: String,
    /// Extras asked for, normalised.
    pub extras: Vec<String>,
    /// What it pins.
    pub pin: Pin,
    /// The environment marker after `;`.
    pub marker: Option<String>,
    /// `--hash` values, with the byte offset of each in the line.
    pub hashes: Vec<(Hash, usize)>,
    /// Options other than `--hash`, ignored.
    pub ignored_options: Vec<String>,
}

/// Why a line is not a lock-grade requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LineError {
    /// Not pinned to one version (message says what was found).
    NotPinned(String),
    /// Anything else; the offset points into the line.
    Malformed(String, usize),
}

/// Parses `text` (one logical line, comment removed, not an option line).
pub(crate) fn parse(text: &str) -> Result<Requirement, LineError> {
    let (requirement, options_at) = match text.find(" --").or_else(|| text.find("\t--")) {
        Some(at) => (text.get(..at).unwrap_or_default(), at + 1),
        None => (text, text.len()),
    };
    let (hashes, ignored_options) =
        parse_options(text.get(options_at..).unwrap_or_default(), options_at)?;

    let name_end = requirement
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(requirement.len());
    let raw_name = requirement.get(..name_end).unwrap_or_default();
    if raw_name.is_empty() {
        return Err(LineError::Malformed(
            format!("`{requirement}` does not start with a package name"),
            0,
        ));
    }
    let mut rest = requirement.get(name_end..).unwrap_or_default().trim_start();
    let mut extras = Vec::new();
    if let Some(after) = rest.strip_prefix('[') {
        let close = after.find(']').ok_or_else(|| {
            LineError::Malformed("an extras list has no closing `]`".to_owned(), name_end)
        })?;
        extras = after
            .get(..close)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(normalize_python_name)
            .collect();
        rest = after.get(close + 1..).unwrap_or_default().trim_start();
    }

    let (pin, rest) = if let Some(after) = rest.strip_prefix('@') {
        let after = after.trim_start();
        let end = after.find(char::is_whitespace).unwrap_or(after.len());
        let url = after.get(..end).unwrap_or_default();
        if url.is_empty() {
            return Err(LineError::Malformed(
                format!("`{raw_name} @` has no URL"),
                name_end,
            ));
        }
        (parse_url(url)?, after.get(end..).unwrap_or_default())
    } else if let Some(after) = rest.strip_prefix("===").or_else(|| rest.strip_prefix("==")) {
        let after = after.trim_start();
        let end = after
            .find(|c: char| c.is_whitespace() || c == ';' || c == ',')
            .unwrap_or(after.len());
        let version = after.get(..end).unwrap_or_default();
        let tail = after.get(end..).unwrap_or_default();
        if version.is_empty() || version.contains('*') || tail.trim_start().starts_with(',') {
            return Err(LineError::NotPinned(format!(
                "`{}` is a range, not one version",
                requirement.trim()
            )));
        }
        (Pin::Version(version.to_owned()), tail)
    } else {
        let spec = rest.split(';').next().unwrap_or_default().trim();
        let found = if spec.is_empty() {
            "no version".to_owned()
        } else {
            format!("`{spec}`")
        };
        return Err(LineError::NotPinned(format!(
            "`{raw_name}` has {found}, not `==<version>`"
        )));
    };

    let rest = rest.trim();
    let marker = match rest.strip_prefix(';') {
        Some(marker) => Some(marker.trim().to_owned()).filter(|m| !m.is_empty()),
        None if rest.is_empty() => None,
        None => {
            return Err(LineError::Malformed(
                format!("unexpected `{rest}` after the version (a marker needs `;`)"),
                requirement.len().saturating_sub(rest.len()),
            ))
        }
    };
    Ok(Requirement {
        name: normalize_python_name(raw_name),
        extras,
        pin,
        marker,
        hashes,
        ignored_options,
    })
}

/// Reads the options part; `base` is its offset in the line.
#[allow(clippy::type_complexity)]
fn parse_options(
    options: &str,
    base: usize,
) -> Result<(Vec<(Hash, usize)>, Vec<String>), LineError> {
    let mut hashes = Vec::new();
    let mut ignored = Vec::new();
    let mut tokens = tokens_with_offsets(options).into_iter().peekable();
    while let Some((token, at)) = tokens.next() {
        let at = base + at;
        let value = if let Some(value) = token.strip_prefix("--hash=") {
            value.to_owned()
        } else if token == "--hash" {
            match tokens.next() {
                Some((value, _)) => value.to_owned(),
                None => return Err(LineError::Malformed("`--hash` has no value".to_owned(), at)),
            }
        } else if token.starts_with('-') {
            ignored.push(token.to_owned());
            continue;
        } else {
            return Err(LineError::Malformed(
                format!("unexpected `{token}` among the options (expected `--hash=sha256:<hex>`)"),
                at,
            ));
        };
        let hash = Hash::parse_prefixed(&value)
            .map_err(|e| LineError::Malformed(format!("bad `--hash`: {e}"), at))?;
        hashes.push((hash, at));
    }
    Ok((hashes, ignored))
}

fn tokens_with_offsets(s: &str) -> Vec<(&str, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(from)) => {
                out.push((s.get(from..i).unwrap_or_default(), from));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(from) = start {
        out.push((s.get(from..).unwrap_or_default(), from));
    }
    out
}

/// Reads the URL of `name @ url`.
fn parse_url(url: &str) -> Result<Pin, LineError> {
    let (base, fragment) = match url.split_once('#') {
        Some((base, fragment)) => (base, fragment),
        None => (url, ""),
    };
    let mut subdirectory = None;
    let mut fragment_hashes = Vec::new();
    for pair in fragment.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key == "subdirectory" {
            subdirectory = Some(value.to_owned());
        } else if key != "egg" {
            if let Ok(hash) = Hash::parse_prefixed(pair) {
                fragment_hashes.push(hash);
            }
        }
    }
    if let Some(git) = base.strip_prefix("git+") {
        let scheme_end = git.find("://").map_or(0, |i| i + 3);
        let path = git.get(scheme_end..).unwrap_or_default();
        let commit = path
            .rsplit_once('@')
            .map(|(_, rev)| rev)
            .unwrap_or_default();
        let full = (commit.len() == 40 || commit.len() == 64)
            && commit.chars().all(|c| c.is_ascii_hexdigit());
        if !full {
            return Err(LineError::NotPinned(format!(
                "`{url}` names no full commit (`@<40 hex digits>`)"
            )));
        }
        let repo = git.get(..git.len() - commit.len() - 1).unwrap_or_default();
        return Ok(Pin::Git {
            url: repo.to_owned(),
            commit: commit.to_ascii_lowercase(),
            subdirectory,
        });
    }
    if ["hg+", "svn+", "bzr+"].iter().any(|p| base.starts_with(p)) {
        return Err(LineError::Malformed(
            format!("`{base}`: only git version-control URLs are supported"),
            0,
        ));
    }
    Ok(Pin::Url {
        url: base.to_owned(),
        subdirectory,
        fragment_hashes,
    })
}

/// The version in a distribution file name, when its name part matches.
pub(crate) fn version_from_filename(name: &str, filename: &str) -> Option<String> {
    let stem = filename
        .strip_suffix(".whl")
        .or_else(|| filename.strip_suffix(".tar.gz"))
        .or_else(|| filename.strip_suffix(".zip"))
        .or_else(|| filename.strip_suffix(".tar.bz2"))
        .or_else(|| filename.strip_suffix(".tgz"))?;
    if filename.ends_with(".whl") {
        let mut parts = stem.split('-');
        let dist = parts.next()?;
        let version = parts.next()?;
        return (normalize_python_name(dist) == name).then(|| version.to_owned());
    }
    let (dist, version) = stem.rsplit_once('-')?;
    (normalize_python_name(dist) == name).then(|| version.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "sha256:4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274";

    #[test]
    fn pinned_with_extras_marker_and_hashes() {
        let line = format!(
            "Requests[Socks, security]==2.34.2 ; python_version >= '3.10'   --hash={H} --hash {H}"
        );
        let r = parse(&line).unwrap();
        assert_eq!(r.name, "requests");
        assert_eq!(r.extras, ["socks", "security"]);
        assert_eq!(r.pin, Pin::Version("2.34.2".into()));
        assert_eq!(r.marker.as_deref(), Some("python_version >= '3.10'"));
        assert_eq!(r.hashes.len(), 2);
        assert_eq!(&line[r.hashes[0].1..r.hashes[0].1 + 6], "--hash");
    }

    #[test]
    fn unpinned_forms() {
        for line in [
            "flask",
            "flask>=3",
            "flask==3.*",
            "flask==3.0,<4",
            "flask ~= 3.0",
            "flask; python_version>'3'",
        ] {
            assert!(
                matches!(parse(line), Err(LineError::NotPinned(_))),
                "{line}"
            );
        }
        assert!(matches!(parse("==1.0"), Err(LineError::Malformed(..))));
        assert!(matches!(parse("a==1 b"), Err(LineError::Malformed(..))));
        assert!(matches!(
            parse("a==1 --hash=md9:00"),
            Err(LineError::Malformed(..))
        ));
    }

    #[test]
    fn urls_and_git() {
        let r = parse("six @ https://x/six-1.17.0-py2.py3-none-any.whl#sha256=4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274 ; os_name == 'posix'").unwrap();
        let Pin::Url {
            url,
            fragment_hashes,
            ..
        } = &r.pin
        else {
            panic!()
        };
        assert_eq!(url, "https://x/six-1.17.0-py2.py3-none-any.whl");
        assert_eq!(fragment_hashes.len(), 1);
        assert_eq!(r.marker.as_deref(), Some("os_name == 'posix'"));
        let r = parse(
            "t @ git+https://h/r.git@34291dc979ddc2b9371dcfdf1a139d5cc30ab7e6#subdirectory=p",
        )
        .unwrap();
        assert_eq!(
            r.pin,
            Pin::Git {
                url: "https://h/r.git".into(),
                commit: "34291dc979ddc2b9371dcfdf1a139d5cc30ab7e6".into(),
                subdirectory: Some("p".into())
            }
        );
        assert!(matches!(
            parse("t @ git+https://h/r.git@main"),
            Err(LineError::NotPinned(_))
        ));
        assert!(matches!(
            parse("t @ git+ssh://git@h/r.git"),
            Err(LineError::NotPinned(_))
        ));
    }

    #[test]
    fn versions_from_filenames() {
        assert_eq!(
            version_from_filename("six", "six-1.17.0-py2.py3-none-any.whl").as_deref(),
            Some("1.17.0")
        );
        assert_eq!(
            version_from_filename("psycopg2", "psycopg2-2.9.13.tar.gz").as_deref(),
            Some("2.9.13")
        );
        assert_eq!(
            version_from_filename("zope-interface", "zope.interface-7.0.zip").as_deref(),
            Some("7.0")
        );
        assert_eq!(version_from_filename("six", "other-1.0.tar.gz"), None);
    }
}
