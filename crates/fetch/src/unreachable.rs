//! Hosts that cannot be reached at all, told apart and remembered.
//!
//! A host name that does not resolve, a port that refuses connections, a
//! proxy that does, no network: none of these gets better by retrying the
//! same host a few seconds later, and each says something different to do.
//! [`Reachability::check`] classifies a failed request from the HTTP
//! client's error chain (the `std::io::Error` kind of the connection:
//! `ConnectionRefused`, `NetworkUnreachable`, `HostUnreachable`) and, for a
//! connection that failed otherwise, asks the resolver itself for the host
//! it was connecting to (`getaddrinfo` through `ToSocketAddrs`): a name
//! that does not resolve is a DNS failure, with the resolver's own words,
//! unless the machine has no route to any network at all (a UDP socket
//! cannot even be pointed at a documentation address): then no network.
//! Timeouts, resets, 5xx are not classified: they keep their retries.
//!
//! The route a request takes is the proxy when one applies to the URL (the
//! same environment rules the HTTP client follows: `HTTPS_PROXY`,
//! `HTTP_PROXY`, `ALL_PROXY`, their lower-case forms and `NO_PROXY`, read
//! by hyper-util's matcher, which reqwest uses), else the host and port.
//! Once a route is found unreachable it is remembered for the run
//! ([`Reachability::known`]): every other artifact on it fails at once,
//! without a request, and the error names the cause once for all of them.

use crate::auth::redact_url;
use hyper_util::client::proxy::matcher::Matcher;
use std::collections::BTreeMap;
use std::fmt;
use std::net::ToSocketAddrs;
use std::sync::Mutex;

/// How a request was to reach its server.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Route {
    /// Directly.
    Direct {
        /// The host name or address.
        host: String,
        /// The port.
        port: u16,
    },
    /// Through a proxy from the environment.
    Proxy {
        /// The proxy's URL (credentials removed).
        url: String,
        /// The variable that set it (`HTTPS_PROXY`, …).
        variable: String,
    },
}

/// Why the route is unusable.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// The host name does not resolve: the resolver's message.
    Dns(String),
    /// The connection was refused: nothing listens there.
    Refused,
    /// No route to the network or host: the system's message.
    NoNetwork(String),
}

/// A route that cannot be used: what the run learned, shown once.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, thiserror::Error)]
pub struct Unreachable {
    /// The route.
    pub route: Route,
    /// Why.
    pub reason: Reason,
    /// The host the request was for (through a proxy: the first one found
    /// unreachable that way).
    pub host: String,
}

impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.route, &self.reason) {
            (Route::Direct { host, .. }, Reason::Dns(detail)) => {
                write!(f, "cannot resolve the host name `{host}` ({detail})")
            }
            (Route::Direct { host, port }, Reason::Refused) => {
                write!(f, "`{host}:{port}` refused the connection")
            }
            (Route::Direct { host, port }, Reason::NoNetwork(detail)) => {
                write!(f, "no network to reach `{host}:{port}` ({detail})")
            }
            (Route::Proxy { url, variable }, Reason::Dns(detail)) => write!(
                f,
                "cannot resolve the host name of the proxy {url} (from {variable}: {detail}), asked for `{}`",
                self.host
            ),
            (Route::Proxy { url, variable }, Reason::Refused) => write!(
                f,
                "the proxy {url} (from {variable}) refused the connection, asked for `{}`",
                self.host
            ),
            (Route::Proxy { url, variable }, Reason::NoNetwork(detail)) => write!(
                f,
                "no network to reach the proxy {url} (from {variable}: {detail}), asked for `{}`",
                self.host
            ),
        }
    }
}

impl Unreachable {
    /// What to do about it, one line without the `help: ` prefix.
    pub fn help(&self) -> String {
        const MIRROR: &str = "or point a mirror at a copy that is reachable (LOCK2BUILD_MIRRORS, or [mirrors] in lock2build.toml)";
        match (&self.route, &self.reason) {
            (Route::Proxy { variable, .. }, _) => format!(
                "check {variable} (or unset it if this network needs no proxy; NO_PROXY lists hosts reached directly)"
            ),
            (Route::Direct { .. }, Reason::Dns(_)) => {
                format!("check the host name and this machine's DNS, {MIRROR}")
            }
            (Route::Direct { host, port }, Reason::Refused) => {
                format!("is the server at {host}:{port} running? {MIRROR}")
            }
            (Route::Direct { .. }, Reason::NoNetwork(_)) => {
                "connect this machine to the network".to_owned()
            }
        }
    }
}

