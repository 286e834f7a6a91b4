//! `lock2build doctor` and `lock2build overrides …`: what the overrides
//! database says about a project's packages, which native libraries and
//! tools the host lacks, and the contribution flow (draft, check, export).
//! The builders load the database ([`load`]) and check the native needs of
//! their source builds ([`native_needs`]) here too.

use anyhow::{anyhow, bail, Context, Result};
use lock2build_model::{ArtifactKind, Ecosystem};
use lock2build_overrides::{
    draft_override, export_patch, guess_from_log, host_check, install_command, package_file_path,
    parse_ecosystem, standard_sources, validate_layer, Database, HostReport, PackageManager,
};
use lock2build_plan::plan::{Node, Plan};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// The database for a project: community, user and project layers.
pub fn load(project: &Path) -> Result<Database> {
    let sources = standard_sources(project).context("reading the override layers")?;
    Database::load(&sources).map_err(|errors| anyhow!("{}", one_message(&errors)))
}

/// Every problem loading found, a line each.
fn one_message(errors: &[lock2build_overrides::OverrideError]) -> String {
    errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The database a build of `ecosystem` in `project` reads, once per
/// process: the provider table, the configuration layers and the package
/// files of that ecosystem (a Python build's too of crates, for its Rust
/// extensions), parsed once (the whole database was ~15% of making a
/// 530-crate graph, twice) and started early by [`load_in_background`].
/// Commands that write a layer and read it again, or that report on every
/// package file, use [`load`].
pub fn load_for(project: &Path, ecosystem: Ecosystem) -> Result<Arc<Database>> {
    let cell = shared_cell(project, ecosystem)?;
    cell.get_or_init(|| load_ecosystem(project, ecosystem))
        .clone()
        .map_err(|e| anyhow!("{e}"))
}

/// Starts [`load_for`] on another thread, while the lock is read: the
/// first `load_for` of the same project and ecosystem waits for it.
pub fn load_in_background(project: &Path, ecosystem: Ecosystem) {
    let Ok(cell) = shared_cell(project, ecosystem) else {
        return;
    };
    let project = project.to_owned();
    std::thread::spawn(move || {
        cell.get_or_init(|| load_ecosystem(&project, ecosystem));
    });
}

fn load_ecosystem(project: &Path, ecosystem: Ecosystem) -> Result<Arc<Database>, String> {
    let only: &[Ecosystem] = match ecosystem {
        Ecosystem::Pypi => &[Ecosystem::Pypi, Ecosystem::Crates],
        Ecosystem::Npm => &[Ecosystem::Npm],
        Ecosystem::Crates => &[Ecosystem::Crates],
    };
    let sources = standard_sources(project)
        .context("reading the override layers")
        .map_err(|e| format!("{e:#}"))?;
    Database::load_only(&sources, only)
        .map(Arc::new)
        .map_err(|errors| one_message(&errors))
}

type SharedDatabase = Arc<OnceLock<Result<Arc<Database>, String>>>;

/// The one cell `project`'s database for `ecosystem` is loaded into.
fn shared_cell(project: &Path, ecosystem: Ecosystem) -> Result<SharedDatabase> {
    type Cells = Vec<((PathBuf, Ecosystem), SharedDatabase)>;
    static LOADED: Mutex<Cells> = Mutex::new(Vec::new());
    let key = (std::path::absolute(project)?, ecosystem);
    let mut loaded = LOADED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, cell)) = loaded.iter().find(|(k, _)| *k == key) {
        return Ok(cell.clone());
    }
    let cell = SharedDatabase::default();
    loaded.push((key, cell.clone()));
    Ok(cell)
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

/// The format version of `lock2build doctor --json` and `overrides why --json`.
pub const REPORT_VERSION: u32 = 1;

/// `lock2build doctor`'s overrides part: which database is in use, the
/// native libraries and tools the plan's source builds need, which the host
/// has, and the command that installs the rest.
pub struct DoctorReport {
    /// The text report.
    pub text: String,
    /// Whether nothing is missing.
    pub ok: bool,
    needs: NativeNeeds,
    install: String,
}

impl DoctorReport {
    /// Checks the host for the plan's source builds.
    pub fn new(plan: &Plan, db: &Database) -> DoctorReport {
        let needs = native_needs(
            plan.packages.iter().filter(|n| built_from_source(n)),
            db,
            None,
        );
        let install = if needs.report.missing.is_empty() {
            String::new()
        } else {
            install_help(db, &needs.report.missing)
        };
        let (text, ok) = doctor_text(&needs, &install);
        DoctorReport {
            text,
            ok,
            needs,
            install,
        }
    }

