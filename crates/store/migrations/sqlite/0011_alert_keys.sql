-- Alert identities (integration, fingerprint) move out of a unique index
-- on `alerts` into two key tables (SQLite only; PostgreSQL keeps its
-- unique index). Fingerprints are hashes, so every new alert went to a
-- random leaf of one large index: a batch of 100 new alerts rewrote about
-- 100 index pages (in the savepoint journal, the write-ahead log and the
-- checkpoint), which cost intake about 45% of its new-alert throughput
-- (docs/BENCHMARKS.md, "Alert intake, sixth pass").
--
-- New identities go to alert_keys_recent, kept small, so a batch touches
-- few of its pages; the store's settler moves them into alert_keys in key
-- order, thousands at a time, writing each page of the large table once
-- per move instead of once per alert (see crates/store/src/alerts/keys.rs).
-- An alert is looked up in both.

CREATE TABLE alert_keys (
    integration_id INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    alert_id INTEGER NOT NULL,
    PRIMARY KEY (integration_id, fingerprint)
) WITHOUT ROWID;

CREATE TABLE alert_keys_recent (
    integration_id INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    alert_id INTEGER NOT NULL,
    PRIMARY KEY (integration_id, fingerprint)
) WITHOUT ROWID;

-- The same table without UNIQUE (integration_id, fingerprint): SQLite
-- cannot drop a table constraint, so the table is copied (ids kept).
CREATE TABLE alerts_rebuilt (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    integration_id INTEGER NOT NULL REFERENCES alert_integrations(id),
    fingerprint TEXT NOT NULL,
    source TEXT NOT NULL,
    status TEXT NOT NULL,
    labels TEXT NOT NULL,
    annotations TEXT NOT NULL,
    summary TEXT NOT NULL,
    severity TEXT NOT NULL,
    dedup_key TEXT,
    url TEXT,
    service_id INTEGER REFERENCES services(id),
    action TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    acknowledged_at INTEGER,
    resolved_at INTEGER,
    count INTEGER NOT NULL,
    occurrences INTEGER NOT NULL,
    suppressed_by TEXT,
    flapping INTEGER NOT NULL,
    flap TEXT NOT NULL,
    incident_id INTEGER REFERENCES tickets(id),
    content_digest INTEGER
);
INSERT INTO alerts_rebuilt SELECT id, integration_id, fingerprint, source, status, labels, annotations,
    summary, severity, dedup_key, url, service_id, action, first_seen, last_seen, started_at,
    acknowledged_at, resolved_at, count, occurrences, suppressed_by, flapping, flap, incident_id,
    content_digest FROM alerts;
INSERT INTO alert_keys (integration_id, fingerprint, alert_id)
    SELECT integration_id, fingerprint, id FROM alerts ORDER BY integration_id, fingerprint;
-- Ids keep counting from where they were.
DELETE FROM sqlite_sequence WHERE name = 'alerts_rebuilt';
INSERT INTO sqlite_sequence (name, seq) SELECT 'alerts_rebuilt', seq FROM sqlite_sequence WHERE name = 'alerts';
DROP TABLE alerts;
ALTER TABLE alerts_rebuilt RENAME TO alerts;
CREATE INDEX alerts_incident ON alerts(incident_id);
CREATE INDEX alerts_status ON alerts(status, id);
CREATE INDEX alerts_service ON alerts(service_id, id);

-- An identity is stored at most once: every insert into alerts leaves out
-- the rows whose identity either table holds (the statements in
-- crates/store/src/alerts/intake.rs and intake/shortcuts.rs), and the
-- recent table's primary key refuses a duplicate among recent ones.
CREATE TRIGGER alerts_identity_recent AFTER INSERT ON alerts
BEGIN
    INSERT INTO alert_keys_recent (integration_id, fingerprint, alert_id)
    VALUES (NEW.integration_id, NEW.fingerprint, NEW.id);
END;

-- Identity columns never change once stored.
CREATE TRIGGER alerts_identity_fixed BEFORE UPDATE OF integration_id, fingerprint ON alerts
WHEN NEW.integration_id IS NOT OLD.integration_id OR NEW.fingerprint IS NOT OLD.fingerprint
BEGIN
    SELECT RAISE(ABORT, 'an alert''s integration and fingerprint cannot change');
END;
