//! The project's own dependencies, from `pyproject.toml`.
//!
//! Read, in this order (Poetry 2 semantics):
//!
//! - `[project] dependencies` (PEP 508 strings) → run-time edges; when this
//!   key is absent, `[tool.poetry.dependencies]` (minus `python`) instead;
//! - `[project.optional-dependencies]` → optional edges, group = the extra;
//!   `[tool.poetry.extras]` names which optional `[tool.poetry]` dependencies
//!   each extra turns on;
//! - `[tool.poetry.group.<g>.dependencies]` and the old
//!   `[tool.poetry.dev-dependencies]` (group `dev`) → dev edges;
//! - `[dependency-groups]` (PEP 735, Poetry ≥ 2.2) → dev edges, with
//!   `{include-group = "…"}` followed.
//!
//! The project's name and version come from `[project]` or `[tool.poetry]`;
//! `package-mode = false` makes it a virtual project (not installed itself).

use crate::requirement::{self, Requirement};
use lock2build_model::{normalize_python_name, DepKind};
use std::collections::BTreeSet;
use toml::{Table, Value};

/// One root dependency with the kind of edge it makes.
#[derive(Debug, Clone)]
pub(crate) struct RootRequirement {
    pub requirement: Requirement,
    pub kind: DepKind,
    /// Extras (for optional edges) or groups (for dev edges).
    pub groups: Vec<String>,
    /// Where it was declared, for messages (e.g. `[project] dependencies`).
    pub declared_in: String,
}

/// What `pyproject.toml` says about the project.
#[derive(Debug, Clone)]
pub(crate) struct Manifest {
    pub name: Option<String>,
    pub version: Option<String>,
    /// `package-mode = false`: only the dependencies are installed.
    pub is_virtual: bool,
    pub requirements: Vec<RootRequirement>,
}

/// Reads the manifest; the error is a message about `pyproject.toml`.
pub(crate) fn read(pyproject: &Table) -> Result<Manifest, String> {
    let empty = Table::new();
    let project = pyproject
        .get("project")
        .and_then(Value::as_table)
        .unwrap_or(&empty);
    let poetry = pyproject
        .get("tool")
        .and_then(Value::as_table)
        .and_then(|t| t.get("poetry"))
        .and_then(Value::as_table)
        .unwrap_or(&empty);

    let text = |table: &Table, key: &str| table.get(key).and_then(Value::as_str).map(str::to_owned);
    let mut manifest = Manifest {
        name: text(project, "name").or_else(|| text(poetry, "name")),
        version: text(project, "version").or_else(|| text(poetry, "version")),
        is_virtual: poetry.get("package-mode").and_then(Value::as_bool) == Some(false),
        requirements: Vec::new(),
    };
    let out = &mut manifest.requirements;

    // Run-time dependencies.
    if let Some(list) = project.get("dependencies") {
        for text in strings(list, "[project] dependencies")? {
            out.push(root(
                requirement::from_pep508(text)?,
                DepKind::Normal,
                vec![],
                "[project] dependencies",
            ));
        }
    } else if let Some(table) = poetry.get("dependencies") {
        let extras = poetry_extras(poetry)?;
        let table = table
            .as_table()
            .ok_or("[tool.poetry.dependencies] is not a table")?;
        for (name, value) in table {
            if name == "python" {
                continue;
            }
            for req in requirement::from_poetry(name, value)? {
                if req.optional {
                    let groups = extras
                        .iter()
                        .filter(|(_, members)| members.contains(&req.name))
                        .map(|(extra, _)| extra.clone())
                        .collect();
                    out.push(root(
                        req,
                        DepKind::Optional,
                        groups,
                        "[tool.poetry.dependencies]",
                    ));
                } else {
                    out.push(root(
                        req,
                        DepKind::Normal,
                        vec![],
                        "[tool.poetry.dependencies]",
                    ));
                }
            }
        }
    }

    // Extras.
    if let Some(optional) = project.get("optional-dependencies") {
        let optional = optional
            .as_table()
            .ok_or("[project.optional-dependencies] is not a table")?;
        for (extra, list) in optional {
            let place = format!("[project.optional-dependencies] {extra}");
            for text in strings(list, &place)? {
                out.push(root(
                    requirement::from_pep508(text)?,
                    DepKind::Optional,
                    vec![extra.clone()],
                    &place,
                ));
            }
        }
    }

    // Poetry groups.
    if let Some(dev) = poetry.get("dev-dependencies") {
        let dev = dev
            .as_table()
            .ok_or("[tool.poetry.dev-dependencies] is not a table")?;
        for (name, value) in dev {
            for req in requirement::from_poetry(name, value)? {
                out.push(root(
                    req,
                    DepKind::Dev,
                    vec!["dev".into()],
                    "[tool.poetry.dev-dependencies]",
                ));
            }
        }
    }
    if let Some(groups) = poetry.get("group") {
        let groups = groups
            .as_table()
            .ok_or("[tool.poetry.group] is not a table")?;
        for (group, body) in groups {
            let place = format!("[tool.poetry.group.{group}.dependencies]");
            let Some(deps) = body.as_table().and_then(|b| b.get("dependencies")) else {
                continue;
            };
            let deps = deps
                .as_table()
                .ok_or_else(|| format!("{place} is not a table"))?;
            for (name, value) in deps {
                for req in requirement::from_poetry(name, value)? {
                    out.push(root(req, DepKind::Dev, vec![group.clone()], &place));
                }
            }
        }
    }

    // PEP 735 groups.
    if let Some(groups) = pyproject.get("dependency-groups") {
        let groups = groups
            .as_table()
            .ok_or("[dependency-groups] is not a table")?;
        for group in groups.keys() {
            let place = format!("[dependency-groups] {group}");
            let mut seen = BTreeSet::new();
            for text in dependency_group(groups, group, &mut seen)? {
                out.push(root(
                    requirement::from_pep508(&text)?,
                    DepKind::Dev,
                    vec![group.clone()],
                    &place,
                ));
            }
        }
    }
    Ok(manifest)
}

