//! Imports npm's `package-lock.json` (or `npm-shrinkwrap.json`, the same
//! format) into the lock2build [`Graph`].
//!
//! Accepted: lockfileVersion 1 (npm 5 and 6: a nested `dependencies` tree
//! with `requires`), 2 (npm 7 and 8: `packages` plus the v1 tree) and 3
//! (npm 9 and later: `packages` only). Each installed location becomes one
//! [`lock2build_model::Package`] whose `location` is its `node_modules` path
//! and whose `name` is the real package name (an alias `"x": "npm:y@1"`
//! installs `y` at `node_modules/x`; the edge keeps the name `x`).
//!
//! - sources and artifacts: see [`source`](crate::source) (registry tarballs,
//!   rebuilt URLs when `resolved` is omitted, git, `file:`);
//! - edges: Node's module resolution over the locations, see
//!   [`graph_builder`](crate::graph_builder);
//! - roots: the project (`packages[""]`, a [`Source::Directory`] `"."`) and
//!   every workspace member (a directory the root's `workspaces` globs name).
//!   A v1 lock has no root entry: its root edges come from `package.json`.
//!
//! `package.json` (read through [`LockInput::files`]) must agree with the
//! lock: every dependency it lists must be locked, with the same range in a
//! v2/v3 lock's root entry.
//!
//! [`Source::Directory`]: lock2build_model::Source::Directory
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod context;
mod entry;
mod graph_builder;
mod manifest;
mod packages;
mod positions;
pub(crate) mod source;
mod tree_v1;
mod workspaces;

use context::{Context, HELP_REGENERATE};
use entry::{Fields, LockEntry};
use lock2build_model::{
    DepKind, Diagnostic, Ecosystem, Graph, ImportError, LockInput, PackageFlags, ProjectFiles,
};
use manifest::{workspace_globs, Manifest};
use serde_json::Value;
use std::path::Path;
use workspaces::WorkspacePatterns;

pub use source::DEFAULT_REGISTRY;

/// Imports a `package-lock.json` (`input.path`), reading `package.json`
/// beside it through `input.files` when present.
pub fn import(input: &LockInput) -> Result<Graph, ImportError> {
    let value: Value = serde_json::from_str(input.contents).map_err(|e| {
        ImportError::new(input.path, format!("the lockfile is not valid JSON: {e}"))
            .at(e.line(), e.column())
            .with_help("the lockfile is damaged (a merge conflict?): fix it or regenerate it with `npm install --package-lock-only`")
    })?;
    let ctx = Context::new(input.path, input.contents);
    let Value::Object(top) = value else {
        return Err(ctx
            .lock_error("the lockfile is not a JSON object", Some(1))
            .with_help(HELP_REGENERATE));
    };
    let version_line = ctx.lock_lines.line(&["lockfileVersion"]);
    let version = top.get("lockfileVersion").and_then(Value::as_u64);
    let manifest = Manifest::read(&ctx, input.files)?;
    match version {
        Some(1) => import_v1(&ctx, &top, manifest.as_ref()),
        Some(v @ (2 | 3)) => import_packages(&ctx, &top, v, manifest.as_ref(), input.files),
        _ => {
            let written = top
                .get("lockfileVersion")
                .map_or_else(|| String::from("none"), Value::to_string);
            Err(ctx
                .lock_error(
                    format!("unsupported lockfileVersion {written} (this importer reads lockfileVersion 1, 2 and 3)"),
                    version_line,
                )
                .with_help(HELP_REGENERATE))
        }
    }
}

fn new_graph(ctx: &Context, version: u64) -> Graph {
    let file = match ctx.lock_path.file_name().and_then(|n| n.to_str()) {
        Some("npm-shrinkwrap.json") => "npm-shrinkwrap.json",
        _ => "package-lock.json",
    };
    Graph::new(Ecosystem::Npm, &ctx.lock_path, format!("{file} v{version}"))
}

