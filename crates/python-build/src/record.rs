//! `RECORD`: the list of a wheel's files with their hashes and sizes.
//!
//! Grammar accepted (the binary distribution format spec, a CSV file as
//! Python's `csv` module writes it):
//!
//! ```text
//! record  = { line }
//! line    = field "," field "," field ( "\r\n" | "\n" | EOF )   ; blank lines are skipped
//! field   = plain | '"' { any but '"' | '""' } '"'
//! hash    = "" | algorithm "=" urlsafe-base64-without-padding  ; sha256, sha384 or sha512
//! size    = "" | decimal digits
//! ```
//!
//! Paths use `/`. Every file except `RECORD` itself (and its signatures
//! `RECORD.jws`, `RECORD.p7s`) must have a hash; md5 and sha1 are refused.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256, Sha384, Sha512};
use std::collections::BTreeMap;

/// A hash algorithm a `RECORD` may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordAlgorithm {
    /// `sha256` (what every current tool writes).
    Sha256,
    /// `sha384`.
    Sha384,
    /// `sha512`.
    Sha512,
}

impl RecordAlgorithm {
    fn parse(name: &str) -> Option<RecordAlgorithm> {
        match name {
            "sha256" => Some(RecordAlgorithm::Sha256),
            "sha384" => Some(RecordAlgorithm::Sha384),
            "sha512" => Some(RecordAlgorithm::Sha512),
            _ => None,
        }
    }

    /// A fresh hasher for this algorithm.
    pub fn hasher(self) -> RecordHasher {
        match self {
            RecordAlgorithm::Sha256 => RecordHasher::Sha256(Sha256::new()),
            RecordAlgorithm::Sha384 => RecordHasher::Sha384(Sha384::new()),
            RecordAlgorithm::Sha512 => RecordHasher::Sha512(Sha512::new()),
        }
    }
}

/// A running hash of one file.
pub enum RecordHasher {
    /// sha256.
    Sha256(Sha256),
    /// sha384.
    Sha384(Sha384),
    /// sha512.
    Sha512(Sha512),
}

impl RecordHasher {
    /// Feeds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            RecordHasher::Sha256(h) => h.update(bytes),
            RecordHasher::Sha384(h) => h.update(bytes),
            RecordHasher::Sha512(h) => h.update(bytes),
        }
    }

    /// The digest.
    pub fn finish(self) -> Vec<u8> {
        match self {
            RecordHasher::Sha256(h) => h.finalize().to_vec(),
            RecordHasher::Sha384(h) => h.finalize().to_vec(),
            RecordHasher::Sha512(h) => h.finalize().to_vec(),
        }
    }
}

/// One hashed line of a `RECORD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordEntry {
    /// The algorithm.
    pub algorithm: RecordAlgorithm,
    /// The raw digest.
    pub digest: Vec<u8>,
    /// The size in bytes, when given.
    pub size: Option<u64>,
}

/// A parsed `RECORD`: hashed entries by path, and the paths listed without
/// a hash (only `RECORD` and its signatures are allowed that).
#[derive(Debug, Default)]
pub struct Record {
    /// Path → entry.
    pub entries: BTreeMap<String, RecordEntry>,
    /// Paths listed without a hash.
    pub unhashed: Vec<String>,
}

/// Files that may be listed without a hash, relative to the `.dist-info`.
pub const UNHASHED_FILES: [&str; 3] = ["RECORD", "RECORD.jws", "RECORD.p7s"];

impl Record {
    /// Parses a `RECORD`; `dist_info` is the `.dist-info` directory name
    /// (only its `RECORD` files may be unhashed). Errors say which line.
    pub fn parse(text: &str, dist_info: &str) -> Result<Record, String> {
        let mut record = Record::default();
        for row in csv_rows(text)? {
            let line = row.line;
            let [path, hash, size] = <[String; 3]>::try_from(row.fields).map_err(|fields| {
                format!(
                    "RECORD line {}: expected 3 fields (path,hash,size), found {}",
                    line,
                    fields.len()
                )
            })?;
            if path.is_empty() {
                return Err(format!("RECORD line {line}: empty path"));
            }
            if record.entries.contains_key(&path) || record.unhashed.contains(&path) {
                return Err(format!("RECORD line {line}: `{path}` is listed twice"));
            }
            if hash.is_empty() {
                let allowed = UNHASHED_FILES
                    .iter()
                    .any(|name| path == format!("{dist_info}/{name}"));
                if !allowed {
                    return Err(format!("RECORD line {line}: `{path}` has no hash"));
                }
                record.unhashed.push(path);
                continue;
            }
            let (algorithm, encoded) = hash
                .split_once('=')
                .ok_or_else(|| format!("RECORD line {line}: malformed hash `{hash}`"))?;
            let algorithm = RecordAlgorithm::parse(algorithm).ok_or_else(|| {
                format!("RECORD line {line}: `{path}` uses hash `{algorithm}` (sha256, sha384 or sha512 required)")
            })?;
            let digest = URL_SAFE_NO_PAD
                .decode(encoded.trim_end_matches('='))
                .map_err(|e| format!("RECORD line {line}: bad digest of `{path}`: {e}"))?;
            let size =
                if size.is_empty() {
                    None
                } else {
                    Some(size.parse::<u64>().map_err(|_| {
                        format!("RECORD line {line}: bad size `{size}` of `{path}`")
                    })?)
                };
            record.entries.insert(
                path,
                RecordEntry {
                    algorithm,
                    digest,
                    size,
                },
            );
        }
        Ok(record)
    }
}

