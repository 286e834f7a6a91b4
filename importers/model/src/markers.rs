//! How deep a PEP 508 marker may nest before anything parses it.
//!
//! `pep508_rs` parses parentheses recursively: a marker nested 20,000 deep
//! (`((((… python_version >= "3" …))))`) overflows the stack and aborts
//! the process. Real markers nest a few levels (uv's longest forks: under
//! ten), so [`check_marker_depth`] refuses anything past
//! [`MAX_MARKER_DEPTH`], counting parentheses outside quoted strings, and
//! [`check_graph_markers`] does so for every marker of a graph.

use crate::{Graph, ImportError};

/// The deepest parenthesis nesting accepted in a marker.
pub const MAX_MARKER_DEPTH: usize = 64;

/// Why `marker` nests too deep to parse safely.
pub fn check_marker_depth(marker: &str) -> Result<(), String> {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut quote: Option<char> = None;
    for c in marker.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (None, ')') => depth = depth.saturating_sub(1),
            _ => {}
        }
        if deepest > MAX_MARKER_DEPTH {
            return Err(format!(
                "the marker nests parentheses deeper than {MAX_MARKER_DEPTH} levels \
                 (it starts `{}`…)",
                marker.chars().take(40).collect::<String>()
            ));
        }
    }
    Ok(())
}

/// Checks every package and edge marker of `graph`; the error names the
/// lockfile line and the package.
pub fn check_graph_markers(graph: &Graph) -> Result<(), ImportError> {
    for package in &graph.packages {
        let own = package.marker.iter().map(|m| (m, None));
        let edges = package
            .dependencies
            .iter()
            .filter_map(|d| d.marker.as_ref().map(|m| (m, Some(d.name.as_str()))));
        for (marker, dependency) in own.chain(edges) {
            if let Err(why) = check_marker_depth(marker) {
                let what = match dependency {
                    Some(dep) => format!("package `{}`, dependency `{dep}`", package.name),
                    None => format!("package `{}`", package.name),
                };
                let error = ImportError::new(&graph.lockfile, format!("{what}: {why}"))
                    .with_help("no locking tool writes such a marker: regenerate the lockfile");
                return Err(match package.line {
                    Some(line) => error.at_line(line),
                    None => error,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_is_counted_outside_quotes() {
        assert!(
            check_marker_depth("(python_version >= '3.8' and (sys_platform == 'linux'))").is_ok()
        );
        assert!(check_marker_depth(&format!("extra == '{}'", "(".repeat(1000))).is_ok());
        let deep = format!(
            "{}python_version >= '3'{}",
            "(".repeat(20_000),
            ")".repeat(20_000)
        );
        assert!(check_marker_depth(&deep)
            .unwrap_err()
            .contains("deeper than 64"));
        let just = format!("{}python_version >= '3'{}", "(".repeat(64), ")".repeat(64));
        assert!(check_marker_depth(&just).is_ok());
    }
}
