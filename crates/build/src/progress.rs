//! What a build step shows on stderr while it runs: every builder wraps
//! its sandbox runs (PEP 517 builds, cargo, npm scripts) in a
//! [`RunningStep`].
//!
//! - Up front, one line: what runs and where its log is, so `tail -f`
//!   works: `building lxml 5.2.1 (sdist) — log: <store>/logs/….log`.
//! - On a terminal: a live line per running step (one each with `-j`),
//!   redrawn every [`TICK`]: the step, how long it has run, the log's last
//!   line, cut to the terminal's width ([`status_line`]), as cargo and uv
//!   show theirs. Without a terminal (or `--progress plain`, `-v`): nothing
//!   until the end; no control characters at all.
//! - At the end: `built lxml 5.2.1 (sdist) in 12.3s`, or `lxml 5.2.1
//!   (sdist) failed after 12.3s` (the error with the log's tail follows).
//! - `-L` (`--print-build-logs`): every log line as `lxml> …`, as
//!   `nix build -L` prints them, the log file written as well.
//! - `-K` (`--keep-failed`): a failed step's directories are moved to
//!   `<store>/failed/<name>-<time>/` ([`lock2build_sandbox::StepWatch`]).
//!
//! `-q` shows none of this (with `-L`, only the log lines); styling only
//! where colors are on (`--color`, `NO_COLOR`). Nothing goes to stdout.

use anstyle::Style;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use lock2build_sandbox::{LineObserver, StepWatch};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often a live line is redrawn.
pub const TICK: Duration = Duration::from_millis(150);

/// How steps are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepDisplay {
    /// Nothing (`-q`, `--json`).
    Quiet,
    /// A line when a step starts and one when it ends.
    Plain,
    /// Those lines, and a live line per running step (a terminal).
    Live,
}

impl StepDisplay {
    /// `--progress` as the fetch bar reads it: auto is live on a terminal.
    pub fn from_mode(mode: lock2build_fetch::ProgressMode) -> StepDisplay {
        use lock2build_fetch::ProgressMode;
        let terminal = std::io::stderr().is_terminal();
        match mode {
            ProgressMode::Quiet => StepDisplay::Quiet,
            ProgressMode::Plain => StepDisplay::Plain,
            ProgressMode::Auto | ProgressMode::Bar if terminal => StepDisplay::Live,
            ProgressMode::Auto | ProgressMode::Bar => StepDisplay::Plain,
        }
    }
}

/// The steps of one command, shown on stderr. Cheap to clone.
#[derive(Clone)]
pub struct BuildProgress {
    shared: Arc<Shared>,
}

struct Shared {
    display: StepDisplay,
    /// The live lines (only with [`StepDisplay::Live`]).
    multi: Option<MultiProgress>,
    /// `-L`.
    print_logs: bool,
    /// `-K`: where failed steps are kept (`<store>/failed`).
    keep_failed: Option<PathBuf>,
    /// Whether stderr takes styling.
    color: bool,
}

impl Shared {
    /// A line on stderr, above the live lines when there are any.
    fn println(&self, line: &str) {
        match &self.multi {
            Some(multi) => {
                let _ = multi.println(line);
            }
            None => eprintln!("{line}"),
        }
    }
}

impl BuildProgress {
    /// `keep_failed`: the directory failed steps are moved into.
    pub fn new(
        display: StepDisplay,
        print_logs: bool,
        keep_failed: Option<PathBuf>,
    ) -> BuildProgress {
        let multi = (display == StepDisplay::Live)
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        let color =
            anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never;
        BuildProgress {
            shared: Arc::new(Shared {
                display,
                multi,
                print_logs,
                keep_failed,
                color,
            }),
        }
    }

    /// Starts showing a step whose output goes to `log`.
    pub fn start(&self, step: StepName, log: &Path) -> RunningStep {
        let StepName { name, label } = step;
        let shared = &self.shared;
        if shared.display != StepDisplay::Quiet {
            shared.println(&format!("building {label} — log: {}", log.display()));
        }
        let live = shared.multi.as_ref().map(|multi| Live::start(multi, label));
        RunningStep {
            shared: shared.clone(),
            name: name.to_owned(),
            label: label.to_owned(),
            started: Instant::now(),
            keep: shared.keep_failed.as_ref().map(|dir| kept_dir(dir, name)),
            live,
            done: false,
        }
    }
}

