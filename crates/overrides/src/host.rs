//! Is the host ready for a set of ids, and what installs the rest.
//!
//! A native library is present when `pkg-config --exists` accepts all its
//! modules, or else when one of its linker names (`libjpeg.so`, shipped only
//! by development packages) is in a library directory, or else when all its
//! headers are in an include directory (modules in non-default directories,
//! such as Debian's OpenBLAS, are found that way). A tool is present when
//! one of its binaries is on `PATH`.
//!
//! The directories are the C compiler's own (`cc -print-search-dirs`, `cc
//! -E -v`), `LIBRARY_PATH` and `C_INCLUDE_PATH`, the usual ones, and the
//! provider's `search-dirs`: where the crate's build itself looks (libclang:
//! `LIBCLANG_PATH`, `llvm-config --libdir`, `/usr/lib/llvm-*/lib`, which is
//! where Debian's libclang-dev puts it).

use crate::providers::{IdKind, Providers};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The outcome of [`host_check`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HostReport {
    /// Ids the host provides.
    pub present: Vec<String>,
    /// Ids the host lacks.
    pub missing: Vec<String>,
    /// Ids the provider table does not know.
    pub unknown: Vec<String>,
}

/// Checks `ids` on this host (runs `pkg-config`, reads `PATH`).
pub fn host_check(providers: &Providers, ids: &[String]) -> HostReport {
    host_check_with(providers, ids, &pkg_config_exists, &on_path, &|p: &Path| {
        p.exists()
    })
}

/// [`host_check`] with the probes given: `pkg_config(module)` is `Some(found)`
/// or `None` when pkg-config cannot run; `on_path(binary)`; `exists(path)`.
pub fn host_check_with(
    providers: &Providers,
    ids: &[String],
    pkg_config: &dyn Fn(&str) -> Option<bool>,
    on_path: &dyn Fn(&str) -> bool,
    exists: &dyn Fn(&Path) -> bool,
) -> HostReport {
    let mut report = HostReport::default();
    for id in ids {
        let Some(provider) = providers.get(id) else {
            report.unknown.push(id.clone());
            continue;
        };
        let present = match provider.kind {
            IdKind::Tool => provider.binaries.iter().any(|b| on_path(b)),
            IdKind::Native => {
                let by_pkg_config = !provider.pkg_config.is_empty()
                    && provider
                        .pkg_config
                        .iter()
                        .all(|m| pkg_config(m) == Some(true));
                let by_library = || {
                    let extra = provider_dirs(&provider.search_dirs);
                    provider.libraries.iter().any(|l| {
                        library_dirs()
                            .iter()
                            .chain(&extra)
                            .any(|d| exists(&d.join(l)))
                    })
                };
                let by_headers = || {
                    !provider.headers.is_empty()
                        && provider
                            .headers
                            .iter()
                            .all(|h| include_dirs().iter().any(|d| exists(&d.join(h))))
                };
                by_pkg_config || by_library() || by_headers()
            }
        };
        if present {
            report.present.push(id.clone());
        } else {
            report.missing.push(id.clone());
        }
    }
    report
}

/// What identifies the host's copy of each native id in `ids`, for build
/// identities (an upgraded libpq must rebuild psycopg2): `module=version`
/// from `pkg-config --modversion` for each of its modules, else the real
/// file name behind its linker name (`libfoo.so.1.2.3`). Ids the host lacks,
/// tools and unknown ids are left out.
pub fn native_versions(
    providers: &Providers,
    ids: &[String],
) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    for id in ids {
        let Some(provider) = providers.get(id) else {
            continue;
        };
        if provider.kind != IdKind::Native {
            continue;
        }
        let by_pkg_config: Option<Vec<String>> = (!provider.pkg_config.is_empty())
            .then(|| {
                provider
                    .pkg_config
                    .iter()
                    .map(|m| pkg_config_version(m).map(|v| format!("{m}={v}")))
                    .collect()
            })
            .flatten();
        let found = by_pkg_config.or_else(|| {
            let files: Vec<String> = provider
                .libraries
                .iter()
                .filter_map(|l| {
                    library_dirs()
                        .iter()
                        .chain(&provider_dirs(&provider.search_dirs))
                        .find_map(|d| std::fs::canonicalize(d.join(l)).ok())
                        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                })
                .collect();
            (!files.is_empty()).then_some(files)
        });
        if let Some(found) = found {
            out.insert(id.clone(), found.join(" "));
        }
    }
    out
}

