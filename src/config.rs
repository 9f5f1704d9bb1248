//! The config file: its shape, its defaults, its validation, and secrets.
//!
//! Owns: reading TOML through the `config` crate with `TAXII_RELAY__SECTION__KEY` environment overrides,
//! turning every mistake into a [`ConfigError`] that names the file, the key and what was expected, and
//! resolving `*_env` / `*_file` secrets into [`SecretString`]s.
//! Must never: print a secret (Debug of a secret is redacted, `check-config` serializes only the *names*
//! of env vars and files), or open network connections.

use crate::stix::tlp::Tlp;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use url::Url;

/// The embedded default config: polls the ICS collection of MITRE ATT&CK into a local SQLite file.
pub const QUICKSTART: &str = include_str!("../config/quickstart.toml");
const QUICKSTART_NAME: &str = "<embedded config/quickstart.toml>";

/// A config mistake. Its Display is the one line a user needs: file, key, what was expected.
#[derive(Debug, thiserror::Error)]
#[error("config error in {file}: {}{expected}", key_prefix(.key))]
pub struct ConfigError {
    pub file: String,
    /// Dotted path of the offending key (`collections[0].poll_interval`); empty for whole-file errors.
    pub key: String,
    pub expected: String,
}

fn key_prefix(key: &str) -> String {
    if key.is_empty() {
        String::new()
    } else {
        format!("key `{key}`: ")
    }
}

/// The whole config file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default)]
    pub store: StoreSettings,
    #[serde(default)]
    pub log: LogSettings,
    #[serde(default)]
    pub http: HttpSettings,
    /// How long `run` waits, after SIGTERM/SIGINT, for the page in hand to be stored before exiting.
    #[serde(default = "default_shutdown_timeout", with = "humantime_serde")]
    pub shutdown_timeout: Duration,
    #[serde(default)]
    pub collections: Vec<CollectionSettings>,
    #[serde(default)]
    pub sinks: Vec<SinkSettings>,
}

#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSettings {
    /// `sqlite://FILE` (embedded default, created if missing) or `postgres://user@host/db`.
    #[serde(serialize_with = "serialize_redacted_str")]
    pub url: String,
    /// Connections in the pool.
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
}

