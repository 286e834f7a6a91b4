//! The overrides database: what lockfiles never say about a package. Which
//! native libraries it needs (Pillow: libjpeg, zlib, freetype, …), which
//! build tools (openssl-sys: pkg-config), which build-system requirements an
//! sdist builds with, which environment knobs make a source build use the
//! system library, which patches apply, and whether a wheel or a source
//! build is preferred; all keyed by version range.
//!
//! - [`schema`](crate::Field): the file formats (documented in
//!   `overrides/README.md`), read strictly;
//! - [`Providers`]: neutral ids (`libjpeg`, `pkg-config`) mapped to
//!   pkg-config modules, Debian packages, nixpkgs attributes, Homebrew
//!   formulae, headers, sonames and programs;
//! - [`Database`]: the community, user and project layers merged; later
//!   layers win, and [`Resolved::provenance`] says who said what;
//! - [`host_check`], [`install_command`]: is the host ready, and how to make
//!   it so;
//! - [`guess_from_log`], [`guess_from_needed`]: from a failed build's log or
//!   a wheel's `NEEDED` sonames back to ids;
//! - [`draft_override`], [`validate_layer`], [`export_patch`]: writing an
//!   override and sending it upstream as a patch.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod community;
mod database;
mod draft;
mod error;
mod export;
mod guess;
mod host;
mod layer;
mod load;
mod providers;
mod schema;
mod version_range;

pub use community::{embedded_identity, Community, CommunitySource};
pub use database::{Contribution, Database, Entry, Origin, Resolved};
pub use draft::{draft_override, package_file_path, validate_layer};
pub use error::OverrideError;
pub use export::{export_patch, ExportError};
pub use guess::{guess_from_log, guess_from_needed};
pub use host::{
    host_check, host_check_with, install_command, native_versions, HostReport, PackageManager,
};
pub use layer::{
    build_systems_requirements, community_dir, project_sources, standard_sources, user_dir,
    LayerKind, LayerSource,
};
pub use load::{normalize_name, parse_ecosystem, ECOSYSTEMS};
pub use providers::{is_valid_id, IdKind, Provider, Providers};
pub use schema::{Field, Preference};
pub use version_range::VersionRange;
