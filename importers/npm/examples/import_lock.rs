//! Imports one package-lock.json and prints counts and the time taken:
//! `cargo run --release -p lock2build-import-npm --example import_lock -- fixtures/npm/big-2000`
use lock2build_model::{LockInput, ProjectFiles};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Reads files from a directory.
struct Dir(PathBuf);

impl ProjectFiles for Dir {
    fn read(&self, path: &Path) -> Option<String> {
        std::fs::read_to_string(self.0.join(path)).ok()
    }
}

fn main() {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| String::from(".")));
    let lock_path = dir.join("package-lock.json");
    let contents = match std::fs::read_to_string(&lock_path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("{}: {e}", lock_path.display());
            std::process::exit(2);
        }
    };
    let files = Dir(dir);
    let start = Instant::now();
    let input = LockInput {
        path: &lock_path,
        contents: &contents,
        files: &files,
    };
    match lock2build_import_npm::import(&input) {
        Ok(graph) => {
            let edges: usize = graph.packages.iter().map(|p| p.dependencies.len()).sum();
            println!(
                "{}: {} packages, {edges} edges, {} roots in {:?}",
                graph.format,
                graph.packages.len(),
                graph.roots.len(),
                start.elapsed()
            );
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