fn pkg_config_version(module: &str) -> Option<String> {
    let ask = || {
        let out = Command::new("pkg-config")
            .args(["--modversion", module])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .map_err(|_| ())?;
        Ok(match out.status.success() {
            true => format!("found {}", String::from_utf8_lossy(&out.stdout).trim()),
            false => "missing".to_owned(),
        })
    };
    let answer = remembered_pkg_config(&["--modversion", module], ask)?;
    answer.strip_prefix("found ").map(str::to_owned)
}

fn pkg_config_exists(module: &str) -> Option<bool> {
    let ask = || {
        Command::new("pkg-config")
            .args(["--exists", module])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success().to_string())
            .map_err(|_| ())
    };
    Some(remembered_pkg_config(&["--exists", module], ask)? == "true")
}

/// pkg-config's answer to `args`, remembered
/// (`lock2build_store::remembered_probe`) by what it reads: the stamps of
/// the pkg-config binary, of every directory it searches and of every `.pc`
/// file in them (the `PKG_CONFIG_PATH` directories, then its built-in path
/// or `PKG_CONFIG_LIBDIR`), and the `PKG_CONFIG_*` variables. `None` when
/// pkg-config cannot run (not remembered).
fn remembered_pkg_config(
    args: &[&str],
    ask: impl FnOnce() -> Result<String, ()>,
) -> Option<String> {
    let Some(inputs) = pkg_config_inputs() else {
        return ask().ok();
    };
    let mut words: Vec<&str> = vec![inputs.as_str()];
    words.extend(args);
    lock2build_store::remembered_probe("pkg-config", &[], &words, ask).ok()
}

/// The stamps and variables pkg-config's answers depend on, taken once per
/// run (before any answer is asked for); `None` without pkg-config.
fn pkg_config_inputs() -> Option<&'static String> {
    static INPUTS: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    INPUTS
        .get_or_init(|| {
            let given = lock2build_store::find_in_path(Path::new("pkg-config"))?;
            let binary = std::fs::canonicalize(&given).unwrap_or(given.clone());
            let mut text = format!("{}\0{}", given.display(), stamp(&binary));
            let mut vars: Vec<(String, String)> = std::env::vars()
                .filter(|(k, _)| k.starts_with("PKG_CONFIG"))
                .collect();
            vars.sort();
            for (k, v) in &vars {
                text.push_str(&format!("\0{k}={v}"));
            }
            let builtin = || {
                let ask = || {
                    let out = Command::new(&given)
                        .args(["--variable", "pc_path", "pkg-config"])
                        .stdin(Stdio::null())
                        .stderr(Stdio::null())
                        .output()
                        .map_err(|_| ())?;
                    Ok::<_, ()>(String::from_utf8_lossy(&out.stdout).trim().to_owned())
                };
                let words = [given.to_str().unwrap_or_default()];
                lock2build_store::remembered_probe("pkg-config pc_path", &[&binary], &words, ask)
                    .ok()
            };
            let mut dirs: Vec<PathBuf> = std::env::var_os("PKG_CONFIG_PATH")
                .map(|v| std::env::split_paths(&v).collect())
                .unwrap_or_default();
            match std::env::var_os("PKG_CONFIG_LIBDIR") {
                Some(libdir) => dirs.extend(std::env::split_paths(&libdir)),
                None => dirs.extend(std::env::split_paths(&builtin()?)),
            }
            for dir in dirs {
                text.push_str(&format!("\0{}\0{}", dir.display(), stamp(&dir)));
                let mut pcs: Vec<PathBuf> = std::fs::read_dir(&dir)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "pc"))
                    .collect();
                pcs.sort();
                for pc in pcs {
                    text.push_str(&format!("\0{}\0{}", pc.display(), stamp(&pc)));
                }
            }
            Some(text)
        })
        .as_ref()
}

fn stamp(path: &Path) -> String {
    lock2build_store::FileStamp::of(path).0
}

fn on_path(binary: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        let candidate = dir.join(binary);
        std::fs::metadata(&candidate).is_ok_and(|m| m.is_file() && is_executable(&m))
    })
}

#[cfg(unix)]
fn is_executable(metadata: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_: &std::fs::Metadata) -> bool {
    true
}

