-- taxii-relay schema (SQLite). Same tables and columns as migrations/postgres; timestamps are TEXT in
-- RFC 3339 UTC with exactly six fractional digits (`2025-01-01T00:00:00.000000Z`), so text order is time order.

CREATE TABLE cursors (
    collection        TEXT PRIMARY KEY,
    added_after_last  TEXT,
    last_poll_at      TEXT,
    last_success_at   TEXT,
    last_error        TEXT
);

CREATE TABLE objects (
    id             TEXT    NOT NULL,
    modified       TEXT    NOT NULL,
    type           TEXT    NOT NULL,
    spec_version   TEXT    NOT NULL,
    created        TEXT,
    revoked        INTEGER NOT NULL DEFAULT 0,
    tlp            TEXT,
    collection     TEXT    NOT NULL,
    first_seen_at  TEXT    NOT NULL,
    content_hash   TEXT,
    body           TEXT    NOT NULL,
    PRIMARY KEY (id, modified)
) WITHOUT ROWID;
CREATE INDEX objects_type_idx ON objects (type);
CREATE INDEX objects_tlp_idx ON objects (tlp);
CREATE INDEX objects_first_seen_at_idx ON objects (first_seen_at);

CREATE TABLE relationships (
    id                 TEXT NOT NULL,
    modified           TEXT NOT NULL,
    source_ref         TEXT NOT NULL,
    relationship_type  TEXT NOT NULL,
    target_ref         TEXT NOT NULL,
    PRIMARY KEY (id, modified)
);
CREATE INDEX relationships_source_idx ON relationships (source_ref, relationship_type);
CREATE INDEX relationships_target_idx ON relationships (target_ref, relationship_type);

CREATE TABLE indicators (
    id               TEXT NOT NULL,
    modified         TEXT NOT NULL,
    pattern_type     TEXT NOT NULL,
    observable_type  TEXT NOT NULL,
    value            TEXT NOT NULL
);
CREATE INDEX indicators_lookup_idx ON indicators (observable_type, value);
CREATE INDEX indicators_id_idx ON indicators (id, modified);

CREATE TABLE quarantine (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    collection   TEXT NOT NULL,
    object_id    TEXT,
    received_at  TEXT NOT NULL,
    reasons      TEXT NOT NULL,
    raw          BLOB NOT NULL,
    raw_sha256   TEXT NOT NULL       -- the same bad content re-polled through the overlap is kept once
);
CREATE INDEX quarantine_collection_idx ON quarantine (collection, received_at);
CREATE UNIQUE INDEX quarantine_raw_idx ON quarantine (collection, raw_sha256);

CREATE TABLE deliveries (
    sink             TEXT    NOT NULL,
    object_id        TEXT    NOT NULL,
    modified         TEXT    NOT NULL,
    state            TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT    NOT NULL,
    last_error       TEXT,
    PRIMARY KEY (sink, object_id, modified)
);
CREATE INDEX deliveries_pending_idx ON deliveries (sink, next_attempt_at) WHERE state = 'pending';

CREATE TABLE leases (
    collection  TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
