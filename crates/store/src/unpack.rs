//! Unpacking source archives, refusing anything that could write outside
//! the destination.
//!
//! Formats: `.tar.gz`/`.tgz`/`.crate`, `.tar.bz2`/`.tbz2`, `.tar`, and
//! `.zip`/`.whl`. Refused, with an error naming the archive and the entry:
//! absolute paths, `..` components, symlinks whose target is absolute or
//! leaves the destination, hard links to anything but a regular file
//! unpacked earlier from the same archive, entries reached through a
//! symlink, and device files and FIFOs. A final pass resolves every
//! unpacked symlink through the real file system and refuses any that ends
//! up outside (chains such as `d/s -> ..` then `x -> d/s/..`). Also
//! refused: sockets, a zip naming one path twice, and an archive that
//! unpacks past its [`UnpackLimits`] (size, ratio, entries), stopped while
//! writing, not after.
//!
//! Permissions are normalised to 0644, or 0755 when any exec bit is set
//! (directories 0755); every mtime is set to [`NORMALIZED_MTIME`]. On an
//! error the destination is left half-filled: unpack into a temporary
//! directory and discard it.

use crate::limits::{CopyError, UnpackBudget, UnpackLimits};
use filetime::FileTime;
use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

/// The mtime every unpacked file gets: 1980-01-01T00:00:00Z, the earliest
/// a zip file can record.
pub const NORMALIZED_MTIME: i64 = 315_532_800;

/// An archive format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    /// gzip-compressed tar (`.tar.gz`, `.tgz`, `.crate`).
    TarGz,
    /// bzip2-compressed tar (`.tar.bz2`, `.tbz2`).
    TarBz2,
    /// Plain tar.
    Tar,
    /// zip (`.zip`, `.whl`).
    Zip,
}

impl ArchiveFormat {
    /// The format a file name implies.
    pub fn from_filename(name: &str) -> Option<ArchiveFormat> {
        let lower = name.to_ascii_lowercase();
        let ends = |suffixes: &[&str]| suffixes.iter().any(|s| lower.ends_with(s));
        if ends(&[".tar.gz", ".tgz", ".crate"]) {
            Some(ArchiveFormat::TarGz)
        } else if ends(&[".tar.bz2", ".tbz2", ".tbz"]) {
            Some(ArchiveFormat::TarBz2)
        } else if ends(&[".tar"]) {
            Some(ArchiveFormat::Tar)
        } else if ends(&[".zip", ".whl"]) {
            Some(ArchiveFormat::Zip)
        } else {
            None
        }
    }
}

/// Why an archive was not unpacked.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    /// An entry is unsafe or unsupported.
    #[error("refusing to unpack `{}`: entry `{entry}` {reason}", archive.display())]
    Refused {
        /// The archive.
        archive: PathBuf,
        /// The entry's name as stored.
        entry: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The archive could not be read (corrupt, truncated, unreadable).
    #[error("cannot read archive `{}`: {source}", archive.display())]
    Read {
        /// The archive.
        archive: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Writing the unpacked files failed.
    #[error("cannot write `{}` while unpacking `{}`: {source}", path.display(), archive.display())]
    Write {
        /// The archive.
        archive: PathBuf,
        /// The file being written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A `LOCK2BUILD_UNPACK_*` limit that is not a whole number.
    #[error(
        "{name}={value:?} is not a whole number (bytes for _MAX_SIZE, a factor for _MAX_RATIO)"
    )]
    BadLimit {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
    },
}

/// Unpacks `archive` into `dest` (created if missing), with the guards of
/// the module docs and the limits of [`UnpackLimits::from_env`].
pub fn unpack(archive: &Path, format: ArchiveFormat, dest: &Path) -> Result<(), UnpackError> {
    unpack_limited(archive, format, dest, UnpackLimits::from_env()?)
}

