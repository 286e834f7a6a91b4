//! `install_wheel` against hostile wheels made here: one whose file inflates
//! past the unpack limit (stopped while streaming, not read whole into
//! memory first), one naming a file twice, one holding a FIFO. One test
//! function, because the limit comes from the environment.

mod common;

use base64::Engine;
use common::*;
use lock2build_python::{install_wheel, PythonError};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;

fn record_hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    format!(
        "sha256={}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
    )
}

/// A well-formed wheel `bomb-1.0` whose `bomb/zeros.bin` holds `size` zero
/// bytes (deflated: a few KiB), plus `extra` files (name, unix mode).
fn wheel(dir: &Path, size: usize, extra: &[(&str, u32)]) -> std::path::PathBuf {
    let path = dir.join("bomb-1.0-py3-none-any.whl");
    let zeros = vec![0u8; size];
    let files: Vec<(&str, &[u8])> = vec![
        ("bomb/__init__.py", b"" as &[u8]),
        ("bomb/zeros.bin", &zeros),
        ("bomb-1.0.dist-info/METADATA", b"Metadata-Version: 2.1\nName: bomb\nVersion: 1.0\n"),
        ("bomb-1.0.dist-info/WHEEL", b"Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
    ];
    let mut record = String::new();
    for (name, bytes) in &files {
        record.push_str(&format!("{name},{},{}\n", record_hash(bytes), bytes.len()));
    }
    for (name, _) in extra {
        record.push_str(&format!("{name},{},0\n", record_hash(b"")));
    }
    record.push_str("bomb-1.0.dist-info/RECORD,,\n");
    let mut writer = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    for (name, bytes) in &files {
        writer.start_file(*name, options).unwrap();
        writer.write_all(bytes).unwrap();
    }
    for (name, mode) in extra {
        writer
            .start_file(*name, options.unix_permissions(*mode))
            .unwrap();
    }
    writer.start_file("bomb-1.0.dist-info/RECORD", options).unwrap();
    writer.write_all(record.as_bytes()).unwrap();
    writer.finish().unwrap();
    path
}

fn patch(path: &Path, from: &[u8], to: &[u8]) {
    let mut bytes = std::fs::read(path).unwrap();
    let mut found = false;
    for i in 0..=bytes.len() - from.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            found = true;
        }
    }
    assert!(found);
    std::fs::write(path, bytes).unwrap();
}

fn refusal(wheel: &Path, out: &Path) -> String {
    match install_wheel(wheel, out, python()) {
        Err(e @ PythonError::BadWheel { .. }) => e.to_string(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn hostile_wheels_are_refused() {
    let dir = tempfile::tempdir().unwrap();

    // Within the limits it installs (the same wheel, the check is real).
    let good = wheel(dir.path(), 8 << 20, &[]);
    let out = dir.path().join("good");
    install_wheel(&good, &out, python()).unwrap();
    let zeros = out.join(&python().site_packages).join("bomb/zeros.bin");
    assert_eq!(std::fs::metadata(&zeros).unwrap().len(), 8 << 20);

    // Past LOCK2BUILD_UNPACK_MAX_SIZE: stopped at the limit.
    std::env::set_var("LOCK2BUILD_UNPACK_MAX_SIZE", (1u64 << 20).to_string());
    let out = dir.path().join("bomb");
    let message = refusal(&good, &out);
    std::env::remove_var("LOCK2BUILD_UNPACK_MAX_SIZE");
    assert!(message.contains("bomb/zeros.bin"), "{message}");
    assert!(message.contains("LOCK2BUILD_UNPACK_MAX_SIZE"), "{message}");
    let zeros = out.join(&python().site_packages).join("bomb/zeros.bin");
    let written = std::fs::metadata(&zeros).map(|m| m.len()).unwrap_or(0);
    assert!(written <= (1 << 20) + (64 << 10), "{written} bytes written");

    // Past the ratio (100 by default above 64 MiB) with no size limit hit.
    let bomb = wheel(dir.path(), 80 << 20, &[]);
    assert!(std::fs::metadata(&bomb).unwrap().len() < 1 << 20);
    let message = refusal(&bomb, &dir.path().join("ratio"));
    assert!(message.contains("100 times"), "{message}");

    // A name twice (the zip writer refuses to, so rename in place).
    let twice = wheel(dir.path(), 10, &[("bomb/aaa.py", 0o644), ("bomb/bbb.py", 0o644)]);
    patch(&twice, b"bomb/bbb.py", b"bomb/aaa.py");
    let message = refusal(&twice, &dir.path().join("twice"));
    assert!(message.contains("appears twice"), "{message}");

    // A FIFO (the writer keeps only permission bits: patch the type in).
    let fifo = wheel(dir.path(), 10, &[("bomb/pipe", 0o644)]);
    let regular = ((0o100644u32) << 16).to_le_bytes();
    let pipe = ((0o010644u32) << 16).to_le_bytes();
    patch(&fifo, &regular, &pipe);
    let message = refusal(&fifo, &dir.path().join("fifo"));
    assert!(message.contains("FIFO"), "{message}");
}
