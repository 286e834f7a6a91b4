//! What every fuzz target shares: an input is a lockfile's text,
//! optionally followed by a NUL byte and the text of the manifest beside it
//! (`pyproject.toml`, `package.json`, `Cargo.toml`), so the fuzzer mutates
//! both. Inputs that are not UTF-8 are skipped: every importer takes `&str`
//! (the CLI refuses a lockfile that is not UTF-8 before importing it).

use lock2build_model::{Graph, ImportError, LockInput, MemoryFiles};
use std::path::Path;

/// Splits `data` into the lockfile and the manifest and runs `import` on
/// them, the lockfile named `lockfile` and the manifest `manifest` in its
/// directory. A result either way is fine; a panic, overflow or hang is
/// what the fuzzer reports.
pub fn run(
    data: &[u8],
    lockfile: &str,
    manifest: &str,
    import: fn(&LockInput<'_>) -> Result<Graph, ImportError>,
) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (lock, files) = match text.split_once('\0') {
        Some((lock, beside)) => (lock, MemoryFiles::empty().with(manifest, beside)),
        None => (text, MemoryFiles::empty()),
    };
    let input = LockInput {
        path: Path::new(lockfile),
        contents: lock,
        files: &files,
    };
    let _ = import(&input);
}
