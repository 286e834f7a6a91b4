//! The machine a plan is made for: OS, CPU, C library and its version, the
//! Python interpreter (version, implementation, ABI) and Node's platform names.
//!
//! [`Target::host`] asks the host (and its `python3`) what it is;
//! [`TargetOptions`] lets the user describe another machine. From a target
//! come the PEP 508 marker environment ([`Target::marker_environment`]) and
//! the ordered list of compatible wheel tags ([`Target::wheel_tags`]),
//! most preferred first, as `packaging.tags.sys_tags()` orders them.

use anyhow::{bail, Context, Result};
use pep508_rs::{MarkerEnvironment, MarkerEnvironmentBuilder};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Operating system family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Os {
    /// Linux.
    Linux,
    /// macOS.
    Macos,
    /// Windows.
    Windows,
}

/// The C library of a Linux target, with its version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "family", rename_all = "lowercase")]
pub enum Libc {
    /// GNU libc `major.minor`.
    Glibc {
        /// e.g. (2, 36).
        version: (u32, u32),
    },
    /// musl `major.minor`.
    Musl {
        /// e.g. (1, 2).
        version: (u32, u32),
    },
    /// Not Linux.
    None,
}

/// The Python side of a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PythonTarget {
    /// The interpreter, when the target is the host's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interpreter: Option<PathBuf>,
    /// Full version, e.g. `3.11.7`.
    pub version: String,
    /// `cpython` or `pypy`.
    pub implementation: String,
    /// Free-threaded build (`cp313t`).
    pub free_threaded: bool,
}

impl PythonTarget {
    /// (major, minor).
    pub fn major_minor(&self) -> (u32, u32) {
        let mut parts = self
            .version
            .split('.')
            .map(|p| p.parse::<u32>().unwrap_or(0));
        (parts.next().unwrap_or(3), parts.next().unwrap_or(0))
    }
}

/// The machine a plan is made for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    /// OS family.
    pub os: Os,
    /// CPU architecture as Python names it (`x86_64`, `aarch64`).
    pub arch: String,
    /// C library.
    pub libc: Libc,
    /// The Python interpreter packages are selected for.
    pub python: PythonTarget,
    /// `uname -r` (only used by markers).
    #[serde(skip)]
    pub os_release: String,
}

/// How the user describes a target other than the host (CLI flags).
#[derive(Debug, Clone, Default)]
pub struct TargetOptions {
    /// The Python interpreter to ask (default `python3` on PATH).
    pub python: Option<PathBuf>,
    /// A Python version instead of asking an interpreter, e.g. `3.12`.
    pub python_version: Option<String>,
    /// `linux`, `macos` or `windows`.
    pub os: Option<String>,
    /// `x86_64`, `aarch64`, …
    pub arch: Option<String>,
    /// `glibc-2.28`, `musl-1.2`.
    pub libc: Option<String>,
}

const PROBE: &str = r#"
import json, platform, sys, sysconfig
libc = platform.libc_ver()
print(json.dumps({
  "version": platform.python_version(),
  "implementation": sys.implementation.name,
  "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
  "machine": platform.machine(),
  "system": platform.system(),
  "release": platform.release(),
  "libc": list(libc),
}))
"#;

