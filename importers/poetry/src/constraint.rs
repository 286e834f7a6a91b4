//! Poetry version constraints, turned into PEP 440 specifiers.
//!
//! poetry.lock writes dependency constraints the way the dependency's
//! metadata or the user's `pyproject.toml` spelled them. The grammar accepted
//! here is Poetry's:
//!
//! ```text
//! constraint  = conjunction { ("||" | "|") conjunction }
//! conjunction = single { ("," | whitespace) single }
//! single      = "*" | "x" | "X" | "*.*"
//!             | "^" version                 caret: up to the next breaking release
//!             | "~" version                 tilde: up to the next minor (major if one part)
//!             | "~=" version                PEP 440 compatible release
//!             | op version                  op is one of == != >= <= > < === =
//!             | version [".*" | ".x"]       exact, or a wildcard
//! ```
//!
//! `^1.2.3` means `>=1.2.3,<2.0.0`, `^0.2.3` means `>=0.2.3,<0.3.0`,
//! `^0.0.3` means `>=0.0.3,<0.0.4`; `~1.2.3` means `>=1.2.3,<1.3.0` and `~1`
//! means `>=1,<2`. A PEP 440 specifier set is a valid Poetry constraint too.

use pep440_rs::{Version, VersionSpecifiers};
use std::str::FromStr;

/// One PEP 440 comparison: `op` is `==`, `!=`, `>=`, `>`, `<=`, `<`, `~=` or
/// `===`; `version` may end in `.*` for `==` and `!=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Clause {
    pub op: &'static str,
    pub version: String,
}

/// A parsed constraint: any of the conjunctions (each a list of clauses that
/// must all hold). No conjunction at all means "any version".
#[derive(Debug, Clone, Default)]
pub(crate) struct Constraint {
    pub any_of: Vec<Vec<Clause>>,
    specifiers: Vec<VersionSpecifiers>,
}

