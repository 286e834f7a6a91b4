//! Git sources: a locked commit, fetched with the git CLI, verified, and kept
//! in the store as a read-only tree.
//!
//! ```text
//! <store>/git/db/<hash of URL>.git        bare repository, one per URL (fetch cache)
//! <store>/git/checkouts/<commit>[-sm]/    one checkout per commit (-sm: with submodules)
//!   tree/                                 the commit's files, no .git, read-only
//!   meta.json                             {"commit", "tree", "nar_sha256", "url", "submodules"}
//! ```
//!
//! [`checkout`] never fetches a branch head: it asks the remote for the
//! locked commit (falling back to fetching every branch and tag when the
//! server does not serve unadvertised commits), and refuses the result unless
//! `rev-parse <commit>^{commit}` is that commit. It then checks the commit
//! out into the store's `tmp/`, checks that the files it wrote hash to the
//! commit's tree (no smudge filter or line-ending conversion changed them),
//! records the tree's two hashes and renames the whole entry into place: a
//! crash leaves nothing half made.
//!
//! - `tree`: the git tree id of the commit, which is also the tree's
//!   Software Heritage identifier (`swh:1:dir:<tree>`);
//! - `nar_sha256`: the SRI sha256 of the tree's NAR serialisation, which is
//!   what Nix (`fetchgit`'s output hash) and Software Heritage's `nar-sha256`
//!   ExtIDs name a tree by.
//!
//! The user's git runs with the user's own configuration, so `insteadOf`
//! mirrors, credential helpers, `~/.netrc` (git's HTTP transport reads it)
//! and the ssh agent all apply; lock2build's own `[mirrors]` rewrite the URL
//! first. `GIT_TERMINAL_PROMPT=0`: a missing credential is an error, never a
//! prompt that hangs a build.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod checkout;
mod command;
mod error;
mod nar;
#[cfg(feature = "testing")]
pub mod testing;

pub use checkout::{checkout, find_checkout, Checkout, GitOptions, GitSpec};
pub use command::tree_id_of_dir;
pub use error::GitError;
pub use nar::nar_sha256;
