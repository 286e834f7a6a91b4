//! Installing a wheel into its own output directory, without pip.
//!
//! ```text
//! <out>/
//!   lib/python3.X/site-packages/   the wheel's root, `.data/purelib`, `.data/platlib`
//!     <name>-<ver>.dist-info/      with INSTALLER = "lock2build" and a RECORD of what was installed
//!   bin/                           `.data/scripts` (`#!python` rewritten) and entry point launchers
//!   include/site/python3.X/<name>/ `.data/headers`
//!   …                              `.data/data`, at its path under <out>
//! ```
//!
//! Checked before a byte is trusted: the wheel is a zip whose every file is
//! listed in its `RECORD` with a sha256/384/512 hash and whose content and
//! size match that line; every hashed `RECORD` line names a file of the
//! wheel; no path is absolute, climbs with `..`, or is a symlink; no two
//! files land on the same installed path; `WHEEL` says `Wheel-Version: 1.x`;
//! no entry is a device, FIFO or socket, and no name appears twice. Files
//! are streamed to disk (hashed on the way, checked after), never held in
//! memory whole, and the wheel stops at the store's
//! [`UnpackLimits`](lock2build_store::UnpackLimits) (size, ratio, entries).
//! A failed install leaves `out` half-filled: install into a temporary
//! directory (the store's `build_output` does) and discard it.
//!
//! Installed files get mode 0644 (0755 when the wheel marks them
//! executable, and for everything in `bin/`), directories 0755, and every
//! mtime is [`NORMALIZED_MTIME`](lock2build_store::NORMALIZED_MTIME), so
//! the same wheel installs to the same bytes.

use crate::error::{io_err, PythonError, Result};
use crate::python::PythonInfo;
use crate::record::{record_hash, record_line, Record, RecordEntry, UNHASHED_FILES};
use crate::scripts::{launcher, parse_entry_points, rewrite_python_shebang, EntryPoint};
use lock2build_store::{CopyError, UnpackBudget, UnpackLimits};
use sha2::Digest;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// What [`install_wheel`] installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledWheel {
    /// The distribution name as the `.dist-info` spells it (`typing_extensions`).
    pub name: String,
    /// Its version.
    pub version: String,
    /// `<out>/lib/python3.X/site-packages`.
    pub site_packages: PathBuf,
    /// `<out>/lib/python3.X/site-packages/<name>-<ver>.dist-info`.
    pub dist_info: PathBuf,
    /// The names of the files in `<out>/bin`, sorted.
    pub scripts: Vec<String>,
    /// The console and GUI scripts its `entry_points.txt` declares.
    pub entry_points: Vec<EntryPoint>,
    /// How many files the wheel held (its `RECORD` lines with a hash).
    pub files: usize,
}

/// Where a wheel file lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    SitePackages,
    Scripts,
    Headers,
    Data,
}