/// [`unpack()`] with the given limits.
pub fn unpack_limited(
    archive: &Path,
    format: ArchiveFormat,
    dest: &Path,
    limits: UnpackLimits,
) -> Result<(), UnpackError> {
    let read_err = |source| UnpackError::Read {
        archive: archive.to_owned(),
        source,
    };
    fs::create_dir_all(dest).map_err(|source| UnpackError::Write {
        archive: archive.to_owned(),
        path: dest.to_owned(),
        source,
    })?;
    let file = File::open(archive).map_err(read_err)?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut unpacker = Unpacker {
        archive: archive.to_owned(),
        dest: dest.to_owned(),
        created: Vec::new(),
        symlinks: Vec::new(),
        budget: UnpackBudget::new(limits, size),
    };
    match format {
        ArchiveFormat::TarGz => {
            unpacker.tar(flate2::read::MultiGzDecoder::new(io::BufReader::new(file)))?
        }
        ArchiveFormat::TarBz2 => {
            unpacker.tar(bzip2::read::MultiBzDecoder::new(io::BufReader::new(file)))?
        }
        ArchiveFormat::Tar => unpacker.tar(io::BufReader::new(file))?,
        ArchiveFormat::Zip => unpacker.zip(file)?,
    }
    unpacker.check_symlinks()?;
    unpacker.normalize_mtimes()
}

/// The one directory `dest` contains, when it contains exactly one and
/// nothing else (`flask-3.0.3/` in an sdist, `package/` in an npm tarball).
pub fn single_top_dir(dest: &Path) -> Option<PathBuf> {
    let mut entries = fs::read_dir(dest).ok()?.flatten();
    let first = entries.next()?;
    if entries.next().is_some() {
        return None;
    }
    let meta = fs::symlink_metadata(first.path()).ok()?;
    meta.is_dir().then(|| first.path())
}

enum Kind {
    File { executable: bool },
    Dir,
    Symlink(String),
    HardLink(String),
}

struct Unpacker {
    archive: PathBuf,
    dest: PathBuf,
    /// Every path created, for the mtime pass.
    created: Vec<PathBuf>,
    /// (entry name, path) of every symlink, for the final check.
    symlinks: Vec<(String, PathBuf)>,
    /// What has been written, against the limits.
    budget: UnpackBudget,
}

impl Unpacker {
    fn refuse(&self, entry: &str, reason: impl Into<String>) -> UnpackError {
        UnpackError::Refused {
            archive: self.archive.clone(),
            entry: entry.to_owned(),
            reason: reason.into(),
        }
    }

    fn write_err(&self, path: &Path) -> impl FnOnce(io::Error) -> UnpackError {
        let archive = self.archive.clone();
        let path = path.to_owned();
        move |source| UnpackError::Write {
            archive,
            path,
            source,
        }
    }

    fn read_err(&self) -> impl FnOnce(io::Error) -> UnpackError {
        let archive = self.archive.clone();
        move |source| UnpackError::Read { archive, source }
    }

    fn tar(&mut self, reader: impl Read) -> Result<(), UnpackError> {
        let mut archive = tar::Archive::new(reader);
        for entry in archive.entries().map_err(self.read_err())? {
            let mut entry = entry.map_err(self.read_err())?;
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            self.budget.entry().map_err(|why| self.refuse(&name, why))?;
            let header = entry.header();
            let mode = header.mode().unwrap_or(0o644);
            use tar::EntryType as T;
            let kind = match header.entry_type() {
                T::Regular | T::Continuous => Kind::File {
                    executable: mode & 0o111 != 0,
                },
                T::Directory => Kind::Dir,
                T::Symlink => Kind::Symlink(
                    link_name(&entry)
                        .ok_or_else(|| self.refuse(&name, "is a symlink without a target"))?,
                ),
                T::Link => Kind::HardLink(
                    link_name(&entry)
                        .ok_or_else(|| self.refuse(&name, "is a hard link without a target"))?,
                ),
                T::Char | T::Block => return Err(self.refuse(&name, "is a device file")),
                T::Fifo => return Err(self.refuse(&name, "is a FIFO")),
                T::XGlobalHeader | T::XHeader | T::GNULongName | T::GNULongLink => continue,
                other => {
                    return Err(self.refuse(&name, format!("has an unsupported type ({other:?})")))
                }
            };
            self.add(&name, kind, &mut entry, false)?;
        }
        Ok(())
    }

