//! SQLite backend, the embedded default: WAL journal, `synchronous = FULL` (a committed page survives power
//! loss), batched multi-row inserts, timestamps as fixed-width RFC 3339 text so text order is time order.

use super::{
    index_rows, lookup_filter, outbox_rows, reasons_json, ClaimedDelivery, CursorRow, Edge,
    LookupHit, ObjectSummary, PageWrite, Settlement, SinkCounts, SinkRoute, StoreError,
};
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// Rows per INSERT statement: 11 parameters each stays far below SQLite's 32,766 variables.
const ROWS_PER_STATEMENT: usize = 500;

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

/// The one text form of a timestamp in SQLite: UTC, six fractional digits, `Z`.
pub fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn parse_ts(s: Option<String>) -> Option<DateTime<Utc>> {
    s.and_then(|s| crate::stix::parse_timestamp(&s))
}

fn parse_required_ts(s: &str) -> Result<DateTime<Utc>, sqlx::Error> {
    crate::stix::parse_timestamp(s)
        .ok_or_else(|| sqlx::Error::Decode(format!("bad timestamp {s:?} in the database").into()))
}

impl SqliteStore {
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let connect_err = |source| StoreError::Connect {
            url: url.to_owned(),
            source,
        };
        let options = SqliteConnectOptions::from_str(url)
            .map_err(connect_err)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections)
            .connect_with(options)
            .await
            .map_err(connect_err)?;
        Ok(SqliteStore { pool })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    pub async fn commit_page(
        &self,
        page: &PageWrite,
        routes: &[SinkRoute],
    ) -> Result<usize, StoreError> {
        let mut tx = self.pool.begin().await?;
        let received_at = ts(page.received_at);
        let mut new_versions: HashSet<(String, DateTime<Utc>)> = HashSet::new();
        for chunk in page.objects.chunks(ROWS_PER_STATEMENT) {
            let mut insert: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO objects (id, modified, type, spec_version, created, revoked, tlp, collection,
                                      first_seen_at, content_hash, body) ",
            );
            insert.push_values(chunk, |mut row, o| {
                row.push_bind(o.key.id.as_str())
                    .push_bind(ts(o.key.modified))
                    .push_bind(o.key.object_type.as_str())
                    .push_bind(o.key.spec_version.as_str())
                    .push_bind(o.key.created.map(ts))
                    .push_bind(o.key.revoked)
                    .push_bind(o.tlp.map(|t| t.as_str()))
                    .push_bind(page.collection.as_str())
                    .push_bind(received_at.as_str())
                    .push_bind(o.key.content_hash.as_deref())
                    .push_bind(o.body.to_string());
            });
            // Same rule as PostgreSQL: an SCO whose content changed is updated; other versions are immutable.
            insert.push(
                " ON CONFLICT (id, modified) DO UPDATE
                    SET body = excluded.body, content_hash = excluded.content_hash,
                        collection = excluded.collection, first_seen_at = excluded.first_seen_at,
                        tlp = excluded.tlp
                    WHERE objects.content_hash IS NOT NULL
                      AND objects.content_hash IS NOT excluded.content_hash
                 RETURNING id, modified",
            );
            for row in insert.build().fetch_all(&mut *tx).await? {
                let modified: String = row.try_get(1)?;
                new_versions.insert((row.try_get(0)?, parse_required_ts(&modified)?));
            }
        }
        let (relationships, indicators) = index_rows(page, &new_versions);
        for chunk in relationships.chunks(ROWS_PER_STATEMENT) {
            let mut insert: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO relationships (id, modified, source_ref, relationship_type, target_ref) ",
            );
            insert.push_values(chunk, |mut row, (key, r)| {
                row.push_bind(key.id.as_str())
                    .push_bind(ts(key.modified))
                    .push_bind(r.source_ref.as_str())
                    .push_bind(r.relationship_type.as_str())
                    .push_bind(r.target_ref.as_str());
            });
            insert.push(" ON CONFLICT (id, modified) DO NOTHING");
            insert.build().execute(&mut *tx).await?;
        }
        let outbox = outbox_rows(page, &new_versions, routes);
        let now = ts(Utc::now());
        for chunk in outbox.chunks(ROWS_PER_STATEMENT) {
            let mut insert: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO deliveries (sink, object_id, modified, state, attempts, next_attempt_at) ",
            );
            insert.push_values(chunk, |mut row, (sink, key)| {
                row.push_bind(*sink)
                    .push_bind(key.id.as_str())
                    .push_bind(ts(key.modified))
                    .push_bind("pending")
                    .push_bind(0)
                    .push_bind(now.as_str());
            });
            insert.push(
                " ON CONFLICT (sink, object_id, modified) DO UPDATE
                    SET state = 'pending', attempts = 0, next_attempt_at = excluded.next_attempt_at,
                        last_error = NULL",
            );
            insert.build().execute(&mut *tx).await?;
        }
        for chunk in indicators.chunks(ROWS_PER_STATEMENT) {
            let mut insert: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO indicators (id, modified, pattern_type, observable_type, value) ",
            );
            insert.push_values(chunk, |mut row, (key, i)| {
                row.push_bind(key.id.as_str())
                    .push_bind(ts(key.modified))
                    .push_bind(i.pattern_type.as_str())
                    .push_bind(i.observable_type.as_str())
                    .push_bind(i.value.as_str());
            });
            insert.build().execute(&mut *tx).await?;
        }
        for q in &page.quarantined {
            sqlx::query(
                "INSERT INTO quarantine (collection, object_id, received_at, reasons, raw, raw_sha256)
                 VALUES (?, ?, ?, ?, ?, ?)
                 ON CONFLICT (collection, raw_sha256) DO NOTHING",
            )
            .bind(&page.collection)
            .bind(&q.object_id)
            .bind(&received_at)
            .bind(reasons_json(&q.reasons).to_string())
            .bind(&q.raw)
            .bind(q.raw_sha256())
            .execute(&mut *tx)
            .await?;
        }
        if let Some(cursor) = page.cursor {
            sqlx::query(
                "INSERT INTO cursors (collection, added_after_last) VALUES (?1, ?2)
                 ON CONFLICT (collection) DO UPDATE
                    SET added_after_last = CASE
                        WHEN cursors.added_after_last IS NULL
                          OR excluded.added_after_last > cursors.added_after_last
                        THEN excluded.added_after_last ELSE cursors.added_after_last END",
            )
            .bind(&page.collection)
            .bind(ts(cursor))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(new_versions.len())
    }

    pub async fn cursors(&self) -> Result<Vec<CursorRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT collection, added_after_last, last_poll_at, last_success_at, last_error
             FROM cursors ORDER BY collection",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CursorRow {
                    collection: r.try_get("collection")?,
                    added_after_last: parse_ts(r.try_get("added_after_last")?),
                    last_poll_at: parse_ts(r.try_get("last_poll_at")?),
                    last_success_at: parse_ts(r.try_get("last_success_at")?),
                    last_error: r.try_get("last_error")?,
                })
            })
            .collect()
    }

    pub async fn record_poll(
        &self,
        collection: &str,
        at: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let at = ts(at);
        let success_at = error.is_none().then_some(at.as_str());
        sqlx::query(
            "INSERT INTO cursors (collection, last_poll_at, last_success_at, last_error)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (collection) DO UPDATE
                SET last_poll_at = excluded.last_poll_at,
                    last_success_at = COALESCE(excluded.last_success_at, cursors.last_success_at),
                    last_error = excluded.last_error",
        )
        .bind(collection)
        .bind(&at)
        .bind(success_at)
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn object_versions(&self) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
        let rows = sqlx::query("SELECT id, modified FROM objects ORDER BY id, modified")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let modified: String = r.try_get("modified")?;
                Ok((r.try_get("id")?, parse_required_ts(&modified)?))
            })
            .collect()
    }

    pub async fn lookup(
        &self,
        observable_type: &str,
        value: &str,
    ) -> Result<Vec<LookupHit>, StoreError> {
        let (exact, prefix) = lookup_filter(observable_type);
        let rows = sqlx::query(
            "SELECT o.id, o.modified, json_extract(o.body, '$.name') AS name,
                    json_extract(o.body, '$.pattern') AS pattern, o.tlp, o.collection,
                    i.observable_type, i.value
             FROM indicators i
             JOIN objects o ON o.id = i.id AND o.modified = i.modified
             WHERE (i.observable_type = ?1 OR i.observable_type LIKE ?2) AND i.value = ?3
               AND NOT o.revoked
               AND o.modified = (SELECT MAX(x.modified) FROM objects x WHERE x.id = o.id)
             ORDER BY o.modified DESC, o.id",
        )
        .bind(exact)
        .bind(prefix)
        .bind(value)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let modified: String = r.try_get("modified")?;
                Ok(LookupHit {
                    id: r.try_get("id")?,
                    modified: parse_required_ts(&modified)?,
                    name: r.try_get("name")?,
                    pattern: r.try_get("pattern")?,
                    tlp: r.try_get("tlp")?,
                    collection: r.try_get("collection")?,
                    observable_type: r.try_get("observable_type")?,
                    value: r.try_get("value")?,
                })
            })
            .collect()
    }

    pub async fn edges_of(&self, ids: &[String]) -> Result<Vec<Edge>, StoreError> {
        let mut edges = Vec::new();
        // SQLite has no arrays: IN lists, in chunks well under its variable limit (each id is bound twice).
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
                "SELECT r.id, r.source_ref, r.relationship_type, r.target_ref
                 FROM relationships r
                 JOIN objects o ON o.id = r.id AND o.modified = r.modified
                 WHERE NOT o.revoked
                   AND r.modified = (SELECT MAX(x.modified) FROM objects x WHERE x.id = r.id)
                   AND (r.source_ref IN (",
            );
            push_list(&mut query, chunk);
            query.push(") OR r.target_ref IN (");
            push_list(&mut query, chunk);
            query.push(")) ORDER BY r.id");
            for r in query.build().fetch_all(&self.pool).await? {
                edges.push(Edge {
                    id: r.try_get("id")?,
                    source_ref: r.try_get("source_ref")?,
                    relationship_type: r.try_get("relationship_type")?,
                    target_ref: r.try_get("target_ref")?,
                });
            }
        }
        Ok(edges)
    }

    pub async fn summaries(&self, ids: &[String]) -> Result<Vec<ObjectSummary>, StoreError> {
        let mut summaries = Vec::new();
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
                "SELECT o.id, o.type, json_extract(o.body, '$.name') AS name, o.tlp, o.collection,
                        o.modified
                 FROM objects o
                 WHERE o.modified = (SELECT MAX(x.modified) FROM objects x WHERE x.id = o.id)
                   AND o.id IN (",
            );
            push_list(&mut query, chunk);
            query.push(") ORDER BY o.id");
            for r in query.build().fetch_all(&self.pool).await? {
                let modified: String = r.try_get("modified")?;
                summaries.push(ObjectSummary {
                    id: r.try_get("id")?,
                    object_type: r.try_get("type")?,
                    name: r.try_get("name")?,
                    tlp: r.try_get("tlp")?,
                    collection: r.try_get("collection")?,
                    modified: parse_required_ts(&modified)?,
                });
            }
        }
        Ok(summaries)
    }

    pub async fn quarantine_counts(&self) -> Result<HashMap<String, i64>, StoreError> {
        self.counts("SELECT collection, COUNT(*) FROM quarantine GROUP BY collection")
            .await
    }

    pub async fn object_counts(&self) -> Result<HashMap<String, i64>, StoreError> {
        self.counts("SELECT collection, COUNT(*) FROM objects GROUP BY collection")
            .await
    }

    async fn counts(&self, sql: &'static str) -> Result<HashMap<String, i64>, StoreError> {
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    pub async fn claim(
        &self,
        sink: &str,
        limit: usize,
        lease: std::time::Duration,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let now = Utc::now();
        let until = now + chrono::Duration::from_std(lease).unwrap_or_default();
        // One statement: the claim is atomic without SELECT … FOR UPDATE (SQLite has one writer anyway).
        let claimed = sqlx::query(
            "UPDATE deliveries SET next_attempt_at = ?1
             WHERE rowid IN (SELECT rowid FROM deliveries
                             WHERE sink = ?2 AND state = 'pending' AND next_attempt_at <= ?3
                             ORDER BY next_attempt_at, object_id LIMIT ?4)
             RETURNING object_id, modified, attempts",
        )
        .bind(ts(until))
        .bind(sink)
        .bind(ts(now))
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        let mut attempts_of: HashMap<(String, String), i64> = HashMap::with_capacity(claimed.len());
        for row in &claimed {
            attempts_of.insert(
                (row.try_get("object_id")?, row.try_get("modified")?),
                row.try_get("attempts")?,
            );
        }
        if attempts_of.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<(&String, &String)> = attempts_of.keys().map(|(i, m)| (i, m)).collect();
        let objects = sqlx::query(
            "SELECT o.id, o.modified, o.type, o.tlp, o.collection, o.body, o.first_seen_at
             FROM json_each(?1) k
             JOIN objects o ON o.id = json_extract(k.value, '$[0]')
                           AND o.modified = json_extract(k.value, '$[1]')",
        )
        .bind(serde_json::to_string(&keys).unwrap_or_default())
        .fetch_all(&self.pool)
        .await?;
        let mut deliveries = Vec::with_capacity(objects.len());
        for object in objects {
            let object_id: String = object.try_get("id")?;
            let modified: String = object.try_get("modified")?;
            let attempts = attempts_of
                .get(&(object_id.clone(), modified.clone()))
                .copied()
                .unwrap_or(0);
            let body: String = object.try_get("body")?;
            let tlp: Option<String> = object.try_get("tlp")?;
            let first_seen_at: String = object.try_get("first_seen_at")?;
            deliveries.push((
                first_seen_at,
                ClaimedDelivery {
                    object_id,
                    modified: parse_required_ts(&modified)?,
                    attempts: attempts.max(0) as u32,
                    object_type: object.try_get("type")?,
                    tlp: tlp.and_then(|t| t.parse().ok()),
                    collection: object.try_get("collection")?,
                    body: serde_json::from_str(&body)
                        .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
                },
            ));
        }
        deliveries.sort_by(|a, b| {
            (&a.0, a.1.modified, &a.1.object_id).cmp(&(&b.0, b.1.modified, &b.1.object_id))
        });
        Ok(deliveries.into_iter().map(|(_, d)| d).collect())
    }

    pub async fn settle(
        &self,
        sink: &str,
        settled: &[(String, DateTime<Utc>, Settlement)],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        // The common case, delivered, in one statement (the keys as a JSON array of [id, modified]);
        // retries and dead letters one by one.
        let delivered: Vec<(&str, String)> = settled
            .iter()
            .filter(|(_, _, s)| *s == Settlement::Delivered)
            .map(|(id, modified, _)| (id.as_str(), ts(*modified)))
            .collect();
        if !delivered.is_empty() {
            sqlx::query(
                "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, last_error = NULL
                 WHERE sink = ?1 AND (object_id, modified) IN
                       (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?2))",
            )
            .bind(sink)
            .bind(serde_json::to_string(&delivered).unwrap_or_default())
            .execute(&mut *tx)
            .await?;
        }
        for (object_id, modified, settlement) in settled {
            let (state, next_attempt_at, error) = match settlement {
                Settlement::Delivered => continue,
                Settlement::RetryAt { at, error } => {
                    ("pending", Some(ts(*at)), Some(error.as_str()))
                }
                Settlement::Dead { error } => ("dead", None, Some(error.as_str())),
            };
            sqlx::query(
                "UPDATE deliveries
                 SET state = ?4, attempts = attempts + 1, last_error = ?5,
                     next_attempt_at = COALESCE(?6, next_attempt_at)
                 WHERE sink = ?1 AND object_id = ?2 AND modified = ?3",
            )
            .bind(sink)
            .bind(object_id)
            .bind(ts(*modified))
            .bind(state)
            .bind(error)
            .bind(next_attempt_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn next_due(&self, sink: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let due: Option<String> = sqlx::query_scalar(
            "SELECT MIN(next_attempt_at) FROM deliveries WHERE sink = ?1 AND state = 'pending'",
        )
        .bind(sink)
        .fetch_one(&self.pool)
        .await?;
        Ok(parse_ts(due))
    }

    pub async fn sink_counts(&self) -> Result<Vec<SinkCounts>, StoreError> {
        let rows = sqlx::query(
            "SELECT d.sink,
                    SUM(d.state = 'pending') AS pending,
                    SUM(d.state = 'delivered') AS delivered,
                    SUM(d.state = 'dead') AS dead,
                    MIN(CASE WHEN d.state = 'pending' THEN o.first_seen_at END) AS oldest_pending
             FROM deliveries d JOIN objects o ON o.id = d.object_id AND o.modified = d.modified
             GROUP BY d.sink ORDER BY d.sink",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SinkCounts {
                    sink: r.try_get("sink")?,
                    pending: r.try_get("pending")?,
                    delivered: r.try_get("delivered")?,
                    dead: r.try_get("dead")?,
                    oldest_pending: parse_ts(r.try_get("oldest_pending")?),
                })
            })
            .collect()
    }

    pub async fn replay(
        &self,
        route: &SinkRoute,
        since: Option<DateTime<Utc>>,
        dead_only: bool,
    ) -> Result<u64, StoreError> {
        let now = ts(Utc::now());
        let since = since.map(ts);
        let levels = serde_json::to_string(&route.admitted_levels()).unwrap_or_default();
        let types = route
            .types
            .as_ref()
            .map(|t| serde_json::to_string(t).unwrap_or_default());
        // JSON arrays stand in for SQL arrays: `x IN (SELECT value FROM json_each(?))`.
        let result = if dead_only {
            sqlx::query(
                "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?2,
                        last_error = NULL
                 WHERE sink = ?1 AND state = 'dead'
                   AND EXISTS (SELECT 1 FROM objects o
                               WHERE o.id = deliveries.object_id AND o.modified = deliveries.modified
                                 AND (?3 IS NULL OR o.first_seen_at >= ?3)
                                 AND o.tlp IN (SELECT value FROM json_each(?4)))",
            )
            .bind(&route.sink)
            .bind(&now)
            .bind(&since)
            .bind(&levels)
            .execute(&self.pool)
            .await?
        } else {
            sqlx::query(
                "INSERT INTO deliveries (sink, object_id, modified, state, attempts, next_attempt_at)
                 SELECT ?1, o.id, o.modified, 'pending', 0, ?2 FROM objects o
                 WHERE o.modified = (SELECT MAX(x.modified) FROM objects x WHERE x.id = o.id)
                   AND (?3 IS NULL OR o.first_seen_at >= ?3)
                   AND (?4 IS NULL OR o.type IN (SELECT value FROM json_each(?4)))
                   AND o.tlp IN (SELECT value FROM json_each(?5))
                 ON CONFLICT (sink, object_id, modified) DO UPDATE
                    SET state = 'pending', attempts = 0, next_attempt_at = excluded.next_attempt_at,
                        last_error = NULL",
            )
            .bind(&route.sink)
            .bind(&now)
            .bind(&since)
            .bind(&types)
            .bind(&levels)
            .execute(&self.pool)
            .await?
        };
        Ok(result.rows_affected())
    }

    pub async fn marking_definitions(&self) -> Result<Vec<serde_json::Value>, StoreError> {
        let bodies: Vec<String> =
            sqlx::query_scalar("SELECT body FROM objects WHERE type = 'marking-definition'")
                .fetch_all(&self.pool)
                .await?;
        bodies
            .iter()
            .map(|b| serde_json::from_str(b).map_err(|e| sqlx::Error::Decode(Box::new(e)).into()))
            .collect()
    }
}

fn push_list(query: &mut QueryBuilder<Sqlite>, values: &[String]) {
    let mut list = query.separated(", ");
    for value in values {
        list.push_bind(value.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_fixed_width() {
        let t = DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(ts(t), "2025-01-01T00:00:00.000000Z");
        let t = DateTime::parse_from_rfc3339("2025-01-01T00:00:00.1234567Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(ts(t), "2025-01-01T00:00:00.123456Z");
    }
}