    /// The JSON document (docs/cli.md): `version`, `overrides`, `native`.
    pub fn to_json(&self) -> serde_json::Value {
        let overrides = match lock2build_overrides::Community::find() {
            Ok(c) => serde_json::json!({
                "source": match &c.source {
                    lock2build_overrides::CommunitySource::Env => "LOCK2BUILD_OVERRIDES",
                    lock2build_overrides::CommunitySource::Embedded { .. } => "embedded",
                },
                "sha256": match &c.source {
                    lock2build_overrides::CommunitySource::Embedded { sha256, .. } => Some(sha256.clone()),
                    lock2build_overrides::CommunitySource::Env => None,
                },
                "root": c.root,
            }),
            Err(e) => serde_json::json!({ "error": e.to_string() }),
        };
        let packages: Vec<serde_json::Value> = self
            .needs
            .who
            .iter()
            .map(|(label, ids)| serde_json::json!({"package": label, "needs": ids}))
            .collect();
        let report = &self.needs.report;
        serde_json::json!({
            "version": REPORT_VERSION,
            "overrides": overrides,
            "native": {
                "ok": self.ok,
                "packages": packages,
                "present": report.present,
                "missing": report.missing,
                "unknown": report.unknown,
                "install": self.install,
            },
        })
    }
}

fn doctor_text(needs: &NativeNeeds, install: &str) -> (String, bool) {
    let mut out = String::new();
    match lock2build_overrides::Community::find() {
        Ok(community) => {
            let _ = writeln!(out, "Overrides: {}\n", community.describe());
        }
        Err(e) => {
            let _ = writeln!(out, "Overrides: {e}\n");
        }
    }
    if needs.who.is_empty() {
        out.push_str("No package of this plan is built from source with native needs the overrides database knows of.\n");
        return (out, true);
    }
    let report = &needs.report;
    let _ = writeln!(out, "Built from source, with native needs:");
    out.push_str(&needs.per_package());
    let _ = writeln!(
        out,
        "\nOn this host: {} present, {} missing",
        report.present.len(),
        report.missing.len()
    );
    if !report.unknown.is_empty() {
        let _ = writeln!(
            out,
            "  unknown to the provider table: {}",
            report.unknown.join(", ")
        );
    }
    if report.missing.is_empty() {
        let _ = writeln!(out, "Everything needed is installed.");
        return (out, true);
    }
    let _ = writeln!(out, "  missing: {}\n", report.missing.join(", "));
    out.push_str(install);
    (out, false)
}

/// `lock2build overrides why` for each package: text, or with `json` one
/// document `{"version": 1, "packages": [{ecosystem, name, version, resolved}]}`.
pub fn print_why(
    db: &Database,
    packages: &[(Ecosystem, String, String)],
    json: bool,
) -> Result<()> {
    if json {
        let list: Vec<serde_json::Value> = packages
            .iter()
            .map(|(ecosystem, name, version)| {
                serde_json::json!({
                    "ecosystem": ecosystem,
                    "name": name,
                    "version": version,
                    "resolved": db.resolve(*ecosystem, name, version),
                })
            })
            .collect();
        let document = serde_json::json!({"version": REPORT_VERSION, "packages": list});
        println!("{}", serde_json::to_string_pretty(&document)?);
    } else {
        for (ecosystem, name, version) in packages {
            print!("{}", why(db, *ecosystem, name, version));
        }
    }
    Ok(())
}

/// The packages of `plan` named `package` (any ecosystem; `_` and `-`
/// alike, any case), each ecosystem and version once: what `overrides why
/// NAME` explains. None is an error naming the plan's directory `dir`.
pub fn packages_named(
    plan: &Plan,
    package: &str,
    dir: &Path,
) -> Result<Vec<(Ecosystem, String, String)>> {
    let wanted = package.to_ascii_lowercase().replace('_', "-");
    let mut seen = BTreeSet::new();
    let packages: Vec<_> = plan
        .packages
        .iter()
        .filter(|n| n.name.to_ascii_lowercase() == wanted)
        .filter(|n| seen.insert((n.ecosystem, n.version.clone())))
        .map(|n| (n.ecosystem, n.name.clone(), n.version.clone()))
        .collect();
    if packages.is_empty() {
        bail!(
            "`{package}` is not a package of the plan of {}\n  help: name any package as ECOSYSTEM/NAME@VERSION, e.g. pypi/pillow@10.4.0",
            dir.display()
        );
    }
    Ok(packages)
}

