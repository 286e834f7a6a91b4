//! Credentials for registries and mirrors, and keeping them out of
//! messages.
//!
//! Sources, first match wins:
//! 1. user and password in the URL itself (`https://user:pass@host/…`);
//! 2. `LOCK2BUILD_AUTH_<HOST>`, where `<HOST>` is the host name upper-cased
//!    with every character other than A–Z and 0–9 replaced by `_`
//!    (`LOCK2BUILD_AUTH_PYPI_EXAMPLE_COM`): `user:password` for Basic
//!    authentication, anything else is sent as a Bearer token;
//! 3. the netrc file (`$NETRC`, else `~/.netrc`): `machine`, `login`,
//!    `password` and `default` tokens; `macdef` bodies are skipped.
//!
//! Credentials are only sent to the host they are for; `Debug` never shows
//! them, and URLs in messages go through [`redact_url`].

use reqwest::Url;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// How to authenticate to one host.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// HTTP Basic.
    Basic {
        /// User name.
        user: String,
        /// Password.
        password: String,
    },
    /// `Authorization: Bearer <token>`.
    Bearer(String),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Basic { .. } => f.write_str("Basic(<redacted>)"),
            Auth::Bearer(_) => f.write_str("Bearer(<redacted>)"),
        }
    }
}

/// Credentials by host.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// From `LOCK2BUILD_AUTH_<HOST>`, keyed by the `<HOST>` part.
    env: BTreeMap<String, Auth>,
    /// From netrc, keyed by machine name.
    netrc: BTreeMap<String, Auth>,
    /// The netrc `default` entry.
    netrc_default: Option<Auth>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("env_hosts", &self.env.keys().collect::<Vec<_>>())
            .field("netrc_hosts", &self.netrc.keys().collect::<Vec<_>>())
            .field("netrc_default", &self.netrc_default.is_some())
            .finish()
    }
}

impl Credentials {
    /// Reads the process environment and the netrc file (a missing netrc
    /// is fine; an unreadable one is treated as missing).
    pub fn load() -> Credentials {
        let netrc_path = std::env::var_os("NETRC")
            .map(std::path::PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".netrc")));
        let netrc = netrc_path
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default();
        Credentials::from_parts(std::env::vars(), &netrc)
    }

    /// Builds credentials from environment variables and netrc text.
    pub fn from_parts(env: impl IntoIterator<Item = (String, String)>, netrc: &str) -> Credentials {
        let mut creds = Credentials::default();
        for (name, value) in env {
            if let Some(host) = name.strip_prefix("LOCK2BUILD_AUTH_") {
                if !host.is_empty() && !value.is_empty() {
                    creds.env.insert(host.to_owned(), parse_env_value(&value));
                }
            }
        }
        let (machines, default) = parse_netrc(netrc);
        creds.netrc = machines;
        creds.netrc_default = default;
        creds
    }

    /// `request` (to `url`) with the credentials for `url`, if any.
    pub fn authorize(
        &self,
        request: reqwest::blocking::RequestBuilder,
        url: &str,
    ) -> reqwest::blocking::RequestBuilder {
        match Url::parse(url).ok().and_then(|u| self.for_url(&u)) {
            Some(Auth::Basic { user, password }) => request.basic_auth(user, Some(password)),
            Some(Auth::Bearer(token)) => request.bearer_auth(token),
            None => request,
        }
    }

    /// The credentials to send with a request to `url`.
    pub fn for_url(&self, url: &Url) -> Option<Auth> {
        if !url.username().is_empty() {
            return Some(Auth::Basic {
                user: percent_decode(url.username()),
                password: percent_decode(url.password().unwrap_or_default()),
            });
        }
        let host = url.host_str()?;
        self.env
            .get(&env_key(host))
            .or_else(|| self.netrc.get(host))
            .or(self.netrc_default.as_ref())
            .cloned()
    }
}

