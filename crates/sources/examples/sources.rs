//! A stand-in for `lock2build sources` over the library, for the benchmark
//! and for trying the crate alone:
//!
//! `sources [--recursive] [--offline] [--format swh|cyclonedx|spdx|urls] [-o FILE] DIR…`
//!
//! Exits 3 when some lockfile was skipped.

use lock2build_plan::plan::PlanOptions;
use lock2build_plan::pyindex::{self, IndexOptions};
use lock2build_plan::select::SelectOptions;
use lock2build_plan::target::{Target, TargetOptions};
use lock2build_sources::{collect_for, common_revision, render, Format};
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let mut recursive = false;
    let mut offline = false;
    let mut format = Format::Swh;
    let mut output: Option<PathBuf> = None;
    let mut dirs = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--recursive" | "-r" => recursive = true,
            "--offline" => offline = true,
            "--format" => format = args.next().unwrap_or_default().parse()?,
            "-o" | "--output" => output = args.next().map(PathBuf::from),
            _ => dirs.push(PathBuf::from(arg)),
        }
    }
    if dirs.is_empty() {
        dirs.push(PathBuf::from("."));
    }
    let options = PlanOptions {
        target: Target::resolve(&TargetOptions::default())?,
        select: SelectOptions::default(),
        index: IndexOptions::new(pyindex::default_cache_dir(), offline),
    };
    let report = collect_for(format, &dirs, recursive, &options);
    let text = render(&report, format, common_revision(&dirs))?;
    match output {
        Some(path) => std::fs::write(path, text)?,
        None => print!("{text}"),
    }
    eprint!("{}", report.summary());
    std::process::exit(report.exit_code());
}
