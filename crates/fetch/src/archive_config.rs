//! Where the Software Heritage archive is and how patient to be with it:
//! settings of the fallback in `lock2build-archive`, carried by
//! [`FetchOptions`](crate::FetchOptions) so every caller of a fetch has them.

use std::time::Duration;

/// The archive fallback's settings.
#[derive(Debug, Clone)]
pub struct ArchiveConfig {
    /// The API's base URL (`LOCK2BUILD_SWH_URL`, default
    /// `https://archive.softwareheritage.org`).
    pub url: String,
    /// `LOCK2BUILD_SWH_TOKEN`, sent as `Authorization: Bearer …`.
    pub token: Option<String>,
    /// Fall back at all (`--no-archive` turns it off).
    pub enabled: bool,
    /// Accept a recovered tree that no recorded tree hash vouches for
    /// (`--allow-unverified-archive`); reported as unverified.
    pub allow_unverified: bool,
    /// Wait at most this long for a rate limit to reset; longer is an error.
    pub max_rate_wait: Duration,
    /// First wait between vault status polls (doubles, capped at 60 s).
    pub vault_poll: Duration,
    /// Give up on a vault bundle after this long.
    pub vault_timeout: Duration,
    /// Largest cooked bundle accepted (bytes).
    pub max_bundle: u64,
    /// HTTP timeout for one answer.
    pub timeout: Duration,
}

impl Default for ArchiveConfig {
    fn default() -> Self {
        ArchiveConfig {
            url: "https://archive.softwareheritage.org".into(),
            token: None,
            enabled: true,
            allow_unverified: false,
            max_rate_wait: Duration::from_secs(120),
            vault_poll: Duration::from_secs(10),
            vault_timeout: Duration::from_secs(3600),
            max_bundle: 4 << 30,
            timeout: Duration::from_secs(60),
        }
    }
}

impl ArchiveConfig {
    /// The defaults, with `LOCK2BUILD_SWH_URL` and `LOCK2BUILD_SWH_TOKEN`
    /// from the environment.
    pub fn from_env() -> ArchiveConfig {
        let var = |name| {
            std::env::var(name)
                .ok()
                .filter(|v: &String| !v.trim().is_empty())
        };
        let mut config = ArchiveConfig::default();
        if let Some(url) = var("LOCK2BUILD_SWH_URL") {
            config.url = url.trim_end_matches('/').to_owned();
        }
        config.token = var("LOCK2BUILD_SWH_TOKEN").map(|t| t.trim().to_owned());
        config
    }
}
