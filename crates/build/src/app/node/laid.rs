//! What the builder reads back from the laid-out tree, after install
//! scripts ran in it: hostile input. A script may replace any file of the
//! tree (its own `package.json`, another package's, a `.bin` link) by a
//! FIFO, a symlink to `/dev/zero` or to a host file, or a huge file.
//!
//! So: a package's `package.json` is read only as a regular file, through
//! no symlink, at most [`RECORD_LIMIT`] bytes
//! ([`lock2build_store::read_untrusted`]); after the scripts, every
//! package's `package.json` and every `.bin` link is checked
//! ([`check_tree`]), and the output is not stored if one is wrong; a bin a
//! launcher runs must be a regular file inside its package
//! ([`check_bin`]).

use super::Package;
use anyhow::{anyhow, bail, Result};
use lock2build_store::{read_untrusted_string, resolve_beneath, RECORD_LIMIT};
use std::path::Path;

/// The `package.json` of the package at `location` of `tree`.
pub(super) fn manifest(tree: &Path, location: &str) -> Result<serde_json::Value> {
    let rel = Path::new(location).join("package.json");
    let path = resolve_beneath(tree, &rel)?;
    let text = read_untrusted_string(&path, RECORD_LIMIT)?;
    serde_json::from_str(&text).map_err(|e| anyhow!("{}: {e}", rel.display()))
}

/// Whether npm runs install scripts for the package at `location`: a
/// `preinstall`, `install` or `postinstall` script, or a `binding.gyp`
/// (npm's default install is `node-gyp rebuild`) unless `gypfile: false`.
/// A package.json that is missing or not JSON has none; one that is not a
/// regular file (or leaves the tree) is an error.
pub(super) fn runs_scripts(tree: &Path, location: &str) -> Result<bool> {
    let json = match manifest(tree, location) {
        Ok(json) => json,
        Err(e) => match e.downcast_ref::<lock2build_store::UntrustedError>() {
            Some(u) if u.is_missing() => return Ok(false),
            Some(_) => return Err(e),
            None => return Ok(false),
        },
    };
    let scripts = &json["scripts"];
    let gyp = resolve_beneath(tree, &Path::new(location).join("binding.gyp"))
        .ok()
        .and_then(|p| std::fs::symlink_metadata(p).ok())
        .is_some_and(|m| m.is_file());
    Ok(["preinstall", "install", "postinstall"]
        .iter()
        .any(|s| scripts[s].is_string())
        || (json["gypfile"] != false && gyp))
}

/// After the install scripts: every package's `package.json` is a regular
/// file of the tree, and every `.bin` link points inside `node_modules`.
pub(super) fn check_tree(out: &Path, packages: &[Package]) -> Result<()> {
    for p in packages {
        manifest(out, &p.location).map_err(|e| {
            anyhow!(
                "after the install scripts, the package.json of {} (at {}) cannot be read: {e:#}\n  help: an install script replaced it; lock2build reads only regular files inside the tree",
                p.label(),
                p.location
            )
        })?;
    }
    let mut dirs = vec!["node_modules".to_owned()];
    dirs.extend(
        packages
            .iter()
            .map(|p| format!("{}/node_modules", p.location)),
    );
    for dir in dirs {
        let bin = out.join(&dir).join(".bin");
        let Ok(entries) = std::fs::read_dir(&bin) else {
            continue;
        };
        for entry in entries.flatten() {
            let link = Path::new(".bin").join(entry.file_name());
            // A link to a missing file is npm's business; one out of the
            // tree is not.
            resolve_beneath(&out.join(&dir), &link).map_err(|e| {
                anyhow!(
                    "after the install scripts, {dir}/{} points outside {dir}: {e}\n  help: an install script replaced it; bin links must stay inside the tree",
                    link.display()
                )
            })?;
        }
    }
    Ok(())
}

/// Checks that the launcher target `path` (inside the app output: `app/…`
/// for the project's own bins, `app/node_modules/…/pkg/…` for a
/// dependency's) is a regular file inside its package: the project copy
/// in `out`, or the package's directory in `modules` (the node_modules
/// output the app's links point to).
pub(super) fn check_bin(out: &Path, modules: &Path, name: &str, path: &str) -> Result<()> {
    let rest = path.strip_prefix("app/").unwrap_or(path);
    let (root, rel) = match split_location(rest) {
        Some((location, bin)) => (resolve_beneath(modules, Path::new(location))?, bin),
        None => (out.join("app"), rest),
    };
    let target = resolve_beneath(&root, Path::new(rel)).map_err(|e| {
        anyhow!(
            "the bin `{name}` ({path}) leaves its package: {e}\n  help: fix `bin` in package.json"
        )
    })?;
    match std::fs::symlink_metadata(&target) {
        Ok(meta) if meta.is_file() => Ok(()),
        Ok(meta) => bail!(
            "the bin `{name}` points to {path}, which is {}, not a regular file",
            lock2build_store::kind_name(meta.file_type())
        ),
        Err(_) => bail!(
            "the bin `{name}` points to {path}, which does not exist in the app\n  help: fix `bin` in package.json (or the build that makes {path})"
        ),
    }
}

/// `node_modules/a/node_modules/@s/b/bin/x.js` → (`node_modules/a/node_modules/@s/b`,
/// `bin/x.js`); `None` when `path` is not below `node_modules/`.
fn split_location(path: &str) -> Option<(&str, &str)> {
    let mut end = 0;
    let mut rest = path;
    while let Some(after) = rest.strip_prefix("node_modules/") {
        let mut parts = after.splitn(3, '/');
        let first = parts.next()?;
        let name_len = if first.starts_with('@') {
            first.len() + 1 + parts.next()?.len()
        } else {
            first.len()
        };
        end += "node_modules/".len() + name_len;
        rest = path.get(end..)?.strip_prefix('/')?;
        end += 1;
    }
    (end > 0).then(|| (&path[..end - 1], rest))
}

#[cfg(test)]
mod tests {
    use super::split_location;

    #[test]
    fn locations_are_split_from_the_bin_path() {
        assert_eq!(
            split_location("node_modules/a/bin/x.js"),
            Some(("node_modules/a", "bin/x.js"))
        );
        assert_eq!(
            split_location("node_modules/a/node_modules/@s/b/cli.js"),
            Some(("node_modules/a/node_modules/@s/b", "cli.js"))
        );
        assert_eq!(split_location("bin/own.js"), None);
        assert_eq!(split_location("node_modules/a"), None);
    }
}
