//! overrides/pypi/build-systems/requirements.txt: every pin is `==` with at
//! least one sha256, every name of requirements.in is pinned, and the
//! backends sdists name most are all there.

mod common;

use std::collections::BTreeMap;
use std::str::FromStr;

const BACKENDS: [&str; 11] = [
    "setuptools",
    "wheel",
    "hatchling",
    "poetry-core",
    "flit-core",
    "pdm-backend",
    "setuptools-scm",
    "cython",
    "maturin",
    "meson-python",
    "scikit-build-core",
];

/// name -> (version, hash count), from `name==version [; marker] \ --hash=...` records.
fn pins(text: &str) -> BTreeMap<String, (String, usize)> {
    let joined = text.replace("\\\n", " ");
    let mut pins = BTreeMap::new();
    for line in joined.lines() {
        let line = line.split(" #").next().unwrap_or(line).trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (requirement, hashes) = match line.find("--hash=") {
            Some(at) => (&line[..at], &line[at..]),
            None => (line, ""),
        };
        let parsed = pep508_rs::Requirement::<pep508_rs::VerbatimUrl>::from_str(requirement.trim())
            .unwrap_or_else(|e| panic!("not a requirement: {requirement}: {e}"));
        let specifiers = match parsed.version_or_url {
            Some(pep508_rs::VersionOrUrl::VersionSpecifier(s)) => s,
            other => panic!("{requirement}: no version specifier ({other:?})"),
        };
        assert_eq!(
            specifiers.len(),
            1,
            "{requirement}: want exactly one specifier"
        );
        let specifier = specifiers.iter().next().unwrap();
        assert_eq!(
            specifier.operator().to_string(),
            "==",
            "{requirement}: not an exact pin"
        );
        let count = hashes
            .split_whitespace()
            .filter(|h| {
                let hex = h
                    .strip_prefix("--hash=sha256:")
                    .unwrap_or_else(|| panic!("{requirement}: bad hash {h}"));
                assert!(
                    hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()),
                    "{requirement}: bad sha256 {hex}"
                );
                true
            })
            .count();
        let name = lock2build_model::normalize_python_name(parsed.name.as_ref());
        pins.insert(name, (specifier.version().to_string(), count));
    }
    pins
}

#[test]
fn build_system_pins_are_exact_and_hashed() {
    let dir = common::community_dir().join("pypi/build-systems");
    let pins = pins(&std::fs::read_to_string(dir.join("requirements.txt")).unwrap());
    assert!(pins.len() >= 20, "{} pins", pins.len());
    for (name, (version, hashes)) in &pins {
        assert!(*hashes >= 1, "{name}=={version} has no hash");
    }
    for backend in BACKENDS {
        assert!(pins.contains_key(backend), "{backend} is not pinned");
    }
    let wanted = std::fs::read_to_string(dir.join("requirements.in")).unwrap();
    for line in wanted
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
    {
        let name = lock2build_model::normalize_python_name(line);
        assert!(
            pins.contains_key(&name),
            "{name} is in requirements.in but not pinned"
        );
    }
}

#[test]
fn the_pin_parser_rejects_loose_pins() {
    let bad = "setuptools>=70 \\\n    --hash=sha256:0000000000000000000000000000000000000000000000000000000000000000\n";
    assert!(std::panic::catch_unwind(|| pins(bad)).is_err());
    let no_hash = "wheel==0.45.1\n";
    assert_eq!(pins(no_hash).get("wheel").map(|p| p.1), Some(0));
}