/// Splits `ECOSYSTEM/NAME[@VERSION]`.
pub fn parse_package(spec: &str) -> Result<(Ecosystem, String, Option<String>)> {
    let (eco, rest) = spec.split_once('/').ok_or_else(|| {
        anyhow!(
            "`{spec}`: expected ECOSYSTEM/NAME, e.g. pypi/pillow, npm/canvas, crates/openssl-sys"
        )
    })?;
    let ecosystem = parse_ecosystem(eco)
        .ok_or_else(|| anyhow!("`{eco}`: unknown ecosystem (pypi, npm or crates)"))?;
    // npm scopes contain a slash and an @ at the start.
    let (name, version) = match rest.rfind('@') {
        Some(i) if i > 0 => (rest[..i].to_owned(), Some(rest[i + 1..].to_owned())),
        _ => (rest.to_owned(), None),
    };
    Ok((ecosystem, name, version))
}

/// `lock2build overrides why`: what applies to a package and from where.
pub fn why(db: &Database, ecosystem: Ecosystem, name: &str, version: &str) -> String {
    let resolved = db.resolve(ecosystem, name, version);
    let mut out = format!("{ecosystem}/{name} {version}\n");
    if resolved.is_empty() {
        out.push_str("  no override applies (community, user and project layers searched)\n");
        return out;
    }
    for c in &resolved.provenance {
        let _ = writeln!(
            out,
            "  {:?}: {}{}\n      from {}",
            c.field,
            c.values.join(", "),
            if c.replaced {
                " (replaces earlier layers)"
            } else {
                ""
            },
            c.origin
        );
    }
    for (origin, note) in &resolved.notes {
        let _ = writeln!(out, "  note: {note}\n      from {origin}");
    }
    out
}

/// The shared libraries the compiled modules of a wheel need (ELF
/// `NEEDED`) that the wheel does not bundle itself (auditwheel puts bundled
/// ones in `<name>.libs/`).
pub fn wheel_needed(wheel: &Path) -> Result<Vec<String>> {
    let file =
        std::fs::File::open(wheel).with_context(|| format!("opening {}", wheel.display()))?;
    let mut archive = zip::ZipArchive::new(file)
        .with_context(|| format!("{} is not a wheel (zip)", wheel.display()))?;
    let mut needed = BTreeSet::new();
    let mut bundled = BTreeSet::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i)?;
        let name = entry.name().map(|n| n.to_string()).unwrap_or_default();
        let base = name.rsplit('/').next().unwrap_or(&name).to_owned();
        if !(base.ends_with(".so") || base.contains(".so.")) {
            continue;
        }
        bundled.insert(base.clone());
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes)?;
        if let Ok(elf) = goblin::elf::Elf::parse(&bytes) {
            needed.extend(elf.libraries.iter().map(|l| l.to_string()));
        }
    }
    Ok(needed
        .into_iter()
        .filter(|n| !bundled.contains(n))
        .collect())
}

/// `lock2build overrides new`: drafts a package file in the project layer.
pub fn new_override(
    db: &Database,
    project: &Path,
    ecosystem: Ecosystem,
    name: &str,
    version: &str,
    log: Option<&Path>,
    wheel: Option<&Path>,
    force: bool,
) -> Result<(PathBuf, Vec<String>)> {
    let mut ids = match log {
        Some(log) => {
            let text = std::fs::read_to_string(log)
                .with_context(|| format!("reading {}", log.display()))?;
            guess_from_log(db.providers(), &text)
        }
        None => Vec::new(),
    };
    if let Some(wheel) = wheel {
        let needed = wheel_needed(wheel)?;
        for id in lock2build_overrides::guess_from_needed(db.providers(), &needed) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    let path = project
        .join(".lock2build")
        .join("overrides")
        .join(package_file_path(ecosystem, name));
    if path.exists() && !force {
        bail!(
            "{} exists; edit it, or pass --force to replace it",
            path.display()
        );
    }
    let text = draft_override(db.providers(), ecosystem, name, version, &ids);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&path, text)?;
    Ok((path, ids))
}