fn root(
    requirement: Requirement,
    kind: DepKind,
    groups: Vec<String>,
    declared_in: &str,
) -> RootRequirement {
    RootRequirement {
        requirement,
        kind,
        groups,
        declared_in: declared_in.to_owned(),
    }
}

fn strings<'a>(value: &'a Value, place: &str) -> Result<Vec<&'a str>, String> {
    value
        .as_array()
        .and_then(|items| items.iter().map(Value::as_str).collect::<Option<Vec<_>>>())
        .ok_or_else(|| format!("{place} is not a list of requirement strings"))
}

/// `[tool.poetry.extras]`: extra → normalised names of the dependencies it enables.
fn poetry_extras(poetry: &Table) -> Result<Vec<(String, Vec<String>)>, String> {
    let Some(extras) = poetry.get("extras") else {
        return Ok(Vec::new());
    };
    let extras = extras
        .as_table()
        .ok_or("[tool.poetry.extras] is not a table")?;
    extras
        .iter()
        .map(|(extra, list)| {
            let names = strings(list, &format!("[tool.poetry.extras] {extra}"))?
                .into_iter()
                .filter_map(requirement::requirement_name)
                .collect();
            Ok((extra.clone(), names))
        })
        .collect()
}

/// The requirement strings of one PEP 735 group, includes followed.
fn dependency_group(
    groups: &Table,
    group: &str,
    seen: &mut BTreeSet<String>,
) -> Result<Vec<String>, String> {
    let key = normalize_python_name(group);
    if !seen.insert(key.clone()) {
        return Err(format!("[dependency-groups] `{group}` includes itself"));
    }
    let entries = groups
        .iter()
        .find(|(name, _)| normalize_python_name(name) == normalize_python_name(group))
        .map(|(_, v)| v)
        .ok_or_else(|| format!("[dependency-groups] includes `{group}`, which does not exist"))?
        .as_array()
        .ok_or_else(|| format!("[dependency-groups] {group} is not a list"))?;
    let mut out = Vec::new();
    for entry in entries {
        match entry {
            Value::String(s) => out.push(s.clone()),
            Value::Table(t) => match t.get("include-group").and_then(Value::as_str) {
                Some(included) => out.extend(dependency_group(groups, included, seen)?),
                None => {
                    return Err(format!(
                        "[dependency-groups] {group} has an entry that is not a requirement"
                    ))
                }
            },
            _ => {
                return Err(format!(
                    "[dependency-groups] {group} has an entry that is not a requirement"
                ))
            }
        }
    }
    // Only the groups being expanded count as cycles; a group included
    // twice through two paths is fine.
    seen.remove(&key);
    Ok(out)
}
