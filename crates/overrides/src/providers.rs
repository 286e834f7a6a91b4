//! The provider table: every neutral id (a native library such as `libjpeg`,
//! or a build tool such as `pkg-config`) and what provides it on each
//! platform: pkg-config modules, Debian packages, nixpkgs attributes,
//! Homebrew formulae; plus the headers, sonames and programs that let a
//! failed build or a wheel's ELF `NEEDED` list be mapped back to an id.
//!
//! Ids are lowercase (`[a-z0-9][a-z0-9.+_-]*`). Native and tool ids share
//! one namespace, so a bare id always says what it is.

use crate::error::OverrideError;
use crate::layer::LayerKind;
use crate::schema::{NativeDoc, ProvidersDoc, ToolDoc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IdKind {
    /// A native library (headers + shared objects).
    Native,
    /// A program needed at build time.
    Tool,
}

/// How one id is provided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Provider {
    /// The neutral id, e.g. `libjpeg`, `pkg-config`.
    pub id: String,
    /// Library or tool.
    pub kind: IdKind,
    /// One line for humans.
    pub description: String,
    /// pkg-config modules (native only).
    pub pkg_config: Vec<String>,
    /// Debian 12 (bookworm) packages.
    pub debian: Vec<String>,
    /// nixpkgs attribute paths.
    pub nixpkgs: Vec<String>,
    /// Homebrew formulae (empty: not on macOS).
    pub homebrew: Vec<String>,
    /// Headers, as written in `#include <...>` (native only).
    pub headers: Vec<String>,
    /// Linker names such as `libjpeg.so` (native only).
    pub libraries: Vec<String>,
    /// Programs: for a tool, any one on PATH provides it; for a library, its
    /// config scripts (`pg_config`, `gdal-config`).
    pub binaries: Vec<String>,
    /// More directories that may hold `libraries`, the way the package's
    /// own build looks for them: `$VAR` (a variable naming a directory),
    /// `$(command args)` (what the command prints, e.g. `llvm-config
    /// --libdir`), or a path whose components may hold `*`.
    pub search_dirs: Vec<String>,
    /// Which layer defined it last, and in which file.
    pub defined_in: (LayerKind, PathBuf),
}

/// Every known id.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Providers {
    entries: BTreeMap<String, Provider>,
}

impl Providers {
    /// The provider of `id`, when known.
    pub fn get(&self, id: &str) -> Option<&Provider> {
        self.entries.get(id)
    }

    /// Whether `id` is a native library, a tool, or unknown.
    pub fn kind_of(&self, id: &str) -> Option<IdKind> {
        self.entries.get(id).map(|p| p.kind)
    }

    /// Every provider, ordered by id.
    pub fn iter(&self) -> impl Iterator<Item = &Provider> {
        self.entries.values()
    }

    /// How many ids are known.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Merges one `providers.toml` (text of `file`) into the table; a later
    /// definition of an id replaces the earlier one as a whole.
    pub(crate) fn merge_text(
        &mut self,
        layer: LayerKind,
        file: &Path,
        text: &str,
        real_text: bool,
        errors: &mut Vec<OverrideError>,
    ) {
        let doc: ProvidersDoc = match toml::from_str(text) {
            Ok(doc) => doc,
            Err(e) => {
                let shown = real_text.then_some(text);
                errors.push(
                    OverrideError::new(file, e.message().to_owned())
                        .at_offset(shown, e.span().map(|s| s.start))
                        .with_help("see overrides/README.md, section \"Provider table\""),
                );
                return;
            }
        };
        let shown = real_text.then_some(text);
        for (id, native) in doc.native {
            if let Some(err) = check_id(file, shown, &id, "native") {
                errors.push(err);
                continue;
            }
            if self.clashes(id.get_ref(), IdKind::Native) {
                errors.push(clash_error(file, shown, &id, "native", "tool"));
                continue;
            }
            errors.extend(check_native(file, shown, &id, &native));
            self.entries.insert(
                id.get_ref().clone(),
                native_provider(id.get_ref(), native, layer, file),
            );
        }
        for (id, tool) in doc.tool {
            if let Some(err) = check_id(file, shown, &id, "tool") {
                errors.push(err);
                continue;
            }
            if self.clashes(id.get_ref(), IdKind::Tool) {
                errors.push(clash_error(file, shown, &id, "tool", "native"));
                continue;
            }
            if tool.binaries.is_empty() || tool.debian.is_empty() || tool.nixpkgs.is_empty() {
                errors.push(
                    OverrideError::new(file, "a tool needs `binaries`, `debian` and `nixpkgs`")
                        .with_key(format!("tool.{}", id.get_ref()))
                        .at_offset(shown, Some(id.span().start)),
                );
            }
            self.entries.insert(
                id.get_ref().clone(),
                tool_provider(id.get_ref(), tool, layer, file),
            );
        }
    }

