//! Proofs that a sandboxed step cannot reach the network or write outside
//! its output, sees a clean environment and a home that is not the user's.
//! Each test runs only where bubblewrap works, and says so when skipping.

use lock2build_sandbox::{
    Mount, Overlay, Sandbox, SandboxError, SandboxSpec, StepWatch, OVERLAY_NOTE, SANDBOX_HOME,
    SOURCE_DATE_EPOCH,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn sandbox() -> Option<Sandbox> {
    match Sandbox::detect() {
        Ok(s) => Some(s),
        Err(e @ (SandboxError::BubblewrapMissing | SandboxError::BubblewrapBroken(_))) => {
            eprintln!("SKIPPED: no usable bubblewrap here: {e}");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

struct Dirs {
    _root: tempfile::TempDir,
    input: PathBuf,
    output: PathBuf,
    secret: PathBuf,
    log: PathBuf,
}

fn dirs() -> Dirs {
    let root = tempfile::tempdir().unwrap();
    let input = root.path().join("input");
    let output = root.path().join("tmp-output");
    let secret = root.path().join("users-files");
    for d in [&input, &output, &secret] {
        std::fs::create_dir(d).unwrap();
    }
    std::fs::write(input.join("data.txt"), "input data").unwrap();
    let log = root.path().join("build.log");
    Dirs {
        input,
        output,
        secret,
        log,
        _root: root,
    }
}

const OUT: &str = "/store/outputs/abc-demo";

fn spec(d: &Dirs, script: &str) -> SandboxSpec {
    SandboxSpec {
        command: vec!["/usr/bin/bash".into(), "-c".into(), script.into()],
        env: BTreeMap::from([
            ("OUT".to_owned(), OUT.to_owned()),
            ("DEMO_KNOB".to_owned(), "1".to_owned()),
        ]),
        read_only: vec![Mount::new(&d.input, "/build/in")],
        output: Mount::new(&d.output, OUT),
        scratch: vec![],
        workdir: "/build/in".into(),
        toolchain_dirs: vec![],
    }
}

fn log(d: &Dirs) -> String {
    std::fs::read_to_string(&d.log).unwrap()
}

#[test]
fn a_step_cannot_open_a_network_connection() {
    let Some(sandbox) = sandbox() else { return };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || for _ in listener.incoming() {});
    let d = dirs();
    let script = format!("exec 3<>/dev/tcp/127.0.0.1/{port} && echo CONNECTED");

    // The probe works: without a sandbox it connects.
    let status = Sandbox::unsandboxed()
        .run(&spec(&d, &script), &d.log)
        .unwrap();
    assert!(status.success(), "{}", log(&d));
    assert!(log(&d).contains("CONNECTED"));

    let status = sandbox.run(&spec(&d, &script), &d.log).unwrap();
    assert!(
        !status.success(),
        "connected from inside the sandbox: {}",
        log(&d)
    );
    assert!(!log(&d).contains("CONNECTED"));
}

#[test]
fn a_step_writes_its_output_and_nothing_else() {
    let Some(sandbox) = sandbox() else { return };
    let d = dirs();
    let secret = d.secret.display();
    let script = format!(
        "set -u
         echo built > \"$OUT/result.txt\" && echo OUTPUT-OK
         cat /build/in/data.txt >> \"$OUT/result.txt\"
         echo x > /build/in/new.txt 2>/dev/null && echo WROTE-INPUT
         echo x > {secret}/pwned 2>/dev/null && echo WROTE-SECRET
         echo x > /usr/pwned 2>/dev/null && echo WROTE-USR
         echo x > /pwned 2>/dev/null && echo WROTE-ROOT
         test -e {secret} && echo SEES-USER-FILES
         exit 0"
    );
    let status = sandbox.run(&spec(&d, &script), &d.log).unwrap();
    let out = log(&d);
    assert!(status.success(), "{out}");
    assert!(out.contains("OUTPUT-OK"), "{out}");
    for bad in [
        "WROTE-INPUT",
        "WROTE-SECRET",
        "WROTE-USR",
        "WROTE-ROOT",
        "SEES-USER-FILES",
    ] {
        assert!(!out.contains(bad), "{bad}: {out}");
    }
    assert_eq!(
        std::fs::read_to_string(d.output.join("result.txt")).unwrap(),
        "built\ninput data"
    );
    assert!(!d.input.join("new.txt").exists());
    assert!(!d.secret.join("pwned").exists());

    // A build whose job is to write outside its output fails.
    let status = sandbox
        .run(&spec(&d, "echo x > /build/in/new.txt"), &d.log)
        .unwrap();
    assert!(!status.success());
    assert!(!d.input.join("new.txt").exists());
}

#[test]
fn a_step_sees_a_clean_environment_and_a_private_home_and_tmp() {
    let Some(sandbox) = sandbox() else { return };
    let d = dirs();
    let real_home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let marker = format!("lock2build-sandbox-test-{}", std::process::id());
    let script = format!(
        "env | sort
         echo USER=$(id -un)
         echo HOME_ENTRIES=$(ls -A \"$HOME\" | wc -l)
         test -e {real_home} && echo SEES-REAL-HOME
         echo x > \"$TMPDIR/{marker}\" && echo TMP-WRITABLE
         touch \"$HOME/.cache-test\" && echo HOME-WRITABLE"
    );
    let status = sandbox.run(&spec(&d, &script), &d.log).unwrap();
    let out = log(&d);
    assert!(status.success(), "{out}");
    let env: BTreeMap<&str, &str> = out.lines().filter_map(|l| l.split_once('=')).collect();
    assert_eq!(env.get("HOME"), Some(&SANDBOX_HOME));
    assert_ne!(env.get("HOME"), Some(&real_home.as_str()));
    assert_eq!(env.get("TMPDIR"), Some(&"/tmp"));
    assert_eq!(env.get("SOURCE_DATE_EPOCH"), Some(&SOURCE_DATE_EPOCH));
    assert_eq!(env.get("DEMO_KNOB"), Some(&"1"));
    assert_eq!(env.get("USER"), Some(&"build"), "{out}");
    assert_eq!(env.get("HOME_ENTRIES"), Some(&"0"));
    // Nothing of this test process's environment (cargo sets dozens of
    // CARGO_* variables) leaks in.
    let leaked: Vec<&&str> = env
        .keys()
        .filter(|k| k.starts_with("CARGO") || k.starts_with("RUST"))
        .collect();
    assert!(leaked.is_empty(), "leaked: {leaked:?}");
    assert!(!out.contains("SEES-REAL-HOME"), "{out}");
    assert!(
        out.contains("TMP-WRITABLE") && out.contains("HOME-WRITABLE"),
        "{out}"
    );
    assert!(
        !Path::new("/tmp").join(&marker).exists(),
        "TMPDIR is the host's /tmp"
    );
    assert!(!std::env::temp_dir().join(&marker).exists());
}

#[test]
fn unsandboxed_runs_the_same_step_on_host_paths() {
    let d = dirs();
    let s = Sandbox::unsandboxed();
    let sp = spec(&d, "echo made > result.txt; pwd");
    let mut sp2 = sp.clone();
    // Without a sandbox the step must be given host paths.
    sp2.command[2] = format!(
        "echo made > {}/result.txt",
        s.visible_path(&sp, Path::new(OUT)).display()
    )
    .into();
    let status = s.run(&sp2, &d.log).unwrap();
    assert!(status.success(), "{}", log(&d));
    assert_eq!(
        std::fs::read_to_string(d.output.join("result.txt")).unwrap(),
        "made\n"
    );
}

#[test]
fn host_toolchains_run_read_only() {
    let Some(sandbox) = sandbox() else { return };
    let d = dirs();
    let mut sp = spec(&d, "cc --version | head -1 && python3 -c 'print(6*7)' && touch /usr/bin/x 2>/dev/null || echo USR-RO");
    sp.toolchain_dirs = vec!["/usr/bin".into()];
    let status = sandbox.run(&sp, &d.log).unwrap();
    let out = log(&d);
    assert!(status.success(), "{out}");
    assert!(out.contains("42") && out.contains("USR-RO"), "{out}");
}

#[test]
fn the_scratch_directory_is_beside_the_output_and_removed_after() {
    // Unsandboxed, TMPDIR and HOME are host paths: where the scratch is.
    let d = dirs();
    let step = spec(&d, "echo \"$TMPDIR\"");
    assert!(Sandbox::unsandboxed().run(&step, &d.log).unwrap().success());
    let tmp = PathBuf::from(log(&d).trim());
    let scratch = tmp.parent().unwrap();
    assert_eq!(scratch.parent(), d.output.parent(), "{}", tmp.display());
    assert!(
        scratch
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("tmp-output.sandbox-"),
        "{}",
        scratch.display()
    );
    assert!(
        !scratch.exists(),
        "the scratch directory stays after the step"
    );
}

#[test]
fn no_process_inside_sees_the_callers_environment() {
    let Some(sandbox) = sandbox() else { return };
    let d = dirs();
    // cargo test sets CARGO_PKG_NAME (and dozens more) in this process, so
    // bwrap inherited them all before; /proc/1 is bwrap itself.
    assert!(std::env::var("CARGO_PKG_NAME").is_ok());
    let script =
        "for p in /proc/[0-9]*; do tr '\\0' '\\n' < $p/environ; done; echo PROCS: /proc/[0-9]*";
    let status = sandbox.run(&spec(&d, script), &d.log).unwrap();
    let out = log(&d);
    assert!(status.success(), "{out}");
    assert!(out.contains("PROCS: /proc/1 "), "{out}");
    assert!(!out.contains("CARGO_PKG_NAME"), "{out}");
}

#[test]
fn steps_run_under_resource_limits() {
    let Some(sandbox) = sandbox() else { return };
    let limits = lock2build_sandbox::ResourceLimits {
        processes: Some(5000),
        file_size: Some(1 << 20),
        memory: Some(2 << 30),
    };
    let d = dirs();
    let script = "cat /proc/self/limits; head -c 2097152 /dev/zero > \"$OUT/big\"; echo WROTE=$?";
    let status = sandbox
        .run_limited(&spec(&d, script), &d.log, &limits)
        .unwrap();
    let out = log(&d);
    assert!(status.success(), "{out}");
    let row = |name: &str| {
        out.lines()
            .find(|l| l.starts_with(name))
            .map(|l| {
                l.split_whitespace()
                    .skip(name.split(' ').count())
                    .take(2)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    assert_eq!(row("Max processes"), ["5000", "5000"], "{out}");
    assert_eq!(row("Max file size"), ["1048576", "1048576"], "{out}");
    assert_eq!(row("Max data size"), ["2147483648", "2147483648"], "{out}");
    // The file-size limit bites: head is stopped (SIGXFSZ) at 1 MiB.
    assert!(!out.contains("WROTE=0"), "{out}");
    assert_eq!(
        std::fs::metadata(d.output.join("big")).unwrap().len(),
        1 << 20
    );

    // The same limits without a sandbox.
    let d = dirs();
    let mut host = spec(&d, "cat /proc/self/limits");
    host.env
        .insert("OUT".into(), d.output.display().to_string());
    assert!(Sandbox::unsandboxed()
        .run_limited(&host, &d.log, &limits)
        .unwrap()
        .success());
    assert!(log(&d)
        .lines()
        .any(|l| l.starts_with("Max file size") && l.contains("1048576")));
}

#[test]
fn limits_come_from_the_environment() {
    use lock2build_sandbox::ResourceLimits;
    std::env::set_var("LOCK2BUILD_SANDBOX_MAX_PROCESSES", "unlimited");
    std::env::set_var("LOCK2BUILD_SANDBOX_MAX_FILE_SIZE", "1000");
    let limits = ResourceLimits::from_env().unwrap();
    assert_eq!(limits.processes, None);
    assert_eq!(limits.file_size, Some(1000));
    assert_eq!(limits.memory, ResourceLimits::default().memory);
    std::env::set_var("LOCK2BUILD_SANDBOX_MAX_FILE_SIZE", "1G");
    let error = ResourceLimits::from_env().unwrap_err().to_string();
    assert!(
        error.contains("LOCK2BUILD_SANDBOX_MAX_FILE_SIZE=\"1G\""),
        "{error}"
    );
    std::env::remove_var("LOCK2BUILD_SANDBOX_MAX_PROCESSES");
    std::env::remove_var("LOCK2BUILD_SANDBOX_MAX_FILE_SIZE");
}

/// A watcher that collects the lines it is given.
fn collector() -> (
    lock2build_sandbox::LineObserver,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) {
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = lines.clone();
    let observer: lock2build_sandbox::LineObserver =
        std::sync::Arc::new(move |l: &str| seen.lock().unwrap().push(l.to_owned()));
    (observer, lines)
}

#[test]
fn a_watched_step_hands_each_line_to_the_watcher_and_writes_the_log_as_it_goes() {
    let d = dirs();
    // The log holds the first line while the step still runs: `tail -f`
    // works. (The step waits up to 10 s for it: the writer is another
    // thread, which a loaded machine may run late.)
    let log = d.log.display().to_string();
    let script = format!(
        "echo first; echo oops >&2; i=0; while [ $i -lt 100 ]; do grep -q first {log} && echo LOG-LIVE && break; sleep 0.1; i=$((i+1)); done; printf 'no newline'"
    );
    let mut runners = vec![Sandbox::unsandboxed()];
    runners.extend(sandbox());
    for runner in runners {
        let (observer, lines) = collector();
        let watch = lock2build_sandbox::StepWatch {
            on_line: Some(observer),
            keep_failed: None,
        };
        let mut step = spec(&d, &script);
        step.read_only.push(Mount::new(
            d.log.parent().unwrap(),
            log.rsplit_once('/').unwrap().0,
        ));
        let status = runner.run_watched(&step, &d.log, &watch).unwrap();
        assert!(status.success(), "{}", log_text(&d));
        let lines = lines.lock().unwrap().clone();
        assert_eq!(
            lines,
            ["first", "oops", "LOG-LIVE", "no newline"],
            "{runner:?}"
        );
        assert_eq!(log_text(&d), "first\noops\nLOG-LIVE\nno newline");
    }
}

fn log_text(d: &Dirs) -> String {
    std::fs::read_to_string(&d.log).unwrap()
}

#[test]
fn a_failed_step_keeps_its_directories_when_asked_and_only_then() {
    let mut runners = vec![Sandbox::unsandboxed()];
    runners.extend(sandbox());
    for runner in runners {
        for fail in [true, false] {
            let d = dirs();
            let src = d.secret.parent().unwrap().join("work-src");
            std::fs::create_dir(&src).unwrap();
            let mut step = spec(
                &d,
                &format!(
                    "cd \"$SRC\" && echo object > build.o && echo t > \"$TMPDIR/cc-temp\" && echo partial > \"$OUT/half\"; exit {}",
                    if fail { 2 } else { 0 }
                ),
            );
            step.scratch.push(Mount::new(&src, "/build/src"));
            let seen = runner.visible_path(&step, Path::new("/build/src"));
            let out = runner.visible_path(&step, Path::new(OUT));
            step.env.insert("SRC".into(), seen.display().to_string());
            step.env.insert("OUT".into(), out.display().to_string());
            let kept = d.secret.parent().unwrap().join("failed/demo-1");
            let watch = lock2build_sandbox::StepWatch {
                on_line: None,
                keep_failed: Some(kept.clone()),
            };
            let status = runner.run_watched(&step, &d.log, &watch).unwrap();
            assert_eq!(status.success(), !fail, "{}", log_text(&d));
            if !fail {
                assert!(!kept.exists(), "a step that succeeded was kept");
                assert!(src.join("build.o").is_file());
                continue;
            }
            assert_eq!(
                std::fs::read_to_string(kept.join("build/src/build.o")).unwrap(),
                "object\n"
            );
            assert!(kept.join("tmp/cc-temp").is_file(), "{runner:?}");
            assert!(kept.join("output/half").is_file(), "{runner:?}");
            assert!(!src.exists(), "the kept source is moved, not copied");
            assert_eq!(
                lock2build_sandbox::kept_dir(&log_text(&d)),
                Some(kept.clone())
            );
        }
    }
}

/// A read-only tree as the store keeps one: files 0444 (one 0644), directories
/// 0555, every time in 2001.
fn read_only_tree(root: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let lower = root.join("lower");
    std::fs::create_dir_all(lower.join("deps/old")).unwrap();
    std::fs::write(lower.join("deps/lib.rlib"), "stored rlib").unwrap();
    std::fs::write(lower.join("deps/old/stale.txt"), "stale").unwrap();
    std::fs::write(lower.join("notes.txt"), "stored notes").unwrap();
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(978_307_200);
    for (path, mode) in [
        ("deps/lib.rlib", 0o444),
        ("deps/old/stale.txt", 0o444),
        ("notes.txt", 0o644),
    ] {
        let file = std::fs::File::open(lower.join(path)).unwrap();
        file.set_modified(old).unwrap();
        std::fs::set_permissions(lower.join(path), std::fs::Permissions::from_mode(mode)).unwrap();
    }
    for dir in ["deps/old", "deps", ""] {
        std::fs::set_permissions(lower.join(dir), std::fs::Permissions::from_mode(0o555)).unwrap();
    }
    lower
}

/// Every file under `root` with its bytes, mode and modification time.
fn snapshot(root: &Path) -> Vec<(PathBuf, Vec<u8>, u32, std::time::SystemTime)> {
    use std::os::unix::fs::PermissionsExt;
    let mut all = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let bytes = if meta.is_dir() {
                stack.push(path.clone());
                Vec::new()
            } else {
                std::fs::read(&path).unwrap()
            };
            all.push((
                path,
                bytes,
                meta.permissions().mode(),
                meta.modified().unwrap(),
            ));
        }
    }
    all.sort();
    all
}

#[test]
fn an_overlaid_step_writes_to_its_upper_directory_and_never_to_the_lower_one() {
    let Some(sandbox) = sandbox() else { return };
    let d = dirs();
    let lower = read_only_tree(d._root.path());
    let before = snapshot(&lower);
    let upper = d._root.path().join("upper");
    std::fs::create_dir(&upper).unwrap();
    let overlay = Overlay {
        lower: lower.clone(),
        upper: upper.clone(),
        inside: "/build/target".into(),
        remove: vec!["deps/old".into()],
        writable: vec![".".into(), "deps".into()],
    };
    let script = "set -eu
        cd /build/target
        echo USER=$(id -un)
        echo RLIB=$(cat deps/lib.rlib) MTIME=$(stat -c %Y deps/lib.rlib)
        test -e deps/old && echo SEES-REMOVED
        echo new > deps/new.rlib
        echo more >> notes.txt
        mkdir -p deps/old && echo again > deps/old/stale.txt
        rm deps/lib.rlib
        echo STEP-OK";
    let status = sandbox
        .run_overlaid(&spec(&d, script), &overlay, &d.log, &StepWatch::default())
        .unwrap();
    let out = log(&d);
    assert!(status.success(), "{out}");
    assert!(out.starts_with(OVERLAY_NOTE), "{out}");
    assert!(out.contains("USER=build"), "{out}");
    // The stored file in place, with its stored time (cargo's freshness).
    assert!(out.contains("RLIB=stored rlib MTIME=978307200"), "{out}");
    assert!(
        !out.contains("SEES-REMOVED") && out.contains("STEP-OK"),
        "{out}"
    );
    // The lower tree is as it was, byte for byte, mode and time.
    assert_eq!(snapshot(&lower), before);
    // What the step wrote is in the upper directory, nothing more of the data.
    let read = |p: &str| std::fs::read_to_string(upper.join(p)).unwrap();
    assert_eq!(read("deps/new.rlib"), "new\n");
    assert_eq!(read("notes.txt"), "stored notesmore\n");
    assert_eq!(read("deps/old/stale.txt"), "again\n");
    use std::os::unix::fs::FileTypeExt;
    let gone = std::fs::symlink_metadata(upper.join("deps/lib.rlib")).unwrap();
    assert!(gone.file_type().is_char_device(), "a whiteout: {gone:?}");
}

#[test]
fn an_overlay_that_cannot_be_mounted_runs_nothing_and_says_why() {
    let d = dirs();
    let lower = d._root.path().join("a,b");
    std::fs::create_dir(&lower).unwrap();
    let upper = d._root.path().join("upper");
    std::fs::create_dir(&upper).unwrap();
    let overlay = Overlay {
        lower,
        upper,
        inside: "/build/target".into(),
        remove: vec![],
        writable: vec![],
    };
    let step = spec(&d, "echo ran > \"$OUT/ran\"");
    for sandbox in sandbox().into_iter().chain([Sandbox::unsandboxed()]) {
        let err = sandbox
            .run_overlaid(&step, &overlay, &d.log, &StepWatch::default())
            .unwrap_err();
        assert!(matches!(err, SandboxError::OverlayUnavailable(_)), "{err}");
        assert!(!d.output.join("ran").exists());
    }
}
