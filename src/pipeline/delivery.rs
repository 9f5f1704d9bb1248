//! Sink workers: one task per sink, woken by the store stage and by a timer, claiming due outbox rows,
//! handing them to the sink, and recording each outcome (delivered, retry later with backoff, dead).
//!
//! The outbox is the source of truth: the wake-up only saves waiting for the timer, so a crash at any point
//! loses nothing (a claimed batch whose outcome was not recorded is claimed again when its lease expires).

use crate::config::SinkSettings;
use crate::sinks::{default_types, retry::backoff_delay, Delivery, Outcome, Sink, SinkError};
use crate::stix::tlp;
use crate::store::{ClaimedDelivery, Settlement, SinkRoute, Store, StoreError};
use crate::telemetry::fields;
use chrono::Utc;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// Why a container was not sent.
const WITHHELD: &str =
    "withheld: every object_refs entry is above this sink's TLP ceiling or not yet known";

/// Why an object was not sent although it was queued for this sink.
const ABOVE_CEILING: &str =
    "withheld: above this sink's TLP ceiling (or outside its types) as it stands now";

/// Longest idle wait between outbox checks when nothing wakes the worker.
const IDLE_POLL: Duration = Duration::from_secs(5);

/// The route of a configured sink: its types (or its kind's default) and TLP ceiling.
pub fn route(settings: &SinkSettings) -> SinkRoute {
    SinkRoute {
        sink: settings.name.clone(),
        types: settings.types.clone().or_else(|| {
            default_types(settings.kind).map(|t| t.iter().map(|s| (*s).to_owned()).collect())
        }),
        max_tlp: settings.max_tlp,
    }
}

/// What a worker did, for `run --once`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeliverySummary {
    pub delivered: usize,
    pub retried: usize,
    pub dead: usize,
}

pub struct SinkWorker {
    name: Arc<str>,
    sink: Sink,
    /// Types and ceiling, checked again as rows leave.
    route: SinkRoute,
    settings: SinkSettings,
    store: Store,
    wake: Arc<Notify>,
}

