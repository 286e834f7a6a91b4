//! Bad input: clear errors with a line, and no panics on damaged locks.

use lock2build_import_uv::import;
use lock2build_model::{Graph, ImportError, LockInput, MemoryFiles};
use std::path::Path;

fn import_text(text: &str) -> Result<Graph, ImportError> {
    let files = MemoryFiles::empty();
    import(&LockInput {
        path: Path::new("uv.lock"),
        contents: text,
        files: &files,
    })
}

fn lock_of(case: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/uv")
        .join(case)
        .join("uv.lock");
    std::fs::read_to_string(path).unwrap()
}

fn real_lock() -> String {
    lock_of("project")
}

#[test]
fn unknown_version_is_named_with_its_line() {
    let text = real_lock().replacen("version = 1\n", "version = 2\n", 1);
    let e = import_text(&text).unwrap_err();
    assert_eq!(e.line, Some(1));
    assert!(e.message.contains("version 2"), "{e}");
    assert!(e.help.as_deref().unwrap().contains("uv lock"), "{e}");
    assert!(e.to_string().starts_with("uv.lock:1:"), "{e}");

    let e = import_text("# a comment\nversion = \"1\"\n").unwrap_err();
    assert_eq!(e.line, Some(2));
    assert!(e.message.contains("\"1\""), "{e}");
}

#[test]
fn missing_version_is_not_a_uv_lock() {
    let e = import_text("[[package]]\nname = \"a\"\n").unwrap_err();
    assert!(e.message.contains("no top-level `version`"), "{e}");
}

#[test]
fn malformed_toml_points_at_the_line() {
    let mut text = real_lock();
    // Break line 12 (`name = "certifi"`) by removing its closing quote.
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[11], "name = \"certifi\"");
    text = text.replacen("name = \"certifi\"\n", "name = \"certifi\n", 1);
    let e = import_text(&text).unwrap_err();
    assert_eq!(e.line, Some(12), "{e}");
    assert!(e.message.starts_with("this uv.lock cannot be read"), "{e}");
}

#[test]
fn unresolvable_dependency_names_its_line() {
    let text = real_lock().replacen(
        "    { name = \"tinygit\" },\n",
        "    { name = \"tinygit\" },\n    { name = \"nope\" },\n",
        1,
    );
    let line = text.lines().position(|l| l.contains("\"nope\"")).unwrap() + 1;
    let e = import_text(&text).unwrap_err();
    assert_eq!(e.line, Some(line), "{e}");
    assert!(e.message.contains("`nope`"), "{e}");

    // A forked name without the version that picks the package.
    let text = real_lock().replacen(
        "    { name = \"numpy\", version = \"2.0.2\", source = { registry = \"https://pypi.org/simple\" }, marker",
        "    { name = \"numpy\", marker",
        1,
    );
    let e = import_text(&text).unwrap_err();
    assert!(e.message.contains("4 entries"), "{e}");
}

#[test]
fn bad_hash_and_bad_git_source_are_reported() {
    let text = real_lock().replacen("hash = \"sha256:b999", "hash = \"sha256:zz99", 1);
    let e = import_text(&text).unwrap_err();
    assert!(e.message.contains("certifi"), "{e}");
    assert!(e.line.is_some());

    let text = real_lock().replacen(
        "?tag=v0.1.0#34291dc979ddc2b9371dcfdf1a139d5cc30ab7e6\" }",
        "?tag=v0.1.0\" }",
        1,
    );
    let e = import_text(&text).unwrap_err();
    assert!(e.message.contains("no `#<commit>`"), "{e}");
}

/// Deterministic mutations of real locks: truncations, byte flips, deleted
/// and duplicated spans. The importer must answer, never panic. The inputs
/// are kept small (debug-mode TOML parsing is slow): the workspace lock, and
/// the fork lock without its wheel lines.
#[test]
fn mutated_locks_never_panic() {
    let fork: String = real_lock()
        .lines()
        .filter(|l| !l.starts_with("    { url = \"https://files"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(import_text(&fork).is_ok());
    let cases = mutate(&lock_of("workspace"), 2000, 0x5eed_1234_abcd_0001)
        + mutate(&fork, 1000, 0xfeed_beef_0000_0007);
    assert!(cases > 3000);
}

fn mutate(text: &str, count: usize, mut seed: u64) -> usize {
    let bytes = text.as_bytes();
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed as usize
    };
    let mut cases = 0;
    for cut in (0..bytes.len()).step_by(bytes.len() / 100 + 1) {
        let _ = import_text(&String::from_utf8_lossy(&bytes[..cut]));
        cases += 1;
    }
    for _ in 0..count {
        let mut mutated = bytes.to_vec();
        let at = next() % mutated.len();
        match next() % 4 {
            0 => {
                let alphabet = b"\"[]{}=,#\n x1.-";
                mutated[at] = alphabet[next() % alphabet.len()];
            }
            1 => {
                let end = (at + next() % 80).min(mutated.len());
                mutated.drain(at..end);
            }
            2 => {
                let end = (at + next() % 200).min(mutated.len());
                let copy = mutated[at..end].to_vec();
                let to = next() % mutated.len();
                mutated.splice(to..to, copy);
            }
            _ => mutated[at] ^= 1 << (next() % 8),
        }
        let _ = import_text(&String::from_utf8_lossy(&mutated));
        cases += 1;
    }
    cases
}
