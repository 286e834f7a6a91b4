//! PEP 751 markers: PEP 508 plus the sets `extras` and
//! `dependency_groups` (`'socks' in extras`, `'dev' in
//! dependency_groups`), which PEP 508 evaluators do not know. They are
//! taken out of the marker and turned into what the graph says with edge
//! kinds (see the crate documentation).

/// What one package's marker says about its edge from the root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Condition {
    /// `'x' in extras`: needed only for one of these extras.
    pub extras: Vec<String>,
    /// `'g' in dependency_groups`: needed only for one of these groups.
    pub groups: Vec<String>,
    /// What is left, in PEP 508.
    pub marker: Option<String>,
}

/// Reads a PEP 751 marker. The error is a sentence for the user.
pub(crate) fn condition(marker: &str) -> Result<Condition, String> {
    let mut condition = Condition::default();
    let mut rest = Vec::new();
    for conjunct in split_top(marker, "and") {
        let conjunct = strip_parens(conjunct);
        match membership_any(conjunct) {
            Some((Set::Extras, names)) if condition.extras.is_empty() => condition.extras = names,
            Some((Set::Groups, names)) if condition.groups.is_empty() => condition.groups = names,
            _ => rest.push(conjunct.to_owned()),
        }
    }
    let mut joined = Vec::new();
    for part in rest {
        let part = rewrite_extras(&part);
        if part.contains("dependency_groups") {
            return Err(format!(
                "the marker `{marker}` tests `dependency_groups` where lock2build cannot tell which group a package is for (it reads `'g' in dependency_groups` joined to the rest by `and`)"
            ));
        }
        joined.push(if split_top(&part, "or").len() > 1 {
            format!("({part})")
        } else {
            part
        });
    }
    if !joined.is_empty() {
        condition.marker = Some(joined.join(" and "));
    }
    Ok(condition)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Set {
    Extras,
    Groups,
}

/// `'a' in S` or `'a' in S or 'b' in S`: the names, if all test one set.
fn membership_any(expr: &str) -> Option<(Set, Vec<String>)> {
    let mut set = None;
    let mut names = Vec::new();
    for part in split_top(expr, "or") {
        let (name, s) = membership(strip_parens(part))?;
        if set.is_some_and(|x| x != s) {
            return None;
        }
        set = Some(s);
        names.push(name);
    }
    Some((set?, names))
}

/// `'name' in extras` / `"name" in dependency_groups`.
fn membership(term: &str) -> Option<(String, Set)> {
    let (name, rest) = quoted(term.trim())?;
    let rest = rest.trim_start().strip_prefix("in")?;
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    match rest.trim() {
        "extras" => Some((name, Set::Extras)),
        "dependency_groups" => Some((name, Set::Groups)),
        _ => None,
    }
}

/// A leading `'…'` or `"…"` string and what follows it.
fn quoted(s: &str) -> Option<(String, &str)> {
    let quote = s.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let end = s[1..].find(quote)? + 1;
    Some((s[1..end].to_owned(), &s[end + 1..]))
}

/// `'x' in extras` → `extra == "x"`, `'x' not in extras` → `extra != "x"`,
/// wherever they are.
fn rewrite_extras(marker: &str) -> String {
    let mut out = String::new();
    let mut rest = marker;
    while let Some(start) = rest.find(['\'', '"']) {
        out.push_str(&rest[..start]);
        let Some((name, after)) = quoted(&rest[start..]) else {
            out.push_str(&rest[start..]);
            return out;
        };
        let trimmed = after.trim_start();
        let (negated, tail) = match trimmed.strip_prefix("not") {
            Some(t) if t.starts_with(char::is_whitespace) => (true, t.trim_start()),
            _ => (false, trimmed),
        };
        let replaced = tail
            .strip_prefix("in")
            .filter(|t| t.starts_with(char::is_whitespace))
            .map(str::trim_start)
            .and_then(|t| t.strip_prefix("extras"))
            .filter(|t| !t.starts_with(|c: char| c.is_alphanumeric() || c == '_'));
        match replaced {
            Some(after_set) => {
                let op = if negated { "!=" } else { "==" };
                out.push_str(&format!("extra {op} \"{name}\""));
                rest = after_set;
            }
            None => {
                let literal_len = rest.len() - start - after.len();
                out.push_str(&rest[start..start + literal_len]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `expr` split at the top-level `and`/`or` keyword (outside parentheses
/// and strings), each part trimmed.
fn split_top<'a>(expr: &'a str, keyword: &str) -> Vec<&'a str> {
    let bytes = expr.as_bytes();
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut quote: Option<u8> = None;
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None => match b {
                b'\'' | b'"' => quote = Some(b),
                b'(' => depth += 1,
                b')' => depth -= 1,
                _ if depth == 0
                    && b.is_ascii_whitespace()
                    && expr[i + 1..].starts_with(keyword)
                    && expr[i + 1 + keyword.len()..]
                        .starts_with(|c: char| c.is_ascii_whitespace()) =>
                {
                    parts.push(expr[start..i].trim());
                    i += 1 + keyword.len();
                    start = i;
                    continue;
                }
                _ => {}
            },
        }
        i += 1;
    }
    parts.push(expr[start..].trim());
    parts
}

/// `(x)` → `x` when the parentheses enclose the whole expression.
fn strip_parens(expr: &str) -> &str {
    let mut expr = expr.trim();
    while expr.starts_with('(') && expr.ends_with(')') {
        let inner = &expr[1..expr.len() - 1];
        let mut depth = 0i32;
        let balanced = inner.chars().all(|c| {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            depth >= 0
        });
        if !balanced || depth != 0 {
            break;
        }
        expr = inner.trim();
    }
    expr
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memberships_become_kinds() {
        let c = condition("'socks' in extras").unwrap();
        assert_eq!(c.extras, ["socks"]);
        assert_eq!(c.marker, None);
        let c = condition("python_version >= '3.10' and ('dev' in dependency_groups or 'test' in dependency_groups)").unwrap();
        assert_eq!(c.groups, ["dev", "test"]);
        assert_eq!(c.marker.as_deref(), Some("python_version >= '3.10'"));
        let c = condition("sys_platform == 'linux' or python_version < '3.9'").unwrap();
        assert_eq!(
            c,
            Condition {
                marker: Some("(sys_platform == 'linux' or python_version < '3.9')".into()),
                ..Condition::default()
            }
        );
    }

    #[test]
    fn nested_extras_are_rewritten_groups_refused() {
        let c = condition("sys_platform == 'win32' or 'socks' in extras").unwrap();
        assert_eq!(
            c.marker.as_deref(),
            Some("(sys_platform == 'win32' or extra == \"socks\")")
        );
        let c = condition("'a' not in extras and os_name == \"posix\"").unwrap();
        assert_eq!(
            c.marker.as_deref(),
            Some("extra != \"a\" and os_name == \"posix\"")
        );
        assert!(condition("os_name == 'nt' or 'dev' in dependency_groups").is_err());
        // Words inside strings are not operators.
        let c = condition("platform_release == 'x and y'").unwrap();
        assert_eq!(c.marker.as_deref(), Some("platform_release == 'x and y'"));
    }
}
