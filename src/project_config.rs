//! The project's `lock2build.toml`, checked whole before anything is
//! fetched or built: a syntax error, an unknown table or a bad value is an
//! error naming the file and line, with help saying what the file holds.
//!
//! ```toml
//! [app]          # what `lock2build app` builds: scripts, features, no-default-features
//! [mirrors]      # "https://registry.npmjs.org" = "https://npm.example/"
//! [overrides]    # project overrides, same schema as overrides/ (overrides/README.md)
//! ```

use anyhow::{anyhow, Result};
use std::path::Path;

/// The tables `lock2build.toml` may have.
const TABLES: [&str; 3] = ["app", "mirrors", "overrides"];

const HELP: &str = "lock2build.toml holds [app] (scripts = [\"flask\"], features = [\"x\"], no-default-features = true), [mirrors] (\"https://pypi.org/simple\" = \"https://mirror.example/simple\") and [overrides] (as overrides/README.md describes); fix it or move it away";

/// Checks `dir/lock2build.toml` when there is one: TOML syntax, known
/// tables, `[app]`, `[mirrors]` and `[overrides]` each as its reader
/// takes it.
pub fn check(dir: &Path) -> Result<()> {
    let path = dir.join("lock2build.toml");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(anyhow!("{}: cannot read it: {e}", path.display())),
    };
    let table: toml::Table = toml::from_str(&text).map_err(|e| {
        let place = e
            .span()
            .map(|s| {
                let (line, column) = lock2build_model::line_column(&text, s.start);
                format!(":{line}:{column}")
            })
            .unwrap_or_default();
        anyhow!(
            "{}{place}: not valid TOML: {}\n  help: {HELP}",
            path.display(),
            e.message().trim()
        )
    })?;
    for key in table.keys() {
        if !TABLES.contains(&key.as_str()) {
            let line = text
                .lines()
                .position(|l| {
                    let l = l.trim_start();
                    l.starts_with(&format!("[{key}"))
                        || l.starts_with(&format!("{key} "))
                        || l.starts_with(&format!("{key}="))
                })
                .map(|i| format!(":{}", i + 1))
                .unwrap_or_default();
            return Err(anyhow!(
                "{}{line}: unknown table `{key}` (lock2build.toml has {})\n  help: {HELP}",
                path.display(),
                TABLES.map(|t| format!("[{t}]")).join(", ")
            ));
        }
    }
    crate::app::AppConfig::read(dir)?;
    lock2build_fetch::MirrorConfig::load(Some(dir)).map_err(|e| anyhow!("{e}\n  help: {HELP}"))?;
    crate::overrides::load(dir)?;
    Ok(())
}
