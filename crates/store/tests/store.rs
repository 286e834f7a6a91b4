//! The store's promises: verified sources, outputs built once, atomic
//! entries under concurrency and `kill -9`, and gc keeping what is live.

mod common;

use common::*;

use lock2build_model::{Hash, HashAlgorithm};
use lock2build_store::{GcOptions, LiveSet, NodeId, RemovedKind, Store, StoreError};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn sources_are_verified_and_found_by_any_pinned_hash() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let bytes = b"flask-3.0.3.tar.gz bytes";
    let d = digests(bytes);

    // Wrong bytes: an error naming both hashes, nothing stored.
    let err = store
        .insert_source(&b"other bytes"[..], std::slice::from_ref(&d.sha256))
        .unwrap_err();
    match &err {
        StoreError::HashMismatch { expected, actual } => {
            assert_eq!(expected, &d.sha256);
            assert_eq!(actual, &digests(b"other bytes").sha256);
        }
        other => panic!("{other}"),
    }
    assert!(store.source(std::slice::from_ref(&d.sha256)).is_none());
    assert!(entries(&dir.path().join("sources")).is_empty());
    assert!(entries(&dir.path().join("tmp")).is_empty());

    // Right bytes, pinned by sha512 only (npm): stored under sha256.
    let path = store
        .insert_source(&bytes[..], std::slice::from_ref(&d.sha512))
        .unwrap();
    assert_eq!(
        path,
        dir.path()
            .join("sources")
            .join(format!("sha256-{}", d.sha256.hex()))
    );
    assert_eq!(fs::read(&path).unwrap(), bytes);
    for hashes in [
        vec![d.sha256.clone()],
        vec![d.sha1.clone()],
        vec![d.sha512.clone(), d.sha1.clone()],
        vec![d.sha384.clone()],
    ] {
        assert_eq!(store.source(&hashes).as_deref(), Some(path.as_path()));
    }
    // A pinned hash the file does not have: not this file.
    let wrong_sha1 = Hash::new(HashAlgorithm::Sha1, vec![1; 20]);
    assert!(store.source(&[d.sha256.clone(), wrong_sha1]).is_none());
    // md5 alone is not trusted.
    let md5 = d.md5.clone().unwrap();
    assert!(store.source(std::slice::from_ref(&md5)).is_none());
    assert!(matches!(
        store.insert_source(&bytes[..], &[md5]),
        Err(StoreError::NoTrustedHash(_))
    ));
    // Read-only.
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o222, 0);
}

#[test]
fn outputs_are_built_once_and_failed_builds_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let id = node("app");
    let failed = store.build_output(&id, &[], |dirs| {
        fs::write(dirs.building.join("half"), b"x")?;
        Err("compiler exploded".into())
    });
    assert!(failed
        .unwrap_err()
        .to_string()
        .contains("compiler exploded"));
    assert!(store.output(&id).is_none());
    assert!(entries(&dir.path().join("tmp")).is_empty());

    let built = store
        .build_output(&id, &[], |dirs| {
            assert!(dirs.final_path.ends_with(id.as_str()));
            fs::write(dirs.building.join("bin"), b"ok")?;
            fs::create_dir(dirs.building.join("lib"))?;
            fs::write(dirs.building.join("lib/x.py"), b"")?;
            std::os::unix::fs::symlink("lib/x.py", dirs.building.join("link"))?;
            Ok(())
        })
        .unwrap();
    assert!(built.built);
    assert_eq!(fs::read(built.path.join("bin")).unwrap(), b"ok");
    // Read-only, as Nix makes outputs: files and directories, the top too.
    {
        use std::os::unix::fs::PermissionsExt;
        for path in [
            built.path.join("bin"),
            built.path.join("lib"),
            built.path.join("lib/x.py"),
            built.path.clone(),
        ] {
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o222, 0, "{} is writable: {mode:o}", path.display());
        }
        assert!(fs::symlink_metadata(built.path.join("link"))
            .unwrap()
            .file_type()
            .is_symlink());
    }
    let again = store
        .build_output(&id, &[], |_| panic!("must not rebuild"))
        .unwrap();
    assert_eq!(
        again,
        lock2build_store::BuiltOutput {
            path: built.path,
            built: false
        }
    );
}

#[test]
fn concurrent_builders_of_one_node_build_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    let id = node("shared");
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let (root, id, barrier) = (root.clone(), id.clone(), barrier.clone());
            std::thread::spawn(move || {
                // Separate `Store` values: separate lock file descriptions, as
                // separate processes would have.
                let store = Store::open(&root).unwrap();
                barrier.wait();
                store
                    .build_output(&id, &[], |dirs| {
                        std::thread::sleep(Duration::from_millis(150));
                        fs::write(dirs.building.join("who"), format!("{i}"))?;
                        Ok(())
                    })
                    .unwrap()
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results.iter().filter(|r| r.built).count(), 1);
    assert!(results.iter().all(|r| r.path == results[0].path));
}

