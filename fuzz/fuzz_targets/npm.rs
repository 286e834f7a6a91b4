//! `lock2build_import_npm::import` on arbitrary bytes: `package-lock.json` (and `package.json` after a NUL).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lock2build_fuzz::run(
        data,
        "package-lock.json",
        "package.json",
        lock2build_import_npm::import,
    );
});
