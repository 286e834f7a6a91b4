//! The Software Heritage fallback: a pinned source that has vanished from
//! its registry or its git host is recovered from the archive, and verified
//! before anything enters the store.
//!
//! When ([`fetch_or_recover`]): an artifact whose every URL failed
//! *permanently* (404, 410, a host that does not resolve) after the usual
//! retries. A 5xx or a timeout is not sent to the archive. In order:
//!
//! 1. the exact file by its locked hash, `GET /api/1/content/sha256:<hex>/raw/`
//!    (or `sha1:` for old npm locks), verified by the lock's hashes as any
//!    download;
//! 2. the unpacked tree: an ExtID lookup (`nar-sha256`, `checksum-sha256`,
//!    `checksum-sha512`, `?extid_version=1`) names a directory, the vault
//!    cooks it (`flat`), and the tree is accepted only when its SWHID equals
//!    the one lock2build recorded for that artifact at its first good fetch
//!    ([`TreeFile`], `lock2build.trees.json` beside the lockfile). A re-made
//!    tarball never claims the original's file hash: a recovered tree is
//!    stored as a tree (`<store>/trees/<file hash>/`), not as the file.
//! 3. a git commit ([`recover_git`]): its revision `swh:1:rev:<commit>` is
//!    cooked as a `git-bare` repository and checked out by
//!    `lock2build-git`, which verifies the commit and its tree.
//!
//! Anything weaker (no recorded tree) is refused, naming the artifact;
//! [`ArchiveConfig::allow_unverified`] accepts it and the store entry says
//! `"verified": false`.
//!
//! Rate limits: `X-RateLimit-Remaining` / `X-RateLimit-Reset` are read on
//! every answer; at zero (or a 429) the client waits when the reset is
//! near ([`ArchiveConfig::max_rate_wait`]), else stops, naming
//! `LOCK2BUILD_SWH_TOKEN`. Vault polling backs off from
//! [`ArchiveConfig::vault_poll`] to a minute.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod error;
mod recover;
mod status;
#[cfg(feature = "testing")]
pub mod testing;
mod trees;

pub use client::{Bundle, SaveRequest, Swh};
pub use error::ArchiveError;
pub use lock2build_fetch::ArchiveConfig;
pub use recover::{
    fetch_or_recover, find_tree, recover_git, unpack_artifact, Recovered, RecoveredVia,
};
pub use status::{archive_status, save_origins, SourceQuery, SourceStatus, StatusReport};
pub use trees::{record_trees, tree_of_archive, TreeFile, TreeRecord, TREE_FILE};
