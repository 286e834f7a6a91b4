//! Scripts: `#!python` shebang rewriting, `entry_points.txt` and the
//! launchers generated for console and GUI scripts.
//!
//! `entry_points.txt` grammar accepted (an INI file as `importlib.metadata`
//! reads it):
//!
//! ```text
//! file     = { line }
//! line     = blank | comment | "[" section "]" | name "=" value
//! comment  = ( "#" | ";" ) any
//! value    = module [ ":" attr { "." attr } ] [ "[" extras "]" ]
//! ```
//!
//! Only `[console_scripts]` and `[gui_scripts]` make launchers. Script
//! names must be plain file names and module/attribute names dotted
//! identifiers: they end up in file names and in generated code.

use std::path::Path;

/// One console or GUI script of a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryPoint {
    /// The script's name (`flask`).
    pub name: String,
    /// The module (`flask.cli`).
    pub module: String,
    /// The attribute path in the module (`main`, `App.run`); empty when
    /// the entry point names only a module (then it is run as `__main__`-less
    /// import, which is what `module` alone means).
    pub attr: String,
}

/// The `[console_scripts]` and `[gui_scripts]` of an `entry_points.txt`.
pub fn parse_entry_points(text: &str) -> Result<Vec<EntryPoint>, String> {
    let mut section = String::new();
    let mut scripts = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            section = rest
                .strip_suffix(']')
                .ok_or_else(|| format!("entry_points.txt line {line_no}: unclosed section"))?
                .trim()
                .to_owned();
            continue;
        }
        if section != "console_scripts" && section != "gui_scripts" {
            continue;
        }
        let (name, value) = line.split_once('=').ok_or_else(|| {
            format!("entry_points.txt line {line_no}: expected `name = module:attr`")
        })?;
        let name = name.trim();
        if !is_script_name(name) {
            return Err(format!(
                "entry_points.txt line {line_no}: `{name}` is not a usable script name"
            ));
        }
        let value = value.split('[').next().unwrap_or_default().trim();
        let (module, attr) = value.split_once(':').unwrap_or((value, ""));
        let (module, attr) = (module.trim(), attr.trim());
        if !is_dotted_identifier(module) || !(attr.is_empty() || is_dotted_identifier(attr)) {
            return Err(format!(
                "entry_points.txt line {line_no}: `{value}` is not `module:attribute`"
            ));
        }
        if scripts.iter().any(|e: &EntryPoint| e.name == name) {
            return Err(format!(
                "entry_points.txt line {line_no}: script `{name}` is defined twice"
            ));
        }
        scripts.push(EntryPoint {
            name: name.to_owned(),
            module: module.to_owned(),
            attr: attr.to_owned(),
        });
    }
    Ok(scripts)
}

/// A file name a script may have in `bin/`.
pub fn is_script_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'))
}

fn is_dotted_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
                && chars.all(|c| c.is_alphanumeric() || c == '_')
        })
}

/// The first line(s) making a Python script run with `interpreter`:
/// `#!<interpreter>`, or, when the path has spaces or is too long for the
/// kernel's shebang limit, a `/bin/sh` preamble that Python reads as a
/// string (the trick pip and distlib use).
pub fn python_shebang(interpreter: &Path) -> String {
    let path = interpreter.display().to_string();
    if path.len() <= 120 && !path.contains([' ', '\t', '\n']) {
        format!("#!{path}\n")
    } else {
        let quoted = path.replace('\'', "'\\''");
        format!("#!/bin/sh\n'''exec' '{quoted}' \"$0\" \"$@\"\n' '''\n")
    }
}

/// The launcher of a console or GUI script.
pub fn launcher(entry: &EntryPoint, interpreter: &Path) -> String {
    let (import, call) = match entry.attr.split_once('.') {
        _ if entry.attr.is_empty() => (format!("import {}", entry.module), String::new()),
        Some((head, _)) => (
            format!("from {} import {head}", entry.module),
            format!("sys.exit({}())", entry.attr),
        ),
        None => (
            format!("from {} import {}", entry.module, entry.attr),
            format!("sys.exit({}())", entry.attr),
        ),
    };
    let mut text = python_shebang(interpreter);
    text.push_str("# -*- coding: utf-8 -*-\n# Generated by lock2build.\nimport re\nimport sys\n");
    text.push_str(&import);
    text.push_str("\nif __name__ == \"__main__\":\n");
    text.push_str("    sys.argv[0] = re.sub(r\"(-script\\.pyw|\\.exe)?$\", \"\", sys.argv[0])\n");
    if call.is_empty() {
        text.push_str("    pass\n");
    } else {
        text.push_str(&format!("    {call}\n"));
    }
    text
}

