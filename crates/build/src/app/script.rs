//! `lock2build app script.py`: a PEP 723 script run by the environment of
//! its lock.
//!
//! `uv lock --script script.py` writes `script.py.lock`, a uv.lock whose
//! only root is virtual: `[manifest] requirements` are the script's
//! dependencies. The Python builder makes that environment as for any
//! project; this step adds one store output over it:
//!
//! ```text
//! <out>/share/lock2build-script/script.py   the script, copied (its hash is in the node id)
//! <out>/bin/script                          exec <env>/bin/python <out>/share/…/script.py "$@"
//! <out>/bin/python                          exec <env>/bin/python "$@"
//! <out>/bin/<other>                         → <env>/bin/<other> (the environment's scripts)
//! ```
//!
//! and `result` points to it. The output refers to the environment, so gc
//! keeps both. The script's own `# /// script` block is compared with the
//! lock: a dependency the lock lacks means the lock is stale.

use super::{link_result, open_store, shell_quote, AppOptions, AppReport};
use anyhow::{anyhow, bail, Context, Result};
use lock2build_store::{NodeId, OutputDirs};
use sha2::{Digest, Sha256};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Wraps the environment `report` built for `script` in a launcher output,
/// links `result` to it and says so in the report.
pub(super) fn add_launcher(
    options: &AppOptions,
    script: &Path,
    mut report: AppReport,
) -> Result<AppReport> {
    let bytes = std::fs::read(script).with_context(|| format!("reading {}", script.display()))?;
    let file_name = script
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| anyhow!("{}: not a file name", script.display()))?;
    let name = file_name
        .strip_suffix(".py")
        .unwrap_or(&file_name)
        .to_owned();
    let env_id = report
        .output
        .file_name()
        .and_then(|n| NodeId::parse(&n.to_string_lossy()).ok())
        .ok_or_else(|| {
            anyhow!(
                "internal: the environment {} is not a store output",
                report.output.display()
            )
        })?;
    let id = NodeId::compute(
        &format!("{name}-script"),
        &serde_json::json!({
            "recipe": "python-script/1",
            "script": file_name,
            "sha256": hex::encode(Sha256::digest(&bytes)),
        }),
        std::slice::from_ref(&env_id),
        &[],
        "",
    )?;
    let store = open_store()?;
    let env = report.output.clone();
    let made = store.build_output(&id, std::slice::from_ref(&env_id), |out: &OutputDirs| {
        write_launcher(out, &env, &file_name, &name, &bytes).map_err(Into::into)
    })?;
    link_result(&options.out_link, &made.path)?;
    store.add_root(&options.out_link)?;
    if made.built {
        report.built.push(format!("script {name}"));
    } else {
        report.reused += 1;
    }
    report.output = made.path;
    report.scripts.insert(0, name);
    Ok(report)
}

fn write_launcher(
    out: &OutputDirs,
    env: &Path,
    file_name: &str,
    name: &str,
    bytes: &[u8],
) -> std::io::Result<()> {
    let share = out.building.join("share/lock2build-script");
    std::fs::create_dir_all(&share)?;
    std::fs::write(share.join(file_name), bytes)?;
    let installed = out
        .final_path
        .join("share/lock2build-script")
        .join(file_name);
    let python = env.join("bin/python");
    let bin = out.building.join("bin");
    std::fs::create_dir_all(&bin)?;
    let launchers = [
        (
            name.to_owned(),
            format!(
                "#!/bin/sh\nexec {} {} \"$@\"\n",
                shell_quote(&python.display().to_string()),
                shell_quote(&installed.display().to_string())
            ),
        ),
        (
            "python".to_owned(),
            format!(
                "#!/bin/sh\nexec {} \"$@\"\n",
                shell_quote(&python.display().to_string())
            ),
        ),
    ];
    for (launcher, text) in &launchers {
        let path = bin.join(launcher);
        std::fs::write(&path, text)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    }
    // The environment's own programs (`--script NAME`) stay offered.
    for entry in std::fs::read_dir(env.join("bin"))? {
        let entry = entry?.file_name();
        let taken = launchers.iter().any(|(n, _)| n.as_str() == entry);
        if !taken && !entry.to_string_lossy().starts_with("python") {
            std::os::unix::fs::symlink(env.join("bin").join(&entry), bin.join(&entry))?;
        }
    }
    Ok(())
}

/// The dependencies a PEP 723 `# /// script` block names that the lock's
/// requirements do not: the lock is stale.
pub(super) fn check_lock_is_current(script: &Path, locked: &[String]) -> Result<()> {
    let text =
        std::fs::read_to_string(script).with_context(|| format!("reading {}", script.display()))?;
    let Some(block) = metadata_block(&text) else {
        return Ok(());
    };
    let parsed: toml::Table = toml::from_str(&block).map_err(|e| {
        anyhow!(
            "{}: its `# /// script` block is not TOML: {}",
            script.display(),
            e.message()
        )
    })?;
    let wanted: Vec<String> = parsed
        .get("dependencies")
        .and_then(|d| d.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str())
                .map(requirement_name)
                .collect()
        })
        .unwrap_or_default();
    let missing: Vec<&String> = wanted.iter().filter(|w| !locked.contains(w)).collect();
    if !missing.is_empty() {
        bail!(
            "{}: the script needs {}, which its lock does not have\n  help: re-lock it: `uv lock --script {}`",
            script.display(),
            missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", "),
            script.display()
        );
    }
    Ok(())
}

/// The TOML of the `# /// script` … `# ///` block (PEP 723), comment
/// markers removed.
fn metadata_block(text: &str) -> Option<String> {
    let mut lines = text.lines().skip_while(|l| l.trim_end() != "# /// script");
    lines.next()?;
    let mut toml = String::new();
    for line in lines {
        if line.trim_end() == "# ///" {
            return Some(toml);
        }
        let content = line.strip_prefix("# ").or_else(|| line.strip_prefix('#'))?;
        toml.push_str(content);
        toml.push('\n');
    }
    None
}

/// `Foo_Bar[x]>=1 ; marker` → `foo-bar`.
fn requirement_name(requirement: &str) -> String {
    let end = requirement
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
        .unwrap_or(requirement.len());
    lock2build_model::normalize_python_name(&requirement[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_pep_723_block() {
        let text = "#!/usr/bin/env python\n# /// script\n# requires-python = \">=3.9\"\n# dependencies = [\n#   \"Idna==3.10\",\n# ]\n# ///\nprint(1)\n";
        let block = metadata_block(text).unwrap();
        let table: toml::Table = toml::from_str(&block).unwrap();
        assert_eq!(table["dependencies"][0].as_str(), Some("Idna==3.10"));
        assert_eq!(requirement_name("Idna==3.10"), "idna");
        assert_eq!(
            requirement_name("zope.interface[x] ; os_name=='nt'"),
            "zope-interface"
        );
        assert_eq!(metadata_block("# /// script\n# x = 1\n"), None);
        assert_eq!(metadata_block("print(1)\n"), None);
    }
}
