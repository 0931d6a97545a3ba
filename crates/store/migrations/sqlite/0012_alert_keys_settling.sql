-- A middle level between alert_keys_recent and alert_keys (SQLite only).
-- Moving recent identities straight into alert_keys wrote nearly every
-- page of that table on each move, as a few thousand hashes land on
-- nearly every leaf of it: the cost of a move grew with every alert ever
-- stored, and past a few hundred thousand alerts moves held the writer
-- for a tenth of its time (docs/BENCHMARKS.md, "Alert intake, eighth
-- pass"). Recent identities now move into this small table; only once it
-- holds many do they move on into alert_keys, all at once, so each page
-- of the large table is written once per many more alerts (see
-- crates/store/src/alerts/keys.rs). An alert is looked up in all three.

CREATE TABLE alert_keys_settling (
    integration_id INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    alert_id INTEGER NOT NULL,
    PRIMARY KEY (integration_id, fingerprint)
) WITHOUT ROWID;