impl Target {
    /// The host, adjusted by `options`.
    pub fn resolve(options: &TargetOptions) -> Result<Target> {
        let mut target = match (&options.python_version, &options.python) {
            (Some(_), None) => Target::host_without_python()?,
            _ => Target::host(options.python.as_deref().unwrap_or(Path::new("python3")))?,
        };
        if let Some(v) = &options.python_version {
            let parts: Vec<&str> = v.split('.').collect();
            if parts.len() < 2 || parts.iter().any(|p| p.parse::<u32>().is_err()) {
                bail!("--python-version {v}: expected a version like 3.12 or 3.12.1");
            }
            let full = if parts.len() == 2 {
                format!("{v}.0")
            } else {
                v.clone()
            };
            target.python = PythonTarget {
                interpreter: None,
                version: full,
                implementation: "cpython".into(),
                free_threaded: false,
            };
        }
        if let Some(os) = &options.os {
            target.os = match os.as_str() {
                "linux" => Os::Linux,
                "macos" | "darwin" => Os::Macos,
                "windows" | "win32" => Os::Windows,
                other => bail!("--os {other}: expected linux, macos or windows"),
            };
            if target.os != Os::Linux {
                target.libc = Libc::None;
            }
        }
        if let Some(arch) = &options.arch {
            target.arch = match arch.as_str() {
                "x64" | "amd64" | "x86_64" => "x86_64".into(),
                "arm64" | "aarch64" => "aarch64".into(),
                other => other.to_owned(),
            };
        }
        if let Some(libc) = &options.libc {
            target.libc = parse_libc(libc)?;
        }
        Ok(target)
    }

    /// The host, as told by `python` (an interpreter name or path).
    pub fn host(python: &Path) -> Result<Target> {
        let out = Command::new(python)
            .args(["-I", "-c", PROBE])
            .output()
            .with_context(|| {
                format!(
                    "could not run `{}` to learn the target Python; install python3, pass --python PATH, or pass --python-version X.Y",
                    python.display()
                )
            })?;
        if !out.status.success() {
            bail!(
                "`{} -c …` failed: {}",
                python.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .with_context(|| format!("unexpected output from `{}`", python.display()))?;
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
        let os = match s("system").as_str() {
            "Darwin" => Os::Macos,
            "Windows" => Os::Windows,
            _ => Os::Linux,
        };
        let libc_name = v["libc"][0].as_str().unwrap_or_default();
        let libc_version = v["libc"][1].as_str().unwrap_or_default();
        let libc = if os != Os::Linux {
            Libc::None
        } else if libc_name == "glibc" {
            Libc::Glibc {
                version: parse_major_minor(libc_version).unwrap_or((2, 17)),
            }
        } else {
            host_libc()
        };
        let interpreter = which(python);
        Ok(Target {
            os,
            arch: s("machine"),
            libc,
            python: PythonTarget {
                interpreter,
                version: s("version"),
                implementation: s("implementation"),
                free_threaded: v["free_threaded"].as_bool().unwrap_or(false),
            },
            os_release: s("release"),
        })
    }

    fn host_without_python() -> Result<Target> {
        let os = match std::env::consts::OS {
            "macos" => Os::Macos,
            "windows" => Os::Windows,
            _ => Os::Linux,
        };
        Ok(Target {
            os,
            arch: std::env::consts::ARCH.to_owned(),
            libc: if os == Os::Linux {
                host_libc()
            } else {
                Libc::None
            },
            python: PythonTarget {
                interpreter: None,
                version: "3.11.0".into(),
                implementation: "cpython".into(),
                free_threaded: false,
            },
            os_release: String::new(),
        })
    }

    /// A one-line description, e.g. `linux x86_64 glibc 2.36, cpython 3.11.7`.
    pub fn describe(&self) -> String {
        let libc = match &self.libc {
            Libc::Glibc { version } => format!(" glibc {}.{}", version.0, version.1),
            Libc::Musl { version } => format!(" musl {}.{}", version.0, version.1),
            Libc::None => String::new(),
        };
        format!(
            "{} {}{libc}, {} {}",
            self.npm_os(),
            self.arch,
            self.python.implementation,
            self.python.version
        )
    }

    /// The platform alone (`linux x86_64 glibc 2.36`): what identities of
    /// builds that do not involve Python (Rust, Node) depend on.
    pub fn describe_platform(&self) -> String {
        let libc = match &self.libc {
            Libc::Glibc { version } => format!(" glibc {}.{}", version.0, version.1),
            Libc::Musl { version } => format!(" musl {}.{}", version.0, version.1),
            Libc::None => String::new(),
        };
        format!("{} {}{libc}", self.npm_os(), self.arch)
    }

    /// The PEP 508 marker environment of this target.
    pub fn marker_environment(&self) -> Result<MarkerEnvironment> {
        let (major, minor) = self.python.major_minor();
        let python_version = format!("{major}.{minor}");
        let (sys_platform, platform_system, os_name) = match self.os {
            Os::Linux => ("linux", "Linux", "posix"),
            Os::Macos => ("darwin", "Darwin", "posix"),
            Os::Windows => ("win32", "Windows", "nt"),
        };
        let machine = match (self.os, self.arch.as_str()) {
            (Os::Macos, "aarch64") => "arm64",
            (Os::Windows, "x86_64") => "AMD64",
            (_, a) => a,
        };
        let (implementation_name, platform_python_implementation) =
            match self.python.implementation.as_str() {
                "pypy" => ("pypy", "PyPy"),
                _ => ("cpython", "CPython"),
            };
        MarkerEnvironment::try_from(MarkerEnvironmentBuilder {
            implementation_name,
            implementation_version: &self.python.version,
            os_name,
            platform_machine: machine,
            platform_python_implementation,
            platform_release: &self.os_release,
            platform_system,
            platform_version: "",
            python_full_version: &self.python.version,
            python_version: &python_version,
            sys_platform,
        })
        .with_context(|| format!("bad Python version `{}`", self.python.version))
    }

    /// Node's `process.platform`.
    pub fn npm_os(&self) -> &'static str {
        match self.os {
            Os::Linux => "linux",
            Os::Macos => "darwin",
            Os::Windows => "win32",
        }
    }

    /// Node's `process.arch`.
    pub fn npm_cpu(&self) -> &str {
        match self.arch.as_str() {
            "x86_64" => "x64",
            "aarch64" | "arm64" => "arm64",
            "i686" | "i386" => "ia32",
            "armv7l" => "arm",
            other => other,
        }
    }

    /// npm's `libc` name, if Linux.
    pub fn npm_libc(&self) -> Option<&'static str> {
        match self.libc {
            Libc::Glibc { .. } => Some("glibc"),
            Libc::Musl { .. } => Some("musl"),
            Libc::None => None,
        }
    }