#[test]
fn gc_keeps_what_roots_and_recent_plans_refer_to() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let build = |name: &str, refs: &[NodeId], size: usize| {
        let id = node(name);
        store
            .build_output(&id, refs, |dirs| {
                fs::write(dirs.building.join("data"), vec![b'x'; size])?;
                Ok(())
            })
            .unwrap();
        id
    };
    let lib = build("lib", &[], 1000);
    let app = build("app", std::slice::from_ref(&lib), 2000);
    let orphan = build("orphan", &[], 3000);
    let kept_src = digests(b"kept source");
    let gone_src = digests(b"unreferenced source");
    store
        .insert_source(&b"kept source"[..], std::slice::from_ref(&kept_src.sha512))
        .unwrap();
    store
        .insert_source(
            &b"unreferenced source"[..],
            std::slice::from_ref(&gone_src.sha256),
        )
        .unwrap();

    // Build logs: one per node built from source.
    fs::create_dir_all(store.logs_dir()).unwrap();
    for id in [&app, &orphan] {
        fs::write(store.logs_dir().join(format!("{id}.log")), "log").unwrap();
    }

    // The project's `result` link, made the way the CLI makes it.
    let result = dir.path().join("project/result");
    fs::create_dir_all(result.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(store.output(&app).unwrap(), &result).unwrap();
    store.add_root(&result).unwrap();
    let mut live = LiveSet::default();
    live.add_source(std::slice::from_ref(&kept_src.sha512));
    store.record_plan("/project/plan", &live).unwrap();

    let report = store
        .gc(&GcOptions::default(), || {
            panic!("nobody else uses the store")
        })
        .unwrap();
    let removed: Vec<(RemovedKind, String)> = report
        .removed
        .iter()
        .map(|r| {
            (
                r.kind,
                r.path.file_name().unwrap().to_string_lossy().into_owned(),
            )
        })
        .collect();
    assert_eq!(
        removed,
        [
            (RemovedKind::Output, orphan.to_string()),
            (
                RemovedKind::Source,
                format!("sha256-{}", gone_src.sha256.hex())
            ),
        ]
    );
    assert_eq!(
        report.bytes_freed,
        3000 + b"unreferenced source".len() as u64
    );
    assert_eq!((report.kept_outputs, report.kept_sources), (2, 1));
    assert!(store.output(&app).is_some() && store.output(&lib).is_some());
    // The orphan's log went with it; the app's stays.
    assert_eq!(entries(&store.logs_dir()), [format!("{app}.log")]);
    assert!(store.source(std::slice::from_ref(&kept_src.sha1)).is_some());
    // The aliases of the removed source went with it.
    assert!(!entries(&store.root().join("sources"))
        .iter()
        .any(|n| n.contains(&gone_src.sha512.hex())));

    // Result link gone, plans too old: everything goes.
    fs::remove_file(&result).unwrap();
    let report = store
        .gc(
            &GcOptions {
                plan_max_age: Duration::ZERO,
            },
            || {},
        )
        .unwrap();
    let kinds: Vec<RemovedKind> = report.removed.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [
            RemovedKind::DanglingRoot,
            RemovedKind::Plan,
            RemovedKind::Output,
            RemovedKind::Output,
            RemovedKind::Source
        ]
    );
    assert!(entries(&store.root().join("outputs")).is_empty());
    assert!(entries(&store.root().join("sources")).is_empty());
    assert!(entries(&store.root().join("meta")).is_empty());
    assert!(entries(&store.logs_dir()).is_empty());
}

#[test]
fn gc_waits_for_other_users_of_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let other = Store::open(dir.path()).unwrap();
    let released = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = released.clone();
    let holder = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
        drop(other);
    });
    let mut waited = false;
    store.gc(&GcOptions::default(), || waited = true).unwrap();
    assert!(waited);
    assert!(
        released.load(std::sync::atomic::Ordering::SeqCst),
        "gc ran while another store was open"
    );
    holder.join().unwrap();
}

// ---- kill -9 ----------------------------------------------------------------

const CHILD_ENV: &str = "LOCK2BUILD_STORE_TEST_CHILD";

