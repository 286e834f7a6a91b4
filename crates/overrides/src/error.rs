//! Problems found while loading or validating an overrides layer.

use std::fmt;
use std::path::PathBuf;

/// One problem in one overrides file: names the file, the line when known,
/// the key at fault, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct OverrideError {
    /// The file at fault (a package file, `providers.toml`, `lock2build.toml`).
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// The dotted key the problem is about, e.g. `entry[2].native`.
    pub key: Option<String>,
    /// What is wrong, in one sentence.
    pub message: String,
    /// What to do next.
    pub help: Option<String>,
}

impl OverrideError {
    /// A problem about `file` with no position.
    pub fn new(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        OverrideError {
            file: file.into(),
            line: None,
            column: None,
            key: None,
            message: message.into(),
            help: None,
        }
    }

    /// Sets the position from a byte offset into `text` (ignored when `text`
    /// is not the file's real text).
    pub fn at_offset(mut self, text: Option<&str>, offset: Option<usize>) -> Self {
        if let (Some(text), Some(offset)) = (text, offset) {
            let (line, column) = lock2build_model::line_column(text, offset);
            self.line = Some(line);
            self.column = Some(column);
        }
        self
    }

    /// Names the key at fault.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Adds what to do next.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for OverrideError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": ")?;
        if let Some(key) = &self.key {
            write!(f, "`{key}`: ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}