/// `lock2build overrides check`: validates the project layer against the
/// community database.
pub fn check(project: &Path) -> Result<usize> {
    let dir = project.join(".lock2build").join("overrides");
    let community = lock2build_overrides::Community::find()?.root;
    let problems = validate_layer(&dir, Some(&community));
    if !problems.is_empty() {
        bail!(
            "{}",
            problems
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    let count = walk_toml(&dir);
    // The lock2build.toml [overrides] table loads with the rest.
    load(project)?;
    Ok(count)
}

/// The packages the project layer has entries for.
pub fn touched(db: &Database) -> Vec<(Ecosystem, String)> {
    let mut out = Vec::new();
    for ecosystem in [Ecosystem::Pypi, Ecosystem::Npm, Ecosystem::Crates] {
        for name in db.packages(ecosystem) {
            if db
                .entries(ecosystem, name)
                .iter()
                .any(|e| e.origin.layer == lock2build_overrides::LayerKind::Project)
            {
                out.push((ecosystem, name.to_owned()));
            }
        }
    }
    out
}

fn walk_toml(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                walk_toml(&p)
            } else {
                usize::from(p.extension().is_some_and(|x| x == "toml"))
            }
        })
        .sum()
}

/// `lock2build overrides export`: the project layer as a patch against the
/// community database.
pub fn export(project: &Path) -> Result<String> {
    let community = lock2build_overrides::Community::find()?.root;
    let sources = lock2build_overrides::project_sources(project)?;
    if sources.is_empty() {
        bail!(
            "{}: no project overrides (.lock2build/overrides/ or [overrides] in lock2build.toml)\n  help: draft one with `lock2build overrides new ECOSYSTEM/NAME`",
            project.display()
        );
    }
    let mut patch = export_patch(&sources, &community).map_err(|e| anyhow!("{e}"))?;
    // A fixture test per contributed package: the version it applies to and
    // what the database must then say (crates/overrides/tests/cases.rs runs them).
    let repo = community
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let db = load(project)?;
    for ecosystem in lock2build_overrides::ECOSYSTEMS {
        let names: Vec<String> = db.packages(ecosystem).map(str::to_owned).collect();
        for name in names {
            let entries: Vec<_> = db
                .entries(ecosystem, &name)
                .iter()
                .filter(|e| e.origin.layer == lock2build_overrides::LayerKind::Project)
                .collect();
            let Some(first) = entries.first() else {
                continue;
            };
            let version = lower_bound(&first.origin.versions).unwrap_or_else(|| {
                if ecosystem == Ecosystem::Pypi {
                    "0".into()
                } else {
                    "0.0.0".into()
                }
            });
            let resolved = db.resolve(ecosystem, &name, &version);
            let rel = format!(
                "crates/overrides/tests/cases/{}-{}.toml",
                ecosystem,
                name.replace('/', "-").replace('@', "")
            );
            if repo.join(&rel).exists() {
                continue;
            }
            let quote = |v: &[String]| {
                v.iter()
                    .map(|x| format!("{x:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let mut case = format!(
                "# Fixture test: what the database must say about {name} {version}.\necosystem = \"{ecosystem}\"\nname = {name:?}\nversion = {version:?}\nnative = [{}]\ntools = [{}]\n",
                quote(&resolved.native),
                quote(&resolved.tools)
            );
            if !resolved.env.is_empty() {
                let env: Vec<String> = resolved
                    .env
                    .iter()
                    .map(|(k, v)| format!("{k:?} = {v:?}"))
                    .collect();
                case.push_str(&format!("env = {{ {} }}\n", env.join(", ")));
            }
            let lines: Vec<&str> = case.lines().collect();
            patch.push_str(&format!(
                "diff --git a/{rel} b/{rel}\nnew file mode 100644\n--- /dev/null\n+++ b/{rel}\n@@ -0,0 +1,{} @@\n",
                lines.len()
            ));
            for line in lines {
                patch.push('+');
                patch.push_str(line);
                patch.push('\n');
            }
        }
    }
    Ok(patch)
}

/// The lowest version a range admits, when it says (`>=1.2`, `==1.2`,
/// `^1.2`, `~1.2`, `1.2`).
fn lower_bound(range: &str) -> Option<String> {
    let first = range
        .split([',', ' '])
        .find(|p| !p.trim().is_empty())?
        .trim();
    let version = first.trim_start_matches(['>', '=', '^', '~']);
    if first.starts_with('<')
        || first.starts_with('!')
        || version.is_empty()
        || version.contains('*')
    {
        return None;
    }
    version
        .chars()
        .next()
        .filter(char::is_ascii_digit)
        .map(|_| version.to_owned())
}
