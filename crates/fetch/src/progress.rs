//! Progress on stderr: an indicatif bar (files, bytes, rate) on a terminal,
//! one line per download otherwise.

use crate::types::{FetchedVia, ProgressMode};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

enum Display {
    Bar(ProgressBar),
    Plain,
    Quiet,
}

pub(crate) struct Progress {
    display: Display,
    files_total: usize,
    files_done: AtomicUsize,
}

impl Progress {
    /// `bytes_total`: the sum of the sizes to download, when all are known.
    pub(crate) fn new(
        mode: ProgressMode,
        files_total: usize,
        bytes_total: Option<u64>,
    ) -> Progress {
        let mode = match mode {
            ProgressMode::Auto if std::io::stderr().is_terminal() => ProgressMode::Bar,
            ProgressMode::Auto => ProgressMode::Plain,
            other => other,
        };
        let display = match mode {
            ProgressMode::Bar if files_total > 0 => {
                let (bar, template) = match bytes_total {
                    Some(total) => (
                        ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr()),
                        "{spinner} fetching [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} {msg}",
                    ),
                    None => (
                        ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
                        "{spinner} fetching {bytes} {binary_bytes_per_sec} {msg}",
                    ),
                };
                if let Ok(style) = ProgressStyle::with_template(template) {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar.enable_steady_tick(Duration::from_millis(120));
                bar.set_message(format!("0/{files_total} files"));
                Display::Bar(bar)
            }
            ProgressMode::Bar | ProgressMode::Quiet => Display::Quiet,
            ProgressMode::Plain | ProgressMode::Auto => Display::Plain,
        };
        Progress {
            display,
            files_total,
            files_done: AtomicUsize::new(0),
        }
    }

    pub(crate) fn bytes(&self, n: u64) {
        if let Display::Bar(bar) = &self.display {
            bar.inc(n);
        }
    }

    pub(crate) fn done(&self, label: &str, via: &FetchedVia, size: u64) {
        let done = self.files_done.fetch_add(1, Ordering::Relaxed) + 1;
        match &self.display {
            Display::Bar(bar) => bar.set_message(format!("{done}/{} files", self.files_total)),
            Display::Plain => {
                if let FetchedVia::Downloaded { .. } = via {
                    eprintln!(
                        "fetched {label} ({}) [{done}/{}]",
                        indicatif::HumanBytes(size),
                        self.files_total
                    );
                }
            }
            Display::Quiet => {}
        }
    }

    pub(crate) fn note(&self, line: &str) {
        match &self.display {
            Display::Bar(bar) => bar.println(line),
            Display::Plain => eprintln!("{line}"),
            Display::Quiet => {}
        }
    }

    pub(crate) fn finish(&self) {
        if let Display::Bar(bar) = &self.display {
            bar.finish_and_clear();
        }
    }
}
