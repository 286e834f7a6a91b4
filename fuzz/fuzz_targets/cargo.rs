//! `lock2build_import_cargo::import` on arbitrary bytes: `Cargo.lock` (and `Cargo.toml` after a NUL).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lock2build_fuzz::run(
        data,
        "Cargo.lock",
        "Cargo.toml",
        lock2build_import_cargo::import,
    );
});