    fn zip(&mut self, file: File) -> Result<(), UnpackError> {
        let mut archive = zip::ZipArchive::new(io::BufReader::new(file))
            .map_err(|e| self.read_err()(io::Error::other(e)))?;
        let headers = zip_central_headers(
            &self.archive,
            archive.central_directory_start(),
            archive.len() + 1,
        )
        .map_err(self.read_err())?;
        if headers > archive.len() {
            // The zip reader keeps one entry per name; which one would
            // depend on the reader: refuse.
            return Err(self.refuse("(central directory)", "names a path twice"));
        }
        let mut names = BTreeSet::new();
        for i in 0..archive.len() {
            let mut entry = archive
                .by_index(i)
                .map_err(|e| self.read_err()(io::Error::other(e)))?;
            let name = match entry.name() {
                Ok(name) => name.into_owned(),
                Err(_) => String::from_utf8_lossy(entry.name_raw()).into_owned(),
            };
            self.budget.entry().map_err(|why| self.refuse(&name, why))?;
            // Which entry wins would depend on the reader: refuse both.
            let key = safe_relative(&name, true).map_err(|why| self.refuse(&name, why))?;
            if !key.as_os_str().is_empty() && !names.insert(key) {
                return Err(self.refuse(&name, "appears twice in the zip"));
            }
            let mode = entry.unix_mode().unwrap_or(0);
            const S_IFMT: u32 = 0o170000;
            let kind = match mode & S_IFMT {
                0o120000 => {
                    let mut target = String::new();
                    (&mut entry)
                        .take(4096)
                        .read_to_string(&mut target)
                        .map_err(self.read_err())?;
                    Kind::Symlink(target)
                }
                0o020000 | 0o060000 => return Err(self.refuse(&name, "is a device file")),
                0o010000 => return Err(self.refuse(&name, "is a FIFO")),
                0o140000 => return Err(self.refuse(&name, "is a socket")),
                _ if entry.is_dir() => Kind::Dir,
                _ => Kind::File {
                    executable: mode & 0o111 != 0,
                },
            };
            self.add(&name, kind, &mut entry, true)?;
        }
        Ok(())
    }

    fn add(
        &mut self,
        name: &str,
        kind: Kind,
        data: &mut impl Read,
        backslash_is_separator: bool,
    ) -> Result<(), UnpackError> {
        let rel = safe_relative(name, backslash_is_separator)
            .map_err(|reason| self.refuse(name, reason))?;
        if rel.as_os_str().is_empty() {
            return Ok(()); // `./`
        }
        let parent = rel.parent().unwrap_or(Path::new(""));
        self.make_dirs(name, parent)?;
        let path = self.dest.join(&rel);
        match kind {
            Kind::Dir => {
                self.make_dirs(name, &rel)?;
                return Ok(());
            }
            _ => self.clear(name, &path)?,
        }
        match kind {
            Kind::File { executable } => {
                let mode = if executable { 0o755 } else { 0o644 };
                let mut out = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(mode)
                    .open(&path)
                    .map_err(self.write_err(&path))?;
                match self.budget.copy(data, &mut out) {
                    Ok(_) => {}
                    Err(CopyError::Read(e)) => return Err(self.read_err()(e)),
                    Err(CopyError::Write(e)) => return Err(self.write_err(&path)(e)),
                    Err(CopyError::Limit(why)) => return Err(self.refuse(name, why)),
                }
                set_mode(&path, mode).map_err(self.write_err(&path))?;
            }
            Kind::Symlink(target) => {
                check_symlink_target(&rel, &target).map_err(|reason| self.refuse(name, reason))?;
                std::os::unix::fs::symlink(&target, &path).map_err(self.write_err(&path))?;
                self.symlinks.push((name.to_owned(), path.clone()));
            }
            Kind::HardLink(target) => {
                let reason = format!("is a hard link to `{target}`, which is not a regular file unpacked before it inside the archive");
                let target_rel = safe_relative(&target, backslash_is_separator)
                    .map_err(|_| self.refuse(name, reason.clone()))?;
                let target_path = self.dest.join(&target_rel);
                let parent_ok = self.no_symlink_in(target_rel.parent().unwrap_or(Path::new("")));
                let is_file = fs::symlink_metadata(&target_path)
                    .map(|m| m.is_file())
                    .unwrap_or(false);
                if !parent_ok || !is_file || target_rel.as_os_str().is_empty() {
                    return Err(self.refuse(name, reason));
                }
                let len = fs::metadata(&target_path).map(|m| m.len()).unwrap_or(0);
                self.budget
                    .charge(len)
                    .map_err(|why| self.refuse(name, why))?;
                fs::copy(&target_path, &path).map_err(self.write_err(&path))?;
            }
            Kind::Dir => {}
        }
        self.created.push(path);
        Ok(())
    }

