-- Queue indexes measured against 1,000,000 tickets (docs/BENCHMARKS.md):
-- keyset pages need the sort column right after the equality filters, so
-- priority sorts index (priority, id) and team/kind queues sort by
-- created_at without is_open in between (open team queues then scan the
-- team's newest tickets and skip the closed ones).
DROP INDEX tickets_open_priority;
DROP INDEX tickets_priority;
DROP INDEX tickets_team;
DROP INDEX tickets_kind;
CREATE INDEX tickets_open_priority ON tickets(is_open, priority, id);
CREATE INDEX tickets_priority ON tickets(priority, id);
CREATE INDEX tickets_team ON tickets(team_id, created_at, id);
CREATE INDEX tickets_kind ON tickets(kind, created_at, id);
