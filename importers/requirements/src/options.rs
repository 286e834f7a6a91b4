//! Option lines (lines that start with `-`).
//!
//! | option                                   | effect                                   |
//! |------------------------------------------|------------------------------------------|
//! | `-i URL`, `--index-url URL`              | the index every package comes from       |
//! | `--extra-index-url URL`                  | recorded as a warning (see crate doc)    |
//! | `-f URL`, `--find-links URL`             | recorded; the index with `--no-index`    |
//! | `--no-index`                             | use the first `--find-links` as index    |
//! | `-r FILE`, `--requirement FILE`          | include FILE (relative to this file)     |
//! | `-c FILE`, `--constraint FILE`           | ignored with a warning                   |
//! | `-e PATH`, `--editable PATH`             | a local project, installed editable      |
//! | `--no-binary X`, `--only-binary X`       | ignored with a warning                   |
//! | `--prefer-binary`, `--pre`, `--require-hashes`, `--trusted-host H`, `--use-feature F` | ignored |
//!
//! Values may follow a space or `=`; short options also take them attached
//! (`-rbase.txt`).

/// One option line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OptionLine {
    IndexUrl(String),
    ExtraIndexUrl(String),
    FindLinks(String),
    NoIndex,
    Requirement(String),
    Constraint(String),
    Editable(String),
    Binary { option: String, value: String },
    Ignored,
}

/// `(long, short, takes a value)`.
const OPTIONS: &[(&str, Option<&str>, bool)] = &[
    ("--index-url", Some("-i"), true),
    ("--extra-index-url", None, true),
    ("--find-links", Some("-f"), true),
    ("--no-index", None, false),
    ("--requirement", Some("-r"), true),
    ("--constraint", Some("-c"), true),
    ("--editable", Some("-e"), true),
    ("--no-binary", None, true),
    ("--only-binary", None, true),
    ("--prefer-binary", None, false),
    ("--pre", None, false),
    ("--require-hashes", None, false),
    ("--trusted-host", None, true),
    ("--use-feature", None, true),
];

/// Parses an option line. The error is a sentence for the user.
pub(crate) fn parse(text: &str) -> Result<OptionLine, String> {
    let (word, attached) = split_word(text);
    let Some(&(long, _, takes_value)) = OPTIONS
        .iter()
        .find(|(long, short, _)| *long == word || Some(word) == *short)
        .or_else(|| {
            // `-rfile`: a short option with its value attached.
            OPTIONS
                .iter()
                .find(|(_, short, value)| *value && short.is_some_and(|s| word.starts_with(s)))
        })
    else {
        return Err(format!("unknown option `{word}`"));
    };
    let value = if takes_value {
        let value = match attached {
            Some(value) => value.trim(),
            None if word.len() > 2 && !word.starts_with("--") => word.get(2..).unwrap_or_default(),
            None => text.get(word.len()..).unwrap_or_default().trim(),
        };
        if value.is_empty() {
            return Err(format!("`{long}` needs a value"));
        }
        value.to_owned()
    } else {
        String::new()
    };
    Ok(match long {
        "--index-url" => OptionLine::IndexUrl(value),
        "--extra-index-url" => OptionLine::ExtraIndexUrl(value),
        "--find-links" => OptionLine::FindLinks(value),
        "--no-index" => OptionLine::NoIndex,
        "--requirement" => OptionLine::Requirement(value),
        "--constraint" => OptionLine::Constraint(value),
        "--editable" => OptionLine::Editable(value),
        "--no-binary" | "--only-binary" => OptionLine::Binary {
            option: long.to_owned(),
            value,
        },
        _ => OptionLine::Ignored,
    })
}

/// The option word, and a value given with `=`.
fn split_word(text: &str) -> (&str, Option<&str>) {
    let end = text.find(char::is_whitespace).unwrap_or(text.len());
    let word = text.get(..end).unwrap_or_default();
    match word.split_once('=') {
        Some((word, _)) => (word, text.get(word.len() + 1..)),
        None => (word, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings() {
        assert_eq!(
            parse("-i https://x/simple"),
            Ok(OptionLine::IndexUrl("https://x/simple".into()))
        );
        assert_eq!(
            parse("--index-url=https://x/simple"),
            Ok(OptionLine::IndexUrl("https://x/simple".into()))
        );
        assert_eq!(
            parse("-r base.txt"),
            Ok(OptionLine::Requirement("base.txt".into()))
        );
        assert_eq!(
            parse("-rbase.txt"),
            Ok(OptionLine::Requirement("base.txt".into()))
        );
        assert_eq!(
            parse("--requirement dev.txt"),
            Ok(OptionLine::Requirement("dev.txt".into()))
        );
        assert_eq!(parse("--no-index"), Ok(OptionLine::NoIndex));
        assert_eq!(
            parse("--only-binary :all:"),
            Ok(OptionLine::Binary {
                option: "--only-binary".into(),
                value: ":all:".into()
            })
        );
        assert!(parse("--frobnicate").is_err());
        assert!(parse("-r").is_err());
        assert!(parse("--index-url").is_err());
    }
}
