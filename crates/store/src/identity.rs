//! Node identity: what a build output is named by.
//!
//! A node's identity is the sha256 of the canonical JSON (object keys
//! sorted, no spaces) of
//! `{"v":1,"name":…,"recipe":…,"inputs":[…],"toolchains":[…],"target":…}`,
//! with inputs sorted and deduplicated and toolchains sorted. It is printed
//! as 32 characters of lowercase base32 (160 bits) followed by the node's
//! name: `3ka9…-flask-3.0.3`. Equal inputs give equal identities on any
//! machine; any change to the recipe, an input, a toolchain or the target
//! gives a new one, hence a rebuild.

use crate::error::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The identity of a build node (also its directory name in `outputs/`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NodeId(String);

/// Length of the hash part of a [`NodeId`].
const HASH_CHARS: usize = 32;

impl NodeId {
    /// Computes the identity of a node.
    pub fn compute(
        name: &str,
        recipe: &impl Serialize,
        inputs: &[NodeId],
        toolchains: &[ToolchainId],
        target: &str,
    ) -> Result<NodeId, StoreError> {
        let recipe =
            serde_json::to_value(recipe).map_err(|e| StoreError::Identity(e.to_string()))?;
        let mut inputs: Vec<&str> = inputs.iter().map(NodeId::as_str).collect();
        inputs.sort_unstable();
        inputs.dedup();
        let mut toolchains: Vec<&ToolchainId> = toolchains.iter().collect();
        toolchains.sort();
        toolchains.dedup();
        let toolchains =
            serde_json::to_value(toolchains).map_err(|e| StoreError::Identity(e.to_string()))?;
        let doc = serde_json::json!({
            "v": 1,
            "name": name,
            "recipe": recipe,
            "inputs": inputs,
            "toolchains": toolchains,
            "target": target,
        });
        let mut canonical = String::new();
        write_canonical(&doc, &mut canonical);
        let digest = Sha256::digest(canonical.as_bytes());
        let mut id = base32(digest.get(..20).unwrap_or_default());
        let name = sanitize_name(name);
        if !name.is_empty() {
            id.push('-');
            id.push_str(&name);
        }
        Ok(NodeId(id))
    }

    /// Reads an identity printed by [`NodeId::compute`] (for example from a
    /// plan or a directory name).
    pub fn parse(s: &str) -> Result<NodeId, StoreError> {
        let (hash, name) = match s.split_at_checked(HASH_CHARS) {
            Some((hash, rest)) => (hash, rest),
            None => {
                return Err(StoreError::Identity(format!(
                    "`{s}` is too short for a node id"
                )))
            }
        };
        let hash_ok = hash
            .bytes()
            .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b));
        let name_ok = name.is_empty()
            || (name.starts_with('-')
                && sanitize_name(name.get(1..).unwrap_or_default())
                    == name.get(1..).unwrap_or_default());
        if hash_ok && name_ok {
            Ok(NodeId(s.to_owned()))
        } else {
            Err(StoreError::Identity(format!(
                "`{s}` is not a node id (32 base32 characters, then `-name`)"
            )))
        }
    }

    /// The printed identity.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hash part alone.
    pub fn hash_part(&self) -> &str {
        self.0.get(..HASH_CHARS).unwrap_or(&self.0)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for NodeId {
    type Error = StoreError;
    fn try_from(s: String) -> Result<Self, StoreError> {
        NodeId::parse(&s)
    }
}

impl From<NodeId> for String {
    fn from(id: NodeId) -> String {
        id.0
    }
}

/// Keeps `[A-Za-z0-9._+-]`, replaces anything else by `_`, at most 64 bytes.
fn sanitize_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._+-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect()
}

