//! Which directories the root's `workspaces` patterns name.
//!
//! Patterns are the globs of `package.json` `workspaces` (an array, or
//! yarn's `{ "packages": [...] }`): path segments separated by `/`, where
//! `*` matches any run of characters inside one segment, `?` one character,
//! and a `**` segment any number of segments. A leading `./` and trailing `/`
//! are ignored, as npm does. Negated patterns (`!…`) exclude.

/// The root's workspace patterns.
#[derive(Debug, Default, Clone)]
pub(crate) struct WorkspacePatterns {
    include: Vec<String>,
    exclude: Vec<String>,
}

impl WorkspacePatterns {
    pub(crate) fn new<I: IntoIterator<Item = String>>(patterns: I) -> Self {
        let mut this = WorkspacePatterns::default();
        for pattern in patterns {
            let (negated, pattern) = match pattern.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, pattern.as_str()),
            };
            let pattern = pattern
                .strip_prefix("./")
                .unwrap_or(pattern)
                .trim_end_matches('/')
                .to_owned();
            if negated {
                this.exclude.push(pattern);
            } else {
                this.include.push(pattern);
            }
        }
        this
    }

    /// True when the directory `path` (relative to the project) is a member.
    pub(crate) fn matches(&self, path: &str) -> bool {
        let path: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let hit = |pattern: &String| {
            let pattern: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
            match_segments(&pattern, &path)
        };
        self.include.iter().any(hit) && !self.exclude.iter().any(hit)
    }
}

fn match_segments(pattern: &[&str], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|skip| {
            path.get(skip..)
                .is_some_and(|tail| match_segments(rest, tail))
        }),
        Some((first, rest)) => match path.split_first() {
            Some((segment, tail)) => {
                match_segment(first.as_bytes(), segment.as_bytes()) && match_segments(rest, tail)
            }
            None => false,
        },
    }
}

fn match_segment(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|skip| {
            text.get(skip..)
                .is_some_and(|tail| match_segment(rest, tail))
        }),
        Some((b'?', rest)) => text
            .split_first()
            .is_some_and(|(_, tail)| match_segment(rest, tail)),
        Some((c, rest)) => text
            .split_first()
            .is_some_and(|(t, tail)| t == c && match_segment(rest, tail)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let w = WorkspacePatterns::new([
            "packages/*".to_owned(),
            "./tools/cli/".to_owned(),
            "libs/**".to_owned(),
        ]);
        assert!(w.matches("packages/app"));
        assert!(!w.matches("packages/app/sub"));
        assert!(!w.matches("packages"));
        assert!(w.matches("tools/cli"));
        assert!(w.matches("libs/a/b"));
        assert!(!w.matches("local-lib"));
        let w = WorkspacePatterns::new(["pkg-?".to_owned(), "a*z".to_owned(), "!pkg-x".to_owned()]);
        assert!(w.matches("pkg-1"));
        assert!(!w.matches("pkg-x"));
        assert!(w.matches("abcz"));
        assert!(!w.matches("abc"));
    }
}
