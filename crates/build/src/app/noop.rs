//! The no-op fast path of `lock2build app`: when nothing a build depends on
//! changed since the last successful build of the same project with the
//! same command, the last report is the answer, without planning, probing
//! a toolchain or opening the store (issue #15).
//!
//! The memo, `<store>/memo/app/<hash of project dir and out link>.json`,
//! holds a key and the report. The key is a sha256 over *stamps* (device,
//! inode, size, mtime, ctime: [`FileStamp`]), never contents, of:
//!
//! - this lock2build binary, the command line, the current directory and
//!   the environment (but for variables that only concern the terminal);
//! - every file of the project tree (what `tree_hash` covers: lockfiles,
//!   manifests, lock2build.toml, the sources), plus the build lock and the
//!   project's overrides layer; the user's overrides layer and
//!   `LOCK2BUILD_OVERRIDES`;
//! - how toolchains are found: the first `python3`, `cargo`, `rustc`,
//!   `node`, `cc`, … in `PATH` and what each resolves to, rustup's and
//!   pyenv's settings, and the version files (`rust-toolchain.toml`,
//!   `.python-version`, `.cargo/config.toml`, …) of the project's
//!   directory and its parents;
//! - the host's library and pkg-config directories (installing, removing
//!   or upgrading a library package renames files in them), and
//!   `PKG_CONFIG_PATH`'s.
//!
//! Besides the key, the memo lists the toolchain binaries the build
//! identified (`probed_toolchains`) with their stamps at the time; each must
//! be unchanged too. The result link must still point at the recorded
//! output, which must exist. A memo is written only by a run that found
//! everything built (its report is the full check's answer, given again),
//! and only when the key computed after the run equals the one computed
//! before it, so an edit made while a build runs is never taken as built. Any doubt (an unreadable file, a
//! missing memo) means the full check, which is what it always was;
//! `LOCK2BUILD_NO_MEMO=1` asks for it every time.