    fn clashes(&self, id: &str, kind: IdKind) -> bool {
        self.entries.get(id).is_some_and(|p| p.kind != kind)
    }
}

/// Whether `id` is well formed: lowercase ASCII letters, digits and `.+_-`,
/// starting with a letter or digit.
pub fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '+' | '_' | '-')
        })
}

fn check_id(
    file: &Path,
    text: Option<&str>,
    id: &toml::Spanned<String>,
    table: &str,
) -> Option<OverrideError> {
    (!is_valid_id(id.get_ref())).then(|| {
        OverrideError::new(file, format!("`{}` is not a valid id", id.get_ref()))
            .with_key(format!("{table}.{}", id.get_ref()))
            .at_offset(text, Some(id.span().start))
            .with_help("ids are lowercase letters, digits and `.+_-`, e.g. `libjpeg`, `gtk3`")
    })
}

fn clash_error(
    file: &Path,
    text: Option<&str>,
    id: &toml::Spanned<String>,
    table: &str,
    other: &str,
) -> OverrideError {
    OverrideError::new(file, format!("`{}` is already a {other} id", id.get_ref()))
        .with_key(format!("{table}.{}", id.get_ref()))
        .at_offset(text, Some(id.span().start))
        .with_help("native and tool ids share one namespace: pick another name")
}

fn check_native(
    file: &Path,
    text: Option<&str>,
    id: &toml::Spanned<String>,
    native: &NativeDoc,
) -> Vec<OverrideError> {
    let mut errors = Vec::new();
    let key = format!("native.{}", id.get_ref());
    if native.debian.is_empty() || native.nixpkgs.is_empty() {
        errors.push(
            OverrideError::new(
                file,
                "a native library needs at least one `debian` package and one `nixpkgs` attribute",
            )
            .with_key(key.clone())
            .at_offset(text, Some(id.span().start)),
        );
    }
    if native.pkg_config.is_empty() && native.headers.is_empty() && native.libraries.is_empty() {
        errors.push(
            OverrideError::new(file, "a native library needs `pkg-config`, `headers` or `libraries` so a host can be checked for it")
                .with_key(key.clone())
                .at_offset(text, Some(id.span().start)),
        );
    }
    for library in &native.libraries {
        if !library.starts_with("lib") || !library.ends_with(".so") {
            errors.push(
                OverrideError::new(file, format!("`{library}` is not a linker name"))
                    .with_key(format!("{key}.libraries"))
                    .at_offset(text, Some(id.span().start))
                    .with_help("write the unversioned linker name, e.g. `libjpeg.so` (it matches `libjpeg.so.62`)"),
            );
        }
    }
    errors
}

fn native_provider(id: &str, doc: NativeDoc, layer: LayerKind, file: &Path) -> Provider {
    Provider {
        id: id.to_owned(),
        kind: IdKind::Native,
        description: doc.description,
        pkg_config: doc.pkg_config,
        debian: doc.debian,
        nixpkgs: doc.nixpkgs,
        homebrew: doc.homebrew,
        headers: doc.headers,
        libraries: doc.libraries,
        binaries: doc.binaries,
        search_dirs: doc.search_dirs,
        defined_in: (layer, file.to_path_buf()),
    }
}

fn tool_provider(id: &str, doc: ToolDoc, layer: LayerKind, file: &Path) -> Provider {
    Provider {
        id: id.to_owned(),
        kind: IdKind::Tool,
        description: doc.description,
        pkg_config: Vec::new(),
        debian: doc.debian,
        nixpkgs: doc.nixpkgs,
        homebrew: doc.homebrew,
        headers: Vec::new(),
        libraries: Vec::new(),
        binaries: doc.binaries,
        search_dirs: Vec::new(),
        defined_in: (layer, file.to_path_buf()),
    }
}
