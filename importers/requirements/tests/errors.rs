//! Bad input: files that are not locks, broken includes, malformed lines;
//! each error names the file and line. And no panics on damaged files.

use lock2build_import_requirements::import;
use lock2build_model::{Graph, ImportError, LockInput, MemoryFiles};
use std::path::{Path, PathBuf};

const HINT: &str = "pip-compile --generate-hashes requirements.in";

fn fixture(case: &str, file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/requirements")
        .join(case)
        .join(file);
    std::fs::read_to_string(path).unwrap()
}

fn import_with(path: &str, text: &str, files: &MemoryFiles) -> Result<Graph, ImportError> {
    import(&LockInput {
        path: Path::new(path),
        contents: text,
        files,
    })
}

fn import_text(path: &str, text: &str) -> Result<Graph, ImportError> {
    import_with(path, text, &MemoryFiles::empty())
}

#[test]
fn unpinned_requirement_is_not_a_lock() {
    let e = import_text("bad/unpinned.txt", &fixture("bad", "unpinned.txt")).unwrap_err();
    assert_eq!(
        (e.file.as_path(), e.line),
        (Path::new("bad/unpinned.txt"), Some(1))
    );
    assert!(
        e.message.contains("not pinned") && e.message.contains("flask"),
        "{e}"
    );
    assert!(e.help.as_deref().unwrap().contains(HINT), "{e}");
    assert!(
        e.to_string()
            .starts_with("bad/unpinned.txt:1: requirement not pinned"),
        "{e}"
    );
}

#[test]
fn unhashed_requirement_is_not_a_lock() {
    let text = fixture("bad", "unhashed.txt");
    let e = import_text("bad/unhashed.txt", &text).unwrap_err();
    let first = text
        .lines()
        .position(|l| l.starts_with("blinker=="))
        .unwrap()
        + 1;
    assert_eq!(e.line, Some(first), "{e}");
    assert!(
        e.message.contains("`blinker==1.9.0` has no `--hash`"),
        "{e}"
    );
    assert!(
        e.help
            .as_deref()
            .unwrap()
            .contains("uv pip compile --generate-hashes"),
        "{e}"
    );
}

#[test]
fn missing_include_names_the_file_and_line() {
    let files = MemoryFiles::empty().with("base.txt", fixture("bad", "base.txt"));
    let e = import_with(
        "bad/missing-include.txt",
        &fixture("bad", "missing-include.txt"),
        &files,
    )
    .unwrap_err();
    assert_eq!(
        (e.file.as_path(), e.line),
        (Path::new("bad/missing-include.txt"), Some(2))
    );
    assert!(e.message.contains("bad/missing.txt"), "{e}");
}

#[test]
fn errors_in_included_files_name_that_file() {
    let files = MemoryFiles::empty()
        .with("sub/deps.txt", "-r ../more.txt\n")
        .with("more.txt", "# header\n\nflask==3.1.3\n");
    let e = import_with("app/requirements.txt", "-r sub/deps.txt\n", &files).unwrap_err();
    assert_eq!((e.file, e.line), (PathBuf::from("app/more.txt"), Some(3)),);
}

#[test]
fn include_cycles_end_and_each_file_is_read_once() {
    let hash = "--hash=sha256:4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274";
    let files = MemoryFiles::empty()
        .with("a.txt", format!("-r b.txt\nsix==1.17.0 {hash}\n"))
        .with("b.txt", "-r a.txt\n-r ./requirements.txt\n");
    let graph = import_with("requirements.txt", "-r a.txt\n", &files).unwrap();
    assert_eq!(graph.packages.len(), 2);
    assert_eq!(graph.packages[1].location.as_deref(), Some("a.txt"));
    assert_eq!(graph.packages[1].line, Some(2));
}

#[test]
fn double_pin_without_markers_is_refused() {
    let text = fixture("universal", "requirements.txt").replacen(
        "numpy==2.2.6 ; python_full_version == '3.10.*' \\",
        "numpy==2.2.6 \\",
        1,
    );
    let e = import_text("requirements.txt", &text).unwrap_err();
    let line = text
        .lines()
        .position(|l| l.starts_with("numpy==2.2.6"))
        .unwrap()
        + 1;
    assert_eq!(e.line, Some(line), "{e}");
    assert!(
        e.message.contains("pinned twice") && e.message.contains("==2.0.2"),
        "{e}"
    );
}

