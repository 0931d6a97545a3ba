-- Alert intake rewrites a stored alert at every repeat (count, last_seen).
-- On a full page PostgreSQL puts the new row version on another page and
-- adds it to every index of the table; with room left on the page the
-- update is HOT: same page, no index entries, and the old version is
-- pruned in place. Half-full pages leave room for that (at twice the
-- table's size on disk): repeats went from about 38,000 to about 71,000
-- alerts/s (docs/BENCHMARKS.md, "Alert intake, fifth pass"). Pages written
-- before this keep their rows until the table is rewritten (VACUUM FULL).
ALTER TABLE alerts SET (fillfactor = 50);
