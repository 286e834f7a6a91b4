//! Every Debian package named in overrides/providers.toml exists in Debian
//! 12, and ships what the table says: each pkg-config module as
//! `<module>.pc`, each header under an include directory, each linker name,
//! each program (a tool needs one of its programs). A metapackage may ship
//! them through what it depends on (up to two levels, first alternatives).
//!
//! Needs apt data (`apt-get update`); downloads the `.deb`s with
//! `apt-get download` into `target/tmp/debian-debs` (kept between runs).
//! Without `apt-cache` the test says so and passes.

mod common;

use lock2build_overrides::IdKind;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

struct Apt {
    cache: PathBuf,
    contents: BTreeMap<String, Vec<String>>,
    depends: BTreeMap<String, Vec<String>>,
}

impl Apt {
    /// `apt-cache show NAME` succeeds; remembers its first Depends alternatives.
    fn show(&mut self, name: &str) -> bool {
        if self.depends.contains_key(name) {
            return true;
        }
        let Ok(out) = Command::new("apt-cache")
            .args(["show", "--no-all-versions", name])
            .output()
        else {
            return false;
        };
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() || !text.contains("Package:") {
            return false;
        }
        let depends = text
            .lines()
            .filter_map(|l| {
                l.strip_prefix("Depends:")
                    .or_else(|| l.strip_prefix("Pre-Depends:"))
            })
            .flat_map(|d| -> Vec<String> {
                d.split(',')
                    .filter_map(|alt| alt.split('|').next())
                    .map(|p| p.trim().split([' ', ':']).next().unwrap_or("").to_owned())
                    .filter(|p| !p.is_empty())
                    .collect()
            })
            .collect();
        self.depends.insert(name.to_owned(), depends);
        true
    }

    /// Downloads (once) and lists the files of the given packages.
    fn fetch(&mut self, names: &[String]) {
        let missing: Vec<&String> = names
            .iter()
            .filter(|n| !self.contents.contains_key(*n) && deb_file(&self.cache, n).is_none())
            .collect();
        if !missing.is_empty() {
            let status = Command::new("apt-get")
                .arg("download")
                .args(&missing)
                .current_dir(&self.cache)
                .output()
                .expect("apt-get runs");
            assert!(
                status.status.success(),
                "apt-get download failed: {}",
                String::from_utf8_lossy(&status.stderr)
            );
        }
        for name in names {
            if self.contents.contains_key(name) {
                continue;
            }
            let deb = deb_file(&self.cache, name)
                .unwrap_or_else(|| panic!("{name}: no .deb after download"));
            let out = Command::new("dpkg-deb")
                .arg("-c")
                .arg(&deb)
                .output()
                .expect("dpkg-deb runs");
            let files = String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| {
                    l.split_whitespace()
                        .nth(5)
                        .map(|p| p.trim_start_matches('.').to_owned())
                })
                .collect();
            self.contents.insert(name.clone(), files);
        }
    }

    /// The listed packages plus their dependencies, `depth` levels down.
    fn closure(&mut self, names: &[String], depth: usize) -> Vec<String> {
        let mut all: BTreeSet<String> = names.iter().cloned().collect();
        let mut frontier: Vec<String> = names.to_vec();
        for _ in 0..depth {
            let mut next = Vec::new();
            for name in &frontier {
                self.show(name);
                for dep in self.depends.get(name).cloned().unwrap_or_default() {
                    if self.show(&dep) && all.insert(dep.clone()) {
                        next.push(dep);
                    }
                }
            }
            frontier = next;
        }
        all.into_iter().collect()
    }

    fn files(&mut self, names: &[String]) -> Vec<String> {
        self.fetch(names);
        names
            .iter()
            .flat_map(|n| self.contents.get(n).cloned().unwrap_or_default())
            .collect()
    }
}

fn deb_file(dir: &Path, name: &str) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|f| f.to_str())
                .is_some_and(|f| f.starts_with(&format!("{name}_")) && f.ends_with(".deb"))
        })
}

/// A promise of the table and the check of one file path against it.
type Promise = (String, Box<dyn Fn(&str) -> bool>);

/// What a provider promises, as checks over file paths.
fn promises(provider: &lock2build_overrides::Provider) -> Vec<Promise> {
    let mut checks: Vec<Promise> = Vec::new();
    for module in &provider.pkg_config {
        let suffix = format!("/pkgconfig/{module}.pc");
        checks.push((
            format!("pkg-config module {module}"),
            Box::new(move |p: &str| p.ends_with(&suffix)),
        ));
    }
    for header in &provider.headers {
        let suffix = format!("/{header}");
        checks.push((
            format!("header {header}"),
            Box::new(move |p: &str| p.contains("/include/") && p.ends_with(&suffix)),
        ));
    }
    for library in &provider.libraries {
        let suffix = format!("/{library}");
        checks.push((
            format!("library {library}"),
            Box::new(move |p: &str| p.ends_with(&suffix)),
        ));
    }
    match provider.kind {
        IdKind::Native => {
            for binary in &provider.binaries {
                let path = format!("/usr/bin/{binary}");
                checks.push((
                    format!("program {binary}"),
                    Box::new(move |p: &str| p == path),
                ));
            }
        }
        IdKind::Tool => {
            let paths: Vec<String> = provider
                .binaries
                .iter()
                .flat_map(|b| [format!("/usr/bin/{b}"), format!("/bin/{b}")])
                .collect();
            checks.push((
                format!("one of the programs {:?}", provider.binaries),
                Box::new(move |p: &str| paths.iter().any(|b| b == p)),
            ));
        }
    }
    checks
}

#[test]
fn debian_packages_exist_and_ship_what_the_table_says() {
    if Command::new("apt-cache").arg("--version").output().is_err() {
        eprintln!(
            "SKIPPED: apt-cache is not installed, so Debian package names cannot be checked here"
        );
        return;
    }
    let db = common::community();
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("debian-debs");
    std::fs::create_dir_all(&cache).expect("cache dir");
    let mut apt = Apt {
        cache,
        contents: BTreeMap::new(),
        depends: BTreeMap::new(),
    };
    let mut problems = Vec::new();

    // Existence first, for every name; then everything listed is fetched in one go.
    let mut listed = Vec::new();
    for provider in db.providers().iter() {
        for name in &provider.debian {
            if apt.show(name) {
                listed.push(name.clone());
            } else {
                problems.push(format!(
                    "{}: Debian package `{name}` not found by apt-cache show",
                    provider.id
                ));
            }
        }
    }
    if listed.is_empty() {
        eprintln!("SKIPPED: apt-cache knows no package at all; run `apt-get update` first");
        return;
    }
    listed.sort();
    listed.dedup();
    apt.fetch(&listed);

    let mut checked = 0;
    for provider in db.providers().iter() {
        let own: Vec<String> = provider
            .debian
            .iter()
            .filter(|n| apt.depends.contains_key(*n))
            .cloned()
            .collect();
        if own.is_empty() {
            continue;
        }
        for (what, check) in promises(provider) {
            checked += 1;
            let mut found = false;
            for depth in 0..=2 {
                let packages = apt.closure(&own, depth);
                if apt.files(&packages).iter().any(|p| check(p)) {
                    found = true;
                    break;
                }
            }
            if !found {
                problems.push(format!(
                    "{}: {what} is not shipped by {:?} (nor their dependencies)",
                    provider.id, own
                ));
            }
        }
    }
    assert!(checked > 200, "only {checked} promises checked");
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}