#[test]
fn bad_hash_on_a_continuation_line_points_at_that_line() {
    let text = fixture("pip-compile", "requirements.txt");
    let bad = text.replacen("--hash=sha256:ba0efaa9", "--hash=sha256:zz0efaa9", 1);
    let line = bad.lines().position(|l| l.contains("zz0efaa9")).unwrap() + 1;
    let e = import_text("requirements.txt", &bad).unwrap_err();
    assert_eq!(e.line, Some(line), "{e}");
    assert!(e.message.contains("bad `--hash`"), "{e}");
}

#[test]
fn unknown_option_is_an_error_and_binary_options_warn() {
    let e = import_text("r.txt", "# x\n--frobnicate yes\n").unwrap_err();
    assert_eq!(e.line, Some(2));
    assert!(e.message.contains("--frobnicate"), "{e}");

    let text = format!(
        "--only-binary :all:\n-c constraints.txt\n{}",
        fixture("universal", "requirements.txt")
    );
    let graph = import_text("r.txt", &text).unwrap();
    let lines: Vec<Option<usize>> = graph.warnings.iter().map(|w| w.line).collect();
    assert_eq!(lines, [Some(1), Some(2)]);
}

#[test]
fn index_options_set_the_registry() {
    let hash = "--hash=sha256:4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274";
    let text = format!("--no-index\n--find-links /srv/wheels\n--extra-index-url https://mirror/simple\nsix==1.17.0 {hash}\n");
    let graph = import_text("r.txt", &text).unwrap();
    assert_eq!(
        graph.packages[1].source,
        lock2build_model::Source::Registry {
            url: "/srv/wheels".into()
        }
    );
    assert_eq!(graph.warnings.len(), 1, "{:?}", graph.warnings);
    assert!(graph.warnings[0].message.contains("https://mirror/simple"));

    let graph = import_text(
        "r.txt",
        &format!("-i https://mirror/simple\nsix==1.17.0 {hash}\n"),
    )
    .unwrap();
    assert_eq!(
        graph.packages[1].source,
        lock2build_model::Source::Registry {
            url: "https://mirror/simple".into()
        }
    );
}

#[test]
fn editable_and_git_lines() {
    let text = "-e ./libs/tool\nt @ git+https://h/r.git@34291dc979ddc2b9371dcfdf1a139d5cc30ab7e6\n";
    let graph = import_text("r.txt", text).unwrap();
    assert_eq!(graph.packages[1].name, "tool");
    assert_eq!(
        graph.packages[1].source,
        lock2build_model::Source::Directory {
            path: "./libs/tool".into(),
            editable: true
        }
    );
    assert!(
        matches!(&graph.packages[2].source, lock2build_model::Source::Git { commit, .. } if commit.starts_with("34291dc"))
    );
    let e = import_text("r.txt", "t @ git+https://h/r.git@main\n").unwrap_err();
    assert!(e.message.contains("not pinned"), "{e}");
}

/// Deterministic mutations of a real file: truncations, byte changes,
/// deleted and duplicated spans. The importer must answer, never panic.
#[test]
fn mutated_files_never_panic() {
    let files = MemoryFiles::empty().with("base.txt", fixture("include", "base.txt"));
    let mut cases = 0;
    for (text, seed) in [
        (
            fixture("universal", "requirements.txt"),
            0x1234_5678_9abc_def1_u64,
        ),
        (
            format!(
                "-r base.txt\n{}",
                fixture("pip-compile", "requirements.txt")
            ),
            0x0fed_cba9_8765_4321,
        ),
    ] {
        let bytes = text.as_bytes();
        let mut seed = seed;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as usize
        };
        for cut in (0..bytes.len()).step_by(bytes.len() / 150 + 1) {
            let _ = import_with(
                "requirements.txt",
                &String::from_utf8_lossy(&bytes[..cut]),
                &files,
            );
            cases += 1;
        }
        for _ in 0..1500 {
            let mut mutated = bytes.to_vec();
            let at = next() % mutated.len();
            match next() % 4 {
                0 => {
                    let alphabet = b"\\@;[]=#-: \n\t=.~<>*+'\"";
                    mutated[at] = alphabet[next() % alphabet.len()];
                }
                1 => {
                    let end = (at + next() % 60).min(mutated.len());
                    mutated.drain(at..end);
                }
                2 => {
                    let end = (at + next() % 150).min(mutated.len());
                    let copy = mutated[at..end].to_vec();
                    let to = next() % mutated.len();
                    mutated.splice(to..to, copy);
                }
                _ => mutated[at] ^= 1 << (next() % 8),
            }
            let _ = import_with(
                "requirements.txt",
                &String::from_utf8_lossy(&mutated),
                &files,
            );
            cases += 1;
        }
    }
    assert!(cases > 3000);
}
