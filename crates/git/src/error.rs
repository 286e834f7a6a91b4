//! What can go wrong with a git source, said so that the user can act.

use std::path::PathBuf;

/// A git source that could not be fetched or checked out.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The lock's commit is not a full commit id.
    #[error("{label}: the lock pins `{commit}` at {url}, which is not a full commit id\n  help: relock so that the lock records the full 40-character commit")]
    NotACommit {
        /// The package.
        label: String,
        /// The repository.
        url: String,
        /// What the lock says.
        commit: String,
    },
    /// The remote could not be reached (network, DNS, credentials).
    #[error("{label}: cannot fetch {url} (commit {commit}):\n{stderr}\n  help: check the URL and your credentials (ssh agent, ~/.netrc, a git credential helper); point a mirror at it with git's `url.<mirror>.insteadOf` or lock2build's `[mirrors]`; or run with `--offline` on a machine whose store already has this commit")]
    Unreachable {
        /// The package.
        label: String,
        /// The repository (credentials removed).
        url: String,
        /// The locked commit.
        commit: String,
        /// git's own words.
        stderr: String,
    },
    /// The remote answered, but has no such commit.
    #[error("{label}: {url} has no commit {commit} (fetched every branch and tag)\n  help: the commit may have been force-pushed away; relock against a commit the repository still has, or point a mirror that keeps it")]
    CommitMissing {
        /// The package.
        label: String,
        /// The repository.
        url: String,
        /// The locked commit.
        commit: String,
    },
    /// What git fetched is not the locked commit.
    #[error(
        "{label}: {url} gave commit {got} for the locked {commit}; refusing it, nothing was stored"
    )]
    CommitMismatch {
        /// The package.
        label: String,
        /// The repository.
        url: String,
        /// The locked commit.
        commit: String,
        /// What `rev-parse` said.
        got: String,
    },
    /// The checked-out files do not hash to the commit's tree.
    #[error("{label}: the checkout of {commit} has tree {got}, but the commit's tree is {tree}: a git filter or line-ending setting changed the files (check `core.autocrlf` and `filter.*` in your git config); nothing was stored")]
    TreeMismatch {
        /// The package.
        label: String,
        /// The commit.
        commit: String,
        /// The commit's tree id.
        tree: String,
        /// The tree of the files written.
        got: String,
    },
    /// `--offline`, and the store does not have it.
    #[error("{label}: commit {commit} of {url} is not in the store, and --offline forbids fetching it\n  help: run once without --offline")]
    Offline {
        /// The package.
        label: String,
        /// The repository.
        url: String,
        /// The locked commit.
        commit: String,
    },
    /// A subdirectory from the lock that is not inside the checkout.
    #[error("the lock names subdirectory `{subdirectory}` of commit {commit}, which {why}")]
    BadSubdirectory {
        /// The commit.
        commit: String,
        /// What the lock says.
        subdirectory: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// git itself is missing or failed unexpectedly.
    #[error("`git {args}` failed{}: {stderr}\n  help: git sources need the git command (`apt-get install git`)", dir.as_ref().map(|d| format!(" in {}", d.display())).unwrap_or_default())]
    Git {
        /// The arguments.
        args: String,
        /// Where it ran.
        dir: Option<PathBuf>,
        /// What it said.
        stderr: String,
    },
    /// The store.
    #[error(transparent)]
    Store(#[from] lock2build_store::StoreError),
    /// A file operation in the store.
    #[error("{action} `{}`: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// On what.
        path: PathBuf,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
}

pub(crate) fn io_err<'a>(
    action: &'static str,
    path: &'a std::path::Path,
) -> impl FnOnce(std::io::Error) -> GitError + 'a {
    move |source| GitError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}
