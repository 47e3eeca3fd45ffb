-- The desk's messages between nodes too long for a notification (PostgreSQL's limit is 8,000
-- bytes): the notification carries the row's id. Rows are read within moments and kept a few
-- minutes.
CREATE TABLE desk_messages (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    body    text NOT NULL,
    created timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX desk_messages_created ON desk_messages (created);