impl std::fmt::Debug for StoreSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreSettings")
            .field("url", &redact_url_str(&self.url))
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings {
            url: "sqlite://taxii-relay.db".into(),
            max_connections: default_max_connections(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Json,
    Pretty,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    #[serde(default)]
    pub format: LogFormat,
    /// A level (`info`) or an EnvFilter directive (`info,taxii_relay::taxii=debug`).
    #[serde(default = "default_log_level")]
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            format: LogFormat::Json,
            level: default_log_level(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Where `/metrics`, `/healthz` and `/readyz` are served.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            listen: default_listen(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
pub enum TaxiiVersion {
    #[default]
    #[serde(rename = "2.1")]
    V21,
    #[serde(rename = "2.0")]
    V20,
}

impl TaxiiVersion {
    /// The `spec_version` STIX content from such a server has when it does not say.
    pub fn stix_version(self) -> &'static str {
        match self {
            TaxiiVersion::V21 => "2.1",
            TaxiiVersion::V20 => "2.0",
        }
    }
}

/// One TAXII collection to poll.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionSettings {
    /// Unique and stable: it keys the cursor.
    pub name: String,
    /// The collection's URL (`…/collections/<id>/`); the trailing `/` is added if missing.
    #[serde(serialize_with = "serialize_redacted_url")]
    pub url: Url,
    #[serde(default)]
    pub taxii_version: TaxiiVersion,
    #[serde(default = "default_poll_interval", with = "humantime_serde")]
    pub poll_interval: Duration,
    /// How far before the cursor each poll starts, to cover servers whose `date_added` order is not commit order.
    #[serde(default = "default_overlap", with = "humantime_serde")]
    pub overlap: Duration,
    /// The `limit` asked for (2.1) or the `Range` size (2.0); servers may return fewer.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Lower bound of the first poll; absent: everything the server has.
    #[serde(default)]
    pub initial_added_after: Option<DateTime<Utc>>,
    /// Marking assumed for unmarked objects.
    #[serde(default)]
    pub default_tlp: Option<Tlp>,
    /// `match[type]` filter; empty: all types.
    #[serde(default)]
    pub types: Vec<String>,
    #[serde(default)]
    pub auth: AuthSettings,
    #[serde(default)]
    pub tls: TlsSettings,
    /// TCP + TLS connect timeout.
    #[serde(default = "default_connect_timeout", with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes of a response.
    #[serde(default = "default_read_timeout", with = "humantime_serde")]
    pub read_timeout: Duration,
    /// Largest response body accepted (bytes, after decompression).
    #[serde(default = "default_max_response_bytes")]
    pub max_response_bytes: u64,
    /// Retries of one request on connection errors, timeouts, 5xx and 429 before the poll fails.
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
    /// First retry delay; doubles each time, with jitter, up to `retry_backoff_max`.
    #[serde(default = "default_retry_backoff", with = "humantime_serde")]
    pub retry_backoff: Duration,
    #[serde(default = "default_retry_backoff_max", with = "humantime_serde")]
    pub retry_backoff_max: Duration,
}

impl CollectionSettings {
    /// The collection URL with exactly one trailing `/`, as TAXII paths end.
    pub fn collection_url(&self) -> Url {
        with_trailing_slash(&self.url)
    }
}

pub fn with_trailing_slash(url: &Url) -> Url {
    let mut url = url.clone();
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AuthKind {
    #[default]
    None,
    Basic,
    Bearer,
    /// An API key in a named header.
    Header,
}

/// Credentials for a TAXII server. Secrets come only from `*_env` (an environment variable's name) or
/// `*_file` (a file's path); the resolved values live in `#[serde(skip)]` fields and never print.
#[derive(Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    #[serde(default)]
    pub kind: AuthKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
    /// The bearer token, or the header value for `kind = "header"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// Header name for `kind = "header"` (e.g. `X-API-Key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// The resolved password or token.
    #[serde(skip)]
    pub secret: Option<SecretString>,
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSettings")
            .field("kind", &self.kind)
            .field("username", &self.username)
            .field("password_env", &self.password_env)
            .field("password_file", &self.password_file)
            .field("token_env", &self.token_env)
            .field("token_file", &self.token_file)
            .field("header", &self.header)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// Extra trusted roots (PEM), added to the system's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Client certificate chain (PEM) for mTLS; needs `client_key_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cert_file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SinkKind {
    Misp,
    Opencti,
    SplunkHec,
    File,
    Taxii,
}

/// One destination. Delivery itself is built by the sink workers; here only its shape and credentials.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SinkSettings {
    pub name: String,
    pub kind: SinkKind,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_redacted_opt_url"
    )]
    pub url: Option<Url>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// Splunk HEC index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    /// File sink path (JSONL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// Highest TLP this sink may receive; TLP:RED only when said explicitly.
    #[serde(default = "default_max_tlp")]
    pub max_tlp: Tlp,
    /// STIX types delivered; absent: the default of the sink kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub types: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthSettings>,
    #[serde(default)]
    pub tls: TlsSettings,
    /// Objects per delivery request (a batch is also cut at `max_batch_bytes`).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Bytes of encoded objects per delivery request.
    #[serde(default = "default_max_batch_bytes")]
    pub max_batch_bytes: usize,
    /// Attempts before a delivery is dead (replayable with `replay --dead`). The default, with the backoff
    /// capped at `retry_backoff_max`, rides out a platform that is down for hours.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// First retry delay; doubles per attempt, with full jitter, up to `retry_backoff_max`.
    #[serde(default = "default_retry_backoff", with = "humantime_serde")]
    pub retry_backoff: Duration,
    #[serde(default = "default_retry_backoff_max", with = "humantime_serde")]
    pub retry_backoff_max: Duration,
    /// One request's time limit.
    #[serde(default = "default_sink_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Splunk HEC: `sourcetype` of every event (default `stix:<type>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sourcetype: Option<String>,
    /// Splunk HEC: compress request bodies with gzip.
    #[serde(default)]
    pub gzip: bool,
    /// Splunk HEC: indexer acknowledgement; a delivery counts only once Splunk acknowledges it.
    #[serde(default)]
    pub ack: bool,
    /// Splunk HEC: how long to wait for an acknowledgement before the batch is retried.
    #[serde(default = "default_ack_timeout", with = "humantime_serde")]
    pub ack_timeout: Duration,
    /// The resolved token.
    #[serde(skip)]
    pub token: Option<SecretString>,
}

