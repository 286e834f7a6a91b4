//! What the builder reads from the project's own `package.json` and
//! `package-lock.json`: the script names, the `bin` entries, `main`, and the
//! lock's root entry (the dependency lists npm needs to see the tree).

use anyhow::{anyhow, Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The project's `package.json`, as far as the builder cares.
pub(in crate::app) struct Manifest {
    /// The names of its `scripts`.
    pub scripts: BTreeSet<String>,
    /// `bin`: program name → path inside the project.
    pub bin: BTreeMap<String, String>,
    /// `main`, when it names a file.
    pub main: Option<String>,
    /// Names only in `devDependencies` (not also a run-time dependency).
    pub dev_only: BTreeSet<String>,
}

impl Manifest {
    /// Reads `<dir>/package.json`.
    pub fn read(dir: &Path) -> Result<Manifest> {
        let path = dir.join("package.json");
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "reading {} (npm projects have one next to package-lock.json)",
                path.display()
            )
        })?;
        let json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| anyhow!("{}: {e}\n  help: fix the JSON", path.display()))?;
        let scripts = json["scripts"]
            .as_object()
            .map(|s| {
                s.iter()
                    .filter(|(_, v)| v.is_string())
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default();
        let name = json["name"].as_str().unwrap_or_default();
        let names = |key: &str| -> BTreeSet<String> {
            json[key]
                .as_object()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default()
        };
        let runtime: BTreeSet<String> =
            ["dependencies", "optionalDependencies", "peerDependencies"]
                .iter()
                .flat_map(|k| names(k))
                .collect();
        let dev_only = names("devDependencies")
            .into_iter()
            .filter(|n| !runtime.contains(n))
            .collect();
        Ok(Manifest {
            dev_only,
            scripts,
            bin: bins(&json["bin"], name),
            main: json["main"].as_str().map(str::to_owned),
        })
    }
}

/// A package.json `bin`: a string (named after the package, without its
/// scope) or an object.
pub(super) fn bins(value: &serde_json::Value, package: &str) -> BTreeMap<String, String> {
    match value {
        serde_json::Value::String(path) => {
            let name = package.rsplit('/').next().unwrap_or(package);
            if name.is_empty() {
                BTreeMap::new()
            } else {
                BTreeMap::from([(name.to_owned(), path.clone())])
            }
        }
        serde_json::Value::Object(map) => map
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|p| (k.clone(), p.to_owned())))
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// What [`lock_root`] reads of a lock first.
#[derive(serde::Deserialize)]
struct LockHead {
    name: Option<serde_json::Value>,
    version: Option<serde_json::Value>,
    packages: Option<RootEntry>,
}

#[derive(serde::Deserialize)]
struct RootEntry {
    #[serde(rename = "")]
    root: Option<serde_json::Value>,
}

/// The lock's root entry (`packages[""]`, or the v1 top level) reduced to
/// what npm reads to see the tree: name, version and dependency lists.
/// It becomes the `package.json` of the node_modules output, so that
/// editing the project's scripts or fields does not rebuild native modules.
pub(in crate::app) fn lock_root(lockfile: &Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(lockfile)
        .with_context(|| format!("reading {}", lockfile.display()))?;
    let bad = |e: serde_json::Error| anyhow!("{}: {e}", lockfile.display());
    // A v2/v3 lock's root entry alone (the other entries skipped, not
    // built: a lock of 2,000 packages is a megabyte); a v1 lock's top level.
    let head: LockHead = serde_json::from_str(&text).map_err(bad)?;
    let json = match head.packages.and_then(|p| p.root) {
        Some(root) => {
            let mut top = serde_json::Map::new();
            let fields = [("name", head.name), ("version", head.version)];
            for (key, value) in fields {
                if let Some(value) = value {
                    top.insert(key.into(), value);
                }
            }
            top.insert("packages".into(), serde_json::json!({ "": root }));
            serde_json::Value::Object(top)
        }
        None => serde_json::from_str(&text).map_err(bad)?,
    };
    let root = json
        .get("packages")
        .and_then(|p| p.get(""))
        .unwrap_or(&json);
    let mut out = serde_json::Map::new();
    out.insert(
        "name".into(),
        root.get("name")
            .or(json.get("name"))
            .cloned()
            .unwrap_or_else(|| "app".into()),
    );
    out.insert(
        "version".into(),
        root.get("version")
            .or(json.get("version"))
            .cloned()
            .unwrap_or_else(|| "0.0.0".into()),
    );
    out.insert("private".into(), true.into());
    for key in [
        "dependencies",
        "devDependencies",
        "optionalDependencies",
        "peerDependencies",
    ] {
        let Some(serde_json::Value::Object(deps)) = root.get(key) else {
            continue;
        };
        // v1 locks hold a tree of entries there: keep their versions.
        let deps: serde_json::Map<String, serde_json::Value> = deps
            .iter()
            .filter_map(|(name, v)| {
                let range = v.as_str().or_else(|| v["version"].as_str())?;
                Some((name.clone(), range.into()))
            })
            .collect();
        out.insert(key.into(), deps.into());
    }
    Ok(serde_json::Value::Object(out))
}
