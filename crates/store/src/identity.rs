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

use crate::canonical::json_into;
use crate::error::StoreError;
use serde::{Deserialize, Serialize};
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
        let mut inputs: Vec<&str> = inputs.iter().map(NodeId::as_str).collect();
        inputs.sort_unstable();
        inputs.dedup();
        let mut toolchains: Vec<&ToolchainId> = toolchains.iter().collect();
        toolchains.sort();
        toolchains.dedup();
        // The document's keys, in their sorted order.
        let mut canonical = Vec::with_capacity(512);
        let identity = |e: crate::canonical::Error| StoreError::Identity(e.to_string());
        canonical.extend_from_slice(b"{\"inputs\":");
        json_into(&inputs, &mut canonical);
        canonical.extend_from_slice(b",\"name\":");
        json_into(name, &mut canonical);
        canonical.extend_from_slice(b",\"recipe\":");
        crate::canonical::write(recipe, &mut canonical).map_err(identity)?;
        canonical.extend_from_slice(b",\"target\":");
        json_into(target, &mut canonical);
        canonical.extend_from_slice(b",\"toolchains\":");
        crate::canonical::write(&toolchains, &mut canonical).map_err(identity)?;
        canonical.extend_from_slice(b",\"v\":1}");
        let digest = Sha256::digest(&canonical);
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
        let path = if binary.components().count() == 1 && !binary.is_absolute() {
            find_in_path(binary).ok_or_else(|| err("not found in PATH".to_owned()))?
        } else {
            binary.to_owned()
        };
        let resolved = std::fs::canonicalize(&path).map_err(|e| err(e.to_string()))?;
        // Run through the path as given: rustup proxies dispatch on argv[0].
        let run = || {
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
            Ok(version)
        };
        // A compiled program answers from itself: its answer is remembered
        // by its stamp. A dispatcher (a script, rustup's proxies, ccache)
        // answers from files the stamp does not cover: asked every time.
        let version = if answers_from_itself(&resolved) {
            let given = path.display().to_string();
            remembered_probe("--version", &[&resolved], &[&given], run)?
        } else {
            run()?
        };
        ToolchainId::with_version(binary, &path, version)
    }

    /// The identity of `binary` (found at `path`) whose version line the
    /// caller read itself (npm's, from its package.json: what `npm
    /// --version` prints, without starting node).
    pub fn with_version(
        binary: &Path,
        path: &Path,
        version: String,
    ) -> Result<ToolchainId, StoreError> {
        let err = |message: String| StoreError::Toolchain {
            path: binary.to_owned(),
            message,
        };
        let resolved = std::fs::canonicalize(path).map_err(|e| err(e.to_string()))?;
        let stamp = FileStamp::of(&resolved);
        let sha256 = file_sha256(&resolved).map_err(|e| err(e.to_string()))?;
        PROBED
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((resolved.clone(), stamp));
        let name = binary
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(ToolchainId {
            name,
            version,
            sha256,
            path: path.to_owned(),
        })
    }
}

/// Whether `binary` (a resolved path) is a compiled program that is not
/// one of the dispatchers known to pick another program by files or
/// variables of their own: rustup's proxies (a `rustc` that is rustup,
/// linked or copied), ccache, sccache, distcc, icecc, volta's shims.
fn answers_from_itself(binary: &Path) -> bool {
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;
    let mut magic = [0u8; 4];
    let elf = std::fs::File::open(binary)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == *b"\x7fELF";
    let name = binary.file_name().unwrap_or_default().to_string_lossy();
    let dispatcher = [
        "rustup",
        "rustup-init",
        "ccache",
        "sccache",
        "distcc",
        "icecc",
    ]
    .contains(&name.as_ref())
        || name.starts_with("volta");
    // rustup installs its proxies as hard links of itself.
    let rustup_link = match (
        std::fs::metadata(binary),
        binary.parent().map(|d| std::fs::metadata(d.join("rustup"))),
    ) {
        (Ok(a), Some(Ok(b))) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    };
    elf && !dispatcher && !rustup_link
}

