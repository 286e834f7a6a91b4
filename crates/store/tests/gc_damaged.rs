//! gc never removes what a result uses, whatever store record is damaged:
//! each kind of record (an output's `meta/<id>.json` corrupted or deleted,
//! a dependency's meta, a recent plan record, a gc root) is damaged in turn
//! in a store holding a two-output app behind a `result` link, then
//! `gc` with a plan age of zero (`gc --keep-days 0`) runs, and the app must
//! still run (its launcher execs its dependency by absolute path).

use lock2build_store::{GcOptions, LiveSet, NodeId, Store};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn node(name: &str) -> NodeId {
    NodeId::compute(name, &serde_json::json!({"kind": "test"}), &[], &[], "x86_64-linux").unwrap()
}

fn script(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

struct App {
    _dir: tempfile::TempDir,
    store: Store,
    app: NodeId,
    lib: NodeId,
    orphan: NodeId,
    result: PathBuf,
}

/// lib (a script), app (a launcher exec'ing lib's script), an orphan; a
/// `result` link to app registered as a root; a plan record.
fn app_store() -> App {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let lib = node("lib");
    let built = store
        .build_output(&lib, &[], |dirs| {
            script(&dirs.building.join("run"), "#!/bin/sh\necho lib-ok\n");
            Ok(())
        })
        .unwrap();
    let lib_run = built.path.join("run");
    let app = node("app");
    store
        .build_output(&app, std::slice::from_ref(&lib), |dirs| {
            script(
                &dirs.building.join("run"),
                &format!("#!/bin/sh\nexec {}\n", lib_run.display()),
            );
            Ok(())
        })
        .unwrap();
    let orphan = node("orphan");
    store.build_output(&orphan, &[], |_| Ok(())).unwrap();
    let result = dir.path().join("project/result");
    fs::create_dir_all(result.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(store.output(&app).unwrap(), &result).unwrap();
    store.add_root(&result).unwrap();
    store
        .record_plan("/project", &LiveSet { sources: vec![], outputs: vec![app.clone()] })
        .unwrap();
    App { _dir: dir, store, app, lib, orphan, result }
}

fn gc_zero(store: &Store) -> lock2build_store::GcReport {
    store
        .gc(&GcOptions { plan_max_age: Duration::ZERO }, || {})
        .unwrap()
}

fn runs(result: &Path) -> bool {
    std::process::Command::new(result.join("run"))
        .output()
        .map(|o| o.status.success() && o.stdout == b"lib-ok\n")
        .unwrap_or(false)
}

fn meta(app: &App, id: &NodeId) -> PathBuf {
    app.store.root().join("meta").join(format!("{id}.json"))
}

#[test]
fn undamaged_gc_keeps_the_app_and_removes_the_orphan() {
    let app = app_store();
    let report = gc_zero(&app.store);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert!(runs(&app.result));
    assert!(app.store.output(&app.orphan).is_none(), "the orphan goes");
}

#[test]
fn damaged_records_keep_everything_with_a_warning() {
    type Damage = fn(&App);
    let cases: [(&str, Damage); 6] = [
        ("app meta corrupted", |a| fs::write(meta(a, &a.app), b"{\"references\": [tru").unwrap()),
        ("app meta deleted", |a| fs::remove_file(meta(a, &a.app)).unwrap()),
        ("app meta emptied", |a| fs::write(meta(a, &a.app), b"").unwrap()),
        ("lib meta corrupted", |a| fs::write(meta(a, &a.lib), b"\x00\xff").unwrap()),
        ("app meta of the wrong shape", |a| {
            fs::write(meta(a, &a.app), b"{\"references\": \"lib\"}").unwrap()
        }),
        ("gc root replaced by a file", |a| {
            let roots = a.store.root().join("gcroots");
            for root in fs::read_dir(&roots).unwrap().flatten() {
                fs::remove_file(root.path()).unwrap();
                fs::write(root.path(), b"garbage").unwrap();
            }
        }),
    ];
    for (what, damage) in cases {
        let app = app_store();
        damage(&app);
        let report = gc_zero(&app.store);
        assert!(runs(&app.result), "{what}: the app no longer runs");
        assert!(!report.warnings.is_empty(), "{what}: no warning");
        assert!(app.store.output(&app.orphan).is_some(), "{what}: kept, unknown");
    }
}

#[test]
fn a_damaged_recent_plan_keeps_everything_and_an_old_one_goes() {
    let app = app_store();
    fs::remove_file(&app.result).unwrap(); // only the plan keeps anything now
    let plans = app.store.root().join("plans");
    let plan = fs::read_dir(&plans).unwrap().flatten().next().unwrap().path();
    fs::write(&plan, b"not json").unwrap();
    let report = app
        .store
        .gc(&GcOptions::default(), || {})
        .unwrap();
    assert!(report.warnings.iter().any(|w| w.contains("plan record")), "{:?}", report.warnings);
    assert!(app.store.output(&app.app).is_some() && app.store.output(&app.orphan).is_some());
    // Older than the limit it keeps nothing (unread) and is removed.
    let report = gc_zero(&app.store);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert!(!plan.exists());
    assert!(app.store.output(&app.app).is_none());
}
