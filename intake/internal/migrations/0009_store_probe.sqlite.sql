-- The readiness probe's one row (GET /readyz): the store is ready when it can write, so the probe
-- upserts this row (at: Unix nanoseconds of the last probe) and a read-only file, a full disk or a
-- lock held elsewhere shows before a resident's ticket fails.
CREATE TABLE store_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at INTEGER NOT NULL
) STRICT;