fn import_packages(
    ctx: &Context,
    top: &serde_json::Map<String, Value>,
    version: u64,
    manifest: Option<&Manifest>,
    files: &dyn ProjectFiles,
) -> Result<Graph, ImportError> {
    let entries = packages::read_packages(ctx, top, version)?;
    let root_object = match top.get("packages").and_then(|p| p.get("")) {
        Some(Value::Object(root)) => Some(root),
        _ => None,
    };
    let mut globs = workspace_globs(root_object.and_then(|r| r.get("workspaces")));
    if let Some(manifest) = manifest {
        if let Some(root) = entries.first() {
            manifest.check_root(ctx, &root.dependencies)?;
        }
        if globs.is_empty() {
            globs = manifest.workspaces();
        }
        check_members(ctx, files, &entries, &WorkspacePatterns::new(globs.clone()))?;
    }
    graph_builder::build_graph(
        ctx,
        new_graph(ctx, version),
        entries,
        &WorkspacePatterns::new(globs),
    )
}

/// Each workspace member's package.json against its lock entry, as for the
/// root (`npm ci` refuses a lock that disagrees with either).
fn check_members(
    ctx: &Context,
    files: &dyn ProjectFiles,
    entries: &[LockEntry],
    workspaces: &WorkspacePatterns,
) -> Result<(), ImportError> {
    for entry in entries.iter().skip(1) {
        let member = entry.link.is_none()
            && entry::is_top_location(&entry.location)
            && workspaces.matches(&entry.location);
        if !member {
            continue;
        }
        let rel = Path::new(&entry.location).join("package.json");
        let member_ctx = Context {
            lock_path: ctx.lock_path.clone(),
            lock_lines: ctx.lock_lines.clone(),
            manifest_path: ctx.lock_path.with_file_name(&rel),
        };
        if let Some(manifest) = Manifest::read_at(&member_ctx, files, &rel)? {
            manifest.check_entry(&member_ctx, &entry.location, &entry.dependencies)?;
        }
    }
    Ok(())
}

fn import_v1(
    ctx: &Context,
    top: &serde_json::Map<String, Value>,
    manifest: Option<&Manifest>,
) -> Result<Graph, ImportError> {
    let tree = tree_v1::read_tree(ctx, top)?;
    let mut graph = new_graph(ctx, 1);
    let top_fields = Fields::new(top, "", Some(1));
    let mut root = LockEntry {
        location: String::new(),
        name: top_fields
            .string(ctx, "name")?
            .unwrap_or_default()
            .to_owned(),
        version: top_fields
            .string(ctx, "version")?
            .unwrap_or_default()
            .to_owned(),
        link: None,
        resolved: None,
        integrity: None,
        flags: PackageFlags::default(),
        platform: Default::default(),
        bin: Default::default(),
        dependencies: Vec::new(),
        line: Some(1),
    };
    let mut globs = Vec::new();
    match manifest {
        Some(manifest) => {
            root.dependencies = manifest.declared_dependencies(ctx)?;
            root.bin = manifest.bin(ctx, &root.name)?;
            globs = manifest.workspaces();
        }
        None => {
            // Without the manifest, the top level of the tree is what the
            // project asked for.
            for entry in tree
                .iter()
                .filter(|e| !e.location.contains("/node_modules/"))
            {
                let kind = if entry.flags.dev {
                    DepKind::Dev
                } else if entry.flags.optional {
                    DepKind::Optional
                } else {
                    DepKind::Normal
                };
                let name = entry
                    .location
                    .trim_start_matches("node_modules/")
                    .to_owned();
                root.dependencies.push(entry::DeclaredDependency {
                    name,
                    spec: String::from("*"),
                    kind,
                    in_manifest: None,
                    optional_peer: false,
                });
            }
            graph.warnings.push(Diagnostic {
                file: ctx.manifest_path.clone(),
                line: None,
                message: String::from(
                    "package.json not found: the project's dependencies are taken from the top level of the lockfileVersion 1 tree",
                ),
            });
        }
    }
    let mut entries = Vec::with_capacity(tree.len() + 1);
    entries.push(root);
    entries.extend(tree);
    graph_builder::build_graph(ctx, graph, entries, &WorkspacePatterns::new(globs))
}
