//! `lock2build graph`, `lock2build realise` and the nix/ library that builds
//! a graph's nodes with Debian's Nix 2.8 (single-user, `sandbox = false`).

mod common;

use common::{
    have_nix, lock2build, nix_build, nodes_of_kind, project_with_git_dep, realise, tempdir,
};
use lock2build_git::testing::GitServer;
use std::path::{Path, PathBuf};
use std::process::Command;

fn graph_of(project: &Path, root: &Path) -> (PathBuf, serde_json::Value) {
    let path = root.join("graph.json");
    let out = lock2build(
        &[
            "graph",
            project.to_str().unwrap(),
            "-o",
            path.to_str().unwrap(),
        ],
        &root.join("cache"),
        &root.join("store"),
    );
    assert!(out.status.success(), "{}", common::stderr(&out));
    let doc = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    (path, doc)
}

#[test]
fn the_graph_lists_every_source_by_the_locks_hash() {
    let root = tempdir("graph-sources");
    let (_, graph) = graph_of(&common::fixture("poetry/flask-pillow"), &root);
    assert_eq!(graph["kind"], "lock2build-build-graph");
    assert_eq!(graph["version"], 1);
    let fetches = nodes_of_kind(&graph, "fetch-url");
    let lock = std::fs::read_to_string(common::fixture("poetry/flask-pillow/poetry.lock")).unwrap();
    let flask = fetches
        .iter()
        .find(|n| n["name"].as_str().unwrap().starts_with("flask-"))
        .expect("flask's wheel");
    assert_eq!(flask["output"]["fixed"]["mode"], "flat");
    // The lock's hex sha256 of the wheel, as SRI.
    let sri = flask["output"]["fixed"]["hash"].as_str().unwrap();
    let in_lock = lock
        .split('"')
        .any(|s| lock2build_model::Hash::parse_prefixed(s).is_ok_and(|h| h.to_sri() == sri));
    assert!(in_lock, "{sri} is not a hash of poetry.lock");
}

#[test]
fn realise_checks_the_graph_the_node_and_its_output() {
    let root = tempdir("graph-realise");
    let (path, graph) = graph_of(&common::fixture("poetry/flask-pillow"), &root);
    let node = nodes_of_kind(&graph, "fetch-url")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    let out = root.join("out");
    let made = realise(&path, &node, &[], &out);
    assert!(made.status.success(), "{}", common::stderr(&made));
    assert!(out.is_file());

    let err = common::stderr(&realise(&path, "nope", &[], &root.join("o2")));
    assert!(err.contains("`nope` is not in the build graph"), "{err}");

    let again = common::stderr(&realise(&path, &node, &[], &out));
    assert!(again.contains("exists"), "{again}");

    let mut other = graph.clone();
    other["version"] = 2.into();
    let v2 = root.join("v2.json");
    std::fs::write(&v2, serde_json::to_vec(&other).unwrap()).unwrap();
    let err = common::stderr(&realise(&v2, &node, &[], &root.join("o3")));
    assert!(
        err.contains("version 2") && err.contains("reads version 1"),
        "{err}"
    );
    assert!(!root.join("o3").exists());
}

/// A made-up node that takes a fixed input: its input is checked by hash
/// before anything else happens.
#[test]
fn realise_refuses_an_input_whose_contents_do_not_match_its_node() {
    let root = tempdir("graph-input");
    let (path, mut graph) = graph_of(&common::fixture("poetry/flask-pillow"), &root);
    let source = nodes_of_kind(&graph, "fetch-url")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let user = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-user";
    graph["nodes"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "id": user, "name": "user", "recipe": {"kind": "python-wheel"}, "inputs": [source]
        }));
    std::fs::write(&path, serde_json::to_vec(&graph).unwrap()).unwrap();
    let fake = root.join("fake.whl");
    std::fs::write(&fake, b"not the wheel").unwrap();
    let out = root.join("out");
    let err = common::stderr(&realise(&path, user, &[(&source, &fake)], &out));
    assert!(
        err.contains(&format!("input `{source}`")) && err.contains("do not match"),
        "{err}"
    );
    let err = common::stderr(&realise(&path, user, &[], &out));
    assert!(err.contains(&format!("--input {source}=PATH")), "{err}");
    assert!(!out.exists());
}

