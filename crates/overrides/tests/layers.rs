//! Layering (project beats user beats community, with provenance) and strict
//! validation with file, line and key in every error.

mod common;

use lock2build_model::Ecosystem;
use lock2build_overrides::{validate_layer, Database, Field, LayerKind, LayerSource, Preference};
use std::path::Path;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn project_beats_user_beats_community() {
    let tmp = tempfile::tempdir().unwrap();
    let user = tmp.path().join("user");
    write(
        &user.join("pypi/pillow.toml"),
        "[[entry]]\nversions = \">=10\"\nnative = [\"libheif\"]\nenv = { PILLOW_KNOB = \"user\" }\nprefer = \"source\"\n",
    );
    let project = tmp.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    let config = project.join("lock2build.toml");
    write(
        &config,
        "[build]\nunrelated = true\n\n[overrides.pypi.Pillow]\nenv = { PILLOW_KNOB = \"project\" }\nreplace = [\"tools\"]\ntools = [\"cmake\"]\n",
    );
    let sources = vec![
        common::community_source(),
        LayerSource::Dir {
            kind: LayerKind::User,
            root: user.clone(),
        },
        LayerSource::ConfigText {
            kind: LayerKind::Project,
            file: config.clone(),
            text: std::fs::read_to_string(&config).unwrap(),
        },
    ];
    let db = Database::load(&sources).unwrap_or_else(|e| panic!("{e:?}"));
    let r = db.resolve(Ecosystem::Pypi, "pillow", "10.4.0");

    // Lists extend: community ids first, the user's added.
    assert_eq!(r.native.first().map(String::as_str), Some("libjpeg"));
    assert!(r.native.contains(&"libheif".to_owned()));
    assert_eq!(
        r.origin_of(Field::Native, "libjpeg").unwrap().layer,
        LayerKind::Community
    );
    assert_eq!(
        r.origin_of(Field::Native, "libheif").unwrap().layer,
        LayerKind::User
    );
    // Scalars and env keys: the later layer wins.
    assert_eq!(r.prefer, Some(Preference::Source));
    assert_eq!(
        r.origin_of(Field::Prefer, "source").unwrap().layer,
        LayerKind::User
    );
    assert_eq!(
        r.env.get("PILLOW_KNOB").map(String::as_str),
        Some("project")
    );
    let env_origin = r.origin_of(Field::Env, "PILLOW_KNOB").unwrap();
    assert_eq!(
        (env_origin.layer, env_origin.file.as_path()),
        (LayerKind::Project, config.as_path())
    );
    assert_eq!(env_origin.line, Some(4));
    // replace = ["tools"] drops the community's tools.
    assert_eq!(r.tools, vec!["cmake".to_owned()]);
    assert!(r
        .provenance
        .iter()
        .any(|c| c.field == Field::Tools && c.replaced && c.origin.layer == LayerKind::Project));

    // The user's entry only applies from 10 on.
    let old = db.resolve(Ecosystem::Pypi, "pillow", "9.5.0");
    assert!(!old.native.contains(&"libheif".to_owned()));
    assert_eq!(old.prefer, Some(Preference::Binary));
}

#[test]
fn a_project_layer_can_define_new_ids() {
    let tmp = tempfile::tempdir().unwrap();
    let layer = tmp.path().join(".lock2build/overrides");
    write(
        &layer.join("providers.toml"),
        "[native.libfoo]\ndescription = \"Foo\"\npkg-config = [\"foo\"]\ndebian = [\"libfoo-dev\"]\nnixpkgs = [\"foo\"]\n",
    );
    write(
        &layer.join("npm/@acme/widget.toml"),
        "[[entry]]\nversions = \"^2.0.0 || ^3.0.0\"\nnative = [\"libfoo\", \"zlib\"]\n",
    );
    let sources = lock2build_overrides::project_sources(tmp.path()).unwrap();
    let mut all = vec![common::community_source()];
    all.extend(sources);
    let db = Database::load(&all).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        db.resolve(Ecosystem::Npm, "@acme/widget", "3.1.0").native,
        vec!["libfoo", "zlib"]
    );
    assert!(db
        .resolve(Ecosystem::Npm, "@acme/widget", "4.0.0")
        .native
        .is_empty());
    assert!(validate_layer(&layer, Some(&common::community_dir())).is_empty());
}

