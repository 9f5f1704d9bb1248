//! `ingest`: STIX bundles from files (or stdin) through the same validation and store stages as polled
//! pages. For air-gapped sites, backfills, and demos without a network. Touches no cursor.

use super::{page_stored, send_page, PageSender, PipelineError, SourcePage};
use crate::stix::{parse_content, tlp::Tlp};
use crate::store::{PageOutcome, QuarantineEntry};
use serde::Serialize;
use std::sync::Arc;

/// Objects per transaction: a huge bundle is stored in pages like a polled collection.
pub const OBJECTS_PER_PAGE: usize = 1000;

/// What one input did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestSummary {
    pub source: String,
    pub objects: usize,
    pub new: usize,
    pub duplicates: usize,
    pub quarantined: usize,
    /// Why the input could not be read as STIX at all (it is quarantined raw).
    pub error: Option<String>,
}

/// Ingests one input's bytes under `collection`.
pub async fn ingest_bytes(
    pages: &PageSender,
    collection: &str,
    default_tlp: Option<Tlp>,
    source: &str,
    bytes: Vec<u8>,
) -> Result<IngestSummary, PipelineError> {
    let collection: Arc<str> = Arc::from(collection);
    let mut summary = IngestSummary {
        source: source.to_owned(),
        ..Default::default()
    };
    let content = match parse_content(&bytes) {
        Ok(content) => content,
        Err(reason) => {
            summary.error = Some(reason.message.clone());
            let mut page = SourcePage::new(collection, Vec::new(), "2.1");
            page.unreadable.push(QuarantineEntry {
                object_id: None,
                reasons: vec![reason],
                raw: bytes,
            });
            add(
                &mut summary,
                page_stored(send_page(pages, page).await?).await?,
            );
            return Ok(summary);
        }
    };
    let spec_version = match content.spec_version.as_deref() {
        Some("2.0") => "2.0",
        _ => "2.1",
    };
    summary.objects = content.objects.len();
    let mut acks = Vec::new();
    let mut objects = content.objects.into_iter().peekable();
    while objects.peek().is_some() {
        let chunk: Vec<_> = objects.by_ref().take(OBJECTS_PER_PAGE).collect();
        let mut page = SourcePage::new(collection.clone(), chunk, spec_version);
        page.default_tlp = default_tlp;
        acks.push(send_page(pages, page).await?);
    }
    for ack in acks {
        add(&mut summary, page_stored(ack).await?);
    }
    Ok(summary)
}

fn add(summary: &mut IngestSummary, outcome: PageOutcome) {
    summary.new += outcome.new;
    summary.duplicates += outcome.duplicates;
    summary.quarantined += outcome.quarantined;
}
