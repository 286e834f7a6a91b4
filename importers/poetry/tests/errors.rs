//! Errors and warnings, on real fixtures edited the way users break them.

mod common;

use common::*;

fn lock() -> String {
    read("markers-extras", "poetry.lock")
}

fn pyproject() -> String {
    read("markers-extras", "pyproject.toml")
}

#[test]
fn unknown_lock_version_names_it_and_says_to_relock() {
    let text = lock().replace("lock-version = \"2.1\"", "lock-version = \"3.0\"");
    let error = import_text("markers-extras", &text, Some(&pyproject())).unwrap_err();
    assert!(error.message.contains("`3.0`"), "{error}");
    assert!(error.help.as_deref().unwrap().contains("poetry lock"));
    let line = text
        .lines()
        .position(|l| l.starts_with("lock-version"))
        .unwrap()
        + 1;
    assert_eq!(error.line, Some(line));
    assert_eq!(error.file, lock_path("markers-extras"));
}

#[test]
fn missing_lock_version_is_an_error() {
    let text = lock().replace("lock-version = \"2.1\"\n", "");
    let error = import_text("markers-extras", &text, Some(&pyproject())).unwrap_err();
    assert!(error.message.contains("lock-version"), "{error}");
    assert!(error.help.as_deref().unwrap().contains("poetry lock"));
}

#[test]
fn newer_minor_is_read_with_a_warning() {
    let text = lock().replace("lock-version = \"2.1\"", "lock-version = \"2.7\"");
    let graph = import_text("markers-extras", &text, Some(&pyproject())).unwrap();
    assert!(
        graph.warnings.iter().any(|w| w.message.contains("2.7")),
        "{:?}",
        graph.warnings
    );
}

#[test]
fn malformed_toml_points_at_the_line() {
    let text = lock().replacen("version = \"3.5.2\"", "version = \"3.5.2", 1);
    let line = text.lines().position(|l| l == "version = \"3.5.2").unwrap() + 1;
    assert_eq!(line, 22);
    let error = import_text("markers-extras", &text, Some(&pyproject())).unwrap_err();
    assert_eq!(error.line, Some(line), "{error}");
    assert!(error.column.is_some());
    assert!(error.message.contains("not valid TOML"), "{error}");
}

#[test]
fn wrong_types_point_at_the_line() {
    let text = lock().replacen("optional = false", "optional = \"no\"", 1);
    let error = import_text("markers-extras", &text, Some(&pyproject())).unwrap_err();
    assert_eq!(error.line, Some(7), "{error}");
}

#[test]
fn bad_hash_names_the_package() {
    let text = lock().replacen("hash = \"sha256:", "hash = \"sha256:zz", 1);
    let error = import_text("markers-extras", &text, Some(&pyproject())).unwrap_err();
    assert!(error.message.contains("certifi"), "{error}");
    assert_eq!(error.line, Some(3));
}

#[test]
fn malformed_pyproject_points_into_it() {
    let manifest = pyproject().replace("[tool.poetry.extras]", "[tool.poetry.extras");
    let error = import_text("markers-extras", &lock(), Some(&manifest)).unwrap_err();
    assert_eq!(
        error.file,
        std::path::PathBuf::from("fixtures/poetry/markers-extras/pyproject.toml")
    );
    let line = manifest
        .lines()
        .position(|l| l == "[tool.poetry.extras")
        .unwrap()
        + 1;
    assert_eq!(error.line, Some(line), "{error}");
}

#[test]
fn dependency_missing_from_the_lock() {
    let manifest = pyproject().replace(
        "[tool.poetry.extras]",
        "flask = \"^3.0\"\n\n[tool.poetry.extras]",
    );
    let error = import_text("markers-extras", &lock(), Some(&manifest)).unwrap_err();
    assert!(error.message.contains("`flask`"), "{error}");
    assert!(error.message.contains("not in poetry.lock"), "{error}");
    assert!(error.help.as_deref().unwrap().contains("poetry lock"));
    let line = manifest
        .lines()
        .position(|l| l.starts_with("flask ="))
        .unwrap()
        + 1;
    assert_eq!(error.line, Some(line));

    // PEP 621 style too.
    let manifest = read("flask-pillow", "pyproject.toml").replace(
        "\"pillow (>=11.0)\",",
        "\"pillow (>=11.0)\",\n    \"gunicorn>=22\",",
    );
    let lock = read("flask-pillow", "poetry.lock");
    let error = import_text("flask-pillow", &lock, Some(&manifest)).unwrap_err();
    assert!(
        error
            .message
            .contains("`gunicorn` ([project] dependencies)"),
        "{error}"
    );
}

#[test]
fn edited_pyproject_warns_about_the_content_hash() {
    // A relevant change: the dev group's constraint.
    let manifest = pyproject().replace("pytest = \"^8.0\"", "pytest = \"^8.1\"");
    let graph = import_text("markers-extras", &lock(), Some(&manifest)).unwrap();
    assert_eq!(graph.stale.len(), 1, "{:?}", graph.stale);
    let warning = &graph.stale[0];
    assert!(warning.message.contains("out of date"));
    assert!(warning.message.contains("poetry lock"));
    let line = lock()
        .lines()
        .position(|l| l.starts_with("content-hash"))
        .unwrap()
        + 1;
    assert_eq!(warning.line, Some(line));

    // A PEP 621 dependency change.
    let manifest =
        read("flask-pillow", "pyproject.toml").replace("pillow (>=11.0)", "pillow (>=11.1)");
    let graph = import_text(
        "flask-pillow",
        &read("flask-pillow", "poetry.lock"),
        Some(&manifest),
    )
    .unwrap();
    assert_eq!(graph.stale.len(), 1, "{:?}", graph.stale);

    // Changes Poetry does not hash: the description, the scripts.
    let manifest = read("flask-pillow", "pyproject.toml")
        .replace("A tiny Flask app", "A small Flask app")
        .replace("app = \"app:main\"", "serve = \"app:main\"");
    let graph = import_text(
        "flask-pillow",
        &read("flask-pillow", "poetry.lock"),
        Some(&manifest),
    )
    .unwrap();
    assert!(graph.stale.is_empty(), "{:?}", graph.stale);

    // lock 1.1 (Poetry 1.2's hash) and 2.0 (Poetry 1.8's) too.
    for name in ["lock-1.1", "lock-2.0"] {
        let manifest = read(name, "pyproject.toml").replace(
            "requests = { version = \"^2.31\"",
            "requests = { version = \"^2.30\"",
        );
        assert_ne!(manifest, read(name, "pyproject.toml"));
        let graph = import_text(name, &read(name, "poetry.lock"), Some(&manifest)).unwrap();
        assert_eq!(graph.stale.len(), 1, "{name}: {:?}", graph.stale);
    }
}

#[test]
fn unknown_source_type() {
    let text = lock().replacen("type = \"legacy\"", "type = \"hg\"", 1);
    let error = import_text("markers-extras", &text, Some(&pyproject())).unwrap_err();
    assert!(error.message.contains("`hg`"), "{error}");
    assert_eq!(error.line, Some(3));
}