/// The answer of a probe (`what`, a command's output), remembered by the
/// stamps of the files it depends on and by `words` (its arguments, the
/// path it was called by): any change to one of those files (its
/// [`FileStamp`]) asks again. The memo lives beside the toolchain hashes'
/// (`$LOCK2BUILD_CACHE/probes/`); without one, or when it is unreadable,
/// the probe runs.
pub fn remembered_probe<E>(
    what: &str,
    files: &[&Path],
    words: &[&str],
    probe: impl FnOnce() -> Result<String, E>,
) -> Result<String, E> {
    remembered_probe_in(probes_dir().as_deref(), what, files, words, probe)
}

/// `$LOCK2BUILD_CACHE/probes/`.
fn probes_dir() -> Option<PathBuf> {
    memo_dir().and_then(|d| d.parent().map(|p| p.join("probes")))
}

/// A remembered answer in `memo`, if there is a whole one.
fn read_answer(memo: &Path) -> Option<String> {
    let text = std::fs::read_to_string(memo).ok()?;
    text.strip_prefix("lock2build-probe\n").map(str::to_owned)
}

/// The memo file name of a probe: its name, its files with their stamps
/// (now), its words.
fn probe_key(what: &str, files: &[&Path], words: &[&str]) -> String {
    let mut key = format!("probe/1\0{what}");
    for file in files {
        key.push_str(&format!("\0{}\0{}", file.display(), FileStamp::of(file).0));
    }
    for word in words {
        key.push_str(&format!("\0{word}"));
    }
    hex::encode(&Sha256::digest(key.as_bytes())[..16])
}

fn remembered_probe_in<E>(
    dir: Option<&Path>,
    what: &str,
    files: &[&Path],
    words: &[&str],
    probe: impl FnOnce() -> Result<String, E>,
) -> Result<String, E> {
    let memo = dir.map(|d| d.join(probe_key(what, files, words)));
    if let Some(answer) = memo.as_deref().and_then(read_answer) {
        return Ok(answer);
    }
    let answer = probe()?;
    if let Some(memo) = memo {
        write_memo(&memo, &format!("lock2build-probe\n{answer}"));
    }
    Ok(answer)
}

/// What a probe's answer was read from, learnt from the answer itself
/// (`cargo metadata --no-deps` names the workspace's manifests and where it
/// looked for targets): files, checked by their [`FileStamp`], and
/// directories, checked by the names in them (so an edit that replaces a
/// file by renaming, as `sed -i` and editors do, keeps a directory's
/// entries, while a new `src/bin/x.rs` does not).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeReads {
    /// Files the answer depends on.
    pub files: Vec<PathBuf>,
    /// Directories whose entries (names and kinds) the answer depends on.
    pub dirs: Vec<PathBuf>,
}

/// [`remembered_probe`] for a probe whose inputs are known only from its
/// answer (`reads_of(answer)`). The last answer's reads are kept, keyed by
/// `what`, `files` and `words`; the answer is remembered under their
/// stamps and entries as they were *before* the probe ran, when the
/// probe's own answer names the same reads. An answer whose reads differ
/// from the last answer's (the first ask, a new target file) is remembered
/// under its reads' stamps taken after it, but only when `files` kept
/// their stamps and no read changed since shortly before the probe started
/// (by ctime: [`settled_before`]); a change during the probe is never
/// taken as remembered, and the next run asks again.
pub fn remembered_probe_reading<E>(
    what: &str,
    files: &[&Path],
    words: &[&str],
    reads_of: impl Fn(&str) -> ProbeReads,
    probe: impl FnOnce() -> Result<String, E>,
) -> Result<String, E> {
    let memo = probes_dir();
    let settled = SETTLED_MARGIN;
    remembered_probe_reading_in(
        memo.as_deref(),
        settled,
        what,
        files,
        words,
        reads_of,
        probe,
    )
}

