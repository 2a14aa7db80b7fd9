-- The order of an update's destinations, kept explicitly rather than by
-- SQLite's rowid so that PostgreSQL can share the query.
ALTER TABLE update_posts ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
UPDATE update_posts SET position = rowid;
