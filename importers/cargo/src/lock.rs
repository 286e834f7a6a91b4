//! Parsing `Cargo.lock` text.
//!
//! The grammar accepted is cargo's (TOML):
//!
//! ```toml
//! version = 4                      # absent in v1 and v2 (told apart by where checksums are)
//!
//! [[package]]
//! name = "serde"
//! version = "1.0.229"
//! source = "registry+https://github.com/rust-lang/crates.io-index"   # absent for path packages
//! checksum = "<64 hex digits>"                                       # v2+ only
//! dependencies = [
//!  "serde_derive",                                  # v2+: name alone when unambiguous,
//!  "itoa 1.0.19",                                   #      name and version,
//!  "gitdep 0.3.1 (git+file:///r?branch=main)",      #      or name, version and source;
//! ]                                                 # v1: always name, version (and source)
//!
//! [metadata]                                        # v1 only
//! "checksum serde 1.0.229 (registry+https://github.com/rust-lang/crates.io-index)" = "<hex>"
//! ```
//!
//! plus the legacy `[root]` table of very old v1 locks and `[[patch.unused]]`
//! (ignored). A first pass with `toml` reports syntax errors with their line
//! and column, finds the line of each `[[package]]`, checks the format
//! version and screens out values that would crash `cargo-lock`; then
//! `cargo-lock` does the real work.

use cargo_lock::{Checksum, Lockfile, ResolveVersion};
use lock2build_model::ImportError;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::str::FromStr;

/// Help for a lockfile that cannot be read at all.
const REGENERATE_HELP: &str =
    "Cargo.lock is damaged (a bad merge or a hand edit?): restore it from \
     version control, or regenerate it with `cargo generate-lockfile` (this re-resolves versions)";

/// The lockfile, parsed, with the line of each package.
pub(crate) struct ParsedLock {
    /// What `cargo-lock` read.
    pub(crate) lockfile: Lockfile,
    /// The 1-based line of each `[[package]]` header, in the order of
    /// `lockfile.packages`.
    pub(crate) package_lines: Vec<Option<usize>>,
    /// The line of the legacy `[root]` table, if any.
    pub(crate) root_line: Option<usize>,
    /// v1 only: the `[metadata]` checksums.
    v1_checksums: HashMap<ChecksumKey, Checksum>,
}

/// Name, version and source identity of a package.
type ChecksumKey = (String, String, Option<String>);

impl ParsedLock {
    /// The format version as a number (1 to 4).
    pub(crate) fn version_number(&self) -> u32 {
        u32::from(self.lockfile.version)
    }

    /// Names of the packages without a source (workspace members, path
    /// dependencies).
    pub(crate) fn local_package_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.lockfile
            .packages
            .iter()
            .chain(self.lockfile.root.as_ref())
            .filter(|p| p.source.is_none())
            .map(|p| p.name.as_str())
    }

    /// The checksum of a package in a v1 lock, from `[metadata]`: the entry
    /// whose name, version and source all match (`cargo-lock` matches on
    /// name and version only).
    pub(crate) fn v1_metadata_checksum(&self, package: &cargo_lock::Package) -> Option<Checksum> {
        let source = package.source.as_ref().map(crate::source::identity);
        self.v1_checksums
            .get(&(
                package.name.as_str().to_owned(),
                package.version.to_string(),
                source,
            ))
            .cloned()
    }
}

/// A v1 lock's `[metadata]` checksums by name, version and source identity
/// (entries that are not checksums, or `<none>`, are left out).
fn v1_checksums(lockfile: &Lockfile) -> HashMap<ChecksumKey, Checksum> {
    if lockfile.version != ResolveVersion::V1 {
        return HashMap::new();
    }
    lockfile
        .metadata
        .iter()
        .filter_map(|(key, value)| {
            let dep = key.checksum_dependency().ok()?;
            let source = dep.source.as_ref().map(crate::source::identity);
            Some((
                (
                    dep.name.as_str().to_owned(),
                    dep.version.to_string(),
                    source,
                ),
                value.checksum().ok()?,
            ))
        })
        .collect()
}

/// The shape of a lockfile, just enough for positions and screening.
#[derive(Deserialize)]
struct RawLock {
    version: Option<toml::Spanned<toml::Value>>,
    #[serde(default)]
    package: Vec<toml::Spanned<RawPackage>>,
    root: Option<toml::Spanned<toml::Value>>,
    #[serde(default)]
    metadata: toml::Table,
}

#[derive(Deserialize)]
struct RawPackage {
    checksum: Option<toml::Spanned<toml::Value>>,
}

/// Parses the text of a Cargo.lock.
pub(crate) fn parse(path: &Path, text: &str) -> Result<ParsedLock, ImportError> {
    let raw: RawLock = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
    check_version(path, text, raw.version.as_ref())?;
    screen_checksums(path, text, &raw)?;

    let lockfile = Lockfile::from_str(text).map_err(|e| cargo_lock_error(path, text, e))?;
    let lines = LineIndex::new(text);
    let package_lines: Vec<Option<usize>> = if raw.package.len() == lockfile.packages.len() {
        raw.package
            .iter()
            .map(|p| Some(lines.line_at(p.span().start)))
            .collect()
    } else {
        vec![None; lockfile.packages.len()]
    };
    let root_line = raw.root.as_ref().map(|r| lines.line_at(r.span().start));
    let v1_checksums = v1_checksums(&lockfile);
    Ok(ParsedLock {
        lockfile,
        package_lines,
        root_line,
        v1_checksums,
    })
}