/// The include directories: the C compiler's `#include <...>` search list,
/// `C_INCLUDE_PATH`, the usual ones.
fn include_dirs() -> &'static [PathBuf] {
    static DIRS: std::sync::OnceLock<Vec<PathBuf>> = std::sync::OnceLock::new();
    DIRS.get_or_init(|| {
        let mut dirs = compiler_include_dirs();
        dirs.extend(env_dirs("C_INCLUDE_PATH"));
        dirs.extend([
            PathBuf::from("/usr/include"),
            PathBuf::from("/usr/local/include"),
        ]);
        if let Some(triple) = multiarch() {
            dirs.push(PathBuf::from("/usr/include").join(triple));
        }
        dedup(dirs)
    })
}

/// The library directories: the C compiler's (`cc -print-search-dirs`),
/// `LIBRARY_PATH`, the usual ones.
fn library_dirs() -> &'static [PathBuf] {
    static DIRS: std::sync::OnceLock<Vec<PathBuf>> = std::sync::OnceLock::new();
    DIRS.get_or_init(|| {
        let mut dirs = compiler_library_dirs();
        dirs.extend(env_dirs("LIBRARY_PATH"));
        dirs.extend([
            PathBuf::from("/usr/lib"),
            PathBuf::from("/usr/local/lib"),
            PathBuf::from("/lib"),
        ]);
        if let Some(triple) = multiarch() {
            dirs.push(PathBuf::from("/usr/lib").join(triple));
            dirs.push(PathBuf::from("/lib").join(triple));
        }
        dedup(dirs)
    })
}

fn dedup(dirs: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for d in dirs {
        if !out.contains(&d) {
            out.push(d);
        }
    }
    out
}

fn env_dirs(name: &str) -> Vec<PathBuf> {
    std::env::var_os(name)
        .map(|v| {
            std::env::split_paths(&v)
                .filter(|p| p.is_absolute())
                .collect()
        })
        .unwrap_or_default()
}

/// What `cmd args` prints on stdout, if it runs and succeeds.
fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The C compiler's answer to `args`, remembered
/// (`lock2build_store::remembered_probe`) by the stamp of the compiler `cc`
/// resolves to and the variables that move its search paths; asked every
/// time through ccache, sccache or distcc (they pick a compiler
/// themselves). `None` when `cc` cannot run.
fn remembered_cc(args: &[&str], ask: impl FnOnce() -> Result<String, ()>) -> Option<String> {
    let Some(given) = lock2build_store::find_in_path(Path::new("cc")) else {
        return ask().ok();
    };
    let compiler = std::fs::canonicalize(&given).unwrap_or(given.clone());
    let name = compiler.file_name().unwrap_or_default().to_string_lossy();
    if ["ccache", "sccache", "distcc", "icecc"].contains(&name.as_ref()) {
        return ask().ok();
    }
    let mut words = vec![given.display().to_string()];
    for var in [
        "LIBRARY_PATH",
        "CPATH",
        "C_INCLUDE_PATH",
        "GCC_EXEC_PREFIX",
        "COMPILER_PATH",
    ] {
        words.push(format!("{var}={}", std::env::var(var).unwrap_or_default()));
    }
    words.extend(args.iter().map(|a| (*a).to_owned()));
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    lock2build_store::remembered_probe("cc", &[&compiler], &words, ask).ok()
}

