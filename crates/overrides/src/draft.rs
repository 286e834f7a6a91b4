//! Writing overrides: a first draft from ids, where it goes, and checking a
//! layer directory before it is shared.

use crate::database::Database;
use crate::error::OverrideError;
use crate::layer::{LayerKind, LayerSource};
use crate::load::normalize_name;
use crate::providers::{IdKind, Providers};
use lock2build_model::Ecosystem;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Where the file of a package lives inside a layer directory:
/// `pypi/pillow.toml`, `npm/@scope/name.toml`, `crates/openssl-sys.toml`.
pub fn package_file_path(ecosystem: Ecosystem, name: &str) -> PathBuf {
    Path::new(ecosystem.as_str()).join(format!("{}.toml", normalize_name(ecosystem, name)))
}

/// A package file with one entry for `ids` (native and tool ids are sorted
/// into their fields; unknown ids are left in a comment), applying from
/// `version` on. The text loads as it is.
pub fn draft_override(
    providers: &Providers,
    ecosystem: Ecosystem,
    name: &str,
    version: &str,
    ids: &[String],
) -> String {
    let pick = |kind| {
        ids.iter()
            .filter(|id| providers.kind_of(id) == Some(kind))
            .map(|id| format!("\"{id}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let unknown: Vec<&str> = ids
        .iter()
        .filter(|id| providers.kind_of(id).is_none())
        .map(String::as_str)
        .collect();
    let versions = if crate::VersionRange::parse(ecosystem, &format!(">={version}")).is_ok() {
        format!(">={version}")
    } else {
        "*".to_owned()
    };
    let mut text = String::new();
    let _ = writeln!(
        text,
        "# {}: drafted by lock2build for {name} {version}.",
        package_file_path(ecosystem, name).display()
    );
    let _ = writeln!(
        text,
        "# Check the facts, narrow `versions` if older releases differ, and say why in `note`."
    );
    if !unknown.is_empty() {
        let _ = writeln!(
            text,
            "# Not in providers.toml yet (add them there first): {}",
            unknown.join(", ")
        );
    }
    let _ = writeln!(text, "\n[[entry]]");
    let _ = writeln!(text, "versions = \"{versions}\"");
    let _ = writeln!(text, "native = [{}]", pick(IdKind::Native));
    let _ = writeln!(text, "tools = [{}]", pick(IdKind::Tool));
    let _ = writeln!(
        text,
        "note = \"\"\"TODO: why {name} needs this, and how it was found.\"\"\""
    );
    text
}

/// Every problem of the layer directory `dir`, read as a project layer on
/// top of the community layer `community` (whose ids it may use).
pub fn validate_layer(dir: &Path, community: Option<&Path>) -> Vec<OverrideError> {
    let mut sources = Vec::new();
    if let Some(root) = community {
        sources.push(LayerSource::Dir {
            kind: LayerKind::Community,
            root: root.to_path_buf(),
        });
    }
    if community != Some(dir) {
        sources.push(LayerSource::Dir {
            kind: LayerKind::Project,
            root: dir.to_path_buf(),
        });
    }
    Database::load_lenient(&sources).1
}
