-- The survey and the four rates: the resident's comment and when they rated, whether the first
-- signature and the latest resolution met their deadlines, and when the latest resolution was.

ALTER TABLE tickets ADD COLUMN rating_note      TEXT    NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN rated_at         INTEGER;
ALTER TABLE tickets ADD COLUMN signed_on_time   INTEGER; -- NULL: not signed yet
ALTER TABLE tickets ADD COLUMN resolved_on_time INTEGER; -- NULL: not resolved (this round)
ALTER TABLE tickets ADD COLUMN resolved_at      INTEGER;
ALTER TABLE tickets ADD COLUMN ratings          TEXT CHECK (ratings IS NULL OR json_valid(ratings)); -- intake.RatingRecord list

-- The rates read one period's tickets by creation time.
CREATE INDEX tickets_created ON tickets (created);

-- How often a conversation asked for a person: the bot settled it alone when never.
ALTER TABLE conversations ADD COLUMN handoffs INTEGER NOT NULL DEFAULT 0;
CREATE INDEX conversations_created ON conversations (created);
CREATE INDEX tickets_conversation ON tickets (conversation_id) WHERE conversation_id != '';

-- 这个回答有帮助吗: one vote per bot answer (a second vote changes it).
CREATE TABLE answer_feedback (
    conversation_id TEXT    NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    message_id      TEXT    NOT NULL, -- the resident's ask id the answer replied to
    topic           TEXT    NOT NULL,
    helpful         INTEGER NOT NULL,
    at              INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, message_id)
) STRICT;
CREATE INDEX answer_feedback_at ON answer_feedback (at);
