//! From a project directory to a plan.
//!
//! The pipeline, one module each: [`discover`] finds the lockfiles of a
//! project ([`pick`] the one `lock2build app` builds), the importer crates turn each into a graph, [`select`] picks
//! what applies to the [`target`], [`pyindex`] finds the URLs poetry.lock
//! and requirements.txt leave out, and [`plan`] writes the plan document that
//! every later step (fetch, build, shell, sources) reads.

#![forbid(unsafe_code)]

pub mod cargo_registry;
pub mod discover;
pub mod pick;
pub mod plan;
pub mod pyindex;
pub mod select;
pub mod target;
