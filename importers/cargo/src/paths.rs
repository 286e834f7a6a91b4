//! Directory paths relative to the lockfile's directory, as `/`-separated
//! strings (`.` for the lockfile's own directory), and the small glob
//! language of `[workspace] members`.

/// Joins `relative` onto `base` and folds `.` and `..` away, lexically.
/// The result is relative to the lockfile's directory: `crates/app`,
/// `../shared`, or `.`. Absolute paths stay absolute.
pub(crate) fn join(base: &str, relative: &str) -> String {
    let relative = relative.replace('\\', "/");
    if relative.starts_with('/') {
        return normalize(&relative);
    }
    if base == "." || base.is_empty() {
        normalize(&relative)
    } else {
        normalize(&format!("{base}/{relative}"))
    }
}

/// Folds `.` and `..` components and repeated slashes.
pub(crate) fn normalize(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if absolute => {}
                _ => parts.push(".."),
            },
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

/// The manifest path of a package directory.
pub(crate) fn manifest_of(dir: &str) -> String {
    if dir == "." {
        "Cargo.toml".to_owned()
    } else {
        format!("{dir}/Cargo.toml")
    }
}

/// True when `dir` lies inside `root` (both normalised, `root` usually `.`).
pub(crate) fn is_inside(dir: &str, root: &str) -> bool {
    if dir.starts_with('/') || dir == ".." || dir.starts_with("../") {
        return false;
    }
    root == "." || dir == root || dir.starts_with(&format!("{root}/"))
}

/// True when a `members` entry is a glob rather than a plain path.
pub(crate) fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// Matches a normalised path against a `members` glob, component by
/// component: `*` and `?` within a component, `**` for any number of
/// components, `[abc]` character classes.
pub(crate) fn glob_matches(pattern: &str, path: &str) -> bool {
    let pattern = normalize(pattern);
    let pattern: Vec<&str> = pattern.split('/').collect();
    let path: Vec<&str> = path.split('/').collect();
    components_match(&pattern, &path)
}

fn components_match(pattern: &[&str], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => {
            (0..=path.len()).any(|skip| components_match(rest, path.get(skip..).unwrap_or(&[])))
        }
        Some((first, rest)) => match path.split_first() {
            Some((name, path_rest)) => {
                let p: Vec<char> = first.chars().collect();
                let n: Vec<char> = name.chars().collect();
                component_matches(&p, &n) && components_match(rest, path_rest)
            }
            None => false,
        },
    }
}

/// Glob match of one path component (no `/` inside).
fn component_matches(pattern: &[char], name: &[char]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some(('*', rest)) => {
            (0..=name.len()).any(|skip| component_matches(rest, name.get(skip..).unwrap_or(&[])))
        }
        Some(('?', rest)) => {
            !name.is_empty() && component_matches(rest, name.get(1..).unwrap_or(&[]))
        }
        Some(('[', rest)) => {
            let Some(close) = rest.iter().position(|&c| c == ']') else {
                return name.first() == Some(&'[')
                    && component_matches(rest, name.get(1..).unwrap_or(&[]));
            };
            let (class, after) = (
                rest.get(..close).unwrap_or(&[]),
                rest.get(close + 1..).unwrap_or(&[]),
            );
            let Some(&c) = name.first() else { return false };
            let (negated, class) = match class.split_first() {
                Some(('!', class)) => (true, class),
                _ => (false, class),
            };
            let mut inside = false;
            let mut i = 0;
            while let Some(&lo) = class.get(i) {
                if class.get(i + 1) == Some(&'-') {
                    if let Some(&hi) = class.get(i + 2) {
                        inside |= lo <= c && c <= hi;
                        i += 3;
                        continue;
                    }
                }
                inside |= lo == c;
                i += 1;
            }
            inside != negated && component_matches(after, name.get(1..).unwrap_or(&[]))
        }
        Some((literal, rest)) => {
            name.first() == Some(literal) && component_matches(rest, name.get(1..).unwrap_or(&[]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_and_normalises() {
        assert_eq!(join(".", "crates/app"), "crates/app");
        assert_eq!(join("crates/app", "../util"), "crates/util");
        assert_eq!(join("crates/app", "../../vendor/helper"), "vendor/helper");
        assert_eq!(join(".", "../elsewhere/./x/"), "../elsewhere/x");
        assert_eq!(join("crates/app", "../.."), ".");
        assert_eq!(join("a", "/abs/../p"), "/p");
        assert_eq!(manifest_of("."), "Cargo.toml");
        assert_eq!(manifest_of("crates/app"), "crates/app/Cargo.toml");
    }

    #[test]
    fn insideness() {
        assert!(is_inside("crates/app", "."));
        assert!(is_inside(".", "."));
        assert!(!is_inside("../x", "."));
        assert!(!is_inside("/x", "."));
        assert!(is_inside("a/b", "a"));
        assert!(!is_inside("ab", "a"));
    }

    #[test]
    fn globs() {
        assert!(glob_matches("crates/*", "crates/app"));
        assert!(!glob_matches("crates/*", "crates/app/x"));
        assert!(!glob_matches("crates/*", "vendor/app"));
        assert!(glob_matches("crates/foo-*", "crates/foo-bar"));
        assert!(!glob_matches("crates/foo-*", "crates/bar"));
        assert!(glob_matches("**/x", "a/b/x"));
        assert!(glob_matches("c?ates/[a-c]pp", "crates/app"));
        assert!(!glob_matches("crates/[!a]pp", "crates/app"));
        assert!(glob_matches("./crates/*", "crates/app"));
        assert!(is_glob("crates/*") && !is_glob("crates/app"));
    }
}
