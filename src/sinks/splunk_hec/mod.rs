//! Splunk HTTP Event Collector sink: batched events to `/services/collector/event`, TLP and indicator
//! observables as indexed fields, optional gzip, optional indexer acknowledgement.
//!
//! - `config.rs`: [`HecConfig`], what the sink needs from `[[sinks]]`.
//! - `encoder.rs`: [`encode_event`], one delivery → one HEC event.
//! - `sink.rs`: [`HecSink`], the client and the mapping of Splunk's answers to outcomes.
//!
//! Must never: log or return the token; decide routing or retry timing (the sink worker does both).

mod config;
mod encoder;
mod sink;

pub use config::HecConfig;
pub use encoder::encode_event;
pub use sink::{HecSink, ACK_POLL_INTERVAL, CHANNEL_HEADER};
