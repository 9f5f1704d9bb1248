//! The two shared stages: validation (objects → valid versions with their TLP level + quarantine) and
//! store (TLP of relationships and sightings raised to what they reference, then one transaction per page,
//! then the acknowledgement back to the source).

use super::{PageSender, Queued, SourcePage, CHANNEL_CAPACITY};
use crate::stix::tlp::{self, MarkingCatalog, Tlp};
use crate::stix::{normalize, object_key, pattern, validate, Reason};
use crate::store::{
    dedupe_versions, IndicatorRow, NewObject, PageWrite, QuarantineEntry, RelationshipRow,
    SinkRoute, Store, StoreError,
};
use crate::telemetry::fields;
use backon::{ExponentialBuilder, Retryable};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;
use tracing::{info, warn};

/// Where stored pages are routed, and who to wake when they are.
#[derive(Clone, Default)]
pub struct Routing {
    pub routes: Vec<SinkRoute>,
    /// One per sink worker: notified after a page that created outbox rows is committed.
    pub wake: Vec<Arc<Notify>>,
}

/// Starts the validation and store stages. They end once every clone of the returned sender is dropped
/// and what they hold is stored; await the handle to know that.
pub fn start(store: Store, routing: Routing) -> (PageSender, JoinHandle<()>) {
    let (source_tx, source_rx) = mpsc::channel(CHANNEL_CAPACITY);
    let (valid_tx, valid_rx) = mpsc::channel(CHANNEL_CAPACITY);
    let validation = tokio::spawn(validation_stage(store.clone(), source_rx, valid_tx));
    let storing = tokio::spawn(store_stage(store, routing, valid_rx));
    let done = tokio::spawn(async move {
        let _ = validation.await;
        let _ = storing.await;
    });
    (source_tx, done)
}

async fn validation_stage(
    store: Store,
    mut input: mpsc::Receiver<Queued<SourcePage>>,
    output: mpsc::Sender<Queued<PageWrite>>,
) {
    // Feed-defined TLP markings stored before this start still resolve.
    let mut catalog = MarkingCatalog::default();
    match store.marking_definitions().await {
        Ok(definitions) => definitions.iter().for_each(|d| catalog.learn(d)),
        Err(error) => {
            warn!(message = "cannot load stored marking definitions; unknown markings count as red", { fields::ERROR } = %error)
        }
    }
    let mut reported: HashSet<String> = HashSet::new();
    while let Some(Queued { page, ack }) = input.recv().await {
        // CPU-bound on big pages: off the async workers.
        let (write, unresolved, returned) = tokio::task::spawn_blocking(move || {
            let (write, unresolved) = validate_page(page, &mut catalog);
            (write, unresolved, catalog)
        })
        .await
        .expect("validation does not panic");
        catalog = returned;
        for marking in unresolved {
            if reported.insert(marking.clone()) {
                warn!(
                    message = "unresolvable marking reference: objects carrying it are treated as TLP:RED",
                    { fields::COLLECTION } = %write.collection,
                    marking = %marking,
                );
            }
        }
        if output.send(Queued { page: write, ack }).await.is_err() {
            break;
        }
    }
}

/// Splits a page into storable object versions (with their own TLP level) and quarantine entries with
/// reasons. Valid marking definitions in the page are learned first, so objects before them resolve too.
/// Also returns the marking references that could not be resolved.
pub fn validate_page(page: SourcePage, catalog: &mut MarkingCatalog) -> (PageWrite, Vec<String>) {
    for object in &page.objects {
        if object.get("type").and_then(Value::as_str) == Some("marking-definition") {
            // Only a definition that passes validation is trusted; a refused one stays unknown (red).
            if let Ok(valid) = check_object(object.clone(), page.default_spec_version) {
                catalog.learn(&valid.body);
            }
        }
    }
    let mut objects = Vec::with_capacity(page.objects.len());
    let mut quarantined = page.unreadable;
    let mut unresolved = Vec::new();
    for object in page.objects {
        match check_object(object, page.default_spec_version) {
            Ok(mut new) => {
                let level = tlp::object_level(&new.body, catalog, page.default_tlp);
                new.tlp = Some(level.level);
                unresolved.extend(level.unresolved);
                objects.push(new);
            }
            Err((raw, reasons)) => quarantined.push(quarantine_entry(&raw, reasons)),
        }
    }
    let valid = objects.len();
    let objects = dedupe_versions(objects);
    let write = PageWrite {
        collection: page.collection.to_string(),
        repeated_in_page: valid - objects.len(),
        objects,
        quarantined,
        cursor: page.cursor,
        received_at: page.received_at,
    };
    (write, unresolved)
}

