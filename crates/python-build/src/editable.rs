//! Editable installs of a project (what `lock2build shell` puts in its
//! environment): a wheel whose `.pth` or import hook names the project's
//! own source, so an edit is seen at once, with its `.dist-info`
//! (`importlib.metadata` answers) and entry points (console scripts).
//!
//! - [`build_editable`]: the backend's PEP 660 `build_editable` hook, run
//!   in the sandbox on a copy of the project seen at the project's own path
//!   (the paths the backend writes into the wheel are the project's); a
//!   backend without the hook falls back to [`pth_wheel`].
//! - [`pth_wheel`]: what lock2build writes itself, for a backend without
//!   the hook or a project without `[build-system]`:
//!
//! ```text
//! <name>.pth                   the project's source root: <dir>/src in a src layout, else <dir>
//! <name>-<version>.dist-info/  METADATA (Name, Version), WHEEL, INSTALLER,
//!                              entry_points.txt ([project.scripts], [project.gui-scripts],
//!                              [tool.poetry.scripts]), RECORD
//! ```
//!
//! Either wheel is installed by [`install_wheel`](crate::install_wheel) like
//! any other.

use crate::error::{io_err, PythonError, Result};
use crate::pep517::{run_backend, Hook, WheelBuild};
use crate::record::{record_hash, record_line};
use lock2build_sandbox::Sandbox;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The project an editable wheel is for.
#[derive(Debug, Clone)]
pub struct EditableProject<'a> {
    /// The project's directory, where its source stays.
    pub dir: &'a Path,
    /// Its name (as the lock has it).
    pub name: &'a str,
    /// Its version (as the lock has it).
    pub version: &'a str,
}

/// Builds `project`'s editable wheel into `dist` through its backend's
/// `build_editable` hook (`build.source`: a writable copy of the project,
/// or the project itself, seen inside at `project.dir`); [`pth_wheel`]
/// when the backend has no such hook. Returns the wheel's path.
pub fn build_editable(
    sandbox: &Sandbox,
    build: &WheelBuild,
    project: &EditableProject,
    dist: &Path,
) -> Result<PathBuf> {
    match run_backend(sandbox, build, dist, Hook::Editable(project.dir))? {
        Some(wheel) => Ok(wheel),
        None => pth_wheel(project, dist),
    }
}

/// Writes the `.pth` editable wheel of `project` (module docs) into `dist`
/// and returns its path.
pub fn pth_wheel(project: &EditableProject, dist: &Path) -> Result<PathBuf> {
    let fail = |reason: String| PythonError::Build {
        project: project.dir.to_owned(),
        reason,
    };
    let dist_name = project.name.replace(['-', '.'], "_").to_lowercase();
    let info = format!("{dist_name}-{}.dist-info", project.version);
    let src = project.dir.join("src");
    let root = if src.is_dir() {
        src
    } else {
        project.dir.to_owned()
    };
    let mut files: Vec<(String, Vec<u8>)> = vec![
        (
            format!("_{dist_name}_editable.pth"),
            format!("{}\n", root.display()).into_bytes(),
        ),
        (
            format!("{info}/METADATA"),
            format!(
                "Metadata-Version: 2.1\nName: {}\nVersion: {}\n",
                project.name, project.version
            )
            .into_bytes(),
        ),
        (
            format!("{info}/WHEEL"),
            b"Wheel-Version: 1.0\nGenerator: lock2build\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
                .to_vec(),
        ),
    ];
    let entry_points = entry_points(&project.dir.join("pyproject.toml")).map_err(fail)?;
    if !entry_points.is_empty() {
        files.push((
            format!("{info}/entry_points.txt"),
            entry_points.into_bytes(),
        ));
    }
    let mut record = String::new();
    for (name, bytes) in &files {
        record.push_str(&record_line(
            name,
            &record_hash(bytes),
            Some(bytes.len() as u64),
        ));
    }
    record.push_str(&record_line(&format!("{info}/RECORD"), "", None));
    files.push((format!("{info}/RECORD"), record.into_bytes()));

    let path = dist.join(format!("{dist_name}-{}-py3-none-any.whl", project.version));
    let file = std::fs::File::create(&path).map_err(io_err("create", &path))?;
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default();
    for (name, bytes) in &files {
        zip.start_file(name.as_str(), options)
            .and_then(|()| zip.write_all(bytes).map_err(Into::into))
            .map_err(|e| fail(format!("writing {}: {e}", path.display())))?;
    }
    zip.finish()
        .map_err(|e| fail(format!("writing {}: {e}", path.display())))?;
    Ok(path)
}

/// The `entry_points.txt` of a pyproject.toml's scripts (empty without any).
fn entry_points(pyproject: &Path) -> std::result::Result<String, String> {
    let text = match std::fs::read_to_string(pyproject) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(String::new()),
        Err(e) => return Err(format!("reading {}: {e}", pyproject.display())),
    };
    let doc: toml::Table = toml::from_str(&text)
        .map_err(|e| format!("{} is not valid TOML: {e}", pyproject.display()))?;
    let table = |path: &[&str]| {
        let mut value = doc.get(path[0]);
        for key in &path[1..] {
            value = value.and_then(|v| v.get(key));
        }
        value.and_then(toml::Value::as_table).cloned()
    };
    let mut out = String::new();
    for (section, tables) in [
        (
            "console_scripts",
            [
                table(&["project", "scripts"]),
                table(&["tool", "poetry", "scripts"]),
            ],
        ),
        ("gui_scripts", [table(&["project", "gui-scripts"]), None]),
    ] {
        let lines: Vec<String> = tables
            .iter()
            .flatten()
            .flatten()
            .filter_map(|(name, target)| Some(format!("{name} = {}\n", target.as_str()?)))
            .collect();
        if !lines.is_empty() {
            out.push_str(&format!("[{section}]\n"));
            lines.iter().for_each(|l| out.push_str(l));
        }
    }
    Ok(out)
}
