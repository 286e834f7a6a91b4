//! What other commands (`lock2build shell`, `env`) reuse of the builders:
//! one project of a plan built by its ecosystem's builder, and a Cargo.lock's
//! crates vendored without building anything.

use super::cargo_vendor::{cargo_config, merged_env, Vendor};
use super::{open_store, require_native, AppOptions, AppReport};
use anyhow::{anyhow, Result};
use lock2build_fetch::fetch_all;
use lock2build_model::Ecosystem;
use lock2build_plan::plan::{Node, Plan};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Builds project `project` of `plan` with its ecosystem's builder (as
/// `lock2build app` does once it has picked and planned the lockfile).
pub(crate) fn build_project(options: &AppOptions, plan: Plan, project: usize) -> Result<AppReport> {
    match plan.projects[project].ecosystem {
        Ecosystem::Pypi => super::python::build(options, plan, project),
        Ecosystem::Crates => super::rust::build(options, plan, project),
        Ecosystem::Npm => super::node::build(options, plan, project),
    }
}

/// A Cargo.lock's registry crates as a vendor directory in the store.
pub(crate) struct VendoredCrates {
    /// `$CARGO_HOME/config.toml` that builds from it offline.
    pub cargo_config: String,
    /// The crates' override environment (OPENSSL_NO_VENDOR, …).
    pub env: BTreeMap<String, String>,
}

/// Checks the native needs of project `project`'s crates, fetches them
/// (verified) and makes their vendor directory; `options.out_link` is
/// linked to it (a gc root). Nothing is compiled.
pub(crate) fn vendor_crates(
    options: &AppOptions,
    plan: &Plan,
    project: usize,
) -> Result<VendoredCrates> {
    let nodes: Vec<&Node> = plan
        .packages
        .iter()
        .filter(|n| n.project == project)
        .collect();
    let lockfile = &plan.projects[project].lockfile;
    let lock_display = options.dir.join(lockfile).display().to_string();
    let project_dir = std::path::absolute(&options.dir)?;
    let lock_dir = project_dir.join(lockfile.parent().unwrap_or(Path::new("")));
    let db = crate::overrides::load(&options.dir)?;
    let vendor = Vendor::from_nodes(&nodes, &db, &lock_dir, &project_dir, &lock_display)?;
    require_native(&nodes, &db, "the crates", Ecosystem::Crates, None)?;
    let env = merged_env(&nodes, &db)?;
    let store = open_store()?;
    let (mut requests, _) = crate::fetch_plan::requests(plan)?;
    let wanted: BTreeSet<String> = vendor.hashes();
    requests.retain(|r| r.hashes.iter().any(|h| wanted.contains(&h.to_sri())));
    if store.output(&vendor.id).is_none() {
        fetch_all(store, &requests, &options.fetch).map_err(|e| anyhow!("{e}"))?;
    }
    let made = vendor.make(store, options.jobs)?;
    super::link_and_record(
        options,
        store,
        &project_dir,
        &made.path,
        &requests,
        vec![vendor.id.clone()],
    )?;
    Ok(VendoredCrates {
        cargo_config: cargo_config(&made.path),
        env,
    })
}