/// What a run knows about routes, shared by its downloads (or lookups).
pub struct Reachability {
    proxies: Matcher,
    known: Mutex<BTreeMap<Route, Unreachable>>,
}

impl Default for Reachability {
    fn default() -> Self {
        Reachability::new()
    }
}

impl fmt::Debug for Reachability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reachability").finish_non_exhaustive()
    }
}

impl Reachability {
    /// Reads the proxy environment (as the HTTP client does); nothing is
    /// known to be unreachable yet.
    pub fn new() -> Reachability {
        Reachability {
            proxies: Matcher::from_env(),
            known: Mutex::new(BTreeMap::new()),
        }
    }

    /// The route a request to `url` takes; `None` for a URL without host.
    pub fn route(&self, url: &str) -> Option<Route> {
        let parsed = reqwest::Url::parse(url).ok()?;
        let host = parsed.host_str()?.to_owned();
        let port = parsed.port_or_known_default()?;
        let uri: http::Uri = url.parse().ok()?;
        if let Some(proxy) = self.proxies.intercept(&uri) {
            let shown = redact_url(&proxy.uri().to_string());
            return Some(Route::Proxy {
                url: shown.trim_end_matches('/').to_owned(),
                variable: proxy_variable(parsed.scheme()),
            });
        }
        Some(Route::Direct { host, port })
    }

    /// Whether the route of `url` is already known to be unreachable.
    pub fn known(&self, url: &str) -> Option<Unreachable> {
        let route = self.route(url)?;
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        known.get(&route).cloned()
    }

    /// Classifies the failure of a request to `url` (see the module docs)
    /// and remembers an unreachable route; `None`: an error worth retrying.
    pub fn check(&self, error: &reqwest::Error, url: &str) -> Option<Unreachable> {
        let route = self.route(url)?;
        let reason = classify(error, &route)?;
        let host = reqwest::Url::parse(url).ok()?.host_str()?.to_owned();
        let found = Unreachable {
            route,
            reason,
            host,
        };
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        known.insert(found.route.clone(), found.clone());
        Some(found)
    }
}

/// The variable the proxy for `scheme` comes from, in the order the
/// matcher reads them.
fn proxy_variable(scheme: &str) -> String {
    let own: &[&str] = match scheme {
        "https" => &["HTTPS_PROXY", "https_proxy"],
        _ => &["HTTP_PROXY", "http_proxy"],
    };
    own.iter()
        .chain(&["ALL_PROXY", "all_proxy"])
        .find(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
        .map(|name| (*name).to_owned())
        .unwrap_or_else(|| "the proxy settings".to_owned())
}

fn classify(error: &reqwest::Error, route: &Route) -> Option<Reason> {
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            match io.kind() {
                ConnectionRefused => return Some(Reason::Refused),
                NetworkUnreachable | HostUnreachable => {
                    return Some(Reason::NoNetwork(io.to_string()))
                }
                _ => {}
            }
        }
        source = cause.source();
    }
    if !error.is_connect() || error.is_timeout() {
        return None;
    }
    // The connection failed before any of the above: ask the resolver.
    let (host, port) = match route {
        Route::Direct { host, port } => (host.clone(), *port),
        Route::Proxy { url, .. } => {
            let parsed = reqwest::Url::parse(url).ok()?;
            (
                parsed.host_str()?.to_owned(),
                parsed.port_or_known_default()?,
            )
        }
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    let detail = match (bare, port).to_socket_addrs() {
        Ok(addresses) if addresses.len() > 0 => return None,
        Ok(_) => "no address".to_owned(),
        Err(e) => e.to_string(),
    };
    // A resolver that cannot be reached looks like a name that does not
    // resolve; a machine with no route anywhere is said to have no network.
    if has_route() {
        Some(Reason::Dns(detail))
    } else {
        Some(Reason::NoNetwork(format!(
            "this machine has no route to any network; the name did not resolve either: {detail}"
        )))
    }
}

/// Whether the routing table has a way out: "connecting" a UDP socket only
/// looks the route up (no packet is sent), to documentation addresses
/// (RFC 5737, RFC 3849).
fn has_route() -> bool {
    let probe = |local: &str, remote: &str| {
        std::net::UdpSocket::bind(local).is_ok_and(|socket| socket.connect(remote).is_ok())
    };
    probe("0.0.0.0:0", "192.0.2.1:53") || probe("[::]:0", "[2001:db8::1]:53")
}