fn remembered_probe_reading_in<E>(
    dir: Option<&Path>,
    settled: std::time::Duration,
    what: &str,
    files: &[&Path],
    words: &[&str],
    reads_of: impl Fn(&str) -> ProbeReads,
    probe: impl FnOnce() -> Result<String, E>,
) -> Result<String, E> {
    let Some(dir) = dir else {
        return probe();
    };
    let mut reads_key = format!("reads/1\0{what}");
    for file in files {
        reads_key.push_str(&format!("\0{}", file.display()));
    }
    for word in words {
        reads_key.push_str(&format!("\0{word}"));
    }
    let reads_memo = dir.join(hex::encode(&Sha256::digest(reads_key.as_bytes())[..16]));
    let last: ProbeReads = std::fs::read(&reads_memo)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    // Stamped before the probe runs: what changes while it runs changes
    // the key.
    let memo = dir.join(reads_answer_key(what, files, words, &last));
    if let Some(answer) = read_answer(&memo) {
        return Ok(answer);
    }
    let started = std::time::SystemTime::now();
    let stamped: Vec<FileStamp> = files.iter().map(|f| FileStamp::of(f)).collect();
    let answer = probe()?;
    let reads = reads_of(&answer);
    if reads == last {
        write_memo(&memo, &format!("lock2build-probe\n{answer}"));
    } else if let Ok(text) = serde_json::to_string(&reads) {
        write_memo(&reads_memo, &text);
        // Reads not known before: the answer is remembered under them
        // only when none of them can have changed while the probe ran;
        // otherwise the next run asks again, keyed by them.
        // The key first, then the checks: a change after the key's stamps
        // fails them (or leaves a key the next run does not find).
        let key = reads_answer_key(what, files, words, &reads);
        let files_kept = files
            .iter()
            .zip(&stamped)
            .all(|(f, s)| FileStamp::of(f) == *s);
        // A clock set back while the probe ran: times say nothing.
        let clock_forward = std::time::SystemTime::now() >= started;
        if files_kept && clock_forward && settled_before(started, settled, reads.paths()) {
            write_memo(&dir.join(key), &format!("lock2build-probe\n{answer}"));
        }
    }
    Ok(answer)
}

/// The key of a [`remembered_probe_reading`] answer: `files` and `words`,
/// and `reads` as they are now (their files' stamps, their directories'
/// entries).
fn reads_answer_key(what: &str, files: &[&Path], words: &[&str], reads: &ProbeReads) -> String {
    let mut all_files: Vec<&Path> = files.to_vec();
    all_files.extend(reads.files.iter().map(PathBuf::as_path));
    let mut all_words: Vec<String> = words.iter().map(|w| (*w).to_owned()).collect();
    all_words.push(format!("reads {}", serde_json::json!(reads)));
    all_words.extend(reads.dirs.iter().map(|d| dir_entries(d)));
    let all_words: Vec<&str> = all_words.iter().map(String::as_str).collect();
    probe_key(what, &all_files, &all_words)
}

impl ProbeReads {
    fn paths(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().chain(&self.dirs).map(PathBuf::as_path)
    }
}

/// Whether none of `paths` changed after `started` (less `margin`: file
/// times come from a clock that lags by up to a tick), by their ctime, which
/// any write, rename onto, or change of entries (a directory) sets. A path
/// that does not exist counts by its parent directory's ctime (its creation
/// or removal would have changed it); so the stamps taken after a probe
/// that started at `started` are those it saw. Only on file systems that
/// take their times from this machine's clock ([`stamped_by_this_clock`]).
fn settled_before<'a>(
    started: std::time::SystemTime,
    margin: std::time::Duration,
    paths: impl Iterator<Item = &'a Path>,
) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(since) = started.duration_since(std::time::UNIX_EPOCH) else {
        return false;
    };
    let limit = since.as_nanos().saturating_sub(margin.as_nanos());
    // Times in whole seconds (ext3, ext4 with small inodes): a change up to
    // a second later than its time says.
    let old_enough = |m: &std::fs::Metadata| {
        let ctime = i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec());
        let coarse = if m.ctime_nsec() == 0 {
            1_000_000_000
        } else {
            0
        };
        u128::try_from(ctime + coarse).is_ok_and(|c| c < limit)
    };
    // A symlink by its own time and its target's (either may be changed).
    let old = |p: &Path| {
        std::fs::symlink_metadata(p).is_ok_and(|m| old_enough(&m))
            && std::fs::metadata(p).is_ok_and(|m| old_enough(&m))
    };
    for path in paths {
        let at = match std::fs::symlink_metadata(path) {
            Ok(_) => path,
            Err(_) => match path.parent() {
                Some(parent) => parent,
                None => return false,
            },
        };
        if !(stamped_by_this_clock(at) && old(at)) {
            return false;
        }
    }
    true
}

