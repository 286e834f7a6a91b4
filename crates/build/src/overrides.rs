//! The overrides database as builds use it: the project's layers loaded
//! (community, user, project), and the native libraries and tools the
//! source builds of a plan need, checked on the host.

use anyhow::{anyhow, Context, Result};
use lock2build_model::{ArtifactKind, Ecosystem};
use lock2build_overrides::{
    host_check, install_command, standard_sources, Database, HostReport, PackageManager,
};
use lock2build_plan::plan::Node;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

/// The database for a project: community, user and project layers.
pub fn load(project: &Path) -> Result<Database> {
    let sources = standard_sources(project).context("reading the override layers")?;
    Database::load(&sources).map_err(|errors| {
        anyhow!(
            "{}",
            errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}

/// Whether a node is built from source on this plan (and so needs its
/// native libraries and tools at build time).
pub fn built_from_source(node: &Node) -> bool {
    match node.ecosystem {
        Ecosystem::Crates => true,
        Ecosystem::Npm => node.flags.has_install_script,
        Ecosystem::Pypi => node
            .artifact
            .as_ref()
            .is_some_and(|a| a.kind != ArtifactKind::Wheel),
    }
}

/// The native libraries and tools some source builds need.
pub struct NativeNeeds {
    /// `ecosystem name version` and the ids it needs, per package built from source.
    pub who: Vec<(String, Vec<String>)>,
    /// What the host has of all of them.
    pub report: HostReport,
}

/// What a build knows of its packages' knobs: the environment the build
/// step sees, and each package's enabled features.
pub type BuildKnobs<'k> = (
    &'k std::collections::BTreeMap<String, String>,
    &'k dyn Fn(&Node) -> Vec<String>,
);

/// What the source builds among `nodes` need, checked on the host. A
/// package that bundles its native libraries (`bundled` in its override)
/// needs them only when a knob asks for the system's: in `knobs`, else in
/// its own override's `env`.
pub fn native_needs<'a>(
    nodes: impl IntoIterator<Item = &'a Node>,
    db: &Database,
    knobs: Option<BuildKnobs>,
) -> NativeNeeds {
    let mut needed: BTreeSet<String> = BTreeSet::new();
    let mut who: Vec<(String, Vec<String>)> = Vec::new();
    for node in nodes {
        let resolved = db.resolve(node.ecosystem, &node.name, &node.version);
        let demanded = match knobs {
            Some((env, features)) => resolved.demanded_native(env, &features(node)),
            None => resolved.demanded_native(&resolved.env, &[]),
        };
        // Optional libraries are not needs: a build goes on without them.
        let ids: Vec<String> = demanded
            .iter()
            .filter(|id| !resolved.optional.contains(id))
            .chain(resolved.tools.iter())
            .cloned()
            .collect();
        if !ids.is_empty() {
            needed.extend(ids.iter().cloned());
            who.push((
                format!("{} {} {}", node.ecosystem, node.name, node.version),
                ids,
            ));
        }
    }
    let ids: Vec<String> = needed.into_iter().collect();
    let report = if ids.is_empty() {
        HostReport::default()
    } else {
        host_check(db.providers(), &ids)
    };
    NativeNeeds { who, report }
}

impl NativeNeeds {
    /// Each package and what it needs, missing ones marked.
    pub fn per_package(&self) -> String {
        let mut out = String::new();
        for (label, ids) in &self.who {
            let marked: Vec<String> = ids
                .iter()
                .map(|id| {
                    if self.report.missing.contains(id) {
                        format!("{id} (missing)")
                    } else {
                        id.clone()
                    }
                })
                .collect();
            let _ = writeln!(out, "  {label}: {}", marked.join(", "));
        }
        out
    }
}

/// The commands that install `missing`: this host's package manager, and
/// the nixpkgs attributes for Nix users.
pub fn install_help(db: &Database, missing: &[String]) -> String {
    let mut out = String::new();
    let manager = PackageManager::detect().unwrap_or(PackageManager::Debian);
    if let Some(cmd) = install_command(db.providers(), missing, manager) {
        let _ = writeln!(out, "Install them with:\n  {cmd}");
    }
    if manager != PackageManager::Nix {
        if let Some(cmd) = install_command(db.providers(), missing, PackageManager::Nix) {
            let _ = writeln!(out, "Nix users: {cmd}");
        }
    }
    out
}