/// One object: STIX 2.0 normalized to 2.1, validated against STIX 2.1 (errors refuse it; warnings do not),
/// keyed, and its index rows prepared.
/// On refusal, the object as received and the reasons.
fn check_object(
    mut object: Value,
    source_spec_version: &str,
) -> Result<NewObject, (Value, Vec<Reason>)> {
    if normalize::is_stix_20(&object, source_spec_version) {
        let received = object.clone();
        if let Err(reason) = normalize::normalize_20(&mut object) {
            return Err((received, vec![reason]));
        }
    }
    // A validator bug on hostile input must cost one object, not the pipeline.
    let Ok(verdict) = std::panic::catch_unwind(|| validate::validate(&object)) else {
        let reason = Reason::new(
            "validator_failure",
            "",
            "the validator failed on this object (a bug of the relay); kept for review",
        );
        return Err((object, vec![reason]));
    };
    if !verdict.is_valid() {
        return Err((object, verdict.errors));
    }
    let key = match object_key(&object, "2.1") {
        Ok(key) => key,
        Err(reasons) => return Err((object, reasons)),
    };
    let relationship = relationship_row(&object);
    let indicators = indicator_rows(&object);
    Ok(NewObject {
        key,
        tlp: None,
        relationship,
        indicators,
        body: object,
    })
}

/// An indicator's simple comparisons for the `indicators` index (STIX patterns only; other pattern
/// languages are stored, not indexed).
fn indicator_rows(object: &Value) -> Vec<IndicatorRow> {
    if object.get("type").and_then(Value::as_str) != Some("indicator")
        || object.get("pattern_type").and_then(Value::as_str) != Some("stix")
    {
        return Vec::new();
    }
    let Some(Ok(parsed)) = object
        .get("pattern")
        .and_then(Value::as_str)
        .map(pattern::parse)
    else {
        return Vec::new();
    };
    pattern::indexable_comparisons(&parsed)
        .into_iter()
        .map(|(observable_type, value)| IndicatorRow {
            pattern_type: "stix".into(),
            observable_type,
            value,
        })
        .collect()
}

/// A relationship's edge for the `relationships` index.
fn relationship_row(object: &Value) -> Option<RelationshipRow> {
    if object.get("type")?.as_str()? != "relationship" {
        return None;
    }
    let text = |key: &str| object.get(key).and_then(Value::as_str).map(str::to_owned);
    Some(RelationshipRow {
        source_ref: text("source_ref")?,
        relationship_type: text("relationship_type")?,
        target_ref: text("target_ref")?,
    })
}

fn quarantine_entry(object: &serde_json::Value, reasons: Vec<Reason>) -> QuarantineEntry {
    QuarantineEntry {
        object_id: object.get("id").and_then(|v| v.as_str()).map(str::to_owned),
        reasons,
        raw: serde_json::to_vec(object).unwrap_or_default(),
    }
}

async fn store_stage(store: Store, routing: Routing, mut input: mpsc::Receiver<Queued<PageWrite>>) {
    while let Some(Queued { mut page, ack }) = input.recv().await {
        if let Err(error) = raise_to_referenced_levels(&store, &mut page).await {
            let _ = ack.send(Err(error));
            continue;
        }
        let started = Instant::now();
        let collection = page.collection.clone();
        let objects = page.objects.len() + page.quarantined.len();
        let cursor = page.cursor;
        let result = commit_with_retry(&store, &page, &routing.routes).await;
        if matches!(&result, Ok(outcome) if outcome.new > 0) {
            for wake in &routing.wake {
                wake.notify_one();
            }
        }
        let duration_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(outcome) => info!(
                message = "page stored",
                { fields::COLLECTION } = %collection,
                { fields::OBJECTS } = objects,
                { fields::NEW } = outcome.new,
                { fields::DUPLICATES } = outcome.duplicates,
                { fields::QUARANTINED } = outcome.quarantined,
                { fields::DURATION_MS } = duration_ms,
                { fields::CURSOR } = cursor.map(|c| c.to_rfc3339()),
            ),
            Err(error) => warn!(
                message = "page not stored",
                { fields::COLLECTION } = %collection,
                { fields::OBJECTS } = objects,
                { fields::DURATION_MS } = duration_ms,
                { fields::ERROR } = %error,
            ),
        }
        // The source may have stopped waiting (shutdown); the page is stored all the same.
        let _ = ack.send(result);
    }
}

/// A relationship or sighting is at least as restricted as the objects it references, when those are
/// known: in this page, or in the store.
async fn raise_to_referenced_levels(store: &Store, page: &mut PageWrite) -> Result<(), StoreError> {
    let mut in_page: HashMap<String, Tlp> = HashMap::new();
    for object in &page.objects {
        if let Some(level) = object.tlp {
            let entry = in_page.entry(object.key.id.clone()).or_insert(level);
            *entry = (*entry).max(level);
        }
    }
    let referenced: Vec<String> = page
        .objects
        .iter()
        .flat_map(|o| tlp::level_dependencies(&o.body))
        .map(str::to_owned)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    // Both sources: a page may carry an older, lower version of an object the store holds at a higher level.
    let stored = store.levels(&referenced).await?;
    let known = |id: &str| match (in_page.get(id), stored.get(id)) {
        (Some(a), Some(b)) => Some(*a.max(b)),
        (a, b) => a.or(b).copied(),
    };
    for object in &mut page.objects {
        if let Some(own) = object.tlp {
            object.tlp = Some(tlp::effective_level(own, &object.body, known));
        }
    }
    Ok(())
}