impl std::fmt::Debug for SinkSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SinkSettings")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("url", &self.url.as_ref().map(redact_url))
            .field("token_env", &self.token_env)
            .field("token_file", &self.token_file)
            .field("index", &self.index)
            .field("path", &self.path)
            .field("max_tlp", &self.max_tlp)
            .field("types", &self.types)
            .field("auth", &self.auth)
            .field("tls", &self.tls)
            .field("batch_size", &self.batch_size)
            .field("max_batch_bytes", &self.max_batch_bytes)
            .field("max_attempts", &self.max_attempts)
            .field("retry_backoff", &self.retry_backoff)
            .field("retry_backoff_max", &self.retry_backoff_max)
            .field("timeout", &self.timeout)
            .field("sourcetype", &self.sourcetype)
            .field("gzip", &self.gzip)
            .field("ack", &self.ack)
            .field("ack_timeout", &self.ack_timeout)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

fn default_shutdown_timeout() -> Duration {
    Duration::from_secs(30)
}
fn default_max_connections() -> u32 {
    8
}
fn default_log_level() -> String {
    "info".into()
}
fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9464))
}
fn default_poll_interval() -> Duration {
    Duration::from_secs(300)
}
fn default_overlap() -> Duration {
    Duration::from_secs(300)
}
fn default_page_size() -> u32 {
    100
}
fn default_connect_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_read_timeout() -> Duration {
    Duration::from_secs(60)
}
fn default_max_response_bytes() -> u64 {
    256 * 1024 * 1024
}
fn default_max_retries() -> u32 {
    5
}
fn default_retry_backoff() -> Duration {
    Duration::from_secs(1)
}
fn default_retry_backoff_max() -> Duration {
    Duration::from_secs(300)
}
fn default_batch_size() -> usize {
    100
}
fn default_max_batch_bytes() -> usize {
    1024 * 1024
}
fn default_max_attempts() -> u32 {
    50
}
fn default_sink_timeout() -> Duration {
    Duration::from_secs(30)
}
fn default_ack_timeout() -> Duration {
    Duration::from_secs(60)
}
fn default_max_tlp() -> Tlp {
    Tlp::AmberStrict
}

