//! One installed location of a lockfile, in a form shared by every
//! lockfileVersion, and the typed reading of its JSON fields.
//!
//! A [`LockEntry`] is what a `packages` entry (v2/v3) or a nested
//! `dependencies` entry (v1) says: where it is installed, what it is, where it
//! comes from, and the dependencies it declares (not yet resolved to other
//! entries: that is [`crate::graph_builder`]'s job).

use crate::context::Context;
use lock2build_model::{DepKind, ImportError, PackageFlags, Platform};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One installed location.
#[derive(Debug, Clone)]
pub(crate) struct LockEntry {
    /// `""` for the project, `node_modules/a/node_modules/b`, or a directory
    /// such as `packages/app` (workspace member, `file:` directory).
    pub location: String,
    /// The real package name (not the alias it is installed under).
    pub name: String,
    /// The version as written (empty when the lock records none).
    pub version: String,
    /// For link entries (`"link": true`): the location they point at.
    pub link: Option<String>,
    /// Where npm got it (`resolved`), as written.
    pub resolved: Option<String>,
    /// The SRI `integrity` string, as written.
    pub integrity: Option<String>,
    pub flags: PackageFlags,
    pub platform: Platform,
    pub bin: BTreeMap<String, String>,
    /// Declared dependencies, one per name, in declaration order.
    pub dependencies: Vec<DeclaredDependency>,
    /// Line of the entry in the lockfile.
    pub line: Option<usize>,
}

/// A dependency as a package declares it, before resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeclaredDependency {
    /// The name it is required under (an alias for `npm:` specs).
    pub name: String,
    /// The range or spec, as written.
    pub spec: String,
    pub kind: DepKind,
    /// Where it is declared: `None` for the lockfile itself, or the line of
    /// `package.json` (v1 roots take their dependencies from the manifest).
    pub in_manifest: Option<Option<usize>>,
    /// A peer that `peerDependenciesMeta` marks `optional`: npm does not
    /// install it for this edge.
    pub optional_peer: bool,
}

/// True for the project and for directories outside `node_modules`
/// (workspace members, `file:` directories): the packages npm installs
/// `devDependencies` for.
pub(crate) fn is_top_location(location: &str) -> bool {
    location.is_empty()
        || !(location.starts_with("node_modules/") || location.contains("/node_modules/"))
}

/// The package name a `node_modules/...` location installs
/// (`node_modules/a/node_modules/@s/b` → `@s/b`), or the last path segment
/// of other directories.
pub(crate) fn name_from_location(location: &str) -> &str {
    match location.rfind("node_modules/") {
        Some(i) => &location[i + "node_modules/".len()..],
        None => location.rsplit('/').next().unwrap_or(location),
    }
}

/// Adds a declared dependency with npm's precedence: a later kind replaces
/// an earlier declaration of the same name (peer < normal < optional), except
/// that `devDependencies` never demote a run-time dependency.
pub(crate) fn declare(list: &mut Vec<DeclaredDependency>, dependency: DeclaredDependency) {
    match list.iter_mut().find(|d| d.name == dependency.name) {
        Some(existing) => {
            let keep_runtime = dependency.kind == DepKind::Dev
                && matches!(existing.kind, DepKind::Normal | DepKind::Optional);
            if !keep_runtime {
                *existing = dependency;
            }
        }
        None => list.push(dependency),
    }
}

/// Finds the `package.json` line of a dependency: (map, name) → line.
pub(crate) type ManifestLines<'f> = dyn Fn(&str, &str) -> Option<usize> + 'f;

