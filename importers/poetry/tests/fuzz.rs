//! Mutated fixtures never make the importer panic.

mod common;

use common::*;

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const INTERESTING: [&str; 12] = [
    "\"", "[", "]", "=", "\n", "{", "}", ",", "2.1", "1.1", "||", "\u{e9}",
];

fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(bytes.len());
        match rng.below(4) {
            0 => bytes.truncate(at),
            1 => {
                if let Some(b) = bytes.get_mut(at) {
                    *b ^= 1 << rng.below(8);
                }
            }
            2 => {
                let end = (at + 1 + rng.below(64)).min(bytes.len());
                bytes.drain(at..end);
            }
            _ => {
                let insert = INTERESTING[rng.below(INTERESTING.len())].as_bytes();
                let at = at.min(bytes.len());
                bytes.splice(at..at, insert.iter().copied());
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Runs `mutations` mutated copies of lock and manifest, plus `truncations`
/// evenly spaced truncations of the lock; returns the number of cases.
fn run(rng: &mut Rng, name: &str, truncations: usize, mutations: usize) -> usize {
    let lock = read(name, "poetry.lock");
    let pyproject = read(name, "pyproject.toml");
    let mut cases = 0;
    for cut in (0..lock.len()).step_by((lock.len() / truncations).max(1)) {
        let text = String::from_utf8_lossy(&lock.as_bytes()[..cut]).into_owned();
        let _ = import_text(name, &text, Some(&pyproject));
        cases += 1;
    }
    for _ in 0..mutations {
        let _ = import_text(name, &mutate(rng, &lock), Some(&pyproject));
        let _ = import_text(name, &lock, Some(&mutate(rng, &pyproject)));
        let _ = import_text(name, &mutate(rng, &lock), None);
        cases += 3;
    }
    cases
}

#[test]
fn mutations_never_panic() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    // The small lock (every source kind) takes most cases; the large ones
    // fewer, since a debug build parses 70 KB of TOML slowly.
    let mut cases = run(&mut rng, "local-sources", 600, 900);
    for name in ["markers-extras", "lock-2.0", "lock-1.1"] {
        cases += run(&mut rng, name, 30, 30);
    }
    assert!(cases > 3000, "{cases}");
}
