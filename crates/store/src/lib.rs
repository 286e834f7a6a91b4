//! The lock2build store: where every byte a build uses lives.
//!
//! ```text
//! <root>/                       Store::default_root(): $LOCK2BUILD_STORE, else
//!                               $XDG_CACHE_HOME/lock2build/store, else ~/.cache/lock2build/store
//!   sources/sha256-<hex>        a verified source file (read-only), named by its sha256
//!   sources/sha512-<hex>        symlink to the sha256 name (also sha1-, sha384-): lookups by
//!                               whatever hash a lockfile pins
//!   outputs/<node-id>/          a build output, named by its node identity
//!   meta/<node-id>.json         the outputs an output refers to (kept alive with it by gc)
//!   partial/<algo>-<hex>        an interrupted download, resumed by the next fetch
//!   tmp/<key>@<pid>-<n>         work in progress; renamed into place when complete
//!   locks/store.lock            shared by every open store, exclusive for gc
//!   locks/<key>.lock            one per entry being written
//!   gcroots/<hash>              symlink to a `result` link that keeps an output alive
//!   plans/<name>.json           the sources and outputs a recent plan needs
//!   logs/<node-id>.log          the build log of a node (kept while its output lives)
//!   failed/<step>-<time>/       a failed build's directories (`--keep-failed`), until gc
//!   git/                        git sources (crates/git: bare repositories, checkouts by commit)
//!   memo/app/<hash>.json        `lock2build app`'s no-op memo of a project (crates/build/src/app/noop.rs)
//! ```
//!
//! Guarantees (see `docs/store.md`): an entry appears by one `rename`, after
//! its bytes are complete (and, for sources, verified and fsynced), so a
//! crash — `kill -9` included — leaves at most junk in `tmp/`, which the next
//! [`Store::open`] removes. Writers of one entry serialise on its lock file,
//! so several processes can share a store; the second one finds the entry
//! the first one made instead of making it again.
//!
//! Also here: node identity ([`NodeId`], [`ToolchainId`]), garbage
//! collection ([`Store::gc`]) and archive unpacking with guards against
//! hostile archives ([`unpack()`]), and the one way to read what a build
//! step left behind ([`read_untrusted`], [`resolve_beneath`]: regular
//! files only, no symlink followed out, size-limited).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod canonical;
mod digest;
mod error;
mod gc;
mod identity;
mod limits;
mod lock;
mod output;
mod scratch;
mod source;
mod store;
mod unpack;
mod untrusted;
mod verify;

pub use digest::{Digests, MultiHasher};
pub use error::StoreError;
pub use gc::{GcOptions, GcReport, LiveSet, RemovedEntry, RemovedKind};
pub use identity::{
    find_in_path, probed_toolchains, remembered_probe, remembered_probe_reading, FileStamp, NodeId,
    ProbeReads, ToolchainId,
};
pub use limits::{CopyError, UnpackBudget, UnpackLimits};
pub use lock::EntryLock;
pub use output::{BuildError, BuiltOutput, OutputDirs};
pub use scratch::{discard, scratch_dir};
pub use store::{remove_any, Store};
pub use unpack::{
    single_top_dir, unpack, unpack_limited, zip_central_headers, ArchiveFormat, UnpackError,
    NORMALIZED_MTIME,
};
pub use untrusted::{
    copy_untrusted, kind_name, open_regular, open_regular_nofollow, read_tail, read_untrusted,
    read_untrusted_string, resolve_beneath, UntrustedError, ARTIFACT_LIMIT, RECORD_LIMIT,
};
pub use verify::{check_source_file, tree_hash, Damaged, VerifyReport};
