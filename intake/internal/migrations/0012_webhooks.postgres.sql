-- Webhooks (docs/integrations.md): the subscriptions; the outbox, one event per change written in
-- the change's own transaction, its data with phones masked and whole (for trusted
-- subscriptions); and one delivery per event and subscription that wants it, which a worker
-- claims by its lease (FOR UPDATE SKIP LOCKED). Times are Unix nanoseconds.
CREATE TABLE webhook_subscriptions (
    id         text COLLATE "C" PRIMARY KEY,
    url        text NOT NULL,
    events     text NOT NULL, -- ",ticket.created,handoff.waiting," or ",*,"
    secret     text NOT NULL,
    trusted    boolean NOT NULL DEFAULT false,
    created    bigint NOT NULL,
    created_by text NOT NULL DEFAULT ''
);
CREATE TABLE webhook_outbox (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- the receivers' dedup key
    kind         text NOT NULL,
    subject      text COLLATE "C" NOT NULL, -- ticket:NUMBER, conversation:ID: deliveries keep its order
    data         text NOT NULL,
    data_trusted text NOT NULL,
    created      bigint NOT NULL
);
CREATE TABLE webhook_deliveries (
    subscription_id text COLLATE "C" NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    event_id        bigint NOT NULL REFERENCES webhook_outbox (id) ON DELETE CASCADE,
    subject         text COLLATE "C" NOT NULL,
    status          text NOT NULL DEFAULT 'pending', -- pending, delivered, failed
    attempts        integer NOT NULL DEFAULT 0,
    first_at        bigint NOT NULL, -- the day of retries runs from here (written or replayed)
    next_at         bigint NOT NULL,
    lease_until     bigint NOT NULL DEFAULT 0,
    lease           text NOT NULL DEFAULT '',
    last_error      text NOT NULL DEFAULT '',
    last_code       integer NOT NULL DEFAULT 0,
    updated         bigint NOT NULL,
    PRIMARY KEY (subscription_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (subscription_id, subject, event_id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_lease ON webhook_deliveries (lease) WHERE lease <> '';
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);
