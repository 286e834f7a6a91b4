//! Reads the `packages` object of lockfileVersion 2 and 3.
//!
//! ```text
//! "packages": {
//!   "": { name?, version?, workspaces?, dependencies?, devDependencies?,
//!         optionalDependencies?, peerDependencies?, bin?, … },      the project
//!   "node_modules/<name>[/node_modules/<name>…]": {
//!         name? (only when it differs from the key: aliases),
//!         version, resolved?, integrity?, link?, dev?, optional?,
//!         devOptional?, peer?, inBundle?, hasInstallScript?,
//!         os?, cpu?, libc?, bin?, dependencies?, optionalDependencies?,
//!         peerDependencies?, peerDependenciesMeta?, engines?, license?, … },
//!   "<dir>": { … }                     a workspace member or file: directory
//!   "node_modules/<name>": { "resolved": "<dir>", "link": true }   its link
//! }
//! ```
//!
//! Unknown fields are ignored. v2 locks also carry the v1 `dependencies`
//! tree for npm 6; it says nothing more and is not read.

use crate::context::{Context, HELP_REGENERATE};
use crate::entry::{is_top_location, name_from_location, Fields, LockEntry};
use lock2build_model::{ImportError, PackageFlags};
use serde_json::{Map, Value};

/// Every entry of `packages`, the root first.
pub(crate) fn read_packages(
    ctx: &Context,
    top: &Map<String, Value>,
    version: u64,
) -> Result<Vec<LockEntry>, ImportError> {
    let packages = match top.get("packages") {
        Some(Value::Object(packages)) => packages,
        _ => {
            return Err(ctx
                .lock_error(
                    format!("this lockfileVersion {version} lock has no `packages` object"),
                    None,
                )
                .with_help(HELP_REGENERATE))
        }
    };
    let mut entries = Vec::with_capacity(packages.len() + 1);
    if !packages.contains_key("") {
        // npm always writes the root entry; without it, fall back to the
        // lock's own name and version.
        let mut root = Map::new();
        for key in ["name", "version"] {
            if let Some(value) = top.get(key) {
                root.insert(key.to_owned(), value.clone());
            }
        }
        entries.push(read_entry(ctx, "", &root)?);
    }
    for (location, value) in packages {
        let Value::Object(object) = value else {
            let line = ctx.lock_lines.line(&["packages", location.as_str()]);
            return Err(ctx
                .lock_error(
                    format!("the `packages` entry `{location}` is not an object"),
                    line,
                )
                .with_help(HELP_REGENERATE));
        };
        let entry = read_entry(ctx, location, object)?;
        if location.is_empty() {
            entries.insert(0, entry);
        } else {
            entries.push(entry);
        }
    }
    Ok(entries)
}

fn read_entry(
    ctx: &Context,
    location: &str,
    object: &Map<String, Value>,
) -> Result<LockEntry, ImportError> {
    let line = ctx.lock_lines.line(&["packages", location]);
    let fields = Fields::new(object, location, line);
    let name = match fields.string(ctx, "name")? {
        Some(name) => name.to_owned(),
        None => name_from_location(location).to_owned(),
    };
    let link = if fields.flag(ctx, "link")? {
        let target = fields.string(ctx, "resolved")?.ok_or_else(|| {
            ctx.lock_error(
                format!("the link `{location}` has no `resolved` target"),
                line,
            )
            .with_help(HELP_REGENERATE)
        })?;
        Some(target.strip_prefix("file:").unwrap_or(target).to_owned())
    } else {
        None
    };
    let flags = PackageFlags {
        dev: fields.flag(ctx, "dev")?,
        optional: fields.flag(ctx, "optional")?,
        dev_optional: fields.flag(ctx, "devOptional")?,
        peer: fields.flag(ctx, "peer")?,
        in_bundle: fields.flag(ctx, "inBundle")?,
        has_install_script: fields.flag(ctx, "hasInstallScript")?,
    };
    Ok(LockEntry {
        location: location.to_owned(),
        version: fields
            .string(ctx, "version")?
            .unwrap_or_default()
            .to_owned(),
        link,
        resolved: if object.get("link").is_some_and(|l| l == &Value::Bool(true)) {
            None
        } else {
            fields.string(ctx, "resolved")?.map(str::to_owned)
        },
        integrity: fields.string(ctx, "integrity")?.map(str::to_owned),
        flags,
        platform: fields.platform(ctx)?,
        bin: fields.bin(ctx, &name)?,
        dependencies: fields.declared_dependencies(ctx, is_top_location(location), None)?,
        line,
        name,
    })
}