/// Typed access to the fields of one JSON object of the lockfile, with
/// errors that name the entry and its line.
pub(crate) struct Fields<'a> {
    pub object: &'a Map<String, Value>,
    /// How the entry is named in messages (its location, `""` → "the root").
    pub what: String,
    pub line: Option<usize>,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(object: &'a Map<String, Value>, location: &str, line: Option<usize>) -> Self {
        let what = if location.is_empty() {
            String::from("the root entry")
        } else {
            format!("`{location}`")
        };
        Fields { object, what, line }
    }

    fn wrong_type(&self, ctx: &Context, key: &str, expected: &str) -> ImportError {
        ctx.lock_error(format!("field `{key}` of {} should be {expected}", self.what), self.line)
            .with_help("the lockfile looks hand-edited or damaged: regenerate it with `npm install --package-lock-only`")
    }

    pub(crate) fn string(&self, ctx: &Context, key: &str) -> Result<Option<&'a str>, ImportError> {
        match self.object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.wrong_type(ctx, key, "a string")),
        }
    }

    pub(crate) fn flag(&self, ctx: &Context, key: &str) -> Result<bool, ImportError> {
        match self.object.get(key) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(self.wrong_type(ctx, key, "true or false")),
        }
    }

    /// An array of strings, or a single string (old manifests).
    pub(crate) fn string_list(&self, ctx: &Context, key: &str) -> Result<Vec<String>, ImportError> {
        match self.object.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::String(s)) => Ok(vec![s.clone()]),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| self.wrong_type(ctx, key, "a list of strings"))
                })
                .collect(),
            Some(_) => Err(self.wrong_type(ctx, key, "a list of strings")),
        }
    }

    /// An object of name → string (dependency maps).
    pub(crate) fn string_map(
        &self,
        ctx: &Context,
        key: &str,
    ) -> Result<Vec<(&'a str, &'a str)>, ImportError> {
        match self.object.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Object(map)) => map
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.as_str(), s.as_str())),
                    _ => Err(self.wrong_type(ctx, key, "an object of names to version ranges")),
                })
                .collect(),
            Some(_) => Err(self.wrong_type(ctx, key, "an object of names to version ranges")),
        }
    }

    /// `os`, `cpu`, `libc`.
    pub(crate) fn platform(&self, ctx: &Context) -> Result<Platform, ImportError> {
        Ok(Platform {
            os: self.string_list(ctx, "os")?,
            cpu: self.string_list(ctx, "cpu")?,
            libc: self.string_list(ctx, "libc")?,
        })
    }

    /// `bin`: an object of command → path, or (old manifests) one path
    /// whose command is the package name without its scope.
    pub(crate) fn bin(
        &self,
        ctx: &Context,
        package_name: &str,
    ) -> Result<BTreeMap<String, String>, ImportError> {
        match self.object.get("bin") {
            None | Some(Value::Null) => Ok(BTreeMap::new()),
            Some(Value::String(path)) => {
                let command = package_name.rsplit('/').next().unwrap_or(package_name);
                Ok(BTreeMap::from([(command.to_owned(), path.clone())]))
            }
            Some(Value::Object(_)) => Ok(self
                .string_map(ctx, "bin")?
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()),
            Some(_) => Err(self.wrong_type(ctx, "bin", "an object of command names to paths")),
        }
    }

    /// The dependency maps of a v2/v3 entry or a `package.json`, in npm's
    /// precedence order; `devDependencies` only when `with_dev`.
    pub(crate) fn declared_dependencies(
        &self,
        ctx: &Context,
        with_dev: bool,
        manifest_lines: Option<&ManifestLines>,
    ) -> Result<Vec<DeclaredDependency>, ImportError> {
        let mut kinds = vec![
            ("peerDependencies", DepKind::Peer),
            ("dependencies", DepKind::Normal),
            ("optionalDependencies", DepKind::Optional),
        ];
        if with_dev {
            kinds.push(("devDependencies", DepKind::Dev));
        }
        let optional_peers = self.optional_peers();
        let mut list = Vec::new();
        for (key, kind) in kinds {
            for (name, spec) in self.string_map(ctx, key)? {
                let in_manifest = manifest_lines.map(|line_of| line_of(key, name));
                declare(
                    &mut list,
                    DeclaredDependency {
                        name: name.to_owned(),
                        spec: spec.to_owned(),
                        kind,
                        in_manifest,
                        optional_peer: kind == DepKind::Peer && optional_peers.contains(&name),
                    },
                );
            }
        }
        Ok(list)
    }

    /// The names `peerDependenciesMeta` marks `"optional": true`.
    fn optional_peers(&self) -> Vec<&'a str> {
        match self.object.get("peerDependenciesMeta") {
            Some(Value::Object(meta)) => meta
                .iter()
                .filter(|(_, v)| v.get("optional") == Some(&Value::Bool(true)))
                .map(|(k, _)| k.as_str())
                .collect(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        assert_eq!(
            name_from_location("node_modules/a/node_modules/@s/b"),
            "@s/b"
        );
        assert_eq!(name_from_location("node_modules/a"), "a");
        assert_eq!(name_from_location("packages/app"), "app");
        assert!(is_top_location(""));
        assert!(is_top_location("packages/app"));
        assert!(!is_top_location("node_modules/a"));
        assert!(!is_top_location("local-lib/node_modules/a"));
    }

    #[test]
    fn precedence() {
        let dep = |name: &str, kind| DeclaredDependency {
            name: name.into(),
            spec: "1".into(),
            kind,
            in_manifest: None,
            optional_peer: false,
        };
        let mut list = Vec::new();
        declare(&mut list, dep("a", DepKind::Peer));
        declare(&mut list, dep("b", DepKind::Normal));
        declare(&mut list, dep("a", DepKind::Normal));
        declare(&mut list, dep("b", DepKind::Optional));
        declare(&mut list, dep("b", DepKind::Dev));
        declare(&mut list, dep("c", DepKind::Dev));
        let kinds: Vec<_> = list.iter().map(|d| (d.name.as_str(), d.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("a", DepKind::Normal),
                ("b", DepKind::Optional),
                ("c", DepKind::Dev)
            ]
        );
    }
}
