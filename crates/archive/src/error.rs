//! What can go wrong with the archive, said so the user can act.

use std::path::PathBuf;

/// An archive request or recovery that failed.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// No answer, or not one we can use.
    #[error("Software Heritage ({url}): {message}")]
    Http {
        /// The request (no token in it).
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The archive's host cannot be reached at all (remembered: the next
    /// request fails at once).
    #[error("Software Heritage: {0}")]
    Unreachable(lock2build_fetch::Unreachable),
    /// Over the rate limit, and the reset is too far away to wait for.
    #[error("Software Heritage rate limit reached ({url}); it resets in {wait_secs} s\n  help: set LOCK2BUILD_SWH_TOKEN to an archive token (1,200 requests an hour instead of 120), or try again later")]
    RateLimited {
        /// The request.
        url: String,
        /// Seconds until the reset.
        wait_secs: u64,
    },
    /// An answer that is not the documented JSON.
    #[error("Software Heritage ({url}) answered something that is not its API's JSON: {message}")]
    BadAnswer {
        /// The request.
        url: String,
        /// The parse error.
        message: String,
    },
    /// The vault could not cook the object.
    #[error("Software Heritage's vault failed to cook {swhid}: {message}")]
    VaultFailed {
        /// What was asked for.
        swhid: String,
        /// The vault's `progress_message`.
        message: String,
    },
    /// The vault took longer than allowed.
    #[error("Software Heritage's vault did not finish {swhid} within {secs} s")]
    VaultTimeout {
        /// What was asked for.
        swhid: String,
        /// The limit.
        secs: u64,
    },
    /// The archive does not hold it.
    #[error("{label}: not in Software Heritage ({tried})")]
    NotArchived {
        /// The artifact.
        label: String,
        /// What was looked up.
        tried: String,
    },
    /// A recovered tree that no recorded hash vouches for.
    #[error("{label}: Software Heritage has its tree ({swhid}), but lock2build has no tree hash recorded for this artifact to check it against; refusing it\n  help: keep `lock2build.trees.json` (written at the first good fetch) beside the lockfile, or pass --allow-unverified-archive to accept it unverified")]
    Unverified {
        /// The artifact.
        label: String,
        /// What the archive offered.
        swhid: String,
    },
    /// A recovered tree that differs from the recorded one.
    #[error("{label}: Software Heritage offered tree {got}, but the recorded tree is {expected}; refusing it, nothing was stored")]
    TreeMismatch {
        /// The artifact.
        label: String,
        /// The recorded SWHID.
        expected: String,
        /// What came back.
        got: String,
    },
    /// A cooked bundle that is not a safe archive of one tree.
    #[error("{label}: the archive's bundle is unusable: {message}; nothing was stored")]
    BadBundle {
        /// The artifact.
        label: String,
        /// What is wrong.
        message: String,
    },
    /// The exact content came back with other bytes.
    #[error("{label}: Software Heritage returned bytes that do not match the lock's hash; nothing was stored ({message})")]
    ContentMismatch {
        /// The artifact.
        label: String,
        /// The store's words.
        message: String,
    },
    /// The recorded trees file.
    #[error("`{}`: {message}\n  help: it is written by lock2build at the first good fetch; delete it to record it anew", path.display())]
    TreeFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The store.
    #[error(transparent)]
    Store(#[from] lock2build_store::StoreError),
    /// A git checkout of a recovered revision.
    #[error(transparent)]
    Git(#[from] lock2build_git::GitError),
    /// A file operation.
    #[error("{action} `{}`: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// On what.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

pub(crate) fn io_err<'a>(
    action: &'static str,
    path: &'a std::path::Path,
) -> impl FnOnce(std::io::Error) -> ArchiveError + 'a {
    move |source| ArchiveError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}
