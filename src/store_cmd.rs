//! `lock2build store verify [--repair]`: every source re-hashed, every
//! output compared with the content hash recorded when it was built
//! (`Store::verify`, docs/store.md).

use anyhow::Result;
use clap::{Args, Subcommand};
use lock2build_store::Store;
use std::io::Write;
use std::process::ExitCode;

#[derive(Subcommand)]
pub(crate) enum StoreCommand {
    #[command(verbatim_doc_comment)]
    /// Check every stored source against its hash and every build output
    /// against the content hash recorded when it was built.
    ///
    /// Exits 1 when something is damaged. With --repair, damaged sources
    /// are removed (the next run fetches them again) and damaged outputs,
    /// with every output that refers to them (the next run builds them
    /// again). Outputs built before content hashes were recorded are
    /// listed as unverifiable.
    Verify(VerifyArgs),
}

#[derive(Args)]
pub(crate) struct VerifyArgs {
    /// Remove what is damaged.
    #[arg(long)]
    repair: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(command: StoreCommand, store: &Store) -> Result<ExitCode> {
    let StoreCommand::Verify(args) = command;
    let report = store.verify(args.repair)?;
    let mut stdout = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut stdout, &report)?;
        writeln!(stdout)?;
    } else {
        for d in &report.damaged {
            let action = if d.removed { " (removed)" } else { "" };
            writeln!(
                stdout,
                "damaged: {}: {}{action}",
                d.path.display(),
                d.problem
            )?;
        }
        for path in &report.unverifiable {
            writeln!(
                stdout,
                "unverifiable (no content hash recorded): {}",
                path.display()
            )?;
        }
        writeln!(
            stdout,
            "checked {} source(s) and {} output(s): {} damaged",
            report.sources,
            report.outputs,
            report.damaged.len()
        )?;
        if !report.damaged.is_empty() && !args.repair {
            writeln!(stdout, "  help: `lock2build store verify --repair` removes them; the next run fetches or builds them again")?;
        }
    }
    let broken = report.damaged.iter().any(|d| !d.removed);
    Ok(if broken {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
