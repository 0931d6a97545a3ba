//! Configuration: defaults, then a TOML file, then `OPSDESK_*` environment
//! variables, then flags. (Clap applies env and flags; the file fills in
//! whatever neither set.)

use anyhow::Context;
use serde::Deserialize;
use std::path::Path;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://opsdesk.db";

/// The `[server]`-less flat TOML file, e.g.
/// ```toml
/// listen = "0.0.0.0:8080"
/// database_url = "postgres://opsdesk@db/opsdesk"
/// reopen_window_hours = 168
/// ```
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub database_url: Option<String>,
    pub reopen_window_hours: Option<i64>,
    pub session_ttl_hours: Option<i64>,
    pub max_failed_logins: Option<i64>,
    pub lockout_minutes: Option<i64>,
    pub worker_interval_seconds: Option<u64>,
    /// How often SLA warnings and breaches are looked for (milliseconds).
    pub sla_interval_ms: Option<u64>,
    pub secure_cookies: Option<bool>,
    pub log_format: Option<String>,
    /// SQLite durability: "full" (default) or "normal".
    pub sqlite_synchronous: Option<String>,
}

impl FileConfig {
    pub fn load(path: Option<&Path>) -> anyhow::Result<FileConfig> {
        let Some(path) = path else {
            return Ok(FileConfig::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
    }
}

/// Where the secrets of a URL are, masked for printing.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:****{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_are_masked() {
        assert_eq!(
            redact_url("postgres://u:secret@h/db"),
            "postgres://u:****@h/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("sqlite://opsdesk.db"), "sqlite://opsdesk.db");
    }

    #[test]
    fn unknown_keys_in_the_file_are_refused() {
        assert!(toml::from_str::<FileConfig>("listen = \"127.0.0.1:1\"\nbogus = 1").is_err());
        let c: FileConfig = toml::from_str("reopen_window_hours = 24").unwrap();
        assert_eq!(c.reopen_window_hours, Some(24));
    }
}
