//! Where overrides come from, lowest priority first:
//!
//! 1. **community**: the `overrides/` directory of the lock2build repository,
//!    built into the binary (`$LOCK2BUILD_OVERRIDES` when set, see
//!    [`Community`]);
//! 2. **user**: `$XDG_CONFIG_HOME/lock2build/overrides` (default
//!    `~/.config/lock2build/overrides`), see [`user_dir`];
//! 3. **project**: `<project>/.lock2build/overrides/`, then the
//!    `[overrides]` table of `<project>/lock2build.toml`, see
//!    [`project_sources`].
//!
//! A layer directory has the community layout: `providers.toml` (optional
//! outside the community layer), `pypi/<name>.toml`, `npm/<name>.toml`
//! (`npm/@scope/<name>.toml` for scoped packages), `crates/<name>.toml`.
//!
//! The `[overrides]` table of `lock2build.toml` holds the same data inline:
//!
//! ```toml
//! [overrides.pypi.pillow]          # one entry; `versions` defaults to "*"
//! native = ["libavif"]
//!
//! [[overrides.crates.openssl-sys.entry]]   # or a list of entries
//! versions = "<0.9.80"
//! env = { OPENSSL_NO_VENDOR = "1" }
//!
//! [overrides.providers.native.libavif]     # new ids for this project
//! description = "AV1 image codec"
//! pkg-config = ["libavif"]
//! debian = ["libavif-dev"]
//! nixpkgs = ["libavif"]
//! ```

use crate::community::Community;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Which layer a fact comes from; later kinds win.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LayerKind {
    /// Shipped with lock2build.
    Community,
    /// The user's config directory.
    User,
    /// The project's `.lock2build/overrides/` or `lock2build.toml`.
    Project,
}

impl LayerKind {
    /// The lowercase name used in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            LayerKind::Community => "community",
            LayerKind::User => "user",
            LayerKind::Project => "project",
        }
    }
}

impl std::fmt::Display for LayerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One layer to load.
#[derive(Debug, Clone)]
pub enum LayerSource {
    /// A directory with the community layout.
    Dir {
        /// Which layer.
        kind: LayerKind,
        /// The directory (holding `providers.toml`, `pypi/`, `npm/`, `crates/`).
        root: PathBuf,
    },
    /// The text of a config file (`lock2build.toml`) whose `[overrides]`
    /// table holds entries; errors point at its lines.
    ConfigText {
        /// Which layer.
        kind: LayerKind,
        /// The file, for messages and for resolving patch paths.
        file: PathBuf,
        /// Its whole text.
        text: String,
    },
    /// An already parsed `[overrides]` table (the value of the key
    /// `overrides`); errors name the file and key but no line.
    ConfigValue {
        /// Which layer.
        kind: LayerKind,
        /// The file it was read from.
        file: PathBuf,
        /// The `[overrides]` table.
        value: toml::Value,
    },
}

impl LayerSource {
    /// Which layer this source belongs to.
    pub fn kind(&self) -> LayerKind {
        match self {
            LayerSource::Dir { kind, .. }
            | LayerSource::ConfigText { kind, .. }
            | LayerSource::ConfigValue { kind, .. } => *kind,
        }
    }
}

/// The community database's directory: `$LOCK2BUILD_OVERRIDES` when set,
/// else the copy built into the binary, unpacked (see [`Community`]).
/// `None` when neither can be had; [`Community::find`] says why.
pub fn community_dir() -> Option<PathBuf> {
    Community::find().ok().map(|c| c.root)
}

/// `pypi/build-systems/requirements.txt` of the community database, when it
/// exists: the pinned, hashed build systems Python source builds use.
pub fn build_systems_requirements() -> Option<PathBuf> {
    community_dir()
        .map(|d| {
            d.join("pypi")
                .join("build-systems")
                .join("requirements.txt")
        })
        .filter(|f| f.is_file())
}

/// The user's layer: `$XDG_CONFIG_HOME/lock2build/overrides`, else
/// `$HOME/.config/lock2build/overrides` (whether or not it exists).
pub fn user_dir() -> Option<PathBuf> {
    let config = match std::env::var_os("XDG_CONFIG_HOME") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(std::env::var_os("HOME")?).join(".config"),
    };
    Some(config.join("lock2build").join("overrides"))
}

/// The project's layers that exist: `.lock2build/overrides/`, then the
/// `[overrides]` table of `lock2build.toml` (read as text, so errors have
/// lines). Reading errors are returned as they are.
pub fn project_sources(project_root: &Path) -> std::io::Result<Vec<LayerSource>> {
    let mut sources = Vec::new();
    let dir = project_root.join(".lock2build").join("overrides");
    if dir.is_dir() {
        sources.push(LayerSource::Dir {
            kind: LayerKind::Project,
            root: dir,
        });
    }
    let config = project_root.join("lock2build.toml");
    if config.is_file() {
        let text = std::fs::read_to_string(&config)?;
        sources.push(LayerSource::ConfigText {
            kind: LayerKind::Project,
            file: config,
            text,
        });
    }
    Ok(sources)
}

/// The usual stack: community (an error when it cannot be had: a build
/// must not quietly run without its overrides), user (when it exists), project.
pub fn standard_sources(project_root: &Path) -> std::io::Result<Vec<LayerSource>> {
    let mut sources = vec![LayerSource::Dir {
        kind: LayerKind::Community,
        root: Community::find()?.root,
    }];
    if let Some(root) = user_dir().filter(|d| d.is_dir()) {
        sources.push(LayerSource::Dir {
            kind: LayerKind::User,
            root,
        });
    }
    sources.extend(project_sources(project_root)?);
    Ok(sources)
}