/// Whether `path`'s file system stamps times with this machine's clock
/// (a local disk or memory file system), so they compare with
/// `SystemTime::now()`: an NFS, SMB or FUSE server's clock may lag by
/// more than any margin.
fn stamped_by_this_clock(path: &Path) -> bool {
    const LOCAL: [u32; 8] = [
        0xEF53,      // ext2/3/4
        0x5846_5342, // xfs
        0x9123_683E, // btrfs
        0x0102_1994, // tmpfs
        0x794C_7630, // overlayfs
        0x2FC1_2FC1, // zfs
        0xF2F5_2010, // f2fs
        0x5346_544E, // ntfs3
    ];
    rustix::fs::statfs(path).is_ok_and(|fs| {
        // The magic's 32 bits (`f_type` is an `int` on 32-bit glibc).
        #[allow(clippy::unnecessary_cast)]
        let kind = fs.f_type as u32;
        LOCAL.contains(&kind)
    })
}

/// How long before a probe started what it reads must have last changed
/// for its answer to be remembered at the first ask ([`settled_before`]):
/// twice the longest clock tick file times lag by (`HZ=100`: 10 ms).
const SETTLED_MARGIN: std::time::Duration = std::time::Duration::from_millis(20);

/// The names and kinds of a directory's entries, sorted (`-` when it
/// cannot be read). In a package's directory (one with a `Cargo.toml`), a
/// symlink named `result` is left out: it is the link `lock2build app`
/// makes (and replaces) in the project after the build. Elsewhere (a
/// `src/bin/result` link is a target) it counts.
fn dir_entries(dir: &Path) -> String {
    let Ok(read) = std::fs::read_dir(dir) else {
        return format!("{}\0-", dir.display());
    };
    let package = dir.join("Cargo.toml").is_file();
    let mut names: Vec<String> = read
        .flatten()
        .filter(|e| {
            let link = || e.file_type().is_ok_and(|t| t.is_symlink());
            !(package && e.file_name() == "result" && link())
        })
        .map(|e| {
            let kind = match e.file_type() {
                Ok(t) if t.is_dir() => '/',
                Ok(t) if t.is_symlink() => '@',
                _ => ' ',
            };
            format!("{}{kind}", e.file_name().to_string_lossy())
        })
        .collect();
    names.sort();
    format!("{}\0{}", dir.display(), names.join("\0"))
}

