//! Mutated inputs never panic: truncations and byte flips of real package
//! files, providers.toml and a lock2build.toml (fixed seed), through the
//! loader, plus the same bytes as build logs and sonames for the guessers.

mod common;

use lock2build_overrides::{guess_from_log, guess_from_needed, Database, LayerKind, LayerSource};

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn mutated_inputs_never_panic() {
    let community = common::community();
    let seeds = [
        std::fs::read_to_string(common::community_dir().join("pypi/cryptography.toml")).unwrap(),
        std::fs::read_to_string(common::community_dir().join("crates/libgit2-sys.toml")).unwrap(),
        std::fs::read_to_string(common::community_dir().join("providers.toml")).unwrap()[..3000].to_owned(),
        "[overrides.pypi.Pillow]\nversions = \">=10\"\nnative = [\"zlib\"]\nenv = { A = \"1\" }\n[[overrides.npm.x.entry]]\nversions = \"^1 || >=3 <4\"\n".to_owned(),
    ];
    let mut rng = Lcg(0x1234_5678);
    let tmp = tempfile::tempdir().unwrap();
    let mut cases = 0;
    for (index, seed) in seeds.iter().enumerate() {
        let bytes = seed.as_bytes();
        for round in 0..700 {
            let mut mutated = bytes.to_vec();
            if round % 2 == 0 {
                mutated.truncate((round * 7) % (bytes.len() + 1));
            } else {
                for _ in 0..1 + rng.next() % 4 {
                    let at = (rng.next() as usize) % mutated.len().max(1);
                    if let Some(b) = mutated.get_mut(at) {
                        *b = b"=[]{}\"',.<>*^~ \n#a0-_"[(rng.next() % 21) as usize];
                    }
                }
            }
            let text = String::from_utf8_lossy(&mutated).into_owned();
            let source = match index {
                0 | 1 => {
                    let dir = tmp.path().join(format!("l{index}"));
                    let eco = if index == 0 { "pypi" } else { "crates" };
                    std::fs::create_dir_all(dir.join(eco)).unwrap();
                    std::fs::write(dir.join(eco).join("pkg.toml"), &text).unwrap();
                    LayerSource::Dir {
                        kind: LayerKind::Project,
                        root: dir,
                    }
                }
                2 => {
                    let dir = tmp.path().join("p");
                    std::fs::create_dir_all(&dir).unwrap();
                    std::fs::write(dir.join("providers.toml"), &text).unwrap();
                    LayerSource::Dir {
                        kind: LayerKind::User,
                        root: dir,
                    }
                }
                _ => LayerSource::ConfigText {
                    kind: LayerKind::Project,
                    file: "lock2build.toml".into(),
                    text: text.clone(),
                },
            };
            // Alone (not over the community layer) to keep thousands of loads fast.
            let (db, _errors) = Database::load_lenient(&[source]);
            for version in ["1.0", "0.14.2+1.5.1", "", "not.a.version", "43.0.0"] {
                let _ = db.resolve(lock2build_model::Ecosystem::Pypi, "pkg", version);
                let _ = db.resolve(lock2build_model::Ecosystem::Crates, "pkg", version);
            }
            let _ = guess_from_log(community.providers(), &text);
            let _ = guess_from_needed(
                community.providers(),
                &text.lines().map(String::from).collect::<Vec<_>>(),
            );
            cases += 1;
        }
    }
    assert_eq!(cases, 2800);
}
