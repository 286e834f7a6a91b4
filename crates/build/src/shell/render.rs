//! `lock2build env --format bash|zsh|fish|json`: a [`ShellEnv`] as text a
//! shell evaluates (or direnv's `use lock2build`), or as JSON.

use super::{ShellEnv, ENV_VERSION};
use crate::app::shell_quote as quote;
use std::path::PathBuf;

/// How `lock2build env` prints the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `export NAME='value'` lines (also what direnv evaluates).
    Bash,
    /// As bash.
    Zsh,
    /// `set -gx NAME 'value'` lines.
    Fish,
    /// `{"version": 1, "vars": {…}, "path": […], "watch": […]}`.
    Json,
}

/// PATH with the environment's directories first.
pub(super) fn joined_path(env: &ShellEnv) -> std::ffi::OsString {
    let mut dirs: Vec<PathBuf> = env.path.clone();
    if let Some(old) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&old));
    }
    std::env::join_paths(dirs).unwrap_or_default()
}

/// The environment in `format`.
pub fn render(env: &ShellEnv, format: Format) -> String {
    let path: Vec<String> = env.path.iter().map(|p| p.display().to_string()).collect();
    let watch: Vec<String> = env
        .watch
        .iter()
        .map(|p| quote(&p.display().to_string()))
        .collect();
    let mut out = String::new();
    match format {
        Format::Bash | Format::Zsh => {
            for (k, v) in &env.vars {
                out.push_str(&format!("export {k}={};\n", quote(v)));
            }
            out.push_str(&format!(
                "export PATH={}\"${{PATH:+:$PATH}}\";\n",
                quote(&path.join(":"))
            ));
            // Inside direnv's `use lock2build`: re-evaluate when a lock changes.
            if !watch.is_empty() {
                out.push_str(&format!(
                    "if type watch_file >/dev/null 2>&1; then watch_file {}; fi\n",
                    watch.join(" ")
                ));
            }
        }
        Format::Fish => {
            for (k, v) in &env.vars {
                out.push_str(&format!("set -gx {k} {};\n", quote(v)));
            }
            let dirs: Vec<String> = path.iter().map(|p| quote(p)).collect();
            out.push_str(&format!("set -gx PATH {} $PATH;\n", dirs.join(" ")));
        }
        Format::Json => {
            let doc = serde_json::json!({
                "version": ENV_VERSION,
                "vars": env.vars,
                "path": env.path,
                "watch": env.watch,
                "notes": env.notes,
            });
            out = serde_json::to_string_pretty(&doc).unwrap_or_default();
            out.push('\n');
        }
    }
    out
}

/// `lock2build direnv-hook`: the `use lock2build` function for direnv's
/// `~/.config/direnv/lib/lock2build.sh` (or an .envrc).
pub const DIRENV_HOOK: &str = r#"# lock2build's direnv function: put `use lock2build` in a project's .envrc.
# Install: lock2build direnv-hook > ~/.config/direnv/lib/lock2build.sh
use_lock2build() {
  local dir="${1:-.}"
  shift 2>/dev/null || true
  local out
  # What the environment depends on, watched even when making it fails.
  watch_file "$dir"/uv.lock "$dir"/poetry.lock "$dir"/pylock.toml "$dir"/requirements.txt \
    "$dir"/package-lock.json "$dir"/Cargo.lock "$dir"/pyproject.toml "$dir"/package.json \
    "$dir"/Cargo.toml "$dir"/lock2build.toml
  out="$(lock2build -q env "$dir" --format bash "$@")" || {
    log_error "lock2build env failed; fix the error above and run \`direnv reload\`"
    return 1
  }
  eval "$out"
}
"#;
