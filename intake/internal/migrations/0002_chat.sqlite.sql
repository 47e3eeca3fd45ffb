-- Chat conversations (bot.Conversation) and their turns. Times are unix nanoseconds (UTC) as in
-- 0001; state and reply are JSON (bot.DialogState, bot.Reply) with RFC 3339 times.

CREATE TABLE conversations (
    id         TEXT    PRIMARY KEY,
    token_hash TEXT    NOT NULL, -- SHA-256 of the resident's session token
    community  TEXT    NOT NULL DEFAULT '',
    state      TEXT    NOT NULL CHECK (json_valid(state)),
    created    INTEGER NOT NULL,
    updated    INTEGER NOT NULL
) STRICT;

-- ConversationByToken; unique, so that a token finds one conversation.
CREATE UNIQUE INDEX conversations_token ON conversations (token_hash);

CREATE TABLE turns (
    conversation_id TEXT    NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL, -- 1, 2, … within the conversation
    at              INTEGER,
    sender          TEXT    NOT NULL DEFAULT '', -- bot.Turn.From: resident, bot, operator, system
    text            TEXT    NOT NULL DEFAULT '',
    reply           TEXT    CHECK (reply IS NULL OR json_valid(reply)),
    PRIMARY KEY (conversation_id, seq)
) STRICT;
