-- A job of many runs is stored in chunks, each its own transaction, so
-- that other jobs' results are committed between them (issue 9 §5).
-- complete is 0 until its last chunk is committed; such a job was never
-- acknowledged, and the daemon deletes it at its next start if it died
-- meanwhile. Queries of finished work can ignore it (it has no results).
ALTER TABLE jobs ADD COLUMN complete INTEGER NOT NULL DEFAULT 1
    CHECK (complete IN (0, 1));
