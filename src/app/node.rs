//! The Node builder of `lock2build app`: a package-lock.json's tree laid
//! out as the lock says, its install scripts run in the sandbox, the
//! project's `build` script run, launchers in `result/bin`.
//!
//! The nodes, each a store output named by its identity:
//!
//! ```text
//! node_modules  every tarball unpacked at its lock location, override    ← each package's location, name,
//!               patches applied, bin links made (`npm rebuild              version and integrity, its override
//!               --ignore-scripts`), then the install scripts of each       env, patches and native versions,
//!               package, deepest first, one sandbox step each              node, npm, cc, sandboxed or not
//!               (`npm rebuild NAME@VERSION --foreground-scripts`)
//! app           the project's files (app/), app/node_modules → the one   ← the tree's hash, node_modules,
//!               above, `npm run build` when package.json has one, and     the bins, node, npm, sandboxed
//!               bin/ launchers (`exec node app/…`)
//! ```
//!
//! Granularity: the whole tree is one output. A changed tarball, override
//! or toolchain re-lays it out and runs every install script again; a
//! changed project file rebuilds only `app` (no native module is compiled
//! again). Nothing changed: nothing is fetched, nothing built.
//!
//! Each install-script step gets that package's override environment
//! only (`npm_config_build_from_source=true` for bcrypt < 6 stops
//! node-pre-gyp's download and compiles with node-gyp instead), and sees:
//! no network, an empty `HOME`, npm's configuration from the environment
//! (`userconfig`/`globalconfig` are empty files: the user's `~/.npmrc`
//! does not apply), `offline`, and `nodedir` = the node binary's own prefix,
//! whose `include/node` headers are checked first. node-gyp is npm's own;
//! python3, make and the C++ compiler are the host's.
//!
//! Dev dependencies: the plan has them when `--dev` is given, or when
//! package.json has a `build` script (the builder re-plans with them:
//! builds need their tools). They are then part of node_modules and stay
//! in the output, which is the tree the build ran with.
//!
//! Not supported yet (a clear error names them): git and `file:`
//! dependencies, workspaces, packages without integrity or URL. The
//! project's own lifecycle scripts (`preinstall`, `postinstall`,
//! `prepare`) are not run; only `build` is.

mod manifest;
mod toolchain;

pub(super) use toolchain::NodeToolchain as Toolchain;

use super::{
    apply_patches, build_cause, copy_tree, failure_message, open_store, patch_hashes, run_parallel,
};
use super::{
    distinct_artifacts, downloads, link_and_record, require_native, tree_hash, AppOptions,
    AppReport,
};
use crate::overrides_cmd;
use anyhow::{anyhow, bail, Context, Result};
use lock2build_fetch::fetch_all;
use lock2build_model::{Ecosystem, Hash, Source};
use lock2build_overrides::{native_versions, Database, Resolved};
use lock2build_plan::plan::{self, Node, Plan, PlanOptions};
use lock2build_sandbox::{Mount, SandboxSpec};
use lock2build_store::{ArchiveFormat, NodeId, Store, ToolchainId};
use manifest::Manifest;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Instant;
use toolchain::NodeToolchain;

/// npm's private directory inside a step: an empty cache (everything is
/// laid out already) and empty `userconfig`/`globalconfig` files.
const NPM_DIR: &str = "/build/npm";

/// A package of the tree.
#[derive(Debug, Clone)]
struct Package {
    name: String,
    version: String,
    /// `node_modules/a/node_modules/b`.
    location: String,
    /// The tarball's hashes.
    hashes: Vec<Hash>,
    integrity: String,
    /// Runs install scripts (the lock's `hasInstallScript`).
    scripts: bool,
    overrides: Resolved,
}

impl Package {
    fn label(&self) -> String {
        format!("{} {}", self.name, self.version)
    }

    /// The name npm knows it by: its folder (an alias's, for aliases).
    fn folder_name(&self) -> &str {
        self.location
            .rsplit_once("node_modules/")
            .map_or(self.location.as_str(), |(_, n)| n)
    }

    fn depth(&self) -> usize {
        self.location.matches("node_modules/").count()
    }
}

/// One install-script step: a name@version (every copy of it in the tree).
struct ScriptStep {
    label: String,
    name: String,
    version: String,
    /// `folder@version`, what `npm rebuild` matches.
    spec: String,
    env: BTreeMap<String, String>,
    log: PathBuf,
}

