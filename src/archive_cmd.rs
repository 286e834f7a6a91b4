//! `lock2build archive status|save`, and the archive flags every fetching
//! command takes (`--no-archive`, `--allow-unverified-archive`).

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use lock2build_archive::{archive_status, save_origins, SourceQuery, Swh, TreeFile};
use lock2build_fetch::ArchiveConfig;
use lock2build_model::ArtifactKind;
use lock2build_plan::plan::Plan;
use std::io::Write;
use std::path::PathBuf;

/// The Software Heritage fallback's flags.
#[derive(Args, Debug, Clone, Default)]
pub struct ArchiveFlags {
    /// Never fall back to the Software Heritage archive for a vanished
    /// source (LOCK2BUILD_SWH_URL names another instance of its API;
    /// LOCK2BUILD_SWH_TOKEN is sent as a Bearer token).
    #[arg(long)]
    pub no_archive: bool,
    /// Accept a tree recovered from the archive that no recorded tree hash
    /// (lock2build.trees.json) vouches for; it is reported as unverified.
    #[arg(long)]
    pub allow_unverified_archive: bool,
}

impl ArchiveFlags {
    /// The settings: the environment's, with these flags.
    pub fn config(&self) -> ArchiveConfig {
        ArchiveConfig {
            enabled: !self.no_archive,
            allow_unverified: self.allow_unverified_archive,
            ..ArchiveConfig::from_env()
        }
    }
}

#[derive(Subcommand)]
pub enum ArchiveCommand {
    #[command(verbatim_doc_comment)]
    /// For each source of the project, whether Software Heritage holds it:
    /// its exact bytes (content), its tree (by an ExtID; verifiable when
    /// lock2build.trees.json records that tree), or its git commit
    /// (revision). Ends with "N of M recoverable".
    ///
    /// Examples:
    ///   lock2build archive status
    ///   lock2build archive status path/to/project --json
    Status {
        /// The project directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    #[command(verbatim_doc_comment)]
    /// Ask Software Heritage to save (archive) the project's git origins
    /// now ("Save Code Now"), and print each request's state.
    ///
    /// Example:
    ///   LOCK2BUILD_SWH_TOKEN=… lock2build archive save
    Save {
        /// The project directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
}

/// The plan's sources as status queries.
fn queries(plan: &Plan) -> Vec<SourceQuery> {
    let mut out = Vec::new();
    for node in &plan.packages {
        let Some(artifact) = &node.artifact else {
            continue;
        };
        let label = format!("{} {} {}", node.ecosystem, node.name, node.version);
        match (artifact.kind, &artifact.url, &artifact.commit) {
            (ArtifactKind::Git, Some(url), Some(commit)) => out.push(SourceQuery::Git {
                label,
                url: url.clone(),
                commit: commit.clone(),
            }),
            (ArtifactKind::Directory, _, _) => {}
            _ if !artifact.hashes.is_empty() => out.push(SourceQuery::File {
                label,
                hashes: artifact.hashes.clone(),
            }),
            _ => {}
        }
    }
    out
}

/// Runs an `archive` command on the project's plan.
/// `json`: the global `--json` (docs/archive.md has the documents).
pub fn run(
    command: ArchiveCommand,
    json: bool,
    plan_of: impl Fn(&PathBuf) -> Result<Plan>,
) -> Result<()> {
    let swh = Swh::new(&ArchiveConfig::from_env())?;
    let mut stdout = std::io::stdout().lock();
    match command {
        ArchiveCommand::Status { dir } => {
            let plan = plan_of(&dir)?;
            let trees = TreeFile::load(&dir)?;
            let report = archive_status(&swh, &queries(&plan), &trees);
            if json {
                serde_json::to_writer_pretty(&mut stdout, &report)?;
                writeln!(stdout)?;
            } else {
                for s in &report.sources {
                    let how = match (s.found.as_str(), s.verifiable) {
                        ("extid", Some(false)) => {
                            "tree (no recorded tree hash: not verifiable)".to_owned()
                        }
                        ("extid", _) => "tree".to_owned(),
                        (other, _) => other.to_owned(),
                    };
                    let id = s
                        .swhid
                        .as_deref()
                        .map(|i| format!(" {i}"))
                        .unwrap_or_default();
                    let err = s
                        .error
                        .as_deref()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default();
                    writeln!(stdout, "{}: {how}{id}{err}", s.label)?;
                }
                writeln!(
                    stdout,
                    "{} of {} recoverable from {}",
                    report.recoverable, report.total, report.archive
                )?;
                let unknown = report
                    .sources
                    .iter()
                    .filter(|s| s.found == "unknown")
                    .count();
                if unknown > 0 {
                    writeln!(stdout, "{unknown} could not be asked (no answer from the archive: check the network, or LOCK2BUILD_SWH_URL)")?;
                }
            }
        }
        ArchiveCommand::Save { dir } => {
            let plan = plan_of(&dir)?;
            let mut urls: Vec<String> = queries(&plan)
                .into_iter()
                .filter_map(|q| match q {
                    SourceQuery::Git { url, .. } => Some(url),
                    SourceQuery::File { .. } => None,
                })
                .collect();
            urls.sort();
            urls.dedup();
            let answers = save_origins(&swh, &urls);
            if json {
                let doc: Vec<serde_json::Value> = answers
                    .iter()
                    .map(|(url, r)| match r {
                        Ok(req) => serde_json::json!({"origin": url, "save_request_status": req.save_request_status, "save_task_status": req.save_task_status}),
                        Err(e) => serde_json::json!({"origin": url, "error": e.to_string()}),
                    })
                    .collect();
                serde_json::to_writer_pretty(
                    &mut stdout,
                    &serde_json::json!({"version": 1, "requests": doc}),
                )?;
                writeln!(stdout)?;
            } else if answers.is_empty() {
                writeln!(stdout, "no git origins to save (registry sources are archived by Software Heritage's listers)")?;
            }
            for (url, r) in &answers {
                if json {
                    break;
                }
                match r {
                    Ok(req) => writeln!(
                        stdout,
                        "{url}: {} ({})",
                        req.save_request_status,
                        req.save_task_status.as_deref().unwrap_or("-")
                    )?,
                    Err(e) => writeln!(stdout, "{url}: {e}")?,
                }
            }
            if answers.iter().any(|(_, r)| r.is_err()) {
                anyhow::bail!("some save requests failed");
            }
        }
    }
    stdout.flush().context("writing to standard output")
}
