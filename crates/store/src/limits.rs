//! How much an archive may unpack to: [`UnpackLimits`] and the running
//! count of one unpacking, [`UnpackBudget`].
//!
//! A 2 MiB tarball can inflate to gigabytes; an archive is stopped as soon
//! as what it has written passes an absolute size, or passes a ratio to the
//! archive's own size (above a floor, so small archives of repetitive text
//! are fine), or holds too many entries. Shared by [`unpack`](crate::unpack())
//! and the wheel installer.

use crate::unpack::UnpackError;

/// Limits of one unpacking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnpackLimits {
    /// Bytes of file content at most (`LOCK2BUILD_UNPACK_MAX_SIZE`;
    /// default 4 GiB).
    pub max_bytes: u64,
    /// Unpacked bytes per archive byte at most, once past
    /// [`ratio_floor`](Self::ratio_floor) (`LOCK2BUILD_UNPACK_MAX_RATIO`;
    /// default 100; 0 turns the check off).
    pub max_ratio: u64,
    /// Unpacked bytes below which the ratio is not checked (64 MiB).
    pub ratio_floor: u64,
    /// Entries at most (1,000,000).
    pub max_entries: u64,
}

impl Default for UnpackLimits {
    fn default() -> Self {
        UnpackLimits {
            max_bytes: 4 << 30,
            max_ratio: 100,
            ratio_floor: 64 << 20,
            max_entries: 1_000_000,
        }
    }
}

impl UnpackLimits {
    /// The defaults with `LOCK2BUILD_UNPACK_MAX_SIZE` (bytes) and
    /// `LOCK2BUILD_UNPACK_MAX_RATIO` applied (unset or empty: the default).
    pub fn from_env() -> Result<UnpackLimits, UnpackError> {
        let mut limits = UnpackLimits::default();
        if let Some(max) = env_number("LOCK2BUILD_UNPACK_MAX_SIZE")? {
            limits.max_bytes = max;
        }
        if let Some(ratio) = env_number("LOCK2BUILD_UNPACK_MAX_RATIO")? {
            limits.max_ratio = ratio;
        }
        Ok(limits)
    }
}

fn env_number(name: &'static str) -> Result<Option<u64>, UnpackError> {
    match std::env::var(name) {
        Ok(value) if value.trim().is_empty() => Ok(None),
        Ok(value) => value
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| UnpackError::BadLimit { name, value }),
        Err(_) => Ok(None),
    }
}

/// What one unpacking has written so far, against its limits.
#[derive(Debug, Clone)]
pub struct UnpackBudget {
    limits: UnpackLimits,
    archive_size: u64,
    written: u64,
    entries: u64,
}

impl UnpackBudget {
    /// A fresh count for an archive of `archive_size` bytes.
    pub fn new(limits: UnpackLimits, archive_size: u64) -> UnpackBudget {
        UnpackBudget {
            limits,
            archive_size,
            written: 0,
            entries: 0,
        }
    }

    /// Counts one more entry; why not, past the limit.
    pub fn entry(&mut self) -> Result<(), String> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(format!(
                "holds more than {} entries",
                self.limits.max_entries
            ));
        }
        Ok(())
    }

    /// Counts `n` more bytes written; why not, past a limit.
    pub fn charge(&mut self, n: u64) -> Result<(), String> {
        self.written = self.written.saturating_add(n);
        if self.written > self.limits.max_bytes {
            return Err(format!(
                "unpacks to more than {} bytes (LOCK2BUILD_UNPACK_MAX_SIZE)",
                self.limits.max_bytes
            ));
        }
        let ratio_cap = self.archive_size.saturating_mul(self.limits.max_ratio);
        if self.limits.max_ratio > 0
            && self.written > self.limits.ratio_floor
            && self.written > ratio_cap
        {
            return Err(format!(
                "unpacks to more than {} times its own {} bytes: a decompression bomb? \
                 (LOCK2BUILD_UNPACK_MAX_RATIO)",
                self.limits.max_ratio, self.archive_size
            ));
        }
        Ok(())
    }

    /// Copies `from` into `to`, counting every chunk: stops (with why) as
    /// soon as a limit is passed, so a bomb is never written out in full.
    pub fn copy(
        &mut self,
        from: &mut impl std::io::Read,
        to: &mut impl std::io::Write,
    ) -> Result<u64, CopyError> {
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0u64;
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) => return Ok(total),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(CopyError::Read(e)),
            };
            self.charge(n as u64).map_err(CopyError::Limit)?;
            let chunk = buf.get(..n).unwrap_or_default();
            to.write_all(chunk).map_err(CopyError::Write)?;
            total += n as u64;
        }
    }
}

/// Why [`UnpackBudget::copy`] stopped.
#[derive(Debug)]
pub enum CopyError {
    /// Reading the archive failed.
    Read(std::io::Error),
    /// Writing failed.
    Write(std::io::Error),
    /// A limit was passed (why).
    Limit(String),
}
