//! The database: migrations, the one-transaction-per-page write, cursors, and the read queries the CLI uses.
//!
//! Owns: all SQL. One file per backend ([`postgres`], [`sqlite`]) with the same methods, so each backend's
//! SQL is plain and tested on its own; [`Store`] dispatches between them.
//! Must never: know HTTP or TAXII, or advance a cursor in a transaction other than the one that stores the
//! page it covers.

pub mod postgres;
pub mod sqlite;

use crate::stix::tlp::Tlp;
use crate::stix::{ObjectKey, Reason};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
}

impl StoreError {
    /// Connection loss, pool timeouts and I/O are worth retrying; constraint and SQL errors are not.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            StoreError::Connect { .. }
                | StoreError::Query(
                    sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed
                )
        )
    }
}

/// One valid object version to store.
#[derive(Debug, Clone)]
pub struct NewObject {
    pub key: ObjectKey,
    /// Resolved TLP level; `None` (not resolved) routes nowhere: fail closed.
    pub tlp: Option<Tlp>,
    pub body: Value,
    /// A relationship's edge, for the `relationships` index.
    pub relationship: Option<RelationshipRow>,
    /// An indicator's simple comparisons, for the `indicators` index.
    pub indicators: Vec<IndicatorRow>,
}

/// One row of `relationships`: `(source_ref, relationship_type, target_ref)` of a relationship version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationshipRow {
    pub source_ref: String,
    pub relationship_type: String,
    pub target_ref: String,
}

/// One row of `indicators`: a simple equality comparison of an indicator's pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndicatorRow {
    pub pattern_type: String,
    /// `ipv4-addr:value`, `file:hashes.'SHA-256'`, …
    pub observable_type: String,
    /// Normalized: hashes, domains and email addresses lower-case.
    pub value: String,
}

/// Something refused, kept raw with its reasons.
#[derive(Debug, Clone)]
pub struct QuarantineEntry {
    pub object_id: Option<String>,
    pub reasons: Vec<Reason>,
    pub raw: Vec<u8>,
}

impl QuarantineEntry {
    /// Identifies the raw content, so the same bad object re-polled through the overlap is kept once.
    pub fn raw_sha256(&self) -> String {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(&self.raw))
    }
}

/// Everything one page writes, in one transaction.
#[derive(Debug, Clone)]
pub struct PageWrite {
    pub collection: String,
    pub objects: Vec<NewObject>,
    pub quarantined: Vec<QuarantineEntry>,
    /// The collection's new cursor; never moves a stored cursor backwards. `None`: leave it.
    pub cursor: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
    /// Versions the page carried more than once, already removed from `objects` by [`dedupe_versions`].
    pub repeated_in_page: usize,
}

/// What a page write did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PageOutcome {
    /// Object versions not stored before (and SCOs whose content changed).
    pub new: usize,
    /// Object versions already stored (overlap, re-polls, repeats within the page).
    pub duplicates: usize,
    pub quarantined: usize,
}

/// An indicator found by `lookup`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LookupHit {
    pub id: String,
    pub modified: DateTime<Utc>,
    pub name: Option<String>,
    pub pattern: Option<String>,
    pub tlp: Option<String>,
    pub collection: String,
    pub observable_type: String,
    pub value: String,
}

/// The current version of an object, in brief.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectSummary {
    pub id: String,
    #[serde(rename = "type")]
    pub object_type: String,
    pub name: Option<String>,
    pub tlp: Option<String>,
    pub collection: String,
    pub modified: DateTime<Utc>,
}

/// A current (latest, not revoked) relationship.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Edge {
    pub id: String,
    pub source_ref: String,
    pub relationship_type: String,
    pub target_ref: String,
}

/// Index rows with the version they belong to.
type Keyed<'a, T> = Vec<(&'a ObjectKey, &'a T)>;

