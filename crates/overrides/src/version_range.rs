//! Version ranges of package entries, each in its ecosystem's own syntax:
//!
//! - PyPI: PEP 440 specifiers, comma-separated: `>=9`, `>=2.8,<3`, `~=1.4`,
//!   `==2.9.*` (parsed with `pep440_rs`);
//! - npm: node-semver ranges: `>=2 <3`, `^5.0.0 || ^6.0.0`, `1.x`,
//!   `1.2.3 - 2.0.0` (parsed with `nodejs-semver`);
//! - crates: Cargo requirements, comma-separated: `>=0.9, <0.11`, `0.14`
//!   (which means `^0.14`), `~1.2` (parsed with `semver`).
//!
//! In every ecosystem `*` matches every version, unparsable ones included.

use lock2build_model::Ecosystem;
use std::str::FromStr;

/// A parsed version range.
#[derive(Debug, Clone)]
pub enum VersionRange {
    /// `*`: every version.
    Any,
    /// A PEP 440 specifier set.
    Pypi(pep440_rs::VersionSpecifiers),
    /// A node-semver range.
    Npm(nodejs_semver::Range),
    /// A Cargo version requirement.
    Crates(semver::VersionReq),
}

impl VersionRange {
    /// Parses `text` in the syntax of `ecosystem`; the error says why.
    pub fn parse(ecosystem: Ecosystem, text: &str) -> Result<VersionRange, String> {
        let trimmed = text.trim();
        if trimmed == "*" {
            return Ok(VersionRange::Any);
        }
        if trimmed.is_empty() {
            return Err("empty version range (write \"*\" for every version)".to_owned());
        }
        match ecosystem {
            Ecosystem::Pypi => pep440_rs::VersionSpecifiers::from_str(trimmed)
                .map(VersionRange::Pypi)
                .map_err(|e| format!("not a PEP 440 specifier set: {e}")),
            Ecosystem::Npm => nodejs_semver::Range::parse(trimmed)
                .map(VersionRange::Npm)
                .map_err(|e| format!("not a node-semver range: {e}")),
            Ecosystem::Crates => semver::VersionReq::parse(trimmed)
                .map(VersionRange::Crates)
                .map_err(|e| format!("not a Cargo version requirement: {e}")),
        }
    }

    /// Whether `version` (as written in a lockfile) lies in the range. A
    /// version that does not parse only matches `*`.
    pub fn matches(&self, version: &str) -> bool {
        let version = version.trim();
        match self {
            VersionRange::Any => true,
            VersionRange::Pypi(specifiers) => pep440_rs::Version::from_str(version)
                .map(|v| specifiers.contains(&v))
                .unwrap_or(false),
            VersionRange::Npm(range) => nodejs_semver::Version::parse(version)
                .map(|v| range.satisfies(&v))
                .unwrap_or(false),
            VersionRange::Crates(req) => semver::Version::parse(version)
                .map(|v| req.matches(&v))
                .unwrap_or(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pypi_ranges() {
        let r = VersionRange::parse(Ecosystem::Pypi, ">=2.8,<2.9").unwrap();
        assert!(r.matches("2.8.6"));
        assert!(!r.matches("2.9.1"));
        assert!(!r.matches("2.7"));
        assert!(!r.matches("not a version"));
        assert!(VersionRange::parse(Ecosystem::Pypi, ">=banana").is_err());
    }

    #[test]
    fn npm_ranges() {
        let r = VersionRange::parse(Ecosystem::Npm, "^2.0.0 || >=4 <5").unwrap();
        assert!(r.matches("2.11.2"));
        assert!(!r.matches("3.0.0"));
        assert!(r.matches("4.2.0"));
        assert!(VersionRange::parse(Ecosystem::Npm, ">=<>").is_err());
    }

    #[test]
    fn crates_ranges() {
        let r = VersionRange::parse(Ecosystem::Crates, "0.14").unwrap();
        assert!(r.matches("0.14.2+1.5.1"));
        assert!(!r.matches("0.15.0+1.6.4"));
        let any = VersionRange::parse(Ecosystem::Crates, " * ").unwrap();
        assert!(any.matches("whatever"));
        assert!(VersionRange::parse(Ecosystem::Crates, ">=0.9 <1").is_err());
    }
}
