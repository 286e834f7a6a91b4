//! Resource limits of a build step: processes, the size of any one file
//! written, and memory (the data segment: heap and private writable
//! mappings, so the address space V8 or rustc merely reserve is not
//! counted). Set with util-linux's `prlimit` (Essential on Debian) run
//! inside the sandbox just before the step, so the step and everything it
//! starts inherit them; a machine without `/usr/bin/prlimit` runs steps
//! without them. A step on an overlay gets them from its setup instead
//! (`setrlimit(2)` before bubblewrap starts: `overlay.rs`), one process
//! less.
//!
//! `RLIMIT_NPROC` counts every task of the user on the host (the sandbox
//! maps the same uid), threads included, so its default is generous; it is
//! there to stop a fork bomb, not to meter builds.

use std::ffi::OsString;
use std::path::Path;

/// `prlimit`, inside the sandbox and on the host alike (`/usr` is mounted).
pub const PRLIMIT: &str = "/usr/bin/prlimit";

/// Limits of one step; `None` leaves the limit as inherited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceLimits {
    /// Processes and threads of the user (`LOCK2BUILD_SANDBOX_MAX_PROCESSES`;
    /// default 16384).
    pub processes: Option<u64>,
    /// Bytes of any one file written (`LOCK2BUILD_SANDBOX_MAX_FILE_SIZE`;
    /// default 16 GiB).
    pub file_size: Option<u64>,
    /// Bytes of data segment per process (`LOCK2BUILD_SANDBOX_MAX_MEMORY`;
    /// default the machine's physical memory).
    pub memory: Option<u64>,
}

impl Default for ResourceLimits {
    fn default() -> Self {
        ResourceLimits {
            processes: Some(16384),
            file_size: Some(16 << 30),
            memory: physical_memory(),
        }
    }
}

/// A `LOCK2BUILD_SANDBOX_MAX_*` value that is neither a number nor
/// `unlimited`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}={value:?}: expected a whole number or `unlimited`")]
pub struct LimitError {
    /// The variable.
    pub name: &'static str,
    /// Its value.
    pub value: String,
}

impl ResourceLimits {
    /// No limits at all.
    pub fn none() -> ResourceLimits {
        ResourceLimits {
            processes: None,
            file_size: None,
            memory: None,
        }
    }

    /// The defaults with `LOCK2BUILD_SANDBOX_MAX_PROCESSES`,
    /// `LOCK2BUILD_SANDBOX_MAX_FILE_SIZE` and `LOCK2BUILD_SANDBOX_MAX_MEMORY`
    /// applied (a number, or `unlimited`; unset or empty keeps the default).
    pub fn from_env() -> Result<ResourceLimits, LimitError> {
        let mut limits = ResourceLimits::default();
        for (name, field) in [
            ("LOCK2BUILD_SANDBOX_MAX_PROCESSES", &mut limits.processes),
            ("LOCK2BUILD_SANDBOX_MAX_FILE_SIZE", &mut limits.file_size),
            ("LOCK2BUILD_SANDBOX_MAX_MEMORY", &mut limits.memory),
        ] {
            let Ok(value) = std::env::var(name) else {
                continue;
            };
            match value.trim() {
                "" => {}
                "unlimited" => *field = None,
                n => {
                    *field = Some(n.parse().map_err(|_| LimitError {
                        name,
                        value: value.clone(),
                    })?)
                }
            }
        }
        Ok(limits)
    }

    /// The command words that run a program under these limits
    /// (`prlimit --nproc=N … --`), each clamped to this process's hard
    /// limit (an unprivileged user cannot raise it); empty when there is
    /// nothing to set or no `prlimit`.
    pub fn command_prefix(&self) -> Vec<OsString> {
        if !Path::new(PRLIMIT).exists() {
            return Vec::new();
        }
        let mut words: Vec<OsString> = vec![PRLIMIT.into()];
        for (limit, value) in self.clamped() {
            let option = match limit {
                Limit::Processes => "--nproc",
                Limit::FileSize => "--fsize",
                Limit::Data => "--data",
            };
            words.push(format!("{option}={value}").into());
        }
        if words.len() == 1 {
            return Vec::new();
        }
        words.push("--".into());
        words
    }
}

/// A limit [`ResourceLimits`] sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limit {
    /// `RLIMIT_NPROC`.
    Processes,
    /// `RLIMIT_FSIZE`.
    FileSize,
    /// `RLIMIT_DATA`.
    Data,
}

impl ResourceLimits {
    /// The limits to set (soft and hard alike), each clamped to this
    /// process's hard limit (an unprivileged user cannot raise it).
    pub(crate) fn clamped(&self) -> Vec<(Limit, u64)> {
        let hard = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
        [
            (Limit::Processes, "Max processes", self.processes),
            (Limit::FileSize, "Max file size", self.file_size),
            (Limit::Data, "Max data size", self.memory),
        ]
        .into_iter()
        .filter_map(|(limit, row, value)| {
            let value = value?;
            Some((
                limit,
                hard_limit(&hard, row).map_or(value, |h| value.min(h)),
            ))
        })
        .collect()
    }
}

/// The hard limit in `/proc/self/limits`' row `name` (None: unlimited or
/// unknown).
fn hard_limit(limits: &str, name: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with(name))?;
    let words: Vec<&str> = line[name.len()..].split_whitespace().collect();
    words.get(1)?.parse().ok()
}

fn physical_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hard_limits_are_read_from_proc() {
        let text = "Limit                     Soft Limit           Hard Limit           Units     \n\
                    Max file size             unlimited            unlimited            bytes     \n\
                    Max processes             4096                 8192                 processes \n";
        assert_eq!(hard_limit(text, "Max processes"), Some(8192));
        assert_eq!(hard_limit(text, "Max file size"), None);
    }
}
