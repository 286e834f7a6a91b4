//! The NAR hash of a directory (Nix's archive format, as `nix-hash --type
//! sha256 --base32`-less SRI).

use crate::error::{io_err, GitError};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

/// The SRI sha256 (`sha256-<base64>`) of the NAR serialisation of `dir`:
/// what Nix's `fetchgit` output hash and Software Heritage's `nar-sha256`
/// ExtIDs name a tree by.
pub fn nar_sha256(dir: &Path) -> Result<String, GitError> {
    let mut encoder = nix_nar::Encoder::new(dir).map_err(|e| GitError::Io {
        action: "serialise (NAR)",
        path: dir.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = encoder
            .read(&mut buf)
            .map_err(io_err("serialise (NAR)", dir))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(hasher.finalize())
    ))
}
