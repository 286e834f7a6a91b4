//! `lock2build_import_requirements::import` on arbitrary bytes: `requirements.txt` (and `included.txt` after a NUL).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lock2build_fuzz::run(
        data,
        "requirements.txt",
        "included.txt",
        lock2build_import_requirements::import,
    );
});
