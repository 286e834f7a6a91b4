//! `export_patch`: the project's (or user's) overrides as a unified diff
//! against the community database, ready for `git apply` in a checkout of
//! lock2build, so a local fix goes upstream as a pull request.
//!
//! What the diff holds:
//!
//! - each package file of the layer is *appended* to the community file of
//!   the same package (entries apply in order with the same merge rules
//!   inside a file as across layers, so the result resolves as the layered
//!   pair did); a layer file identical to the community file is skipped, and
//!   one that starts with the whole community text (a copy, extended) is
//!   taken as it is;
//! - other files under `pypi/`, `npm/`, `crates/` (patches) are copied to
//!   the same path;
//! - `[native.*]`/`[tool.*]` tables of the layer's `providers.toml` are set
//!   in the community `providers.toml` (its comments and order are kept);
//! - an `[overrides]` table of `lock2build.toml` is rendered as package
//!   files, its patches copied to `<ecosystem>/<name>/`.
//!
//! Paths in the diff are relative to the directory holding the community
//! directory (`overrides/pypi/pillow.toml`).

use crate::error::OverrideError;
use crate::layer::{LayerKind, LayerSource};
use crate::load::{normalize_name, parse_ecosystem, ECOSYSTEMS};
use crate::package_file_path;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Why no patch could be made.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not UTF-8 text.
    #[error("{} is not UTF-8 text; only text files can be exported", .0.display())]
    NotText(PathBuf),
    /// The layer does not validate; fix it first.
    #[error("the overrides do not validate ({} problem(s)); run `lock2build overrides check`", .0.len())]
    Invalid(Vec<OverrideError>),
}