/// Hides the password of a URL, in the user-info part and in query parameters such as PostgreSQL's
/// `?password=` (`postgres://relay:s3cret@db/x` → `postgres://relay:REDACTED@db/x`).
pub fn redact_url(url: &Url) -> String {
    let mut url = url.clone();
    if url.password().is_some() {
        let _ = url.set_password(Some("REDACTED"));
    }
    let secret_query = url.query_pairs().any(|(k, _)| is_secret_parameter(&k));
    if secret_query {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if is_secret_parameter(&k) {
                    "REDACTED".to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

/// Query parameters that carry secrets (`password`, `sslpassword`, `token`, `api_key`, …).
fn is_secret_parameter(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["password", "token", "secret", "key"]
        .iter()
        .any(|word| name.contains(word))
}

/// [`redact_url`] for a string that may not parse as a URL (then returned as is: it holds no password).
pub fn redact_url_str(url: &str) -> String {
    Url::parse(url)
        .map(|u| redact_url(&u))
        .unwrap_or_else(|_| url.to_owned())
}

fn serialize_redacted_str<S: Serializer>(url: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact_url_str(url))
}
fn serialize_redacted_url<S: Serializer>(url: &Url, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact_url(url))
}
fn serialize_redacted_opt_url<S: Serializer>(url: &Option<Url>, s: S) -> Result<S::Ok, S::Error> {
    match url {
        Some(url) => s.serialize_str(&redact_url(url)),
        None => s.serialize_none(),
    }
}

/// Where the config came from, for error messages and `check-config`.
#[derive(Debug, Clone)]
pub enum ConfigSource {
    File(PathBuf),
    Quickstart,
}

impl ConfigSource {
    pub fn display_name(&self) -> String {
        match self {
            ConfigSource::File(p) => p.display().to_string(),
            ConfigSource::Quickstart => QUICKSTART_NAME.into(),
        }
    }
}

/// Loads, overrides from the environment, validates and resolves secrets.
pub fn load(source: &ConfigSource) -> Result<Settings, ConfigError> {
    let env: Vec<(String, String)> = std::env::vars().collect();
    load_with_env(source, env)
}

/// [`load`] with an explicit environment, so tests need not mutate the process's.
pub fn load_with_env(
    source: &ConfigSource,
    env: Vec<(String, String)>,
) -> Result<Settings, ConfigError> {
    let file = source.display_name();
    let env_map: std::collections::HashMap<String, String> = env.iter().cloned().collect();
    let err = |key: &str, expected: String| ConfigError {
        file: file.clone(),
        key: key.to_owned(),
        expected: match env_override_name(key, &env_map) {
            Some(name) => {
                format!("{expected} (the value comes from the environment variable {name})")
            }
            None => expected,
        },
    };
    let text = match source {
        ConfigSource::File(path) => std::fs::read_to_string(path)
            .map_err(|e| err("", format!("cannot read the file: {e}")))?,
        ConfigSource::Quickstart => QUICKSTART.to_owned(),
    };
    // Parsed here first only for the error: the config crate's message quotes the offending line,
    // which may hold the password of a store URL.
    if let Err(e) = text.parse::<toml::Table>() {
        let at = e
            .span()
            .map(|span| {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                format!(" at line {line}, column {column}")
            })
            .unwrap_or_default();
        return Err(err(
            "",
            format!(
                "expected valid TOML; syntax error{at}: {}",
                e.message().trim_end()
            ),
        ));
    }
    let merged = config::Config::builder()
        .add_source(config::File::from_str(&text, config::FileFormat::Toml))
        .add_source(
            config::Environment::with_prefix("TAXII_RELAY")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .source(Some(env_map.clone())),
        )
        .build()
        .map_err(|e| err("", format!("expected valid TOML: {e}")))?;
    let mut settings: Settings = serde_path_to_error::deserialize(merged).map_err(|e| {
        let key = e.path().to_string();
        let key = if key == "." { String::new() } else { key };
        let (key, expected) = describe_serde_error(key, &e.inner().to_string());
        err(&key, expected)
    })?;
    validate(&mut settings, &|key, expected| err(key, expected))?;
    resolve_secrets(&mut settings, &env_map, &|key, expected| err(key, expected))?;
    Ok(settings)
}

/// The environment variable that set `key` (`store.url` → `TAXII_RELAY__STORE__URL`), if one did.
fn env_override_name(key: &str, env: &std::collections::HashMap<String, String>) -> Option<String> {
    if key.is_empty() || key.contains('[') {
        return None;
    }
    let wanted = format!("taxii_relay__{}", key.replace('.', "__"));
    env.keys().find(|k| k.to_lowercase() == wanted).cloned()
}

/// Turns a serde / config-crate message into "what was expected", naming the accepted values where
/// the raw message does not (`enum Tlp does not have variant constructor purple`). Returns the key too,
/// since a missing key is reported by the config crate at its parent.
fn describe_serde_error(key: String, message: &str) -> (String, String) {
    let message = match message.find(" for key `") {
        Some(i) => &message[..i],
        None => message,
    };
    if let Some(rest) = message.strip_prefix("missing configuration field ") {
        let path = rest.trim_matches('"');
        let field = path.rsplit(['.', ']']).next().unwrap_or(path);
        let key = if key.is_empty() {
            field.to_owned()
        } else {
            format!("{key}.{field}")
        };
        return (key, "expected a value: this key is required".into());
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        return (key, format!("unknown key {rest}"));
    }
    let last = key.rsplit('.').next().unwrap_or(&key);
    let accepted = match last {
        "taxii_version" => Some("\"2.1\" or \"2.0\" (quoted)"),
        "default_tlp" | "max_tlp" => Some("clear, green, amber, amber+strict or red"),
        "format" if key == "log.format" => Some("json or pretty"),
        "kind" if key.ends_with("auth.kind") => Some("basic, bearer, header or none"),
        "kind" => Some("misp, opencti, splunk_hec, file or taxii"),
        "shutdown_timeout" | "poll_interval" | "overlap" | "connect_timeout" | "read_timeout"
        | "retry_backoff" | "retry_backoff_max" => {
            Some("a duration with a unit, like \"30s\", \"5m\" or \"1h\"")
        }
        "initial_added_after" => Some("an RFC 3339 timestamp, like \"2025-01-01T00:00:00Z\""),
        "url" if key != "store.url" => Some("an http:// or https:// URL"),
        "listen" => Some("an address and port, like \"127.0.0.1:9464\""),
        _ => None,
    };
    let expected = match accepted {
        Some(accepted) => match message.split(" does not have variant constructor ").nth(1) {
            Some(got) => format!("expected {accepted}, got {got:?}"),
            // A URL that does not parse is quoted in the message: it may hold a password.
            None if message.contains("should be represented by") || message.contains('@') => {
                format!("expected {accepted}")
            }
            None => format!("expected {accepted} ({message})"),
        },
        None => format!("expected a valid value: {message}"),
    };
    (key, expected)
}

type ErrFn<'a> = &'a dyn Fn(&str, String) -> ConfigError;

/// Checks what types alone cannot. No I/O.
fn validate(s: &mut Settings, err: ErrFn) -> Result<(), ConfigError> {
    let is_postgres =
        s.store.url.starts_with("postgres://") || s.store.url.starts_with("postgresql://");
    if !(s.store.url.starts_with("sqlite:") || is_postgres) {
        // Echo the value only where its password can be found and hidden.
        let got = match Url::parse(&s.store.url) {
            Ok(url) if url.has_host() => format!(", got {:?}", redact_url(&url)),
            _ if s.store.url.contains('@') => String::new(),
            _ => format!(", got {:?}", s.store.url),
        };
        return Err(err(
            "store.url",
            format!("expected sqlite://FILE or postgres://USER@HOST/DB{got}"),
        ));
    }
    if is_postgres && Url::parse(&s.store.url).is_err() {
        return Err(err(
            "store.url",
            "expected a valid postgres://USER@HOST/DB URL (check the host, port and percent-encoding)"
                .into(),
        ));
    }
    if s.store.max_connections == 0 {
        return Err(err("store.max_connections", "expected at least 1".into()));
    }
    if let Err(e) = tracing_subscriber::EnvFilter::try_new(&s.log.level) {
        return Err(err(
            "log.level",
            format!(
                "expected a level (error, warn, info, debug, trace) or an EnvFilter directive: {e}"
            ),
        ));
    }
    let mut names = HashSet::new();
    for (i, c) in s.collections.iter().enumerate() {
        let key = |k: &str| format!("collections[{i}].{k}");
        check_name(&c.name, &key("name"), err)?;
        if !names.insert(c.name.clone()) {
            return Err(err(
                &key("name"),
                format!(
                    "expected a unique collection name; {:?} is used twice",
                    c.name
                ),
            ));
        }
        check_http_url(&c.url, &key("url"), err)?;
        if c.page_size == 0 || c.page_size > 10_000 {
            return Err(err(&key("page_size"), "expected 1 to 10000".into()));
        }
        if c.poll_interval < Duration::from_secs(1) {
            return Err(err(&key("poll_interval"), "expected at least 1s".into()));
        }
        if c.retry_backoff.is_zero() || c.retry_backoff > c.retry_backoff_max {
            return Err(err(
                &key("retry_backoff"),
                "expected a delay above zero and not above retry_backoff_max".into(),
            ));
        }
        check_auth(&c.auth, &key("auth"), err)?;
        check_tls(&c.tls, &key("tls"), err)?;
    }
    let mut names = HashSet::new();
    for (i, sink) in s.sinks.iter().enumerate() {
        let key = |k: &str| format!("sinks[{i}].{k}");
        check_name(&sink.name, &key("name"), err)?;
        if !names.insert(sink.name.clone()) {
            return Err(err(
                &key("name"),
                format!("expected a unique sink name; {:?} is used twice", sink.name),
            ));
        }
        if sink.batch_size == 0 || sink.batch_size > 10_000 {
            return Err(err(&key("batch_size"), "expected 1 to 10000".into()));
        }
        if sink.max_batch_bytes < 1024 {
            return Err(err(
                &key("max_batch_bytes"),
                "expected at least 1024".into(),
            ));
        }
        if sink.max_attempts == 0 {
            return Err(err(&key("max_attempts"), "expected at least 1".into()));
        }
        if sink.retry_backoff.is_zero() || sink.retry_backoff > sink.retry_backoff_max {
            return Err(err(
                &key("retry_backoff"),
                "expected a delay above zero and not above retry_backoff_max".into(),
            ));
        }
        match sink.kind {
            SinkKind::File => {
                if sink.path.is_none() {
                    return Err(err(
                        &key("path"),
                        "expected a file path for a file sink".into(),
                    ));
                }
            }
            _ => match &sink.url {
                None => {
                    return Err(err(
                        &key("url"),
                        "expected the platform's URL for this sink kind".into(),
                    ))
                }
                Some(url) => check_http_url(url, &key("url"), err)?,
            },
        }
        let needs_token = matches!(
            sink.kind,
            SinkKind::Misp | SinkKind::Opencti | SinkKind::SplunkHec
        );
        if sink.token_env.is_some() && sink.token_file.is_some() {
            return Err(err(
                &key("token_env"),
                "expected either token_env or token_file, not both".into(),
            ));
        }
        if needs_token && sink.token_env.is_none() && sink.token_file.is_none() {
            return Err(err(
                &key("token_env"),
                "expected token_env or token_file: this sink kind needs a credential".into(),
            ));
        }
        if let Some(auth) = &sink.auth {
            check_auth(auth, &key("auth"), err)?;
        }
        check_tls(&sink.tls, &key("tls"), err)?;
    }
    Ok(())
}

fn check_name(name: &str, key: &str, err: ErrFn) -> Result<(), ConfigError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(err(
            key,
            format!("expected a name of letters, digits, '-', '_' or '.', got {name:?}"),
        ))
    }
}

