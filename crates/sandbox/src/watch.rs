//! Watching a step while it runs, and keeping what a failed step leaves.
//!
//! Without a watcher a step's stdout and stderr go straight to its log
//! file. With one ([`StepWatch::on_line`]) they go into a pipe that a thread
//! reads: each chunk is appended to the log as it comes (so `tail -f` shows
//! it), and each line (split at `\n` or `\r`, cut at [`MAX_LINE`] bytes) is
//! handed to the watcher: a progress display, `-L`'s prefixed lines.
//!
//! With [`StepWatch::keep_failed`], a step that fails has its writable
//! directories moved there instead of being thrown away (see
//! [`keep_failed`]), and the log's last line says where
//! ([`KEPT_MARKER`]).

use crate::{io_err, SandboxError, SandboxSpec, SANDBOX_HOME};
use std::fmt;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

/// What receives each line a step prints (without its line end).
pub type LineObserver = Arc<dyn Fn(&str) + Send + Sync>;

/// The longest line handed to a [`LineObserver`], in bytes; the rest of
/// a longer line is still in the log.
pub const MAX_LINE: usize = 4096;

/// How the log of a failed step that was kept begins its last line,
/// followed by the directory.
pub const KEPT_MARKER: &str = "lock2build: build directory kept at ";

/// How long to wait, once the step has exited, for the rest of its output:
/// a process it left behind (only possible with `--no-sandbox`; the
/// sandbox's pid namespace dies with the step) may hold the pipe open.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// What the caller wants of a running step beyond its log.
#[derive(Clone, Default)]
pub struct StepWatch {
    /// Called with each line the step prints, from another thread.
    pub on_line: Option<LineObserver>,
    /// Where to keep the step's directories if it fails (a path that does
    /// not exist yet); `None`: they are removed as usual.
    pub keep_failed: Option<PathBuf>,
}

impl fmt::Debug for StepWatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StepWatch")
            .field("on_line", &self.on_line.is_some())
            .field("keep_failed", &self.keep_failed)
            .finish()
    }
}

/// The thread that copies a watched step's output into its log and to the
/// watcher; nothing for an unwatched step.
pub(crate) struct Tee(Option<mpsc::Receiver<()>>);

/// The step's stdout and stderr: straight into `log`, or through a pipe to
/// `log` and `on_line`.
pub(crate) fn output(
    log: &Path,
    on_line: Option<&LineObserver>,
) -> Result<(Stdio, Stdio, Tee), SandboxError> {
    let mut file = File::create(log).map_err(io_err("create", log))?;
    let Some(on_line) = on_line.cloned() else {
        let err = file.try_clone().map_err(io_err("open", log))?;
        return Ok((file.into(), err.into(), Tee(None)));
    };
    let (mut reader, writer) = std::io::pipe().map_err(io_err("create a pipe for", log))?;
    let err = writer
        .try_clone()
        .map_err(io_err("create a pipe for", log))?;
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = LineSplitter::default();
        let mut chunk = [0u8; 8192];
        while let Ok(n) = reader.read(&mut chunk) {
            if n == 0 {
                break;
            }
            // A log that cannot be written loses lines, not the build.
            let _ = file.write_all(&chunk[..n]);
            lines.feed(&chunk[..n], &mut |line| on_line(line));
        }
        lines.finish(&mut |line| on_line(line));
        let _ = done.send(());
    });
    Ok((writer.into(), err.into(), Tee(Some(finished))))
}

impl Tee {
    /// Waits (a while) for the step's last output to be written. The
    /// caller must have dropped the `Command` holding the pipe's writers.
    pub(crate) fn drain(self) {
        if let Some(finished) = self.0 {
            let _ = finished.recv_timeout(DRAIN_TIMEOUT);
        }
    }
}

/// Bytes into lines: split at `\n` and `\r` (a progress line redrawn with
/// `\r` is one line per redraw), empty lines dropped, invalid UTF-8
/// replaced, each cut at [`MAX_LINE`] bytes.
#[derive(Default)]
pub(crate) struct LineSplitter {
    line: Vec<u8>,
    /// Bytes of the current line dropped past [`MAX_LINE`].
    cut: bool,
}

impl LineSplitter {
    /// Feeds `bytes`, calling `emit` for each line they complete.
    pub(crate) fn feed(&mut self, bytes: &[u8], emit: &mut dyn FnMut(&str)) {
        for &b in bytes {
            if b == b'\n' || b == b'\r' {
                self.flush(emit);
            } else if self.line.len() < MAX_LINE {
                self.line.push(b);
            } else {
                self.cut = true;
            }
        }
    }

