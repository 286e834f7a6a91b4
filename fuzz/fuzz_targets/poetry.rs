//! `lock2build_import_poetry::import` on arbitrary bytes: `poetry.lock` (and `pyproject.toml` after a NUL).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lock2build_fuzz::run(
        data,
        "poetry.lock",
        "pyproject.toml",
        lock2build_import_poetry::import,
    );
});
