//! Splunk HTTP Event Collector sink: batched events to `/services/collector/event`, TLP and indicator
//! observables as indexed fields, optional gzip, optional indexer acknowledgement.

mod config;
mod encoder;
mod sink;

pub use config::HecConfig;
pub use encoder::encode_event;
pub use sink::HecSink;