    /// The last line, when the output did not end with a line end.
    pub(crate) fn finish(&mut self, emit: &mut dyn FnMut(&str)) {
        self.flush(emit);
    }

    fn flush(&mut self, emit: &mut dyn FnMut(&str)) {
        if !self.line.is_empty() {
            let mut text = String::from_utf8_lossy(&self.line).into_owned();
            if self.cut {
                text.push('…');
            }
            emit(&text);
        }
        self.line.clear();
        self.cut = false;
    }
}

/// Moves what the failed step wrote into `dest`: each scratch mount at its
/// inside path (`dest/build/src`), the sandbox's private `/tmp` and `HOME`
/// (`dest/tmp`, `dest/build/home`) and the output (`dest/output`), leaving
/// out empty ones; then appends [`KEPT_MARKER`] and `dest` to the log.
/// The directories move (one rename each: they are beside `dest` in the
/// store), so the caller's cleanup of them finds nothing.
pub(crate) fn keep_failed(
    spec: &SandboxSpec,
    private: &Path,
    dest: &Path,
    log: &Path,
) -> Result<(), SandboxError> {
    let mut moves: Vec<(PathBuf, PathBuf)> = spec
        .scratch
        .iter()
        .map(|m| (m.host.clone(), relative(&m.inside)))
        .collect();
    moves.sort_by_key(|(_, rel)| rel.components().count());
    moves.push((private.join("tmp"), PathBuf::from("tmp")));
    moves.push((private.join("home"), relative(Path::new(SANDBOX_HOME))));
    moves.push((spec.output.host.clone(), PathBuf::from("output")));
    std::fs::create_dir_all(dest).map_err(io_err("create", dest))?;
    let mut notes = String::new();
    for (host, rel) in moves {
        let empty = std::fs::read_dir(&host).map_or(true, |mut d| d.next().is_none());
        let to = dest.join(&rel);
        if empty || to.exists() {
            continue;
        }
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(io_err("create", parent))?;
        }
        if let Err(e) = std::fs::rename(&host, &to) {
            notes.push_str(&format!(
                "lock2build: could not keep {} as {}: {e}\n",
                host.display(),
                to.display()
            ));
        }
    }
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(log)
        .map_err(io_err("open", log))?;
    write!(file, "\n{notes}{KEPT_MARKER}{}\n", dest.display()).map_err(io_err("write", log))
}

/// `/build/src` as `build/src`.
fn relative(inside: &Path) -> PathBuf {
    inside
        .components()
        .filter(|c| matches!(c, std::path::Component::Normal(_)))
        .collect()
}

/// The directory a failed step's log says it was kept in.
pub fn kept_dir(log_text: &str) -> Option<PathBuf> {
    log_text
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix(KEPT_MARKER))
        .map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<String> {
        let mut lines = Vec::new();
        let mut splitter = LineSplitter::default();
        for chunk in chunks {
            splitter.feed(chunk, &mut |l| lines.push(l.to_owned()));
        }
        splitter.finish(&mut |l| lines.push(l.to_owned()));
        lines
    }

    #[test]
    fn lines_split_at_newlines_and_carriage_returns_across_chunks() {
        assert_eq!(
            split(&[
                b"Compiling li",
                b"bc\r\n\nBuilding [=> ] 1/2\rBuilding [==>] 2/2\n",
                b"tail"
            ]),
            [
                "Compiling libc",
                "Building [=> ] 1/2",
                "Building [==>] 2/2",
                "tail"
            ]
        );
    }

    #[test]
    fn a_long_line_is_cut_and_invalid_utf8_replaced() {
        let long = vec![b'x'; MAX_LINE + 10];
        let lines = split(&[&long, b"\n\xff ok\n"]);
        assert_eq!(lines[0].len(), MAX_LINE + '…'.len_utf8());
        assert!(lines[0].ends_with('…'));
        assert_eq!(lines[1], "\u{fffd} ok");
    }

    #[test]
    fn the_kept_directory_is_read_from_the_log() {
        let log = format!("cc: error\n\n{KEPT_MARKER}/store/failed/lxml-1\n");
        assert_eq!(kept_dir(&log), Some(PathBuf::from("/store/failed/lxml-1")));
        assert_eq!(kept_dir("cc: error\n"), None);
    }
}