/// The relationship and indicator index rows of the versions a page write found new.
fn index_rows<'a>(
    page: &'a PageWrite,
    new_versions: &HashSet<(String, DateTime<Utc>)>,
) -> (Keyed<'a, RelationshipRow>, Keyed<'a, IndicatorRow>) {
    let mut relationships = Vec::new();
    let mut indicators = Vec::new();
    for object in &page.objects {
        if object.relationship.is_none() && object.indicators.is_empty() {
            continue;
        }
        if !new_versions.contains(&(object.key.id.clone(), object.key.modified)) {
            continue;
        }
        if let Some(relationship) = &object.relationship {
            relationships.push((&object.key, relationship));
        }
        for indicator in &object.indicators {
            indicators.push((&object.key, indicator));
        }
    }
    (relationships, indicators)
}

/// `lookup`'s type filter as (exact match, LIKE prefix): `ipv4-addr:value` matches itself only (no prefix);
/// `ipv4-addr` matches every `ipv4-addr:…` property. The prefix holds only letters, digits and `-`, so no
/// LIKE wildcard.
fn lookup_filter(observable_type: &str) -> (String, Option<String>) {
    if observable_type.contains(':') {
        (observable_type.to_owned(), None)
    } else {
        let clean: String = observable_type
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        let prefix = format!("{clean}:%");
        (clean, Some(prefix))
    }
}

/// Where new object versions go: a sink's name, the STIX types it takes (`None`: all) and its TLP ceiling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkRoute {
    pub sink: String,
    pub types: Option<Vec<String>>,
    pub max_tlp: Tlp,
}

impl SinkRoute {
    /// Fail closed: an object whose level is not resolved goes nowhere.
    pub fn admits(&self, object_type: &str, tlp: Option<Tlp>) -> bool {
        let type_ok = self
            .types
            .as_ref()
            .is_none_or(|types| types.iter().any(|t| t == object_type));
        type_ok && tlp.is_some_and(|level| level <= self.max_tlp)
    }

    /// The TLP levels this route admits, as stored in `objects.tlp`.
    pub fn admitted_levels(&self) -> Vec<&'static str> {
        [
            Tlp::Clear,
            Tlp::Green,
            Tlp::Amber,
            Tlp::AmberStrict,
            Tlp::Red,
        ]
        .into_iter()
        .filter(|level| *level <= self.max_tlp)
        .map(Tlp::as_str)
        .collect()
    }
}

/// The outbox rows a page write creates: one per (route admitting it, new version).
fn outbox_rows<'a>(
    page: &'a PageWrite,
    new_versions: &HashSet<(String, DateTime<Utc>)>,
    routes: &'a [SinkRoute],
) -> Vec<(&'a str, &'a ObjectKey)> {
    let mut rows = Vec::new();
    if routes.is_empty() {
        return rows;
    }
    for object in &page.objects {
        if !new_versions.contains(&(object.key.id.clone(), object.key.modified)) {
            continue;
        }
        for route in routes {
            if route.admits(&object.key.object_type, object.tlp) {
                rows.push((route.sink.as_str(), &object.key));
            }
        }
    }
    rows
}

/// An outbox row claimed for delivery, with the object version it carries.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub object_id: String,
    pub modified: DateTime<Utc>,
    pub attempts: u32,
    pub object_type: String,
    pub tlp: Option<Tlp>,
    pub collection: String,
    pub body: Value,
}

/// What became of a claimed delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    Delivered,
    /// Pending again, not before `at`.
    RetryAt {
        at: DateTime<Utc>,
        error: String,
    },
    Dead {
        error: String,
    },
}

/// Per-sink outbox figures for `status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SinkCounts {
    pub sink: String,
    pub pending: i64,
    pub delivered: i64,
    pub dead: i64,
    pub oldest_pending: Option<DateTime<Utc>>,
}

/// A collection's row in `cursors`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CursorRow {
    pub collection: String,
    pub added_after_last: Option<DateTime<Utc>>,
    pub last_poll_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// The database, PostgreSQL or SQLite.
#[derive(Clone)]
pub enum Store {
    Postgres(postgres::PgStore),
    Sqlite(sqlite::SqliteStore),
}

