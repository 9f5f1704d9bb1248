//! PostgreSQL backend: `body` as jsonb, batched writes through `UNNEST` (one statement per page, not one
//! round trip per object), timestamps as timestamptz.

use super::{reasons_json, CursorRow, PageWrite, StoreError};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Row};
use std::collections::HashMap;
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
    pub async fn commit_page(&self, page: &PageWrite) -> Result<usize, StoreError> {
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
                tlps.push(o.tlp.clone());
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
                 RETURNING id",
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

    pub async fn ready(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1 FROM cursors LIMIT 1")
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
