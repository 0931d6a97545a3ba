-- The settling and settled alert key tables move out of the database into
-- a file of their own beside it, `<database>-keys`, attached to every
-- connection as schema `keys` (SQLite only; see
-- crates/store/src/alerts/keys.rs). Writes to one SQLite file take turns,
-- so the moves of identities into those tables held up intake for their
-- whole length, 7-17% of the writer's time (docs/BENCHMARKS.md, "Alert
-- intake, eleventh pass"); in a file of their own they run beside it.
-- alert_keys_recent stays here: the trigger fills it in the transaction
-- that stores the alert.
--
-- The key file is derived data: when the store opens and the file is
-- missing, belongs to another database or does not match its alerts, the
-- store builds it again from `alerts`. This token says which database a
-- key file belongs to; the first open after this migration builds it.

CREATE TABLE alert_key_file (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    token TEXT NOT NULL
);
INSERT INTO alert_key_file (id, token) VALUES (1, lower(hex(randomblob(16))));

DROP TABLE main.alert_keys;
DROP TABLE main.alert_keys_settling;
