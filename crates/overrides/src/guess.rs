//! From symptoms back to ids: the log of a failed build, or the sonames a
//! prebuilt binary needs.
//!
//! Lines of a build log that say something is missing are recognised by
//! their wording (gcc/clang, pkg-config and pkgconf, the `pkg-config` crate,
//! meson, CMake, GNU ld/lld/ld64, node-gyp, distutils, cargo build scripts).
//! In such a line:
//!
//! - `foo/bar.h` is looked up in the providers' `headers`;
//! - `name.pc` and bare words are looked up as pkg-config modules;
//! - `-lname` is looked up as `libname.so` in `libraries`;
//! - bare words are looked up as programs (`binaries`: tools and config
//!   scripts such as `pg_config`);
//! - after CMake's `Could NOT find X`, `x` is also tried as an id.

use crate::providers::Providers;

/// Wording that marks a line as being about something missing.
const MISSING: [&str; 14] = [
    "not found",
    "No such file",
    "not installed",
    "Could not find",
    "could not find",
    "Could NOT find",
    "cannot find",
    "unable to find",
    "unable to execute",
    "No package",
    "found: NO",
    "Unknown compiler",
    "library not found",
    "gyp ERR! find Python",
];

/// Ids whose absence `log` reports, in order of first mention.
pub fn guess_from_log(providers: &Providers, log: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut add = |id: &str| {
        if !ids.iter().any(|known: &String| known == id) {
            ids.push(id.to_owned());
        }
    };
    for line in log.lines() {
        if !MISSING.iter().any(|m| line.contains(m)) {
            continue;
        }
        if line.contains("gyp ERR! find Python") && providers.get("python3").is_some() {
            add("python3");
        }
        // meson adds "(tried pkgconfig and cmake)": only the name before counts.
        let line = line.split("found: NO").next().unwrap_or(line);
        // pkg-config ran: its name in this line is not a missing program.
        let line = line
            .replace("pkg-config search path", "")
            .replace("PKG_CONFIG_PATH", "");
        let cmake_subject = line
            .split("Could NOT find ")
            .nth(1)
            .and_then(|rest| tokens(rest).next());
        if let Some(subject) = cmake_subject {
            let lower = subject.to_ascii_lowercase();
            if lower == "pkgconfig" && providers.get("pkg-config").is_some() {
                add("pkg-config");
            } else if let Some(id) = by_id_or_module(providers, &lower) {
                add(&id);
            }
        }
        for token in tokens(&line) {
            if let Some(id) = by_token(providers, token) {
                add(&id);
            }
        }
    }
    ids
}

/// Ids providing `sonames` (as in ELF `NEEDED`: `libjpeg.so.62`); sonames
/// no provider lists (libc, libstdc++, …) are skipped.
pub fn guess_from_needed(providers: &Providers, sonames: &[String]) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for soname in sonames {
        let Some(at) = soname.find(".so") else {
            continue;
        };
        let linker_name = &soname[..at + 3];
        if let Some(p) = providers
            .iter()
            .find(|p| p.libraries.iter().any(|l| l == linker_name))
        {
            if !ids.contains(&p.id) {
                ids.push(p.id.clone());
            }
        }
    }
    ids
}

fn tokens(line: &str) -> impl Iterator<Item = &str> {
    line.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '/' | '-')))
        .map(|t| t.trim_end_matches(['.', ':']))
        .filter(|t| !t.is_empty())
}

fn by_token(providers: &Providers, token: &str) -> Option<String> {
    if token.ends_with(".h") || token.ends_with(".hpp") {
        return by_header(providers, token);
    }
    if let Some(module) = token.strip_suffix(".pc") {
        return by_module(providers, module);
    }
    if let Some(name) = token.strip_prefix("-l") {
        let linker_name = format!("lib{name}.so");
        return providers
            .iter()
            .find(|p| p.libraries.contains(&linker_name))
            .map(|p| p.id.clone());
    }
    if token.contains('/') {
        // A path: its last component may be a program (`/usr/bin/cmake`).
        let last = token.rsplit('/').next().unwrap_or(token);
        return by_binary(providers, last).filter(|_| !token.starts_with("/usr/bin/ld"));
    }
    by_binary(providers, token).or_else(|| by_module(providers, token))
}

fn by_header(providers: &Providers, header: &str) -> Option<String> {
    let exact = providers
        .iter()
        .find(|p| p.headers.iter().any(|h| h == header));
    let suffix = || {
        providers.iter().find(|p| {
            p.headers
                .iter()
                .any(|h| header.ends_with(&format!("/{h}")) || h.ends_with(&format!("/{header}")))
        })
    };
    exact.or_else(suffix).map(|p| p.id.clone())
}

fn by_module(providers: &Providers, module: &str) -> Option<String> {
    providers
        .iter()
        .find(|p| p.pkg_config.iter().any(|m| m == module))
        .map(|p| p.id.clone())
}

fn by_binary(providers: &Providers, binary: &str) -> Option<String> {
    providers
        .iter()
        .find(|p| p.binaries.iter().any(|b| b == binary))
        .map(|p| p.id.clone())
}

fn by_id_or_module(providers: &Providers, word: &str) -> Option<String> {
    providers
        .get(word)
        .map(|p| p.id.clone())
        .or_else(|| by_module(providers, word))
}
