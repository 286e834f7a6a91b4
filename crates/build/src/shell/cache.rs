//! Fast re-entry: `lock2build env` and `shell` answer from
//! `<dir>/.lock2build/shell/env.json` when nothing they depend on changed,
//! without planning, building or probing a toolchain.
//!
//! The key is a sha256 over lock2build's version, the store root, the
//! flags that change the environment (`--no-dev`, `--python`, `--locked`)
//! and the path and bytes of every lockfile of the directory (and one
//! down), the manifests beside them and the project's lock2build.toml and
//! overrides layer. A hit is used only if every store path it names is
//! still there (gc may have removed one).

use super::{ShellEnv, ShellFlags};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// What the cache key covers besides the files.
pub struct CacheInputs<'a> {
    /// The project directory.
    pub dir: &'a Path,
    /// `--no-dev`, `--force`.
    pub flags: ShellFlags,
    /// `--python`, as given.
    pub python: Option<&'a Path>,
    /// `--locked`.
    pub locked: bool,
}

fn cache_file(dir: &Path) -> PathBuf {
    dir.join(".lock2build/shell/env.json")
}

/// The key of `inputs`, or nothing when a file cannot be read.
fn key(inputs: &CacheInputs) -> Option<String> {
    let mut hasher = Sha256::new();
    let mut line = |s: &str| {
        hasher.update(s.as_bytes());
        hasher.update([0]);
    };
    line(env!("CARGO_PKG_VERSION"));
    line(
        &lock2build_store::Store::default_root()
            .ok()?
            .display()
            .to_string(),
    );
    // The native search paths the environment exports depend on it.
    line(&std::env::var("PKG_CONFIG_PATH").unwrap_or_default());
    line(&format!(
        "{:?} {:?} {}",
        inputs.flags.no_dev, inputs.python, inputs.locked
    ));
    let mut files: Vec<PathBuf> = lock2build_plan::discover::find_lockfiles(inputs.dir)
        .ok()?
        .into_iter()
        .flat_map(|l| {
            let dir = l.path.parent().map(Path::to_path_buf).unwrap_or_default();
            std::iter::once(l.path).chain(super::manifests(&dir))
        })
        .collect();
    files.push(inputs.dir.join("lock2build.toml"));
    let layer = inputs.dir.join(".lock2build/overrides");
    let mut layer_files = Vec::new();
    if layer.is_dir() {
        crate::app::walk(&layer, Path::new(""), &mut layer_files).ok()?;
    }
    files.extend(layer_files.into_iter().map(|f| layer.join(f)));
    files.sort();
    files.dedup();
    for file in files {
        hasher.update(file.as_os_str().as_encoded_bytes());
        hasher.update([0]);
        match std::fs::read(&file) {
            Ok(bytes) => hasher.update(&bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => hasher.update(b"-"),
            Err(_) => return None,
        }
        hasher.update([0]);
    }
    Some(hex::encode(hasher.finalize()))
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Cached {
    key: String,
    env: ShellEnv,
}

/// The cached environment of `inputs`, else `make()`'s (then cached).
pub fn cached_or(
    inputs: &CacheInputs,
    make: impl FnOnce() -> anyhow::Result<ShellEnv>,
) -> anyhow::Result<ShellEnv> {
    let key = key(inputs);
    if let Some(key) = &key {
        if let Some(env) = load(inputs.dir, key) {
            crate::progress::warn(&env.warnings);
            return Ok(env);
        }
    }
    let env = make()?;
    if let Some(key) = key {
        let file = cache_file(inputs.dir);
        let text = serde_json::to_vec(&Cached { key, env })?;
        let tmp = file.with_extension(format!("tmp-{}", std::process::id()));
        std::fs::write(&tmp, &text)?;
        std::fs::rename(&tmp, &file)?;
        let cached: Cached = serde_json::from_slice(&text)?;
        return Ok(cached.env);
    }
    Ok(env)
}

fn load(dir: &Path, key: &str) -> Option<ShellEnv> {
    let cached: Cached = serde_json::from_slice(&std::fs::read(cache_file(dir)).ok()?).ok()?;
    if cached.key != key {
        return None;
    }
    let alive = cached.env.path.iter().all(|p| p.exists())
        && cached
            .env
            .vars
            .get("VIRTUAL_ENV")
            .is_none_or(|v| Path::new(v).is_dir());
    alive.then_some(cached.env)
}