/// Builds the npm project `project` of `plan`.
pub(super) fn build(options: &AppOptions, plan: Plan, project: usize) -> Result<AppReport> {
    let started = Instant::now();
    let say = |line: String| {
        if options.progress {
            eprintln!("{line}");
        }
    };
    let project_dir = std::path::absolute(&options.dir)?;
    let lockfile = plan.projects[project].lockfile.clone();
    let lock_display = options.dir.join(&lockfile).display().to_string();
    let manifest = Manifest::read(&project_dir)?;
    let mut notes = Vec::new();

    // A build script needs the dev dependencies: re-plan with them.
    let (plan, project) = if manifest.has_build && !wants_dev(&options.plan) {
        let mut with_dev = options.plan.clone();
        with_dev.select.groups.push("dev".into());
        let replanned = plan::plan_project(&options.dir, &with_dev)?.plan;
        let index = replanned
            .projects
            .iter()
            .position(|p| p.lockfile == lockfile)
            .ok_or_else(|| anyhow!("internal: {lock_display} vanished when re-planned"))?;
        (replanned, index)
    } else {
        (plan, project)
    };
    let nodes: Vec<&Node> = plan
        .packages
        .iter()
        .filter(|n| n.project == project)
        .collect();
    let root = nodes
        .iter()
        .find(|n| n.root)
        .map(|n| (n.name.clone(), n.version.clone()))
        .unwrap_or_else(|| ("app".into(), "0.0.0".into()));
    let toolchain = NodeToolchain::find()?;
    say(format!(
        "lock2build app: {} ({}, {} package{}) with node {} ({})",
        options.dir.display(),
        lockfile.display(),
        nodes.len().saturating_sub(1),
        if nodes.len() == 2 { "" } else { "s" },
        toolchain.version,
        toolchain.node.display()
    ));
    let db = overrides_cmd::load(&options.dir)?;
    let packages = packages(&nodes, &db, &lock_display)?;

    // `overrides check`: the named packages are built if they have
    // install scripts (all such are), and said so otherwise.
    for name in &options.from_source {
        let hits: Vec<&Package> = packages.iter().filter(|p| p.name == *name).collect();
        if hits.is_empty() {
            notes.push(format!("{name} is not a package of {lock_display}"));
        } else if !hits.iter().any(|p| p.scripts) {
            notes.push(format!(
                "{name} {} has no install script: there is nothing to build (its files are used as published)",
                hits[0].version
            ));
        }
    }

    // Native needs and the headers, before anything is fetched.
    let scripted: Vec<&Node> = nodes
        .iter()
        .copied()
        .filter(|n| !n.root && n.flags.has_install_script && n.artifact.is_some())
        .collect();
    if !scripted.is_empty() {
        require_native(&scripted, &db, "the install scripts", Ecosystem::Npm, None)?;
        toolchain.check_headers()?;
    }

    let store = open_store()?;
    let target = plan.target.describe_platform();
    // The compilers install scripts use (also when the lock, a v1 one,
    // does not say which packages have scripts).
    let mut ids = toolchain.ids.clone();
    ids.extend(ToolchainId::probe(Path::new("c++")).ok());
    ids.extend(ToolchainId::probe(Path::new("cc")).ok());
    let lock_root = manifest::lock_root(&project_dir.join(&lockfile))?;
    let identity: Vec<serde_json::Value> = packages
        .iter()
        .map(|p| {
            Ok(serde_json::json!({
                "location": p.location,
                "name": p.name,
                "version": p.version,
                "integrity": p.integrity,
                "scripts": p.scripts,
                "env": p.overrides.env,
                "patches": patch_hashes(&p.overrides.patches)?,
                "native": native_versions(db.providers(), &p.overrides.native),
            }))
        })
        .collect::<Result<_>>()?;
    let modules_id = NodeId::compute(
        &format!("{}-node-modules", root.0),
        &serde_json::json!({
            "recipe": "npm-node-modules/1",
            "sandboxed": options.sandbox.is_sandboxed(),
            "root": lock_root,
            "packages": identity,
        }),
        &[],
        &ids,
        &target,
    )?;
    let launchers = launchers(options, &manifest, &nodes, &packages)?;
    let app_id = NodeId::compute(
        &root.0,
        &serde_json::json!({
            "recipe": "npm-app/1",
            "sandboxed": options.sandbox.is_sandboxed(),
            "tree": tree_hash(&project_dir)?,
            "build": manifest.has_build,
            "bin": launchers,
            "node": toolchain.node,
        }),
        std::slice::from_ref(&modules_id),
        &toolchain.ids,
        &target,
    )?;

    // The tarballs, unless what needs them is built already.
    let (mut requests, _) = crate::fetch_plan::requests(&plan)?;
    let wanted: BTreeSet<String> = packages
        .iter()
        .flat_map(|p| p.hashes.iter().map(|h| h.to_sri()))
        .collect();
    requests.retain(|r| r.hashes.iter().any(|h| wanted.contains(&h.to_sri())));
    let live_requests = requests.clone();
    if store.output(&app_id).is_some() || store.output(&modules_id).is_some() {
        requests.clear();
    }
    let fetched = fetch_all(&store, &requests, &options.fetch).map_err(|e| anyhow!("{e}"))?;

    let logs_dir = store.logs_dir();
    std::fs::create_dir_all(&logs_dir)
        .with_context(|| format!("creating {}", logs_dir.display()))?;
    let mut built = Vec::new();
    let mut reused = 0usize;
    let mut logs = BTreeMap::new();

    // node_modules. Which packages run scripts: the lock's
    // `hasInstallScript`, and (v1 locks have no such flag) what each
    // laid-out package.json says.
    let flagged = script_steps(&packages, None, &logs_dir, &modules_id);
    let links_log = logs_dir.join(format!("{modules_id}.links.log"));
    let modules = if let Some(path) = store.output(&app_id).and(store.output(&modules_id)) {
        reused += 1;
        path
    } else {
        if store.output(&modules_id).is_none() {
            say(format!(
                "laying out node_modules ({} packages)…",
                packages.len()
            ));
        }
        let mut failed: Option<(String, String, String, PathBuf, String)> = None;
        let npm = NpmSteps {
            options,
            toolchain: &toolchain,
        };
        let made = store.build_output(&modules_id, &[], |out| {
            let mut run = || -> Result<()> {
                lay_out(&store, &packages, &out.building, options.jobs)?;
                std::fs::write(
                    out.building.join("package.json"),
                    serde_json::to_string_pretty(&lock_root)?,
                )?;
                std::fs::copy(
                    project_dir.join(&lockfile),
                    out.building.join("package-lock.json"),
                )?;
                let links = npm.run(
                    out,
                    &out.final_path,
                    &["rebuild", "--ignore-scripts"],
                    &BTreeMap::new(),
                    &links_log,
                )?;
                if let Err(cause) = links {
                    failed = Some((
                        "node_modules (bin links)".into(),
                        root.0.clone(),
                        root.1.clone(),
                        links_log.clone(),
                        cause,
                    ));
                    bail!("linking bins failed");
                }
                let steps = script_steps(&packages, Some(&out.building), &logs_dir, &modules_id);
                let unflagged: Vec<&Node> = steps
                    .iter()
                    .filter(|s| !flagged.iter().any(|f| f.spec == s.spec))
                    .filter_map(|s| {
                        nodes
                            .iter()
                            .copied()
                            .find(|n| !n.root && n.name == s.name && n.version == s.version)
                    })
                    .collect();
                if !unflagged.is_empty() {
                    require_native(&unflagged, &db, "the install scripts", Ecosystem::Npm, None)?;
                    toolchain.check_headers()?;
                }
                for step in &steps {
                    say(format!("running the install scripts of {}…", step.label));
                    let result = npm.run(
                        out,
                        &out.final_path,
                        &["rebuild", &step.spec, "--foreground-scripts"],
                        &step.env,
                        &step.log,
                    )?;
                    if let Err(cause) = result {
                        failed = Some((
                            step.label.clone(),
                            step.name.clone(),
                            step.version.clone(),
                            step.log.clone(),
                            cause,
                        ));
                        bail!("the install scripts of {} failed", step.label);
                    }
                    say(format!("  built {}", step.label));
                }
                Ok(())
            };
            run().map_err(|e| format!("{e:#}").into())
        });
        let made = match made {
            Ok(made) => made,
            Err(e) => {
                return Err(match failed {
                    Some((label, name, version, log, cause)) => {
                        failure_message(&db, Ecosystem::Npm, &label, &name, &version, &log, &cause)
                    }
                    None => anyhow!("{}", build_cause(&e)),
                })
            }
        };
        if made.built {
            built.push("node_modules".to_owned());
            built.extend(
                script_steps(&packages, Some(&made.path), &logs_dir, &modules_id)
                    .iter()
                    .map(|s| s.label.clone()),
            );
        } else {
            reused += 1;
        }
        made.path
    };
    for step in script_steps(&packages, Some(&modules), &logs_dir, &modules_id) {
        logs.insert(step.label.clone(), step.log.clone());
    }

    // The app.
    let app_label = format!("{} {}", root.0, root.1);
    let build_log = logs_dir.join(format!("{app_id}.log"));
    if manifest.has_build {
        logs.insert(app_label.clone(), build_log.clone());
    }
    if store.output(&app_id).is_none() && manifest.has_build {
        say(format!("building {app_label} (npm run build)…"));
    }
    let mut build_failed: Option<String> = None;
    let made = store.build_output(
        &app_id,
        std::slice::from_ref(&modules_id),
        |out| -> Result<(), lock2build_store::BuildError> {
            let app = out.building.join("app");
            copy_tree(&project_dir, &app)?;
            std::os::unix::fs::symlink(modules.join("node_modules"), app.join("node_modules"))?;
            if manifest.has_build {
                let npm = NpmSteps {
                    options,
                    toolchain: &toolchain,
                };
                let mut env = BTreeMap::new();
                env.insert("NODE_ENV".to_owned(), "production".to_owned());
                let result = npm
                    .run_in(
                        out,
                        &out.final_path.join("app"),
                        &modules,
                        &["run", "build"],
                        &env,
                        &build_log,
                    )
                    .map_err(|e| format!("{e:#}"))?;
                if let Err(cause) = result {
                    build_failed = Some(cause);
                    return Err("npm run build failed".into());
                }
            }
            write_launchers(&out.building, &out.final_path, &toolchain.node, &launchers)?;
            Ok(())
        },
    );
    let made = match made {
        Ok(made) => made,
        Err(e) => {
            return Err(match build_failed {
                Some(cause) => failure_message(
                    &db,
                    Ecosystem::Npm,
                    &app_label,
                    &root.0,
                    &root.1,
                    &build_log,
                    &cause,
                ),
                None => anyhow!("{}", build_cause(&e)),
            })
        }
    };
    if made.built {
        built.push(app_label);
    } else {
        reused += 1;
    }
    let scripts: Vec<String> = launchers.keys().cloned().collect();
    if scripts.is_empty() {
        notes.push(format!(
            "neither {} nor its dependencies declare a `bin`: result/bin is empty (the app is in result/app)",
            root.0
        ));
    }

    link_and_record(
        options,
        &store,
        &project_dir,
        &made.path,
        &live_requests,
        vec![modules_id, app_id],
    )?;
    say(format!("done in {:.1}s", started.elapsed().as_secs_f64()));
    let (downloaded, bytes_downloaded) = downloads(&fetched);
    Ok(AppReport {
        link: options.out_link.clone(),
        output: made.path,
        scripts,
        artifacts: distinct_artifacts(&live_requests),
        downloaded,
        bytes_downloaded,
        built,
        reused,
        logs,
        notes,
    })
}

