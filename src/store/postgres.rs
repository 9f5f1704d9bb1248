//! PostgreSQL backend: `body` as jsonb, batched writes through `UNNEST` (one statement per page, not one
//! round trip per object), timestamps as timestamptz.

use super::{
    index_rows, lookup_filter, outbox_rows, reasons_json, ClaimedDelivery, CursorRow, Edge,
    LookupHit, ObjectSummary, PageWrite, Settlement, SinkCounts, SinkRoute, StoreError,
};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Row};
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let connect_err = |source| StoreError::Connect {
            url: crate::config::redact_url_str(url),
            source,
        };
        let options = PgConnectOptions::from_str(url).map_err(connect_err)?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(connect_err)?;
        Ok(PgStore { pool })
    }

    /// The pool, for tests and for stages that run their own queries.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    /// Returns how many object versions were new (or SCOs whose content changed).
    pub async fn commit_page(
        &self,
        page: &PageWrite,
        routes: &[SinkRoute],
    ) -> Result<usize, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut new = 0;
        if !page.objects.is_empty() {
            let n = page.objects.len();
            let mut ids = Vec::with_capacity(n);
            let mut modified = Vec::with_capacity(n);
            let mut types = Vec::with_capacity(n);
            let mut spec_versions = Vec::with_capacity(n);
            let mut created: Vec<Option<DateTime<Utc>>> = Vec::with_capacity(n);
            let mut revoked = Vec::with_capacity(n);
            let mut tlps: Vec<Option<String>> = Vec::with_capacity(n);
            let mut hashes: Vec<Option<String>> = Vec::with_capacity(n);
            let mut bodies: Vec<Value> = Vec::with_capacity(n);
            for o in &page.objects {
                ids.push(o.key.id.clone());
                modified.push(o.key.modified);
                types.push(o.key.object_type.clone());
                spec_versions.push(o.key.spec_version.clone());
                created.push(o.key.created);
                revoked.push(o.key.revoked);
                tlps.push(o.tlp.map(|t| t.as_str().to_owned()));
                hashes.push(o.key.content_hash.clone());
                bodies.push(o.body.clone());
            }
            // A version already stored is left alone, except an SCO (no timestamps) whose content changed:
            // that is its update. RETURNING yields inserted and updated rows only.
            let rows = sqlx::query(
                "INSERT INTO objects (id, modified, type, spec_version, created, revoked, tlp, collection,
                                      first_seen_at, content_hash, body)
                 SELECT u.id, u.modified, u.type, u.spec_version, u.created, u.revoked, u.tlp, $8, $9,
                        u.content_hash, u.body
                 FROM UNNEST($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::timestamptz[],
                             $6::bool[], $7::text[], $10::text[], $11::jsonb[])
                      AS u(id, modified, type, spec_version, created, revoked, tlp, content_hash, body)
                 ON CONFLICT (id, modified) DO UPDATE
                    SET body = excluded.body, content_hash = excluded.content_hash,
                        collection = excluded.collection, first_seen_at = excluded.first_seen_at,
                        tlp = excluded.tlp
                    WHERE objects.content_hash IS NOT NULL
                      AND objects.content_hash IS DISTINCT FROM excluded.content_hash
                 RETURNING id, modified",
            )
            .bind(&ids)
            .bind(&modified)
            .bind(&types)
            .bind(&spec_versions)
            .bind(&created)
            .bind(&revoked)
            .bind(&tlps)
            .bind(&page.collection)
            .bind(page.received_at)
            .bind(&hashes)
            .bind(&bodies)
            .fetch_all(&mut *tx)
            .await?;
            new = rows.len();
            let new_versions: HashSet<(String, DateTime<Utc>)> = rows
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<Result<_, sqlx::Error>>()?;
            let (relationships, indicators) = index_rows(page, &new_versions);
            if !relationships.is_empty() {
                let (mut ids, mut modified, mut sources, mut kinds, mut targets) =
                    (vec![], vec![], vec![], vec![], vec![]);
                for (key, r) in relationships {
                    ids.push(key.id.as_str());
                    modified.push(key.modified);
                    sources.push(r.source_ref.as_str());
                    kinds.push(r.relationship_type.as_str());
                    targets.push(r.target_ref.as_str());
                }
                sqlx::query(
                    "INSERT INTO relationships (id, modified, source_ref, relationship_type, target_ref)
                     SELECT * FROM UNNEST($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[])
                     ON CONFLICT (id, modified) DO NOTHING",
                )
                .bind(&ids)
                .bind(&modified)
                .bind(&sources)
                .bind(&kinds)
                .bind(&targets)
                .execute(&mut *tx)
                .await?;
            }
            let outbox = outbox_rows(page, &new_versions, routes);
            if !outbox.is_empty() {
                let (mut sinks, mut ids, mut modified) = (vec![], vec![], vec![]);
                for (sink, key) in outbox {
                    sinks.push(sink);
                    ids.push(key.id.as_str());
                    modified.push(key.modified);
                }
                sqlx::query(
                    "INSERT INTO deliveries (sink, object_id, modified, state, attempts, next_attempt_at)
                     SELECT u.sink, u.id, u.modified, 'pending', 0, now()
                     FROM UNNEST($1::text[], $2::text[], $3::timestamptz[]) AS u(sink, id, modified)
                     ON CONFLICT (sink, object_id, modified) DO UPDATE
                        SET state = 'pending', attempts = 0, next_attempt_at = excluded.next_attempt_at,
                            last_error = NULL",
                )
                .bind(&sinks)
                .bind(&ids)
                .bind(&modified)
                .execute(&mut *tx)
                .await?;
            }
            if !indicators.is_empty() {
                let (mut ids, mut modified, mut pattern_types, mut observable_types, mut values) =
                    (vec![], vec![], vec![], vec![], vec![]);
                for (key, i) in indicators {
                    ids.push(key.id.as_str());
                    modified.push(key.modified);
                    pattern_types.push(i.pattern_type.as_str());
                    observable_types.push(i.observable_type.as_str());
                    values.push(i.value.as_str());
                }
                sqlx::query(
                    "INSERT INTO indicators (id, modified, pattern_type, observable_type, value)
                     SELECT * FROM UNNEST($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[])",
                )
                .bind(&ids)
                .bind(&modified)
                .bind(&pattern_types)
                .bind(&observable_types)
                .bind(&values)
                .execute(&mut *tx)
                .await?;
            }
        }
        for q in &page.quarantined {
            sqlx::query(
                "INSERT INTO quarantine (collection, object_id, received_at, reasons, raw, raw_sha256)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (collection, raw_sha256) DO NOTHING",
            )
            .bind(&page.collection)
            .bind(&q.object_id)
            .bind(page.received_at)
            .bind(reasons_json(&q.reasons))
            .bind(&q.raw)
            .bind(q.raw_sha256())
            .execute(&mut *tx)
            .await?;
        }
        if let Some(cursor) = page.cursor {
            sqlx::query(
                "INSERT INTO cursors (collection, added_after_last) VALUES ($1, $2)
                 ON CONFLICT (collection) DO UPDATE
                    SET added_after_last = GREATEST(cursors.added_after_last, excluded.added_after_last)",
            )
            .bind(&page.collection)
            .bind(cursor)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(new)
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
                    added_after_last: r.try_get("added_after_last")?,
                    last_poll_at: r.try_get("last_poll_at")?,
                    last_success_at: r.try_get("last_success_at")?,
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
        sqlx::query(
            "INSERT INTO cursors (collection, last_poll_at, last_success_at, last_error)
             VALUES ($1, $2, CASE WHEN $3::text IS NULL THEN $2 END, $3)
             ON CONFLICT (collection) DO UPDATE
                SET last_poll_at = excluded.last_poll_at,
                    last_success_at = COALESCE(excluded.last_success_at, cursors.last_success_at),
                    last_error = excluded.last_error",
        )
        .bind(collection)
        .bind(at)
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
            .map(|r| Ok((r.try_get("id")?, r.try_get("modified")?)))
            .collect()
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

    pub async fn lookup(
        &self,
        observable_type: &str,
        value: &str,
    ) -> Result<Vec<LookupHit>, StoreError> {
        let (exact, prefix) = lookup_filter(observable_type);
        let rows = sqlx::query(
            "SELECT o.id, o.modified, o.body->>'name' AS name, o.body->>'pattern' AS pattern, o.tlp,
                    o.collection, i.observable_type, i.value
             FROM indicators i
             JOIN objects o ON o.id = i.id AND o.modified = i.modified
             WHERE (i.observable_type = $1 OR i.observable_type LIKE $2::text) AND i.value = $3
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
                Ok(LookupHit {
                    id: r.try_get("id")?,
                    modified: r.try_get("modified")?,
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
        let rows = sqlx::query(
            "SELECT r.id, r.source_ref, r.relationship_type, r.target_ref
             FROM relationships r
             JOIN objects o ON o.id = r.id AND o.modified = r.modified
             WHERE (r.source_ref = ANY($1) OR r.target_ref = ANY($1))
               AND NOT o.revoked
               AND r.modified = (SELECT MAX(x.modified) FROM objects x WHERE x.id = r.id)
             ORDER BY r.id",
        )
        .bind(ids)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Edge {
                    id: r.try_get("id")?,
                    source_ref: r.try_get("source_ref")?,
                    relationship_type: r.try_get("relationship_type")?,
                    target_ref: r.try_get("target_ref")?,
                })
            })
            .collect()
    }

    pub async fn summaries(&self, ids: &[String]) -> Result<Vec<ObjectSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT o.id, o.type, o.body->>'name' AS name, o.tlp, o.collection, o.modified
             FROM objects o
             WHERE o.id = ANY($1)
               AND o.modified = (SELECT MAX(x.modified) FROM objects x WHERE x.id = o.id)
             ORDER BY o.id",
        )
        .bind(ids)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ObjectSummary {
                    id: r.try_get("id")?,
                    object_type: r.try_get("type")?,
                    name: r.try_get("name")?,
                    tlp: r.try_get("tlp")?,
                    collection: r.try_get("collection")?,
                    modified: r.try_get("modified")?,
                })
            })
            .collect()
    }

    pub async fn claim(
        &self,
        sink: &str,
        limit: usize,
        lease: std::time::Duration,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        // SKIP LOCKED: replicas claiming for the same sink take disjoint rows; the lease keeps them apart
        // after this statement's locks are gone.
        let rows = sqlx::query(
            "WITH due AS (
                 SELECT sink, object_id, modified FROM deliveries
                 WHERE sink = $1 AND state = 'pending' AND next_attempt_at <= now()
                 ORDER BY next_attempt_at, object_id
                 LIMIT $2
                 FOR UPDATE SKIP LOCKED),
             claimed AS (
                 UPDATE deliveries d SET next_attempt_at = now() + make_interval(secs => $3)
                 FROM due
                 WHERE d.sink = due.sink AND d.object_id = due.object_id AND d.modified = due.modified
                 RETURNING d.object_id, d.modified, d.attempts)
             SELECT c.object_id, c.modified, c.attempts, o.type, o.tlp, o.collection, o.body
             FROM claimed c JOIN objects o ON o.id = c.object_id AND o.modified = c.modified
             ORDER BY o.first_seen_at, c.modified, c.object_id",
        )
        .bind(sink)
        .bind(limit as i64)
        .bind(lease.as_secs_f64())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let attempts: i32 = r.try_get("attempts")?;
                let tlp: Option<String> = r.try_get("tlp")?;
                Ok(ClaimedDelivery {
                    object_id: r.try_get("object_id")?,
                    modified: r.try_get("modified")?,
                    attempts: attempts.max(0) as u32,
                    object_type: r.try_get("type")?,
                    tlp: tlp.and_then(|t| t.parse().ok()),
                    collection: r.try_get("collection")?,
                    body: r.try_get("body")?,
                })
            })
            .collect()
    }

    pub async fn settle(
        &self,
        sink: &str,
        settled: &[(String, DateTime<Utc>, Settlement)],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        // The common case, delivered, in one statement; retries and dead letters one by one.
        let (delivered_ids, delivered_modified): (Vec<&str>, Vec<DateTime<Utc>>) = settled
            .iter()
            .filter(|(_, _, s)| *s == Settlement::Delivered)
            .map(|(id, modified, _)| (id.as_str(), *modified))
            .unzip();
        if !delivered_ids.is_empty() {
            sqlx::query(
                "UPDATE deliveries d
                 SET state = 'delivered', attempts = d.attempts + 1, last_error = NULL
                 FROM UNNEST($2::text[], $3::timestamptz[]) AS u(object_id, modified)
                 WHERE d.sink = $1 AND d.object_id = u.object_id AND d.modified = u.modified",
            )
            .bind(sink)
            .bind(&delivered_ids)
            .bind(&delivered_modified)
            .execute(&mut *tx)
            .await?;
        }
        for (object_id, modified, settlement) in settled {
            let (state, next_attempt_at, error) = match settlement {
                Settlement::Delivered => continue,
                Settlement::RetryAt { at, error } => ("pending", Some(*at), Some(error.as_str())),
                Settlement::Dead { error } => ("dead", None, Some(error.as_str())),
            };
            sqlx::query(
                "UPDATE deliveries
                 SET state = $4, attempts = attempts + 1, last_error = $5,
                     next_attempt_at = COALESCE($6, next_attempt_at)
                 WHERE sink = $1 AND object_id = $2 AND modified = $3",
            )
            .bind(sink)
            .bind(object_id)
            .bind(modified)
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
        let due: Option<DateTime<Utc>> = sqlx::query_scalar(
            "SELECT MIN(next_attempt_at) FROM deliveries WHERE sink = $1 AND state = 'pending'",
        )
        .bind(sink)
        .fetch_one(&self.pool)
        .await?;
        Ok(due)
    }

    pub async fn sink_counts(&self) -> Result<Vec<SinkCounts>, StoreError> {
        let rows = sqlx::query(
            "SELECT d.sink,
                    COUNT(*) FILTER (WHERE d.state = 'pending') AS pending,
                    COUNT(*) FILTER (WHERE d.state = 'delivered') AS delivered,
                    COUNT(*) FILTER (WHERE d.state = 'dead') AS dead,
                    MIN(o.first_seen_at) FILTER (WHERE d.state = 'pending') AS oldest_pending
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
                    oldest_pending: r.try_get("oldest_pending")?,
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
        let levels = route.admitted_levels();
        let result = if dead_only {
            sqlx::query(
                "UPDATE deliveries d SET state = 'pending', attempts = 0, next_attempt_at = now(),
                        last_error = NULL
                 FROM objects o
                 WHERE d.sink = $1 AND d.state = 'dead'
                   AND o.id = d.object_id AND o.modified = d.modified
                   AND ($2::timestamptz IS NULL OR o.first_seen_at >= $2)
                   AND o.tlp = ANY($3)",
            )
            .bind(&route.sink)
            .bind(since)
            .bind(&levels)
            .execute(&self.pool)
            .await?
        } else {
            sqlx::query(
                "INSERT INTO deliveries (sink, object_id, modified, state, attempts, next_attempt_at)
                 SELECT $1, o.id, o.modified, 'pending', 0, now() FROM objects o
                 WHERE o.modified = (SELECT MAX(x.modified) FROM objects x WHERE x.id = o.id)
                   AND ($2::timestamptz IS NULL OR o.first_seen_at >= $2)
                   AND ($3::text[] IS NULL OR o.type = ANY($3))
                   AND o.tlp = ANY($4)
                 ON CONFLICT (sink, object_id, modified) DO UPDATE
                    SET state = 'pending', attempts = 0, next_attempt_at = now(), last_error = NULL",
            )
            .bind(&route.sink)
            .bind(since)
            .bind(&route.types)
            .bind(&levels)
            .execute(&self.pool)
            .await?
        };
        Ok(result.rows_affected())
    }

    pub async fn marking_definitions(&self) -> Result<Vec<Value>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT body FROM objects WHERE type = 'marking-definition'")
                .fetch_all(&self.pool)
                .await?,
        )
    }
}
