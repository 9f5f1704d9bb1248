//! One task per collection: poll on an interval (with jitter) from `cursor - overlap`, page to the end,
//! and send each page with the cursor it may set once stored.
//!
//! The cursor rule (DESIGN.md, "Cursor and overlap"): a page's cursor is the server's
//! `X-TAXII-Date-Added-Last`. When the server omits it, only the poll's *last* page moves the cursor, to the
//! server's `Date` at the start of the poll (else the client's clock): a crash between pages then re-reads
//! the whole poll instead of skipping its unread pages. Page N+1 is fetched while page N is being stored,
//! but is not sent until page N's commit is acknowledged, so a failed page stops the poll before any later
//! cursor is written.

use super::{page_stored, send_page, PageAck, PageSender, PipelineError, SourcePage};
use crate::config::CollectionSettings;
use crate::stix::Reason;
use crate::store::{PageOutcome, QuarantineEntry, Store, StoreError};
use crate::taxii::{FetchedPage, Poll, PollRequest, TaxiiClient, TaxiiError};
use crate::telemetry::fields;
use chrono::{DateTime, Utc};
use rand::Rng;
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error(transparent)]
    Taxii(#[from] TaxiiError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error("stopped by shutdown")]
    Cancelled,
}

/// What one poll did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PollSummary {
    pub pages: usize,
    pub objects: usize,
    pub new: usize,
    pub duplicates: usize,
    pub quarantined: usize,
    pub cursor: Option<DateTime<Utc>>,
}

impl PollSummary {
    fn add(&mut self, outcome: PageOutcome) {
        self.new += outcome.new;
        self.duplicates += outcome.duplicates;
        self.quarantined += outcome.quarantined;
    }
}

/// Everything a collection's task needs.
#[derive(Clone)]
pub struct CollectionPoller {
    pub settings: CollectionSettings,
    pub name: Arc<str>,
    pub client: TaxiiClient,
    pub store: Store,
    pub pages: PageSender,
}

impl CollectionPoller {
    pub fn new(
        settings: CollectionSettings,
        store: Store,
        pages: PageSender,
    ) -> Result<Self, TaxiiError> {
        let client = TaxiiClient::new((&settings).into())?;
        Ok(CollectionPoller {
            name: Arc::from(settings.name.as_str()),
            settings,
            client,
            store,
            pages,
        })
    }