#[test]
fn nix_fetches_every_source_of_the_graph_by_its_hash() {
    if !have_nix() {
        return;
    }
    let root = tempdir("graph-nix-sources");
    let (path, graph) = graph_of(&common::fixture("poetry/flask-pillow"), &root);
    let out = nix_build(&path, "sources");
    assert!(out.status.success(), "{}", common::stderr(&out));
    let paths: Vec<String> = common::stdout(&out).lines().map(str::to_owned).collect();
    assert_eq!(paths.len(), nodes_of_kind(&graph, "fetch-url").len());
    for p in &paths {
        assert!(
            p.starts_with("/nix/store/") && Path::new(p).is_file(),
            "{p}"
        );
    }
}

#[test]
fn nix_checks_out_a_git_source_through_realise_and_checks_its_nar_hash() {
    if !have_nix() {
        return;
    }
    let server = GitServer::start().unwrap();
    let root = tempdir("graph-nix-git");
    let (project, locked, _) = project_with_git_dep(&server, &root);
    let (path, graph) = graph_of(&project, &root);
    let git = nodes_of_kind(&graph, "git-checkout");
    assert_eq!(git.len(), 1, "{graph}");
    assert_eq!(git[0]["recipe"]["commit"], locked.as_str());
    assert_eq!(git[0]["output"]["fixed"]["mode"], "nar");
    let out = nix_build(&path, &format!("nodes.{}", git[0]["id"].as_str().unwrap()));
    assert!(out.status.success(), "{}", common::stderr(&out));
    let made = PathBuf::from(common::stdout(&out).trim());
    let lib = std::fs::read_to_string(made.join("src/lib.rs")).unwrap();
    assert!(
        lib.contains("42"),
        "the locked commit, not the branch head: {lib}"
    );
    assert!(!made.join(".git").exists());
}

/// `nix copy` of a built graph to a file:// binary cache, then a second,
/// empty Nix store that substitutes from it: everything arrives, nothing is
/// built (a chroot store cannot build here at all: its builds run chrooted
/// into a root without /bin, so a single build would fail the test).
#[test]
fn a_second_nix_store_gets_the_graph_from_a_binary_cache_without_building() {
    if !have_nix() {
        return;
    }
    let server = GitServer::start().unwrap();
    let root = tempdir("graph-nix-cache");
    let (project, _, _) = project_with_git_dep(&server, &root);
    let (path, _) = graph_of(&project, &root);
    let out = nix_build(&path, "all");
    assert!(out.status.success(), "{}", common::stderr(&out));
    let built: Vec<String> = common::stdout(&out).lines().map(str::to_owned).collect();
    assert!(!built.is_empty());

    let key = root.join("key");
    let pubkey = root.join("key.pub");
    run(Command::new("nix-store")
        .args(["--generate-binary-cache-key", "lock2build-test-1"])
        .args([&key, &pubkey]));
    let cache = format!("file://{}", root.join("cache-dir").display());
    run(nix_cmd()
        .args(["store", "sign", "-r", "--key-file"])
        .arg(&key)
        .args(&built));
    run(nix_cmd().args(["copy", "--to", &cache]).args(&built));

    let second = root.join("second-store");
    let out = Command::new("nix-build")
        .arg(common::repo().join("nix"))
        .args(["--arg", "graph"])
        .arg(&path)
        .args(["--arg", "lock2build"])
        .arg(env!("CARGO_BIN_EXE_lock2build"))
        .args(["-A", "all", "--no-out-link", "--store"])
        .arg(&second)
        .args(["--option", "substituters", &cache])
        .args(["--option", "trusted-public-keys"])
        .arg(std::fs::read_to_string(&pubkey).unwrap().trim())
        .output()
        .unwrap();
    let log = common::stderr(&out);
    assert!(out.status.success(), "{log}");
    assert!(!log.contains("building '"), "nothing is built: {log}");
    let again: Vec<String> = common::stdout(&out).lines().map(str::to_owned).collect();
    assert_eq!(again, built, "the same store paths");
    for p in &again {
        let inside = second.join(p.trim_start_matches('/'));
        assert!(
            inside.exists(),
            "{} is in the second store",
            inside.display()
        );
    }
}

