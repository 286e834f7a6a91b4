//! Deterministic mutation fuzzing: damaged locks and manifests must give
//! `Ok` or `Err`, never a panic.

mod common;

use common::{import_text, texts};
use serde_json::{json, Value};

/// A small fixed-seed generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SMALL_CASES: [&str; 4] = ["v3-resolved", "v1", "workspace", "v3-no-resolved"];

fn check(case: &str, what: &str, lock: &str, manifest: Option<&str>) {
    let outcome =
        std::panic::catch_unwind(|| import_text(lock, manifest).map(|g| g.packages.len()));
    if outcome.is_err() {
        let dump = std::env::temp_dir().join("npm-fuzz-crash.json");
        let _ = std::fs::write(&dump, lock);
        panic!(
            "{case}: import panicked on {what}; input saved to {}",
            dump.display()
        );
    }
}

#[test]
fn byte_mutations_never_panic() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for case in SMALL_CASES {
        let (lock, manifest) = texts(case);
        let bytes = lock.as_bytes();
        // Truncate at every 97th byte.
        for cut in (0..bytes.len()).step_by(97) {
            let text = String::from_utf8_lossy(&bytes[..cut]);
            check(
                case,
                &format!("truncation at {cut}"),
                &text,
                manifest.as_deref(),
            );
        }
        // Flip, delete, duplicate or replace with JSON punctuation.
        for round in 0..400 {
            let mut mutated = bytes.to_vec();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(mutated.len());
                match rng.below(4) {
                    0 => mutated[at] ^= 1 << rng.below(8),
                    1 => {
                        mutated.remove(at);
                    }
                    2 => {
                        let b = mutated[at];
                        mutated.insert(at, b);
                    }
                    _ => mutated[at] = b"{}[]\":,0tn\\"[rng.below(11)],
                }
            }
            let text = String::from_utf8_lossy(&mutated);
            check(
                case,
                &format!("byte round {round}"),
                &text,
                manifest.as_deref(),
            );
        }
    }
}

/// Replacement values of every JSON type, including the awkward ones.
fn odd_value(rng: &mut Rng) -> Value {
    match rng.below(10) {
        0 => Value::Null,
        1 => json!(true),
        2 => json!(-1),
        3 => json!(""),
        4 => json!("npm:@"),
        5 => json!("git+ssh://x#"),
        6 => json!(["linux", 3]),
        7 => json!({"a": "b", "": {}}),
        8 => json!("node_modules/../../x"),
        _ => json!({"link": true, "resolved": "node_modules/a"}),
    }
}

/// Replaces one randomly chosen value somewhere in `value`.
fn mutate(value: &mut Value, rng: &mut Rng, depth: usize) {
    let children = match value {
        Value::Object(map) => map.len(),
        Value::Array(list) => list.len(),
        _ => 0,
    };
    if children == 0 || (depth > 0 && rng.below(4) == 0) {
        *value = odd_value(rng);
        return;
    }
    let pick = rng.below(children);
    let child = match value {
        Value::Object(map) => map.values_mut().nth(pick),
        Value::Array(list) => list.get_mut(pick),
        _ => None,
    };
    if let Some(child) = child {
        mutate(child, rng, depth + 1);
    }
}

#[test]
fn structural_mutations_never_panic() {
    let mut rng = Rng(0xfeed_beef_0bad_cafe);
    for case in SMALL_CASES {
        let (lock, manifest) = texts(case);
        let original: Value = serde_json::from_str(&lock).unwrap();
        let manifest_value: Value = serde_json::from_str(manifest.as_deref().unwrap()).unwrap();
        for round in 0..500 {
            let mut value = original.clone();
            for _ in 0..1 + rng.below(3) {
                mutate(&mut value, &mut rng, 0);
            }
            let text = serde_json::to_string_pretty(&value).unwrap();
            let manifest_text = if round % 5 == 0 {
                let mut m = manifest_value.clone();
                mutate(&mut m, &mut rng, 0);
                m.to_string()
            } else {
                manifest.clone().unwrap()
            };
            check(
                case,
                &format!("structural round {round}"),
                &text,
                Some(&manifest_text),
            );
        }
    }
}