/// Installs `wheel_path` into `out_dir` (created if missing) for `python`,
/// verifying it against its `RECORD` (see the module docs).
pub fn install_wheel(
    wheel_path: &Path,
    out_dir: &Path,
    python: &PythonInfo,
) -> Result<InstalledWheel> {
    let bad = |reason: String| PythonError::BadWheel {
        wheel: wheel_path.to_owned(),
        reason,
    };
    let zip_err = |source| PythonError::Zip {
        wheel: wheel_path.to_owned(),
        source,
    };
    // A regular file only (a FIFO is refused, not waited on); the path may
    // be the caller's link to a store file.
    let (file, wheel_size) =
        lock2build_store::open_regular(wheel_path, lock2build_store::ARTIFACT_LIMIT)
            .map_err(|e| bad(e.to_string()))?;
    let limits = UnpackLimits::from_env().map_err(|e| bad(e.to_string()))?;
    let mut budget = UnpackBudget::new(limits, wheel_size);
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(zip_err)?;
    let headers = lock2build_store::zip_central_headers(
        wheel_path,
        archive.central_directory_start(),
        archive.len() + 1,
    )
    .map_err(io_err("read", wheel_path))?;
    if headers > archive.len() {
        return Err(bad("a file name appears twice in the zip".to_owned()));
    }

    // Names and kinds of every entry, checked for safety up front.
    let mut files: Vec<(usize, String, bool)> = Vec::new();
    let mut seen = BTreeSet::new();
    for index in 0..archive.len() {
        let entry = archive.by_index(index).map_err(zip_err)?;
        let name = entry
            .name()
            .map_err(|e| bad(format!("entry #{index} has an unreadable name: {e}")))?
            .into_owned();
        check_relative(&name).map_err(|why| bad(format!("entry `{name}` {why}")))?;
        budget
            .entry()
            .map_err(|why| bad(format!("the wheel {why}")))?;
        if entry.is_symlink() {
            return Err(bad(format!("entry `{name}` is a symlink")));
        }
        let kind = entry.unix_mode().unwrap_or(0) & 0o170000;
        if !matches!(kind, 0 | 0o100000 | 0o040000) {
            return Err(bad(format!(
                "entry `{name}` is a device, FIFO or socket (mode {kind:o})"
            )));
        }
        if entry.is_dir() {
            continue;
        }
        if !seen.insert(name.clone()) {
            return Err(bad(format!("entry `{name}` appears twice")));
        }
        let executable = entry.unix_mode().is_some_and(|m| m & 0o111 != 0);
        files.push((index, name, executable));
    }

    let dist_info = find_dist_info(wheel_path, &files).map_err(bad)?;
    let (name, version) = dist_info
        .strip_suffix(".dist-info")
        .and_then(|stem| stem.split_once('-'))
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .ok_or_else(|| bad(format!("`{dist_info}` is not `<name>-<version>.dist-info`")))?;
    let data_dir = format!("{name}-{version}.data");

    let read_small = |archive: &mut zip::ZipArchive<_>, path: &str| -> Result<Option<String>> {
        let Some(index) = files.iter().find(|f| f.1 == path).map(|f| f.0) else {
            return Ok(None);
        };
        let entry = archive.by_index(index).map_err(zip_err)?;
        let mut text = String::new();
        entry
            .take(SMALL_FILE_MAX + 1)
            .read_to_string(&mut text)
            .map_err(|e| bad(format!("cannot read `{path}`: {e}")))?;
        if text.len() as u64 > SMALL_FILE_MAX {
            return Err(bad(format!(
                "`{path}` is larger than {SMALL_FILE_MAX} bytes"
            )));
        }
        Ok(Some(text))
    };
    let record_text = read_small(&mut archive, &format!("{dist_info}/RECORD"))?
        .ok_or_else(|| bad(format!("`{dist_info}/RECORD` is missing")))?;
    let record = Record::parse(&record_text, &dist_info).map_err(bad)?;
    let wheel_meta = read_small(&mut archive, &format!("{dist_info}/WHEEL"))?
        .ok_or_else(|| bad(format!("`{dist_info}/WHEEL` is missing")))?;
    check_wheel_version(&wheel_meta).map_err(bad)?;
    let entry_points = match read_small(&mut archive, &format!("{dist_info}/entry_points.txt"))? {
        Some(text) => parse_entry_points(&text).map_err(bad)?,
        None => Vec::new(),
    };

    // Every hashed RECORD line must name a file of the wheel.
    for path in record.entries.keys() {
        if !seen.contains(path) {
            return Err(bad(format!(
                "`{path}` is listed in RECORD but is not in the wheel"
            )));
        }
    }

    // Headers go where pip puts them in a venv: under the project name as
    // METADATA spells it (`pybind11-global`).
    let metadata = read_small(&mut archive, &format!("{dist_info}/METADATA"))?
        .ok_or_else(|| bad(format!("`{dist_info}/METADATA` is missing")))?;
    let project_name = metadata
        .lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix("Name:"))
        .map(str::trim)
        .filter(|n| crate::scripts::is_script_name(n))
        .unwrap_or(&name)
        .to_owned();
    let site_packages = out_dir.join(&python.site_packages);
    let headers = out_dir
        .join("include/site")
        .join(format!("python{}", python.version_short()))
        .join(&project_name);
    let bin = out_dir.join("bin");
    fs::create_dir_all(&site_packages).map_err(io_err("create directory", &site_packages))?;

    let unhashed: BTreeSet<String> = UNHASHED_FILES
        .iter()
        .map(|f| format!("{dist_info}/{f}"))
        .collect();
    // Installed path (relative to out) → (hash, size) for the new RECORD.
    let mut installed: BTreeMap<PathBuf, (String, u64)> = BTreeMap::new();
    let mut scripts = BTreeSet::new();
    for (index, path, executable) in &files {
        if unhashed.contains(path) {
            // The wheel's RECORD (rewritten below) and its signatures,
            // which do not apply to the installed files.
            continue;
        }
        let expected = record
            .entries
            .get(path)
            .ok_or_else(|| bad(format!("`{path}` is in the wheel but not in RECORD")))?;
        let (scheme, rel) = destination(path, &data_dir).map_err(bad)?;
        let target_rel = match scheme {
            Scheme::SitePackages => python.site_packages.join(rel),
            Scheme::Scripts => Path::new("bin").join(rel),
            Scheme::Headers => headers.strip_prefix(out_dir).unwrap_or(&headers).join(rel),
            Scheme::Data => PathBuf::from(rel),
        };
        if installed.contains_key(&target_rel) {
            return Err(bad(format!(
                "`{path}` installs to `{}`, which another file of the wheel also installs to",
                target_rel.display()
            )));
        }
        let mut entry = archive.by_index(*index).map_err(zip_err)?;
        let target = out_dir.join(&target_rel);
        let written = if scheme == Scheme::Scripts {
            let name = target_rel.display().to_string();
            scripts.insert(name.trim_start_matches("bin/").to_owned());
            let mut bytes = Vec::new();
            copy_limited(
                &mut (&mut entry).take(SMALL_FILE_MAX + 1),
                &mut bytes,
                &mut budget,
            )
            .map_err(|why| bad(format!("`{path}` {why}")))?;
            if bytes.len() as u64 > SMALL_FILE_MAX {
                return Err(bad(format!(
                    "`{path}` is a script larger than {SMALL_FILE_MAX} bytes"
                )));
            }
            verify(
                path,
                expected,
                &hash_of(expected, &bytes),
                bytes.len() as u64,
            )
            .map_err(bad)?;
            let content = rewrite_python_shebang(&bytes, &python.executable).unwrap_or(bytes);
            write_new_file(&target, &content, 0o755)?;
            (record_hash(&content), content.len() as u64)
        } else {
            let mode = if *executable { 0o755 } else { 0o644 };
            stream_file(&mut entry, &target, mode, path, expected, &mut budget, &bad)?
        };
        installed.insert(target_rel, written);
    }

    for entry in &entry_points {
        let target_rel = Path::new("bin").join(&entry.name);
        if installed.contains_key(&target_rel) {
            return Err(bad(format!(
                "entry point `{}` clashes with the script `{}` of the wheel",
                entry.name,
                target_rel.display()
            )));
        }
        let text = launcher(entry, &python.executable);
        write_new_file(&bin.join(&entry.name), text.as_bytes(), 0o755)?;
        scripts.insert(entry.name.clone());
        installed.insert(
            target_rel,
            (record_hash(text.as_bytes()), text.len() as u64),
        );
    }

    let dist_info_dir = site_packages.join(&dist_info);
    let installer_rel = python.site_packages.join(&dist_info).join("INSTALLER");
    let installer = b"lock2build\n";
    write_new_file(&out_dir.join(&installer_rel), installer, 0o644)?;
    installed.insert(
        installer_rel,
        (record_hash(installer), installer.len() as u64),
    );

    // The RECORD of the installation: paths relative to site-packages.
    let up = "../".repeat(python.site_packages.components().count());
    let mut text = String::new();
    for (rel, (hash, size)) in &installed {
        let shown = match rel.strip_prefix(&python.site_packages) {
            Ok(inside) => inside.display().to_string(),
            Err(_) => format!("{up}{}", rel.display()),
        };
        text.push_str(&record_line(&shown, hash, Some(*size)));
    }
    text.push_str(&record_line(&format!("{dist_info}/RECORD"), "", None));
    write_new_file(&dist_info_dir.join("RECORD"), text.as_bytes(), 0o644)?;

    normalize_tree(out_dir)?;
    Ok(InstalledWheel {
        name,
        version,
        site_packages,
        dist_info: dist_info_dir,
        scripts: scripts.into_iter().collect(),
        entry_points,
        files: record.entries.len(),
    })
}

