//! Reads the nested `dependencies` tree of lockfileVersion 1 (npm 5 and 6).
//!
//! ```text
//! { "name": …, "version": …, "lockfileVersion": 1, "requires": true,
//!   "dependencies": {
//!     "<name>": {
//!       "version": "1.2.3" | "npm:<real-name>@1.2.3" (alias)
//!                  | "file:<path>" | "git+https://…#<commit>" | "github:o/r#<commit>",
//!       "resolved"?, "integrity"?, "dev"?, "optional"?, "bundled"?,
//!       "from"? (git), "requires"?: { "<name>": "<range>" },
//!       "dependencies"?: { …the same, installed in <name>/node_modules… }
//!     } } }
//! ```
//!
//! An entry at `dependencies.a.dependencies.b` is installed at
//! `node_modules/a/node_modules/b`, so v1 entries get the same locations as
//! v2/v3 ones and the same resolution applies. `requires` does not say which
//! dependencies are optional or peers: every `requires` edge is a normal one.
//! The root's own dependencies are not in a v1 lock: they come from
//! `package.json`.

use crate::context::Context;
use crate::entry::{DeclaredDependency, Fields, LockEntry};
use lock2build_model::{DepKind, ImportError, PackageFlags};
use serde_json::{Map, Value};

/// Every entry of the tree, depth first, parents before children (no root).
pub(crate) fn read_tree(
    ctx: &Context,
    top: &Map<String, Value>,
) -> Result<Vec<LockEntry>, ImportError> {
    let mut entries = Vec::new();
    let mut key_path = vec![String::from("dependencies")];
    if let Some(dependencies) = top.get("dependencies") {
        read_level(ctx, dependencies, "", &mut key_path, &mut entries)?;
    }
    Ok(entries)
}

fn read_level(
    ctx: &Context,
    dependencies: &Value,
    parent_location: &str,
    key_path: &mut Vec<String>,
    entries: &mut Vec<LockEntry>,
) -> Result<(), ImportError> {
    let Value::Object(dependencies) = dependencies else {
        let line = ctx.lock_lines.line(key_path);
        return Err(ctx
            .lock_error(
                "a `dependencies` field of this lockfileVersion 1 lock is not an object",
                line,
            )
            .with_help("regenerate the lock: `npm install --package-lock-only`"));
    };
    for (key, value) in dependencies {
        let location = if parent_location.is_empty() {
            format!("node_modules/{key}")
        } else {
            format!("{parent_location}/node_modules/{key}")
        };
        key_path.push(key.clone());
        let line = ctx.lock_lines.line(key_path);
        let Value::Object(object) = value else {
            return Err(ctx
                .lock_error(format!("the entry for `{location}` is not an object"), line)
                .with_help("regenerate the lock: `npm install --package-lock-only`"));
        };
        entries.push(read_entry(ctx, key, &location, object, line)?);
        if let Some(children) = object.get("dependencies") {
            key_path.push(String::from("dependencies"));
            read_level(ctx, children, &location, key_path, entries)?;
            key_path.pop();
        }
        key_path.pop();
    }
    Ok(())
}

/// Splits an alias version `npm:<name>@<version>` into name and version.
fn alias_target(version: &str) -> Option<(&str, &str)> {
    let spec = version.strip_prefix("npm:")?;
    // The name may start with `@scope/`: split at the last `@` after it.
    let at = spec.get(1..)?.rfind('@')? + 1;
    Some((spec.get(..at)?, spec.get(at + 1..)?))
}

fn read_entry(
    ctx: &Context,
    key: &str,
    location: &str,
    object: &Map<String, Value>,
    line: Option<usize>,
) -> Result<LockEntry, ImportError> {
    let fields = Fields::new(object, location, line);
    let written_version = fields.string(ctx, "version")?.unwrap_or_default();
    let (name, version) = match alias_target(written_version) {
        Some((name, version)) => (name.to_owned(), version.to_owned()),
        None => (key.to_owned(), written_version.to_owned()),
    };
    // git and file: dependencies write their address as the version.
    let resolved = match fields.string(ctx, "resolved")? {
        Some(resolved) => Some(resolved.to_owned()),
        None if version.contains(':') => Some(version.clone()),
        None => None,
    };
    let requires = match object.get("requires") {
        Some(Value::Bool(_)) => Vec::new(),
        _ => fields.string_map(ctx, "requires")?,
    };
    let dependencies = requires
        .into_iter()
        .map(|(name, spec)| DeclaredDependency {
            name: name.to_owned(),
            spec: spec.to_owned(),
            kind: DepKind::Normal,
            in_manifest: None,
            optional_peer: false,
        })
        .collect();
    Ok(LockEntry {
        location: location.to_owned(),
        version,
        link: None,
        resolved,
        integrity: fields.string(ctx, "integrity")?.map(str::to_owned),
        flags: PackageFlags {
            dev: fields.flag(ctx, "dev")?,
            optional: fields.flag(ctx, "optional")?,
            in_bundle: fields.flag(ctx, "bundled")?,
            ..PackageFlags::default()
        },
        platform: fields.platform(ctx)?,
        bin: fields.bin(ctx, &name)?,
        dependencies,
        line,
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases() {
        assert_eq!(
            alias_target("npm:lodash@3.10.1"),
            Some(("lodash", "3.10.1"))
        );
        assert_eq!(alias_target("npm:@s/p@1.0.0"), Some(("@s/p", "1.0.0")));
        assert_eq!(alias_target("1.0.0"), None);
        assert_eq!(alias_target("npm:"), None);
        assert_eq!(alias_target("npm:@"), None);
    }
}