/// `sha256=<urlsafe base64, no padding>` of `bytes`, as `RECORD` writes it.
pub fn record_hash(bytes: &[u8]) -> String {
    format!("sha256={}", URL_SAFE_NO_PAD.encode(Sha256::digest(bytes)))
}

/// One `RECORD` line for `path`, quoted as Python's `csv` module would.
pub fn record_line(path: &str, hash: &str, size: Option<u64>) -> String {
    let size = size.map(|s| s.to_string()).unwrap_or_default();
    format!("{},{hash},{size}\n", csv_field(path))
}

fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

struct Row {
    line: usize,
    fields: Vec<String>,
}

/// Splits CSV text into rows of fields (quotes may span lines).
fn csv_rows(text: &str) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while chars.peek().is_some() {
        let start_line = line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        loop {
            match chars.next() {
                None => {
                    if quoted {
                        return Err(format!("RECORD line {start_line}: unterminated quote"));
                    }
                    fields.push(std::mem::take(&mut field));
                    break;
                }
                Some('"') if quoted => {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        field.push('"');
                    } else {
                        quoted = false;
                    }
                }
                Some('"') if field.is_empty() => quoted = true,
                Some(c @ ('\n' | '\r')) if quoted => {
                    if c == '\n' {
                        line += 1;
                    }
                    field.push(c);
                }
                Some(',') if !quoted => fields.push(std::mem::take(&mut field)),
                Some('\r') if chars.peek() == Some(&'\n') => {}
                Some('\n') | Some('\r') => {
                    line += 1;
                    fields.push(std::mem::take(&mut field));
                    break;
                }
                Some(c) => field.push(c),
            }
        }
        if !(fields.len() == 1 && fields.first().is_some_and(String::is_empty)) {
            rows.push(Row {
                line: start_line,
                fields,
            });
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quoted_paths_and_unhashed_record() {
        let text = "a/__init__.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\r\n\
                    \"a/we,ird\"\"name.txt\",sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n\
                    \n\
                    a-1.dist-info/RECORD,,\n";
        let record = Record::parse(text, "a-1.dist-info").unwrap();
        assert_eq!(record.entries.len(), 2);
        assert!(record.entries.contains_key("a/we,ird\"name.txt"));
        assert_eq!(record.unhashed, ["a-1.dist-info/RECORD"]);
        let empty = record.entries.get("a/__init__.py").unwrap();
        assert_eq!(empty.digest, Sha256::digest(b"").to_vec());
        assert_eq!(empty.size, Some(0));
    }

    #[test]
    fn refuses_weak_missing_and_duplicate_hashes() {
        let err = Record::parse("a.py,md5=abc,1\n", "a-1.dist-info").unwrap_err();
        assert!(err.contains("line 1") && err.contains("md5"), "{err}");
        let err = Record::parse("x,,\na.py,,\n", "a-1.dist-info").unwrap_err();
        assert!(err.contains("`x` has no hash"), "{err}");
        let line = "a.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n";
        let err = Record::parse(&format!("{line}{line}"), "a-1.dist-info").unwrap_err();
        assert!(err.contains("line 2") && err.contains("twice"), "{err}");
        let err = Record::parse("a.py,sha256=AA\n", "a-1.dist-info").unwrap_err();
        assert!(err.contains("3 fields"), "{err}");
        assert!(Record::parse("\"a.py,sha256=AA,1\n", "x").is_err());
    }

    #[test]
    fn writes_lines_python_csv_reads_back() {
        assert_eq!(
            record_line("a,b.py", &record_hash(b""), Some(0)),
            "\"a,b.py\",sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n"
        );
        let text = record_line(
            "q\"x",
            "sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU",
            Some(0),
        );
        let parsed = Record::parse(&text, "d").unwrap();
        assert!(parsed.entries.contains_key("q\"x"));
    }

    #[test]
    fn never_panics_on_mangled_input() {
        let base = "a/__init__.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n\"q,\"\"\",sha512=AAAA,12\na-1.dist-info/RECORD,,\n";
        let bytes = base.as_bytes();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..4000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut v = bytes.to_vec();
            let at = (seed as usize) % v.len();
            match i % 3 {
                0 => v.truncate(at),
                1 => v[at] = (seed >> 32) as u8,
                _ => v.insert(at, b"\",\n="[(seed >> 40) as usize % 4]),
            }
            let _ = Record::parse(&String::from_utf8_lossy(&v), "a-1.dist-info");
        }
    }
}
