//! Deterministic mutation fuzzing: damaged lockfiles and manifests must give
//! `Ok` or `Err`, never a panic. A fixed seed keeps every run the same; no
//! fuzzing crate needed.

mod common;

use common::{fixture_dir, fixture_files, import_with, lock_text, DirFiles};
use lock2build_model::ProjectFiles;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

/// splitmix64: small, seedable, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Things to splice in: TOML punctuation, odd characters, and pieces of
/// Cargo.lock grammar in wrong places.
const PALETTE: [&str; 26] = [
    "\"",
    "[",
    "]",
    "=",
    "\n",
    "#",
    " ",
    "0",
    "9",
    "x",
    "é",
    "+",
    "?",
    "(",
    ")",
    ",",
    "{",
    "}",
    ".",
    "-",
    "[[package]]\n",
    "version = 5\n",
    "dependencies = [\"a\", \"a 1.0.0\", \"b 1 (git+https://h/r)\"]\n",
    // 64 bytes whose byte pairs straddle characters.
    "checksum = \"aéééééééééééééééééééééééééééééééb\"",
    "source = \"git+https://x?rev=1\"\n",
    "[metadata]\n\"checksum a 1.0.0 (registry+https://x)\" = \"<none>\"\n",
];

/// Character boundaries of `text`, so every cut keeps valid UTF-8.
fn boundaries(text: &str) -> Vec<usize> {
    text.char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()))
        .collect()
}

fn mutate(text: &str, rng: &mut Rng) -> String {
    let cuts = boundaries(text);
    let pick = |rng: &mut Rng| cuts.get(rng.below(cuts.len())).copied().unwrap_or(0);
    let (a, b) = {
        let (x, y) = (pick(rng), pick(rng));
        (x.min(y), x.max(y))
    };
    let token = PALETTE.get(rng.below(PALETTE.len())).copied().unwrap_or("");
    let (head, tail) = (text.get(..a).unwrap_or(""), text.get(a..).unwrap_or(""));
    match rng.below(7) {
        // Replace one character.
        0 => {
            let mut chars = tail.chars();
            chars.next();
            format!("{head}{token}{}", chars.as_str())
        }
        // Insert.
        1 => format!("{head}{token}{tail}"),
        // Delete a span (kept short most of the time).
        2 => {
            let end = if rng.below(4) == 0 {
                b
            } else {
                boundaries(tail).get(rng.below(8)).map_or(a, |n| a + n)
            };
            format!("{head}{}", text.get(end.max(a)..).unwrap_or(""))
        }
        // Duplicate a span.
        3 => format!(
            "{}{}",
            text.get(..b).unwrap_or(""),
            text.get(a..).unwrap_or("")
        ),
        // Swap two lines.
        4 => {
            let mut lines: Vec<&str> = text.lines().collect();
            let (i, j) = (rng.below(lines.len()), rng.below(lines.len()));
            if i < lines.len() && j < lines.len() {
                lines.swap(i, j);
            }
            lines.join("\n")
        }
        // Replace a whole line.
        5 => {
            let mut lines: Vec<&str> = text.lines().collect();
            let i = rng.below(lines.len());
            if let Some(line) = lines.get_mut(i) {
                *line = token;
            }
            lines.join("\n")
        }
        // Drop a line.
        _ => {
            let mut lines: Vec<&str> = text.lines().collect();
            let i = rng.below(lines.len());
            if i < lines.len() {
                lines.remove(i);
            }
            lines.join("\n")
        }
    }
}

/// Runs `import` on `lock`, returning a description of the case if it
/// panicked.
fn survives(lock: &str, files: &dyn ProjectFiles) -> bool {
    catch_unwind(AssertUnwindSafe(|| {
        let _ = import_with(lock, files);
    }))
    .is_ok()
}

#[test]
fn damaged_lockfiles_never_panic() {
    let mut rng = Rng(0x5eed_ca4e);
    let mut failures: Vec<String> = Vec::new();
    let mut cases = 0;
    for name in ["v4-workspace", "v3-git", "v2-msrv", "v1-translated"] {
        let lock = lock_text(name);
        let files = DirFiles(fixture_dir(name));
        // Truncation at ~150 evenly spread places.
        let cuts = boundaries(&lock);
        let step = (cuts.len() / 150).max(1);
        for &cut in cuts.iter().step_by(step) {
            let truncated = lock.get(..cut).unwrap_or("");
            cases += 1;
            if !survives(truncated, &files) {
                failures.push(format!("{name}: truncated at byte {cut}"));
            }
        }
        // Random edits, one to three at a time.
        for case in 0..700 {
            let mut text = lock.clone();
            for _ in 0..=rng.below(3) {
                text = mutate(&text, &mut rng);
            }
            cases += 1;
            if !survives(&text, &files) {
                failures.push(format!("{name}: mutation {case}:\n{text}"));
            }
        }
    }
    assert!(cases > 3000);
    assert!(
        failures.is_empty(),
        "{} of {cases} cases panicked; first:\n{}",
        failures.len(),
        failures[0]
    );
}

#[test]
fn damaged_manifests_never_panic() {
    let mut rng = Rng(0xca4e_70e1);
    let lock = lock_text("v4-workspace");
    let pristine = fixture_files("v4-workspace");
    let mut failures: Vec<String> = Vec::new();
    let manifests: Vec<PathBuf> = pristine.0.keys().cloned().collect();
    for case in 0..600 {
        let mut files = pristine.clone();
        let Some(path) = manifests.get(rng.below(manifests.len())) else {
            continue;
        };
        let Some(text) = files.0.get(path).cloned() else {
            continue;
        };
        files.0.insert(path.clone(), mutate(&text, &mut rng));
        if !survives(&lock, &files) {
            failures.push(format!(
                "manifest mutation {case} of {}:\n{}",
                path.display(),
                files.0[path]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases panicked; first:\n{}",
        failures.len(),
        failures[0]
    );
}
