//! Reading what a build step left behind.
//!
//! A build step runs code lock2build does not trust (a `build.rs`, a PEP
//! 517 backend, an npm install script). Whatever it leaves in its output or
//! work directory is hostile input: a file lock2build reads afterwards may
//! have been replaced by a FIFO (opening it would block forever), a symlink
//! to `/dev/zero` or to a host file, a directory, or gigabytes of data. The
//! functions here are the one way lock2build reads such files:
//!
//! - only a **regular file** is read; anything else is an
//!   [`UntrustedError::NotRegular`] naming what it is;
//! - the last component is opened with `O_NOFOLLOW` (a symlink is refused,
//!   not followed) and `O_NONBLOCK` (a FIFO is refused, not waited on);
//!   [`open_regular`] follows symlinks for the callers that name a store
//!   file through a link of their own, and still refuses what is not a
//!   regular file;
//! - at most `limit` bytes are read ([`UntrustedError::TooLarge`] past it,
//!   also when the file grows while it is read);
//! - a relative path below a root is resolved by [`resolve_beneath`]: no
//!   `..` above the root, no absolute symlink, no symlink that leaves it.
//!
//! The sandbox runs a step in its own PID namespace, so nothing of the step
//! is left running when lock2build reads its leftovers: a check and the
//! open that follows it see the same file.

use std::fs::{self, File};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

/// A limit for the small records lock2build reads back (JSON messages,
/// manifests, lists): 64 MiB.
pub const RECORD_LIMIT: u64 = 64 << 20;

/// A limit for the files lock2build copies or installs from a build
/// (executables, wheels): 4 GiB, as an unpacked archive.
pub const ARTIFACT_LIMIT: u64 = 4 << 30;

/// Why a file left by a build step was not read.
#[derive(Debug, thiserror::Error)]
pub enum UntrustedError {
    /// Nothing at the path.
    #[error("`{}` does not exist", path.display())]
    Missing {
        /// The path.
        path: PathBuf,
    },
    /// Not a regular file.
    #[error("`{}` is {kind}, not a regular file (lock2build reads only regular files from what a build leaves behind)", path.display())]
    NotRegular {
        /// The path.
        path: PathBuf,
        /// What it is: "a symlink", "a FIFO", …
        kind: &'static str,
    },
    /// Larger than the limit.
    #[error("`{}` is larger than {limit} bytes", path.display())]
    TooLarge {
        /// The path.
        path: PathBuf,
        /// The limit.
        limit: u64,
    },
    /// The path leaves its root (`..`, an absolute path or symlink, a
    /// symlink out of it).
    #[error("`{}` leaves `{}`: {why}", path.display(), root.display())]
    Outside {
        /// The path, as given.
        path: PathBuf,
        /// The directory it must stay in.
        root: PathBuf,
        /// How it leaves.
        why: String,
    },
    /// Reading failed.
    #[error("cannot read `{}`: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl UntrustedError {
    /// Whether the file was simply not there.
    pub fn is_missing(&self) -> bool {
        matches!(self, UntrustedError::Missing { .. })
    }
}

/// What a file type is, in words ("a FIFO").
pub fn kind_name(kind: fs::FileType) -> &'static str {
    if kind.is_symlink() {
        "a symlink"
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_file() {
        "a regular file"
    } else {
        "not a file"
    }
}

fn open_with(path: &Path, limit: u64, follow: bool) -> Result<(File, u64), UntrustedError> {
    let io = |source: std::io::Error| {
        if source.kind() == std::io::ErrorKind::NotFound {
            return UntrustedError::Missing {
                path: path.to_owned(),
            };
        }
        // ELOOP (a symlink under O_NOFOLLOW), ENXIO (a socket): say what it is.
        let meta = if follow {
            fs::metadata(path)
        } else {
            fs::symlink_metadata(path)
        };
        match meta {
            Ok(meta) if !meta.is_file() => UntrustedError::NotRegular {
                path: path.to_owned(),
                kind: kind_name(meta.file_type()),
            },
            _ => UntrustedError::Io {
                path: path.to_owned(),
                source,
            },
        }
    };
    let mut flags = libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY;
    if !follow {
        flags |= libc::O_NOFOLLOW;
    }
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
        .map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(UntrustedError::NotRegular {
            path: path.to_owned(),
            kind: kind_name(meta.file_type()),
        });
    }
    if meta.len() > limit {
        return Err(UntrustedError::TooLarge {
            path: path.to_owned(),
            limit,
        });
    }
    Ok((file, meta.len()))
}

/// Opens `path` for reading if it is a regular file (not a symlink) of at
/// most `limit` bytes; returns it and its size.
pub fn open_regular_nofollow(path: &Path, limit: u64) -> Result<(File, u64), UntrustedError> {
    open_with(path, limit, false)
}

/// As [`open_regular_nofollow`], but a symlink is followed (to a regular
/// file): for a path the caller made a link itself.
pub fn open_regular(path: &Path, limit: u64) -> Result<(File, u64), UntrustedError> {
    open_with(path, limit, true)
}