    /// Platform tags, most specific first (PEP 600 manylinux, PEP 656
    /// musllinux, then the plain platform).
    pub fn platform_tags(&self) -> Vec<String> {
        let arch = self.arch.as_str();
        match (&self.os, &self.libc) {
            (Os::Linux, Libc::Glibc { version }) => {
                let mut tags = Vec::new();
                // manylinux_2_5 is the oldest for x86_64/i686, 2_17 for the rest.
                let oldest = if matches!(arch, "x86_64" | "i686") {
                    5
                } else {
                    17
                };
                if version.0 == 2 {
                    for minor in (oldest..=version.1).rev() {
                        tags.push(format!("manylinux_2_{minor}_{arch}"));
                        let legacy = match minor {
                            17 => Some("manylinux2014"),
                            12 => Some("manylinux2010"),
                            5 => Some("manylinux1"),
                            _ => None,
                        };
                        if let Some(legacy) = legacy {
                            tags.push(format!("{legacy}_{arch}"));
                        }
                    }
                }
                tags.push(format!("linux_{arch}"));
                tags
            }
            (Os::Linux, Libc::Musl { version }) => {
                let mut tags: Vec<String> = (0..=version.1)
                    .rev()
                    .map(|minor| format!("musllinux_{}_{minor}_{arch}", version.0))
                    .collect();
                tags.push(format!("linux_{arch}"));
                tags
            }
            (Os::Linux, Libc::None) => vec![format!("linux_{arch}")],
            (Os::Macos, _) => {
                // Wheels name macOS versions 10.x (x up to 16) and 11+.
                let arch_names: Vec<&str> = match arch {
                    "aarch64" | "arm64" => vec!["arm64", "universal2"],
                    _ => vec!["x86_64", "intel", "universal2", "universal"],
                };
                let mut tags = Vec::new();
                for major in (11..=15).rev() {
                    for a in &arch_names {
                        tags.push(format!("macosx_{major}_0_{a}"));
                    }
                }
                if !matches!(arch, "aarch64" | "arm64") {
                    for minor in (4..=16).rev() {
                        for a in &arch_names {
                            tags.push(format!("macosx_10_{minor}_{a}"));
                        }
                    }
                }
                tags
            }
            (Os::Windows, _) => vec![match arch {
                "x86_64" => "win_amd64".to_owned(),
                "aarch64" | "arm64" => "win_arm64".to_owned(),
                _ => "win32".to_owned(),
            }],
        }
    }

