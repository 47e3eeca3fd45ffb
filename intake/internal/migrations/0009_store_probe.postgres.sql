-- The readiness probe's one row (GET /readyz): the store is ready when it can write, so the probe
-- upserts this row (at: Unix nanoseconds of the last probe) and a database that cannot be reached
-- or has turned read-only (a standby after a failover, a full disk) shows before a resident's
-- ticket fails. Every node probes the same row.
CREATE TABLE store_probe (
    id integer PRIMARY KEY CHECK (id = 1),
    at bigint NOT NULL
);