/// What a step is called.
#[derive(Debug, Clone, Copy)]
pub struct StepName<'a> {
    /// What prefixes its `-L` lines and names its kept directory (`lxml`).
    pub name: &'a str,
    /// What it builds, in its start and end lines (`lxml 5.2.1 (sdist)`).
    pub label: &'a str,
}

/// A fresh `<failed>/<name>-<unix time>[-n]`.
fn kept_dir(failed: &Path, name: &str) -> PathBuf {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    std::iter::once(format!("{safe}-{secs}"))
        .chain((2..1000).map(|n| format!("{safe}-{secs}-{n}")))
        .map(|name| failed.join(name))
        .find(|p| !p.exists())
        .unwrap_or_else(|| failed.join(format!("{safe}-{secs}-{}", std::process::id())))
}

/// A live line: the bar, the log's last line, the thread that redraws it.
struct Live {
    bar: ProgressBar,
    last: Arc<Mutex<String>>,
    stop: Arc<AtomicBool>,
    ticker: Option<std::thread::JoinHandle<()>>,
}

impl Live {
    fn start(multi: &MultiProgress, label: &str) -> Live {
        let bar = multi.add(ProgressBar::new_spinner());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
            bar.set_style(style);
        }
        let last = Arc::new(Mutex::new(String::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (ticking, seen, halt, label) =
            (bar.clone(), last.clone(), stop.clone(), label.to_owned());
        let started = Instant::now();
        let ticker = std::thread::spawn(move || {
            while !halt.load(Ordering::Relaxed) {
                // A terminal that does not say its size (0 columns) gets 80.
                let width = terminal_size::terminal_size_of(std::io::stderr())
                    .map(|(w, _)| usize::from(w.0))
                    .filter(|&w| w > 0)
                    .unwrap_or(80);
                let last = seen.lock().map(|l| l.clone()).unwrap_or_default();
                // The spinner and its space take two columns.
                ticking.set_message(status_line(
                    &label,
                    started.elapsed(),
                    &last,
                    width.saturating_sub(2),
                ));
                ticking.tick();
                std::thread::park_timeout(TICK);
            }
        });
        Live {
            bar,
            last,
            stop,
            ticker: Some(ticker),
        }
    }

    /// Stops the redrawing (the thread woken and joined, so it draws no
    /// more) before the line goes.
    fn end(&mut self, multi: Option<&MultiProgress>) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(ticker) = self.ticker.take() {
            ticker.thread().unpark();
            let _ = ticker.join();
        }
        self.bar.finish_and_clear();
        if let Some(multi) = multi {
            multi.remove(&self.bar);
        }
    }
}

/// One step running (see [`BuildProgress::start`]).
pub struct RunningStep {
    shared: Arc<Shared>,
    name: String,
    label: String,
    started: Instant,
    keep: Option<PathBuf>,
    live: Option<Live>,
    done: bool,
}

impl RunningStep {
    /// What the sandbox run needs: a line watcher when lines are shown
    /// (live or `-L`; otherwise the log is written directly, as always),
    /// and where to keep the step if it fails (`-K`).
    pub fn watch(&self) -> StepWatch {
        let last = self.live.as_ref().map(|l| l.last.clone());
        let on_line: Option<LineObserver> = match (last, self.shared.print_logs) {
            (None, false) => None,
            (last, print) => {
                let shared = self.shared.clone();
                let prefix = prefix(&self.name, shared.color);
                Some(Arc::new(move |line: &str| {
                    if let Some(last) = &last {
                        if let Ok(mut l) = last.lock() {
                            *l = line.to_owned();
                        }
                    }
                    if print {
                        let line = if shared.color {
                            line.to_owned()
                        } else {
                            plain(line)
                        };
                        shared.println(&format!("{prefix} {line}"));
                    }
                }))
            }
        };
        StepWatch {
            on_line,
            keep_failed: self.keep.clone(),
        }
    }