    /// Every wheel tag this target accepts, best first, in the order of
    /// `packaging.tags.sys_tags()`.
    pub fn wheel_tags(&self) -> Vec<WheelTag> {
        let (major, minor) = self.python.major_minor();
        let platforms = self.platform_tags();
        let mut tags = Vec::new();
        let push = |tags: &mut Vec<WheelTag>, py: &str, abi: &str, plat: &str| {
            tags.push(WheelTag {
                python: py.to_owned(),
                abi: abi.to_owned(),
                platform: plat.to_owned(),
            });
        };
        let is_cpython = self.python.implementation == "cpython";
        let interp = if is_cpython {
            format!("cp{major}{minor}")
        } else {
            format!("pp{major}{minor}")
        };
        if is_cpython {
            let abi = if self.python.free_threaded {
                format!("{interp}t")
            } else {
                interp.clone()
            };
            for p in &platforms {
                push(&mut tags, &interp, &abi, p);
            }
            if !self.python.free_threaded {
                for p in &platforms {
                    push(&mut tags, &interp, "abi3", p);
                }
            }
            for p in &platforms {
                push(&mut tags, &interp, "none", p);
            }
            if !self.python.free_threaded {
                for older in (2..minor).rev() {
                    for p in &platforms {
                        push(&mut tags, &format!("cp{major}{older}"), "abi3", p);
                    }
                }
            }
        } else {
            for p in &platforms {
                push(&mut tags, &interp, "none", p);
            }
        }
        // compatible_tags: pyXY-none-plat for every older minor, then any.
        let py_versions: Vec<String> = std::iter::once(format!("py{major}{minor}"))
            .chain(std::iter::once(format!("py{major}")))
            .chain((0..minor).rev().map(|m| format!("py{major}{m}")))
            .collect();
        for py in &py_versions {
            for p in &platforms {
                push(&mut tags, py, "none", p);
            }
        }
        push(&mut tags, &interp, "none", "any");
        for py in &py_versions {
            push(&mut tags, py, "none", "any");
        }
        tags
    }
}

/// One `python-abi-platform` triple.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WheelTag {
    /// e.g. `cp311`, `py3`.
    pub python: String,
    /// e.g. `cp311`, `abi3`, `none`.
    pub abi: String,
    /// e.g. `manylinux_2_17_x86_64`, `any`.
    pub platform: String,
}

impl std::fmt::Display for WheelTag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}-{}", self.python, self.abi, self.platform)
    }
}

fn parse_major_minor(s: &str) -> Option<(u32, u32)> {
    let mut it = s.split('.');
    Some((
        it.next()?.trim().parse().ok()?,
        it.next()?.trim().parse().ok()?,
    ))
}

fn parse_libc(s: &str) -> Result<Libc> {
    let (family, version) = s.split_once('-').unwrap_or((s, ""));
    let parsed = parse_major_minor(version);
    match (family, parsed) {
        ("glibc" | "gnu", Some(version)) => Ok(Libc::Glibc { version }),
        ("musl", Some(version)) => Ok(Libc::Musl { version }),
        ("none", _) => Ok(Libc::None),
        _ => bail!("--libc {s}: expected glibc-MAJOR.MINOR (e.g. glibc-2.28) or musl-MAJOR.MINOR (e.g. musl-1.2)"),
    }
}