fn check_http_url(url: &Url, key: &str, err: ErrFn) -> Result<(), ConfigError> {
    if url.password().is_some() {
        return Err(err(
            key,
            format!(
                "expected a URL without a password ({}); give credentials through auth's *_env or *_file",
                redact_url(url)
            ),
        ));
    }
    if matches!(url.scheme(), "http" | "https") && url.host().is_some() {
        Ok(())
    } else {
        Err(err(
            key,
            format!(
                "expected an http:// or https:// URL, got {}",
                redact_url(url)
            ),
        ))
    }
}

fn check_auth(auth: &AuthSettings, key: &str, err: ErrFn) -> Result<(), ConfigError> {
    let both = |a: &Option<String>, b: &Option<PathBuf>, name: &str| {
        if a.is_some() && b.is_some() {
            Err(err(
                &format!("{key}.{name}_env"),
                format!("expected either {name}_env or {name}_file, not both"),
            ))
        } else {
            Ok(())
        }
    };
    both(&auth.password_env, &auth.password_file, "password")?;
    both(&auth.token_env, &auth.token_file, "token")?;
    let has_password = auth.password_env.is_some() || auth.password_file.is_some();
    let has_token = auth.token_env.is_some() || auth.token_file.is_some();
    match auth.kind {
        AuthKind::None => Ok(()),
        AuthKind::Basic if auth.username.is_none() => Err(err(
            &format!("{key}.username"),
            "expected a username for basic auth".into(),
        )),
        AuthKind::Basic if !has_password => Err(err(
            &format!("{key}.password_env"),
            "expected password_env or password_file for basic auth".into(),
        )),
        AuthKind::Bearer if !has_token => Err(err(
            &format!("{key}.token_env"),
            "expected token_env or token_file for bearer auth".into(),
        )),
        AuthKind::Header if auth.header.is_none() => Err(err(
            &format!("{key}.header"),
            "expected the header name (e.g. \"X-API-Key\") for header auth".into(),
        )),
        AuthKind::Header if !has_token => Err(err(
            &format!("{key}.token_env"),
            "expected token_env or token_file holding the header value".into(),
        )),
        AuthKind::Header => {
            let name = auth.header.as_deref().unwrap_or_default();
            reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map(|_| ())
                .map_err(|_| {
                    err(
                        &format!("{key}.header"),
                        format!("expected a valid HTTP header name, got {name:?}"),
                    )
                })
        }
        _ => Ok(()),
    }
}

