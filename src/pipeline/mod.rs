//! Wires the stages: sources (a scheduler per collection, or `ingest` files) → validation → store.
//!
//! Owns: the bounded channels between stages, the page acknowledgements that let a source know its page
//! is durably stored, and shutdown (a [`CancellationToken`]; every stage drains what it holds, then ends
//! when its input channel closes).
//! Must never: advance a cursor itself; the cursor travels with its page into the store's transaction.

pub mod delivery;
pub mod ingest;
pub mod scheduler;
pub mod stages;

use crate::stix::tlp::Tlp;
use crate::store::{PageOutcome, QuarantineEntry, StoreError};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

pub use tokio_util::sync::CancellationToken;

/// Pages waiting between two stages. Small: a slow store slows the pollers, memory stays flat.
pub const CHANNEL_CAPACITY: usize = 4;

/// A page from a source, before validation.
#[derive(Debug)]
pub struct SourcePage {
    pub collection: Arc<str>,
    pub objects: Vec<Value>,
    /// `spec_version` assumed for objects that carry none ("2.0" for 2.0 servers and bundles).
    pub default_spec_version: &'static str,
    pub default_tlp: Option<Tlp>,
    /// Content the source could not read at all (an unparseable page), kept raw.
    pub unreadable: Vec<QuarantineEntry>,
    /// The collection's cursor once this page is stored; `None` leaves it.
    pub cursor: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
}

/// A page in the channels, with the acknowledgement the store stage answers once it is committed (or not).
#[derive(Debug)]
pub struct Queued<T> {
    pub page: T,
    pub ack: oneshot::Sender<Result<PageOutcome, StoreError>>,
}

/// The sending end of the pipeline, cloned into every source.
pub type PageSender = mpsc::Sender<Queued<SourcePage>>;

/// The page's commit acknowledgement, as a source awaits it.
pub type PageAck = oneshot::Receiver<Result<PageOutcome, StoreError>>;

/// Why a page was not stored.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the pipeline stopped before the page was stored")]
    Closed,
}

/// Sends a page down the pipeline and returns the receiver of its acknowledgement.
pub async fn send_page(sender: &PageSender, page: SourcePage) -> Result<PageAck, PipelineError> {
    let (ack, receiver) = oneshot::channel();
    sender
        .send(Queued { page, ack })
        .await
        .map_err(|_| PipelineError::Closed)?;
    Ok(receiver)
}

/// Awaits a page's acknowledgement.
pub async fn page_stored(ack: PageAck) -> Result<PageOutcome, PipelineError> {
    match ack.await {
        Ok(result) => Ok(result?),
        Err(_) => Err(PipelineError::Closed),
    }
}

impl SourcePage {
    pub fn new(
        collection: Arc<str>,
        objects: Vec<Value>,
        default_spec_version: &'static str,
    ) -> Self {
        SourcePage {
            collection,
            objects,
            default_spec_version,
            default_tlp: None,
            unreadable: Vec::new(),
            cursor: None,
            received_at: Utc::now(),
        }
    }
}