/// `cc -print-search-dirs`'s `libraries: =a:b:…`.
fn compiler_library_dirs() -> Vec<PathBuf> {
    let ask = || command_output("cc", &["-print-search-dirs"]).ok_or(());
    let text = remembered_cc(&["-print-search-dirs"], ask).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("libraries: ="))
        .map(|list| {
            std::env::split_paths(list)
                .filter_map(|p| std::fs::canonicalize(p).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The `#include <...>` search list `cc -E -v` prints (on stderr).
fn compiler_include_dirs() -> Vec<PathBuf> {
    let args = ["-E", "-v", "-x", "c", "/dev/null", "-o", "/dev/null"];
    let ask = || {
        Command::new("cc")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map(|out| String::from_utf8_lossy(&out.stderr).into_owned())
            .map_err(|_| ())
    };
    let Some(text) = remembered_cc(&args, ask) else {
        return Vec::new();
    };
    text.lines()
        .skip_while(|l| !l.starts_with("#include <...> search starts here:"))
        .skip(1)
        .take_while(|l| !l.starts_with("End of search list."))
        .map(|l| PathBuf::from(l.trim()))
        .collect()
}

/// A provider's `search-dirs`, expanded: `$VAR`, `$(command args)`, paths
/// with `*` components.
fn provider_dirs(entries: &[String]) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for entry in entries {
        if let Some(cmd) = entry.strip_prefix("$(").and_then(|c| c.strip_suffix(')')) {
            let words: Vec<&str> = cmd.split_whitespace().collect();
            if let Some((program, args)) = words.split_first() {
                if let Some(out) = command_output(program, args) {
                    dirs.extend(
                        out.lines()
                            .map(str::trim)
                            .filter(|l| !l.is_empty())
                            .map(PathBuf::from),
                    );
                }
            }
        } else if let Some(var) = entry.strip_prefix('$') {
            dirs.extend(env_dirs(var));
        } else {
            dirs.extend(expand_glob(Path::new(entry)));
        }
    }
    dirs
}

/// The directories matching `pattern`, whose components may hold `*`.
fn expand_glob(pattern: &Path) -> Vec<PathBuf> {
    let mut found = vec![PathBuf::new()];
    for component in pattern.components() {
        let part = component.as_os_str().to_string_lossy();
        if !part.contains('*') {
            found.iter_mut().for_each(|p| p.push(component));
            continue;
        }
        let (prefix, suffix) = part.split_once('*').unwrap_or((&part, ""));
        let mut next = Vec::new();
        for dir in &found {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| {
                    n.starts_with(prefix)
                        && n.ends_with(suffix)
                        && n.len() >= prefix.len() + suffix.len()
                })
                .collect();
            names.sort();
            next.extend(names.into_iter().rev().map(|n| dir.join(n)));
        }
        found = next;
    }
    found.into_iter().filter(|p| p.is_dir()).collect()
}

fn multiarch() -> Option<&'static str> {
    match (std::env::consts::ARCH, std::env::consts::OS) {
        ("x86_64", "linux") => Some("x86_64-linux-gnu"),
        ("aarch64", "linux") => Some("aarch64-linux-gnu"),
        _ => None,
    }
}

/// A system package manager that [`install_command`] can speak for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageManager {
    /// apt on Debian, Ubuntu and derivatives (Debian 12 names).
    Debian,
    /// Nix (`nix-shell -p` with nixpkgs attributes).
    Nix,
    /// Homebrew on macOS.
    Homebrew,
}

impl PackageManager {
    /// Guesses this host's package manager: Homebrew on macOS, Nix on NixOS,
    /// apt where `/etc/debian_version` exists or os-release says Debian or
    /// Ubuntu-like, Nix when `nix` is on PATH.
    pub fn detect() -> Option<PackageManager> {
        if cfg!(target_os = "macos") {
            return Some(PackageManager::Homebrew);
        }
        if Path::new("/etc/NIXOS").exists() {
            return Some(PackageManager::Nix);
        }
        let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
        let debian_like = os_release.lines().any(|l| {
            (l.starts_with("ID=") || l.starts_with("ID_LIKE="))
                && (l.contains("debian") || l.contains("ubuntu"))
        });
        if debian_like || Path::new("/etc/debian_version").exists() {
            return Some(PackageManager::Debian);
        }
        on_path("nix").then_some(PackageManager::Nix)
    }
}

/// The command that installs `ids` with `manager`, or `None` when no id has
/// a package there (unknown ids are skipped).
pub fn install_command(
    providers: &Providers,
    ids: &[String],
    manager: PackageManager,
) -> Option<String> {
    let mut names: Vec<&str> = Vec::new();
    for provider in ids.iter().filter_map(|id| providers.get(id)) {
        let list = match manager {
            PackageManager::Debian => &provider.debian,
            PackageManager::Nix => &provider.nixpkgs,
            PackageManager::Homebrew => &provider.homebrew,
        };
        for name in list {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
    }
    if names.is_empty() {
        return None;
    }
    let prefix = match manager {
        PackageManager::Debian => "apt-get install -y",
        PackageManager::Nix => "nix-shell -p",
        PackageManager::Homebrew => "brew install",
    };
    Some(format!("{prefix} {}", names.join(" ")))
}
