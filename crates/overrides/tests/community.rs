//! The community database as shipped: it loads without a single problem,
//! has the promised coverage, and answers what it should.

mod common;

use lock2build_model::Ecosystem;
use lock2build_overrides::{Field, IdKind, Preference};

#[test]
fn every_file_loads_and_every_id_is_known() {
    let db = common::community();
    assert!(db.providers().len() > 100, "{} ids", db.providers().len());
    // The loader already rejects unknown ids; check the promise independently.
    for ecosystem in lock2build_overrides::ECOSYSTEMS {
        for name in db.packages(ecosystem) {
            for entry in db.entries(ecosystem, name) {
                for id in &entry.native {
                    assert_eq!(
                        db.providers().kind_of(id),
                        Some(IdKind::Native),
                        "{ecosystem}/{name}: {id}"
                    );
                }
                for id in &entry.tools {
                    assert_eq!(
                        db.providers().kind_of(id),
                        Some(IdKind::Tool),
                        "{ecosystem}/{name}: {id}"
                    );
                }
            }
        }
    }
}

#[test]
fn coverage_counts() {
    let db = common::community();
    // Counted a second way: the .toml files on disk.
    let count_files = |dir: &str| {
        let mut n = 0;
        let root = common::community_dir().join(dir);
        for entry in std::fs::read_dir(&root).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() && dir == "npm" {
                n += std::fs::read_dir(&path)
                    .unwrap()
                    .flatten()
                    .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
                    .count();
            } else if path.extension().is_some_and(|x| x == "toml") {
                n += 1;
            }
        }
        n
    };
    for (ecosystem, dir, minimum) in [
        (Ecosystem::Pypi, "pypi", 60),
        (Ecosystem::Npm, "npm", 15),
        (Ecosystem::Crates, "crates", 25),
    ] {
        let loaded = db.packages(ecosystem).count();
        assert_eq!(loaded, count_files(dir), "{dir}: loaded vs files on disk");
        assert!(
            loaded >= minimum,
            "{dir}: {loaded} packages, want at least {minimum}"
        );
    }
    for name in [
        "pillow",
        "lxml",
        "psycopg2",
        "cryptography",
        "pyyaml",
        "numpy",
        "scipy",
        "grpcio",
        "h5py",
        "pyzmq",
        "mysqlclient",
        "python-ldap",
        "pycairo",
        "pygobject",
        "shapely",
        "pyproj",
        "gdal",
    ] {
        assert!(
            !db.entries(Ecosystem::Pypi, name).is_empty(),
            "pypi/{name} missing"
        );
    }
    for name in [
        "canvas",
        "sharp",
        "better-sqlite3",
        "sqlite3",
        "bcrypt",
        "keytar",
        "re2",
        "zeromq",
        "usb",
        "node-sass",
        "argon2",
    ] {
        assert!(
            !db.entries(Ecosystem::Npm, name).is_empty(),
            "npm/{name} missing"
        );
    }
    for name in [
        "openssl-sys",
        "libgit2-sys",
        "libsqlite3-sys",
        "pq-sys",
        "libz-sys",
        "curl-sys",
        "zstd-sys",
        "bzip2-sys",
        "lzma-sys",
        "alsa-sys",
        "libudev-sys",
        "glib-sys",
        "gtk-sys",
        "prost-build",
    ] {
        assert!(
            !db.entries(Ecosystem::Crates, name).is_empty(),
            "crates/{name} missing"
        );
    }
}

#[test]
fn resolves_well_known_facts() {
    let db = common::community();
    let pillow = db.resolve(Ecosystem::Pypi, "Pillow", "10.4.0");
    for id in ["libjpeg", "zlib", "freetype"] {
        assert!(
            pillow.native.contains(&id.to_owned()),
            "{:?}",
            pillow.native
        );
    }
    assert_eq!(pillow.prefer, Some(Preference::Binary));

    let psycopg2 = db.resolve(Ecosystem::Pypi, "psycopg2", "2.9.9");
    assert_eq!(psycopg2.native, vec!["libpq".to_owned()]);

    let openssl = db.resolve(Ecosystem::Crates, "openssl_sys", "0.9.103");
    assert_eq!(openssl.native, vec!["openssl".to_owned()]);
    assert!(openssl.tools.contains(&"pkg-config".to_owned()));
    assert_eq!(
        openssl.env.get("OPENSSL_NO_VENDOR").map(String::as_str),
        Some("1")
    );

    let sqlite = db.resolve(Ecosystem::Crates, "libsqlite3-sys", "0.30.1");
    assert_eq!(
        sqlite
            .env
            .get("LIBSQLITE3_SYS_USE_PKG_CONFIG")
            .map(String::as_str),
        Some("1")
    );

    let canvas = db.resolve(Ecosystem::Npm, "canvas", "2.11.2");
    assert_eq!(
        canvas
            .env
            .get("npm_config_build_from_source")
            .map(String::as_str),
        Some("true")
    );
    assert!(canvas.native.contains(&"cairo".to_owned()));
}

#[test]
fn version_ranges_select_entries() {
    let db = common::community();
    // cryptography: setuptools-rust for 35..42, maturin from 42, no Rust before 3.4.
    let c41 = db.resolve(Ecosystem::Pypi, "cryptography", "41.0.7");
    assert_eq!(
        c41.build_requires,
        vec!["setuptools-rust>=0.11.4".to_owned()]
    );
    let c43 = db.resolve(Ecosystem::Pypi, "cryptography", "43.0.1");
    assert!(
        c43.build_requires.iter().any(|r| r.starts_with("maturin")),
        "{:?}",
        c43.build_requires
    );
    assert!(c43.tools.contains(&"rust".to_owned()));
    let c33 = db.resolve(Ecosystem::Pypi, "cryptography", "3.3.2");
    assert!(!c33.tools.contains(&"rust".to_owned()));
    assert!(c33.native.contains(&"libffi".to_owned()));

    // pyyaml: the Cython<3 pin only for 5.4 .. 6.0.
    assert_eq!(
        db.resolve(Ecosystem::Pypi, "PyYAML", "6.0").build_requires,
        vec!["cython<3.0".to_owned()]
    );
    assert!(db
        .resolve(Ecosystem::Pypi, "pyyaml", "6.0.1")
        .build_requires
        .is_empty());

    // libgit2-sys: the system libgit2 only where Debian's 1.5 fits (0.14).
    let g14 = db.resolve(Ecosystem::Crates, "libgit2-sys", "0.14.2+1.5.1");
    assert_eq!(g14.native, vec!["libgit2".to_owned()]);
    assert_eq!(
        g14.origin_of(Field::Native, "libgit2").map(|o| o.entry),
        Some(2)
    );
    assert!(db
        .resolve(Ecosystem::Crates, "libgit2-sys", "0.17.0+1.8.1")
        .native
        .is_empty());

    // sharp: platform packages from 0.33, libvips before.
    assert!(db
        .resolve(Ecosystem::Npm, "sharp", "0.33.5")
        .native
        .is_empty());
    assert_eq!(
        db.resolve(Ecosystem::Npm, "sharp", "0.32.6").native,
        vec!["vips".to_owned()]
    );

    // Unknown packages resolve to nothing.
    assert!(db
        .resolve(Ecosystem::Pypi, "no-such-package", "1.0")
        .is_empty());
}