impl Store {
    /// Opens a pool. `sqlite://FILE` creates the file if missing.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Store::Sqlite(
                sqlite::SqliteStore::connect(url, max_connections).await?,
            ))
        } else {
            Ok(Store::Postgres(
                postgres::PgStore::connect(url, max_connections).await?,
            ))
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Store::Postgres(_) => "postgres",
            Store::Sqlite(_) => "sqlite",
        }
    }

    /// Applies pending migrations (PostgreSQL: under an advisory lock, so replicas may race safely).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            Store::Postgres(s) => s.migrate().await,
            Store::Sqlite(s) => s.migrate().await,
        }
    }

    /// Writes a page's objects, quarantine entries and cursor in one transaction.
    /// `page.objects` must hold each `(id, modified)` once (see [`dedupe_versions`]). Each new version
    /// gets one outbox row per route that admits it, in the same transaction.
    pub async fn commit_page(
        &self,
        page: &PageWrite,
        routes: &[SinkRoute],
    ) -> Result<PageOutcome, StoreError> {
        let new = match self {
            Store::Postgres(s) => s.commit_page(page, routes).await?,
            Store::Sqlite(s) => s.commit_page(page, routes).await?,
        };
        Ok(PageOutcome {
            new,
            duplicates: page.objects.len() - new + page.repeated_in_page,
            quarantined: page.quarantined.len(),
        })
    }

    /// The collection's cursor: the server's `date_added` of the last page stored.
    pub async fn cursor(&self, collection: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(self
            .cursor_row(collection)
            .await?
            .and_then(|r| r.added_after_last))
    }

    pub async fn cursor_row(&self, collection: &str) -> Result<Option<CursorRow>, StoreError> {
        Ok(self
            .cursors()
            .await?
            .into_iter()
            .find(|r| r.collection == collection))
    }

    pub async fn cursors(&self) -> Result<Vec<CursorRow>, StoreError> {
        match self {
            Store::Postgres(s) => s.cursors().await,
            Store::Sqlite(s) => s.cursors().await,
        }
    }

    /// Records a poll's end: `last_poll_at`, and `last_success_at` or `last_error`.
    pub async fn record_poll(
        &self,
        collection: &str,
        at: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        match self {
            Store::Postgres(s) => s.record_poll(collection, at, error).await,
            Store::Sqlite(s) => s.record_poll(collection, at, error).await,
        }
    }

    /// Every stored `(id, modified)`, sorted: for tests and audits.
    pub async fn object_versions(&self) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
        match self {
            Store::Postgres(s) => s.object_versions().await,
            Store::Sqlite(s) => s.object_versions().await,
        }
    }

    /// Quarantine rows per collection.
    pub async fn quarantine_counts(&self) -> Result<HashMap<String, i64>, StoreError> {
        match self {
            Store::Postgres(s) => s.quarantine_counts().await,
            Store::Sqlite(s) => s.quarantine_counts().await,
        }
    }

    /// Stored object versions per collection.
    pub async fn object_counts(&self) -> Result<HashMap<String, i64>, StoreError> {
        match self {
            Store::Postgres(s) => s.object_counts().await,
            Store::Sqlite(s) => s.object_counts().await,
        }
    }

    /// Current indicators (latest version, not revoked) with a comparison on `observable_type` (exact, e.g.
    /// `ipv4-addr:value`, or every property of a type when no `:` is given, e.g. `ipv4-addr`) equal to `value`.
    pub async fn lookup(
        &self,
        observable_type: &str,
        value: &str,
    ) -> Result<Vec<LookupHit>, StoreError> {
        match self {
            Store::Postgres(s) => s.lookup(observable_type, value).await,
            Store::Sqlite(s) => s.lookup(observable_type, value).await,
        }
    }

    /// Current relationships that start or end at any of `ids`.
    pub async fn edges_of(&self, ids: &[String]) -> Result<Vec<Edge>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        match self {
            Store::Postgres(s) => s.edges_of(ids).await,
            Store::Sqlite(s) => s.edges_of(ids).await,
        }
    }

    /// The current version of each of `ids` that is stored.
    pub async fn summaries(&self, ids: &[String]) -> Result<Vec<ObjectSummary>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        match self {
            Store::Postgres(s) => s.summaries(ids).await,
            Store::Sqlite(s) => s.summaries(ids).await,
        }
    }

    /// Every stored marking-definition object, to resolve feed-defined TLP markings after a restart.
    pub async fn marking_definitions(&self) -> Result<Vec<Value>, StoreError> {
        match self {
            Store::Postgres(s) => s.marking_definitions().await,
            Store::Sqlite(s) => s.marking_definitions().await,
        }
    }

    /// The stored TLP level of the current version of each of `ids` that is stored.
    pub async fn levels(&self, ids: &[String]) -> Result<HashMap<String, Tlp>, StoreError> {
        Ok(self
            .summaries(ids)
            .await?
            .into_iter()
            .filter_map(|s| Some((s.id, s.tlp?.parse().ok()?)))
            .collect())
    }

    /// Claims up to `limit` due deliveries of `sink`: they are not due again for `lease` (so another worker or
    /// replica skips them; a crashed worker's claim expires).
    pub async fn claim(
        &self,
        sink: &str,
        limit: usize,
        lease: std::time::Duration,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        match self {
            Store::Postgres(s) => s.claim(sink, limit, lease).await,
            Store::Sqlite(s) => s.claim(sink, limit, lease).await,
        }
    }

    /// Records what became of claimed deliveries.
    pub async fn settle(
        &self,
        sink: &str,
        settled: &[(String, DateTime<Utc>, Settlement)],
    ) -> Result<(), StoreError> {
        match self {
            Store::Postgres(s) => s.settle(sink, settled).await,
            Store::Sqlite(s) => s.settle(sink, settled).await,
        }
    }

    /// When the sink's earliest pending delivery is due; `None` when nothing is pending.
    pub async fn next_due(&self, sink: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        match self {
            Store::Postgres(s) => s.next_due(sink).await,
            Store::Sqlite(s) => s.next_due(sink).await,
        }
    }

    /// Pending, delivered and dead deliveries per sink.
    pub async fn sink_counts(&self) -> Result<Vec<SinkCounts>, StoreError> {
        match self {
            Store::Postgres(s) => s.sink_counts().await,
            Store::Sqlite(s) => s.sink_counts().await,
        }
    }

    /// Re-enqueues for `route`'s sink every current object version it admits, first seen at or after `since`;
    /// with `dead_only`, only its dead deliveries. Returns how many rows became pending.
    pub async fn replay(
        &self,
        route: &SinkRoute,
        since: Option<DateTime<Utc>>,
        dead_only: bool,
    ) -> Result<u64, StoreError> {
        match self {
            Store::Postgres(s) => s.replay(route, since, dead_only).await,
            Store::Sqlite(s) => s.replay(route, since, dead_only).await,
        }
    }
}

