//! Typed, layered configuration: defaults < TOML file < `CONCORD_*` environment < flags.
//!
//! The environment and flags are read by clap (a flag beats its variable); the file only fills
//! what neither set, so a file can never silently override the environment. Everything is
//! validated at start with messages an operator can act on.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The default database: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://concord.db";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_REQUEST_TIMEOUT_SECS: u64 = 30;
pub const DEFAULT_POOL_TIMEOUT_MS: u64 = 2000;

/// What a TOML config file may hold. Unknown keys are refused (a typo must not be ignored).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub bind: Option<String>,
    pub database_url: Option<String>,
    pub max_connections: Option<u32>,
    pub log_format: Option<String>,
    pub request_timeout_secs: Option<u64>,
    pub pool_timeout_ms: Option<u64>,
}

/// Values from the environment and flags (already merged by clap).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub bind: Option<String>,
    pub database_url: Option<String>,
    pub max_connections: Option<u32>,
    pub log_format: Option<String>,
    pub request_timeout_secs: Option<u64>,
    pub pool_timeout_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub database_url: String,
    pub max_connections: u32,
    pub log_format: LogFormat,
    /// How long a request may take before it is answered 503.
    pub request_timeout: Duration,
    /// How long a query waits for a free database connection before it is refused (503).
    pub pool_timeout: Duration,
}

impl Config {
    /// Loads the file (if any) and layers the overrides on top, then validates.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, String> {
        let file_cfg = match file {
            Some(path) => read_file(path)?,
            None => {
                let default = PathBuf::from("concord.toml");
                if default.exists() {
                    read_file(&default)?
                } else {
                    FileConfig::default()
                }
            }
        };
        Self::layer(file_cfg, overrides)
    }

    /// Layers overrides over a file config and validates (separate for tests).
    pub fn layer(file: FileConfig, o: &Overrides) -> Result<Config, String> {
        let bind = o
            .bind
            .clone()
            .or(file.bind)
            .unwrap_or_else(|| DEFAULT_BIND.to_string());
        let bind: SocketAddr = bind.parse().map_err(|_| {
            format!("bind: `{bind}` is not an address and port such as 127.0.0.1:8080 (flag --bind, env CONCORD_BIND)")
        })?;
        let database_url = o
            .database_url
            .clone()
            .or(file.database_url)
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());
        concord_storage::Backend::from_url(&database_url).map_err(|e| {
            format!("database_url: {e} (flag --database-url, env CONCORD_DATABASE_URL)")
        })?;
        let max_connections = o.max_connections.or(file.max_connections).unwrap_or(8);
        if !(1..=200).contains(&max_connections) {
            return Err(format!(
                "max_connections: {max_connections} is out of range; use 1 to 200 (env CONCORD_MAX_CONNECTIONS)"
            ));
        }
        let log_format = match o
            .log_format
            .clone()
            .or(file.log_format)
            .as_deref()
            .unwrap_or("text")
        {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(format!(
                    "log_format: `{other}` is not text or json (env CONCORD_LOG_FORMAT)"
                ))
            }
        };
        let request_timeout_secs = o
            .request_timeout_secs
            .or(file.request_timeout_secs)
            .unwrap_or(DEFAULT_REQUEST_TIMEOUT_SECS);
        if !(1..=3600).contains(&request_timeout_secs) {
            return Err(format!(
                "request_timeout_secs: {request_timeout_secs} is out of range; use 1 to 3600 seconds (flag --request-timeout-secs, env CONCORD_REQUEST_TIMEOUT_SECS)"
            ));
        }
        let pool_timeout_ms = o
            .pool_timeout_ms
            .or(file.pool_timeout_ms)
            .unwrap_or(DEFAULT_POOL_TIMEOUT_MS);
        if !(10..=60_000).contains(&pool_timeout_ms) {
            return Err(format!(
                "pool_timeout_ms: {pool_timeout_ms} is out of range; use 10 to 60000 milliseconds (flag --pool-timeout-ms, env CONCORD_POOL_TIMEOUT_MS)"
            ));
        }
        Ok(Config {
            bind,
            database_url,
            max_connections,
            log_format,
            request_timeout: Duration::from_secs(request_timeout_secs),
            pool_timeout: Duration::from_millis(pool_timeout_ms),
        })
    }

    /// How the store connects: the pool size and how long a query waits for a connection.
    pub fn connect_options(&self) -> concord_storage::ConnectOptions {
        concord_storage::ConnectOptions {
            max_connections: self.max_connections,
            acquire_timeout: self.pool_timeout,
            ..concord_storage::ConnectOptions::default()
        }
    }
}

fn read_file(path: &Path) -> Result<FileConfig, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("config file {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("config file {}: {e}", path.display()))
}

/// The URL with any password replaced, for logs and messages.
pub fn redact(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        if let Some((cred, host)) = rest.split_once('@') {
            if let Some((user, _)) = cred.split_once(':') {
                return format!("{scheme}://{user}:***@{host}");
            }
        }
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c = Config::layer(FileConfig::default(), &Overrides::default()).unwrap();
        assert_eq!(c.bind.to_string(), DEFAULT_BIND);
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
    }

    #[test]
    fn overrides_beat_the_file() {
        let file: FileConfig =
            toml::from_str("bind = \"0.0.0.0:9000\"\ndatabase_url = \"sqlite://file.db\"").unwrap();
        let o = Overrides {
            database_url: Some("postgres://u:secret@h/db".into()),
            ..Overrides::default()
        };
        let c = Config::layer(file, &o).unwrap();
        assert_eq!(c.bind.to_string(), "0.0.0.0:9000");
        assert_eq!(c.database_url, "postgres://u:secret@h/db");
    }

    #[test]
    fn bad_values_name_the_setting() {
        let o = Overrides {
            bind: Some("localhost".into()),
            ..Overrides::default()
        };
        assert!(Config::layer(FileConfig::default(), &o)
            .unwrap_err()
            .starts_with("bind:"));
        let o = Overrides {
            database_url: Some("mysql://x".into()),
            ..Overrides::default()
        };
        assert!(Config::layer(FileConfig::default(), &o)
            .unwrap_err()
            .starts_with("database_url:"));
        assert!(toml::from_str::<FileConfig>("bnd = \"x\"").is_err());
    }

    #[test]
    fn timeouts_default_layer_and_are_checked() {
        let c = Config::layer(FileConfig::default(), &Overrides::default()).unwrap();
        assert_eq!(c.request_timeout, Duration::from_secs(30));
        assert_eq!(c.pool_timeout, Duration::from_millis(2000));
        assert_eq!(c.connect_options().acquire_timeout, c.pool_timeout);
        let file: FileConfig =
            toml::from_str("request_timeout_secs = 5\npool_timeout_ms = 250").unwrap();
        let o = Overrides {
            pool_timeout_ms: Some(500),
            ..Overrides::default()
        };
        let c = Config::layer(file, &o).unwrap();
        assert_eq!(c.request_timeout, Duration::from_secs(5));
        assert_eq!(c.pool_timeout, Duration::from_millis(500));
        for (o, setting) in [
            (
                Overrides {
                    request_timeout_secs: Some(0),
                    ..Overrides::default()
                },
                "request_timeout_secs:",
            ),
            (
                Overrides {
                    pool_timeout_ms: Some(5),
                    ..Overrides::default()
                },
                "pool_timeout_ms:",
            ),
        ] {
            let err = Config::layer(FileConfig::default(), &o).unwrap_err();
            assert!(err.starts_with(setting), "{err}");
        }
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("sqlite://concord.db"), "sqlite://concord.db");
    }
}
