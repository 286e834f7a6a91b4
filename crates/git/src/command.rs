//! Running the git CLI: one place that sets the environment every call
//! needs, and the tree id of a directory (as git and Software Heritage
//! compute it).

use crate::error::GitError;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Settings for every git call: no prompt (a missing credential fails
/// instead of hanging), no line-ending or symlink conversion on checkout,
/// and an HTTP transfer that gives up after a minute under 1 KiB/s.
const CONFIG: [&str; 8] = [
    "core.autocrlf=false",
    "core.symlinks=true",
    "core.fsmonitor=false",
    "advice.detachedHead=false",
    "http.lowSpeedLimit=1024",
    "http.lowSpeedTime=60",
    "protocol.file.allow=always",
    "gc.auto=0",
];

/// A `git` command in `dir` with lock2build's settings.
pub(crate) fn git(dir: Option<&Path>) -> Command {
    let mut cmd = Command::new("git");
    for setting in CONFIG {
        cmd.arg("-c").arg(setting);
    }
    if let Some(dir) = dir {
        cmd.arg("-C").arg(dir);
    }
    cmd.env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "/bin/false")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .stdin(Stdio::null());
    cmd
}

/// Runs `cmd` and returns its output; failing to start git is a [`GitError::Git`].
pub(crate) fn output(mut cmd: Command, dir: Option<&Path>) -> Result<Output, GitError> {
    cmd.output().map_err(|e| GitError::Git {
        args: describe(&cmd),
        dir: dir.map(Path::to_path_buf),
        stderr: e.to_string(),
    })
}

/// Runs `cmd`, which must succeed; returns its trimmed stdout.
pub(crate) fn run(cmd: Command, dir: Option<&Path>) -> Result<String, GitError> {
    let args = describe(&cmd);
    let out = output(cmd, dir)?;
    if !out.status.success() {
        return Err(GitError::Git {
            args,
            dir: dir.map(Path::to_path_buf),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The arguments of `cmd` without lock2build's `-c` settings, for messages.
fn describe(cmd: &Command) -> String {
    let mut words = Vec::new();
    let mut skip = false;
    for arg in cmd.get_args() {
        let arg = arg.to_string_lossy();
        if skip {
            skip = false;
        } else if arg == "-c" {
            skip = true;
        } else {
            words.push(arg.into_owned());
        }
    }
    words.join(" ")
}

/// The git tree id of the files under `dir`: what `git write-tree` gives
/// after adding every file (ignored ones too) to an empty index. It equals
/// the directory's Software Heritage id (`swh:1:dir:<id>`). Empty
/// directories do not count, as in git. `scratch` is an empty directory the
/// caller owns (a bare repository and an index are made there).
pub fn tree_id_of_dir(dir: &Path, scratch: &Path) -> Result<String, GitError> {
    let git_dir = scratch.join("tree-id.git");
    let mut init = git(None);
    init.args(["init", "--quiet", "--bare"]).arg(&git_dir);
    run(init, None)?;
    let with_tree = |args: &[&str]| {
        let mut cmd = git(None);
        cmd.env("GIT_DIR", &git_dir)
            .env("GIT_WORK_TREE", dir)
            .env("GIT_INDEX_FILE", scratch.join("tree-id.index"))
            .current_dir(dir)
            .args(args);
        cmd
    };
    run(
        with_tree(&["add", "--all", "--force", "--", "."]),
        Some(dir),
    )?;
    run(with_tree(&["write-tree"]), Some(dir))
}