/// Refuses absolute paths, `..`, `.`, empty components and backslashes.
fn check_relative(name: &str) -> Result<(), &'static str> {
    if name.starts_with('/') {
        return Err("has an absolute path");
    }
    if name.contains('\\') || name.contains('\0') {
        return Err("has a backslash or NUL in its path");
    }
    let trimmed = name.strip_suffix('/').unwrap_or(name);
    if trimmed.is_empty() {
        return Err("has an empty path");
    }
    for part in trimmed.split('/') {
        if part.is_empty() || part == "." || part == ".." {
            return Err("has an unsafe path (empty, `.` or `..` component)");
        }
    }
    Ok(())
}

/// The one top-level `.dist-info` directory holding a `RECORD`, preferring
/// the one the wheel's file name names when there are several.
fn find_dist_info(wheel: &Path, files: &[(usize, String, bool)]) -> Result<String, String> {
    let mut candidates: Vec<&str> = files
        .iter()
        .filter_map(|(_, name, _)| name.strip_suffix("/RECORD"))
        .filter(|dir| dir.ends_with(".dist-info") && !dir.contains('/'))
        .collect();
    candidates.sort_unstable();
    candidates.dedup();
    match candidates.as_slice() {
        [] => Err("no `<name>-<version>.dist-info/RECORD` in the wheel".to_owned()),
        [one] => Ok((*one).to_owned()),
        many => {
            let file_name = wheel
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut parts = file_name.splitn(3, '-');
            let wanted = match (parts.next(), parts.next()) {
                (Some(n), Some(v)) => format!("{}-{v}.dist-info", normalize(n)),
                _ => String::new(),
            };
            many.iter()
                .find(|dir| match dir.split_once('-') {
                    Some((n, rest)) => format!("{}-{rest}", normalize(n)) == wanted,
                    None => false,
                })
                .map(|dir| (*dir).to_owned())
                .ok_or_else(|| {
                    format!(
                        "several .dist-info directories ({}) and none matches the file name",
                        many.join(", ")
                    )
                })
        }
    }
}

