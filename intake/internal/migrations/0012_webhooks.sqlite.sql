-- Webhooks (docs/integrations.md): the subscriptions; the outbox, one event per change written in
-- the change's own transaction, its data with phones masked and whole (for trusted
-- subscriptions); and one delivery per event and subscription that wants it, which a worker
-- claims by its lease. Times are Unix nanoseconds.
CREATE TABLE webhook_subscriptions (
    id         TEXT    PRIMARY KEY,
    url        TEXT    NOT NULL,
    events     TEXT    NOT NULL, -- ",ticket.created,handoff.waiting," or ",*,"
    secret     TEXT    NOT NULL,
    trusted    INTEGER NOT NULL DEFAULT 0,
    created    INTEGER NOT NULL,
    created_by TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE TABLE webhook_outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT, -- never given twice: the receivers' dedup key
    kind         TEXT    NOT NULL,
    subject      TEXT    NOT NULL, -- ticket:NUMBER, conversation:ID: deliveries keep its order
    data         TEXT    NOT NULL,
    data_trusted TEXT    NOT NULL,
    created      INTEGER NOT NULL
) STRICT;
CREATE TABLE webhook_deliveries (
    subscription_id TEXT    NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    event_id        INTEGER NOT NULL REFERENCES webhook_outbox (id) ON DELETE CASCADE,
    subject         TEXT    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'pending', -- pending, delivered, failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    first_at        INTEGER NOT NULL, -- the day of retries runs from here (written or replayed)
    next_at         INTEGER NOT NULL,
    lease_until     INTEGER NOT NULL DEFAULT 0,
    lease           TEXT    NOT NULL DEFAULT '',
    last_error      TEXT    NOT NULL DEFAULT '',
    last_code       INTEGER NOT NULL DEFAULT 0,
    updated         INTEGER NOT NULL,
    PRIMARY KEY (subscription_id, event_id)
) STRICT;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (subscription_id, subject, event_id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_lease ON webhook_deliveries (lease) WHERE lease <> '';
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);