/// The host's C library, from `ldd --version` (glibc) or the musl loader.
/// `ldd --version`'s answer is remembered by the stamp of the `ldd` it
/// runs (a C library upgrade replaces it).
fn host_libc() -> Libc {
    let ask = || {
        Command::new("ldd").arg("--version").output().map(|out| {
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })
    };
    let answer = match which(Path::new("ldd")) {
        Some(ldd) => lock2build_store::remembered_probe("ldd --version", &[&ldd], &[], ask),
        None => ask(),
    };
    if let Ok(text) = answer {
        let first = text.lines().next().unwrap_or_default();
        if text.contains("musl") {
            let v = text
                .lines()
                .find_map(|l| l.strip_prefix("Version "))
                .and_then(parse_major_minor);
            return Libc::Musl {
                version: v.unwrap_or((1, 2)),
            };
        }
        if let Some(v) = first.rsplit(' ').next().and_then(parse_major_minor) {
            return Libc::Glibc { version: v };
        }
    }
    Libc::Glibc { version: (2, 17) }
}

pub(crate) fn which(program: &Path) -> Option<PathBuf> {
    if program.components().count() > 1 {
        return std::fs::canonicalize(program).ok();
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linux(glibc: (u32, u32), py: &str) -> Target {
        Target {
            os: Os::Linux,
            arch: "x86_64".into(),
            libc: Libc::Glibc { version: glibc },
            python: PythonTarget {
                interpreter: None,
                version: py.into(),
                implementation: "cpython".into(),
                free_threaded: false,
            },
            os_release: String::new(),
        }
    }

    #[test]
    fn manylinux_order_matches_packaging() {
        let t = linux((2, 36), "3.11.7");
        let plats = t.platform_tags();
        assert_eq!(plats[0], "manylinux_2_36_x86_64");
        let i2014 = plats
            .iter()
            .position(|p| p == "manylinux2014_x86_64")
            .unwrap();
        assert_eq!(plats[i2014 - 1], "manylinux_2_17_x86_64");
        assert_eq!(plats.last().unwrap(), "linux_x86_64");
        assert!(plats.contains(&"manylinux1_x86_64".to_string()));
        assert!(!plats.iter().any(|p| p.contains("2_37")));
    }

    #[test]
    fn tag_order() {
        let t = linux((2, 36), "3.11.7");
        let tags: Vec<String> = t.wheel_tags().iter().map(|t| t.to_string()).collect();
        assert_eq!(tags[0], "cp311-cp311-manylinux_2_36_x86_64");
        let pos = |s: &str| {
            tags.iter()
                .position(|t| t == s)
                .unwrap_or_else(|| panic!("{s} missing"))
        };
        assert!(pos("cp311-cp311-linux_x86_64") < pos("cp311-abi3-manylinux_2_36_x86_64"));
        assert!(pos("cp311-abi3-manylinux_2_17_x86_64") < pos("cp310-abi3-manylinux_2_17_x86_64"));
        assert!(pos("cp37-abi3-manylinux_2_17_x86_64") < pos("py311-none-manylinux_2_17_x86_64"));
        assert!(pos("cp311-none-any") < pos("py3-none-any"));
        assert!(pos("py3-none-any") < pos("py30-none-any"));
        assert_eq!(tags.last().unwrap(), "py30-none-any");
    }

    #[test]
    fn markers() {
        let env = linux((2, 36), "3.11.7").marker_environment().unwrap();
        let m: pep508_rs::MarkerTree = "python_version >= '3.10' and sys_platform == 'linux'"
            .parse()
            .unwrap();
        assert!(m.evaluate(&env, &[]));
        let m: pep508_rs::MarkerTree = "python_version < '3.10'".parse().unwrap();
        assert!(!m.evaluate(&env, &[]));
    }

    #[test]
    fn libc_flag() {
        assert_eq!(
            parse_libc("glibc-2.28").unwrap(),
            Libc::Glibc { version: (2, 28) }
        );
        assert_eq!(
            parse_libc("musl-1.2").unwrap(),
            Libc::Musl { version: (1, 2) }
        );
        assert!(parse_libc("glibc").is_err());
    }
}