/// `pypi.example.com` -> `PYPI_EXAMPLE_COM`.
fn env_key(host: &str) -> String {
    host.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

fn parse_env_value(value: &str) -> Auth {
    match value.split_once(':') {
        Some((user, password)) => Auth::Basic {
            user: user.to_owned(),
            password: password.to_owned(),
        },
        None => Auth::Bearer(value.to_owned()),
    }
}

/// Parses netrc: whitespace-separated tokens; `macdef NAME` skips to the
/// next empty line. Entries without a password are ignored.
fn parse_netrc(text: &str) -> (BTreeMap<String, Auth>, Option<Auth>) {
    let mut machines = BTreeMap::new();
    let mut default = None;
    // (machine name or None for `default`, login, password)
    let mut current: Option<(Option<String>, Option<String>, Option<String>)> = None;
    let mut finish = |entry: Option<(Option<String>, Option<String>, Option<String>)>,
                      machines: &mut BTreeMap<String, Auth>| {
        if let Some((machine, login, Some(password))) = entry {
            let auth = Auth::Basic {
                user: login.unwrap_or_default(),
                password,
            };
            match machine {
                Some(m) => {
                    machines.entry(m).or_insert(auth);
                }
                None => default = default.take().or(Some(auth)),
            }
        }
    };
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let mut tokens = line.split_whitespace();
        while let Some(token) = tokens.next() {
            match token {
                "machine" => {
                    finish(current.take(), &mut machines);
                    current = tokens.next().map(|m| (Some(m.to_owned()), None, None));
                }
                "default" => {
                    finish(current.take(), &mut machines);
                    current = Some((None, None, None));
                }
                "login" => {
                    if let (Some(entry), Some(v)) = (current.as_mut(), tokens.next()) {
                        entry.1 = Some(v.to_owned());
                    }
                }
                "password" => {
                    if let (Some(entry), Some(v)) = (current.as_mut(), tokens.next()) {
                        entry.2 = Some(v.to_owned());
                    }
                }
                "account" => {
                    tokens.next();
                }
                "macdef" => {
                    finish(current.take(), &mut machines);
                    for body in lines.by_ref() {
                        if body.trim().is_empty() {
                            break;
                        }
                    }
                    break;
                }
                _ => {}
            }
        }
    }
    finish(current.take(), &mut machines);
    (machines, default)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            if let Some(v) = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The URL without user name and password, for messages. Unparseable URLs
/// lose everything between `://` and the last `@` before the path.
pub fn redact_url(url: &str) -> String {
    if let Ok(mut parsed) = Url::parse(url) {
        if !parsed.username().is_empty() || parsed.password().is_some() {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
        }
        return parsed.to_string();
    }
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}{path}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netrc_env_and_url_credentials() {
        let netrc = "machine files.example.com login alice password s3cret\n\
                     macdef init\ncd /x\n\n\
                     machine other.example.com\n  login bob\n  password hunter2\n\
                     default login anon password anonpw\n";
        let creds = Credentials::from_parts(
            [
                (
                    "LOCK2BUILD_AUTH_PRIVATE_EXAMPLE_COM".to_owned(),
                    "tok-123".to_owned(),
                ),
                ("PATH".into(), "/bin".into()),
            ],
            netrc,
        );
        let url = |u: &str| Url::parse(u).unwrap();
        assert_eq!(
            creds.for_url(&url("https://files.example.com/a.whl")),
            Some(Auth::Basic {
                user: "alice".into(),
                password: "s3cret".into()
            })
        );
        assert_eq!(
            creds.for_url(&url("https://other.example.com/a.whl")),
            Some(Auth::Basic {
                user: "bob".into(),
                password: "hunter2".into()
            })
        );
        assert_eq!(
            creds.for_url(&url("https://private.example.com/x")),
            Some(Auth::Bearer("tok-123".into()))
        );
        assert_eq!(
            creds.for_url(&url("https://elsewhere.org/x")),
            Some(Auth::Basic {
                user: "anon".into(),
                password: "anonpw".into()
            })
        );
        assert_eq!(
            creds.for_url(&url("https://u%40x:p%3Aw@files.example.com/x")),
            Some(Auth::Basic {
                user: "u@x".into(),
                password: "p:w".into()
            })
        );
        let shown = format!(
            "{creds:?} {:?}",
            creds.for_url(&url("https://files.example.com/"))
        );
        assert!(
            !shown.contains("s3cret") && !shown.contains("tok-123") && !shown.contains("hunter2"),
            "{shown}"
        );
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact_url("https://user:pw@mirror.example/simple/x"),
            "https://mirror.example/simple/x"
        );
        assert_eq!(
            redact_url("https://mirror.example/x"),
            "https://mirror.example/x"
        );
        assert_eq!(
            redact_url("weird://user:pw@host with space/p"),
            "weird://host with space/p"
        );
    }
}