/// RFC 4648 base32, lowercase, no padding.
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = String::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// JSON with object keys sorted and no whitespace (serde_json's own
/// escaping for strings and numbers).
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(key) {
                    write_canonical(v, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The identity of a host toolchain binary (python3, node, cargo, cc):
/// what it says its version is, and the sha256 of the file it resolves to.
/// Both go into the identity of every node built with it, so upgrading the
/// toolchain rebuilds.
///
/// For a rustup proxy (`~/.cargo/bin/cargo`) the binary is rustup itself,
/// so the version line is what tells toolchains apart.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ToolchainId {
    /// The command name (`python3`).
    pub name: String,
    /// The first line `<binary> --version` prints.
    pub version: String,
    /// sha256 (hex) of the resolved binary.
    pub sha256: String,
    /// Where the binary was found (not part of the identity's meaning, but
    /// recorded so users can see what was probed).
    pub path: PathBuf,
}

impl ToolchainId {
    /// Identifies `binary`: a path, or a bare name looked up in `PATH`.
    pub fn probe(binary: &Path) -> Result<ToolchainId, StoreError> {
        let err = |message: String| StoreError::Toolchain {
            path: binary.to_owned(),
            message,
        };
        let (path, sha256) = Self::hashed(binary)?;
        // Run through the path as given: rustup proxies dispatch on argv[0].
        let output = Command::new(&path)
            .arg("--version")
            .output()
            .map_err(|e| err(format!("cannot run `--version`: {e}")))?;
        let text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let version = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or_default()
            .to_owned();
        if !output.status.success() || version.is_empty() {
            return Err(err(format!("`--version` failed ({})", output.status)));
        }
        let name = binary
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(ToolchainId {
            name,
            version,
            sha256,
            path,
        })
    }
}

impl ToolchainId {
    /// Identifies `binary` as [`probe`](Self::probe) does, with the
    /// version its `--version` would print known without running it (npm's
    /// is its package.json's: its `--version` is a node start-up).
    pub fn with_version(binary: &Path, version: String) -> Result<ToolchainId, StoreError> {
        let (path, sha256) = Self::hashed(binary)?;
        Ok(ToolchainId {
            name: binary
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            version,
            sha256,
            path,
        })
    }

    /// `binary` found (in `PATH` for a bare name) and its resolved file
    /// hashed, and recorded in [`probed_toolchains`].
    fn hashed(binary: &Path) -> Result<(PathBuf, String), StoreError> {
        let err = |message: String| StoreError::Toolchain {
            path: binary.to_owned(),
            message,
        };
        let path = if binary.components().count() == 1 && !binary.is_absolute() {
            find_in_path(binary).ok_or_else(|| err("not found in PATH".to_owned()))?
        } else {
            binary.to_owned()
        };
        let resolved = std::fs::canonicalize(&path).map_err(|e| err(e.to_string()))?;
        let stamp = FileStamp::of(&resolved);
        let sha256 = file_sha256(&resolved).map_err(|e| err(e.to_string()))?;
        PROBED
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((resolved, stamp));
        Ok((path, sha256))
    }
}

/// The binaries [`ToolchainId::probe`] identified in this process, each
/// with its stamp when it was hashed.
static PROBED: std::sync::Mutex<Vec<(PathBuf, FileStamp)>> = std::sync::Mutex::new(Vec::new());

/// The binaries identified by [`ToolchainId::probe`] so far in this
/// process (resolved paths), with their stamps when they were hashed: what
/// a memo of a build must see unchanged to trust the build's toolchains.
pub fn probed_toolchains() -> Vec<(PathBuf, FileStamp)> {
    let mut probed = PROBED.lock().unwrap_or_else(|e| e.into_inner()).clone();
    probed.sort();
    probed.dedup();
    probed
}

/// What tells a file's versions apart without reading it: device, inode,
/// size, mtime and ctime (any write or rename onto it changes the ctime).
/// `"-"` for a file that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FileStamp(pub String);

impl FileStamp {
    /// The stamp of `path` (following symlinks).
    pub fn of(path: &Path) -> FileStamp {
        use std::os::unix::fs::MetadataExt;
        FileStamp(match std::fs::metadata(path) {
            Ok(m) => format!(
                "{}:{}:{}:{}.{}:{}.{}",
                m.dev(),
                m.ino(),
                m.size(),
                m.mtime(),
                m.mtime_nsec(),
                m.ctime(),
                m.ctime_nsec()
            ),
            Err(_) => "-".to_owned(),
        })
    }
}

/// sha256 of a file, remembered per file: a toolchain binary is hashed
/// once, not at every run (node is ~100 MB). The memo is keyed by the
/// file's path, device, inode, size, mtime and ctime; any write to the file
/// changes its ctime, so a changed binary is hashed again. The memo lives in
/// `$LOCK2BUILD_CACHE/toolchains/` (else `~/.cache/lock2build/`); without
/// one, or when it is unreadable, the file is hashed.
fn file_sha256(file: &Path) -> std::io::Result<String> {
    file_sha256_memo(file, memo_dir().as_deref())
}

fn file_sha256_memo(file: &Path, memo_dir: Option<&Path>) -> std::io::Result<String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(file)?;
    let key = format!(
        "{}\0{}\0{}\0{}\0{}.{}\0{}.{}",
        file.display(),
        meta.dev(),
        meta.ino(),
        meta.size(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime(),
        meta.ctime_nsec()
    );
    let memo = memo_dir.map(|d| d.join(hex::encode(&Sha256::digest(key.as_bytes())[..16])));
    if let Some(memo) = &memo {
        if let Ok(text) = std::fs::read_to_string(memo) {
            if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Ok(text);
            }
        }
    }
    let mut hasher = Sha256::new();
    std::io::copy(&mut std::fs::File::open(file)?, &mut hasher)?;
    let sha256 = hex::encode(hasher.finalize());
    if let Some(memo) = memo {
        // Best effort, written whole then renamed: a reader never sees half.
        if let Some(dir) = memo.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let tmp = memo.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, &sha256).is_ok() {
            let _ = std::fs::rename(&tmp, &memo);
        }
    }
    Ok(sha256)
}