/// Whether the selection already includes npm devDependencies.
fn wants_dev(options: &PlanOptions) -> bool {
    options.select.all_groups
        || options
            .select
            .groups
            .iter()
            .any(|g| g.eq_ignore_ascii_case("dev"))
}

/// The tree's packages, or one error naming every one lock2build cannot
/// lay out.
fn packages(nodes: &[&Node], db: &Database, lock_display: &str) -> Result<Vec<Package>> {
    let mut out = Vec::new();
    let mut unsupported = Vec::new();
    let mut no_integrity = Vec::new();
    for node in nodes {
        if node.root && node.location.as_deref().is_some_and(|l| !l.is_empty()) {
            unsupported.push(format!(
                "  {} {} ({}): workspace member (workspaces are not laid out yet)",
                node.name,
                node.version,
                node.location.as_deref().unwrap_or_default()
            ));
            continue;
        }
        if node.root || node.flags.in_bundle {
            // The project itself; bundled packages come inside their
            // parent's tarball.
            continue;
        }
        let at = node.location.as_deref().unwrap_or("?");
        let what = format!("  {} {} ({at})", node.name, node.version);
        match (&node.source, &node.artifact) {
            (Source::Git { url, commit, .. }, _) => {
                unsupported.push(format!(
                    "{what}: git dependency {url} at {commit} (git sources are not fetched into the store yet)"
                ));
                continue;
            }
            (Source::Directory { path, .. }, _) => {
                unsupported.push(format!(
                    "{what}: local directory `{path}` (workspaces and `file:` directories are not laid out yet)"
                ));
                continue;
            }
            (Source::File { path }, _) => {
                unsupported.push(format!(
                    "{what}: local tarball `{path}` (`file:` tarballs are not laid out yet)"
                ));
                continue;
            }
            (Source::Virtual { .. }, _) => continue,
            (_, None) => {
                unsupported.push(format!("{what}: nothing to download"));
                continue;
            }
            _ => {}
        }
        let Some(artifact) = &node.artifact else {
            continue;
        };
        let Some(location) = node.location.clone().filter(|l| !l.is_empty()) else {
            unsupported.push(format!("{what}: no install location in the lock"));
            continue;
        };
        if location.split('/').any(|c| c == ".." || c == ".") || location.starts_with('/') {
            unsupported.push(format!("{what}: location `{location}` leaves node_modules"));
            continue;
        }
        if artifact.hashes.is_empty() {
            no_integrity.push(what);
            continue;
        }
        if artifact.url.is_none() {
            unsupported.push(format!(
                "{what}: no download URL (no `resolved` and not from a registry)"
            ));
            continue;
        }
        out.push(Package {
            name: node.name.clone(),
            version: node.version.clone(),
            location,
            hashes: artifact.hashes.clone(),
            integrity: artifact
                .integrity
                .clone()
                .unwrap_or_else(|| artifact.hashes[0].to_sri()),
            scripts: node.flags.has_install_script,
            overrides: db.resolve(Ecosystem::Npm, &node.name, &node.version),
        });
    }
    if !no_integrity.is_empty() {
        bail!(
            "{lock_display}: these packages have no `integrity`, and lock2build only installs what a hash pins:\n{}\n  help: re-lock with npm (`npm install --package-lock-only`), which records the integrity of registry packages",
            no_integrity.join("\n")
        );
    }
    if !unsupported.is_empty() {
        bail!(
            "{lock_display}: lock2build cannot lay out these packages yet:\n{}\n  help: depend on them through the npm registry, or build this project with npm directly",
            unsupported.join("\n")
        );
    }
    out.sort_by(|a, b| a.location.cmp(&b.location));
    Ok(out)
}