/// PEP 503 name normalisation with `_` (as wheel file names use).
fn normalize(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('_') {
                out.push('_');
            }
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

fn check_wheel_version(wheel_meta: &str) -> Result<(), String> {
    let version = wheel_meta
        .lines()
        .find_map(|l| l.strip_prefix("Wheel-Version:"))
        .map(str::trim)
        .ok_or("WHEEL has no `Wheel-Version`")?;
    if version.split('.').next() != Some("1") {
        return Err(format!(
            "Wheel-Version {version} is not supported (only 1.x)"
        ));
    }
    Ok(())
}

/// Where an entry of the wheel installs, and its path there.
fn destination<'a>(path: &'a str, data_dir: &str) -> Result<(Scheme, &'a str), String> {
    let Some(rest) = path
        .strip_prefix(data_dir)
        .and_then(|r| r.strip_prefix('/'))
    else {
        return Ok((Scheme::SitePackages, path));
    };
    let (key, inner) = rest
        .split_once('/')
        .ok_or_else(|| format!("`{path}` is not in a `.data` category directory"))?;
    let scheme = match key {
        "purelib" | "platlib" => Scheme::SitePackages,
        "scripts" => Scheme::Scripts,
        "headers" => Scheme::Headers,
        "data" => Scheme::Data,
        other => {
            return Err(format!(
                "`{path}` is in an unknown `.data` category `{other}`"
            ))
        }
    };
    Ok((scheme, inner))
}

/// Largest RECORD, METADATA, WHEEL, entry_points.txt or script read into
/// memory.
const SMALL_FILE_MAX: u64 = 64 << 20;

fn hash_of(expected: &RecordEntry, bytes: &[u8]) -> Vec<u8> {
    let mut hasher = expected.algorithm.hasher();
    hasher.update(bytes);
    hasher.finish()
}

fn verify(path: &str, expected: &RecordEntry, digest: &[u8], len: u64) -> Result<(), String> {
    if digest != expected.digest.as_slice() {
        return Err(format!("`{path}` does not match its RECORD hash"));
    }
    if let Some(size) = expected.size {
        if size != len {
            return Err(format!("`{path}` has {len} bytes, RECORD says {size}"));
        }
    }
    Ok(())
}

