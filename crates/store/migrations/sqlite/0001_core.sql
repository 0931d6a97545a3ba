-- Service desk core. Times are UTC epoch microseconds; booleans are 0/1;
-- JSON is text. Kept column-for-column identical to the PostgreSQL schema.

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    email TEXT,
    role TEXT NOT NULL,
    organization TEXT,
    password_hash TEXT,
    active INTEGER NOT NULL DEFAULT 1,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER,
    created_at INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    last_used_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE teams (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    round_robin INTEGER NOT NULL DEFAULT 0,
    last_assignee_id INTEGER REFERENCES users(id),
    created_at INTEGER NOT NULL
);

CREATE TABLE team_members (
    team_id INTEGER NOT NULL REFERENCES teams(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members(user_id);

CREATE TABLE services (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    owner_team_id INTEGER REFERENCES teams(id),
    tier INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE ticket_counters (
    kind TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL
);

CREATE TABLE tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    seq INTEGER NOT NULL,
    number TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    is_open INTEGER NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    requester_id INTEGER NOT NULL REFERENCES users(id),
    team_id INTEGER REFERENCES teams(id),
    assignee_id INTEGER REFERENCES users(id),
    service_id INTEGER REFERENCES services(id),
    category TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    impact TEXT NOT NULL,
    urgency TEXT NOT NULL,
    priority INTEGER NOT NULL,
    priority_override_reason TEXT,
    on_hold_reason TEXT,
    resolution_code TEXT,
    resolution_note TEXT,
    workaround TEXT,
    change_outcome TEXT,
    reopen_count INTEGER NOT NULL DEFAULT 0,
    merged_into_id INTEGER REFERENCES tickets(id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    acknowledged_at INTEGER,
    acknowledged_by INTEGER REFERENCES users(id),
    first_response_at INTEGER,
    resolved_at INTEGER,
    closed_at INTEGER,
    reopened_at INTEGER,
    version INTEGER NOT NULL DEFAULT 1,
    UNIQUE (kind, seq)
);
-- Queue pages are keyset scans: (filter columns..., sort column, id).
CREATE INDEX tickets_open_created ON tickets(is_open, created_at, id);
CREATE INDEX tickets_open_updated ON tickets(is_open, updated_at, id);
CREATE INDEX tickets_open_priority ON tickets(is_open, priority, created_at, id);
CREATE INDEX tickets_created ON tickets(created_at, id);
CREATE INDEX tickets_updated ON tickets(updated_at, id);
CREATE INDEX tickets_state ON tickets(state, created_at, id);
CREATE INDEX tickets_team ON tickets(team_id, is_open, created_at, id);
CREATE INDEX tickets_assignee ON tickets(assignee_id, is_open, created_at, id);
CREATE INDEX tickets_requester ON tickets(requester_id, created_at, id);
CREATE INDEX tickets_service ON tickets(service_id, created_at, id);
CREATE INDEX tickets_kind ON tickets(kind, is_open, created_at, id);
CREATE INDEX tickets_priority ON tickets(priority, created_at, id);
CREATE INDEX tickets_resolved ON tickets(state, resolved_at);

CREATE TABLE ticket_tags (
    tag TEXT NOT NULL,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    PRIMARY KEY (tag, ticket_id)
);
CREATE INDEX ticket_tags_ticket ON ticket_tags(ticket_id);

CREATE VIRTUAL TABLE tickets_fts USING fts5(
    title, description, content='tickets', content_rowid='id', tokenize='porter unicode61'
);
CREATE TRIGGER tickets_fts_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO tickets_fts(rowid, title, description) VALUES (new.id, new.title, new.description);
END;
CREATE TRIGGER tickets_fts_update AFTER UPDATE OF title, description ON tickets BEGIN
    INSERT INTO tickets_fts(tickets_fts, rowid, title, description) VALUES ('delete', old.id, old.title, old.description);
    INSERT INTO tickets_fts(rowid, title, description) VALUES (new.id, new.title, new.description);
END;

CREATE TABLE comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    author_id INTEGER NOT NULL REFERENCES users(id),
    visibility TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    moved_from_ticket_id INTEGER REFERENCES tickets(id)
);
CREATE INDEX comments_ticket ON comments(ticket_id, id);

CREATE TABLE ticket_links (
    source_id INTEGER NOT NULL REFERENCES tickets(id),
    kind TEXT NOT NULL,
    target_id INTEGER NOT NULL REFERENCES tickets(id),
    created_at INTEGER NOT NULL,
    created_by INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (source_id, kind, target_id)
);
CREATE INDEX ticket_links_target ON ticket_links(target_id);

CREATE TABLE watchers (
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (ticket_id, user_id)
);

-- The spine: audit trail, timelines, KPI source and outbox in one.
CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor_id INTEGER,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX events_entity ON events(entity, entity_id, seq);

-- One row: the last event's seq and hash. Every write transaction locks it
-- first, which orders writers across nodes and detects truncation.
CREATE TABLE chain_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO chain_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE idempotency_keys (
    user_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    route TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    result_ref TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);
