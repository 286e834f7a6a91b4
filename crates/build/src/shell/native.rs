//! Where the host keeps the native libraries a plan's packages need, when
//! that is outside pkg-config's default search path (a prefix the user
//! added to PKG_CONFIG_PATH, Homebrew, /opt): exported by the shell as
//! `PKG_CONFIG_PATH` and `LD_LIBRARY_PATH`, so builds and programs run
//! in it (or from direnv, or an editor reading `env --format json`) find
//! them. The needs come from the overrides database, as `app` checks them.

use anyhow::Result;
use lock2build_plan::plan::Plan;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// pkg-config directories and library directories outside the defaults.
#[derive(Debug, Default)]
pub(super) struct NativeDirs {
    pub pkg_config: BTreeSet<PathBuf>,
    pub libraries: BTreeSet<PathBuf>,
}

fn variable(module: &str, name: &str) -> Option<String> {
    let out = Command::new("pkg-config")
        .args(["--variable", name, module])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// The native libraries `plan`'s packages need (with the project layer of
/// `dir`), and where pkg-config finds them outside its default path.
pub(super) fn native_dirs(dir: &Path, plan: &Plan, into: &mut NativeDirs) -> Result<()> {
    let db = crate::overrides::load(dir)?;
    let ids: BTreeSet<String> = plan
        .packages
        .iter()
        .flat_map(|n| db.resolve(n.ecosystem, &n.name, &n.version).native)
        .collect();
    let modules: BTreeSet<&String> = ids
        .iter()
        .filter_map(|id| db.providers().get(id))
        .flat_map(|p| &p.pkg_config)
        .collect();
    if modules.is_empty() {
        return Ok(());
    }
    let defaults: Vec<PathBuf> = variable("pkg-config", "pc_path")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    let default_libs = ["/lib", "/usr/lib", "/lib64", "/usr/lib64", "/usr/local/lib"];
    for module in modules {
        let Some(pc_dir) = variable(module, "pcfiledir").map(PathBuf::from) else {
            continue;
        };
        if defaults.contains(&pc_dir) {
            continue;
        }
        if let Some(lib) = variable(module, "libdir").map(PathBuf::from) {
            let default = default_libs
                .iter()
                .any(|d| lib.starts_with(d) && !lib.starts_with("/usr/local/lib/"));
            if !default {
                into.libraries.insert(lib);
            }
        }
        into.pkg_config.insert(pc_dir);
    }
    Ok(())
}

/// `dirs` before the current value of `var`, as one search path.
pub(super) fn prepend(var: &str, dirs: &BTreeSet<PathBuf>) -> Option<String> {
    if dirs.is_empty() {
        return None;
    }
    let mut all: Vec<PathBuf> = dirs.iter().cloned().collect();
    if let Some(old) = std::env::var_os(var) {
        all.extend(std::env::split_paths(&old).filter(|p| !dirs.contains(p)));
    }
    std::env::join_paths(all)
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}
