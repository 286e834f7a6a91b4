//! Physical lines to logical lines, the way pip reads a requirements file:
//!
//! 1. a line ending in `\` continues on the next line (the `\` is dropped);
//!    a comment line ends a continuation;
//! 2. a `#` at the start of a line or after whitespace starts a comment that
//!    runs to the end of the logical line (`#sha256=` in a URL is kept);
//! 3. blank logical lines are skipped.
//!
//! The comments pip-compile and uv write after each requirement are read
//! on the way: `# via a` or `# via` followed by `#   a` lines name the
//! packages (or `-r file`) that asked for it.

/// One logical line: a requirement or an option line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogicalLine {
    /// The text with continuations joined and the comment removed, trimmed.
    pub text: String,
    /// 1-based number of its first physical line.
    pub line: usize,
    /// Where each physical line starts inside `text`: `(offset, line)`.
    segments: Vec<(usize, usize)>,
    /// Names from the `# via` annotation that follows it.
    pub via: Vec<String>,
}

impl LogicalLine {
    /// The physical line holding byte `offset` of `text`.
    pub fn line_at(&self, offset: usize) -> usize {
        self.segments
            .iter()
            .take_while(|(start, _)| *start <= offset)
            .last()
            .map_or(self.line, |&(_, line)| line)
    }
}

/// A logical line being assembled from physical lines.
struct Pending {
    text: String,
    line: usize,
    segments: Vec<(usize, usize)>,
}

impl Pending {
    fn new(line: usize) -> Self {
        Pending {
            text: String::new(),
            line,
            segments: Vec::new(),
        }
    }

    fn push(&mut self, physical: &str, line: usize) {
        self.segments.push((self.text.len(), line));
        self.text.push_str(physical);
    }

    /// Strips the comment; `None` for a line with nothing left.
    fn finish(self) -> Option<LogicalLine> {
        let end = comment_start(&self.text).unwrap_or(self.text.len());
        let kept = self.text.get(..end).unwrap_or_default();
        let leading = kept.len() - kept.trim_start().len();
        let text = kept.trim();
        if text.is_empty() {
            return None;
        }
        let segments = self
            .segments
            .into_iter()
            .map(|(offset, line)| (offset.saturating_sub(leading), line))
            .collect();
        Some(LogicalLine {
            text: text.to_owned(),
            line: self.line,
            segments,
            via: Vec::new(),
        })
    }
}

/// Byte offset of a `#` that starts a comment: at the start or after
/// whitespace.
fn comment_start(text: &str) -> Option<usize> {
    let mut previous_is_space = true;
    for (i, c) in text.char_indices() {
        if c == '#' && previous_is_space {
            return Some(i);
        }
        previous_is_space = c.is_whitespace();
    }
    None
}

/// Splits a requirements file into logical lines.
pub(crate) fn logical_lines(text: &str) -> Vec<LogicalLine> {
    let mut out: Vec<LogicalLine> = Vec::new();
    let mut pending: Option<Pending> = None;
    let mut in_via_list = false;
    for (i, physical) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = physical.trim_start();
        if let Some(comment) = trimmed.strip_prefix('#') {
            if let Some(done) = pending.take().and_then(Pending::finish) {
                out.push(done);
            }
            in_via_list = read_via(comment, in_via_list, out.last_mut());
            continue;
        }
        in_via_list = false;
        let current = pending.get_or_insert_with(|| Pending::new(line));
        match physical.strip_suffix('\\') {
            Some(continued) => current.push(continued, line),
            None => {
                current.push(physical, line);
                if let Some(done) = pending.take().and_then(Pending::finish) {
                    out.push(done);
                }
            }
        }
    }
    if let Some(done) = pending.and_then(Pending::finish) {
        out.push(done);
    }
    out
}

/// Reads one comment line (without its `#`) as part of a `via` annotation
/// for `last`. Returns whether a `# via` list is open after it.
fn read_via(comment: &str, in_list: bool, last: Option<&mut LogicalLine>) -> bool {
    let content = comment.trim();
    let Some(last) = last else { return false };
    if content == "via" {
        return true;
    }
    if let Some(rest) = content.strip_prefix("via ") {
        last.via.extend(
            rest.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty()),
        );
        return false;
    }
    if in_list && comment.starts_with("   ") && !content.is_empty() {
        last.via.push(content.to_owned());
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_continuations_and_strips_comments() {
        let text = "# header\n\na==1 \\\n    --hash=sha256:00 \\\n    --hash=sha256:11\n    # via b\nc @ https://x/c.whl#sha256=22 # note\n";
        let lines = logical_lines(text);
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0].text,
            "a==1     --hash=sha256:00     --hash=sha256:11"
        );
        assert_eq!(lines[0].line, 3);
        assert_eq!(lines[0].via, ["b"]);
        let second_hash = lines[0].text.rfind("--hash").unwrap();
        assert_eq!(lines[0].line_at(second_hash), 5);
        assert_eq!(lines[0].line_at(0), 3);
        assert_eq!(lines[1].text, "c @ https://x/c.whl#sha256=22");
        assert_eq!(lines[1].line, 7);
    }

    #[test]
    fn via_lists_and_comment_inside_continuation() {
        let text = "m==1\n    # via\n    #   flask\n    #   -r requirements.in\nn==2 \\\n# stops here\n--hash=sha256:00\n";
        let lines = logical_lines(text);
        assert_eq!(lines[0].via, ["flask", "-r requirements.in"]);
        assert_eq!(lines[1].text, "n==2");
        assert_eq!(lines[2].text, "--hash=sha256:00");
        assert_eq!(lines[2].line, 7);
    }
}