fn check_tls(tls: &TlsSettings, key: &str, err: ErrFn) -> Result<(), ConfigError> {
    if tls.client_cert_file.is_some() != tls.client_key_file.is_some() {
        return Err(err(
            &format!("{key}.client_key_file"),
            "expected client_cert_file and client_key_file together".into(),
        ));
    }
    Ok(())
}

/// Reads every `*_env` / `*_file` secret. A missing one is a config error naming its key.
fn resolve_secrets(
    s: &mut Settings,
    env: &std::collections::HashMap<String, String>,
    err: ErrFn,
) -> Result<(), ConfigError> {
    for (i, c) in s.collections.iter_mut().enumerate() {
        resolve_auth(&mut c.auth, &format!("collections[{i}].auth"), env, err)?;
    }
    for (i, sink) in s.sinks.iter_mut().enumerate() {
        let key = format!("sinks[{i}]");
        sink.token = read_secret(&sink.token_env, &sink.token_file, &key, "token", env, err)?;
        if let Some(auth) = &mut sink.auth {
            resolve_auth(auth, &format!("{key}.auth"), env, err)?;
        }
    }
    Ok(())
}

fn resolve_auth(
    auth: &mut AuthSettings,
    key: &str,
    env: &std::collections::HashMap<String, String>,
    err: ErrFn,
) -> Result<(), ConfigError> {
    auth.secret = match auth.kind {
        AuthKind::None => None,
        AuthKind::Basic => read_secret(
            &auth.password_env,
            &auth.password_file,
            key,
            "password",
            env,
            err,
        )?,
        AuthKind::Bearer | AuthKind::Header => {
            read_secret(&auth.token_env, &auth.token_file, key, "token", env, err)?
        }
    };
    Ok(())
}