use super::AppReport;
use lock2build_store::{find_in_path, FileStamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The version of the memo document.
const MEMO_VERSION: u32 = 1;

/// Tools whose lookup in `PATH` decides what a build runs.
const TOOLS: &[&str] = &[
    "python3",
    "python",
    "cargo",
    "rustc",
    "rustup",
    "node",
    "npm",
    "cc",
    "c++",
    "gcc",
    "g++",
    "pkg-config",
    "git",
    "bwrap",
    "patch",
    "make",
    "uv",
    "ld",
];

/// Files in the project's directory or a parent that choose a toolchain
/// or configure one.
const VERSION_FILES: &[&str] = &[
    ".python-version",
    ".tool-versions",
    "rust-toolchain",
    "rust-toolchain.toml",
    ".cargo/config.toml",
    ".cargo/config",
    ".nvmrc",
    ".node-version",
    ".npmrc",
];

/// Variables that change nothing a build does.
const TERMINAL_VARS: &[&str] = &[
    "_",
    "OLDPWD",
    "PWD",
    "SHLVL",
    "TERM",
    "TERM_PROGRAM",
    "TERM_PROGRAM_VERSION",
    "COLORTERM",
    "COLUMNS",
    "LINES",
    "PS1",
    "PS2",
    "PROMPT_COMMAND",
    "DISPLAY",
    "WINDOWID",
    "TMUX",
    "TMUX_PANE",
    "STY",
    "NO_COLOR",
    "CLICOLOR",
    "CLICOLOR_FORCE",
    "LS_COLORS",
    "HISTFILE",
    "HISTSIZE",
    "HISTCONTROL",
    "MAIL",
    "LESS",
    "PAGER",
    "EDITOR",
    "VISUAL",
    "SSH_CLIENT",
    "SSH_CONNECTION",
    "SSH_TTY",
    "SSH_AUTH_SOCK",
    // hyperfine pads the environment by a random length at every run.
    "HYPERFINE_RANDOMIZED_ENVIRONMENT_OFFSET",
];

/// What the memo holds.
#[derive(Serialize, Deserialize)]
struct Memo {
    version: u32,
    key: String,
    toolchains: Vec<(PathBuf, FileStamp)>,
    report: AppReport,
}

/// The memo of `dir`'s builds linked at `link`.
fn memo_path(dir: &Path, link: &Path) -> Option<PathBuf> {
    let root = lock2build_store::Store::default_root().ok()?;
    let mut hasher = Sha256::new();
    hasher.update(
        std::path::absolute(dir)
            .ok()?
            .as_os_str()
            .as_encoded_bytes(),
    );
    hasher.update([0]);
    hasher.update(
        std::path::absolute(link)
            .ok()?
            .as_os_str()
            .as_encoded_bytes(),
    );
    let name = hex::encode(&hasher.finalize()[..16]);
    Some(root.join("memo/app").join(format!("{name}.json")))
}

/// `LOCK2BUILD_NO_MEMO=1`: always the full check, no memo written.
fn disabled() -> bool {
    std::env::var_os("LOCK2BUILD_NO_MEMO").is_some_and(|v| !v.is_empty() && v != "0")
}

/// The last report, if nothing it depends on changed (see the module
/// docs): `key` is [`key`] of `dir` now.
pub fn lookup(dir: &Path, link: &Path, key: Option<&str>) -> Option<AppReport> {
    let key = key?;
    let path = memo_path(dir, link)?;
    let memo: Memo = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    if memo.version != MEMO_VERSION || key != memo.key {
        return None;
    }
    if memo
        .toolchains
        .iter()
        .any(|(binary, stamp)| FileStamp::of(binary) != *stamp)
    {
        return None;
    }
    let report = memo.report;
    let linked = std::fs::read_link(link).ok()?;
    if linked != report.output || !report.output.is_dir() {
        return None;
    }
    Some(report)
}

/// Remembers `report` of a run that built and fetched nothing under the
/// key `before` (computed before the run), if the project still has that
/// key.
pub fn record(dir: &Path, link: &Path, before: Option<String>, report: &AppReport) {
    let (Some(before), Some(path)) = (before, memo_path(dir, link)) else {
        return;
    };
    // Only a run that found everything built: its report is what the
    // full check says, and what the memo answers with.
    if !report.built.is_empty() || report.downloaded > 0 {
        return;
    }
    if key(dir).as_ref() != Some(&before) {
        return;
    }
    let memo = Memo {
        version: MEMO_VERSION,
        key: before,
        toolchains: lock2build_store::probed_toolchains(),
        report: report.clone(),
    };
    let Ok(bytes) = serde_json::to_vec(&memo) else {
        return;
    };
    // Best effort, whole or not at all.
    if let Some(parent) = path.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    if std::fs::write(&tmp, bytes).is_ok() && std::fs::rename(&tmp, &path).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// The key of everything but the probed binaries, or nothing when
/// something cannot be read (or the memo is off).
pub fn key(dir: &Path) -> Option<String> {
    if disabled() {
        return None;
    }
    let mut k = Key(Sha256::new());
    k.line(&format!(
        "lock2build-noop/{MEMO_VERSION} {}",
        env!("CARGO_PKG_VERSION")
    ));
    k.stamp(&std::env::current_exe().ok()?);
    for arg in build_args(std::env::args_os().skip(1)) {
        k.bytes(arg.as_encoded_bytes());
    }
    k.bytes(std::env::current_dir().ok()?.as_os_str().as_encoded_bytes());
    let mut vars: Vec<(std::ffi::OsString, std::ffi::OsString)> = std::env::vars_os()
        .filter(|(name, _)| !TERMINAL_VARS.iter().any(|t| name == t))
        .collect();
    vars.sort();
    for (name, value) in vars {
        k.bytes(name.as_encoded_bytes());
        k.bytes(value.as_encoded_bytes());
    }
    let dir = std::path::absolute(dir).ok()?;
    k.tree(&dir, &dir, true)?;
    let layers = [
        std::env::var_os("LOCK2BUILD_OVERRIDES").map(PathBuf::from),
        lock2build_overrides::user_dir(),
        Some(dir.join(".lock2build/overrides")),
    ];
    for layer in layers.into_iter().flatten() {
        k.line(&layer.display().to_string());
        if layer.is_dir() {
            k.tree(&layer, &layer, false)?;
        }
    }
    k.toolchain_lookup(&dir);
    k.native_dirs();
    Some(hex::encode(k.0.finalize()))
}

/// The arguments but those that only change what is shown (`--json`,
/// `-q`, `-v`, `--color`, `--progress`, `-L`): a build asked for with or
/// without them is the same build.
fn build_args(args: impl Iterator<Item = std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let mut kept = Vec::new();
    let mut skip_value = false;
    for arg in args {
        if std::mem::take(&mut skip_value) {
            continue;
        }
        let text = arg.to_string_lossy();
        let display_only =
            matches!(
                text.as_ref(),
                "--json" | "-q" | "--quiet" | "--verbose" | "-L" | "--print-build-logs"
            ) || (text.len() > 1 && text.starts_with('-') && text[1..].bytes().all(|b| b == b'v'))
                || text.starts_with("--color=")
                || text.starts_with("--progress=");
        if matches!(text.as_ref(), "--color" | "--progress") {
            skip_value = true;
        } else if !display_only {
            kept.push(arg);
        }
    }
    kept
}

struct Key(Sha256);

impl Key {
    fn bytes(&mut self, b: &[u8]) {
        self.0.update((b.len() as u64).to_le_bytes());
        self.0.update(b);
    }

    fn line(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    fn stamp(&mut self, path: &Path) {
        self.bytes(path.as_os_str().as_encoded_bytes());
        self.line(&FileStamp::of(path).0);
    }

    /// Every file under `dir` (relative path, kind, stamp); in the project
    /// (`source`), what `tree_hash` covers plus the build lock.
    fn tree(&mut self, root: &Path, dir: &Path, source: bool) -> Option<()> {
        let mut entries: Vec<std::fs::DirEntry> = std::fs::read_dir(dir)
            .ok()?
            .collect::<Result<_, _>>()
            .ok()?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name();
            let name_str = name.to_string_lossy();
            let build_lock = name_str == lock2build_plan::build_lock::BUILD_LOCK_FILE;
            if source && super::skipped(&name_str) && !build_lock {
                continue;
            }
            let path = entry.path();
            let kind = entry.file_type().ok()?;
            self.bytes(path.strip_prefix(root).ok()?.as_os_str().as_encoded_bytes());
            if kind.is_dir() {
                self.line("d");
                self.tree(root, &path, source)?;
            } else if kind.is_symlink() {
                self.line("l");
                self.bytes(
                    std::fs::read_link(&path)
                        .ok()?
                        .as_os_str()
                        .as_encoded_bytes(),
                );
                self.stamp(&path);
            } else {
                self.stamp(&path);
            }
        }
        Some(())
    }

    /// Where the tools come from: each first hit in `PATH` and what it
    /// resolves to, the version managers' settings, and the version files
    /// of `dir` and its parents.
    fn toolchain_lookup(&mut self, dir: &Path) {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        for tool in TOOLS {
            let Some(found) = find_in_path(Path::new(tool)) else {
                self.line(&format!("{tool}: none"));
                continue;
            };
            self.stamp(&found);
            if let Ok(real) = std::fs::canonicalize(&found) {
                self.stamp(&real);
            }
        }
        let rustup = std::env::var_os("RUSTUP_HOME")
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".rustup")));
        let pyenv = std::env::var_os("PYENV_ROOT")
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".pyenv")));
        let cargo_home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".cargo")));
        for file in [
            rustup.as_ref().map(|r| r.join("settings.toml")),
            rustup.as_ref().map(|r| r.join("toolchains")),
            pyenv.as_ref().map(|p| p.join("version")),
            pyenv.as_ref().map(|p| p.join("versions")),
            cargo_home.as_ref().map(|c| c.join("config.toml")),
            cargo_home.as_ref().map(|c| c.join("config")),
            home.as_ref().map(|h| h.join(".npmrc")),
        ]
        .into_iter()
        .flatten()
        {
            self.stamp(&file);
        }
        for ancestor in dir.ancestors() {
            for name in VERSION_FILES {
                self.stamp(&ancestor.join(name));
            }
        }
    }

    /// The directories a library or `.pc` file lands in.
    fn native_dirs(&mut self) {
        let multiarch = format!("{}-linux-gnu", std::env::consts::ARCH);
        let mut dirs: Vec<PathBuf> = [
            format!("/usr/lib/{multiarch}"),
            format!("/usr/lib/{multiarch}/pkgconfig"),
            format!("/lib/{multiarch}"),
            "/usr/lib".into(),
            "/usr/lib/pkgconfig".into(),
            "/usr/share/pkgconfig".into(),
            "/usr/local/lib".into(),
            "/usr/local/lib/pkgconfig".into(),
            "/usr/include".into(),
            "/usr/local/include".into(),
        ]
        .into_iter()
        .map(PathBuf::from)
        .collect();
        if let Some(extra) = std::env::var_os("PKG_CONFIG_PATH") {
            dirs.extend(std::env::split_paths(&extra));
        }
        for dir in dirs {
            self.stamp(&dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        build_args(list.iter().map(std::ffi::OsString::from))
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn display_flags_do_not_make_another_build() {
        assert_eq!(
            args(&[
                "app",
                "--json",
                "-vv",
                "--color",
                "never",
                "-q",
                "--progress=plain",
                "-L"
            ]),
            ["app"]
        );
        assert_eq!(
            args(&["app", "--features", "shout", "-C", "dir", "--no-sandbox"]),
            ["app", "--features", "shout", "-C", "dir", "--no-sandbox"]
        );
    }
}
