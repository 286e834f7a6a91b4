//! `lock2build overrides check`'s test builds: the packages of the
//! project's locks that its override layer touches, built from source with
//! the override (PyPI: from their sdists; npm: their install scripts run;
//! crates: their build scripts). What each build did is printed on stdout
//! as it ends: `test build ok: …` with its log, or `not test-built: …` and
//! why.

use crate::app::{self, AppOptions, AppReport};
use crate::progress::BuildProgress;
use anyhow::{bail, Result};
use lock2build_model::Ecosystem;
use lock2build_plan::plan::PlanOptions;
use lock2build_plan::pyindex::{self, IndexOptions};
use lock2build_plan::select::SelectOptions;
use lock2build_plan::target::{Target, TargetOptions};
use lock2build_sandbox::Sandbox;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Test-builds what the project layer of `dir` touches, for every
/// ecosystem with a lockfile in `dir`; fails naming the ecosystems whose
/// build failed (each error is printed as it happens).
pub fn test_builds(dir: &Path, no_sandbox: bool, steps: &BuildProgress) -> Result<()> {
    let db = crate::overrides::load(dir)?;
    let mut touched: BTreeMap<Ecosystem, Vec<String>> = BTreeMap::new();
    for (ecosystem, name) in crate::overrides::touched(&db) {
        touched.entry(ecosystem).or_default().push(name);
    }
    if touched.is_empty() {
        return Ok(());
    }
    let sandbox = &crate::ops::sandbox(no_sandbox)?;
    let with_lock = app::top_ecosystems(dir);
    let mut failed = Vec::new();
    for (ecosystem, names) in touched {
        if !with_lock.contains(&ecosystem) {
            println!(
                "not test-built: {} (no {} lockfile in {})",
                specs(ecosystem, &names),
                match ecosystem {
                    Ecosystem::Pypi => "Python",
                    Ecosystem::Npm => "package-lock.json",
                    Ecosystem::Crates => "Cargo.lock",
                },
                dir.display()
            );
            continue;
        }
        let scratch = tempfile::Builder::new()
            .prefix("lock2build-check-")
            .tempdir_in(lock2build_store::scratch_dir())?;
        let options = check_options(dir, ecosystem, &names, sandbox, steps, scratch.path())?;
        println!("test-building from source: {}", specs(ecosystem, &names));
        match app::build_app(&options) {
            Ok(report) => print_built(&report, ecosystem, &names),
            Err(e) => {
                eprintln!("error: {e:#}");
                failed.push(ecosystem.to_string());
            }
        }
    }
    if !failed.is_empty() {
        bail!("test builds failed ({})", failed.join(", "));
    }
    Ok(())
}

/// `ecosystem/name, …`.
fn specs(ecosystem: Ecosystem, names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("{ecosystem}/{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a test build of `names` builds with: the host, the lock's runtime
/// packages, `names` from source, the result linked in `scratch`.
fn check_options(
    dir: &Path,
    ecosystem: Ecosystem,
    names: &[String],
    sandbox: &Sandbox,
    steps: &BuildProgress,
    scratch: &Path,
) -> Result<AppOptions> {
    let select = SelectOptions {
        no_binary: if ecosystem == Ecosystem::Pypi {
            names.to_vec()
        } else {
            Vec::new()
        },
        ..SelectOptions::default()
    };
    let plan = PlanOptions {
        target: Target::resolve(&TargetOptions::default())?,
        select,
        index: IndexOptions::new(pyindex::default_cache_dir(), false)
            .with_network_config(Some(dir))?,
    };
    Ok(AppOptions {
        plan,
        python: PathBuf::from("python3"),
        sandbox: sandbox.clone(),
        fetch: lock2build_fetch::FetchOptions {
            progress: lock2build_fetch::ProgressMode::Quiet,
            ..Default::default()
        },
        jobs: 8,
        out_link: scratch.join("result"),
        scripts: Vec::new(),
        progress: true,
        steps: steps.clone(),
        ecosystem: Some(ecosystem),
        lockfile: None,
        script: None,
        features: Vec::new(),
        no_default_features: false,
        from_source: names.to_vec(),
        locked: false,
        develop: false,
        dir: dir.to_owned(),
    })
}

/// Prints, for each of `names`, the source builds of it the report logged
/// (`test build ok`), or that the lock builds none of it.
fn print_built(report: &AppReport, ecosystem: Ecosystem, names: &[String]) {
    for note in &report.notes {
        println!("note: {note}");
    }
    let normalize = |n: &str| match ecosystem {
        Ecosystem::Pypi => lock2build_model::normalize_python_name(n),
        Ecosystem::Crates => n.replace('_', "-"),
        Ecosystem::Npm => n.to_owned(),
    };
    for name in names {
        let wanted = normalize(name);
        let hits: Vec<(&String, &PathBuf)> = report
            .logs
            .iter()
            .filter(|(label, _)| {
                label.rsplit_once(' ').map(|(n, _)| normalize(n)).as_deref()
                    == Some(wanted.as_str())
            })
            .collect();
        if hits.is_empty() {
            println!(
                "not test-built: {ecosystem}/{name} (not built from source in this project's lock)"
            );
        }
        for (label, log) in hits {
            println!(
                "test build ok: {ecosystem}/{label} (log: {})",
                log.display()
            );
        }
    }
}