    /// Creates the directories of `rel` (relative to dest), refusing to go
    /// through a symlink or a file.
    fn make_dirs(&mut self, name: &str, rel: &Path) -> Result<(), UnpackError> {
        let mut path = self.dest.clone();
        for component in rel.components() {
            path.push(component);
            match fs::symlink_metadata(&path) {
                Ok(meta) if meta.is_dir() => {}
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(self.refuse(name, "is reached through a symlink"));
                }
                Ok(_) => {
                    return Err(self.refuse(name, "is inside something that is not a directory"))
                }
                Err(_) => {
                    fs::create_dir(&path).map_err(self.write_err(&path))?;
                    set_mode(&path, 0o755).map_err(self.write_err(&path))?;
                    self.created.push(path.clone());
                }
            }
        }
        Ok(())
    }

    fn no_symlink_in(&self, rel: &Path) -> bool {
        let mut path = self.dest.clone();
        rel.components().all(|c| {
            path.push(c);
            fs::symlink_metadata(&path)
                .map(|m| m.is_dir())
                .unwrap_or(false)
        })
    }

    /// Removes a file or symlink an earlier entry put at `path` (never
    /// following it); a directory there is an error.
    fn clear(&self, name: &str, path: &Path) -> Result<(), UnpackError> {
        match fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => Err(self.refuse(name, "would replace a directory")),
            Ok(_) => fs::remove_file(path).map_err(self.write_err(path)),
            Err(_) => Ok(()),
        }
    }

    /// Resolves every symlink through the file system as unpacked.
    fn check_symlinks(&self) -> Result<(), UnpackError> {
        let dest = fs::canonicalize(&self.dest).map_err(self.write_err(&self.dest))?;
        for (name, link) in &self.symlinks {
            if !resolves_inside(&dest, link) {
                return Err(self.refuse(name, "is a symlink that resolves outside the destination"));
            }
        }
        Ok(())
    }

    fn normalize_mtimes(&mut self) -> Result<(), UnpackError> {
        let time = FileTime::from_unix_time(NORMALIZED_MTIME, 0);
        // Deepest first, so setting a directory's time comes after its content.
        self.created
            .sort_by_key(|p| std::cmp::Reverse(p.components().count()));
        for path in &self.created {
            filetime::set_symlink_file_times(path, time, time).map_err(self.write_err(path))?;
        }
        Ok(())
    }
}

/// How many central-directory headers the zip at `path` has from `start`
/// (counting at most `at_most`): more than the reader's distinct entries
/// means a name appears twice.
pub fn zip_central_headers(path: &Path, start: u64, at_most: usize) -> io::Result<usize> {
    use std::io::{Seek, SeekFrom};
    let mut file = io::BufReader::new(File::open(path)?);
    file.seek(SeekFrom::Start(start))?;
    let mut count = 0;
    let mut header = [0u8; 46];
    while count < at_most {
        if file.read_exact(&mut header).is_err() || header[..4] != *b"PK\x01\x02" {
            break;
        }
        let field = |at: usize| u16::from_le_bytes([header[at], header[at + 1]]) as i64;
        file.seek(SeekFrom::Current(field(28) + field(30) + field(32)))?;
        count += 1;
    }
    Ok(count)
}