/// Not a test by itself: the body of the child process the kill tests
/// spawn (does nothing unless the environment variable is set).
#[test]
fn child_writer() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (mode, root) = spec.split_once(':').unwrap();
    let store = Store::open(root).unwrap();
    match mode {
        "output" => {
            store
                .build_output(&node("big"), &[], |dirs| {
                    use std::io::Write;
                    let mut f = fs::File::create(dirs.building.join("blob"))?;
                    for _ in 0..10_000 {
                        f.write_all(&[0u8; 64 * 1024])?;
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Ok(())
                })
                .unwrap();
        }
        "source" => {
            struct Slow(u32);
            impl Read for Slow {
                fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                    std::thread::sleep(Duration::from_millis(5));
                    self.0 += 1;
                    if self.0 > 100_000 {
                        return Ok(0);
                    }
                    let n = buf.len().min(4096);
                    buf[..n].fill(b'z');
                    Ok(n)
                }
            }
            let _ = store.insert_source(Slow(0), &[digests(b"never").sha256]);
        }
        "scratch" => {
            // Work directories the way the builders make them.
            let work = tempfile::Builder::new()
                .prefix("lock2build-build-")
                .tempdir_in(lock2build_store::scratch_dir())
                .unwrap();
            fs::write(work.path().join("blob"), vec![0u8; 300 * 1024]).unwrap();
            std::thread::sleep(Duration::from_secs(60));
        }
        "discard" => {
            let scratch = lock2build_store::scratch_dir();
            assert!(scratch.starts_with(Path::new(root).join("tmp")));
            // Work beside an output (as the sandbox's private directory
            // is) moves into the scratch directory, whole.
            let lock = store.lock_entry("out-x").unwrap();
            let work = store.tmp_path(&lock);
            fs::create_dir_all(work.join("etc")).unwrap();
            fs::write(work.join("etc/passwd"), "x").unwrap();
            lock2build_store::discard(&work);
            assert!(!work.exists());
            let moved = scratch.join(".discarded-0");
            assert_eq!(fs::read_to_string(moved.join("etc/passwd")).unwrap(), "x");
            // Work already in the scratch directory stays where it is.
            let inside = scratch.join("lock2build-cargo-x");
            fs::create_dir(&inside).unwrap();
            lock2build_store::discard(&inside);
            // Opening the store while this process lives keeps both.
            drop(Store::open(root).unwrap());
            assert!(moved.is_dir() && inside.is_dir());
        }
        other => panic!("unknown mode {other}"),
    }
}

