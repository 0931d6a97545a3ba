-- The alert key tables ordered by fingerprint first (SQLite only). Every
-- lookup of an identity walks a key table comparing keys: with the
-- integration first, which nearly every key shares, each comparison
-- decoded both records to reach the fingerprint; with the fingerprint
-- first (hashes, which differ in their first characters) it ends at the
-- first field. The key probes took a quarter of the writer's work for a
-- new alert (docs/BENCHMARKS.md, "Alert intake, ninth pass"). Lookups
-- name both columns, so they use the key in either order.

-- The trigger names alert_keys_recent; it is made again once the table is.
DROP TRIGGER alerts_identity_recent;

CREATE TABLE alert_keys_reordered (
    fingerprint TEXT NOT NULL,
    integration_id INTEGER NOT NULL,
    alert_id INTEGER NOT NULL,
    PRIMARY KEY (fingerprint, integration_id)
) WITHOUT ROWID;
INSERT INTO alert_keys_reordered (fingerprint, integration_id, alert_id)
    SELECT fingerprint, integration_id, alert_id FROM alert_keys ORDER BY fingerprint, integration_id;
DROP TABLE alert_keys;
ALTER TABLE alert_keys_reordered RENAME TO alert_keys;

CREATE TABLE alert_keys_settling_reordered (
    fingerprint TEXT NOT NULL,
    integration_id INTEGER NOT NULL,
    alert_id INTEGER NOT NULL,
    PRIMARY KEY (fingerprint, integration_id)
) WITHOUT ROWID;
INSERT INTO alert_keys_settling_reordered (fingerprint, integration_id, alert_id)
    SELECT fingerprint, integration_id, alert_id FROM alert_keys_settling ORDER BY fingerprint, integration_id;
DROP TABLE alert_keys_settling;
ALTER TABLE alert_keys_settling_reordered RENAME TO alert_keys_settling;

CREATE TABLE alert_keys_recent_reordered (
    fingerprint TEXT NOT NULL,
    integration_id INTEGER NOT NULL,
    alert_id INTEGER NOT NULL,
    PRIMARY KEY (fingerprint, integration_id)
) WITHOUT ROWID;
INSERT INTO alert_keys_recent_reordered (fingerprint, integration_id, alert_id)
    SELECT fingerprint, integration_id, alert_id FROM alert_keys_recent ORDER BY fingerprint, integration_id;
DROP TABLE alert_keys_recent;
ALTER TABLE alert_keys_recent_reordered RENAME TO alert_keys_recent;

CREATE TRIGGER alerts_identity_recent AFTER INSERT ON alerts
BEGIN
    INSERT INTO alert_keys_recent (fingerprint, integration_id, alert_id)
    VALUES (NEW.fingerprint, NEW.integration_id, NEW.id);
END;
