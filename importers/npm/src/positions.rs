//! Line numbers of object keys in a JSON text.
//!
//! `serde_json::Value` forgets where things were; error messages want the
//! line of the package they are about. [`KeyLines::scan`] walks the text once
//! (after serde_json has accepted it) and remembers the 1-based line of:
//!
//! - every key at depth 1 or 2 (`"packages"`, `"packages"."node_modules/a"`,
//!   `"dependencies"."ms"` of a `package.json`);
//! - every key deeper down whose value is an object (the nested
//!   `dependencies` entries of a lockfileVersion 1 tree).
//!
//! A key is addressed by its path of keys from the top (array elements are
//! not addressed). On text that is not valid JSON the scan stops early and
//! keeps what it found: it never fails and never panics.

use std::borrow::Cow;
use std::collections::HashMap;

/// Separates the keys of a path in the map's keys (cannot occur in a key
/// that came from valid JSON without an escape, and escapes are decoded).
const SEPARATOR: char = '\u{0}';

/// The lines of the object keys of one JSON text.
#[derive(Debug, Default, Clone)]
pub(crate) struct KeyLines {
    lines: HashMap<String, usize>,
}

impl KeyLines {
    /// Scans `text`.
    pub(crate) fn scan(text: &str) -> KeyLines {
        let mut scanner = Scanner {
            bytes: text.as_bytes(),
            text,
            pos: 0,
            line: 1,
            joined: String::new(),
            depth: 0,
            found: HashMap::new(),
        };
        scanner.skip_whitespace();
        // A `None` only means the text ended early: keep what was found.
        let _ = scanner.value();
        KeyLines {
            lines: scanner.found,
        }
    }

    /// The line of the key at `path` (keys from the top), if it was recorded.
    pub(crate) fn line<S: AsRef<str>>(&self, path: &[S]) -> Option<usize> {
        let mut joined = String::new();
        for (i, key) in path.iter().enumerate() {
            if i > 0 {
                joined.push(SEPARATOR);
            }
            joined.push_str(key.as_ref());
        }
        self.lines.get(&joined).copied()
    }
}

struct Scanner<'a> {
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
    line: usize,
    /// The keys from the top to the value being scanned, joined by
    /// [`SEPARATOR`] (`[]` for an array element): grown and cut back as the
    /// scan goes in and out, so a key costs an allocation only when recorded.
    joined: String,
    /// How many keys `joined` holds.
    depth: usize,
    found: HashMap<String, usize>,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b'\n' => self.line += 1,
                b' ' | b'\t' | b'\r' => {}
                _ => return,
            }
            self.pos += 1;
        }
    }

    /// Skips one value starting at the current (non-blank) byte.
    fn value(&mut self) -> Option<()> {
        match self.peek()? {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => self.string_end().map(|_| ()),
            _ => {
                while let Some(b) = self.peek() {
                    if matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n') {
                        break;
                    }
                    self.pos += 1;
                }
                Some(())
            }
        }
    }

    /// Moves past a string starting at `"`; whether it has escapes. (A
    /// string holds no raw line break: JSON has none there.)
    fn string_end(&mut self) -> Option<bool> {
        self.pos += 1;
        let mut escaped = false;
        loop {
            let rest = self.bytes.get(self.pos..)?;
            self.pos += rest.iter().position(|&b| b == b'"' || b == b'\\')?;
            if self.bytes[self.pos] == b'"' {
                self.pos += 1;
                return Some(escaped);
            }
            escaped = true;
            self.pos += 2;
        }
    }

    /// Reads a string starting at `"`, returns its decoded text.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        let start = self.pos;
        let escaped = self.string_end()?;
        let raw = self.text.get(start..self.pos)?;
        if escaped {
            serde_json::from_str::<String>(raw).ok().map(Cow::Owned)
        } else {
            raw.get(1..raw.len() - 1).map(Cow::Borrowed)
        }
    }

    /// Scans the value at `key` below the current path.
    fn value_at(&mut self, key: &str) -> Option<()> {
        let before = self.joined.len();
        if self.depth > 0 {
            self.joined.push(SEPARATOR);
        }
        self.joined.push_str(key);
        self.depth += 1;
        let result = self.value();
        self.depth -= 1;
        self.joined.truncate(before);
        result
    }

    fn object(&mut self) -> Option<()> {
        self.pos += 1;
        self.skip_whitespace();
        if self.peek()? == b'}' {
            self.pos += 1;
            return Some(());
        }
        loop {
            self.skip_whitespace();
            let key_line = self.line;
            let key = self.string()?;
            self.skip_whitespace();
            if self.peek()? != b':' {
                return None;
            }
            self.pos += 1;
            self.skip_whitespace();
            if self.depth < 2 || self.peek() == Some(b'{') {
                let mut joined = self.joined.clone();
                if self.depth > 0 {
                    joined.push(SEPARATOR);
                }
                joined.push_str(&key);
                self.found.entry(joined).or_insert(key_line);
            }
            self.value_at(&key)?;
            self.skip_whitespace();
            match self.peek()? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn array(&mut self) -> Option<()> {
        self.pos += 1;
        self.skip_whitespace();
        if self.peek()? == b']' {
            self.pos += 1;
            return Some(());
        }
        loop {
            self.skip_whitespace();
            // Keys inside arrays are not addressable: scan with a marker.
            self.value_at("[]")?;
            self.skip_whitespace();
            match self.peek()? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_keys() {
        let text = "{\n  \"packages\": {\n    \"\": {\"a\": 1},\n    \"node_modules/a\": {\n      \"x\": [ {\"y\": {}} ]\n    }\n  },\n  \"dependencies\": {\"b\": {\"dependencies\": {\"c\": {}}}}\n}";
        let lines = KeyLines::scan(text);
        assert_eq!(lines.line(&["packages"]), Some(2));
        assert_eq!(lines.line(&["packages", ""]), Some(3));
        assert_eq!(lines.line(&["packages", "node_modules/a"]), Some(4));
        assert_eq!(
            lines.line(&["dependencies", "b", "dependencies", "c"]),
            Some(8)
        );
        // Scalars deeper than two levels are not recorded.
        assert_eq!(lines.line(&["packages", "", "a"]), None);
    }

    #[test]
    fn decodes_escaped_keys_and_survives_garbage() {
        let lines = KeyLines::scan("{\"a\\u0062\": {}, \"c\": ");
        assert_eq!(lines.line(&["ab"]), Some(1));
        let lines = KeyLines::scan("{\"x\\");
        assert_eq!(lines.line(&["x"]), None);
    }
}
