//! `install_wheel` on real wheels: one pip builds from a project written
//! here, and two from PyPI; compared file by file with what pip installs,
//! and refused when tampered with.

mod common;

use common::*;
use lock2build_python::{install_wheel, PythonError, Record};
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Files both installs must have identically (metadata pip writes
/// differently, like RECORD and INSTALLER, left out).
fn comparable(tree: Vec<String>) -> Vec<String> {
    tree.into_iter()
        .filter(|p| {
            !p.ends_with(".dist-info/RECORD")
                && !p.ends_with(".dist-info/INSTALLER")
                && !p.ends_with(".dist-info/REQUESTED")
                && !p.ends_with(".dist-info/direct_url.json")
                && !p.starts_with("bin/")
                && !p.starts_with("include/python")
                && !p.starts_with("include/site/")
        })
        .collect()
}

fn assert_same_as_pip(wheel: &Path) -> (tempfile::TempDir, PathBuf) {
    let work = tempfile::tempdir().unwrap();
    let ours = work.path().join("ours");
    let theirs = work.path().join("pip");
    install_wheel(wheel, &ours, python()).unwrap();
    pip_install(wheel, &theirs);
    let our_files = comparable(tree(&ours));
    assert_eq!(our_files, comparable(tree(&theirs)), "{}", wheel.display());
    assert!(!our_files.is_empty());
    for file in &our_files {
        assert_eq!(
            std::fs::read(ours.join(file)).unwrap(),
            std::fs::read(theirs.join(file)).unwrap(),
            "{file}"
        );
    }
    (work, ours)
}

/// Every file listed in the installed RECORD exists with that hash and
/// size, and every installed file is listed.
fn assert_record_describes(out: &Path, dist_info: &Path) {
    let site = dist_info.parent().unwrap();
    let name = dist_info.file_name().unwrap().to_str().unwrap();
    let text = std::fs::read_to_string(dist_info.join("RECORD")).unwrap();
    let record = Record::parse(&text, name).unwrap();
    let mut listed = Vec::new();
    for (path, entry) in &record.entries {
        let file = site.join(path);
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(
            lock2build_python::record_hash(&bytes)
                .split_once('=')
                .unwrap()
                .0,
            "sha256"
        );
        use sha2::Digest;
        assert_eq!(
            sha2::Sha256::digest(&bytes).to_vec(),
            entry.digest,
            "{path}"
        );
        assert_eq!(entry.size, Some(bytes.len() as u64), "{path}");
        listed.push(std::fs::canonicalize(&file).unwrap());
    }
    assert_eq!(record.unhashed, [format!("{name}/RECORD")]);
    listed.push(std::fs::canonicalize(dist_info.join("RECORD")).unwrap());
    listed.sort();
    let mut on_disk: Vec<PathBuf> = tree(out)
        .iter()
        .map(|p| std::fs::canonicalize(out.join(p)).unwrap())
        .collect();
    on_disk.sort();
    assert_eq!(listed, on_disk);
}

#[test]
fn demo_wheel_installs_like_pip_with_scripts_and_launchers() {
    let wheel = demo_wheel();
    let (_work, out) = assert_same_as_pip(&wheel);
    // Install again for the returned description.
    let again = tempfile::tempdir().unwrap();
    let installed = install_wheel(&wheel, again.path(), python()).unwrap();
    assert_eq!(
        (installed.name.as_str(), installed.version.as_str()),
        ("l2b_demo", "1.0")
    );
    assert_eq!(
        installed.scripts,
        ["l2b-gui", "l2b-hello", "l2b-py", "l2b-shell"]
    );
    assert_eq!(installed.entry_points.len(), 2);
    let site = out.join(&python().site_packages);
    assert!(site.join("l2b_demo/data/greeting.txt").is_file());
    assert_eq!(
        std::fs::read_to_string(out.join("share/l2b-demo/readme.txt")).unwrap(),
        "installed as data\n"
    );
    // `.data/scripts`: the Python one got the interpreter, the shell one is untouched.
    let exe = python().executable.display().to_string();
    let py_script = std::fs::read_to_string(out.join("bin/l2b-py")).unwrap();
    assert!(
        py_script.starts_with(&format!("#!{exe}\nimport sys\n")),
        "{py_script}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("bin/l2b-shell")).unwrap(),
        "#!/bin/sh\necho shell-ok\n"
    );
    let launcher = std::fs::read_to_string(out.join("bin/l2b-hello")).unwrap();
    assert!(
        launcher.starts_with(&format!("#!{exe}\n"))
            && launcher.contains("from l2b_demo.cli import main")
    );
    for script in ["l2b-gui", "l2b-hello", "l2b-py", "l2b-shell"] {
        let meta = std::fs::metadata(out.join("bin").join(script)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o755, "{script}");
    }
    let shell = std::process::Command::new(out.join("bin/l2b-shell"))
        .output()
        .unwrap();
    assert_eq!(shell.stdout, b"shell-ok\n");
    // The launcher runs the entry point once the package and six are on
    // the path (compose_env does that without PYTHONPATH).
    let six = tempfile::tempdir().unwrap();
    let six_site = install_wheel(&six_wheel(), six.path(), python())
        .unwrap()
        .site_packages;
    let hello = run(std::process::Command::new(out.join("bin/l2b-hello"))
        .env(
            "PYTHONPATH",
            format!("{}:{}", site.display(), six_site.display()),
        )
        .env("PYTHONNOUSERSITE", "1"));
    assert!(String::from_utf8_lossy(&hello.stdout).starts_with("hello from package data six"));
    let gui = run(std::process::Command::new(out.join("bin/l2b-gui")).env("PYTHONPATH", &site));
    assert_eq!(gui.stdout, b"gui ok\n");

    let dist_info = site.join("l2b_demo-1.0.dist-info");
    assert_eq!(
        std::fs::read_to_string(dist_info.join("INSTALLER")).unwrap(),
        "lock2build\n"
    );
    assert_record_describes(&out, &dist_info);
    // pip reads our RECORD: it can list the files of the installation.
    let show = run(std::process::Command::new("python3")
        .arg("-c")
        .arg("import importlib.metadata as m, sys; d = m.distribution('l2b-demo'); print(len(d.files)); print(sorted(str(f) for f in d.files if f.name == 'l2b-hello'))")
        .env("PYTHONPATH", &site));
    let shown = String::from_utf8_lossy(&show.stdout);
    assert!(shown.contains("'../../../bin/l2b-hello'"), "{shown}");
}

#[test]
fn installs_are_reproducible_with_normalized_mtimes() {
    let wheel = demo_wheel();
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    install_wheel(&wheel, a.path(), python()).unwrap();
    install_wheel(&wheel, b.path(), python()).unwrap();
    let files = tree(a.path());
    assert_eq!(files, tree(b.path()));
    for file in &files {
        assert_eq!(
            std::fs::read(a.path().join(file)).unwrap(),
            std::fs::read(b.path().join(file)).unwrap()
        );
        let meta = std::fs::metadata(a.path().join(file)).unwrap();
        use std::os::unix::fs::MetadataExt;
        assert_eq!(meta.mtime(), lock2build_store::NORMALIZED_MTIME, "{file}");
        assert!(
            matches!(meta.permissions().mode() & 0o777, 0o644 | 0o755),
            "{file}"
        );
    }
}

#[test]
fn six_from_pypi_installs_like_pip() {
    let (_work, out) = assert_same_as_pip(&six_wheel());
    let dist_info = out
        .join(&python().site_packages)
        .join("six-1.16.0.dist-info");
    assert_record_describes(&out, &dist_info);
}

#[test]
fn pybind11_global_headers_and_data_go_to_their_schemes() {
    let wheel = pybind11_global_wheel();
    let (work, out) = assert_same_as_pip(&wheel);
    let version = format!("python{}", python().version_short());
    // `.data/headers`: pip's `--prefix` scheme puts them in include/python3.X/<name>,
    // its venv scheme (ours) in include/site/python3.X/<name>; same files.
    let ours = out
        .join("include/site")
        .join(&version)
        .join("pybind11-global");
    let pips = work
        .path()
        .join("pip/include")
        .join(&version)
        .join("pybind11-global");
    let headers = tree(&ours);
    assert!(
        headers.contains(&"pybind11/pybind11.h".to_owned()),
        "{headers:?}"
    );
    assert_eq!(headers, tree(&pips));
    // `.data/data`: at its path under the output (include/pybind11, share/cmake).
    assert!(out.join("include/pybind11/pybind11.h").is_file());
    assert!(out
        .join("share/cmake/pybind11/pybind11Config.cmake")
        .is_file());
    let dist_info = out
        .join(&python().site_packages)
        .join("pybind11_global-3.1.0.dist-info");
    assert_record_describes(&out, &dist_info);
}

/// Copies `wheel` into a new zip, letting `edit` change each entry's name
/// and bytes (None drops it) and append entries.
fn rewrite_wheel(
    wheel: &Path,
    dest: &Path,
    mut edit: impl FnMut(&str, Vec<u8>) -> Option<(String, Vec<u8>)>,
    extra: &[(&str, &[u8])],
) {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(wheel).unwrap()).unwrap();
    let mut writer = zip::ZipWriter::new(std::fs::File::create(dest).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let name = entry.name().unwrap().into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        if let Some((name, bytes)) = edit(&name, bytes) {
            writer.start_file(name, options).unwrap();
            writer.write_all(&bytes).unwrap();
        }
    }
    for (name, bytes) in extra {
        writer.start_file(*name, options).unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap();
}

fn install_err(wheel: &Path) -> String {
    let out = tempfile::tempdir().unwrap();
    let err = install_wheel(wheel, &out.path().join("out"), python()).unwrap_err();
    assert!(matches!(err, PythonError::BadWheel { .. }), "{err:?}");
    err.to_string()
}

#[test]
fn tampered_wheels_are_refused_naming_the_file() {
    let wheel = demo_wheel();
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("l2b_demo-1.0-py3-none-any.whl");

    rewrite_wheel(
        &wheel,
        &bad,
        |name, mut bytes| {
            if name == "l2b_demo/cli.py" {
                bytes.extend_from_slice(b"import os; os.system('evil')\n");
            }
            Some((name.to_owned(), bytes))
        },
        &[],
    );
    let err = install_err(&bad);
    assert!(
        err.contains("`l2b_demo/cli.py` does not match its RECORD hash"),
        "{err}"
    );

    rewrite_wheel(
        &wheel,
        &bad,
        |n, b| Some((n.to_owned(), b)),
        &[("l2b_demo/extra.py", b"x = 1\n")],
    );
    let err = install_err(&bad);
    assert!(
        err.contains("`l2b_demo/extra.py` is in the wheel but not in RECORD"),
        "{err}"
    );

    rewrite_wheel(
        &wheel,
        &bad,
        |n, b| (n != "l2b_demo/__init__.py").then(|| (n.to_owned(), b)),
        &[],
    );
    let err = install_err(&bad);
    assert!(
        err.contains("`l2b_demo/__init__.py` is listed in RECORD but is not in the wheel"),
        "{err}"
    );

    rewrite_wheel(
        &wheel,
        &bad,
        |n, b| Some((n.to_owned(), b)),
        &[("../../escape.py", b"")],
    );
    let err = install_err(&bad);
    assert!(
        err.contains("`../../escape.py` has an unsafe path"),
        "{err}"
    );

    // A size that disagrees with RECORD (hash recomputed so only the size is wrong).
    rewrite_wheel(
        &wheel,
        &bad,
        |name, bytes| {
            if name.ends_with("/RECORD") {
                let text = String::from_utf8(bytes).unwrap();
                let fixed: String = text
                    .lines()
                    .map(|l| {
                        if l.starts_with("l2b_demo/__init__.py,") {
                            let mut parts: Vec<&str> = l.split(',').collect();
                            parts[2] = "999";
                            parts.join(",") + "\n"
                        } else {
                            format!("{l}\n")
                        }
                    })
                    .collect();
                return Some((name.to_owned(), fixed.into_bytes()));
            }
            Some((name.to_owned(), bytes))
        },
        &[],
    );
    let err = install_err(&bad);
    assert!(
        err.contains("`l2b_demo/__init__.py` has 16 bytes, RECORD says 999"),
        "{err}"
    );

    // Not a zip at all.
    std::fs::write(&bad, b"PK\x03\x04 truncated").unwrap();
    let out = tempfile::tempdir().unwrap();
    assert!(matches!(
        install_wheel(&bad, out.path(), python()),
        Err(PythonError::Zip { .. })
    ));
}

#[test]
fn mangled_wheels_never_panic() {
    let original = std::fs::read(demo_wheel()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l2b_demo-1.0-py3-none-any.whl");
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut accepted = 0;
    for i in 0..600 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut bytes = original.clone();
        let at = (seed as usize) % bytes.len();
        if i % 2 == 0 {
            bytes.truncate(at);
        } else {
            bytes[at] ^= (seed >> 24) as u8 | 1;
        }
        std::fs::write(&path, &bytes).unwrap();
        let out = dir.path().join(format!("out{i}"));
        if install_wheel(&path, &out, python()).is_ok() {
            accepted += 1;
        }
        let _ = std::fs::remove_dir_all(&out);
    }
    // Flips in zip padding or unused header fields may be harmless; flips
    // in file bytes must not be (CRC and RECORD catch them).
    assert!(accepted < 300, "{accepted} of 600 mangled wheels installed");
}
