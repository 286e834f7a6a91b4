//! An npm project with a git dependency: the dependency a repository on
//! a real `git daemon` on 127.0.0.1 with a `prepare` script and a `files`
//! list, the lock made by real npm (`npm install git://127.0.0.1:PORT/gitdep
//! --package-lock-only`).

use super::stderr;
use lock2build_git::testing::GitServer;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const PACKAGE_JSON: &str = r#"{
  "name": "gitdep",
  "version": "1.2.0",
  "main": "lib/index.js",
  "files": ["lib", "target"],
  "scripts": { "prepare": "node build.js" },
  "dependencies": { "ms": "2.1.3" }
}
"#;

pub const BUILD_JS: &str = r#"const fs = require("fs");
fs.mkdirSync("lib", { recursive: true });
fs.writeFileSync("lib/index.js", "const ms = require('ms');\nmodule.exports = () => 'prepared gitdep: ' + ms(3600000);\n");
"#;

/// The repository `gitdep` on the server: its first commit.
pub fn gitdep(server: &GitServer) -> String {
    server
        .repo(
            "gitdep",
            &[
                ("package.json", PACKAGE_JSON),
                ("build.js", BUILD_JS),
                (".gitignore", "lib/\n"),
                ("NOTES.txt", "not packed: `files` leaves it out\n"),
                ("target/keep.js", "// packed: `files` names target/\n"),
            ],
        )
        .unwrap()
}

/// A project depending on `spec`, locked by npm; `bin/git-app` prints what
/// gitdep says.
pub fn locked_project(root: &Path, spec: &str) -> PathBuf {
    let project = root.join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("package.json"),
        r#"{"name": "git-app", "version": "1.0.0", "bin": {"git-app": "main.js"}}"#,
    )
    .unwrap();
    std::fs::write(
        project.join("main.js"),
        "console.log(require(\"gitdep\")());\n",
    )
    .unwrap();
    let out = Command::new("npm")
        .args([
            "install",
            "--package-lock-only",
            "--ignore-scripts",
            "--omit-lockfile-registry-resolved=false",
            "--no-audit",
            "--no-fund",
            spec,
        ])
        .current_dir(&project)
        .env("npm_config_cache", root.join("npm-cache"))
        .output()
        .unwrap();
    assert!(out.status.success(), "npm: {}", stderr(&out));
    project
}
