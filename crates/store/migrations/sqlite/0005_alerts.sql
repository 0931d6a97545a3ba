-- Alert intake: integrations, alerts, the incidents alerts are grouped
-- into, silences, maintenance windows, inhibition rules and noise counters.
-- Times are UTC epoch microseconds; booleans 0/1; JSON is text (the
-- domain's serde shapes). Kept column-for-column identical to PostgreSQL.

-- One per sender and service. key_hash is the SHA-256 of the integration
-- key (shown once at creation); config holds the fallback route, the
-- routes in order and the flap policy.
CREATE TABLE alert_integrations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    service_id INTEGER NOT NULL REFERENCES services(id),
    key_hash TEXT NOT NULL UNIQUE,
    key_prefix TEXT NOT NULL,
    config TEXT NOT NULL,
    created_by INTEGER NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    disabled_at INTEGER
);

-- One row per alert identity (fingerprint, 16 hex digits) per integration.
-- suppressed_by is the domain's SuppressedBy as JSON (NULL: not
-- suppressed); flap is the FlapState as JSON.
CREATE TABLE alerts (
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
    UNIQUE (integration_id, fingerprint)
);
CREATE INDEX alerts_incident ON alerts(incident_id);
CREATE INDEX alerts_status ON alerts(status, id);
CREATE INDEX alerts_service ON alerts(service_id, id);

-- The incident an alert group opened. key_digest indexes the group key
-- (which may be long); whether the group still takes alerts is read from
-- the incident's own state, so a resolve by hand counts too.
CREATE TABLE alert_groups (
    incident_id INTEGER PRIMARY KEY REFERENCES tickets(id),
    integration_id INTEGER NOT NULL REFERENCES alert_integrations(id),
    service_id INTEGER NOT NULL REFERENCES services(id),
    group_key TEXT NOT NULL,
    key_digest TEXT NOT NULL,
    opened_at INTEGER NOT NULL,
    auto_resolve INTEGER NOT NULL
);
CREATE INDEX alert_groups_key ON alert_groups(key_digest, opened_at);

CREATE TABLE alert_silences (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    matchers TEXT NOT NULL,
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    created_by INTEGER NOT NULL REFERENCES users(id),
    comment TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX alert_silences_ends ON alert_silences(ends_at);

CREATE TABLE maintenance_windows (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    service_id INTEGER NOT NULL REFERENCES services(id),
    schedule TEXT NOT NULL,
    comment TEXT NOT NULL,
    created_by INTEGER NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- ord: rules are tried in this order (ties by id).
CREATE TABLE inhibition_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ord INTEGER NOT NULL,
    rule TEXT NOT NULL,
    created_by INTEGER NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Noise counters per service and UTC day (days since 1970-01-01).
CREATE TABLE alert_noise (
    service_id INTEGER NOT NULL REFERENCES services(id),
    day INTEGER NOT NULL,
    received INTEGER NOT NULL,
    deduplicated INTEGER NOT NULL,
    ignored INTEGER NOT NULL,
    suppressed INTEGER NOT NULL,
    flapping INTEGER NOT NULL,
    recorded_only INTEGER NOT NULL,
    grouped INTEGER NOT NULL,
    incidents_created INTEGER NOT NULL,
    state_changed INTEGER NOT NULL,
    truncated INTEGER NOT NULL,
    PRIMARY KEY (service_id, day)
);

-- Heartbeat monitors: a ping is expected every interval_seconds; when one
-- is missed the monitor raises an alert through its integration (missed_at
-- set), and the next ping resolves it.
CREATE TABLE alert_heartbeats (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    integration_id INTEGER NOT NULL REFERENCES alert_integrations(id),
    name TEXT NOT NULL,
    interval_seconds INTEGER NOT NULL,
    last_ping_at INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    missed_at INTEGER,
    created_by INTEGER NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    UNIQUE (integration_id, name)
);
CREATE INDEX alert_heartbeats_due ON alert_heartbeats(due_at) WHERE missed_at IS NULL;
