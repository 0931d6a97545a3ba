-- Open-ticket counts per queue, kept by a trigger in the same transaction as
-- the ticket change, so a queue's count is one row read however many
-- tickets are open. Scopes: 'all' and 'unassigned' (scope_id 0), 'team',
-- 'assignee', 'requester' (scope_id = that team's or user's id). Every
-- ticket write holds the chain-head lock first, so the counter rows are
-- never contended between nodes.
CREATE TABLE open_ticket_counts (
    scope TEXT NOT NULL,
    scope_id BIGINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (scope, scope_id)
);

INSERT INTO open_ticket_counts (scope, scope_id, n)
SELECT 'all', 0, COUNT(*) FROM tickets WHERE is_open = 1 HAVING COUNT(*) > 0;
INSERT INTO open_ticket_counts (scope, scope_id, n)
SELECT 'unassigned', 0, COUNT(*) FROM tickets WHERE is_open = 1 AND assignee_id IS NULL HAVING COUNT(*) > 0;
INSERT INTO open_ticket_counts (scope, scope_id, n)
SELECT 'team', team_id, COUNT(*) FROM tickets WHERE is_open = 1 AND team_id IS NOT NULL GROUP BY team_id;
INSERT INTO open_ticket_counts (scope, scope_id, n)
SELECT 'assignee', assignee_id, COUNT(*) FROM tickets WHERE is_open = 1 AND assignee_id IS NOT NULL GROUP BY assignee_id;
INSERT INTO open_ticket_counts (scope, scope_id, n)
SELECT 'requester', requester_id, COUNT(*) FROM tickets WHERE is_open = 1 GROUP BY requester_id;

CREATE FUNCTION open_ticket_counts_adjust(t tickets, delta BIGINT) RETURNS void AS $$
BEGIN
    INSERT INTO open_ticket_counts (scope, scope_id, n)
    SELECT s.scope, s.scope_id, delta FROM (
        SELECT 'all' AS scope, 0::BIGINT AS scope_id
        UNION ALL SELECT 'requester', t.requester_id
        UNION ALL SELECT 'unassigned', 0 WHERE t.assignee_id IS NULL
        UNION ALL SELECT 'assignee', t.assignee_id WHERE t.assignee_id IS NOT NULL
        UNION ALL SELECT 'team', t.team_id WHERE t.team_id IS NOT NULL
    ) s
    ON CONFLICT (scope, scope_id) DO UPDATE SET n = open_ticket_counts.n + EXCLUDED.n;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION open_ticket_counts_track() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.is_open = 1 THEN
        PERFORM open_ticket_counts_adjust(OLD, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.is_open = 1 THEN
        PERFORM open_ticket_counts_adjust(NEW, 1);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER open_ticket_counts_insert_delete AFTER INSERT OR DELETE ON tickets
FOR EACH ROW EXECUTE FUNCTION open_ticket_counts_track();

CREATE TRIGGER open_ticket_counts_update AFTER UPDATE OF is_open, requester_id, assignee_id, team_id ON tickets
FOR EACH ROW
WHEN (OLD.is_open IS DISTINCT FROM NEW.is_open OR OLD.requester_id IS DISTINCT FROM NEW.requester_id
    OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id OR OLD.team_id IS DISTINCT FROM NEW.team_id)
EXECUTE FUNCTION open_ticket_counts_track();
