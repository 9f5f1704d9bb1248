-- taxii-relay schema (PostgreSQL). Table and column names are a public contract (DESIGN.md, "Data model").

CREATE TABLE cursors (
    collection        TEXT PRIMARY KEY,
    added_after_last  TIMESTAMPTZ,            -- the server's X-TAXII-Date-Added-Last of the last page stored
    last_poll_at      TIMESTAMPTZ,
    last_success_at   TIMESTAMPTZ,
    last_error        TEXT
);

-- One row per object version. The version key is `modified`, else `created`, else the epoch with
-- content_hash telling SCO versions apart (an SCO whose content changes is updated in place).
CREATE TABLE objects (
    id             TEXT        NOT NULL,
    modified       TIMESTAMPTZ NOT NULL,
    type           TEXT        NOT NULL,
    spec_version   TEXT        NOT NULL,
    created        TIMESTAMPTZ,
    revoked        BOOLEAN     NOT NULL DEFAULT FALSE,
    tlp            TEXT,
    collection     TEXT        NOT NULL,
    first_seen_at  TIMESTAMPTZ NOT NULL,
    content_hash   TEXT,
    body           JSONB       NOT NULL,
    PRIMARY KEY (id, modified)
);
CREATE INDEX objects_type_idx ON objects (type);
CREATE INDEX objects_tlp_idx ON objects (tlp);
CREATE INDEX objects_first_seen_at_idx ON objects (first_seen_at);

CREATE TABLE relationships (
    id                 TEXT        NOT NULL,
    modified           TIMESTAMPTZ NOT NULL,
    source_ref         TEXT        NOT NULL,
    relationship_type  TEXT        NOT NULL,
    target_ref         TEXT        NOT NULL,
    PRIMARY KEY (id, modified)
);
CREATE INDEX relationships_source_idx ON relationships (source_ref, relationship_type);
CREATE INDEX relationships_target_idx ON relationships (target_ref, relationship_type);

CREATE TABLE indicators (
    id               TEXT        NOT NULL,
    modified         TIMESTAMPTZ NOT NULL,
    pattern_type     TEXT        NOT NULL,
    observable_type  TEXT        NOT NULL,
    value            TEXT        NOT NULL
);
CREATE INDEX indicators_lookup_idx ON indicators (observable_type, value);
CREATE INDEX indicators_id_idx ON indicators (id, modified);

CREATE TABLE quarantine (
    seq          BIGSERIAL PRIMARY KEY,
    collection   TEXT        NOT NULL,
    object_id    TEXT,
    received_at  TIMESTAMPTZ NOT NULL,
    reasons      JSONB       NOT NULL,
    raw          BYTEA       NOT NULL,
    raw_sha256   TEXT        NOT NULL       -- the same bad content re-polled through the overlap is kept once
);
CREATE INDEX quarantine_collection_idx ON quarantine (collection, received_at);
CREATE UNIQUE INDEX quarantine_raw_idx ON quarantine (collection, raw_sha256);

CREATE TABLE deliveries (
    sink             TEXT        NOT NULL,
    object_id        TEXT        NOT NULL,
    modified         TIMESTAMPTZ NOT NULL,
    state            TEXT        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts         INTEGER     NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    last_error       TEXT,
    PRIMARY KEY (sink, object_id, modified)
);
CREATE INDEX deliveries_pending_idx ON deliveries (sink, next_attempt_at) WHERE state = 'pending';

CREATE TABLE leases (
    collection  TEXT PRIMARY KEY,
    holder      TEXT        NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
