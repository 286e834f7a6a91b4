//! Package URLs (purl, <https://github.com/package-url/purl-spec>) for the
//! SBOMs: `pkg:pypi/<name>@<version>`, `pkg:npm/%40scope/<name>@<version>`,
//! `pkg:cargo/<name>@<version>`.
//!
//! Qualifiers say where a package comes from when it is not the ecosystem's
//! default registry: `repository_url` for another index or registry,
//! `vcs_url=git+<url>@<commit>` for a git source, `download_url` for a
//! direct URL.

use lock2build_model::{Ecosystem, Source};
use packageurl::PackageUrl;

const DEFAULT_REGISTRIES: &[&str] = &[
    "https://pypi.org/simple",
    "https://registry.npmjs.org",
    "https://github.com/rust-lang/crates.io-index",
    "sparse+https://index.crates.io",
    "https://index.crates.io",
];

/// The purl type of an ecosystem.
pub fn purl_type(ecosystem: Ecosystem) -> &'static str {
    match ecosystem {
        Ecosystem::Pypi => "pypi",
        Ecosystem::Npm => "npm",
        Ecosystem::Crates => "cargo",
    }
}

/// `(namespace, name)`: npm scopes are the namespace (`@scope`).
pub fn split_name(ecosystem: Ecosystem, name: &str) -> (Option<&str>, &str) {
    if ecosystem == Ecosystem::Npm && name.starts_with('@') {
        if let Some((scope, rest)) = name.split_once('/') {
            return (Some(scope), rest);
        }
    }
    (None, name)
}

/// The purl of a package, or `None` when its name cannot make one.
pub fn purl(ecosystem: Ecosystem, name: &str, version: &str, source: &Source) -> Option<String> {
    let (namespace, short) = split_name(ecosystem, name);
    let short = if ecosystem == Ecosystem::Pypi {
        short.to_ascii_lowercase().replace('_', "-")
    } else {
        short.to_owned()
    };
    let mut purl = PackageUrl::new(purl_type(ecosystem), short).ok()?;
    if let Some(ns) = namespace {
        purl.with_namespace(ns).ok()?;
    }
    if !version.is_empty() {
        purl.with_version(version).ok()?;
    }
    match source {
        Source::Registry { url } => {
            let trimmed = url.trim_end_matches('/');
            if !DEFAULT_REGISTRIES.contains(&trimmed) {
                purl.add_qualifier("repository_url", trimmed.to_owned())
                    .ok()?;
            }
        }
        Source::Git { url, commit, .. } => {
            let url = url.strip_prefix("git+").unwrap_or(url);
            purl.add_qualifier("vcs_url", format!("git+{url}@{commit}"))
                .ok()?;
        }
        Source::Url { url, .. } => {
            purl.add_qualifier("download_url", url.clone()).ok()?;
        }
        Source::File { .. } | Source::Directory { .. } | Source::Virtual { .. } => {}
    }
    Some(purl.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(url: &str) -> Source {
        Source::Registry { url: url.into() }
    }

    #[test]
    fn ecosystems() {
        assert_eq!(
            purl(
                Ecosystem::Pypi,
                "Flask_Cors",
                "4.0.1",
                &registry("https://pypi.org/simple/")
            )
            .as_deref(),
            Some("pkg:pypi/flask-cors@4.0.1")
        );
        assert_eq!(
            purl(
                Ecosystem::Npm,
                "@babel/core",
                "7.24.0",
                &registry("https://registry.npmjs.org")
            )
            .as_deref(),
            Some("pkg:npm/%40babel/core@7.24.0")
        );
        assert_eq!(
            purl(
                Ecosystem::Crates,
                "serde",
                "1.0.200",
                &registry("sparse+https://index.crates.io/")
            )
            .as_deref(),
            Some("pkg:cargo/serde@1.0.200")
        );
    }

    #[test]
    fn qualifiers() {
        let git = Source::Git {
            url: "https://github.com/a/b".into(),
            reference: None,
            commit: "0123456789abcdef0123456789abcdef01234567".into(),
            subdirectory: None,
        };
        let p = purl(Ecosystem::Crates, "b", "0.1.0", &git).unwrap_or_default();
        assert!(
            p.starts_with("pkg:cargo/b@0.1.0?vcs_url=git%2Bhttps"),
            "{p}"
        );
        let other = purl(
            Ecosystem::Pypi,
            "x",
            "1",
            &registry("https://example.org/simple"),
        )
        .unwrap_or_default();
        assert_eq!(
            other,
            "pkg:pypi/x@1?repository_url=https://example.org/simple"
        );
    }
}