fn read_secret(
    env_name: &Option<String>,
    file: &Option<PathBuf>,
    key: &str,
    what: &str,
    env: &std::collections::HashMap<String, String>,
    err: ErrFn,
) -> Result<Option<SecretString>, ConfigError> {
    if let Some(name) = env_name {
        return match env.get(name) {
            Some(v) if !v.is_empty() => Ok(Some(SecretString::from(v.clone()))),
            _ => Err(err(
                &format!("{key}.{what}_env"),
                format!("expected the environment variable {name} to be set and non-empty"),
            )),
        };
    }
    if let Some(path) = file {
        return match std::fs::read_to_string(path) {
            Ok(v) if !v.trim().is_empty() => Ok(Some(SecretString::from(
                v.trim_end_matches(['\n', '\r']).to_owned(),
            ))),
            Ok(_) => Err(err(
                &format!("{key}.{what}_file"),
                format!("expected {} to hold a secret; it is empty", path.display()),
            )),
            Err(e) => Err(err(
                &format!("{key}.{what}_file"),
                format!("expected a readable file at {}: {e}", path.display()),
            )),
        };
    }
    Ok(None)
}

impl Settings {
    /// The effective config as TOML, secrets never included (only the names of their variables/files).
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render config: {e}\n"))
    }

    pub fn collection(&self, name: &str) -> Option<&CollectionSettings> {
        self.collections.iter().find(|c| c.name == name)
    }
}

/// Exposes a secret where a header is built; the one place secrets leave their wrapper.
pub fn expose(secret: &SecretString) -> &str {
    secret.expose_secret()
}

/// Resolves the `--config` / `TAXII_RELAY_CONFIG` choice: a path, else the embedded quickstart.
pub fn source_from(path: Option<&Path>) -> ConfigSource {
    match path {
        Some(p) => ConfigSource::File(p.to_path_buf()),
        None => ConfigSource::Quickstart,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quickstart_loads() {
        let s = load_with_env(&ConfigSource::Quickstart, vec![]).unwrap();
        assert_eq!(s.collections.len(), 1);
        assert!(s.store.url.starts_with("sqlite:"));
    }

    #[test]
    fn redacts_url_passwords() {
        assert_eq!(
            redact_url_str("postgres://relay:s3cret@db.example.org/relay"),
            "postgres://relay:REDACTED@db.example.org/relay"
        );
        assert_eq!(
            redact_url_str("sqlite://taxii-relay.db"),
            "sqlite://taxii-relay.db"
        );
        assert_eq!(
            redact_url_str("postgres://relay@db/taxii?password=S3CRET-PW&sslmode=require"),
            "postgres://relay@db/taxii?password=REDACTED&sslmode=require"
        );
    }

    #[test]
    fn trailing_slash_is_added_once() {
        let u = Url::parse("https://x.example/api1/collections/abc").unwrap();
        assert_eq!(
            with_trailing_slash(&u).as_str(),
            "https://x.example/api1/collections/abc/"
        );
        let u = Url::parse("https://x.example/api1/collections/abc/").unwrap();
        assert_eq!(
            with_trailing_slash(&u).as_str(),
            "https://x.example/api1/collections/abc/"
        );
    }
}
