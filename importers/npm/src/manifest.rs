//! The project's `package.json`, read beside the lockfile.
//!
//! Fields read: `name`, `version`, `bin`, `workspaces` (an array of globs, or
//! `{ "packages": [...] }`), and the four dependency maps `dependencies`,
//! `devDependencies`, `optionalDependencies`, `peerDependencies`. It is used
//! to give a v1 lock its root edges, and to check that a v2/v3 lock was made
//! for the manifest as it is now (same dependency names and ranges as the
//! lock's root entry), as `npm ci` does.

use crate::context::{Context, HELP_REPAIR};
use crate::entry::{DeclaredDependency, Fields};
use crate::positions::KeyLines;
use lock2build_model::{ImportError, ProjectFiles};
use serde_json::{Map, Value};
use std::path::Path;

/// A parsed `package.json`.
pub(crate) struct Manifest {
    pub object: Map<String, Value>,
    lines: KeyLines,
}

impl Manifest {
    /// Reads `package.json` beside the lockfile; `Ok(None)` when there is none.
    pub(crate) fn read(
        ctx: &Context,
        files: &dyn ProjectFiles,
    ) -> Result<Option<Manifest>, ImportError> {
        Manifest::read_at(ctx, files, Path::new("package.json"))
    }

    /// Reads `rel` (a workspace member's `package.json`, relative to the
    /// lockfile's directory; `ctx.manifest_path` names it in errors).
    pub(crate) fn read_at(
        ctx: &Context,
        files: &dyn ProjectFiles,
        rel: &Path,
    ) -> Result<Option<Manifest>, ImportError> {
        let Some(text) = files.read(rel) else {
            return Ok(None);
        };
        let value: Value = serde_json::from_str(&text).map_err(|e| {
            ImportError::new(
                &ctx.manifest_path,
                format!("package.json is not valid JSON: {e}"),
            )
            .at(e.line(), e.column())
            .with_help("fix the JSON syntax of package.json")
        })?;
        let Value::Object(object) = value else {
            return Err(ctx.manifest_error("package.json is not a JSON object", Some(1)));
        };
        Ok(Some(Manifest {
            object,
            lines: KeyLines::scan(&text),
        }))
    }

    fn fields(&self) -> Fields<'_> {
        Fields {
            object: &self.object,
            what: String::from("package.json"),
            line: Some(1),
        }
    }

    /// The dependencies package.json declares, dev ones included, each with
    /// its line in package.json.
    pub(crate) fn declared_dependencies(
        &self,
        ctx: &Context,
    ) -> Result<Vec<DeclaredDependency>, ImportError> {
        let line_of = |map: &str, name: &str| self.lines.line(&[map, name]);
        self.fields()
            .declared_dependencies(&manifest_context(ctx), true, Some(&line_of))
    }

    /// The `bin` commands of the project.
    pub(crate) fn bin(
        &self,
        ctx: &Context,
        name: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, ImportError> {
        self.fields().bin(&manifest_context(ctx), name)
    }

    /// The `workspaces` globs.
    pub(crate) fn workspaces(&self) -> Vec<String> {
        workspace_globs(self.object.get("workspaces"))
    }

    /// Checks that the lock's root entry declares the same dependencies
    /// (names and ranges) as package.json.
    pub(crate) fn check_root(
        &self,
        ctx: &Context,
        lock_root: &[DeclaredDependency],
    ) -> Result<(), ImportError> {
        self.check_entry(ctx, "", lock_root)
    }

    /// Checks that the lock's entry at `location` (`""`: the root, else a
    /// workspace member such as `packages/app`, whose package.json
    /// `ctx.manifest_path` names) declares what this package.json does.
    pub(crate) fn check_entry(
        &self,
        ctx: &Context,
        location: &str,
        lock_root: &[DeclaredDependency],
    ) -> Result<(), ImportError> {
        let (manifest, entry) = if location.is_empty() {
            ("package.json".to_owned(), "package-lock.json".to_owned())
        } else {
            (
                format!("{location}/package.json"),
                format!("package-lock.json's entry `{location}`"),
            )
        };
        let declared = self.declared_dependencies(ctx)?;
        for wanted in &declared {
            let line = wanted.in_manifest.flatten();
            match lock_root.iter().find(|d| d.name == wanted.name) {
                None => {
                    return Err(ctx
                        .manifest_error(
                            format!(
                                "{manifest} lists `{}@{}` but {entry} does not: the lock disagrees with the manifest",
                                wanted.name, wanted.spec
                            ),
                            line,
                        )
                        .with_help(HELP_REPAIR))
                }
                Some(locked) if locked.spec != wanted.spec => {
                    return Err(ctx
                        .manifest_error(
                            format!(
                                "{manifest} asks for `{}@{}` but {entry} was made for `{}@{}`",
                                wanted.name, wanted.spec, locked.name, locked.spec
                            ),
                            line,
                        )
                        .with_help(HELP_REPAIR))
                }
                Some(_) => {}
            }
        }
        if let Some(extra) = lock_root
            .iter()
            .find(|locked| !declared.iter().any(|d| d.name == locked.name))
        {
            return Err(ctx
                .lock_error(
                    if location.is_empty() {
                        format!("package-lock.json's root depends on `{}`, which package.json no longer lists", extra.name)
                    } else {
                        format!("package-lock.json's entry `{location}` depends on `{}`, which {manifest} no longer lists", extra.name)
                    },
                    ctx.lock_lines.line(&["packages", location]),
                )
                .with_help(HELP_REPAIR));
        }
        Ok(())
    }
}

/// A context whose "lock" errors point at package.json (type errors found
/// while reading the manifest's fields).
fn manifest_context(ctx: &Context) -> Context {
    Context {
        lock_path: ctx.manifest_path.clone(),
        lock_lines: KeyLines::default(),
        manifest_path: ctx.manifest_path.clone(),
    }
}

/// Globs of a `workspaces` value: an array, or `{ "packages": [...] }`.
pub(crate) fn workspace_globs(value: Option<&Value>) -> Vec<String> {
    let list = match value {
        Some(Value::Array(list)) => list,
        Some(Value::Object(object)) => match object.get("packages") {
            Some(Value::Array(list)) => list,
            _ => return Vec::new(),
        },
        _ => return Vec::new(),
    };
    list.iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}