    /// Ends the step: its live line goes, its end line is printed.
    pub fn finish(mut self, ok: bool) {
        self.end();
        if self.shared.display == StepDisplay::Quiet {
            return;
        }
        let secs = self.started.elapsed().as_secs_f64();
        self.shared.println(&if ok {
            format!("built {} in {secs:.1}s", self.label)
        } else {
            format!("{} failed after {secs:.1}s", self.label)
        });
    }

    fn end(&mut self) {
        if let Some(mut live) = self.live.take() {
            live.end(self.shared.multi.as_ref());
        }
        self.done = true;
    }
}

impl Drop for RunningStep {
    /// A step left by an error (`?`) loses its live line.
    fn drop(&mut self) {
        if !self.done {
            self.end();
        }
    }
}

/// `lxml>`, bold where colors are on.
fn prefix(name: &str, color: bool) -> String {
    if color {
        let style = Style::new().bold();
        format!("{style}{name}>{style:#}")
    } else {
        format!("{name}>")
    }
}

/// `line` without escape sequences and control characters (a tab is a
/// space): what may go where colors are off.
pub fn plain(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                // CSI (`ESC [ … final`) or a two-character sequence.
                if chars.next_if_eq(&'[').is_some() {
                    for c in chars.by_ref() {
                        if ('\u{40}'..='\u{7e}').contains(&c) {
                            break;
                        }
                    }
                } else {
                    chars.next();
                }
            }
            '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// The live line of a step: `label [elapsed] last log line`, cut to
/// `width` columns (characters) with `…`; the log line without control
/// characters.
pub fn status_line(label: &str, elapsed: Duration, last: &str, width: usize) -> String {
    let last = plain(last);
    let last = last.trim();
    let mut line = format!("{label} [{}]", elapsed_text(elapsed));
    if !last.is_empty() {
        line.push(' ');
        line.push_str(last);
    }
    if line.chars().count() <= width {
        return line;
    }
    let mut cut: String = line.chars().take(width.saturating_sub(1)).collect();
    if width > 0 {
        cut.push('…');
    }
    cut
}

/// `8s`, `9m 04s`, `1h 02m`.
pub fn elapsed_text(elapsed: Duration) -> String {
    let s = elapsed.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, s / 60 % 60),
    }
}

/// Prints each warning on stderr (`warning:` in yellow on a terminal).
pub fn warn(warnings: &[String]) {
    let style = Style::new()
        .fg_color(Some(anstyle::AnsiColor::Yellow.into()))
        .bold();
    for w in warnings {
        anstream::eprintln!("{style}warning{style:#}: {w}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_line_shows_the_step_its_time_and_the_last_log_line() {
        let line = status_line(
            "lxml 5.2.1 (sdist)",
            Duration::from_secs(584),
            "gcc -pthread -c src/lxml/etree.c",
            80,
        );
        assert_eq!(
            line,
            "lxml 5.2.1 (sdist) [9m 44s] gcc -pthread -c src/lxml/etree.c"
        );
        assert_eq!(
            status_line("native-app 0.1.0 (cargo)", Duration::from_secs(3), "", 80),
            "native-app 0.1.0 (cargo) [3s]"
        );
    }

    #[test]
    fn the_status_line_is_cut_to_the_width_and_has_no_control_characters() {
        let last = "\u{1b}[1m\u{1b}[32m   Compiling\u{1b}[0m openssl-sys v0.9.118\tbuild";
        let line = status_line(
            "dependencies of native-app (cargo)",
            Duration::from_secs(41),
            last,
            60,
        );
        assert_eq!(line.chars().count(), 60, "{line}");
        assert_eq!(
            line,
            "dependencies of native-app (cargo) [41s] Compiling openssl-…"
        );
        let wide = status_line("x", Duration::from_secs(7200), last, 200);
        assert_eq!(wide, "x [2h 00m] Compiling openssl-sys v0.9.118 build");
        assert!(!wide.chars().any(char::is_control));
        assert_eq!(status_line("lxml", Duration::ZERO, "", 0), "");
    }

    #[test]
    fn kept_directories_are_fresh() {
        let root = tempfile::tempdir().unwrap();
        let first = kept_dir(root.path(), "@scope/pkg 1.0");
        assert!(first
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("-scope-pkg-1.0-"));
        std::fs::create_dir_all(&first).unwrap();
        let second = kept_dir(root.path(), "@scope/pkg 1.0");
        assert_ne!(first, second);
    }
}
