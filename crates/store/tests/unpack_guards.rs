//! A corpus of hostile archives, made here, that `unpack` must refuse, and
//! well-formed ones whose modes and times it must normalise.

use lock2build_store::{
    unpack, unpack_limited, ArchiveFormat, UnpackError, UnpackLimits, NORMALIZED_MTIME,
};
use std::fs;
use std::io::Read;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

enum Entry {
    File(&'static str, &'static [u8], u32),
    Dir(&'static str),
    Symlink(&'static str, &'static str),
    HardLink(&'static str, &'static str),
    Device(&'static str),
    Fifo(&'static str),
}

/// A tar with raw names (tar's own `set_path` refuses `..`, so the names
/// are written into the header fields directly).
fn tar_bytes(entries: &[Entry]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        let (name, link, kind, data, mode): (&str, Option<&str>, tar::EntryType, &[u8], u32) =
            match entry {
                Entry::File(n, d, m) => (n, None, tar::EntryType::Regular, d, *m),
                Entry::Dir(n) => (n, None, tar::EntryType::Directory, b"", 0o755),
                Entry::Symlink(n, t) => (n, Some(t), tar::EntryType::Symlink, b"", 0o777),
                Entry::HardLink(n, t) => (n, Some(t), tar::EntryType::Link, b"", 0o644),
                Entry::Device(n) => (n, None, tar::EntryType::Char, b"", 0o644),
                Entry::Fifo(n) => (n, None, tar::EntryType::Fifo, b"", 0o644),
            };
        {
            let gnu = header.as_gnu_mut().unwrap();
            gnu.name[..name.len()].copy_from_slice(name.as_bytes());
            if let Some(link) = link {
                gnu.linkname[..link.len()].copy_from_slice(link.as_bytes());
            }
        }
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_size(data.len() as u64);
        header.set_mtime(1_234_567_890);
        header.set_cksum();
        builder.append(&header, data).unwrap();
    }
    builder.into_inner().unwrap()
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn bz2(bytes: &[u8]) -> Vec<u8> {
    let mut enc = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

struct Case {
    _dir: tempfile::TempDir,
    root: PathBuf,
    archive: PathBuf,
    dest: PathBuf,
}

/// Lays out `<tmp>/work/archive` and `<tmp>/work/a/b/dest`, so `..` tricks
/// have somewhere to land that the test can inspect.
fn case(name: &str, bytes: &[u8]) -> Case {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("work");
    let dest = root.join("a/b/dest");
    fs::create_dir_all(&dest).unwrap();
    let archive = root.join(name);
    fs::write(&archive, bytes).unwrap();
    Case {
        _dir: dir,
        root,
        archive,
        dest,
    }
}

fn refused(case: &Case, format: ArchiveFormat, entry: &str) -> String {
    match unpack(&case.archive, format, &case.dest) {
        Err(e @ UnpackError::Refused { .. }) => {
            let UnpackError::Refused {
                entry: got,
                archive,
                ..
            } = &e
            else {
                unreachable!()
            };
            assert_eq!(got, entry, "{e}");
            assert_eq!(archive, &case.archive);
            let message = e.to_string();
            assert!(
                message.contains(entry) && message.contains(&*case.archive.to_string_lossy()),
                "{message}"
            );
            message
        }
        other => panic!("expected a refusal of `{entry}`, got {other:?}"),
    }
}

/// Every file under `dir`, relative.
fn listing(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            out.push(p.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
            if fs::symlink_metadata(&p).unwrap().is_dir() {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn dotdot_entry_is_refused_and_nothing_lands_outside() {
    let c = case(
        "x.tar.gz",
        &gz(&tar_bytes(&[
            Entry::File("ok.txt", b"fine", 0o644),
            Entry::File("../../evil.txt", b"pwned", 0o644),
        ])),
    );
    refused(&c, ArchiveFormat::TarGz, "../../evil.txt");
    assert!(!c.root.join("a/evil.txt").exists());
    assert_eq!(
        listing(&c.root),
        ["a", "a/b", "a/b/dest", "a/b/dest/ok.txt", "x.tar.gz"]
    );
}

#[test]
fn absolute_entry_is_refused() {
    let c = case(
        "x.tar",
        &tar_bytes(&[Entry::File("/tmp/lock2build-evil-abs", b"pwned", 0o644)]),
    );
    let message = refused(&c, ArchiveFormat::Tar, "/tmp/lock2build-evil-abs");
    assert!(message.contains("absolute"), "{message}");
    assert!(!Path::new("/tmp/lock2build-evil-abs").exists());
}

#[test]
fn symlink_to_absolute_path_is_refused() {
    let c = case("x.tar", &tar_bytes(&[Entry::Symlink("etc", "/etc")]));
    refused(&c, ArchiveFormat::Tar, "etc");
}

#[test]
fn escaping_symlink_then_file_through_it_is_refused() {
    let c = case(
        "x.tar",
        &tar_bytes(&[
            Entry::Symlink("esc", "../../.."),
            Entry::File("esc/pwned.txt", b"pwned", 0o644),
        ]),
    );
    refused(&c, ArchiveFormat::Tar, "esc");
    assert!(!c.root.join("pwned.txt").exists());
}

#[test]
fn file_through_an_inside_symlink_is_refused() {
    // Even a symlink that stays inside is never written through.
    let c = case(
        "x.tar",
        &tar_bytes(&[
            Entry::Dir("sub"),
            Entry::Symlink("in", "sub"),
            Entry::File("in/x.txt", b"x", 0o644),
        ]),
    );
    refused(&c, ArchiveFormat::Tar, "in/x.txt");
}

#[test]
fn symlink_chain_that_escapes_physically_is_refused() {
    // `d/s -> ..` is the destination itself; `x -> d/s/..` looks like `d`
    // lexically but is the destination's parent on disk.
    let c = case(
        "x.tar",
        &tar_bytes(&[
            Entry::Dir("d"),
            Entry::Symlink("d/s", ".."),
            Entry::Symlink("x", "d/s/.."),
        ]),
    );
    refused(&c, ArchiveFormat::Tar, "x");
}

#[test]
fn hardlinks_outside_are_refused_inside_are_copied() {
    let outside = case(
        "x.tar",
        &tar_bytes(&[Entry::HardLink("passwd", "../../../../etc/passwd")]),
    );
    refused(&outside, ArchiveFormat::Tar, "passwd");
    let absolute = case(
        "x.tar",
        &tar_bytes(&[Entry::HardLink("passwd", "/etc/passwd")]),
    );
    refused(&absolute, ArchiveFormat::Tar, "passwd");
    let through_symlink = case(
        "x.tar",
        &tar_bytes(&[
            Entry::File("x.txt", b"x", 0o644),
            Entry::Dir("d"),
            Entry::Symlink("d/up", ".."),
            Entry::HardLink("h", "d/up/x.txt"),
        ]),
    );
    refused(&through_symlink, ArchiveFormat::Tar, "h");

    let inside = case(
        "x.tar",
        &tar_bytes(&[
            Entry::File("a.txt", b"same", 0o755),
            Entry::HardLink("b.txt", "a.txt"),
        ]),
    );
    unpack(&inside.archive, ArchiveFormat::Tar, &inside.dest).unwrap();
    assert_eq!(fs::read(inside.dest.join("b.txt")).unwrap(), b"same");
}

#[test]
fn device_files_and_fifos_are_refused() {
    let c = case("x.tar", &tar_bytes(&[Entry::Device("dev/sda")]));
    let message = refused(&c, ArchiveFormat::Tar, "dev/sda");
    assert!(message.contains("device"), "{message}");
    let c = case("x.tar", &tar_bytes(&[Entry::Fifo("pipe")]));
    refused(&c, ArchiveFormat::Tar, "pipe");
}

fn zip_bytes(build: impl FnOnce(&mut zip::ZipWriter<std::io::Cursor<Vec<u8>>>)) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    build(&mut writer);
    writer.finish().unwrap().into_inner()
}

fn stored() -> zip::write::SimpleFileOptions {
    zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored)
}

#[test]
fn zip_slip_and_zip_symlinks_are_refused() {
    let slip = case(
        "x.whl",
        &zip_bytes(|w| {
            w.start_file("../../evil.py", stored()).unwrap();
            w.write_all(b"pwned").unwrap();
        }),
    );
    refused(&slip, ArchiveFormat::Zip, "../../evil.py");
    assert!(!slip.root.join("a/evil.py").exists());

    let backslash = case(
        "x.zip",
        &zip_bytes(|w| {
            w.start_file("..\\..\\evil.py", stored()).unwrap();
            w.write_all(b"pwned").unwrap();
        }),
    );
    refused(&backslash, ArchiveFormat::Zip, "..\\..\\evil.py");

    let link = case(
        "x.zip",
        &zip_bytes(|w| {
            w.add_symlink("lib", "../../../usr/lib", stored()).unwrap();
        }),
    );
    refused(&link, ArchiveFormat::Zip, "lib");
}

#[test]
fn good_archives_keep_exec_bits_and_normalise_times() {
    let entries = [
        Entry::Dir("pkg-1.0/"),
        Entry::Dir("pkg-1.0/bin/"),
        Entry::File("pkg-1.0/bin/run", b"#!/bin/sh\necho hi\n", 0o700),
        Entry::File("pkg-1.0/README", b"hello", 0o600),
        Entry::Symlink("pkg-1.0/README.md", "README"),
        Entry::Symlink("pkg-1.0/bin/readme", "../README"),
    ];
    let tar = tar_bytes(&entries);
    let zip = zip_bytes(|w| {
        w.add_directory("pkg-1.0/bin/", stored()).unwrap();
        w.start_file("pkg-1.0/bin/run", stored().unix_permissions(0o700))
            .unwrap();
        w.write_all(b"#!/bin/sh\necho hi\n").unwrap();
        w.start_file("pkg-1.0/README", stored().unix_permissions(0o600))
            .unwrap();
        w.write_all(b"hello").unwrap();
        w.add_symlink("pkg-1.0/README.md", "README", stored())
            .unwrap();
        w.add_symlink("pkg-1.0/bin/readme", "../README", stored())
            .unwrap();
    });
    for (name, bytes, format) in [
        ("p.tar.gz", gz(&tar), ArchiveFormat::TarGz),
        ("p.tar.bz2", bz2(&tar), ArchiveFormat::TarBz2),
        ("p.tar", tar.clone(), ArchiveFormat::Tar),
        ("p.zip", zip, ArchiveFormat::Zip),
    ] {
        assert_eq!(ArchiveFormat::from_filename(name), Some(format));
        let c = case(name, &bytes);
        unpack(&c.archive, format, &c.dest).unwrap_or_else(|e| panic!("{name}: {e}"));
        let top = lock2build_store::single_top_dir(&c.dest).unwrap();
        assert_eq!(top, c.dest.join("pkg-1.0"));
        let mode = |p: &str| {
            fs::symlink_metadata(top.join(p))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("bin/run"), 0o755, "{name}");
        assert_eq!(mode("README"), 0o644, "{name}");
        assert_eq!(mode("bin"), 0o755, "{name}");
        assert_eq!(
            fs::read_to_string(top.join("bin/readme")).unwrap(),
            "hello",
            "{name}"
        );
        assert_eq!(
            fs::read_link(top.join("README.md")).unwrap(),
            Path::new("README")
        );
        for p in ["", "bin", "bin/run", "README", "README.md", "bin/readme"] {
            let meta = fs::symlink_metadata(top.join(p)).unwrap();
            assert_eq!(meta.mtime(), NORMALIZED_MTIME, "{name}: mtime of `{p}`");
        }
    }
}

#[test]
fn corrupt_and_truncated_archives_are_read_errors() {
    let tar = gz(&tar_bytes(&[Entry::File("a.txt", &[7u8; 4096], 0o644)]));
    for cut in [0, 10, tar.len() / 2, tar.len() - 1] {
        let c = case("x.tar.gz", &tar[..cut]);
        match unpack(&c.archive, ArchiveFormat::TarGz, &c.dest) {
            Err(UnpackError::Read { .. }) | Ok(()) => {}
            Err(e) => panic!("cut at {cut}: unexpected {e}"),
        }
    }
    let c = case("x.zip", b"PK\x03\x04 not really a zip");
    assert!(matches!(
        unpack(&c.archive, ArchiveFormat::Zip, &c.dest),
        Err(UnpackError::Read { .. })
    ));
}

// ---- bombs and odd zips ---------------------------------------------------------

/// A tar.gz of one `size`-byte file of zeros: a few KiB that inflate to `size`.
fn zeros_tgz(size: usize) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_path("package/zeros.bin").unwrap();
    header.set_size(size as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder
        .append(&header, std::io::repeat(0).take(size as u64))
        .unwrap();
    gz(&builder.into_inner().unwrap())
}

fn written(dir: &Path) -> u64 {
    listing(dir)
        .iter()
        .map(|p| fs::symlink_metadata(dir.join(p)).unwrap())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

#[test]
fn an_archive_past_the_size_limit_is_stopped_while_writing() {
    let c = case("bomb.tgz", &zeros_tgz(8 << 20));
    let limits = UnpackLimits {
        max_bytes: 1 << 20,
        ..UnpackLimits::default()
    };
    match unpack_limited(&c.archive, ArchiveFormat::TarGz, &c.dest, limits) {
        Err(e @ UnpackError::Refused { .. }) => {
            let message = e.to_string();
            assert!(message.contains("package/zeros.bin"), "{message}");
            assert!(message.contains("LOCK2BUILD_UNPACK_MAX_SIZE"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // Stopped at the limit (one buffer past at most), not written in full.
    assert!(
        written(&c.dest) <= (1 << 20) + (64 << 10),
        "{}",
        written(&c.dest)
    );
}

#[test]
fn an_archive_past_the_ratio_is_refused_and_small_ones_are_not() {
    let bomb = zeros_tgz(8 << 20);
    assert!(bomb.len() < 64 << 10, "{} bytes", bomb.len());
    let limits = UnpackLimits {
        max_ratio: 100,
        ratio_floor: 1 << 20,
        ..UnpackLimits::default()
    };
    let c = case("bomb.tgz", &bomb);
    match unpack_limited(&c.archive, ArchiveFormat::TarGz, &c.dest, limits) {
        Err(e @ UnpackError::Refused { .. }) => {
            assert!(e.to_string().contains("100 times"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    // Below the floor a high ratio is fine (repetitive text compresses well).
    let c = case("small.tgz", &zeros_tgz(512 << 10));
    unpack_limited(&c.archive, ArchiveFormat::TarGz, &c.dest, limits).unwrap();
    assert_eq!(written(&c.dest), 512 << 10);
}

#[test]
fn too_many_entries_are_refused() {
    let entries: Vec<Entry> = (0..20).map(|_| Entry::Dir("d/")).collect();
    let c = case("many.tar", &tar_bytes(&entries));
    let limits = UnpackLimits {
        max_entries: 10,
        ..UnpackLimits::default()
    };
    match unpack_limited(&c.archive, ArchiveFormat::Tar, &c.dest, limits) {
        Err(e @ UnpackError::Refused { .. }) => {
            assert!(e.to_string().contains("more than 10 entries"), "{e}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_zip_naming_a_path_twice_is_refused() {
    let mut bytes = zip_bytes(|w| {
        w.start_file("pkg/dup_a.py", stored()).unwrap();
        w.write_all(b"first").unwrap();
        w.start_file("pkg/dup_b.py", stored()).unwrap();
        w.write_all(b"second").unwrap();
    });
    // zip's writer refuses duplicates, so rename the second entry in place
    // (local header and central directory).
    replace_all(&mut bytes, b"pkg/dup_b.py", b"pkg/dup_a.py");
    let c = case("dup.zip", &bytes);
    let message = refused(&c, ArchiveFormat::Zip, "(central directory)");
    assert!(message.contains("twice"), "{message}");
}

#[test]
fn a_zip_socket_is_refused() {
    let mut bytes = zip_bytes(|w| {
        w.add_symlink("sock", "x", stored()).unwrap();
    });
    // External attributes 0o120777 << 16 (a symlink) become a socket's.
    let symlink = (0o120777u32 << 16).to_le_bytes();
    let socket = (0o140755u32 << 16).to_le_bytes();
    replace_all(&mut bytes, &symlink, &socket);
    let c = case("sock.zip", &bytes);
    let message = refused(&c, ArchiveFormat::Zip, "sock");
    assert!(message.contains("socket"), "{message}");
}

fn replace_all(bytes: &mut [u8], from: &[u8], to: &[u8]) {
    let mut found = 0;
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            found += 1;
        }
        i += 1;
    }
    assert!(found > 0, "pattern not found");
}

#[test]
fn limits_come_from_the_environment() {
    std::env::set_var("LOCK2BUILD_UNPACK_MAX_SIZE", "1000");
    std::env::set_var("LOCK2BUILD_UNPACK_MAX_RATIO", "");
    let limits = UnpackLimits::from_env().unwrap();
    assert_eq!(limits.max_bytes, 1000);
    assert_eq!(limits.max_ratio, UnpackLimits::default().max_ratio);
    std::env::set_var("LOCK2BUILD_UNPACK_MAX_RATIO", "lots");
    assert!(matches!(
        UnpackLimits::from_env(),
        Err(UnpackError::BadLimit {
            name: "LOCK2BUILD_UNPACK_MAX_RATIO",
            ..
        })
    ));
    std::env::remove_var("LOCK2BUILD_UNPACK_MAX_SIZE");
    std::env::remove_var("LOCK2BUILD_UNPACK_MAX_RATIO");
}
