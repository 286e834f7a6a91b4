//! No help text or hint names a flag lock2build does not have.
//!
//! Every `--flag` mentioned in the `--help` text (clap's about, help and
//! after-help of every command and argument) and in the string literals of
//! the workspace's sources (`src/`, `crates/*/src/`) that read as messages
//! (they contain a space) must be a long flag of [`Cli::command`], of some
//! subcommand. Skipped: a `--flag` inside a backtick span that starts with
//! another tool's name (`` `pip-compile --generate-hashes` ``), and the
//! few other tools' flags listed in [`OTHER_TOOLS`], each with the file it
//! is written in and what it is. The importers' messages are about lockfile syntax (pip's
//! `--index-url` in a requirements.txt) and are not scanned.

use super::Cli;
use clap::CommandFactory;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Other tools' flags written outside a backtick span of theirs: (the
/// file, the flag, what it is).
const OTHER_TOOLS: &[(&str, &str, &str)] = &[
    (
        "crates/build/src/overrides.rs",
        "--git",
        "the `diff --git` header of a patch it writes",
    ),
    (
        "crates/overrides/src/export.rs",
        "--git",
        "the `diff --git` header of a patch it writes",
    ),
    (
        "crates/python-build/src/pep517.rs",
        "--forward",
        "patch(1), in the front end's Python",
    ),
    (
        "crates/python-build/src/pep517.rs",
        "--batch",
        "patch(1), in the front end's Python",
    ),
    (
        "crates/build/src/app/cargo_vendor.rs",
        "--print",
        "rustc's, naming the remembered `rustc --print sysroot` probe",
    ),
    (
        "crates/build/src/app/cargo_workspace.rs",
        "--no-deps",
        "cargo's, naming the remembered `cargo metadata --no-deps` probe",
    ),
    (
        "src/graph_cmd.rs",
        "--print",
        "rustc's: realise asks the given rustc for its sysroot",
    ),
];

/// Every long flag of `command` and its subcommands, and the texts of its
/// help.
fn walk(command: &clap::Command, flags: &mut BTreeSet<String>, texts: &mut Vec<String>) {
    flags.insert("--help".to_owned());
    flags.insert("--version".to_owned());
    let styled = [
        command.get_about(),
        command.get_long_about(),
        command.get_after_help(),
        command.get_after_long_help(),
        command.get_before_help(),
    ];
    texts.extend(styled.into_iter().flatten().map(|s| s.to_string()));
    for arg in command.get_arguments() {
        if let Some(long) = arg.get_long() {
            flags.insert(format!("--{long}"));
        }
        for alias in arg.get_all_aliases().into_iter().flatten() {
            flags.insert(format!("--{alias}"));
        }
        let helps = [arg.get_help(), arg.get_long_help()];
        texts.extend(helps.into_iter().flatten().map(|s| s.to_string()));
    }
    for sub in command.get_subcommands() {
        walk(sub, flags, texts);
    }
}

/// The string literals of Rust source `text` (escapes left as written;
/// comments, char literals and lifetimes skipped).
fn string_literals(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b'\'' => {
                // A char literal ('x', '\n', '"') or a lifetime ('a).
                if bytes.get(i + 1) == Some(&b'\\') {
                    i += 2;
                    while i < bytes.len() && bytes[i] != b'\'' {
                        i += 1;
                    }
                    i += 1;
                } else if bytes.get(i + 2) == Some(&b'\'') {
                    i += 3;
                } else {
                    i += 1;
                }
            }
            b'r' if matches!(bytes.get(i + 1), Some(b'"' | b'#'))
                && !bytes
                    .get(i.wrapping_sub(1))
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_') =>
            {
                let hashes = bytes[i + 1..].iter().take_while(|c| **c == b'#').count();
                let start = i + 1 + hashes;
                if bytes.get(start) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let close = format!("\"{}", "#".repeat(hashes));
                let body = &text[start + 1..];
                let end = body.find(&close).unwrap_or(body.len());
                out.push(body[..end].to_owned());
                i = start + 1 + end + close.len();
            }
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                out.push(text[start..i.min(text.len())].to_owned());
                i += 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// The `--flag`s `text` names as lock2build's: outside backtick spans, or
/// inside one that starts with `lock2build`.
fn mentioned_flags(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (n, part) in text.split('`').enumerate() {
        let in_backticks = n % 2 == 1;
        let first = part.split_whitespace().next().unwrap_or_default();
        if in_backticks && !first.starts_with("--") && first != "lock2build" {
            continue;
        }
        let bytes = part.as_bytes();
        for (at, _) in part.match_indices("--") {
            let before = at.checked_sub(1).and_then(|b| bytes.get(b));
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'-') {
                continue;
            }
            let name: String = part[at + 2..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            if name.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
                found.push(format!("--{}", name.trim_end_matches('-')));
            }
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_flag_a_help_or_hint_names_exists() {
    let mut flags = BTreeSet::new();
    let mut texts = Vec::new();
    walk(&Cli::command(), &mut flags, &mut texts);
    let mut unknown = Vec::new();
    for text in &texts {
        for flag in mentioned_flags(text) {
            if !flags.contains(&flag) {
                unknown.push(format!("--help text: {flag} in {text:?}"));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    for krate in std::fs::read_dir(root.join("crates")).unwrap().flatten() {
        rust_files(&krate.path().join("src"), &mut files);
    }
    assert!(files.len() > 50, "{files:?}");
    for file in &files {
        if file.ends_with("flag_mentions.rs") {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        let rel = file.strip_prefix(root).unwrap_or(file);
        let other_tools: BTreeSet<&str> = OTHER_TOOLS
            .iter()
            .filter(|(path, _, _)| rel == Path::new(path))
            .map(|(_, flag, _)| *flag)
            .collect();
        for literal in string_literals(&text).iter().filter(|l| l.contains(' ')) {
            for flag in mentioned_flags(literal) {
                if !flags.contains(&flag) && !other_tools.contains(flag.as_str()) {
                    unknown.push(format!("{}: {flag} in {literal:?}", rel.display()));
                }
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "flags lock2build does not have:\n{}",
        unknown.join("\n")
    );
}

#[test]
fn the_scanner_finds_what_it_should() {
    let source = r##"let a = "run `lock2build fetch --offline` or pass --nope"; // "--comment x"
        let c = '"'; let d = r#"raw --raw-flag here"#; let e = "`pip install --user x` and --only";"##;
    let literals = string_literals(source);
    assert_eq!(
        literals,
        [
            "run `lock2build fetch --offline` or pass --nope",
            "raw --raw-flag here",
            "`pip install --user x` and --only"
        ]
    );
    let flags: Vec<String> = literals.iter().flat_map(|l| mentioned_flags(l)).collect();
    assert_eq!(flags, ["--offline", "--nope", "--raw-flag", "--only"]);
}