/// A lost connection or a pool timeout is retried a few times before the page (and its poll) fails;
/// the transaction makes a retry safe.
async fn commit_with_retry(
    store: &Store,
    page: &PageWrite,
    routes: &[SinkRoute],
) -> Result<crate::store::PageOutcome, StoreError> {
    let backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(5))
        .with_max_times(4)
        .with_jitter();
    (|| store.commit_page(page, routes))
        .retry(backoff)
        .when(StoreError::is_retryable)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::Arc;

    #[test]
    fn one_bad_object_does_not_block_the_good_ones() {
        let good = json!({"type": "malware", "spec_version": "2.1", "is_family": false,
            "id": "malware--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061",
            "created": "2020-01-01T00:00:00.000Z", "modified": "2020-01-01T00:00:00.000Z"});
        let bad = json!({"type": "malware", "id": "not-an-id"});
        let page = SourcePage::new(Arc::from("c"), vec![good, bad, json!(42)], "2.1");
        let (write, _) = validate_page(page, &mut MarkingCatalog::default());
        assert_eq!(write.objects.len(), 1);
        assert_eq!(write.quarantined.len(), 2);
        assert_eq!(write.quarantined[0].object_id.as_deref(), Some("not-an-id"));
        let codes: Vec<&str> = write.quarantined[0]
            .reasons
            .iter()
            .map(|r| r.code)
            .collect();
        assert!(codes.contains(&"invalid_id"), "{codes:?}");
        assert_eq!(write.quarantined[1].reasons[0].code, "not_an_object");
    }

    mod routing_properties {
        use super::*;
        use proptest::prelude::*;

        /// Marking references with the level they must impose: well-known TLP 1.0/2.0 ids, and ids nobody
        /// defines (red, fail closed), one of them looking like a TLP name to catch substring matching.
        const POOL: [(&str, Tlp); 7] = [
            (
                "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
                Tlp::Clear,
            ),
            (
                "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
                Tlp::Green,
            ),
            (
                "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
                Tlp::Amber,
            ),
            (
                "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
                Tlp::AmberStrict,
            ),
            (
                "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
                Tlp::Red,
            ),
            (
                "marking-definition--0b1d2c3e-4f50-4a61-8b72-9c83d4e5f6a7",
                Tlp::Red,
            ),
            (
                "marking-definition--74c97b4e-11c9-4a94-8f1d-7b1c3e2d5a60",
                Tlp::Red,
            ),
        ];
        const LEVELS: [Tlp; 5] = [
            Tlp::Clear,
            Tlp::Green,
            Tlp::Amber,
            Tlp::AmberStrict,
            Tlp::Red,
        ];

        fn indicator(n: usize, markings: &[usize]) -> Value {
            let mut object = json!({"type": "indicator", "spec_version": "2.1",
                "id": format!("indicator--{n:08x}-0000-4000-8000-{n:012x}"),
                "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
                "pattern": "[ipv4-addr:value = '10.0.0.1']", "pattern_type": "stix",
                "valid_from": "2024-01-01T00:00:00Z"});
            if !markings.is_empty() {
                let refs: Vec<&str> = markings.iter().map(|m| POOL[*m].0).collect();
                object["object_marking_refs"] = json!(refs);
            }
            object
        }

        proptest! {
            /// Through the real validation stage: no object is admitted by a route whose ceiling is below
            /// any of its markings (an unknown marking counting as red) or, unmarked, the default.
            #[test]
            fn no_object_is_routed_above_its_ceiling(
                objects in proptest::collection::vec(
                    proptest::collection::vec(0..POOL.len(), 0..4), 1..20),
                default_tlp in proptest::option::of(0..LEVELS.len()),
                ceilings in proptest::collection::vec(0..LEVELS.len(), 1..4),
            ) {
                let default_tlp = default_tlp.map(|i| LEVELS[i]);
                let bodies: Vec<Value> = objects
                    .iter()
                    .enumerate()
                    .map(|(n, markings)| indicator(n, markings))
                    .collect();
                let mut page = SourcePage::new(Arc::from("c"), bodies, "2.1");
                page.default_tlp = default_tlp;
                let (write, _) = validate_page(page, &mut MarkingCatalog::default());
                prop_assert_eq!(write.objects.len(), objects.len());
                for (n, object) in write.objects.iter().enumerate() {
                    let marked = objects[n].iter().map(|m| POOL[*m].1).max();
                    let floor = marked.unwrap_or(default_tlp.unwrap_or(Tlp::Clear));
                    for ceiling in &ceilings {
                        let route = SinkRoute {
                            sink: "s".into(),
                            types: None,
                            max_tlp: LEVELS[*ceiling],
                        };
                        let admitted = route.admits(&object.key.object_type, object.tlp);
                        prop_assert_eq!(admitted, floor <= LEVELS[*ceiling],
                            "object {} markings {:?} tlp {:?} ceiling {:?}",
                            n, &objects[n], object.tlp, LEVELS[*ceiling]);
                    }
                }
            }
        }
    }
}