    /// Polls until cancelled; a failed poll is logged and recorded, and the next one comes on schedule.
    pub async fn run(self, cancel: CancellationToken) {
        loop {
            let _ = self.poll_and_record(&cancel).await;
            let delay = jittered(self.settings.poll_interval);
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(delay) => {}
            }
        }
    }

    /// One poll, logged and recorded in `cursors` (`last_poll_at`, `last_success_at` / `last_error`).
    pub async fn poll_and_record(
        &self,
        cancel: &CancellationToken,
    ) -> Result<PollSummary, PollError> {
        let started = Instant::now();
        let started_at = Utc::now();
        let result = self.poll_once(cancel).await;
        let duration_ms = started.elapsed().as_millis() as u64;
        let error_text = match &result {
            Ok(summary) => {
                info!(
                    message = "poll finished",
                    { fields::COLLECTION } = %self.name,
                    pages = summary.pages,
                    { fields::OBJECTS } = summary.objects,
                    { fields::NEW } = summary.new,
                    { fields::DUPLICATES } = summary.duplicates,
                    { fields::QUARANTINED } = summary.quarantined,
                    { fields::DURATION_MS } = duration_ms,
                    { fields::CURSOR } = summary.cursor.map(|c| c.to_rfc3339()),
                );
                None
            }
            Err(PollError::Cancelled) => return result,
            Err(e) => {
                error!(
                    message = "poll failed",
                    { fields::COLLECTION } = %self.name,
                    { fields::DURATION_MS } = duration_ms,
                    { fields::ERROR } = %e,
                );
                Some(e.to_string())
            }
        };
        if let Err(e) = self
            .store
            .record_poll(&self.name, started_at, error_text.as_deref())
            .await
        {
            error!(message = "cannot record the poll", { fields::COLLECTION } = %self.name, { fields::ERROR } = %e);
        }
        result
    }

    /// Reads the cursor, pages to the end, and returns once every page sent is stored.
    pub async fn poll_once(&self, cancel: &CancellationToken) -> Result<PollSummary, PollError> {
        let started_at = Utc::now();
        let cursor = self.store.cursor(&self.name).await?;
        let overlap = chrono::Duration::from_std(self.settings.overlap).unwrap_or_default();
        let added_after = cursor
            .map(|c| c - overlap)
            .or(self.settings.initial_added_after);
        let mut poll = Poll::new(
            self.client.clone(),
            PollRequest {
                collection_url: self.settings.collection_url(),
                version: self.settings.taxii_version,
                added_after,
                page_size: self.settings.page_size,
                types: self.settings.types.clone(),
            },
        )?;
        let mut summary = PollSummary {
            cursor,
            ..Default::default()
        };
        let mut poll_start_server_date: Option<DateTime<Utc>> = None;
        let mut in_flight: Option<PageAck> = None;
        loop {
            let fetched = tokio::select! {
                _ = cancel.cancelled() => Err(PollError::Cancelled),
                page = poll.next_page() => page.map_err(PollError::from),
            };
            let page = match fetched {
                Ok(Some(page)) => page,
                Ok(None) => break,
                Err(e) => {
                    // The page before this one is stored or not; either way it is not lost.
                    self.finish(in_flight.take(), &mut summary).await?;
                    if let PollError::Taxii(TaxiiError::InvalidResponse { message, raw, .. }) = &e {
                        self.quarantine_unreadable(message, raw).await;
                    }
                    return Err(e);
                }
            };
            if poll_start_server_date.is_none() {
                poll_start_server_date = Some(page.server_date.unwrap_or(started_at));
            }
            let page_cursor = page_cursor(&page, poll_start_server_date.unwrap_or(started_at));
            summary.pages += 1;
            summary.objects += page.objects.len();
            let mut source = SourcePage::new(
                self.name.clone(),
                page.objects,
                match page.spec_version.as_deref() {
                    Some("2.0") => "2.0",
                    _ => self.settings.taxii_version.stix_version(),
                },
            );
            source.default_tlp = self.settings.default_tlp;
            source.cursor = page_cursor;
            self.finish(in_flight.take(), &mut summary).await?;
            in_flight = Some(send_page(&self.pages, source).await?);
            if let Some(c) = page_cursor {
                summary.cursor = Some(summary.cursor.map_or(c, |old| old.max(c)));
            }
        }
        self.finish(in_flight.take(), &mut summary).await?;
        Ok(summary)
    }

    /// Waits for a sent page's commit.
    async fn finish(
        &self,
        ack: Option<PageAck>,
        summary: &mut PollSummary,
    ) -> Result<(), PollError> {
        if let Some(ack) = ack {
            summary.add(page_stored(ack).await?);
        }
        Ok(())
    }

    /// A page that stays unreadable after retries is kept raw in quarantine; the poll still fails, and the
    /// cursor stays where the last good page left it.
    async fn quarantine_unreadable(&self, message: &str, raw: &[u8]) {
        let mut page = SourcePage::new(self.name.clone(), Vec::new(), "2.1");
        page.unreadable.push(QuarantineEntry {
            object_id: None,
            reasons: vec![Reason::new("unreadable_page", "", message)],
            raw: raw.to_vec(),
        });
        if let Ok(ack) = send_page(&self.pages, page).await {
            let _ = page_stored(ack).await;
        }
    }
}

/// The cursor a page may set once stored: its `X-TAXII-Date-Added-Last`; without one, only the last page
/// moves it, to the server's time at the start of the poll.
fn page_cursor(page: &FetchedPage, poll_start: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match page.date_added_last {
        Some(last) => Some(last),
        None if page.last => Some(poll_start),
        None => None,
    }
}

/// The interval ± 10 %, so many relays (or collections) do not poll in lockstep.
fn jittered(interval: Duration) -> Duration {
    let spread = interval.as_secs_f64() * 0.1;
    let offset = rand::rng().random_range(-spread..=spread);
    Duration::from_secs_f64((interval.as_secs_f64() + offset).max(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(last: bool, date_added_last: Option<&str>) -> FetchedPage {
        FetchedPage {
            objects: vec![],
            date_added_last: date_added_last.map(|d| d.parse().unwrap()),
            server_date: None,
            last,
            spec_version: None,
        }
    }

    #[test]
    fn cursor_follows_the_header_and_falls_back_only_on_the_last_page() {
        let start: DateTime<Utc> = "2025-06-01T00:00:00Z".parse().unwrap();
        let header = "2025-05-01T00:00:00Z";
        assert_eq!(
            page_cursor(&page(false, Some(header)), start),
            Some(header.parse().unwrap())
        );
        assert_eq!(page_cursor(&page(false, None), start), None);
        assert_eq!(page_cursor(&page(true, None), start), Some(start));
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        for _ in 0..100 {
            let d = jittered(Duration::from_secs(300));
            assert!(d >= Duration::from_secs(270) && d <= Duration::from_secs(330));
        }
    }
}
