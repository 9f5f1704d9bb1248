//! Sinks: one folder per platform, each with the same files: `config.rs` (the sink's settings, read from
//! `[[sinks]]`), `encoder.rs` (objects → the platform's native form), `sink.rs` (the client that pushes a
//! batch and turns the platform's answer into an [`Outcome`] per object).
//!
//! Owns: the platform wire formats and the classification of their answers.
//! Must never: touch the database or decide routing (the store and pipeline do); a sink only delivers the
//! batch it is handed and says, per object, whether it was delivered, should be retried, or was rejected.

pub mod file;
pub mod retry;
pub mod splunk_hec;

use crate::config::{SinkKind, SinkSettings};
use crate::stix::tlp::Tlp;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::time::Duration;

/// One object version to deliver, as the sink worker hands it over.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub object_id: String,
    pub modified: DateTime<Utc>,
    pub object_type: String,
    pub tlp: Option<Tlp>,
    /// The collection it came from (Splunk `source`).
    pub collection: String,
    /// The normalized object, redacted for this sink where TLP asks it.
    pub body: Value,
    /// Attempts made before this one.
    pub attempts: u32,
}

/// What happened to one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// Transient: try again later (after `retry_after` when the platform said so).
    Retry {
        error: String,
        retry_after: Option<Duration>,
    },
    /// Permanent: the platform refuses it; retrying cannot help. The delivery goes dead.
    Rejected {
        error: String,
    },
}

impl Outcome {
    pub fn retry(error: impl Into<String>) -> Self {
        Outcome::Retry {
            error: error.into(),
            retry_after: None,
        }
    }
    pub fn rejected(error: impl Into<String>) -> Self {
        Outcome::Rejected {
            error: error.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("sink {sink}: {message}")]
    Setup { sink: String, message: String },
}

/// A configured sink, ready to deliver.
pub enum Sink {
    File(file::FileSink),
    /// Boxed: the HEC client is large beside the file sink.
    SplunkHec(Box<splunk_hec::HecSink>),
}

impl Sink {
    pub fn build(settings: &SinkSettings) -> Result<Sink, SinkError> {
        let setup = |message: String| SinkError::Setup {
            sink: settings.name.clone(),
            message,
        };
        match settings.kind {
            SinkKind::File => Ok(Sink::File(file::FileSink::new(
                file::FileConfig::from_settings(settings).map_err(setup)?,
            ))),
            SinkKind::SplunkHec => Ok(Sink::SplunkHec(Box::new(
                splunk_hec::HecSink::new(
                    splunk_hec::HecConfig::from_settings(settings).map_err(setup)?,
                )
                .map_err(setup)?,
            ))),
            SinkKind::Misp | SinkKind::Opencti | SinkKind::Taxii => Err(setup(format!(
                "kind {:?} is not built yet; this version delivers to file and splunk_hec sinks",
                settings.kind
            ))),
        }
    }

    /// Delivers a batch; one outcome per delivery, in order.
    pub async fn deliver(&self, batch: &[Delivery]) -> Vec<Outcome> {
        match self {
            Sink::File(s) => s.deliver(batch).await,
            Sink::SplunkHec(s) => s.deliver(batch).await,
        }
    }
}

/// The STIX types a sink kind receives when its config says none (DESIGN.md): `None` is everything.
pub fn default_types(kind: SinkKind) -> Option<&'static [&'static str]> {
    match kind {
        SinkKind::SplunkHec => Some(&["indicator", "sighting"]),
        SinkKind::Misp => Some(&[
            "indicator",
            "malware",
            "threat-actor",
            "intrusion-set",
            "campaign",
            "attack-pattern",
            "vulnerability",
            "report",
            "relationship",
        ]),
        SinkKind::Opencti | SinkKind::File | SinkKind::Taxii => None,
    }
}