/// The unified diff that adds `sources` (project or user layers) to the
/// community database in `community_dir`. Empty when there is nothing to add.
pub fn export_patch(sources: &[LayerSource], community_dir: &Path) -> Result<String, ExportError> {
    let mut stack = vec![LayerSource::Dir {
        kind: LayerKind::Community,
        root: community_dir.to_path_buf(),
    }];
    stack.extend(sources.iter().cloned());
    let (_, errors) = crate::Database::load_lenient(&stack);
    if !errors.is_empty() {
        return Err(ExportError::Invalid(errors));
    }
    let mut changes = Changes {
        community: community_dir.to_path_buf(),
        files: BTreeMap::new(),
    };
    for source in sources {
        match source {
            LayerSource::Dir { root, .. } => changes.add_dir(root)?,
            LayerSource::ConfigText { file, text, .. } => changes.add_config(file, text)?,
            LayerSource::ConfigValue { file, value, .. } => {
                let mut wrapper = toml::Table::new();
                wrapper.insert("overrides".to_owned(), value.clone());
                let text = toml::to_string(&wrapper).unwrap_or_default();
                changes.add_config(file, &text)?;
            }
        }
    }
    let prefix = community_dir.file_name().map_or_else(
        || "overrides".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut patch = String::new();
    for (relative, new) in &changes.files {
        let old = changes.original(relative)?;
        if old.as_deref() == Some(new.as_str()) {
            continue;
        }
        let path = format!("{prefix}/{}", relative.to_string_lossy().replace('\\', "/"));
        patch.push_str(&format!("diff --git a/{path} b/{path}\n"));
        let old_name = match &old {
            Some(_) => format!("a/{path}"),
            None => {
                patch.push_str("new file mode 100644\n");
                "/dev/null".to_owned()
            }
        };
        let old_text = old.unwrap_or_default();
        let diff = similar::TextDiff::from_lines(old_text.as_str(), new.as_str());
        patch.push_str(
            &diff
                .unified_diff()
                .context_radius(3)
                .header(&old_name, &format!("b/{path}"))
                .to_string(),
        );
    }
    Ok(patch)
}

/// New contents of community files, by path relative to the community dir.
struct Changes {
    community: PathBuf,
    files: BTreeMap<PathBuf, String>,
}

impl Changes {
    /// The current text of a file: a pending change, else the community file.
    fn current(&self, relative: &Path) -> Result<Option<String>, ExportError> {
        match self.files.get(relative) {
            Some(text) => Ok(Some(text.clone())),
            None => self.original(relative),
        }
    }

    fn original(&self, relative: &Path) -> Result<Option<String>, ExportError> {
        let path = self.community.join(relative);
        match std::fs::read(&path) {
            Ok(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| ExportError::NotText(path)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(ExportError::Read { path, source }),
        }
    }

    fn append_entries(&mut self, relative: PathBuf, addition: &str) -> Result<(), ExportError> {
        let merged = match self.current(&relative)? {
            None => addition.to_owned(),
            Some(current) if current == addition || current.contains(addition) => current,
            Some(current) if addition.starts_with(&current) => addition.to_owned(),
            Some(mut current) => {
                if !current.ends_with('\n') {
                    current.push('\n');
                }
                current.push('\n');
                current.push_str(addition);
                current
            }
        };
        self.files.insert(relative, merged);
        Ok(())
    }

    fn add_dir(&mut self, root: &Path) -> Result<(), ExportError> {
        let providers = root.join("providers.toml");
        if providers.is_file() {
            let text = read_text(&providers)?;
            if let Ok(doc) = text.parse::<toml_edit::DocumentMut>() {
                self.merge_providers(doc.as_table())?;
            }
        }
        for ecosystem in ECOSYSTEMS {
            let dir = root.join(ecosystem.as_str());
            let mut files = Vec::new();
            walk(&dir, &mut files);
            files.sort();
            for file in files {
                let Ok(relative) = file.strip_prefix(root) else {
                    continue;
                };
                let text = read_text(&file)?;
                let parts: Vec<String> = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                let is_package_file = file.extension().is_some_and(|e| e == "toml")
                    && (parts.len() == 2
                        || (parts.len() == 3 && parts[0] == "npm" && parts[1].starts_with('@')));
                if is_package_file {
                    self.append_entries(relative.to_path_buf(), &text)?;
                } else {
                    self.files.insert(relative.to_path_buf(), text);
                }
            }
        }
        Ok(())
    }

    fn add_config(&mut self, file: &Path, text: &str) -> Result<(), ExportError> {
        let Ok(doc) = text.parse::<toml_edit::DocumentMut>() else {
            return Ok(());
        };
        let Some(overrides) = doc.get("overrides").and_then(|o| o.as_table_like()) else {
            return Ok(());
        };
        if let Some(providers) = overrides.get("providers").and_then(|p| p.as_table_like()) {
            let mut table = toml_edit::Table::new();
            for (k, v) in providers.iter() {
                table.insert(k, v.clone());
            }
            self.merge_providers(&table)?;
        }
        let Ok(value) = text.parse::<toml::Table>() else {
            return Ok(());
        };
        let Some(overrides) = value.get("overrides").and_then(|o| o.as_table()) else {
            return Ok(());
        };
        let base = file.parent().unwrap_or(Path::new("."));
        for (ecosystem_name, packages) in overrides {
            let (Some(ecosystem), Some(packages)) =
                (parse_ecosystem(ecosystem_name), packages.as_table())
            else {
                continue;
            };
            for (name, package) in packages {
                let Some(package) = package.as_table() else {
                    continue;
                };
                let mut entries: Vec<toml::Table> =
                    match package.get("entry").and_then(|e| e.as_array()) {
                        Some(list) => list.iter().filter_map(|e| e.as_table().cloned()).collect(),
                        None => vec![package.clone()],
                    };
                let patch_dir = Path::new(ecosystem.as_str()).join(normalize_name(ecosystem, name));
                for entry in &mut entries {
                    if !entry.contains_key("versions") {
                        entry.insert("versions".to_owned(), toml::Value::String("*".to_owned()));
                    }
                    self.move_patches(entry, base, &patch_dir)?;
                }
                let mut wrapper = toml::Table::new();
                wrapper.insert(
                    "entry".to_owned(),
                    toml::Value::Array(entries.into_iter().map(toml::Value::Table).collect()),
                );
                let rendered = toml::to_string(&wrapper).unwrap_or_default();
                let addition = format!("# From {} (lock2build.toml).\n{rendered}", name);
                self.append_entries(package_file_path(ecosystem, name), &addition)?;
            }
        }
        Ok(())
    }

    /// Copies the patches of an inline entry next to its package file and
    /// rewrites their paths (relative to the package file).
    fn move_patches(
        &mut self,
        entry: &mut toml::Table,
        base: &Path,
        patch_dir: &Path,
    ) -> Result<(), ExportError> {
        let Some(toml::Value::Array(patches)) = entry.get_mut("patches") else {
            return Ok(());
        };
        let package_dir_name = patch_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for patch in patches.iter_mut() {
            let Some(path) = patch.as_str().map(PathBuf::from) else {
                continue;
            };
            let Some(file_name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
                continue;
            };
            let text = read_text(&base.join(&path))?;
            self.files.insert(patch_dir.join(&file_name), text);
            *patch = toml::Value::String(format!("{package_dir_name}/{file_name}"));
        }
        Ok(())
    }

    fn merge_providers(&mut self, layer: &toml_edit::Table) -> Result<(), ExportError> {
        let relative = PathBuf::from("providers.toml");
        let current = self.current(&relative)?.unwrap_or_default();
        let Ok(mut doc) = current.parse::<toml_edit::DocumentMut>() else {
            return Ok(());
        };
        let mut next_position = last_position(doc.as_table()) + 1;
        for section in ["native", "tool"] {
            let Some(ids) = layer.get(section).and_then(|s| s.as_table_like()) else {
                continue;
            };
            if !doc.contains_key(section) {
                let mut table = toml_edit::Table::new();
                table.set_implicit(true);
                doc.insert(section, toml_edit::Item::Table(table));
            }
            let Some(target) = doc.get_mut(section).and_then(|s| s.as_table_mut()) else {
                continue;
            };
            for (id, item) in ids.iter() {
                let mut table = match item {
                    toml_edit::Item::Table(t) => t.clone(),
                    toml_edit::Item::Value(toml_edit::Value::InlineTable(t)) => {
                        t.clone().into_table()
                    }
                    _ => continue,
                };
                table.decor_mut().clear();
                table.decor_mut().set_prefix("\n");
                // Keep an existing table where it is; new ones go last.
                let existing = target.get(id).and_then(|t| t.as_table());
                match existing.and_then(|t| t.position()) {
                    Some(position) => {
                        table.set_position(position);
                        if let Some(old) = existing {
                            *table.decor_mut() = old.decor().clone();
                        }
                    }
                    None => {
                        table.set_position(next_position);
                        next_position += 1;
                    }
                }
                target.insert(id, toml_edit::Item::Table(table));
            }
        }
        self.files.insert(relative, doc.to_string());
        Ok(())
    }
}

/// The highest position of any table in `table` (recursively).
fn last_position(table: &toml_edit::Table) -> usize {
    let mut last = table.position().unwrap_or(0);
    for (_, item) in table.iter() {
        if let Some(inner) = item.as_table() {
            last = last.max(last_position(inner));
        }
    }
    last
}

fn read_text(path: &Path) -> Result<String, ExportError> {
    let bytes = std::fs::read(path).map_err(|source| ExportError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|_| ExportError::NotText(path.to_path_buf()))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}
