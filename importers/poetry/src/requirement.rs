//! Dependency specifications, as poetry.lock and `[tool.poetry]` write
//! them, and PEP 508 strings as `[project]` writes them.
//!
//! A Poetry dependency value is one of:
//!
//! ```toml
//! name = "^1.0"                                   # a constraint
//! name = { version = ">=1.0", markers = "…", python = "<3.11",
//!          optional = true, extras = ["socks"] }  # a table (or git/path/url
//!                                                 #   instead of version)
//! name = [ { version = "~2.0", python = "<3.10" },
//!          { version = "^2.2", python = ">=3.10" } ]   # alternatives
//! ```
//!
//! Each alternative becomes one [`Requirement`]; a `python` key becomes a
//! `python_version` marker joined to `markers` with `and`.

use crate::constraint::Constraint;
use lock2build_model::normalize_python_name;
use std::str::FromStr;
use toml::Value;

/// One alternative of one dependency.
#[derive(Debug, Clone)]
pub(crate) struct Requirement {
    /// Normalised name.
    pub name: String,
    /// The version constraint; `None` for "any" or a direct reference.
    pub constraint: Option<Constraint>,
    /// The marker under which it applies (with the `python` key folded in).
    pub marker: Option<String>,
    /// `optional = true`.
    pub optional: bool,
    /// Extras requested of the target.
    pub extras: Vec<String>,
    /// A git/path/url/file reference instead of a version.
    pub direct: bool,
}

/// Why a dependency value could not be read.
pub(crate) type SpecError = String;

/// Reads a Poetry dependency value (string, table or list of those).
pub(crate) fn from_poetry(name: &str, value: &Value) -> Result<Vec<Requirement>, SpecError> {
    match value {
        Value::Array(items) => items.iter().map(|item| one_poetry(name, item)).collect(),
        other => Ok(vec![one_poetry(name, other)?]),
    }
}

fn one_poetry(name: &str, value: &Value) -> Result<Requirement, SpecError> {
    let name = normalize_python_name(name);
    match value {
        Value::String(text) => Ok(Requirement {
            constraint: Constraint::parse(text),
            name,
            marker: None,
            optional: false,
            extras: Vec::new(),
            direct: false,
        }),
        Value::Table(table) => {
            let string = |key: &str| -> Result<Option<&str>, SpecError> {
                match table.get(key) {
                    None => Ok(None),
                    Some(Value::String(s)) => Ok(Some(s.as_str())),
                    Some(_) => Err(format!("`{key}` of dependency `{name}` is not a string")),
                }
            };
            let python_marker = string("python")?
                .and_then(Constraint::parse)
                .and_then(|c| c.to_python_marker());
            let marker = and_markers(string("markers")?.map(str::to_owned), python_marker);
            let optional = match table.get("optional") {
                None => false,
                Some(Value::Boolean(b)) => *b,
                Some(_) => {
                    return Err(format!(
                        "`optional` of dependency `{name}` is not true or false"
                    ))
                }
            };
            let extras = match table.get("extras") {
                None => Vec::new(),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|i| i.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        format!("`extras` of dependency `{name}` is not a list of names")
                    })?,
                Some(_) => return Err(format!("`extras` of dependency `{name}` is not a list")),
            };
            let direct = ["git", "path", "url", "file"]
                .iter()
                .any(|k| table.contains_key(*k));
            Ok(Requirement {
                constraint: string("version")?.and_then(Constraint::parse),
                name,
                marker,
                optional,
                extras,
                direct,
            })
        }
        _ => Err(format!(
            "dependency `{name}` is neither a version string, a table nor a list"
        )),
    }
}

/// Reads a PEP 508 string (`[project] dependencies`, `[dependency-groups]`).
pub(crate) fn from_pep508(text: &str) -> Result<Requirement, SpecError> {
    lock2build_model::markers::check_marker_depth(text)
        .map_err(|why| format!("`{}…`: {why}", text.chars().take(40).collect::<String>()))?;
    let parsed = pep508_rs::Requirement::<pep508_rs::VerbatimUrl>::from_str(text)
        .map_err(|e| format!("`{text}` is not a PEP 508 requirement: {e}"))?;
    let (constraint, direct) = match &parsed.version_or_url {
        None => (None, false),
        Some(pep508_rs::VersionOrUrl::VersionSpecifier(specifiers)) => {
            (Constraint::parse(&specifiers.to_string()), false)
        }
        Some(pep508_rs::VersionOrUrl::Url(_)) => (None, true),
    };
    Ok(Requirement {
        name: normalize_python_name(parsed.name.as_ref()),
        constraint,
        marker: parsed.marker.try_to_string(),
        optional: false,
        extras: parsed.extras.iter().map(ToString::to_string).collect(),
        direct,
    })
}

/// The normalised name at the start of a requirement string such as
/// `PySocks (>=1.5.6,!=1.5.7)` (the form `[package.extras]` uses).
pub(crate) fn requirement_name(text: &str) -> Option<String> {
    let name: String = text
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    if name.is_empty() {
        None
    } else {
        Some(normalize_python_name(&name))
    }
}

/// `(a) and (b)`, keeping whichever is present.
pub(crate) fn and_markers(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(format!("{} and {}", group(&a), group(&b))),
        (a, b) => a.or(b),
    }
}

fn group(marker: &str) -> String {
    if marker.contains(" or ") {
        format!("({marker})")
    } else {
        marker.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternatives_with_python_keys() {
        let value: toml::Table = toml::from_str(
            r#"numpy = [{ version = "~2.0", python = "<3.10" }, { version = "^2.2", python = ">=3.10", markers = "sys_platform == 'linux' or sys_platform == 'darwin'" }]"#,
        )
        .unwrap();
        let reqs = from_poetry("NumPy", &value["numpy"]).unwrap();
        assert_eq!(reqs.len(), 2);
        assert_eq!(reqs[0].name, "numpy");
        assert_eq!(reqs[0].marker.as_deref(), Some("python_version < \"3.10\""));
        assert_eq!(
            reqs[1].marker.as_deref(),
            Some("(sys_platform == 'linux' or sys_platform == 'darwin') and python_version >= \"3.10\"")
        );
    }

    #[test]
    fn pep508_and_extras_names() {
        let req = from_pep508("Flask[async] (>=3.0,<4.0) ; python_version >= '3.10'").unwrap();
        assert_eq!(req.name, "flask");
        assert_eq!(req.extras, vec!["async"]);
        assert_eq!(req.marker.as_deref(), Some("python_full_version >= '3.10'"));
        assert_eq!(
            req.constraint.and_then(|c| c.to_pep440()).as_deref(),
            Some(">=3.0,<4.0")
        );
        assert_eq!(
            requirement_name("PySocks (>=1.5.6,!=1.5.7)").as_deref(),
            Some("pysocks")
        );
        assert_eq!(
            requirement_name("jupyter_sphinx").as_deref(),
            Some("jupyter-sphinx")
        );
        assert!(from_pep508("not a requirement !!").is_err());
    }
}