/// A page may carry the same version twice; PostgreSQL refuses an upsert touching one row twice, and
/// counting must see it once. Keeps the last occurrence, in first-seen order.
pub fn dedupe_versions(objects: Vec<NewObject>) -> Vec<NewObject> {
    let mut index: HashMap<(String, DateTime<Utc>), usize> = HashMap::with_capacity(objects.len());
    let mut out: Vec<NewObject> = Vec::with_capacity(objects.len());
    for object in objects {
        let key = (object.key.id.clone(), object.key.modified);
        match index.get(&key) {
            Some(&i) => out[i] = object,
            None => {
                index.insert(key, out.len());
                out.push(object);
            }
        }
    }
    out
}

/// Serializes quarantine reasons for the `reasons` column.
fn reasons_json(reasons: &[Reason]) -> Value {
    serde_json::to_value(reasons).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stix::object_key;
    use serde_json::json;

    #[test]
    fn dedupe_keeps_one_per_version() {
        let make = |id: &str, modified: &str| {
            let body =
                json!({"type": "malware", "id": id, "modified": modified, "created": modified});
            NewObject {
                key: object_key(&body, "2.1").unwrap(),
                tlp: None,
                body,
                relationship: None,
                indicators: Vec::new(),
            }
        };
        let a = "malware--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061";
        let b = "malware--1c7b5b88-8ff7-4a4d-aa9d-feb398cd0061";
        let out = dedupe_versions(vec![
            make(a, "2020-01-01T00:00:00Z"),
            make(b, "2020-01-01T00:00:00Z"),
            make(a, "2020-01-01T00:00:00Z"),
            make(a, "2021-01-01T00:00:00Z"),
        ]);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].key.id, a);
        assert_eq!(out[1].key.id, b);
    }
}
