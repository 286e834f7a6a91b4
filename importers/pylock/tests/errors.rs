//! Bad input: clear errors with a line, and no panics on damaged locks.

use lock2build_import_pylock::import;
use lock2build_model::{Graph, ImportError, LockInput, MemoryFiles};
use std::path::Path;

fn import_text(text: &str) -> Result<Graph, ImportError> {
    let files = MemoryFiles::empty();
    import(&LockInput {
        path: Path::new("pylock.toml"),
        contents: text,
        files: &files,
    })
}

fn real_lock() -> String {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/pylock/uv-export/pylock.toml");
    std::fs::read_to_string(path).unwrap()
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn another_lock_version_is_named_with_its_line() {
    let text = real_lock().replacen("lock-version = \"1.0\"", "lock-version = \"2.0\"", 1);
    let e = import_text(&text).unwrap_err();
    assert_eq!(e.line, Some(line_of(&text, "lock-version")), "{e}");
    assert!(e.message.contains("\"2.0\" is not supported"), "{e}");
    assert!(
        e.help
            .as_deref()
            .unwrap()
            .contains("uv export --format pylock.toml"),
        "{e}"
    );

    let e = import_text("[[packages]]\nname = \"a\"\n").unwrap_err();
    assert!(e.message.contains("no top-level `lock-version`"), "{e}");
}

#[test]
fn malformed_toml_points_at_the_line() {
    let text = real_lock().replacen("name = \"six\"", "name = \"six", 1);
    let e = import_text(&text).unwrap_err();
    assert_eq!(e.line, Some(line_of(&text, "name = \"six")), "{e}");
    assert!(
        e.message.starts_with("this pylock.toml cannot be read"),
        "{e}"
    );
}

#[test]
fn a_file_without_a_hash_or_a_commit_is_refused() {
    let text = real_lock().replacen(
        ", hashes = { sha256 = \"946d195a0d259cbba61165e88e65941f16e9b36ea6ddb97f00452bae8b1287d3\" }",
        "",
        1,
    );
    let e = import_text(&text).unwrap_err();
    assert!(e.message.contains("package `idna`"), "{e}");
    assert!(e.message.contains("has no `hashes`"), "{e}");
    assert!(e.line.is_some());

    let text = "lock-version = \"1.0\"\ncreated-by = \"x\"\n[[packages]]\nname = \"g\"\nvcs = { type = \"git\", url = \"https://example.org/g.git\" }\n";
    let e = import_text(text).unwrap_err();
    assert_eq!(e.line, Some(5), "{e}");
    assert!(e.message.contains("no `commit-id`"), "{e}");

    let text = "lock-version = \"1.0\"\ncreated-by = \"x\"\n[[packages]]\nname = \"h\"\nvcs = { type = \"hg\", url = \"https://example.org/h\", commit-id = \"abc\" }\n";
    assert!(import_text(text)
        .unwrap_err()
        .message
        .contains("git repositories only"));
}

#[test]
fn a_package_with_two_sources_or_none_is_refused() {
    let text = "lock-version = \"1.0\"\ncreated-by = \"x\"\n[[packages]]\nname = \"a\"\nversion = \"1\"\ndirectory = { path = \"a\" }\narchive = { url = \"https://x/a-1.tar.gz\", hashes = { sha256 = \"00\" } }\n";
    let e = import_text(text).unwrap_err();
    assert!(e.message.contains("exactly one of"), "{e}");
    let text =
        "lock-version = \"1.0\"\ncreated-by = \"x\"\n[[packages]]\nname = \"a\"\nversion = \"1\"\n";
    assert!(import_text(text)
        .unwrap_err()
        .message
        .contains("exactly one of"));
}

#[test]
fn a_group_marker_that_cannot_be_read_is_refused_not_guessed() {
    let text = "lock-version = \"1.0\"\ncreated-by = \"x\"\ndependency-groups = [\"dev\"]\n[[packages]]\nname = \"a\"\nversion = \"1\"\nmarker = \"os_name == 'nt' or 'dev' in dependency_groups\"\ndirectory = { path = \"a\" }\n";
    let e = import_text(text).unwrap_err();
    assert_eq!(e.line, Some(7), "{e}");
    assert!(e.message.contains("dependency_groups"), "{e}");

    // An extra the lock does not list is warned about.
    let text = "lock-version = \"1.0\"\ncreated-by = \"x\"\nextras = [\"a\"]\n[[packages]]\nname = \"b\"\nversion = \"1\"\nmarker = \"'socks' in extras\"\ndirectory = { path = \"b\" }\n";
    let graph = import_text(text).unwrap();
    assert_eq!(graph.warnings.len(), 1);
    assert!(
        graph.warnings[0].message.contains("extra `socks`"),
        "{:?}",
        graph.warnings
    );
}
