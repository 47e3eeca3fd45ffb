-- Photos residents attach to reports in the chat: kept with the conversation and, once it opens
-- a ticket, with the ticket (ticket = '' before).
CREATE TABLE attachments (
    id              TEXT    PRIMARY KEY,
    conversation_id TEXT    NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    ticket          TEXT    NOT NULL DEFAULT '',
    content_type    TEXT    NOT NULL,
    size            INTEGER NOT NULL,
    data            BLOB    NOT NULL,
    created         INTEGER NOT NULL
) STRICT;
CREATE INDEX attachments_conversation ON attachments (conversation_id);
CREATE INDEX attachments_ticket ON attachments (ticket) WHERE ticket <> '';
