//! Mirrors: rewriting URL prefixes.
//!
//! Read from, later layers overriding earlier ones for the same prefix:
//! 1. the user's config, `$XDG_CONFIG_HOME/lock2build/config.toml` (else
//!    `~/.config/lock2build/config.toml`);
//! 2. the project's `lock2build.toml`;
//! 3. `LOCK2BUILD_MIRRORS="prefix=replacement,prefix2=replacement2"`.
//!
//! The TOML form is a `[mirrors]` table of prefix = replacement:
//!
//! ```toml
//! [mirrors]
//! "https://files.pythonhosted.org/" = "https://mirror.example/pypi-files/"
//! "https://registry.npmjs.org/" = "https://mirror.example/npm/"
//! ```
//!
//! The longest matching prefix wins; a rewritten URL replaces the original
//! (the original is not tried: a mirror is usually configured because the
//! original must not be reached).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Prefix rewriting rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MirrorConfig {
    rules: BTreeMap<String, String>,
}

/// A configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Not readable.
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Not valid TOML, or `[mirrors]` is not a table of strings.
    #[error("`{}`: {message}\n  help: write `[mirrors]` entries as \"https://original/prefix/\" = \"https://mirror/prefix/\"", path.display())]
    Invalid {
        /// The file (or `LOCK2BUILD_MIRRORS`).
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A `LOCK2BUILD_FETCH_*` limit that is not a whole number.
    #[error("{name}={value:?} is not a whole number\n  help: {help}")]
    Limit {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// What it takes.
        help: &'static str,
    },
}

#[derive(serde::Deserialize)]
struct ConfigFile {
    #[serde(default)]
    mirrors: BTreeMap<String, String>,
}

impl MirrorConfig {
    /// Loads the user config, `<project_dir>/lock2build.toml` and
    /// `LOCK2BUILD_MIRRORS` (missing files are fine).
    pub fn load(project_dir: Option<&Path>) -> Result<MirrorConfig, ConfigError> {
        let mut config = MirrorConfig::default();
        let user_dir = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")));
        if let Some(dir) = user_dir {
            config.add_file(&dir.join("lock2build").join("config.toml"))?;
        }
        if let Some(project) = project_dir {
            config.add_file(&project.join("lock2build.toml"))?;
        }
        if let Ok(value) = std::env::var("LOCK2BUILD_MIRRORS") {
            config.add_env(&value)?;
        }
        Ok(config)
    }

    /// Adds the `[mirrors]` of a TOML file, if it exists.
    pub fn add_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })
            }
        };
        let file: ConfigFile = toml::from_str(&text).map_err(|e| ConfigError::Invalid {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        self.rules.extend(file.mirrors);
        Ok(())
    }

    /// Adds `prefix=replacement,...` rules.
    pub fn add_env(&mut self, value: &str) -> Result<(), ConfigError> {
        for rule in value.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            // Split at the `=` that is followed by a scheme, so prefixes may
            // contain `=` in query strings.
            let split = rule.find("=http").or_else(|| rule.find('='));
            let Some(at) = split else {
                return Err(ConfigError::Invalid {
                    path: PathBuf::from("LOCK2BUILD_MIRRORS"),
                    message: format!("`{rule}` is not `prefix=replacement`"),
                });
            };
            let (prefix, replacement) = (
                rule.get(..at).unwrap_or_default(),
                rule.get(at + 1..).unwrap_or_default(),
            );
            self.add(prefix, replacement);
        }
        Ok(())
    }

    /// Adds one rule.
    pub fn add(&mut self, prefix: &str, replacement: &str) {
        self.rules.insert(prefix.to_owned(), replacement.to_owned());
    }

    /// `url` with its longest configured prefix replaced.
    pub fn rewrite(&self, url: &str) -> String {
        self.rules
            .iter()
            .filter(|(prefix, _)| url.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(prefix, replacement)| {
                format!(
                    "{replacement}{}",
                    url.get(prefix.len()..).unwrap_or_default()
                )
            })
            .unwrap_or_else(|| url.to_owned())
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_and_longest_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let user = dir.path().join("user.toml");
        std::fs::write(&user, "[mirrors]\n\"https://files.pythonhosted.org/\" = \"https://user-mirror/py/\"\n\"https://registry.npmjs.org/\" = \"https://user-mirror/npm/\"\n").unwrap();
        let project = dir.path().join("lock2build.toml");
        std::fs::write(&project, "[mirrors]\n\"https://files.pythonhosted.org/packages/\" = \"https://proj-mirror/pkgs/\"\n").unwrap();
        let mut config = MirrorConfig::default();
        config.add_file(&user).unwrap();
        config.add_file(&project).unwrap();
        config.add_file(&dir.path().join("absent.toml")).unwrap();
        config
            .add_env("https://registry.npmjs.org/=https://env-mirror/npm/")
            .unwrap();
        assert_eq!(
            config.rewrite("https://files.pythonhosted.org/packages/ab/flask.whl"),
            "https://proj-mirror/pkgs/ab/flask.whl"
        );
        assert_eq!(
            config.rewrite("https://files.pythonhosted.org/other/x"),
            "https://user-mirror/py/other/x"
        );
        assert_eq!(
            config.rewrite("https://registry.npmjs.org/a/-/a-1.tgz"),
            "https://env-mirror/npm/a/-/a-1.tgz"
        );
        assert_eq!(
            config.rewrite("https://static.crates.io/x"),
            "https://static.crates.io/x"
        );

        std::fs::write(&project, "[mirrors]\nx = 1\n").unwrap();
        let err = config.add_file(&project).unwrap_err().to_string();
        assert!(
            err.contains("lock2build.toml") && err.contains("help"),
            "{err}"
        );
        assert!(config.add_env("no-equals-sign").is_err());
    }
}