/// Writes a memo entry, best effort, whole then renamed: a reader never
/// sees half.
fn write_memo(memo: &Path, text: &str) {
    if let Some(dir) = memo.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let tmp = memo.with_extension(format!("tmp{}", std::process::id()));
    if std::fs::write(&tmp, text).is_ok() {
        let _ = std::fs::rename(&tmp, memo);
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
        write_memo(&memo, &sha256);
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
    fn a_probe_is_remembered_until_a_file_it_depends_on_changes() {
        let dir = tempfile::tempdir().unwrap();
        let memo = dir.path().join("memo");
        let tool = dir.path().join("tool");
        let config = dir.path().join("config");
        std::fs::copy("/usr/bin/true", &tool).unwrap();
        std::fs::write(&config, "a").unwrap();
        let runs = std::cell::Cell::new(0);
        let probe = |answer: &str| {
            runs.set(runs.get() + 1);
            Ok::<_, ()>(answer.to_owned())
        };
        let ask = |answer: &str| {
            remembered_probe_in(Some(&memo), "--version", &[&tool, &config], &["x"], || {
                probe(answer)
            })
            .unwrap()
        };
        assert_eq!(ask("one"), "one");
        // Remembered: the probe does not run again.
        assert_eq!(ask("two"), "one");
        assert_eq!(runs.get(), 1);
        // Another word (another argument, another path called by) asks.
        let other =
            remembered_probe_in(Some(&memo), "--version", &[&tool, &config], &["y"], || {
                probe("three")
            });
        assert_eq!(other.unwrap(), "three");
        // A changed file asks again: the binary replaced, then a file it reads.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::copy("/usr/bin/echo", &tool).unwrap();
        assert_eq!(ask("four"), "four");
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&config, "b").unwrap();
        assert_eq!(ask("five"), "five");
        assert_eq!(ask("six"), "five");
        // No memo directory: the probe runs every time.
        let fresh = remembered_probe_in(None, "--version", &[&tool], &[], || probe("seven"));
        assert_eq!(fresh.unwrap(), "seven");
        assert_eq!(runs.get(), 5);
    }

    #[test]
    fn a_probe_that_names_its_reads_is_asked_again_when_one_changes() {
        let dir = tempfile::tempdir().unwrap();
        let memo = dir.path().join("memo");
        let manifest = dir.path().join("Cargo.toml");
        let member = dir.path().join("member.toml");
        let src = dir.path().join("src");
        std::fs::create_dir(&src).unwrap();
        std::fs::write(&manifest, "a").unwrap();
        std::fs::write(&member, "m").unwrap();
        std::fs::write(src.join("main.rs"), "").unwrap();
        let runs = std::cell::Cell::new(0);
        // The answer names the member and `src/` as what it read.
        let reads = |_: &str| ProbeReads {
            files: vec![member.clone()],
            dirs: vec![src.clone()],
        };
        let ask = |answer: &str| {
            remembered_probe_reading_in(
                Some(&memo),
                SETTLED_MARGIN,
                "metadata",
                &[&manifest],
                &["w"],
                reads,
                || {
                    runs.set(runs.get() + 1);
                    Ok::<_, ()>(answer.to_owned())
                },
            )
            .unwrap()
        };
        // First: its reads are learnt, not yet its answer; then remembered.
        assert_eq!(ask("one"), "one");
        assert_eq!(ask("two"), "two");
        assert_eq!(ask("three"), "two");
        assert_eq!(runs.get(), 2);
        // A file replaced by a rename (sed -i): same entries, remembered.
        std::fs::write(src.join("main.rs.tmp"), "fn main() {}").unwrap();
        std::fs::rename(src.join("main.rs.tmp"), src.join("main.rs")).unwrap();
        assert_eq!(ask("four"), "two");
        // A new entry in a directory it read, a changed member, a changed
        // manifest: each asks again.
        std::fs::write(src.join("lib.rs"), "").unwrap();
        assert_eq!(ask("five"), "five");
        assert_eq!(ask("six"), "five");
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&member, "m2").unwrap();
        assert_eq!(ask("seven"), "seven");
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&manifest, "b").unwrap();
        assert_eq!(ask("eight"), "eight");
        assert_eq!(ask("nine"), "eight");
        assert_eq!(runs.get(), 5);
    }

    #[test]
    fn a_first_answer_is_remembered_when_its_reads_were_settled_before_it() {
        let dir = tempfile::tempdir().unwrap();
        if !stamped_by_this_clock(dir.path()) {
            eprintln!("skipped: the temporary directory's file system keeps another clock");
            return;
        }
        // Outside the package's directory, which the probe reads.
        let memo_root = tempfile::tempdir().unwrap();
        let memo = memo_root.path().join("memo");
        let (manifest, member) = (
            dir.path().join("Cargo.toml"),
            dir.path().join("member.toml"),
        );
        std::fs::create_dir(dir.path().join("src")).unwrap();
        std::fs::write(&manifest, "a").unwrap();
        std::fs::write(&member, "m").unwrap();
        let runs = std::cell::Cell::new(0);
        // The answer names the directories it read, as cargo's does.
        let reads = |answer: &str| ProbeReads {
            files: vec![member.clone()],
            dirs: std::iter::once(dir.path().to_owned())
                .chain(answer.split(',').map(|d| dir.path().join(d)))
                .collect(),
        };
        // A long margin where "just before" must not depend on the
        // scheduler (a test paused between a write and the probe).
        let margin = std::cell::Cell::new(SETTLED_MARGIN);
        let ask = |answer: &str, during: &dyn Fn()| {
            let what = "metadata";
            remembered_probe_reading_in(
                Some(&memo),
                margin.get(),
                what,
                &[&manifest],
                &[],
                reads,
                || {
                    runs.set(runs.get() + 1);
                    during();
                    Ok::<_, ()>(answer.to_owned())
                },
            )
            .unwrap()
        };
        let settle = || std::thread::sleep(SETTLED_MARGIN * 2);
        let nothing = || {};
        // Nothing written just before: the first answer is kept.
        settle();
        assert_eq!(ask("src", &nothing), "src");
        assert_eq!(ask("other", &nothing), "src");
        assert_eq!(runs.get(), 1);
        // The `result` link in the package's directory changes nothing;
        // one in `src/` (a target's name) does.
        std::os::unix::fs::symlink("/nowhere", dir.path().join("result")).unwrap();
        assert_eq!(ask("other", &nothing), "src");
        std::os::unix::fs::symlink("/nowhere", dir.path().join("src/result")).unwrap();
        assert_eq!(ask("src", &nothing), "src");
        assert_eq!(runs.get(), 2);
        // A read written just before the probe: an answer with new reads is
        // not kept; asked again, it is (as before: stamped before the probe).
        std::fs::write(&member, "m2").unwrap();
        margin.set(std::time::Duration::from_secs(600));
        assert_eq!(ask("src,tests", &nothing), "src,tests");
        margin.set(SETTLED_MARGIN);
        assert_eq!(ask("src,tests", &nothing), "src,tests");
        assert_eq!(ask("other", &nothing), "src,tests");
        assert_eq!(runs.get(), 4);
        // A read written while the probe runs, then a pause: not kept.
        std::fs::write(&manifest, "b").unwrap();
        settle();
        let touch_member = || std::fs::write(&member, "m3").unwrap();
        assert_eq!(ask("src", &touch_member), "src");
        settle();
        assert_eq!(ask("src", &nothing), "src");
        assert_eq!(runs.get(), 6);
        // A missing directory it names, made while the probe runs: not kept.
        std::fs::write(&manifest, "c").unwrap();
        settle();
        let make_tests = || std::fs::create_dir(dir.path().join("tests")).unwrap();
        assert_eq!(ask("src,tests", &make_tests), "src,tests");
        assert_eq!(ask("src,tests", &nothing), "src,tests");
        assert_eq!(runs.get(), 8);
        // A file of `files` changed while the probe runs: not kept.
        settle();
        std::fs::write(&member, "m4").unwrap();
        settle();
        let touch_manifest = || std::fs::write(&manifest, "d").unwrap();
        assert_eq!(ask("src", &touch_manifest), "src");
        assert_eq!(ask("src", &nothing), "src");
        assert_eq!(runs.get(), 10);
    }

    #[test]
    fn a_version_is_remembered_for_a_program_and_never_for_a_dispatcher() {
        assert!(answers_from_itself(Path::new("/usr/bin/true")));
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("python3");
        std::fs::write(&script, "#!/bin/sh\necho Python 3.99\n").unwrap();
        assert!(!answers_from_itself(&script), "a shim script");
        // rustup's proxies: hard links of rustup.
        let rustup = dir.path().join("rustup");
        std::fs::copy("/usr/bin/true", &rustup).unwrap();
        std::fs::hard_link(&rustup, dir.path().join("rustc")).unwrap();
        assert!(!answers_from_itself(&dir.path().join("rustc")));
        assert!(!answers_from_itself(&rustup));
        std::fs::copy("/usr/bin/true", dir.path().join("ccache")).unwrap();
        assert!(!answers_from_itself(&dir.path().join("ccache")));
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

    /// The canonical form is fixed: stores made before keep their ids.
    #[test]
    fn identity_bytes_are_fixed() {
        let recipe = serde_json::json!({
            "z": [1, -2.5, true, null, "x\"y\\\n\u{1}é"],
            "a": {"é": 1, "b": {}, "a": []},
            "kind": "npm-app/2",
        });
        let id = NodeId::compute("fixed", &recipe, &[], &[tool("1")], "linux").unwrap();
        assert_eq!(id.as_str(), "636swg7wm2uen5u7kinjicbshpdfvoql-fixed");
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
