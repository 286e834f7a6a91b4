//! Names and paths taken from a lockfile (or an index answer) are checked
//! before anything downstream uses them as file names or paths.
//!
//! A builder joins a wheel's file name to a work directory, an npm
//! `location` to `node_modules/`, a crate's name and version to a vendor
//! directory, a `bin` name to `bin/`. A hostile lockfile could make any of
//! those leave its directory (`/tmp/x/PWNED-1.0-py3-none-any.whl`,
//! `../../../x`, a URL basename decoded from `..%2F`). [`check_graph`]
//! refuses them once, for every importer, at import and again after URLs
//! and file names are filled in from an index, so builders never see one:
//!
//! | what | must be |
//! |------|---------|
//! | package and dependency names | one plain component (npm: or `@scope/name`) |
//! | versions, artifact file names, `bin` names | one plain component (a version may be empty) |
//! | the last segment of an artifact URL, percent-decoded | one plain component, or empty |
//! | npm locations, `bin` targets, `subdirectory` | a relative path that never climbs (`..`) |
//!
//! A plain component is non-empty, at most 255 bytes, not `.` or `..`, and
//! holds no `/`, `\` or control character. Local source paths (path
//! dependencies, workspace members) are the user's own tree and may point
//! to a sibling (`../lib`): they are not checked here.

use crate::{Ecosystem, Graph, ImportError, Package, Source};

/// Why `s` is not one plain path component.
pub fn plain_component(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("is empty");
    }
    if s == "." || s == ".." {
        return Err("is `.` or `..`");
    }
    if s.len() > 255 {
        return Err("is longer than 255 bytes");
    }
    if s.contains(['/', '\\']) {
        return Err("contains a path separator");
    }
    if s.chars().any(char::is_control) {
        return Err("contains a control character");
    }
    Ok(())
}

/// Why `s` is not a relative path that stays inside its root (empty is the
/// root itself).
pub fn relative_inside(s: &str) -> Result<(), &'static str> {
    if s.starts_with('/') {
        return Err("is an absolute path");
    }
    if s.contains('\\') {
        return Err("contains a backslash");
    }
    if s.chars().any(char::is_control) {
        return Err("contains a control character");
    }
    if s.split('/').any(|part| part == "..") {
        return Err("climbs out with `..`");
    }
    Ok(())
}

/// A package name of `ecosystem`: one plain component, or for npm
/// `@scope/name`.
pub fn package_name(ecosystem: Ecosystem, name: &str) -> Result<(), &'static str> {
    match (
        ecosystem,
        name.strip_prefix('@').and_then(|n| n.split_once('/')),
    ) {
        (Ecosystem::Npm, Some((scope, rest))) => {
            plain_component(scope)?;
            plain_component(rest)
        }
        _ => plain_component(name),
    }
}

/// Checks every name and path of `graph` that a builder may use as a file
/// name or path (see the module docs); the error names the package, the
/// field and the lockfile line.
pub fn check_graph(graph: &Graph) -> Result<(), ImportError> {
    for package in &graph.packages {
        check_package(graph.ecosystem, package).map_err(|(field, value, why)| {
            let error = ImportError::new(
                &graph.lockfile,
                format!(
                    "package `{}`: {field} `{}` {why}; it would be used as a file name or path",
                    package.name.escape_debug(),
                    value.escape_debug()
                ),
            )
            .with_help(
                "a lockfile made by its tool never holds such a name: regenerate it, \
                 and check where this one came from",
            );
            match package.line {
                Some(line) => error.at_line(line),
                None => error,
            }
        })?;
    }
    Ok(())
}

type Refusal<'a> = (&'static str, &'a str, &'static str);

fn check_package(ecosystem: Ecosystem, package: &Package) -> Result<(), Refusal<'_>> {
    let is_root_like = package.source.is_local() && package.name.is_empty();
    if !is_root_like {
        package_name(ecosystem, &package.name)
            .map_err(|why| ("name", package.name.as_str(), why))?;
    }
    if !package.version.is_empty() {
        plain_component(&package.version)
            .map_err(|why| ("version", package.version.as_str(), why))?;
    }
    for dependency in &package.dependencies {
        package_name(ecosystem, &dependency.name)
            .map_err(|why| ("dependency name", dependency.name.as_str(), why))?;
    }
    for artifact in &package.artifacts {
        if let Some(filename) = &artifact.filename {
            plain_component(filename).map_err(|why| ("file name", filename.as_str(), why))?;
        }
        if let Some(url) = &artifact.url {
            url_basename_ok(url).map_err(|why| ("URL", url.as_str(), why))?;
        }
    }
    if let Some(location) = &package.location {
        relative_inside(location).map_err(|why| ("location", location.as_str(), why))?;
    }
    for (name, target) in &package.bin {
        plain_component(name).map_err(|why| ("bin name", name.as_str(), why))?;
        relative_inside(target).map_err(|why| ("bin path", target.as_str(), why))?;
    }
    if let Source::Git {
        subdirectory: Some(sub),
        ..
    }
    | Source::Url {
        subdirectory: Some(sub),
        ..
    } = &package.source
    {
        relative_inside(sub).map_err(|why| ("subdirectory", sub.as_str(), why))?;
    }
    Ok(())
}

/// The last path segment of a URL, percent-decoded, must be a plain
/// component (or empty: `https://host/dir/`).
fn url_basename_ok(url: &str) -> Result<(), &'static str> {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    let path = url.get(..end).unwrap_or(url);
    let last = path.rsplit('/').next().unwrap_or_default();
    let decoded = percent_decode(last);
    if decoded.is_empty() {
        return Ok(());
    }
    plain_component(&decoded).map_err(|_| "ends in a file name that is not one plain component")
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_and_paths() {
        assert!(plain_component("flask-3.0.3-py3-none-any.whl").is_ok());
        for bad in ["", ".", "..", "a/b", "a\\b", "/tmp/x", "a\0b", "a\nb"] {
            assert!(plain_component(bad).is_err(), "{bad:?}");
        }
        assert!(relative_inside("node_modules/a/node_modules/@s/b").is_ok());
        assert!(relative_inside("").is_ok());
        for bad in ["/etc", "node_modules/../../x", "..", "a\\..\\b"] {
            assert!(relative_inside(bad).is_err(), "{bad:?}");
        }
        assert!(package_name(Ecosystem::Npm, "@types/node").is_ok());
        assert!(package_name(Ecosystem::Npm, "@types/../x").is_err());
        assert!(package_name(Ecosystem::Pypi, "@types/node").is_err());
    }

    #[test]
    fn url_basenames_are_decoded() {
        assert!(url_basename_ok("https://files/a/b-1.0%2Blocal.tar.gz#sha256=00").is_ok());
        assert!(url_basename_ok("https://files/dir/").is_ok());
        assert!(url_basename_ok("https://files/..%2F..%2Fx.whl").is_err());
        assert!(url_basename_ok("https://files/%2e%2e").is_err());
    }
}