impl Constraint {
    /// Parses a Poetry (or PEP 440) constraint; `None` when it is not one.
    pub fn parse(text: &str) -> Option<Constraint> {
        let mut any_of = Vec::new();
        for part in text.split('|').map(str::trim).filter(|p| !p.is_empty()) {
            let mut clauses = Vec::new();
            for single in singles(part) {
                clauses.extend(parse_single(&single)?);
            }
            if clauses.is_empty() {
                // `*` inside a disjunction: anything goes.
                return Some(Constraint::default());
            }
            any_of.push(clauses);
        }
        let specifiers = any_of
            .iter()
            .map(|clauses| {
                let text: Vec<String> = clauses
                    .iter()
                    .map(|c| format!("{}{}", c.op, c.version))
                    .collect();
                VersionSpecifiers::from_str(&text.join(",")).ok()
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Constraint { any_of, specifiers })
    }

    /// True when `version` satisfies the constraint.
    pub fn contains(&self, version: &Version) -> bool {
        self.specifiers.is_empty() || self.specifiers.iter().any(|s| s.contains(version))
    }

    /// The constraint as a PEP 440 specifier set, when it has no `||`.
    pub fn to_pep440(&self) -> Option<String> {
        match self.any_of.as_slice() {
            [] => Some(String::new()),
            [clauses] => Some(
                clauses
                    .iter()
                    .map(|c| format!("{}{}", c.op, c.version))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            _ => None,
        }
    }

    /// The constraint on the interpreter as a PEP 508 marker (Poetry's
    /// `python = "<3.11"` key), `None` when it allows every Python.
    pub fn to_python_marker(&self) -> Option<String> {
        if self.any_of.is_empty() {
            return None;
        }
        let conjunctions: Vec<String> = self
            .any_of
            .iter()
            .map(|clauses| {
                let parts: Vec<String> = clauses.iter().map(python_marker_clause).collect();
                parts.join(" and ")
            })
            .collect();
        if conjunctions.len() == 1 {
            conjunctions.into_iter().next()
        } else {
            Some(
                conjunctions
                    .iter()
                    .map(|c| {
                        if c.contains(" and ") {
                            format!("({c})")
                        } else {
                            c.clone()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" or "),
            )
        }
    }
}

fn python_marker_clause(clause: &Clause) -> String {
    if let Some(prefix) = clause.version.strip_suffix(".*") {
        return format!("python_version {} \"{prefix}\"", clause.op);
    }
    let parts = clause.version.split('.').count();
    let field = if parts >= 3 {
        "python_full_version"
    } else {
        "python_version"
    };
    format!("{field} {} \"{}\"", clause.op, clause.version)
}

/// Splits a conjunction on commas and whitespace, keeping an operator with
/// the version after it (`>= 1.0` is one constraint).
fn singles(conjunction: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut pending_op = String::new();
    for token in conjunction
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
    {
        if token.chars().all(|c| "=<>!~^".contains(c)) {
            pending_op.push_str(token);
            continue;
        }
        out.push(format!("{pending_op}{token}"));
        pending_op.clear();
    }
    if !pending_op.is_empty() {
        out.push(pending_op);
    }
    out
}

fn clause(op: &'static str, version: impl Into<String>) -> Clause {
    Clause {
        op,
        version: version.into(),
    }
}

/// One Poetry constraint as PEP 440 clauses (none for "any").
fn parse_single(single: &str) -> Option<Vec<Clause>> {
    let single = single.trim();
    if matches!(single, "*" | "x" | "X" | "*.*" | "") {
        return Some(Vec::new());
    }
    for op in ["===", "~=", "==", "!=", ">=", "<=", ">", "<"] {
        if let Some(version) = single.strip_prefix(op) {
            let version = wildcard(version.trim());
            check_version(&version)?;
            return Some(vec![clause(op, version)]);
        }
    }
    if let Some(version) = single.strip_prefix('^') {
        let lower = version.trim();
        let release = release_of(lower)?;
        let upper = next_breaking(&release);
        return Some(vec![clause(">=", lower), clause("<", upper)]);
    }
    if let Some(version) = single.strip_prefix('~') {
        let lower = version.trim();
        let release = release_of(lower)?;
        let upper = next_minor_or_major(&release);
        return Some(vec![clause(">=", lower), clause("<", upper)]);
    }
    let version = wildcard(single.strip_prefix('=').unwrap_or(single).trim());
    check_version(&version)?;
    Some(vec![clause("==", version)])
}

/// `1.2.x` and `1.2.X` are Poetry spellings of `1.2.*`.
fn wildcard(version: &str) -> String {
    match version
        .strip_suffix(".x")
        .or_else(|| version.strip_suffix(".X"))
    {
        Some(prefix) => format!("{prefix}.*"),
        None => version.to_owned(),
    }
}

fn check_version(version: &str) -> Option<()> {
    let plain = version.strip_suffix(".*").unwrap_or(version);
    Version::from_str(plain).ok().map(|_| ())
}

fn release_of(version: &str) -> Option<Vec<u64>> {
    let parsed = Version::from_str(version).ok()?;
    let release = parsed.release().to_vec();
    if release.is_empty() {
        None
    } else {
        Some(release)
    }
}

fn join(release: &[u64]) -> String {
    release
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// Poetry's `Version.next_breaking()`.
fn next_breaking(release: &[u64]) -> String {
    match *release {
        [major] => join(&[major.saturating_add(1)]),
        [major, ..] if major > 0 => join(&[major.saturating_add(1), 0, 0][..release.len().min(3)]),
        [0, minor] => join(&[0, minor.saturating_add(1)]),
        [0, minor, ..] if minor > 0 => join(&[0, minor.saturating_add(1), 0]),
        [0, 0, patch, ..] => join(&[0, 0, patch.saturating_add(1)]),
        _ => join(release),
    }
}

/// The upper bound of `~V`: the next minor, or the next major for `~1`.
fn next_minor_or_major(release: &[u64]) -> String {
    match *release {
        [major] => join(&[major.saturating_add(1)]),
        [major, minor] => join(&[major, minor.saturating_add(1)]),
        [major, minor, ..] => join(&[major, minor.saturating_add(1), 0]),
        [] => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pep440(text: &str) -> String {
        Constraint::parse(text)
            .and_then(|c| c.to_pep440())
            .unwrap_or_else(|| "<none>".into())
    }

    fn has(constraint: &str, version: &str) -> bool {
        Constraint::parse(constraint)
            .unwrap()
            .contains(&Version::from_str(version).unwrap())
    }

    #[test]
    fn poetry_operators() {
        assert_eq!(pep440("^1.2.3"), ">=1.2.3,<2.0.0");
        assert_eq!(pep440("^0.2.3"), ">=0.2.3,<0.3.0");
        assert_eq!(pep440("^0.0.3"), ">=0.0.3,<0.0.4");
        assert_eq!(pep440("^0"), ">=0,<1");
        assert_eq!(pep440("^3.9"), ">=3.9,<4.0");
        assert_eq!(pep440("^0.4"), ">=0.4,<0.5");
        assert_eq!(pep440("~1.2.3"), ">=1.2.3,<1.3.0");
        assert_eq!(pep440("~2.0"), ">=2.0,<2.1");
        assert_eq!(pep440("~1"), ">=1,<2");
        assert_eq!(pep440("~=1.4"), "~=1.4");
        assert_eq!(pep440(">= 1.0, < 2.0"), ">=1.0,<2.0");
        assert_eq!(pep440(">=1.0 <2.0"), ">=1.0,<2.0");
        assert_eq!(pep440("1.2.3"), "==1.2.3");
        assert_eq!(pep440("1.2.*"), "==1.2.*");
        assert_eq!(pep440("1.x"), "==1.*");
        assert_eq!(pep440("*"), "");
        assert_eq!(pep440(">=1.5.6,!=1.5.7"), ">=1.5.6,!=1.5.7");
        assert_eq!(pep440("^1.0 || ^2.0"), "<none>");
        assert!(Constraint::parse(">=banana").is_none());
    }

    #[test]
    fn membership() {
        assert!(has("~2.0", "2.0.2"));
        assert!(!has("~2.0", "2.2.6"));
        assert!(has("^2.2", "2.2.6"));
        assert!(!has("^2.2", "2.0.2"));
        assert!(has("^1.0 || ^3.0", "3.1"));
        assert!(!has("^1.0 || ^3.0", "2.1"));
        assert!(has("*", "0.0.1"));
    }

    #[test]
    fn python_markers() {
        let marker = |c: &str| Constraint::parse(c).unwrap().to_python_marker();
        assert_eq!(
            marker("<3.11").as_deref(),
            Some("python_version < \"3.11\"")
        );
        assert_eq!(
            marker(">=3.8.1,<4").as_deref(),
            Some("python_full_version >= \"3.8.1\" and python_version < \"4\"")
        );
        assert_eq!(
            marker("~2.7 || >=3.6").as_deref(),
            Some("(python_version >= \"2.7\" and python_version < \"2.8\") or python_version >= \"3.6\"")
        );
        assert_eq!(marker("*"), None);
    }
}