/// One step per name@version with install scripts, deepest first (a
/// package's dependencies are built before it). With `tree` (the laid-out
/// node_modules output), also the packages whose package.json has install
/// scripts although the lock does not say so.
fn script_steps(
    packages: &[Package],
    tree: Option<&Path>,
    logs_dir: &Path,
    id: &NodeId,
) -> Vec<ScriptStep> {
    let mut by_spec: BTreeMap<String, (usize, &Package)> = BTreeMap::new();
    for p in packages
        .iter()
        .filter(|p| p.scripts || tree.is_some_and(|t| runs_scripts(&t.join(&p.location))))
    {
        let spec = format!("{}@{}", p.folder_name(), p.version);
        let entry = by_spec.entry(spec).or_insert((p.depth(), p));
        entry.0 = entry.0.max(p.depth());
    }
    let mut steps: Vec<(usize, ScriptStep)> = by_spec
        .into_iter()
        .map(|(spec, (depth, p))| {
            let file: String = format!("{}-{}", p.name, p.version)
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "._+-".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            (
                depth,
                ScriptStep {
                    label: p.label(),
                    name: p.name.clone(),
                    version: p.version.clone(),
                    spec,
                    env: p.overrides.env.clone(),
                    log: logs_dir.join(format!("{id}.{file}.log")),
                },
            )
        })
        .collect();
    steps.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.spec.cmp(&b.1.spec)));
    steps.into_iter().map(|(_, s)| s).collect()
}

