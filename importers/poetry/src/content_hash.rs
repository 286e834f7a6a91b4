//! Poetry's `[metadata] content-hash`: is the lock still in step with
//! `pyproject.toml`?
//!
//! Poetry 2.x (`poetry/packages/locker.py`, `Locker._get_content_hash`) takes
//! the relevant parts of the manifest:
//!
//! - from `[project]`: `requires-python`, `dependencies`,
//!   `optional-dependencies` (those present);
//! - `[dependency-groups]` (only when not empty; Poetry before 2.3 left it
//!   out, so locks written by those are also checked without it);
//! - from `[tool.poetry]`: `dependencies`, `source`, `extras`,
//!   `dev-dependencies` and `group`. The first four are kept even when absent
//!   (as `null`) unless there is `[project]` or group content.
//!
//! When `[project]` or `[dependency-groups]` content exists the document is
//! `{"project": …, "dependency-groups": …, "tool": {"poetry": …}}`; otherwise
//! the `[tool.poetry]` part alone, at top level (which is also what Poetry
//! 1.x hashed). The hash is the sha256 of Python's
//! `json.dumps(document, sort_keys=True)`, re-created here byte for byte.

use sha2::{Digest, Sha256};
use toml::{Table, Value};

const LEGACY_KEYS: [&str; 4] = ["dependencies", "source", "extras", "dev-dependencies"];
const GROUP_KEY: &str = "group";
const PROJECT_KEYS: [&str; 3] = ["requires-python", "dependencies", "optional-dependencies"];

/// The content-hash Poetry would write for this manifest, or `None` when
/// the manifest holds something JSON cannot encode (a TOML date).
pub(crate) fn content_hash(pyproject: &Table, with_dependency_groups: bool) -> Option<String> {
    let empty = Table::new();
    let project = table(pyproject, "project").unwrap_or(&empty);
    let groups = if with_dependency_groups {
        table(pyproject, "dependency-groups").unwrap_or(&empty)
    } else {
        &empty
    };
    let tool_poetry = table(pyproject, "tool")
        .and_then(|t| table(t, "poetry"))
        .unwrap_or(&empty);

    let mut relevant_project = Table::new();
    for key in PROJECT_KEYS {
        if let Some(value) = project.get(key) {
            relevant_project.insert(key.to_owned(), value.clone());
        }
    }

    // `None` stands for Python's `None` (JSON `null`).
    let mut relevant_poetry: Vec<(&str, Option<&Value>)> = Vec::new();
    for key in LEGACY_KEYS.iter().copied().chain([GROUP_KEY]) {
        let data = tool_poetry.get(key);
        if data.is_none()
            && (!LEGACY_KEYS.contains(&key) || !relevant_project.is_empty() || !groups.is_empty())
        {
            continue;
        }
        relevant_poetry.push((key, data));
    }

    let poetry_json = object_json(relevant_poetry)?;
    let mut sections: Vec<(&str, String)> = Vec::new();
    if !relevant_project.is_empty() {
        sections.push(("project", value_json(&Value::Table(relevant_project))?));
    }
    if !groups.is_empty() {
        sections.push((
            "dependency-groups",
            value_json(&Value::Table(groups.clone()))?,
        ));
    }
    let document = if sections.is_empty() {
        // Backwards compatibility: `[tool.poetry]` content at top level.
        poetry_json
    } else {
        let mut tool = String::from("{");
        write_string(&mut tool, "poetry");
        tool.push_str(": ");
        tool.push_str(&poetry_json);
        tool.push('}');
        sections.push(("tool", tool));
        sections.sort_by(|a, b| a.0.cmp(b.0));
        let mut out = String::from("{");
        for (i, (key, json)) in sections.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            write_string(&mut out, key);
            out.push_str(": ");
            out.push_str(json);
        }
        out.push('}');
        out
    };
    Some(hex::encode(Sha256::digest(document.as_bytes())))
}

fn table<'a>(table: &'a Table, key: &str) -> Option<&'a Table> {
    table.get(key).and_then(Value::as_table)
}

fn value_json(value: &Value) -> Option<String> {
    let mut out = String::new();
    write_value(&mut out, value)?;
    Some(out)
}

fn object_json(entries: Vec<(&str, Option<&Value>)>) -> Option<String> {
    let mut out = String::new();
    write_object(&mut out, entries)?;
    Some(out)
}

/// A JSON object with sorted keys; `None` values are `null`.
fn write_object(out: &mut String, mut entries: Vec<(&str, Option<&Value>)>) -> Option<()> {
    entries.sort_by(|a, b| a.0.cmp(b.0));
    out.push('{');
    for (i, (key, value)) in entries.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_string(out, key);
        out.push_str(": ");
        match value {
            Some(value) => write_value(out, value)?,
            None => out.push_str("null"),
        }
    }
    out.push('}');
    Some(())
}

/// Python's `json.dumps(value, sort_keys=True)` with its default separators
/// (`", "` and `": "`) and `ensure_ascii=True`.
fn write_value(out: &mut String, value: &Value) -> Option<()> {
    match value {
        Value::String(s) => write_string(out, s),
        Value::Integer(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&python_float(*f)),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Datetime(_) => return None,
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item)?;
            }
            out.push(']');
        }
        Value::Table(t) => {
            write_object(out, t.iter().map(|(k, v)| (k.as_str(), Some(v))).collect())?
        }
    }
    Some(())
}

/// `repr(float)` as `json.dumps` prints it.
fn python_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-4..1e16).contains(&abs) {
        // Python: 1e+16, 1.5e-05.
        let text = format!("{f:e}");
        return match text.split_once('e') {
            Some((mantissa, exponent)) => {
                let (sign, digits) = match exponent.strip_prefix('-') {
                    Some(d) => ('-', d),
                    None => ('+', exponent),
                };
                format!("{mantissa}e{sign}{digits:0>2}")
            }
            None => text,
        };
    }
    let text = format!("{f:?}");
    if text.contains('.') || text.contains('e') {
        text
    } else {
        format!("{text}.0")
    }
}

/// A JSON string with Python's `ensure_ascii` escaping.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_like_python() {
        let mut out = String::new();
        let value: Table = toml::from_str(
            "b = [1, 2.5, true, \"é\\n\\u0001😀\"]\na = { z = 1e20, y = 0.0001, x = 3.0 }",
        )
        .unwrap();
        write_value(&mut out, &Value::Table(value)).unwrap();
        // Checked against: python3 -c 'import json; print(json.dumps({"b": [1, 2.5, True,
        //   "é\n\x01😀"], "a": {"z": 1e20, "y": 0.0001, "x": 3.0}}, sort_keys=True))'
        assert_eq!(
            out,
            r#"{"a": {"x": 3.0, "y": 0.0001, "z": 1e+20}, "b": [1, 2.5, true, "\u00e9\n\u0001\ud83d\ude00"]}"#
        );
    }

    #[test]
    fn poetry_1x_layout_keeps_null_legacy_keys() {
        // python3 -c 'import json,hashlib; print(hashlib.sha256(json.dumps({"dependencies":
        //   {"python": "^3.9"}, "source": None, "extras": None, "dev-dependencies": None},
        //   sort_keys=True).encode()).hexdigest())'
        let pyproject: Table =
            toml::from_str("[tool.poetry.dependencies]\npython = \"^3.9\"").unwrap();
        assert_eq!(
            content_hash(&pyproject, true).unwrap(),
            "c595a0588c25d58f3e3834ad7169126836d262b925fe6ca9b5d540dcf301d254"
        );
    }
}
