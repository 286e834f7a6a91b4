//! `Store::verify` and `Store::verified_source`: a source changed after it
//! was stored, or replaced by something that is not a regular file, and an
//! output changed after it was built are found; `repair` removes them (and
//! the outputs that refer to a damaged one); a build never gets a changed
//! source.

mod common;

use common::*;

use lock2build_store::Store;
use std::fs;
use std::os::unix::fs::PermissionsExt;

fn overwrite(path: &std::path::Path, bytes: &[u8]) {
    fs::set_permissions(path, fs::Permissions::from_mode(0o644)).unwrap();
    fs::write(path, bytes).unwrap();
}

#[test]
fn a_changed_source_is_found_removed_and_never_given_to_a_build() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let good = digests(b"good source").sha256;
    let path = store
        .insert_source(&b"good source"[..], std::slice::from_ref(&good))
        .unwrap();
    let report = store.verify(false).unwrap();
    assert_eq!((report.sources, report.damaged.len()), (1, 0));

    overwrite(&path, b"evil source");
    let report = store.verify(false).unwrap();
    assert_eq!(report.damaged.len(), 1, "{report:?}");
    assert!(
        report.damaged[0].problem.contains("hash mismatch"),
        "{report:?}"
    );
    assert!(path.exists(), "not removed without --repair");
    // Before a build: the changed file is not handed out, and is removed so
    // that the next fetch downloads it again.
    assert_eq!(
        store.source(std::slice::from_ref(&good)),
        Some(path.clone())
    );
    assert_eq!(store.verified_source(std::slice::from_ref(&good)), None);
    assert!(!path.exists());

    // Replaced by a directory: not a regular file.
    let path = store
        .insert_source(&b"good source"[..], std::slice::from_ref(&good))
        .unwrap();
    fs::remove_file(&path).unwrap();
    fs::create_dir(&path).unwrap();
    let report = store.verify(true).unwrap();
    assert!(
        report.damaged[0].problem.contains("not a regular file"),
        "{report:?}"
    );
    assert!(report.damaged[0].removed && !path.exists());
}

#[test]
fn a_changed_output_and_what_refers_to_it_are_removed_by_repair() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let lib = node("lib");
    let built = store
        .build_output(&lib, &[], |d| {
            fs::write(d.building.join("lib.py"), "x = 1\n")?;
            std::os::unix::fs::symlink("lib.py", d.building.join("alias.py"))?;
            Ok(())
        })
        .unwrap();
    let app = node("app");
    store
        .build_output(&app, std::slice::from_ref(&lib), |d| {
            fs::write(d.building.join("app.py"), "import lib\n")?;
            Ok(())
        })
        .unwrap();
    let other = node("other");
    store.build_output(&other, &[], |_| Ok(())).unwrap();
    let report = store.verify(false).unwrap();
    assert_eq!((report.outputs, report.damaged.len()), (3, 0), "{report:?}");

    overwrite(&built.path.join("lib.py"), b"x = 2\n");
    let report = store.verify(false).unwrap();
    assert_eq!(report.damaged.len(), 1, "{report:?}");
    assert!(
        report.damaged[0].problem.contains("content changed"),
        "{report:?}"
    );

    let report = store.verify(true).unwrap();
    assert!(report.damaged.iter().all(|d| d.removed), "{report:?}");
    assert!(store.output(&lib).is_none() && store.output(&app).is_none());
    assert!(store.output(&other).is_some(), "an unrelated output stays");
    assert!(store.verify(false).unwrap().damaged.is_empty());
}
