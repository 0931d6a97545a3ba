-- The SLA projection: each ticket's SLA clocks as last computed from the
-- event log, so queues can filter and sort by time to breach and the timer
-- worker can find what falls due next without replaying every history.
-- The event log stays the truth; these rows are rebuilt from it at will.

-- One row per ticket and metric while a policy covers the ticket.
-- Times are UTC epoch microseconds. next_fire_at is the earliest instant at
-- which a warning or breach is still to be announced (NULL: nothing to do);
-- warned/breach_announced make each announcement happen once per clock.
-- lease_owner/lease_until: the node that claimed the due timer, so several
-- nodes share the work without doing it twice.
CREATE TABLE sla_clocks (
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    metric TEXT NOT NULL,
    policy_id INTEGER NOT NULL,
    state TEXT NOT NULL,
    target_seconds INTEGER NOT NULL,
    due_at INTEGER,
    warning_at INTEGER,
    breached_at INTEGER,
    warned INTEGER NOT NULL,
    breach_announced INTEGER NOT NULL,
    next_fire_at INTEGER,
    lease_owner TEXT,
    lease_until INTEGER,
    computed_at INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, metric)
);
CREATE INDEX sla_clocks_next_fire ON sla_clocks(next_fire_at) WHERE next_fire_at IS NOT NULL;
CREATE INDEX sla_clocks_policy ON sla_clocks(policy_id);

-- Per ticket, the worst clock (sla_status: running, paused, met, breached;
-- NULL when no policy covers it) and the earliest instant a running clock
-- is or was due, for "breaching in the next hour" queues.
ALTER TABLE tickets ADD COLUMN sla_status TEXT;
ALTER TABLE tickets ADD COLUMN sla_due_at INTEGER;
CREATE INDEX tickets_sla_due ON tickets(sla_due_at, id) WHERE sla_due_at IS NOT NULL;

-- How far each event-log consumer has read, and which node holds it.
CREATE TABLE worker_cursors (
    name TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until INTEGER
);
INSERT INTO worker_cursors (name, position) VALUES ('sla', 0);