impl SinkWorker {
    pub fn new(settings: &SinkSettings, store: Store) -> Result<Self, SinkError> {
        Ok(SinkWorker {
            name: Arc::from(settings.name.as_str()),
            sink: Sink::build(settings)?,
            route: route(settings),
            settings: settings.clone(),
            store,
            wake: Arc::new(Notify::new()),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Notified by the store stage when new deliveries are committed.
    pub fn wake_handle(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// How long a claim holds: long enough for one request (and its acknowledgement), short enough that a
    /// crashed worker's batch is soon claimed again.
    fn lease(&self) -> Duration {
        let ack = if self.settings.ack {
            self.settings.ack_timeout
        } else {
            Duration::ZERO
        };
        self.settings.timeout * 2 + ack + Duration::from_secs(30)
    }

    /// Delivers until cancelled.
    pub async fn run(self, cancel: CancellationToken) {
        let mut summary = DeliverySummary::default();
        loop {
            let idle = match self.deliver_due(&mut summary).await {
                Ok(0) => self.wait_for_next_due().await,
                Ok(_) => Duration::ZERO,
                Err(error) => {
                    warn!(message = "outbox unavailable", { fields::SINK } = %self.name, { fields::ERROR } = %error);
                    IDLE_POLL
                }
            };
            if cancel.is_cancelled() {
                break;
            }
            if idle.is_zero() {
                continue;
            }
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(idle) => {}
            }
        }
    }

    /// Delivers until nothing is pending (everything delivered or dead), waiting out retry delays: what
    /// `run --once` does after its polls.
    pub async fn drain(&self, cancel: &CancellationToken) -> Result<DeliverySummary, StoreError> {
        let mut summary = DeliverySummary::default();
        loop {
            if self.deliver_due(&mut summary).await? > 0 {
                continue;
            }
            let Some(due) = self.store.next_due(&self.name).await? else {
                return Ok(summary);
            };
            let wait = (due - Utc::now()).to_std().unwrap_or_default();
            tokio::select! {
                _ = cancel.cancelled() => return Ok(summary),
                _ = tokio::time::sleep(wait.clamp(Duration::from_millis(10), IDLE_POLL)) => {}
            }
        }
    }

    async fn wait_for_next_due(&self) -> Duration {
        match self.store.next_due(&self.name).await {
            Ok(Some(due)) => (due - Utc::now())
                .to_std()
                .unwrap_or_default()
                .clamp(Duration::from_millis(10), IDLE_POLL),
            _ => IDLE_POLL,
        }
    }

    /// One claim: delivers the due rows (in byte-bounded batches) and records the outcomes. Returns how many
    /// rows were claimed.
    pub async fn deliver_due(&self, summary: &mut DeliverySummary) -> Result<usize, StoreError> {
        let claimed = self
            .store
            .claim(&self.name, self.settings.batch_size, self.lease())
            .await?;
        let count = claimed.len();
        for batch in split_by_bytes(claimed, self.settings.max_batch_bytes) {
            self.deliver_batch(batch, summary).await?;
        }
        Ok(count)
    }

    async fn deliver_batch(
        &self,
        batch: Vec<ClaimedDelivery>,
        summary: &mut DeliverySummary,
    ) -> Result<(), StoreError> {
        let started = Instant::now();
        let mut deliveries: Vec<Delivery> = batch.into_iter().map(to_delivery).collect();
        let withheld = self.enforce_tlp(&mut deliveries).await?;
        let outcomes = if withheld.is_empty() {
            self.sink.deliver(&deliveries).await
        } else {
            let to_send: Vec<Delivery> = deliveries
                .iter()
                .enumerate()
                .filter(|(i, _)| !withheld.contains_key(i))
                .map(|(_, d)| d.clone())
                .collect();
            let mut sent = self.sink.deliver(&to_send).await.into_iter();
            (0..deliveries.len())
                .map(|i| match withheld.get(&i) {
                    Some(reason) => Outcome::rejected(*reason),
                    None => sent
                        .next()
                        .unwrap_or_else(|| Outcome::retry("the sink gave no outcome")),
                })
                .collect()
        };
        let mut settled = Vec::with_capacity(deliveries.len());
        let mut batch_summary = DeliverySummary::default();
        let mut last_error = None;
        for (delivery, outcome) in deliveries.iter().zip(outcomes) {
            let settlement = self.settlement(delivery.attempts, outcome);
            match &settlement {
                Settlement::Delivered => batch_summary.delivered += 1,
                Settlement::RetryAt { error, .. } => {
                    batch_summary.retried += 1;
                    last_error = Some(error.clone());
                }
                Settlement::Dead { error } => {
                    batch_summary.dead += 1;
                    last_error = Some(error.clone());
                }
            }
            settled.push((delivery.object_id.clone(), delivery.modified, settlement));
        }
        self.store.settle(&self.name, &settled).await?;
        let duration_ms = started.elapsed().as_millis() as u64;
        match last_error {
            None => info!(
                message = "batch delivered",
                { fields::SINK } = %self.name,
                { fields::OBJECTS } = deliveries.len(),
                { fields::DURATION_MS } = duration_ms,
            ),
            Some(error) => warn!(
                message = "batch not fully delivered",
                { fields::SINK } = %self.name,
                { fields::OBJECTS } = deliveries.len(),
                delivered = batch_summary.delivered,
                retried = batch_summary.retried,
                dead = batch_summary.dead,
                { fields::DURATION_MS } = duration_ms,
                { fields::ERROR } = %error,
            ),
        }
        summary.delivered += batch_summary.delivered;
        summary.retried += batch_summary.retried;
        summary.dead += batch_summary.dead;
        Ok(())
    }

    /// TLP checked again as the rows leave, whatever was true when they were queued: the sink's ceiling and
    /// types may have changed, a relationship's endpoint may have arrived at a higher level since, an SCO's
    /// content (and marking) may have been updated, a replay may be asking. What the sink may not receive
    /// is withheld (dead with the reason, replayable). Then reports, groupings, notes, opinions and
    /// observed-data lose the `object_refs` entries above the ceiling (unknown ones count as red); one left
    /// with no reference at all is withheld too.
    async fn enforce_tlp(
        &self,
        deliveries: &mut [Delivery],
    ) -> Result<HashMap<usize, &'static str>, StoreError> {
        let referenced: Vec<String> = deliveries
            .iter()
            .flat_map(|d| {
                tlp::level_dependencies(&d.body)
                    .into_iter()
                    .chain(tlp::contained_refs(&d.body))
            })
            .map(str::to_owned)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let levels = self.store.levels(&referenced).await?;
        let known = |id: &str| levels.get(id).copied();
        let ceiling = self.route.max_tlp;
        let mut withheld = HashMap::new();
        for (i, delivery) in deliveries.iter_mut().enumerate() {
            let level = delivery
                .tlp
                .map(|own| tlp::effective_level(own, &delivery.body, known));
            if !self.route.admits(&delivery.object_type, level) {
                withheld.insert(i, ABOVE_CEILING);
                continue;
            }
            if let Some(redacted) = tlp::redact_container_refs(&delivery.body, ceiling, known) {
                if tlp::contained_refs(&redacted).is_empty() {
                    withheld.insert(i, WITHHELD);
                }
                delivery.body = redacted;
            }
        }
        Ok(withheld)
    }

    /// An outcome becomes a settlement: a retry past `max_attempts` is dead, and waits at least what the
    /// platform asked for.
    fn settlement(&self, attempts_before: u32, outcome: Outcome) -> Settlement {
        match outcome {
            Outcome::Delivered => Settlement::Delivered,
            Outcome::Rejected { error } => Settlement::Dead { error },
            Outcome::Retry { error, retry_after } => {
                let attempts = attempts_before + 1;
                if attempts >= self.settings.max_attempts {
                    return Settlement::Dead {
                        error: format!("gave up after {attempts} attempts: {error}"),
                    };
                }
                let delay = backoff_delay(
                    attempts_before,
                    self.settings.retry_backoff,
                    self.settings.retry_backoff_max,
                )
                .max(retry_after.unwrap_or_default());
                Settlement::RetryAt {
                    at: Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default(),
                    error,
                }
            }
        }
    }
}

fn to_delivery(claimed: ClaimedDelivery) -> Delivery {
    Delivery {
        object_id: claimed.object_id,
        modified: claimed.modified,
        object_type: claimed.object_type,
        tlp: claimed.tlp,
        collection: claimed.collection,
        body: claimed.body,
        attempts: claimed.attempts,
    }
}

/// Splits claimed rows into batches of at most `max_bytes` of JSON (a bigger object goes alone).
fn split_by_bytes(claimed: Vec<ClaimedDelivery>, max_bytes: usize) -> Vec<Vec<ClaimedDelivery>> {
    let mut batches = Vec::new();
    let mut current = Vec::new();
    let mut current_bytes = 0;
    for delivery in claimed {
        let size = serde_json::to_vec(&delivery.body).map_or(0, |b| b.len());
        if !current.is_empty() && current_bytes + size > max_bytes {
            batches.push(std::mem::take(&mut current));
            current_bytes = 0;
        }
        current_bytes += size;
        current.push(delivery);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claimed(body_len: usize) -> ClaimedDelivery {
        ClaimedDelivery {
            object_id: "note--1".into(),
            modified: Utc::now(),
            attempts: 0,
            object_type: "note".into(),
            tlp: None,
            collection: "c".into(),
            body: json!({"content": "x".repeat(body_len)}),
        }
    }

    /// With the default settings, a sink's deliveries stay pending (retried) for well over an hour before
    /// any goes dead: "a sink that is down for an hour gets everything once it is back".
    #[test]
    fn default_retries_outlast_an_hour_down() {
        let defaults: crate::config::SinkSettings =
            serde_json::from_value(json!({"name": "s", "kind": "file", "path": "/tmp/x"})).unwrap();
        // Every wait is at least half its exponential ceiling, whatever the jitter draws.
        let total: std::time::Duration = (0..defaults.max_attempts - 1)
            .map(|attempt| {
                backoff_delay(attempt, defaults.retry_backoff, defaults.retry_backoff_max)
            })
            .sum();
        assert!(total > std::time::Duration::from_secs(3600), "{total:?}");
    }

    #[test]
    fn batches_are_bounded_by_bytes() {
        let batches = split_by_bytes((0..10).map(|_| claimed(90)).collect(), 300);
        assert!(
            batches.iter().all(|b| b.len() <= 2),
            "{:?}",
            batches.iter().map(Vec::len).collect::<Vec<_>>()
        );
        assert_eq!(batches.iter().map(Vec::len).sum::<usize>(), 10);
        let big = split_by_bytes(vec![claimed(5000), claimed(10)], 300);
        assert_eq!(big.len(), 2, "an object over the limit goes alone");
    }
}
