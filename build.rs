//! Links the `lock2build` binary with packed relative relocations
//! (`DT_RELR`) where the C library understands them (glibc 2.36 and
//! later). The binary is position-independent and has ~29,000 relative
//! relocations; packed, the loader applies them from an 8 KB table instead
//! of a 690 KB one (the loader's relocation work at each start: ~3.5M
//! cycles before, ~0.3M after; bench/README.md, "Against the issue day's
//! `plan`, after the profile, id and skeleton changes"), without giving up
//! the address randomisation a non-PIE binary would. An older glibc cannot
//! load such a binary, so the flag is left out there (and when
//! cross-compiling, where the build machine's C library says nothing of
//! the target's).
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let env = |k: &str| std::env::var(k).unwrap_or_default();
    let native = env("HOST") == env("TARGET");
    let gnu_linux = env("CARGO_CFG_TARGET_OS") == "linux" && env("CARGO_CFG_TARGET_ENV") == "gnu";
    if native && gnu_linux && glibc_has_relr() {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// Whether the build machine's glibc (`getconf GNU_LIBC_VERSION`: `glibc
/// 2.36`) is 2.36 or later, the first to read `DT_RELR`.
fn glibc_has_relr() -> bool {
    let Ok(out) = Command::new("getconf").arg("GNU_LIBC_VERSION").output() else {
        return false;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text
        .trim()
        .strip_prefix("glibc ")
        .unwrap_or_default()
        .split('.')
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (2, 36)
}