/// Whether npm runs install scripts for the package in `dir`: a
/// `preinstall`, `install` or `postinstall` script, or a `binding.gyp`
/// (npm's default install is `node-gyp rebuild`) unless `gypfile: false`.
fn runs_scripts(dir: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(dir.join("package.json")) else {
        return false;
    };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
        return false;
    };
    let scripts = &json["scripts"];
    ["preinstall", "install", "postinstall"]
        .iter()
        .any(|s| scripts[s].is_string())
        || (json["gypfile"] != false && dir.join("binding.gyp").is_file())
}

/// Unpacks every tarball at its location under `out/node_modules`
/// (parents before the packages nested in them) and applies the override
/// patches.
fn lay_out(store: &Store, packages: &[Package], out: &Path, jobs: usize) -> Result<()> {
    let indexed: Vec<(usize, &Package)> = packages.iter().enumerate().collect();
    let unpacked = run_parallel(&indexed, jobs.max(1), |(i, p)| -> Result<PathBuf> {
        let file = store
            .source(&p.hashes)
            .ok_or_else(|| anyhow!("internal: the tarball of {} is not in the store", p.label()))?;
        let work = out.join(format!(".unpack-{i}"));
        lock2build_store::unpack(&file, ArchiveFormat::TarGz, &work)
            .with_context(|| format!("unpacking the tarball of {}", p.label()))?;
        lock2build_store::single_top_dir(&work).ok_or_else(|| {
            anyhow!(
                "the tarball of {} does not hold one top directory (npm packs `package/`)",
                p.label()
            )
        })
    });
    let mut tops = Vec::new();
    for ((_, p), top) in unpacked {
        tops.push((*p, top?));
    }
    // Parents first: fewer components, then by path.
    tops.sort_by(|a, b| (a.0.depth(), &a.0.location).cmp(&(b.0.depth(), &b.0.location)));
    for (p, top) in &tops {
        let dest = out.join(&p.location);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if dest.exists() {
            // Shipped inside the parent's tarball: the lock's copy wins.
            std::fs::remove_dir_all(&dest)?;
        }
        std::fs::rename(top, &dest)
            .with_context(|| format!("moving {} into {}", p.label(), p.location))?;
        apply_patches(
            &dest,
            &p.overrides.patches,
            &format!("{} (at {})", p.label(), p.location),
            &format!("npm/{}@{}", p.name, p.version),
        )?;
    }
    for i in 0..packages.len() {
        let work = out.join(format!(".unpack-{i}"));
        if work.exists() {
            std::fs::remove_dir_all(&work)?;
        }
    }
    Ok(())
}