/// The 1-based line of a byte offset (one scan of the text).
fn line_at(text: &str, offset: usize) -> usize {
    lock2build_model::line_column(text, offset).0
}

use lock2build_model::LineIndex;

fn toml_error(path: &Path, text: &str, error: &toml::de::Error) -> ImportError {
    let message = format!("not a valid Cargo.lock: {}", error.message().trim());
    let e = ImportError::new(path, message).with_help(REGENERATE_HELP);
    match error.span() {
        Some(span) => e.at_offset(text, span.start),
        None => e,
    }
}

fn check_version(
    path: &Path,
    text: &str,
    version: Option<&toml::Spanned<toml::Value>>,
) -> Result<(), ImportError> {
    let Some(version) = version else {
        return Ok(()); // v1 or v2: cargo-lock tells them apart.
    };
    let at = |e: ImportError| e.at_offset(text, version.span().start);
    match version.get_ref() {
        toml::Value::Integer(1..=4) => Ok(()),
        toml::Value::Integer(n) if *n > 4 => Err(at(ImportError::new(
            path,
            format!("Cargo.lock format version {n} is newer than lock2build understands (1 to 4)"),
        )
        .with_help(
            "update lock2build; or, if the project must stay readable by older tools, lower \
             `package.rust-version` (cargo then writes an older format) and run `cargo update --workspace`",
        ))),
        other => Err(at(ImportError::new(
            path,
            format!("`version = {other}` is not a Cargo.lock format version (expected 1 to 4)"),
        )
        .with_help(REGENERATE_HELP))),
    }
}

/// `cargo-lock` slices checksums by byte position; a 64-byte checksum with a
/// multi-byte character would make it panic. Reject non-hex checksums here,
/// with their line.
fn screen_checksums(path: &Path, text: &str, raw: &RawLock) -> Result<(), ImportError> {
    for package in &raw.package {
        let Some(checksum) = &package.get_ref().checksum else {
            continue;
        };
        let ok = checksum
            .get_ref()
            .as_str()
            .is_some_and(|s| s.bytes().all(|b| b.is_ascii_hexdigit()));
        if !ok {
            return Err(ImportError::new(
                path,
                format!("`checksum = {}` is not a sha256 in hex", checksum.get_ref()),
            )
            .at_offset(text, checksum.span().start)
            .with_help(REGENERATE_HELP));
        }
    }
    let metadata: BTreeMap<&String, &toml::Value> = raw.metadata.iter().collect();
    for (key, value) in metadata {
        if !key.starts_with("checksum ") {
            continue;
        }
        let ok = value
            .as_str()
            .is_some_and(|s| s == "<none>" || s.bytes().all(|b| b.is_ascii_hexdigit()));
        if !ok {
            let line = text.find(key.as_str()).map(|offset| line_at(text, offset));
            let mut e = ImportError::new(
                path,
                format!("`[metadata]` entry \"{key}\" = {value} is not a sha256 in hex"),
            )
            .with_help(REGENERATE_HELP);
            e.line = line;
            return Err(e);
        }
    }
    Ok(())
}

/// Turns a `cargo-lock` error into an [`ImportError`], with the position
/// `toml` put in its message (`TOML parse error at line L, column C`).
fn cargo_lock_error(path: &Path, lock_text: &str, error: cargo_lock::Error) -> ImportError {
    let text = match &error {
        cargo_lock::Error::Parse(message) => message.clone(),
        other => other.to_string(),
    };
    let position = position_in_message(&text);
    // The last line of a toml error is the message; the lines before it
    // quote the source.
    let reason = text
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("unreadable");
    let mut e = ImportError::new(path, format!("not a valid Cargo.lock: {reason}"))
        .with_help(REGENERATE_HELP);
    // A problem found after deserialising (an unresolvable dependency) is
    // reported at the document's start: no useful position.
    if let Some((line, column)) = position.filter(|&p| p != (1, 1)) {
        e = e.at(line, column);
    } else if let Some(name) = reason.split("couldn't resolve dependency: ").nth(1) {
        // A `dependencies` entry naming no package: find it.
        let quoted = format!("\"{}", name.trim());
        let entry = lock_text.lines().position(|l| {
            l.trim_start()
                .strip_prefix(quoted.as_str())
                .is_some_and(|rest| rest.starts_with(['"', ' ']))
        });
        e.line = entry.map(|i| i + 1);
    }
    e
}

/// Reads `at line L, column C` from a toml error message.
fn position_in_message(message: &str) -> Option<(usize, usize)> {
    let rest = &message[message.find("at line ")? + "at line ".len()..];
    let (line, rest) = rest.split_once(", column ")?;
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((line.trim().parse().ok()?, column.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index_agrees_with_a_scan() {
        let text = "a\nbc\n\nd\n";
        let index = LineIndex::new(text);
        for offset in 0..=text.len() {
            assert_eq!(
                index.line_at(offset),
                line_at(text, offset),
                "offset {offset}"
            );
        }
    }

    #[test]
    fn reads_positions_from_toml_messages() {
        assert_eq!(
            position_in_message("TOML parse error at line 5, column 11\n  |\nbad"),
            Some((5, 11))
        );
        assert_eq!(position_in_message("no position"), None);
    }
}
