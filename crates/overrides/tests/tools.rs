//! guess_from_log / guess_from_needed on real-looking build output, the host
//! check with real probes, install commands, drafts that load as written,
//! and export_patch checked with `git apply`.

mod common;

use lock2build_model::Ecosystem;
use lock2build_overrides::{
    draft_override, export_patch, guess_from_log, guess_from_needed, host_check, install_command,
    package_file_path, Database, LayerKind, LayerSource, PackageManager,
};
use std::path::Path;
use std::process::Command;

const LOG: &str = r#"
building 'PIL._imaging' extension
gcc -pthread -Wno-unused-result -fPIC -I/usr/include/python3.11 -c src/_imaging.c -o build/temp/_imaging.o
    In file included from src/libImaging/ImPlatform.h:10,
    src/decode.c:37:10: fatal error: jpeglib.h: No such file or directory
       37 | #include "jpeglib.h"
          |          ^~~~~~~~~~~
    compilation terminated.
psycopg/psycopgmodule.c:28:10: fatal error: 'libpq-fe.h' file not found
src/lxml/includes/etree_defs.h:14:10: fatal error: libxml/xmlversion.h: No such file or directory
  Package libffi was not found in the pkg-config search path.
  Perhaps you should add the directory containing `libffi.pc'
  to the PKG_CONFIG_PATH environment variable
  No package 'libffi' found
  Package 'gio-2.0', required by 'virtual:world', not found
  The system library `openssl` required by crate `openssl-sys` was not found.
  The file `openssl.pc` needs to be installed and the PKG_CONFIG_PATH environment variable must contain its parent directory.
/usr/bin/ld: cannot find -lgit2: No such file or directory
ld.lld: error: unable to find library -lzstd
Run-time dependency gtk+-3.0 found: NO (tried pkgconfig and cmake)
CMake Error at /usr/share/cmake-3.25/Modules/FindPackageHandleStandardArgs.cmake:230 (message):
  Could NOT find ZLIB (missing: ZLIB_LIBRARY ZLIB_INCLUDE_DIR)
    Error: pg_config executable not found.
/bin/sh: 1: mysql_config: not found
  Could not find `protoc`. If `protoc` is installed, try setting the `PROTOC` environment variable to the path of the `protoc` binary.
  failed to execute command: No such file or directory (os error 2)
  is `cmake` not installed?
sh: 1: pkg-config: not found
gyp ERR! find Python Python is not set from command line or npm configuration
error: linker `cc` not found
warning: unused variable: `x` (this line mentions nothing missing)
"#;

#[test]
fn guesses_ids_from_build_logs() {
    let db = common::community();
    let ids = guess_from_log(db.providers(), LOG);
    assert_eq!(
        ids,
        [
            "libjpeg",
            "libpq",
            "libxml2",
            "libffi",
            "glib",
            "openssl",
            "libgit2",
            "zstd",
            "gtk3",
            "zlib",
            "mysqlclient",
            "protoc",
            "cmake",
            "pkg-config",
            "python3",
            "cc",
        ]
    );
    assert!(guess_from_log(db.providers(), "all good\nFinished release [optimized]\n").is_empty());
}

#[test]
fn guesses_ids_from_needed_sonames() {
    let db = common::community();
    let needed: Vec<String> = [
        "libjpeg.so.62",
        "libz.so.1",
        "libc.so.6",
        "libssl.so.3",
        "libcrypto.so.3",
        "libstdc++.so.6",
        "libpq.so.5",
    ]
    .map(String::from)
    .to_vec();
    assert_eq!(
        guess_from_needed(db.providers(), &needed),
        ["libjpeg", "zlib", "openssl", "libpq"]
    );
}

#[test]
fn host_check_uses_real_probes() {
    let tmp = tempfile::tempdir().unwrap();
    let layer = tmp.path().join("layer");
    std::fs::create_dir_all(&layer).unwrap();
    std::fs::write(
        layer.join("providers.toml"),
        "[native.surely-absent]\ndescription = \"x\"\npkg-config = [\"lock2build-surely-absent-module\"]\ndebian = [\"x\"]\nnixpkgs = [\"x\"]\n\n[tool.surely-absent-tool]\ndescription = \"x\"\nbinaries = [\"lock2build-surely-absent-binary\"]\ndebian = [\"x\"]\nnixpkgs = [\"x\"]\n",
    )
    .unwrap();
    let db = Database::load(&[
        common::community_source(),
        LayerSource::Dir {
            kind: LayerKind::User,
            root: layer,
        },
    ])
    .unwrap();
    // cargo runs this test, so the rust tool is on PATH.
    let ids: Vec<String> = ["rust", "surely-absent", "surely-absent-tool", "not-an-id"]
        .map(String::from)
        .to_vec();
    let report = host_check(db.providers(), &ids);
    assert_eq!(report.present, ["rust"]);
    assert_eq!(report.missing, ["surely-absent", "surely-absent-tool"]);
    assert_eq!(report.unknown, ["not-an-id"]);
    // zlib: whatever pkg-config says, the report must agree with it.
    let zlib = Command::new("pkg-config")
        .args(["--exists", "zlib"])
        .status()
        .map(|s| s.success());
    if let Ok(true) = zlib {
        assert_eq!(
            host_check(db.providers(), &["zlib".to_owned()]).present,
            ["zlib"]
        );
    }
}

#[test]
fn libraries_are_found_where_the_crate_itself_looks() {
    // A library outside every default directory, as Debian's libclang-dev
    // installs /usr/lib/llvm-14/lib/libclang.so: found through a command
    // that prints its directory (llvm-config --libdir) or a `*` pattern.
    let tmp = tempfile::tempdir().unwrap();
    let by_command = tmp.path().join("prefix-a/lib");
    let by_glob = tmp.path().join("llvm-17/lib");
    let layer = tmp.path().join("layer");
    std::fs::create_dir_all(&layer).unwrap();
    let providers = format!(
        "[native.fake-a]\ndescription = \"x\"\nlibraries = [\"liblock2build-fake-a.so\"]\nsearch-dirs = [\"$(echo {})\"]\ndebian = [\"x\"]\nnixpkgs = [\"x\"]\n\n[native.fake-b]\ndescription = \"x\"\nlibraries = [\"liblock2build-fake-b.so\"]\nsearch-dirs = [\"$LOCK2BUILD_SURELY_UNSET_DIR\", \"$(lock2build-surely-absent-config --libdir)\", \"{}/llvm-*/lib\"]\ndebian = [\"x\"]\nnixpkgs = [\"x\"]\n",
        by_command.display(),
        tmp.path().display()
    );
    std::fs::write(layer.join("providers.toml"), providers).unwrap();
    let db = Database::load(&[
        common::community_source(),
        LayerSource::Dir {
            kind: LayerKind::User,
            root: layer,
        },
    ])
    .unwrap();
    let ids = ["fake-a".to_owned(), "fake-b".to_owned()];
    assert_eq!(host_check(db.providers(), &ids).missing, ids);
    for (dir, name) in [
        (&by_command, "liblock2build-fake-a.so"),
        (&by_glob, "liblock2build-fake-b.so"),
    ] {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(name), "").unwrap();
    }
    let report = host_check(db.providers(), &ids);
    assert_eq!(report.present, ids, "{report:?}");
    // libclang: the community table asks llvm-config and Debian's
    // /usr/lib/llvm-*/lib, so the answer agrees with what is there.
    let debian = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .any(|e| {
            e.file_name().to_string_lossy().starts_with("llvm-")
                && e.path().join("lib/libclang.so").exists()
        });
    if debian {
        assert_eq!(
            host_check(db.providers(), &["libclang".to_owned()]).present,
            ["libclang"]
        );
    }
}

#[test]
fn install_commands_per_package_manager() {
    let db = common::community();
    let ids: Vec<String> = ["libjpeg", "libpq", "pkg-config", "alsa"]
        .map(String::from)
        .to_vec();
    assert_eq!(
        install_command(db.providers(), &ids, PackageManager::Debian).unwrap(),
        "apt-get install -y libjpeg62-turbo-dev libpq-dev pkgconf libasound2-dev"
    );
    assert_eq!(
        install_command(db.providers(), &ids, PackageManager::Nix).unwrap(),
        "nix-shell -p libjpeg libpq pkg-config alsa-lib"
    );
    // alsa has no Homebrew formula: skipped.
    assert_eq!(
        install_command(db.providers(), &ids, PackageManager::Homebrew).unwrap(),
        "brew install jpeg-turbo libpq pkgconf"
    );
    assert_eq!(
        install_command(db.providers(), &["nope".to_owned()], PackageManager::Debian),
        None
    );
}

#[test]
fn drafts_load_as_written() {
    let db = common::community();
    let ids = guess_from_log(db.providers(), LOG);
    let mut ids_plus = ids.clone();
    ids_plus.push("libunknown".to_owned());
    let tmp = tempfile::tempdir().unwrap();
    for (ecosystem, name, version) in [
        (Ecosystem::Pypi, "My_Package", "1.2.3"),
        (Ecosystem::Npm, "@scope/pkg", "2.0.0"),
        (Ecosystem::Crates, "foo-sys", "0.4.1"),
    ] {
        let text = draft_override(db.providers(), ecosystem, name, version, &ids_plus);
        assert!(text.contains("libunknown"), "{text}");
        let path = tmp.path().join(package_file_path(ecosystem, name));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
    }
    let db2 = Database::load(&[
        common::community_source(),
        LayerSource::Dir {
            kind: LayerKind::Project,
            root: tmp.path().into(),
        },
    ])
    .unwrap_or_else(|e| panic!("{e:?}"));
    let r = db2.resolve(Ecosystem::Pypi, "my-package", "1.2.3");
    assert_eq!(r.native.len() + r.tools.len(), ids.len());
    assert!(r.tools.contains(&"protoc".to_owned()) && r.native.contains(&"libjpeg".to_owned()));
    assert!(db2
        .resolve(Ecosystem::Pypi, "my-package", "1.2.2")
        .is_empty());
    assert!(!db2
        .resolve(Ecosystem::Npm, "@scope/pkg", "2.1.0")
        .is_empty());
    assert!(!db2
        .resolve(Ecosystem::Crates, "foo_sys", "0.4.1")
        .is_empty());
}

fn git(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn export_patch_applies_with_git() {
    let tmp = tempfile::tempdir().unwrap();
    // A lock2build checkout: a copy of the community database in a git repo.
    let repo = tmp.path().join("repo");
    let community = repo.join("overrides");
    copy_dir(&common::community_dir(), &community);
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "."]);
    git(
        &repo,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-q",
            "-m",
            "base",
        ],
    );

    // A project with a layer directory and an [overrides] table.
    let project = tmp.path().join("project");
    let layer = project.join(".lock2build/overrides");
    std::fs::create_dir_all(layer.join("pypi/pillow")).unwrap();
    std::fs::create_dir_all(layer.join("crates")).unwrap();
    std::fs::write(layer.join("providers.toml"), "[native.libavif]\ndescription = \"AV1 image codec\"\npkg-config = [\"libavif\"]\ndebian = [\"libavif-dev\"]\nnixpkgs = [\"libavif\"]\n\n[tool.cmake]\ndescription = \"CMake (3.20 or newer)\"\nbinaries = [\"cmake\"]\ndebian = [\"cmake\"]\nnixpkgs = [\"cmake\"]\nhomebrew = [\"cmake\"]\n").unwrap();
    std::fs::write(layer.join("pypi/pillow.toml"), "[[entry]]\nversions = \">=11\"\nnative = [\"libavif\"]\npatches = [\"pillow/avif.patch\"]\n").unwrap();
    std::fs::write(
        layer.join("pypi/pillow/avif.patch"),
        "--- a/setup.py\n+++ b/setup.py\n@@ -1 +1 @@\n-x\n+y\n",
    )
    .unwrap();
    std::fs::write(
        layer.join("crates/brand-new-sys.toml"),
        "[[entry]]\nversions = \"*\"\nnative = [\"zlib\"]",
    )
    .unwrap();
    std::fs::write(
        project.join("fix.patch"),
        "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n",
    )
    .unwrap();
    std::fs::write(
        project.join("lock2build.toml"),
        "[overrides.npm.canvas]\nversions = \">=3\"\nenv = { CANVAS_KNOB = \"1\" }\npatches = [\"fix.patch\"]\n",
    )
    .unwrap();
    let sources = lock2build_overrides::project_sources(&project).unwrap();
    assert_eq!(sources.len(), 2);

    let patch = export_patch(&sources, &community).unwrap_or_else(|e| panic!("{e}"));
    for path in [
        "overrides/providers.toml",
        "overrides/pypi/pillow.toml",
        "overrides/pypi/pillow/avif.patch",
        "overrides/crates/brand-new-sys.toml",
        "overrides/npm/canvas.toml",
        "overrides/npm/canvas/fix.patch",
    ] {
        assert!(
            patch.contains(&format!("+++ b/{path}\n")),
            "{path} not in patch:\n{patch}"
        );
    }
    assert!(patch.contains("--- /dev/null\n+++ b/overrides/crates/brand-new-sys.toml"));
    std::fs::write(tmp.path().join("export.patch"), &patch).unwrap();
    git(&repo, &["apply", "--check", "../export.patch"]);
    git(&repo, &["apply", "../export.patch"]);

    // The patched community database alone now answers what the layers did.
    let layered = Database::load(&{
        let mut s = vec![LayerSource::Dir {
            kind: LayerKind::Community,
            root: common::community_dir(),
        }];
        s.extend(sources.clone());
        s
    })
    .unwrap();
    let patched = Database::load(&[LayerSource::Dir {
        kind: LayerKind::Community,
        root: community.clone(),
    }])
    .unwrap_or_else(|e| panic!("{e:?}"));
    for (ecosystem, name, version) in [
        (Ecosystem::Pypi, "pillow", "11.1.0"),
        (Ecosystem::Pypi, "pillow", "10.0.0"),
        (Ecosystem::Npm, "canvas", "3.1.0"),
        (Ecosystem::Crates, "brand-new-sys", "1.0.0"),
    ] {
        let (a, b) = (
            layered.resolve(ecosystem, name, version),
            patched.resolve(ecosystem, name, version),
        );
        assert_eq!(
            (&a.native, &a.tools, &a.env, a.prefer),
            (&b.native, &b.tools, &b.env, b.prefer),
            "{name} {version}"
        );
        assert_eq!(a.patches.len(), b.patches.len());
    }
    assert_eq!(
        patched.providers().get("cmake").unwrap().description,
        "CMake (3.20 or newer)"
    );
    // The original comments of providers.toml survive.
    let providers = std::fs::read_to_string(community.join("providers.toml")).unwrap();
    assert!(providers.starts_with("# The provider table"));
    // Exporting again from the patched checkout changes nothing.
    assert_eq!(export_patch(&sources, &community).unwrap(), "");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn native_versions_are_what_pkg_config_reports() {
    let db = Database::load(&[common::community_source()]).unwrap();
    // CI installs libssl-dev and libsqlite3-dev (the Cargo app test needs them).
    let ids: Vec<String> = ["openssl", "sqlite3", "rust", "not-an-id"]
        .map(String::from)
        .to_vec();
    let versions = lock2build_overrides::native_versions(db.providers(), &ids);
    let modversion = |m: &str| {
        let out = Command::new("pkg-config")
            .args(["--modversion", m])
            .output()
            .unwrap();
        assert!(out.status.success(), "pkg-config does not know {m}");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let provider = db.providers().get("openssl").unwrap();
    let expected: Vec<String> = provider
        .pkg_config
        .iter()
        .map(|m| format!("{m}={}", modversion(m)))
        .collect();
    assert_eq!(versions["openssl"], expected.join(" "));
    assert_eq!(
        versions["sqlite3"],
        format!("sqlite3={}", modversion("sqlite3"))
    );
    // Tools and unknown ids are not versioned here.
    assert_eq!(versions.len(), 2, "{versions:?}");
}
