//! Is the lock up to date with the manifests?
//!
//! Cargo locks every dependency of every workspace member, whatever the
//! target, features or kind (`optional`, dev, build and `target.'…'` ones
//! included); for a path package that is not a member, only its normal and
//! build dependencies that are not optional. A declared dependency with no
//! `[[package]]` of its (real) name, or whose version requirement no locked
//! version of that name meets, means Cargo.lock is stale: cargo would
//! re-resolve, so building from this lock would not build what the manifest
//! asks for.

use crate::manifest::{DeclaredDependency, DeclaredKind, Manifest};
use crate::workspace::Workspace;
use lock2build_model::{Graph, ImportError, Source};

/// Fails on the first declared dependency the lock does not satisfy.
pub(crate) fn check(graph: &Graph, workspace: &Workspace) -> Result<(), ImportError> {
    for manifest in &workspace.manifests {
        // Only manifests of packages the lock has (a manifest reached through
        // an unused `[patch]` may not be).
        let Some(name) = manifest.package_name() else {
            continue;
        };
        let locked_here = graph.packages.iter().any(|p| {
            p.name == name
                && matches!(&p.source, Source::Directory { path, .. } if *path == manifest.dir)
        });
        if !locked_here {
            continue;
        }
        let member = workspace.members.contains(&manifest.dir);
        for dep in manifest.dependencies(workspace.root.as_ref()) {
            if !member && (dep.optional || dep.kind == DeclaredKind::Dev) {
                continue;
            }
            check_one(graph, manifest, &dep)?;
        }
    }
    Ok(())
}

fn check_one(
    graph: &Graph,
    manifest: &Manifest,
    dep: &DeclaredDependency,
) -> Result<(), ImportError> {
    let exact: Vec<&str> = graph
        .packages
        .iter()
        .filter(|p| p.name == dep.package)
        .map(|p| p.version.as_str())
        .collect();
    // crates.io treats `-` and `_` alike; accept either spelling.
    let locked = if exact.is_empty() {
        let folded = fold(&dep.package);
        graph
            .packages
            .iter()
            .filter(|p| fold(&p.name) == folded)
            .map(|p| p.version.as_str())
            .collect()
    } else {
        exact
    };
    let located = |e: ImportError| match manifest.line_of(dep) {
        Some(line) => e.at_line(line),
        None => e,
    };
    let described = if dep.key == dep.package {
        format!("`{}`", dep.key)
    } else {
        format!("`{}` (package `{}`)", dep.key, dep.package)
    };
    if locked.is_empty() {
        return Err(located(ImportError::new(
            manifest.path(),
            format!("the dependency {described} in [{}] has no package `{}` in Cargo.lock", dep.table, dep.package),
        ))
        .with_help(format!(
            "Cargo.lock is out of date: run `cargo update -p {}` (or `cargo generate-lockfile`) and commit the new lock",
            dep.package
        )));
    }
    let Some(req) = dep
        .version_req
        .as_deref()
        .and_then(|r| semver::VersionReq::parse(r).ok())
    else {
        return Ok(());
    };
    let meets = |v: &&str| {
        semver::Version::parse(v).is_ok_and(|v| req.matches(&v) || matches_ignoring_pre(&req, &v))
    };
    if locked.iter().any(meets) {
        return Ok(());
    }
    Err(located(ImportError::new(
        manifest.path(),
        format!(
            "the dependency {described} `{req}` in [{}] is not met by Cargo.lock, which has {} {}",
            dep.table,
            dep.package,
            locked.join(", ")
        ),
    ))
    .with_help(format!(
        "Cargo.lock is out of date: run `cargo update -p {}` (or `cargo generate-lockfile`) and commit the new lock",
        dep.package
    )))
}

/// `semver` only lets a requirement match a pre-release when the requirement
/// names one of the same `major.minor.patch`; cargo is laxer about locked
/// pre-releases. Compare without the pre-release to avoid false alarms.
fn matches_ignoring_pre(req: &semver::VersionReq, version: &semver::Version) -> bool {
    !version.pre.is_empty()
        && req.matches(&semver::Version::new(
            version.major,
            version.minor,
            version.patch,
        ))
}

fn fold(name: &str) -> String {
    name.to_ascii_lowercase().replace('-', "_")
}