/// npm run in the sandbox, with the host's node.
struct NpmSteps<'a> {
    options: &'a AppOptions,
    toolchain: &'a NodeToolchain,
}

impl NpmSteps<'_> {
    /// `npm ARGS` in the output's top directory. `Ok(Err(cause))`: it ran
    /// and failed.
    fn run(
        &self,
        out: &lock2build_store::OutputDirs,
        workdir: &Path,
        args: &[&str],
        env: &BTreeMap<String, String>,
        log: &Path,
    ) -> Result<Result<(), String>> {
        self.step(out, workdir, &[], args, env, log)
    }

    /// `npm ARGS` in `workdir` (inside the output), with `modules` (the
    /// node_modules output) mounted read-only.
    fn run_in(
        &self,
        out: &lock2build_store::OutputDirs,
        workdir: &Path,
        modules: &Path,
        args: &[&str],
        env: &BTreeMap<String, String>,
        log: &Path,
    ) -> Result<Result<(), String>> {
        self.step(
            out,
            workdir,
            &[Mount::new(modules, modules)],
            args,
            env,
            log,
        )
    }

    fn step(
        &self,
        out: &lock2build_store::OutputDirs,
        workdir: &Path,
        inputs: &[Mount],
        args: &[&str],
        env: &BTreeMap<String, String>,
        log: &Path,
    ) -> Result<Result<(), String>> {
        let work = tempfile::Builder::new()
            .prefix("lock2build-npm-")
            .tempdir_in(lock2build_store::scratch_dir())?;
        std::fs::create_dir_all(work.path().join("cache"))?;
        std::fs::write(work.path().join("user.npmrc"), "")?;
        std::fs::write(work.path().join("global.npmrc"), "")?;
        let mut read_only: Vec<Mount> = self
            .toolchain
            .mounts()
            .into_iter()
            .map(|d| Mount::new(&d, &d))
            .collect();
        read_only.extend(inputs.iter().cloned());
        let mut spec = SandboxSpec {
            command: Vec::new(),
            env: BTreeMap::new(),
            read_only,
            output: Mount::new(&out.building, &out.final_path),
            scratch: vec![Mount::new(work.path(), NPM_DIR)],
            workdir: workdir.to_owned(),
            toolchain_dirs: vec![self.toolchain.bin_dir()],
        };
        let sandbox = &self.options.sandbox;
        let npm_dir = sandbox.visible_path(&spec, Path::new(NPM_DIR));
        let seen = |file: &str| npm_dir.join(file).display().to_string();
        spec.command = [
            self.toolchain.node.clone().into_os_string(),
            self.toolchain.npm_cli.clone().into_os_string(),
        ]
        .into_iter()
        .chain(args.iter().map(OsString::from))
        .collect();
        let mut vars: BTreeMap<String, String> = [
            ("npm_config_userconfig", seen("user.npmrc")),
            ("npm_config_globalconfig", seen("global.npmrc")),
            ("npm_config_cache", seen("cache")),
            ("npm_config_offline", "true".into()),
            ("npm_config_audit", "false".into()),
            ("npm_config_fund", "false".into()),
            ("npm_config_update_notifier", "false".into()),
            ("npm_config_progress", "false".into()),
            ("npm_config_color", "false".into()),
            ("npm_config_loglevel", "info".into()),
            // npm's own debug log would land in the thrown-away cache.
            ("npm_config_logs_max", "0".into()),
            (
                "npm_config_nodedir",
                self.toolchain.prefix.display().to_string(),
            ),
            ("JOBS", self.options.jobs.max(1).to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        vars.extend(env.clone());
        spec.env = vars;
        let status = sandbox.run(&spec, log)?;
        Ok(if status.success() {
            Ok(())
        } else {
            Err(format!("`npm {}` exited with {status}", args.join(" ")))
        })
    }
}

/// `result/bin`: `--script`, else the project's own `bin`, else the bins
/// of its top-level dependencies. Name → path inside the app output.
fn launchers(
    options: &AppOptions,
    manifest: &Manifest,
    nodes: &[&Node],
    packages: &[Package],
) -> Result<BTreeMap<String, String>> {
    let own: BTreeMap<String, String> = manifest
        .bin
        .iter()
        .map(|(name, path)| (name.clone(), format!("app/{}", clean(path))))
        .collect();
    let mut deps: BTreeMap<String, String> = BTreeMap::new();
    let top: BTreeSet<&str> = nodes
        .iter()
        .filter(|n| n.root)
        .flat_map(|n| n.dependencies.iter().map(String::as_str))
        .collect();
    for node in nodes.iter().filter(|n| top.contains(n.id.as_str())) {
        let Some(location) = &node.location else {
            continue;
        };
        if !packages.iter().any(|p| &p.location == location) {
            continue;
        }
        for (name, path) in &node.bin {
            deps.entry(name.clone())
                .or_insert_with(|| format!("app/{location}/{}", clean(path)));
        }
    }
    if options.scripts.is_empty() {
        return Ok(if own.is_empty() { deps } else { own });
    }
    let mut chosen = BTreeMap::new();
    for name in &options.scripts {
        let path = own.get(name).or_else(|| deps.get(name)).ok_or_else(|| {
            let known: Vec<&String> = own.keys().chain(deps.keys()).collect();
            anyhow!(
                "--script {name}: neither the project nor its top-level dependencies have a bin of that name\n  help: the bins are: {}",
                if known.is_empty() {
                    "(none)".to_owned()
                } else {
                    known.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                }
            )
        })?;
        chosen.insert(name.clone(), path.clone());
    }
    Ok(chosen)
}

/// `./bin/x.js` → `bin/x.js`.
fn clean(path: &str) -> String {
    path.trim_start_matches("./").to_owned()
}

/// `out/bin/NAME`: `exec NODE <final>/PATH "$@"`.
fn write_launchers(
    out: &Path,
    final_path: &Path,
    node: &Path,
    launchers: &BTreeMap<String, String>,
) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let bin = out.join("bin");
    std::fs::create_dir_all(&bin)?;
    for (name, path) in launchers {
        if name.contains('/') || name.is_empty() || name == "." || name == ".." {
            bail!("the bin name `{name}` is not a file name");
        }
        if !out.join(path).exists() {
            bail!(
                "the bin `{name}` points to {path}, which does not exist in the app\n  help: fix `bin` in package.json (or the build that makes {path})"
            );
        }
        let script = format!(
            "#!/bin/sh\n# lock2build: {name} of {}\nexec {} {} \"$@\"\n",
            final_path.display(),
            shell_quote(&node.display().to_string()),
            shell_quote(&final_path.join(path).display().to_string())
        );
        let file = bin.join(name);
        std::fs::write(&file, script)?;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

/// A string as one POSIX shell word.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}
