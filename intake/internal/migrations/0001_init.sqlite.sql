-- Times are unix nanoseconds (UTC), NULL when unset. Steps and extension are JSON with RFC 3339
-- times. The phone is stored in full; only the Go type masks it.

CREATE TABLE tickets (
    number          TEXT    PRIMARY KEY,
    category        TEXT    NOT NULL DEFAULT '',
    topic           TEXT    NOT NULL DEFAULT '',
    community       TEXT    NOT NULL DEFAULT '',
    grid            TEXT    NOT NULL DEFAULT '',
    tier            TEXT    NOT NULL DEFAULT '',
    urgency         TEXT    NOT NULL DEFAULT '',
    description     TEXT    NOT NULL DEFAULT '',
    address         TEXT    NOT NULL DEFAULT '',
    lat             REAL,
    lng             REAL,
    name            TEXT    NOT NULL DEFAULT '',
    phone           TEXT    NOT NULL DEFAULT '',
    channel         TEXT    NOT NULL DEFAULT '',
    conversation_id TEXT    NOT NULL DEFAULT '',
    assignee        TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL,
    steps           TEXT,
    sign_by         INTEGER,
    due_by          INTEGER,
    extension       TEXT,
    urged           INTEGER NOT NULL DEFAULT 0,
    overdue         INTEGER NOT NULL DEFAULT 0,
    reopened        INTEGER NOT NULL DEFAULT 0,
    reply           TEXT    NOT NULL DEFAULT '',
    rating          TEXT    NOT NULL DEFAULT '',
    solved          INTEGER,
    created         INTEGER NOT NULL,
    updated         INTEGER,
    version         INTEGER NOT NULL,
    -- List puts emergency, then urgent, before normal.
    urgency_rank    INTEGER GENERATED ALWAYS AS (
        CASE urgency WHEN 'emergency' THEN 0 WHEN 'urgent' THEN 1 ELSE 2 END) VIRTUAL
) STRICT;

-- List: the default order, and one index per filter.
CREATE INDEX tickets_queue     ON tickets (overdue DESC, urgency_rank, created DESC, number DESC);
CREATE INDEX tickets_status    ON tickets (status);
CREATE INDEX tickets_tier      ON tickets (tier);
CREATE INDEX tickets_community ON tickets (community);
CREATE INDEX tickets_category  ON tickets (category);
CREATE INDEX tickets_grid      ON tickets (grid);

-- Late: the two deadlines the SLA job watches. The query in tickets.go names them (INDEXED BY)
-- and repeats their WHERE clauses: change both together.
CREATE INDEX tickets_sign_late ON tickets (sign_by) WHERE status = 'dispatched';
CREATE INDEX tickets_due_late  ON tickets (due_by)
    WHERE overdue = 0 AND status IN ('received', 'dispatched', 'signed', 'in_progress', 'returned');

CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    number      TEXT    NOT NULL REFERENCES tickets (number),
    at          INTEGER,
    actor       TEXT    NOT NULL DEFAULT '',
    action      TEXT    NOT NULL,
    from_status TEXT    NOT NULL DEFAULT '',
    to_status   TEXT    NOT NULL DEFAULT '',
    note        TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX events_number ON events (number, id);

-- Create's idempotency keys: a retried request finds the ticket its first attempt made.
CREATE TABLE idempotency (
    key     TEXT    PRIMARY KEY,
    number  TEXT    NOT NULL REFERENCES tickets (number),
    created INTEGER NOT NULL
) STRICT;

-- The last ticket number given out on each Beijing day (YYYYMMDD).
CREATE TABLE day_counters (
    day  TEXT    PRIMARY KEY,
    last INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
    name          TEXT    PRIMARY KEY,
    role          TEXT    NOT NULL,
    grid          TEXT    NOT NULL DEFAULT '',
    password_hash TEXT    NOT NULL DEFAULT '',
    created       INTEGER
) STRICT;

CREATE TABLE sessions (
    token_hash TEXT    PRIMARY KEY,
    user_name  TEXT    NOT NULL REFERENCES users (name) ON DELETE CASCADE ON UPDATE CASCADE,
    csrf       TEXT    NOT NULL DEFAULT '',
    expires    INTEGER NOT NULL
) STRICT;

CREATE INDEX sessions_user    ON sessions (user_name);
CREATE INDEX sessions_expires ON sessions (expires);

CREATE TABLE api_tokens (
    token_hash TEXT    PRIMARY KEY,
    user_name  TEXT    NOT NULL REFERENCES users (name) ON DELETE CASCADE ON UPDATE CASCADE,
    label      TEXT    NOT NULL DEFAULT '',
    created    INTEGER
) STRICT;

CREATE INDEX api_tokens_user ON api_tokens (user_name);