#[test]
fn errors_name_file_line_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let layer = tmp.path().join("layer");
    let file = layer.join("pypi/foo.toml");
    write(
        &file,
        "[[entry]]\nversions = \">=1\"\nnative = [\"libjpg\"]\n\n[[entry]]\nversions = \"~~1\"\ntools = [\"zlib\"]\nbuild-requires = [\"setuptools >=>= 1\"]\nenv = { \"1BAD\" = \"x\" }\npatches = [\"../escape.patch\", \"missing.patch\"]\n",
    );
    write(
        &layer.join("pypi/Bad_Name.toml"),
        "[[entry]]\nversions = \"*\"\n",
    );
    write(
        &layer.join("crates/typo.toml"),
        "[[entry]]\nversions = \"*\"\nnatives = [\"zlib\"]\n",
    );
    write(
        &layer.join("npm/x.toml"),
        "[[entry]]\nversions = \"*\"\nbuild-requires = [\"setuptools\"]\n",
    );
    let errors = validate_layer(&layer, Some(&common::community_dir()));
    let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    let joined = text.join("\n");
    let has = |needle: &str| assert!(joined.contains(needle), "missing {needle:?} in:\n{joined}");
    has("foo.toml:3:11: `entry[1].native`: unknown native id `libjpg`");
    has("did you mean `libjpeg`?");
    has("foo.toml:6:12: `entry[2].versions`: not a PEP 440 specifier set");
    has("foo.toml:7:10: `entry[2].tools`: `zlib` is a native library: list it under `native`");
    has("`entry[2].build-requires`: not a PEP 508 requirement");
    has("`entry[2].env`: `1BAD` is not an environment variable name");
    has("`../escape.patch` must be a relative path inside the layer");
    has("patch `missing.patch` not found");
    has("use `bad-name`, not `Bad_Name`");
    has("typo.toml:3:1: unknown field `natives`");
    has("`build-requires` is for PyPI packages only");
    assert_eq!(errors.len(), 10, "{joined}");
    // Strict loading refuses the layer; lenient loading keeps the good parts.
    let sources = [
        common::community_source(),
        LayerSource::Dir {
            kind: LayerKind::Project,
            root: layer,
        },
    ];
    assert!(Database::load(&sources).is_err());
    let (db, _) = Database::load_lenient(&sources);
    assert!(!db
        .resolve(Ecosystem::Pypi, "pillow", "11.0.0")
        .native
        .is_empty());
}

#[test]
fn config_value_layers_work_without_lines() {
    let value: toml::Value = toml::from_str(
        "[pypi.lxml]\nversions = \"<5\"\nenv = { STATIC_DEPS = \"false\" }\n\n[crates.openssl-sys]\nentry = [{ versions = \"*\", native = [\"nope\"] }]\n",
    )
    .unwrap();
    let sources = [
        common::community_source(),
        LayerSource::ConfigValue {
            kind: LayerKind::Project,
            file: "lock2build.toml".into(),
            value,
        },
    ];
    let errors = Database::load(&sources).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        errors[0].key.as_deref(),
        Some("overrides.crates.openssl-sys.entry[1].native")
    );
    assert_eq!(errors[0].line, None);
    let (db, _) = Database::load_lenient(&sources);
    assert_eq!(
        db.resolve(Ecosystem::Pypi, "lxml", "4.9.4")
            .env
            .get("STATIC_DEPS")
            .map(String::as_str),
        Some("false")
    );
    assert!(db.resolve(Ecosystem::Pypi, "lxml", "5.3.0").env.is_empty());
}