/// `--builders ssh-ng://…` to an sshd on 127.0.0.1: the local side is an
/// empty chroot store that cannot build, the "remote" is this machine's
/// /nix/store; the git checkout is realised there and copied back.
#[test]
fn nix_builds_a_node_on_a_remote_builder_over_ssh() {
    if !have_nix() {
        return;
    }
    let Some(sshd) = Sshd::start(&tempdir("graph-nix-sshd")) else {
        return;
    };
    let server = GitServer::start().unwrap();
    let root = tempdir("graph-nix-remote");
    // A tree no store has yet, so the remote really builds it now.
    let marker = format!("{:?}", std::time::SystemTime::now());
    let (project, _, _) = common::project_with_marked_git_dep(&server, &root, Some(&marker));
    let (path, _) = graph_of(&project, &root);
    let local = root.join("local-store");
    let out = Command::new("nix-build")
        .arg(common::repo().join("nix"))
        .args(["--arg", "graph"])
        .arg(&path)
        .args(["--arg", "lock2build"])
        .arg(env!("CARGO_BIN_EXE_lock2build"))
        .args(["-A", "result", "--no-out-link", "--store"])
        .arg(&local)
        .args([
            "--option",
            "substituters",
            "",
            "--max-jobs",
            "0",
            "--builders",
        ])
        .arg(format!("ssh-ng://{} x86_64-linux", sshd.host))
        .env("NIX_SSHOPTS", format!("-F {}", sshd.config.display()))
        .output()
        .unwrap();
    let log = common::stderr(&out);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains(&format!("on 'ssh-ng://{}'", sshd.host)),
        "built remotely: {log}"
    );
    assert!(
        log.contains(&format!("from 'ssh-ng://{}'", sshd.host)),
        "copied back: {log}"
    );
    // Every node was built there: the git checkout, the vendor directory,
    // the dependencies and the app.
    for name in ["cargo-vendor", "app-deps", "app"] {
        assert!(
            log.contains(&format!("-{name}.drv' on 'ssh-ng://{}'", sshd.host)),
            "{name} built remotely: {log}"
        );
    }
    let made = common::stdout(&out).trim().to_string();
    assert!(local
        .join(made.trim_start_matches('/'))
        .join("bin/app")
        .is_file());
    let ran = Command::new(Path::new(&made).join("bin/app"))
        .output()
        .unwrap();
    assert!(
        ran.status.success(),
        "the remote store has it: {}",
        common::stderr(&ran)
    );
}

fn nix_cmd() -> Command {
    let mut c = Command::new("nix");
    c.args(["--extra-experimental-features", "nix-command"]);
    c
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", common::stderr(&out));
}

/// An sshd of the test's own on a free loopback port, root by key only.
struct Sshd {
    child: std::process::Child,
    host: String,
    config: PathBuf,
}

