-- Photos residents attach to reports in the chat: kept with the conversation and, once it opens
-- a ticket, with the ticket (ticket = '' before).
CREATE TABLE attachments (
    id              text COLLATE "C" PRIMARY KEY,
    conversation_id text COLLATE "C" NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    ticket          text COLLATE "C" NOT NULL DEFAULT '',
    content_type    text NOT NULL,
    size            integer NOT NULL,
    data            bytea NOT NULL,
    created         timestamptz NOT NULL,
    created_ns      smallint NOT NULL DEFAULT 0
);
CREATE INDEX attachments_conversation ON attachments (conversation_id);
CREATE INDEX attachments_ticket ON attachments (ticket) WHERE ticket <> '';
