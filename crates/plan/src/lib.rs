//! From a project directory to a plan.
//!
//! The pipeline, one module each: [`discover`] finds the lockfiles of a
//! project ([`pick`] the one `lock2build app` builds), the importer crates turn each into a graph, [`select`] picks
//! what applies to the [`target`], [`pyindex`] finds the URLs poetry.lock
//! and requirements.txt leave out, [`cargo_index`] reads locked crates'
//! registry index entries, [`manifest_platform`] the platform packages
//! only a package.json names, and [`plan`] writes the plan document that
//! every later step (fetch, build, shell, sources) reads.

#![forbid(unsafe_code)]

pub mod build_lock;
pub mod cargo_index;
pub mod cargo_registry;
pub mod discover;
pub mod manifest_platform;
pub mod pick;
pub mod plan;
pub mod pyindex;
pub mod select;
pub mod target;