impl Sshd {
    fn start(dir: &Path) -> Option<Sshd> {
        if !Path::new("/usr/sbin/sshd").exists() {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must install openssh-server"
            );
            eprintln!("no sshd: skipping (apt-get install openssh-server)");
            return None;
        }
        for name in ["id", "host"] {
            run(Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(dir.join(name)));
        }
        std::fs::copy(dir.join("id.pub"), dir.join("authorized_keys")).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        std::fs::create_dir_all("/run/sshd").unwrap();
        // The remote Nix's settings: Debian's, no substituters (none is
        // reachable), and builds as root: a Cargo project's steps run
        // root's rustup toolchain, which the build users cannot read.
        let conf = dir.join("nix-conf");
        std::fs::create_dir_all(&conf).unwrap();
        std::fs::write(
            conf.join("nix.conf"),
            "sandbox = false\nsubstituters =\nbuild-users-group =\n",
        )
        .unwrap();
        let server_config = dir.join("sshd_config");
        std::fs::write(
            &server_config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host\nAuthorizedKeysFile {d}/authorized_keys\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nStrictModes no\nPidFile {d}/sshd.pid\nSetEnv PATH=/usr/local/bin:/usr/bin:/bin NIX_CONF_DIR={d}/nix-conf\n",
                d = dir.display()
            ),
        )
        .unwrap();
        let config = dir.join("ssh_config");
        std::fs::write(
            &config,
            format!(
                "Host nix-remote\n  HostName 127.0.0.1\n  Port {port}\n  User root\n  IdentityFile {}/id\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n",
                dir.display()
            ),
        )
        .unwrap();
        // -D: in the foreground (its daemon mode drops connections here).
        let child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(&server_config)
            .stderr(std::fs::File::create(dir.join("sshd.log")).unwrap())
            .spawn()
            .unwrap();
        for _ in 0..50 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Some(Sshd {
            child,
            host: "nix-remote".into(),
            config,
        })
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The project's own files reach Nix through `builtins.path` with
/// lock2build's filter: what `app` copies into a build, nothing else.
#[test]
fn nix_copies_a_local_tree_with_lock2builds_filter() {
    if !have_nix() {
        return;
    }
    let root = tempdir("graph-nix-local-tree");
    let project = root.join("project");
    for (file, text) in [
        ("src/main.rs", "fn main() {}\n"),
        ("Cargo.toml", "[package]\n"),
        ("sub/target/skipped", "x"),
        ("target/release/app", "x"),
        ("node_modules/left/index.js", "x"),
        ("result-dev/bin/app", "x"),
        (".git/HEAD", "ref: refs/heads/main\n"),
        (
            "docs/results.md",
            "kept: only `result` and `result-*` are skipped\n",
        ),
    ] {
        let path = project.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    std::os::unix::fs::symlink("src/main.rs", project.join("main-link.rs")).unwrap();
    std::os::unix::fs::symlink("/nonexistent", project.join("result")).unwrap();
    let id = "0123456789abcdfghijklmnpqrsvwxyz-project-source";
    let graph = serde_json::json!({
        "kind": "lock2build-build-graph",
        "version": 1,
        "target": "x86_64-linux",
        "nodes": [{
            "id": id,
            "name": "project-source",
            "recipe": {
                "kind": "local-tree",
                "path": project,
                "tree": "not-checked-by-nix",
                "exclude": [".git", "target", "node_modules", "result"],
                "exclude_prefixes": ["result-"],
            },
        }],
    });
    let path = root.join("graph.json");
    std::fs::write(&path, serde_json::to_vec(&graph).unwrap()).unwrap();
    // Not a derivation: a store path Nix copies when it evaluates.
    let out = Command::new("nix-instantiate")
        .args(["--eval", "--read-write-mode"])
        .arg(common::repo().join("nix"))
        .args(["--arg", "graph"])
        .arg(&path)
        .args(["-A", &format!("nodes.{id}")])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    let copy = PathBuf::from(common::stdout(&out).trim().trim_matches('"'));
    assert!(copy.starts_with("/nix/store"), "{}", copy.display());
    let mut files = Vec::new();
    list(&copy, Path::new(""), &mut files);
    files.sort();
    assert_eq!(
        files,
        [
            "Cargo.toml",
            "docs/results.md",
            "main-link.rs",
            "src/main.rs"
        ]
    );
    assert_eq!(
        std::fs::read_link(copy.join("main-link.rs")).unwrap(),
        Path::new("src/main.rs")
    );
}

fn list(root: &Path, rel: &Path, files: &mut Vec<String>) {
    for entry in std::fs::read_dir(root.join(rel)).unwrap() {
        let entry = entry.unwrap();
        let rel = rel.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            list(root, &rel, files);
        } else {
            files.push(rel.display().to_string());
        }
    }
}