fn link_name<R: Read>(entry: &tar::Entry<'_, R>) -> Option<String> {
    entry
        .link_name_bytes()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

/// The entry name as a relative path of normal components, or why not.
fn safe_relative(name: &str, backslash_is_separator: bool) -> Result<PathBuf, &'static str> {
    if name.contains('\0') {
        return Err("has a NUL byte in its name");
    }
    let is_sep = |c: char| c == '/' || (backslash_is_separator && c == '\\');
    if name.starts_with(is_sep) {
        return Err("has an absolute path");
    }
    let mut chars = name.chars();
    if let (Some(drive), Some(':')) = (chars.next(), chars.next()) {
        if drive.is_ascii_alphabetic() {
            return Err("has an absolute (drive-letter) path");
        }
    }
    let mut out = PathBuf::new();
    for part in name.split(is_sep) {
        match part {
            "" | "." => {}
            ".." => return Err("has a `..` component (it would land outside the destination)"),
            part => out.push(part),
        }
    }
    Ok(out)
}

/// Checks a symlink at `rel` pointing to `target` stays inside, lexically.
fn check_symlink_target(rel: &Path, target: &str) -> Result<(), String> {
    if target.is_empty() || target.contains('\0') {
        return Err("is a symlink with an empty or invalid target".to_owned());
    }
    if target.starts_with('/') {
        return Err(format!("is a symlink to the absolute path `{target}`"));
    }
    let mut depth: Vec<&str> = rel
        .parent()
        .map(|p| {
            p.components()
                .filter_map(|c| c.as_os_str().to_str())
                .collect()
        })
        .unwrap_or_default();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if depth.pop().is_none() {
                    return Err(format!(
                        "is a symlink to `{target}`, outside the destination"
                    ));
                }
            }
            part => depth.push(part),
        }
    }
    Ok(())
}

/// Whether `link` resolves, through the real file system, to a path inside
/// `dest` (canonical). Dangling links are resolved as far as they exist,
/// the rest lexically.
fn resolves_inside(dest: &Path, link: &Path) -> bool {
    let Ok(target) = fs::read_link(link) else {
        return false;
    };
    let Some(parent) = link.parent() else {
        return false;
    };
    let full = parent.join(target);
    // Longest existing prefix, resolved by the kernel's rules.
    let components: Vec<Component> = full.components().collect();
    for split in (0..=components.len()).rev() {
        let prefix: PathBuf = components.iter().take(split).collect();
        let Ok(mut resolved) = fs::canonicalize(&prefix) else {
            continue;
        };
        for c in components.iter().skip(split) {
            match c {
                Component::ParentDir => {
                    resolved.pop();
                }
                Component::Normal(n) => resolved.push(n),
                _ => {}
            }
        }
        return resolved.starts_with(dest);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_names() {
        assert_eq!(
            safe_relative("./a/b/", false).unwrap(),
            PathBuf::from("a/b")
        );
        assert!(safe_relative("/etc/passwd", false).is_err());
        assert!(safe_relative("a/../../x", false).is_err());
        assert!(safe_relative("..\\x", true).is_err());
        assert_eq!(
            safe_relative("..\\x", false).unwrap(),
            PathBuf::from("..\\x")
        );
        assert!(safe_relative("C:/x", false).is_err());
    }

    #[test]
    fn symlink_targets() {
        assert!(check_symlink_target(Path::new("a/b/link"), "../c").is_ok());
        assert!(check_symlink_target(Path::new("a/link"), "..").is_ok());
        assert!(check_symlink_target(Path::new("a/link"), "../..").is_err());
        assert!(check_symlink_target(Path::new("link"), "/etc").is_err());
    }

    #[test]
    fn formats() {
        assert_eq!(
            ArchiveFormat::from_filename("serde-1.0.0.crate"),
            Some(ArchiveFormat::TarGz)
        );
        assert_eq!(
            ArchiveFormat::from_filename("x-1.0-py3-none-any.whl"),
            Some(ArchiveFormat::Zip)
        );
        assert_eq!(
            ArchiveFormat::from_filename("a.TAR.BZ2"),
            Some(ArchiveFormat::TarBz2)
        );
        assert_eq!(ArchiveFormat::from_filename("a.rpm"), None);
    }
}
