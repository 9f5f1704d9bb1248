//! The HEC sink's settings, taken from a validated `[[sinks]]` table.
//!
//! Owns: which `SinkSettings` fields the HEC sink reads. Must never: do I/O or show the token (its Debug is
//! redacted by `SecretString`).

use crate::config::{SinkSettings, TlsSettings};
use secrecy::SecretString;
use std::time::Duration;
use url::Url;

/// What the HEC sink needs from `[[sinks]]`.
#[derive(Debug, Clone)]
pub struct HecConfig {
    pub name: String,
    /// The HEC base URL (`https://splunk.example.org:8088`); paths are added to it.
    pub url: Url,
    /// The HEC token; exposed only where the `Authorization` header is built.
    pub token: SecretString,
    pub index: Option<String>,
    /// `None`: `stix:<type>` per event.
    pub sourcetype: Option<String>,
    /// Send bodies with `Content-Encoding: gzip`.
    pub gzip: bool,
    /// Indexer acknowledgement: a delivery counts once `/services/collector/ack` confirms it.
    pub ack: bool,
    /// How long to poll for an acknowledgement before the batch is retried.
    pub ack_timeout: Duration,
    /// One request's time limit.
    pub timeout: Duration,
    pub tls: TlsSettings,
}

impl HecConfig {
    pub fn from_settings(settings: &SinkSettings) -> Result<Self, String> {
        Ok(HecConfig {
            name: settings.name.clone(),
            url: settings
                .url
                .clone()
                .ok_or_else(|| "a splunk_hec sink needs `url`".to_owned())?,
            token: settings
                .token
                .clone()
                .ok_or_else(|| "a splunk_hec sink needs token_env or token_file".to_owned())?,
            index: settings.index.clone(),
            sourcetype: settings.sourcetype.clone(),
            gzip: settings.gzip,
            ack: settings.ack,
            ack_timeout: settings.ack_timeout,
            timeout: settings.timeout,
            tls: settings.tls.clone(),
        })
    }
}