fn memo_dir() -> Option<PathBuf> {
    let base = match std::env::var_os("LOCK2BUILD_CACHE") {
        Some(dir) => PathBuf::from(dir),
        None => match std::env::var_os("XDG_CACHE_HOME") {
            Some(dir) => PathBuf::from(dir).join("lock2build"),
            None => PathBuf::from(std::env::var_os("HOME")?).join(".cache/lock2build"),
        },
    };
    Some(base.join("toolchains"))
}

/// The first executable `name` in `PATH`.
pub fn find_in_path(name: &Path) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(candidate)
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(version: &str) -> ToolchainId {
        ToolchainId {
            name: "cc".into(),
            version: version.into(),
            sha256: "00".into(),
            path: "/usr/bin/cc".into(),
        }
    }

    #[test]
    fn a_file_hash_is_remembered_until_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let memo = dir.path().join("memo");
        let file = dir.path().join("tool");
        std::fs::write(&file, b"version one").unwrap();
        let sha = |bytes: &[u8]| hex::encode(Sha256::digest(bytes));
        assert_eq!(
            file_sha256_memo(&file, Some(&memo)).unwrap(),
            sha(b"version one")
        );
        assert_eq!(std::fs::read_dir(&memo).unwrap().count(), 1);
        // Remembered: a forged memo entry is what comes back.
        let entry = std::fs::read_dir(&memo)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        std::fs::write(&entry, "a".repeat(64)).unwrap();
        assert_eq!(
            file_sha256_memo(&file, Some(&memo)).unwrap(),
            "a".repeat(64)
        );
        // Rewritten (same size): its ctime moves, it is hashed again.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&file, b"version two").unwrap();
        assert_eq!(
            file_sha256_memo(&file, Some(&memo)).unwrap(),
            sha(b"version two")
        );
        // No memo directory: hashed every time.
        assert_eq!(file_sha256_memo(&file, None).unwrap(), sha(b"version two"));
    }

    #[test]
    fn identity_is_stable_and_sensitive() {
        let recipe = serde_json::json!({"kind": "wheel", "b": 1, "a": [1, 2]});
        let a = NodeId::compute("flask 3.0.3", &recipe, &[], &[tool("1")], "x86_64-linux").unwrap();
        assert_eq!(a.as_str().len(), 32 + 1 + "flask_3.0.3".len());
        assert!(a.as_str().ends_with("-flask_3.0.3"));
        // Key order does not matter.
        let reordered = serde_json::json!({"a": [1, 2], "b": 1, "kind": "wheel"});
        assert_eq!(
            a,
            NodeId::compute("flask 3.0.3", &reordered, &[], &[tool("1")], "x86_64-linux").unwrap()
        );
        // Everything else does.
        let dep = NodeId::compute("dep", &1, &[], &[], "t").unwrap();
        let variants = [
            NodeId::compute(
                "flask 3.0.3",
                &serde_json::json!({"kind": "sdist"}),
                &[],
                &[tool("1")],
                "x86_64-linux",
            ),
            NodeId::compute(
                "flask 3.0.3",
                &recipe,
                std::slice::from_ref(&dep),
                &[tool("1")],
                "x86_64-linux",
            ),
            NodeId::compute("flask 3.0.3", &recipe, &[], &[tool("2")], "x86_64-linux"),
            NodeId::compute("flask 3.0.3", &recipe, &[], &[tool("1")], "aarch64-linux"),
        ];
        for v in variants {
            assert_ne!(v.unwrap(), a);
        }
        // Input order does not matter.
        let dep2 = NodeId::compute("dep2", &1, &[], &[], "t").unwrap();
        assert_eq!(
            NodeId::compute("x", &1, &[dep.clone(), dep2.clone()], &[], "t").unwrap(),
            NodeId::compute("x", &1, &[dep2, dep], &[], "t").unwrap()
        );
        assert_eq!(NodeId::parse(a.as_str()).unwrap(), a);
        assert!(NodeId::parse("../../etc").is_err());
        assert!(NodeId::parse(&format!("{}-a/b", a.hash_part())).is_err());
    }

    #[test]
    fn base32_known_values() {
        assert_eq!(base32(b"foobar"), "mzxw6ytboi");
        assert_eq!(base32(b""), "");
    }

    #[test]
    fn probes_a_real_binary() {
        let id = ToolchainId::probe(Path::new("cargo")).unwrap();
        assert_eq!(id.name, "cargo");
        assert!(id.version.starts_with("cargo "), "{}", id.version);
        assert_eq!(id.sha256.len(), 64);
        assert!(ToolchainId::probe(Path::new("no-such-tool-l2b")).is_err());
    }
}