/// Rewrites a `#!python` (or `#!pythonw`) first line to run `interpreter`,
/// keeping the arguments after it. Other files are returned unchanged
/// (`None`).
pub fn rewrite_python_shebang(content: &[u8], interpreter: &Path) -> Option<Vec<u8>> {
    let rest = content.strip_prefix(b"#!python")?;
    let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    let (first, body) = rest.split_at(end);
    let first = first.strip_suffix(b"\r").unwrap_or(first);
    // `#!pythonw`, `#!python3.11`: the word is the interpreter; what follows
    // the first blank is its arguments.
    let args = match first.iter().position(|b| b.is_ascii_whitespace()) {
        Some(at) => first.get(at..).unwrap_or_default(),
        None => b"",
    };
    let body = body.strip_prefix(b"\n").unwrap_or(body);
    let mut out = Vec::with_capacity(content.len() + 64);
    if args.iter().all(u8::is_ascii_whitespace) {
        out.extend_from_slice(python_shebang(interpreter).as_bytes());
    } else {
        let header = python_shebang(interpreter);
        if header.starts_with("#!/bin/sh") {
            // Arguments cannot pass through the sh preamble; keep the
            // script working without them.
            out.extend_from_slice(header.as_bytes());
        } else {
            out.extend_from_slice(header.trim_end().as_bytes());
            out.extend_from_slice(args);
            out.push(b'\n');
        }
    }
    out.extend_from_slice(body);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_console_and_gui_scripts_only() {
        let text = "[console_scripts]\nhello = demo.cli:main [extra]\n; note\nnested=demo.cli:App.run\n\n[gui_scripts]\nhello-gui = demo.gui\n[other]\nx = y:z\n";
        let eps = parse_entry_points(text).unwrap();
        let names: Vec<_> = eps.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["hello", "nested", "hello-gui"]);
        assert_eq!(eps[1].attr, "App.run");
        assert_eq!(eps[2].attr, "");
        let err = parse_entry_points("[console_scripts]\n../x = a:b\n").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        assert!(parse_entry_points("[console_scripts]\nx = a:b; import os\n").is_err());
        assert!(parse_entry_points("[console_scripts]\nx = a:b\nx = c:d\n").is_err());
    }

    #[test]
    fn launchers_call_the_attribute() {
        let entry = EntryPoint {
            name: "n".into(),
            module: "pkg.cli".into(),
            attr: "App.run".into(),
        };
        let text = launcher(&entry, Path::new("/usr/bin/python3"));
        assert!(text.starts_with("#!/usr/bin/python3\n"));
        assert!(text.contains("from pkg.cli import App\n"));
        assert!(text.contains("sys.exit(App.run())"));
    }

    #[test]
    fn long_interpreter_paths_use_the_sh_preamble() {
        let long = format!("/{}/bin/python", "x".repeat(150));
        assert!(python_shebang(Path::new(&long)).starts_with("#!/bin/sh\n'''exec' '/xxx"));
        assert!(python_shebang(Path::new("/a b/python")).starts_with("#!/bin/sh\n"));
    }

    #[test]
    fn rewrites_only_python_shebangs() {
        let py = Path::new("/opt/py/bin/python3.11");
        assert_eq!(
            rewrite_python_shebang(b"#!python\r\nprint(1)\n", py).unwrap(),
            b"#!/opt/py/bin/python3.11\nprint(1)\n"
        );
        assert_eq!(
            rewrite_python_shebang(b"#!pythonw -u\nx", py).unwrap(),
            b"#!/opt/py/bin/python3.11 -u\nx"
        );
        assert!(rewrite_python_shebang(b"#!/bin/sh\necho\n", py).is_none());
    }
}