/// Copies through `budget`; the error says why (a limit, or I/O).
fn copy_limited(
    from: &mut impl Read,
    to: &mut impl Write,
    budget: &mut UnpackBudget,
) -> std::result::Result<u64, String> {
    budget.copy(from, to).map_err(|e| match e {
        CopyError::Limit(why) => format!("makes the wheel exceed a limit: it {why}"),
        CopyError::Read(e) => format!("cannot be read: {e}"),
        CopyError::Write(e) => format!("cannot be written: {e}"),
    })
}

/// A file being written, hashed on the way: with the RECORD's algorithm
/// (to check) and with sha256 (for the installed RECORD).
struct HashingFile {
    file: fs::File,
    check: crate::record::RecordHasher,
    sha256: sha2::Sha256,
}

impl Write for HashingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        let done = buf.get(..n).unwrap_or_default();
        self.check.update(done);
        self.sha256.update(done);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Streams one wheel entry into the new file `target`, then checks it
/// against its RECORD line; returns its installed RECORD hash and size.
fn stream_file(
    entry: &mut impl Read,
    target: &Path,
    mode: u32,
    path: &str,
    expected: &RecordEntry,
    budget: &mut UnpackBudget,
    bad: &dyn Fn(String) -> PythonError,
) -> Result<(String, u64)> {
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent).map_err(io_err("create directory", parent))?;
    }
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(target)
        .map_err(io_err("create", target))?;
    let mut out = HashingFile {
        file,
        check: expected.algorithm.hasher(),
        sha256: sha2::Sha256::new(),
    };
    let len =
        copy_limited(entry, &mut out, budget).map_err(|why| bad(format!("`{path}` {why}")))?;
    verify(path, expected, &out.check.finish(), len).map_err(bad)?;
    fs::set_permissions(target, std::os::unix::fs::PermissionsExt::from_mode(mode))
        .map_err(io_err("set permissions of", target))?;
    let hash = format!(
        "sha256={}",
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            out.sha256.finalize()
        )
    );
    Ok((hash, len))
}

/// Creates a file that must not exist yet, with its parents.
pub(crate) fn write_new_file(path: &Path, content: &[u8], mode: u32) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io_err("create directory", parent))?;
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(io_err("create", path))?;
    file.write_all(content).map_err(io_err("write", path))?;
    // The umask may have taken bits away.
    fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(mode))
        .map_err(io_err("set permissions of", path))
}

/// Directories 0755 and every mtime set to the store's normalised time.
pub(crate) fn normalize_tree(root: &Path) -> Result<()> {
    let time = filetime::FileTime::from_unix_time(lock2build_store::NORMALIZED_MTIME, 0);
    let mut stack = vec![root.to_owned()];
    let mut dirs = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).map_err(io_err("read directory", &dir))? {
            let entry = entry.map_err(io_err("read directory", &dir))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(io_err("inspect", &path))?;
            if kind.is_dir() {
                stack.push(path);
            } else {
                filetime::set_symlink_file_times(&path, time, time)
                    .map_err(io_err("set the mtime of", &path))?;
            }
        }
        dirs.push(dir);
    }
    for dir in dirs.iter().rev() {
        fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .map_err(io_err("set permissions of", dir))?;
        filetime::set_file_times(dir, time, time).map_err(io_err("set the mtime of", dir))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_names_are_refused() {
        for name in ["/etc/passwd", "a/../../x", "./a", "a//b", "a\\..\\b", ""] {
            assert!(check_relative(name).is_err(), "{name}");
        }
        assert!(check_relative("pkg/sub/").is_ok());
        assert!(check_relative("pkg-1.0.data/scripts/x").is_ok());
    }

    #[test]
    fn data_categories_map_to_schemes() {
        let d = "p-1.data";
        assert_eq!(
            destination("p/a.py", d).unwrap(),
            (Scheme::SitePackages, "p/a.py")
        );
        assert_eq!(
            destination("p-1.data/platlib/x.so", d).unwrap(),
            (Scheme::SitePackages, "x.so")
        );
        assert_eq!(
            destination("p-1.data/scripts/run", d).unwrap(),
            (Scheme::Scripts, "run")
        );
        assert_eq!(
            destination("p-1.data/data/share/x", d).unwrap(),
            (Scheme::Data, "share/x")
        );
        assert!(destination("p-1.data/bogus/x", d).is_err());
    }
}