fn spawn_child(mode: &str, root: &Path) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_writer", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, format!("{mode}:{}", root.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits until `tmp/` holds an entry with at least `bytes` written.
fn wait_for_tmp_work(root: &Path, bytes: u64) -> PathBuf {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(Instant::now() < deadline, "the child never started writing");
        if let Ok(dir) = fs::read_dir(root.join("tmp")) {
            for e in dir.flatten() {
                let p = e.path();
                let size = if p.is_dir() {
                    fs::read_dir(&p)
                        .unwrap()
                        .flatten()
                        .map(|f| f.metadata().map(|m| m.len()).unwrap_or(0))
                        .sum()
                } else {
                    e.metadata().map(|m| m.len()).unwrap_or(0)
                };
                if size >= bytes {
                    return p;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn kill_9_mid_write_leaves_no_entry_and_tmp_is_cleaned() {
    for mode in ["output", "source"] {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        Store::open(&root).unwrap();
        let mut child = spawn_child(mode, &root);
        let work = wait_for_tmp_work(&root, 256 * 1024);

        // While the writer lives, opening the store must not touch its work.
        drop(Store::open(&root).unwrap());
        assert!(work.exists(), "{mode}: live work was cleaned");

        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let store = Store::open(&root).unwrap();
        assert!(
            entries(&root.join("tmp")).is_empty(),
            "{mode}: tmp not cleaned"
        );
        assert!(
            entries(&root.join("outputs")).is_empty(),
            "{mode}: half output"
        );
        assert!(
            entries(&root.join("sources")).is_empty(),
            "{mode}: half source"
        );
        assert!(store.output(&node("big")).is_none());
        // And the entry can be made afterwards (no stale lock).
        assert!(
            store
                .build_output(&node("big"), &[], |_| Ok(()))
                .unwrap()
                .built
        );
    }
}

#[test]
fn work_dirs_live_in_the_store_and_are_swept_after_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    Store::open(&root).unwrap();
    // A stray atomic-write file of a dead process, and one of a live one.
    let dead = root.join("meta").join(".x.json.999999999-0.tmp");
    let live = root
        .join("plans")
        .join(format!(".p.json.{}-0.tmp", std::process::id()));
    fs::write(&dead, "{").unwrap();
    fs::write(&live, "{").unwrap();
    let mut child = spawn_child("scratch", &root);
    let deadline = Instant::now() + Duration::from_secs(30);
    let work = loop {
        assert!(
            Instant::now() < deadline,
            "the child never made its work dir"
        );
        let found = fs::read_dir(root.join("tmp"))
            .unwrap()
            .flatten()
            .filter(|e| file_name_of(&e.path()).starts_with("scratch-"))
            .flat_map(|e| fs::read_dir(e.path()).into_iter().flatten().flatten())
            .map(|w| w.path())
            .find(|w| fs::metadata(w.join("blob")).is_ok_and(|m| m.len() == 300 * 1024));
        if let Some(work) = found {
            break work;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(file_name_of(&work).starts_with("lock2build-build-"));
    drop(Store::open(&root).unwrap());
    assert!(work.exists(), "live work was cleaned");
    child.kill().unwrap();
    child.wait().unwrap();
    Store::open(&root).unwrap();
    // A gone process's scratch directory is removed in the background.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !entries(&root.join("tmp")).is_empty() {
        assert!(Instant::now() < deadline, "tmp not cleaned");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!dead.exists(), "a dead process's .tmp file stays");
    assert!(live.exists(), "a live process's .tmp file was removed");
}

#[test]
fn a_discarded_directory_is_removed_by_the_next_open_after_its_process_exits() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    Store::open(&root).unwrap();
    let status = spawn_child("discard", &root).wait().unwrap();
    assert!(status.success(), "the child's checks failed");
    // The child is gone; its scratch directory holds what it discarded.
    let scratch: Vec<PathBuf> = fs::read_dir(root.join("tmp"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(scratch.len(), 1, "{scratch:?}");
    assert!(file_name_of(&scratch[0]).starts_with("scratch-"));
    let kept = entries(&scratch[0]);
    assert_eq!(kept, [".discarded-0", "lock2build-cargo-x"]);
    Store::open(&root).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !entries(&root.join("tmp")).is_empty() {
        assert!(Instant::now() < deadline, "the discarded work stays");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn file_name_of(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn default_root_follows_the_environment() {
    // Only reads the environment of this process; set variables are
    // restored by running the checks on values computed the same way.
    let root = Store::default_root().unwrap();
    match std::env::var_os("LOCK2BUILD_STORE").filter(|v| !v.is_empty()) {
        Some(v) => assert_eq!(root, PathBuf::from(v)),
        None => assert!(root.ends_with("lock2build/store"), "{}", root.display()),
    }
}

#[test]
fn a_deleted_result_frees_its_outputs_though_a_recent_plan_lists_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let id = node("app");
    store
        .build_output(&id, &[], |dirs| {
            fs::write(dirs.building.join("app"), "app")?;
            Ok(())
        })
        .unwrap();
    let src = digests(b"the app's source");
    store
        .insert_source(&b"the app's source"[..], std::slice::from_ref(&src.sha256))
        .unwrap();
    let result = dir.path().join("project/result");
    fs::create_dir_all(result.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(store.output(&id).unwrap(), &result).unwrap();
    store.add_root(&result).unwrap();
    let mut live = LiveSet::default();
    live.add_source(std::slice::from_ref(&src.sha256));
    live.outputs.push(id.clone());
    store.record_plan("/project", &live).unwrap();
    let keep = store.gc(&GcOptions::default(), || {}).unwrap();
    assert!(keep.removed.is_empty(), "{:?}", keep.removed);
    // The user deletes `result`; the plan is a minute old.
    fs::remove_file(&result).unwrap();
    store.gc(&GcOptions::default(), || {}).unwrap();
    assert!(
        store.output(&id).is_none(),
        "the deleted result's output is freed"
    );
    assert!(
        store.source(std::slice::from_ref(&src.sha256)).is_some(),
        "the recent plan keeps its sources"
    );
}

#[test]
fn kept_failed_builds_survive_store_open_and_go_at_gc() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let kept = store.failed_dir().join("lxml-1764000000");
    fs::create_dir_all(kept.join("build/src")).unwrap();
    fs::write(kept.join("build/src/setup.py"), "x").unwrap();
    // A read-only file, as a build may leave.
    let ro = kept.join("build/src/ro.txt");
    fs::write(&ro, "y").unwrap();
    let mut perms = fs::metadata(&ro).unwrap().permissions();
    perms.set_readonly(true);
    fs::set_permissions(&ro, perms).unwrap();
    drop(store);
    // The next open (another process's build) sweeps tmp/, not failed/.
    let store = Store::open(dir.path()).unwrap();
    assert!(kept.join("build/src/setup.py").is_file());
    let report = store.gc(&GcOptions::default(), || {}).unwrap();
    assert!(!kept.exists());
    assert!(report
        .removed
        .iter()
        .any(|r| r.kind == RemovedKind::FailedBuild && r.path == kept));
}
