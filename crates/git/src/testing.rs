//! A real git server for tests: `git daemon` on 127.0.0.1, serving
//! repositories made in a temporary directory.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `git daemon --export-all` on a free port of 127.0.0.1; stopped on drop.
pub struct GitServer {
    root: tempfile::TempDir,
    port: u16,
    child: Child,
}

impl GitServer {
    /// Starts the daemon over an empty base directory.
    pub fn start() -> std::io::Result<GitServer> {
        let root = tempfile::tempdir()?;
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new("git")
            .arg("daemon")
            .arg("--reuseaddr")
            .arg("--export-all")
            .arg("--informative-errors")
            .arg("--listen=127.0.0.1")
            .arg(format!("--port={port}"))
            .arg(format!("--base-path={}", root.path().display()))
            .arg(root.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let server = GitServer { root, port, child };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err(std::io::Error::other("git daemon did not start listening"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(server)
    }

    /// Where repositories go: `<root>/<name>` is served as [`GitServer::url`].
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// `git://127.0.0.1:<port>/<name>`.
    pub fn url(&self, name: &str) -> String {
        format!("git://127.0.0.1:{}/{name}", self.port)
    }

    /// Creates the repository `name` with `files` (path, content) in one
    /// commit and returns the commit id.
    pub fn repo(&self, name: &str, files: &[(&str, &str)]) -> std::io::Result<String> {
        let dir = self.root().join(name);
        std::fs::create_dir_all(&dir)?;
        git_in(&dir, &["init", "--quiet", "-b", "main"])?;
        commit_files(&dir, files, "initial")
    }
}

impl Drop for GitServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes `files` into the work tree `dir`, commits them and returns the
/// new commit id.
pub fn commit_files(dir: &Path, files: &[(&str, &str)], message: &str) -> std::io::Result<String> {
    for (path, content) in files {
        let path: PathBuf = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, content)?;
    }
    git_in(dir, &["add", "--all"])?;
    git_in(dir, &["commit", "--quiet", "-m", message])?;
    git_in(dir, &["rev-parse", "HEAD"])
}

/// Runs git in `dir` with a fixed author; returns trimmed stdout.
pub fn git_in(dir: &Path, args: &[&str]) -> std::io::Result<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=lock2build tests",
            "-c",
            "user.email=tests@lock2build.invalid",
        ])
        .args(["-c", "protocol.file.allow=always"])
        .args(args)
        .stdin(Stdio::null())
        .output()?;
    if !out.status.success() {
        return Err(std::io::Error::other(format!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
