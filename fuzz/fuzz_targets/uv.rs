//! `lock2build_import_uv::import` on arbitrary bytes: `uv.lock` (and `pyproject.toml` after a NUL).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lock2build_fuzz::run(
        data,
        "uv.lock",
        "pyproject.toml",
        lock2build_import_uv::import,
    );
});
