//! `lock2build_import_pylock::import` on arbitrary bytes: `pylock.toml` (and `pyproject.toml` after a NUL).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lock2build_fuzz::run(
        data,
        "pylock.toml",
        "pyproject.toml",
        lock2build_import_pylock::import,
    );
});
