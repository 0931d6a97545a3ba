-- The ContentDigest of each alert (what a firing signal could change, and
-- where the alert was routed), so intake can write a plain repeat with one
-- conditional UPDATE instead of reading the alert first. NULL (alerts
-- stored before this column) never matches: such an alert takes the full
-- pipeline once and gets its digest then.
ALTER TABLE alerts ADD COLUMN content_digest INTEGER;