#[test]
fn bundled_libraries_are_demanded_only_when_a_knob_asks_for_the_system() {
    let tmp = tempfile::tempdir().unwrap();
    let user = tmp.path().join("user");
    let db = |extra: &str| {
        write(&user.join("crates/zstd-sys.toml"), extra);
        let sources = [
            common::community_source(),
            LayerSource::Dir {
                kind: LayerKind::User,
                root: user.clone(),
            },
        ];
        Database::load(&sources).unwrap_or_else(|e| panic!("{e:?}"))
    };
    let env = |pairs: &[(&str, &str)]| -> std::collections::BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let none: &[String] = &[];
    // The community file: zstd-sys bundles zstd unless
    // ZSTD_SYS_USE_PKG_CONFIG or its `pkg-config` feature.
    let community = db("[[entry]]\nversions = \"*\"\n");
    let r = community.resolve(Ecosystem::Crates, "zstd-sys", "2.0.13+zstd.1.5.6");
    assert_eq!(r.native, ["zstd"]);
    assert!(r.demanded_native(&env(&[]), &[]).is_empty());
    assert!(r
        .demanded_native(&env(&[("ZSTD_SYS_USE_PKG_CONFIG", "0")]), &[])
        .is_empty());
    assert_eq!(
        r.demanded_native(&env(&[("ZSTD_SYS_USE_PKG_CONFIG", "1")]), &[]),
        ["zstd"]
    );
    assert_eq!(
        r.demanded_native(&env(&[]), &["pkg-config".to_owned()]),
        ["zstd"]
    );
    assert_eq!(
        r.origin_of(Field::Bundled, "system-env ZSTD_SYS_USE_PKG_CONFIG")
            .unwrap()
            .layer,
        LayerKind::Community
    );
    // `NAME=VALUE` knobs match the value exactly; a later layer's
    // `bundled` replaces the earlier one.
    let r = db("[[entry]]\nversions = \"*\"\nbundled = { system-env = [\"MY_KNOB=yes\"] }\n")
        .resolve(Ecosystem::Crates, "zstd-sys", "2.0.13+zstd.1.5.6");
    assert!(r
        .demanded_native(&env(&[("MY_KNOB", "1")]), none)
        .is_empty());
    assert!(r
        .demanded_native(&env(&[]), &["pkg-config".to_owned()])
        .is_empty());
    assert_eq!(
        r.demanded_native(&env(&[("MY_KNOB", "yes")]), none),
        ["zstd"]
    );
    // `replace = ["bundled"]`: always the host's library.
    let r = db("[[entry]]\nversions = \"*\"\nreplace = [\"bundled\"]\n").resolve(
        Ecosystem::Crates,
        "zstd-sys",
        "2.0.13+zstd.1.5.6",
    );
    assert_eq!(r.bundled, None);
    assert_eq!(r.demanded_native(&env(&[]), none), ["zstd"]);
    // A knob that is no variable name is refused with its line.
    write(
        &user.join("crates/zstd-sys.toml"),
        "[[entry]]\nversions = \"*\"\nbundled = { system-env = [\"1BAD=x\"], typo = [] }\n",
    );
    let errors = validate_layer(&user, Some(&common::community_dir()));
    let joined: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert!(
        joined
            .iter()
            .any(|e| e.contains("zstd-sys.toml:3:") && e.contains("unknown field `typo`")),
        "{joined:?}"
    );
    write(
        &user.join("crates/zstd-sys.toml"),
        "[[entry]]\nversions = \"*\"\nbundled = { system-env = [\"1BAD=x\"] }\n",
    );
    let errors = validate_layer(&user, Some(&common::community_dir()));
    let joined: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert!(
        joined.iter().any(|e| e.contains("zstd-sys.toml:3:")
            && e.contains("`entry[1].bundled.system-env`: `1BAD=x` is not `NAME` or `NAME=VALUE`")),
        "{joined:?}"
    );
}

#[test]
fn optional_libraries_are_of_native_and_not_required() {
    let tmp = tempfile::tempdir().unwrap();
    let layer = tmp.path().join("layer");
    write(
        &layer.join("pypi/foo.toml"),
        "[[entry]]\nversions = \"*\"\nnative = [\"libjpeg\", \"lcms2\"]\noptional = [\"lcms2\"]\n\n[[entry]]\nversions = \">=2\"\noptional = [\"libwebp\"]\n",
    );
    let errors = validate_layer(&layer, Some(&common::community_dir()));
    let joined: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(errors.len(), 1, "{joined:?}");
    assert!(
        joined[0].contains(
            "foo.toml:8:13: `entry[2].optional`: `libwebp` is not in this entry's `native`"
        ),
        "{joined:?}"
    );
    let (db, _) = Database::load_lenient(&[
        common::community_source(),
        LayerSource::Dir {
            kind: LayerKind::Project,
            root: layer,
        },
    ]);
    let foo = db.resolve(Ecosystem::Pypi, "foo", "1.0");
    assert_eq!(foo.optional, ["lcms2"]);
    assert_eq!(foo.required_native().collect::<Vec<_>>(), ["libjpeg"]);
    // The community's Pillow: libjpeg and zlib required, the rest optional.
    let pillow = db.resolve(Ecosystem::Pypi, "pillow", "11.0.0");
    assert_eq!(
        pillow.required_native().collect::<Vec<_>>(),
        ["libjpeg", "zlib"]
    );
}
