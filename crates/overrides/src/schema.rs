//! The on-disk shape of overrides files, exactly as written (strict serde
//! structs: an unknown key is an error naming the key and its line).
//!
//! Package file (`<ecosystem>/<name>.toml`), a list of entries:
//!
//! ```toml
//! [[entry]]
//! versions = ">=9"                     # required; "*" for every version
//! native = ["libjpeg", "zlib", "lcms2"] # ids of [native.*] in providers.toml
//! optional = ["lcms2"]                 # of those, optional features: missing is a note, not a refusal
//! tools = ["pkg-config"]               # ids of [tool.*] in providers.toml
//! build-requires = ["setuptools>=67"]  # PyPI only: PEP 508 requirements
//! env = { FOO = "1" }                  # environment knobs for the build
//! patches = ["fix.patch"]              # relative to the file, `patch -p1`
//! prefer = "binary"                    # or "source"
//! bundled = { system-env = ["ZSTD_SYS_USE_PKG_CONFIG"], system-features = ["pkg-config"] }
//!                                      # builds its own copy of `native` unless a knob says otherwise
//! replace = ["native"]                 # fields this entry replaces instead of extending
//! note = "why, and where the fact comes from"
//! ```
//!
//! Provider table (`providers.toml`):
//!
//! ```toml
//! [native.libjpeg]
//! description = "JPEG codec (libjpeg-turbo)"
//! pkg-config = ["libjpeg"]          # modules, as `pkg-config --exists` takes them
//! debian = ["libjpeg62-turbo-dev"]  # Debian 12 packages that ship them
//! nixpkgs = ["libjpeg"]             # attribute paths
//! homebrew = ["jpeg-turbo"]         # formulae
//! headers = ["jpeglib.h"]           # as written in `#include <...>`
//! libraries = ["libjpeg.so"]        # linker names; `libjpeg.so.62` maps back
//! binaries = []                     # config scripts, e.g. pg_config
//! search-dirs = ["$LIBCLANG_PATH", "$(llvm-config --libdir)", "/usr/lib/llvm-*/lib"]
//!                                   # more directories holding `libraries`, as the crate's own search finds them
//!
//! [tool.pkg-config]
//! description = "..."
//! binaries = ["pkg-config"]         # any one of them on PATH is enough
//! debian = ["pkgconf"]
//! nixpkgs = ["pkg-config"]
//! homebrew = ["pkgconf"]
//! ```

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use toml::Spanned;

/// A package file: `[[entry]]`, nothing else.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PackageFileDoc {
    #[serde(rename = "entry")]
    pub entries: Vec<EntryDoc>,
}

/// One `[[entry]]` of a package file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct EntryDoc {
    pub versions: Spanned<String>,
    #[serde(default)]
    pub native: Vec<Spanned<String>>,
    #[serde(default)]
    pub optional: Vec<Spanned<String>>,
    #[serde(default)]
    pub tools: Vec<Spanned<String>>,
    #[serde(default)]
    pub build_requires: Vec<Spanned<String>>,
    #[serde(default)]
    pub env: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    pub patches: Vec<Spanned<String>>,
    pub prefer: Option<Spanned<Preference>>,
    pub bundled: Option<BundledDoc>,
    #[serde(default)]
    pub replace: Vec<Spanned<Field>>,
    pub note: Option<String>,
}

/// `bundled = { … }`: the package builds a bundled copy of its `native`
/// libraries unless one of these knobs asks for the system's.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct BundledDoc {
    /// `NAME` (set, not empty, not `0`) or `NAME=VALUE`.
    #[serde(default)]
    pub system_env: Vec<Spanned<String>>,
    /// Features of the package (Cargo) that switch to the system library.
    #[serde(default)]
    pub system_features: Vec<Spanned<String>>,
}

/// Whether to install a prebuilt artifact or build from source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preference {
    /// A wheel (PyPI), a prebuilt binary or platform package (npm).
    Binary,
    /// Build from the source distribution.
    Source,
}

impl Preference {
    /// The word used in files and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Preference::Binary => "binary",
            Preference::Source => "source",
        }
    }
}

/// A field of an entry that layers merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Field {
    /// `native`
    Native,
    /// `tools`
    Tools,
    /// `build-requires`
    BuildRequires,
    /// `env`
    Env,
    /// `patches`
    Patches,
    /// `prefer`
    Prefer,
    /// `bundled`
    Bundled,
}

impl Field {
    /// The key as written in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Native => "native",
            Field::Tools => "tools",
            Field::BuildRequires => "build-requires",
            Field::Env => "env",
            Field::Patches => "patches",
            Field::Prefer => "prefer",
            Field::Bundled => "bundled",
        }
    }
}

/// `providers.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProvidersDoc {
    #[serde(default)]
    pub native: BTreeMap<Spanned<String>, NativeDoc>,
    #[serde(default)]
    pub tool: BTreeMap<Spanned<String>, ToolDoc>,
}

/// One `[native.<id>]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct NativeDoc {
    pub description: String,
    #[serde(default)]
    pub pkg_config: Vec<String>,
    pub debian: Vec<String>,
    pub nixpkgs: Vec<String>,
    #[serde(default)]
    pub homebrew: Vec<String>,
    #[serde(default)]
    pub headers: Vec<String>,
    #[serde(default)]
    pub libraries: Vec<String>,
    #[serde(default)]
    pub binaries: Vec<String>,
    #[serde(default)]
    pub search_dirs: Vec<String>,
}

/// One `[tool.<id>]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct ToolDoc {
    pub description: String,
    pub binaries: Vec<String>,
    pub debian: Vec<String>,
    pub nixpkgs: Vec<String>,
    #[serde(default)]
    pub homebrew: Vec<String>,
}
