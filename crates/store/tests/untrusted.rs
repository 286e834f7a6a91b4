//! What a build leaves behind is read as hostile input: FIFOs, symlinks
//! (to `/dev/zero`, to host files), directories and oversized files are
//! refused without blocking, and paths below a root never leave it.

use lock2build_store::{
    copy_untrusted, read_untrusted, read_untrusted_string, resolve_beneath, tree_hash, NodeId,
    Store, UntrustedError,
};
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn mkfifo(path: &Path) {
    assert!(Command::new("mkfifo").arg(path).status().unwrap().success());
}

/// Runs `f` on a thread and fails the test if it takes more than 10 s
/// (a FIFO opened for reading would block forever).
fn quickly<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("blocked: a FIFO was opened as if it were a file")
}

#[test]
fn a_fifo_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("x.whl");
    mkfifo(&fifo);
    let started = Instant::now();
    let err = quickly(move || read_untrusted(&fifo, 1024).unwrap_err());
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        matches!(err, UntrustedError::NotRegular { kind: "a FIFO", .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("x.whl` is a FIFO, not a regular file"),
        "{err}"
    );
}

#[test]
fn symlinks_are_not_followed_to_dev_zero_or_host_files() {
    let dir = tempfile::tempdir().unwrap();
    let zero = dir.path().join("package.json");
    symlink("/dev/zero", &zero).unwrap();
    let err = quickly(move || read_untrusted(&zero, 1 << 20).unwrap_err());
    assert!(
        matches!(
            err,
            UntrustedError::NotRegular {
                kind: "a symlink",
                ..
            }
        ),
        "{err}"
    );
    let passwd = dir.path().join("passwd");
    symlink("/etc/passwd", &passwd).unwrap();
    let err = read_untrusted_string(&passwd, 1 << 20).unwrap_err();
    assert!(err.to_string().contains("is a symlink"), "{err}");
    let copy = dir.path().join("copy");
    assert!(copy_untrusted(&passwd, &copy, 1 << 20).is_err());
    assert!(!copy.exists(), "a host file was copied through a symlink");
}

#[test]
fn directories_missing_files_and_oversized_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let err = read_untrusted(dir.path(), 10).unwrap_err();
    assert!(
        matches!(
            err,
            UntrustedError::NotRegular {
                kind: "a directory",
                ..
            }
        ),
        "{err}"
    );
    let missing = dir.path().join("nothing");
    assert!(read_untrusted(&missing, 10).unwrap_err().is_missing());
    let big = dir.path().join("big");
    std::fs::write(&big, vec![b'x'; 100]).unwrap();
    let err = read_untrusted(&big, 99).unwrap_err();
    assert!(
        matches!(err, UntrustedError::TooLarge { limit: 99, .. }),
        "{err}"
    );
    assert_eq!(read_untrusted(&big, 100).unwrap().len(), 100);
    let err = copy_untrusted(&big, &dir.path().join("copy"), 50).unwrap_err();
    assert!(matches!(err, UntrustedError::TooLarge { .. }), "{err}");
}

#[test]
fn a_copy_keeps_the_exec_bit_and_drops_setuid() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("exe");
    std::fs::write(&exe, b"\x7fELF").unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o4755)).unwrap();
    let copy = dir.path().join("copy");
    std::fs::write(&copy, b"old").unwrap();
    assert_eq!(copy_untrusted(&exe, &copy, 1024).unwrap(), 4);
    assert_eq!(std::fs::read(&copy).unwrap(), b"\x7fELF");
    let mode = std::fs::metadata(&copy).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o755);
}

#[test]
fn paths_below_a_root_stay_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("target");
    std::fs::create_dir_all(root.join("release/deps")).unwrap();
    std::fs::write(root.join("release/app"), b"bin").unwrap();
    symlink("deps", root.join("release/alias")).unwrap();
    symlink("../app", root.join("release/deps/up")).unwrap();
    symlink("/etc", root.join("release/etc")).unwrap();
    symlink("../../..", root.join("release/climb")).unwrap();
    symlink("/dev/zero", root.join("release/zero")).unwrap();

    let ok = |rel: &str| resolve_beneath(&root, Path::new(rel)).unwrap();
    assert_eq!(ok("release/app"), root.join("release/app"));
    assert_eq!(ok("release/alias/up"), root.join("release/app"));
    assert_eq!(ok("release/deps/../app"), root.join("release/app"));
    assert_eq!(ok("release/new-file"), root.join("release/new-file"));

    let refused = |rel: &str| {
        resolve_beneath(&root, Path::new(rel))
            .unwrap_err()
            .to_string()
    };
    assert!(refused("../../etc/passwd").contains("climbs above it"));
    assert!(refused("/etc/passwd").contains("an absolute path"));
    assert!(refused("release/etc/passwd").contains("is a symlink to `/etc`"));
    assert!(refused("release/climb/x").contains("climbs above it"));
    assert!(refused("release/zero").contains("an absolute path"));
    assert!(refused("release/app/x").contains("not a directory"));
}

#[test]
fn tree_hash_refuses_a_fifo_instead_of_blocking() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("pkg")).unwrap();
    mkfifo(&dir.path().join("pkg/package.json"));
    let root = dir.path().to_owned();
    let err = quickly(move || tree_hash(&root).unwrap_err());
    assert!(
        err.to_string().contains("pkg/package.json` is a FIFO"),
        "{err}"
    );
}

#[test]
fn an_output_holding_a_fifo_is_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let id = NodeId::compute("trap", &serde_json::json!({"x": 1}), &[], &[], "t").unwrap();
    let (root2, id2) = (root.clone(), id.clone());
    let err = quickly(move || {
        Store::open(&root2)
            .unwrap()
            .build_output(&id2, &[], |out| {
                std::fs::create_dir(out.building.join("lib"))?;
                mkfifo(&out.building.join("lib/package.json"));
                Ok(())
            })
            .unwrap_err()
    });
    let message = format!("{err:#}");
    assert!(
        message.contains("lib/package.json` is a FIFO: an output holds only regular files"),
        "{message}"
    );
    assert!(Store::open(&root).unwrap().output(&id).is_none());
}

#[test]
fn a_log_is_read_from_its_tail_only() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("step.log");
    let mut text = "noise\n".repeat(100_000);
    text.push_str("error: the last line\n");
    std::fs::write(&log, &text).unwrap();
    let tail = lock2build_store::read_tail(&log, 1000);
    assert!(tail.len() <= 1000);
    assert!(tail.ends_with("error: the last line\n"), "{tail}");
    let fifo = dir.path().join("fifo.log");
    mkfifo(&fifo);
    assert_eq!(
        quickly(move || lock2build_store::read_tail(&fifo, 1000)),
        ""
    );
}
