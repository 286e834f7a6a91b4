//! Importing a lockfile takes time linear in its size: every package's line
//! comes from one line index, not from a scan from the file's start per
//! package (16,000 packages took 20.6 s for uv.lock and 35.8 s for
//! poetry.lock that way). Checked as a ratio, so the test holds on a slow
//! or busy machine: four times the packages must take well under the
//! sixteen times a quadratic import would.

use lock2build_model::{Graph, ImportError, LockInput, MemoryFiles};
use std::path::Path;
use std::time::{Duration, Instant};

type Import = fn(&LockInput) -> Result<Graph, ImportError>;
type Make = fn(usize) -> (String, String);

fn sha256_hex(i: usize) -> String {
    format!("{:064x}", i as u128 * 0x9e37_79b9_7f4a_7c15)
}

/// A uv.lock of a virtual project depending on `n` wheels, and its
/// pyproject.toml.
fn uv_lock(n: usize) -> (String, String) {
    let mut lock = String::from("version = 1\nrevision = 2\nrequires-python = \">=3.11\"\n\n");
    lock.push_str(
        "[[package]]\nname = \"big\"\nversion = \"0.1.0\"\nsource = { virtual = \".\" }\ndependencies = [\n",
    );
    for i in 0..n {
        lock.push_str(&format!("    {{ name = \"pkg{i}\" }},\n"));
    }
    lock.push_str("]\n\n");
    for i in 0..n {
        lock.push_str(&format!(
            "[[package]]\nname = \"pkg{i}\"\nversion = \"1.0\"\nsource = {{ registry = \"https://pypi.org/simple\" }}\n\
             wheels = [{{ url = \"https://files.example/pkg{i}-1.0-py3-none-any.whl\", hash = \"sha256:{}\", size = 100 }}]\n\n",
            sha256_hex(i)
        ));
    }
    let deps: Vec<String> = (0..n).map(|i| format!("\"pkg{i}\"")).collect();
    let pyproject = format!(
        "[project]\nname = \"big\"\nversion = \"0.1.0\"\nrequires-python = \">=3.11\"\ndependencies = [{}]\n",
        deps.join(", ")
    );
    (lock, pyproject)
}

/// A poetry.lock (2.0) of `n` wheels, and its pyproject.toml.
fn poetry_lock(n: usize) -> (String, String) {
    let mut lock = String::new();
    for i in 0..n {
        lock.push_str(&format!(
            "[[package]]\nname = \"pkg{i}\"\nversion = \"1.0\"\ndescription = \"\"\noptional = false\n\
             python-versions = \"*\"\nfiles = [\n    {{file = \"pkg{i}-1.0-py3-none-any.whl\", hash = \"sha256:{}\"}},\n]\n\n",
            sha256_hex(i)
        ));
    }
    lock.push_str(
        "[metadata]\nlock-version = \"2.0\"\npython-versions = \"^3.11\"\ncontent-hash = \"0\"\n",
    );
    let mut pyproject = String::from(
        "[tool.poetry]\nname = \"big\"\nversion = \"0.1.0\"\ndescription = \"\"\nauthors = []\n\n\
         [tool.poetry.dependencies]\npython = \"^3.11\"\n",
    );
    for i in 0..n {
        pyproject.push_str(&format!("pkg{i} = \"1.0\"\n"));
    }
    (lock, pyproject)
}

/// The fastest of two imports of `n` packages.
fn import_time(n: usize, make: Make, name: &str, import: Import) -> Duration {
    let (lock, pyproject) = make(n);
    let files = MemoryFiles::empty().with("pyproject.toml", pyproject);
    (0..2)
        .map(|_| {
            let input = LockInput {
                path: Path::new(name),
                contents: &lock,
                files: &files,
            };
            let started = Instant::now();
            let graph = import(&input).unwrap_or_else(|e| panic!("{e}"));
            assert!(graph.packages.len() > n, "{}", graph.packages.len());
            started.elapsed()
        })
        .min()
        .unwrap()
}

fn assert_linear(name: &str, make: Make, import: Import) {
    let small = import_time(1_000, make, name, import);
    let large = import_time(4_000, make, name, import);
    let ratio = large.as_secs_f64() / small.as_secs_f64();
    assert!(
        ratio < 9.0,
        "{name}: 1,000 packages {small:?}, 4,000 {large:?} (x{ratio:.1}): not linear"
    );
}

#[test]
fn uv_lock_imports_in_linear_time() {
    assert_linear("uv.lock", uv_lock, lock2build_import_uv::import);
}

#[test]
fn poetry_lock_imports_in_linear_time() {
    assert_linear("poetry.lock", poetry_lock, lock2build_import_poetry::import);
}
