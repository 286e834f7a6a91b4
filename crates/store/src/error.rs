//! Errors of the store.

use lock2build_model::Hash;
use std::path::PathBuf;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file system operation failed.
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        /// What was being done ("create", "rename", ...).
        action: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Bytes offered to the store do not have the hash the lockfile pinned.
    #[error("hash mismatch: expected {expected}, got {actual}")]
    HashMismatch {
        /// The pinned hash.
        expected: Hash,
        /// The hash of the bytes, same algorithm.
        actual: Hash,
    },
    /// None of the hashes is one the store can verify (md5 alone is not
    /// trusted).
    #[error("no trusted hash to verify against (got: {0}); the lockfile must pin sha1, sha256, sha384 or sha512")]
    NoTrustedHash(String),
    /// A build run by [`crate::Store::build_output`] failed.
    #[error("building {node} failed: {source}")]
    Build {
        /// The node being built.
        node: String,
        /// What the builder reported.
        #[source]
        source: crate::BuildError,
    },
    /// A node identity could not be computed or read.
    #[error("invalid node identity: {0}")]
    Identity(String),
    /// A toolchain binary could not be identified.
    #[error("cannot identify the toolchain `{}`: {message}", path.display())]
    Toolchain {
        /// The binary.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The store location could not be determined.
    #[error("cannot find a place for the store: set LOCK2BUILD_STORE, XDG_CACHE_HOME or HOME")]
    NoRoot,
}

/// Wraps an `io::Error` with what was done to which path.
pub(crate) fn io_err(
    action: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.into();
    move |source| StoreError::Io {
        action,
        path,
        source,
    }
}