/// The bytes of `path`, a regular file (not a symlink) of at most `limit`
/// bytes.
pub fn read_untrusted(path: &Path, limit: u64) -> Result<Vec<u8>, UntrustedError> {
    let (file, size) = open_regular_nofollow(path, limit)?;
    let mut bytes = Vec::with_capacity(size.min(limit) as usize);
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| UntrustedError::Io {
            path: path.to_owned(),
            source,
        })?;
    if bytes.len() as u64 > limit {
        return Err(UntrustedError::TooLarge {
            path: path.to_owned(),
            limit,
        });
    }
    Ok(bytes)
}

/// [`read_untrusted`] as UTF-8 text.
pub fn read_untrusted_string(path: &Path, limit: u64) -> Result<String, UntrustedError> {
    String::from_utf8(read_untrusted(path, limit)?).map_err(|e| UntrustedError::Io {
        path: path.to_owned(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    })
}

/// Copies the regular file `from` (not a symlink, at most `limit` bytes)
/// to the new file `to` (an existing `to` is replaced), with its
/// permission bits but never setuid, setgid or sticky.
pub fn copy_untrusted(from: &Path, to: &Path, limit: u64) -> Result<u64, UntrustedError> {
    let (file, _) = open_regular_nofollow(from, limit)?;
    let mode = file
        .metadata()
        .map(|m| m.permissions().mode())
        .unwrap_or(0o644)
        & 0o777;
    let write_err = |source| UntrustedError::Io {
        path: to.to_owned(),
        source,
    };
    match fs::symlink_metadata(to) {
        Ok(meta) if meta.is_dir() => {
            return Err(UntrustedError::NotRegular {
                path: to.to_owned(),
                kind: "a directory",
            })
        }
        Ok(_) => fs::remove_file(to).map_err(write_err)?,
        Err(_) => {}
    }
    let mut out = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(to)
        .map_err(write_err)?;
    let copied =
        std::io::copy(&mut file.take(limit.saturating_add(1)), &mut out).map_err(|source| {
            UntrustedError::Io {
                path: from.to_owned(),
                source,
            }
        })?;
    if copied > limit {
        drop(out);
        let _ = fs::remove_file(to);
        return Err(UntrustedError::TooLarge {
            path: from.to_owned(),
            limit,
        });
    }
    fs::set_permissions(to, fs::Permissions::from_mode(mode)).map_err(write_err)?;
    Ok(copied)
}

/// The last `max` bytes (at most) of the regular file `path`, as text
/// (invalid UTF-8 replaced): a build log's tail, however much the step
/// wrote. Empty when the file cannot be read.
pub fn read_tail(path: &Path, max: u64) -> String {
    use std::io::{Seek, SeekFrom};
    let Ok((mut file, size)) = open_regular(path, u64::MAX) else {
        return String::new();
    };
    if size > max && file.seek(SeekFrom::Start(size - max)).is_err() {
        return String::new();
    }
    let mut bytes = Vec::new();
    let _ = file.take(max).read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Symlinks followed at most while resolving one path (as Linux's 40).
const MAX_LINKS: usize = 40;

/// `root/rel` with every symlink on the way resolved, checked to stay
/// inside `root`: `rel` is relative; `..` never climbs above `root`; a
/// symlink is followed only when its target is relative and stays inside
/// `root`. The last component need not exist (the caller opens or checks
/// it); what the result names is not itself a symlink when it exists.
pub fn resolve_beneath(root: &Path, rel: &Path) -> Result<PathBuf, UntrustedError> {
    let outside = |why: String| UntrustedError::Outside {
        path: rel.to_owned(),
        root: root.to_owned(),
        why,
    };
    // Components still to walk, last first.
    let mut todo: Vec<std::ffi::OsString> = Vec::new();
    push_components(&mut todo, rel).map_err(outside)?;
    let mut at: Vec<std::ffi::OsString> = Vec::new();
    let mut links = 0;
    while let Some(part) = todo.pop() {
        if part == ".." {
            if at.pop().is_none() {
                return Err(outside("`..` climbs above it".into()));
            }
            continue;
        }
        let path: PathBuf = std::iter::once(root.as_os_str())
            .chain(at.iter().map(|c| c.as_os_str()))
            .chain(std::iter::once(part.as_os_str()))
            .collect();
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(outside(format!("more than {MAX_LINKS} symlinks")));
                }
                let target = fs::read_link(&path).map_err(|source| UntrustedError::Io {
                    path: path.clone(),
                    source,
                })?;
                push_components(&mut todo, &target).map_err(|why| {
                    outside(format!(
                        "`{}` is a symlink to `{}`: {why}",
                        path.display(),
                        target.display()
                    ))
                })?;
            }
            Ok(meta) if !meta.is_dir() && !todo.is_empty() => {
                return Err(outside(format!(
                    "`{}` is {}, not a directory",
                    path.display(),
                    kind_name(meta.file_type())
                )))
            }
            _ => at.push(part),
        }
    }
    Ok(std::iter::once(root.as_os_str())
        .chain(at.iter().map(|c| c.as_os_str()))
        .collect())
}

/// Pushes the components of a relative `path` onto `todo` (last first).
fn push_components(todo: &mut Vec<std::ffi::OsString>, path: &Path) -> Result<(), String> {
    let mut parts = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(name) => parts.push(name.to_owned()),
            Component::ParentDir => parts.push("..".into()),
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => {
                return Err("an absolute path".into());
            }
        }
    }
    todo.extend(parts.into_iter().rev());
    Ok(())
}
