-- The operator desk: a conversation's handoff to a person (bot.Conversation.Handoff…), the
-- operator's number on their turns, and canned replies (常用语).

ALTER TABLE conversations ADD COLUMN handoff    TEXT    NOT NULL DEFAULT ''; -- '', waiting, live, offered
ALTER TABLE conversations ADD COLUMN operator   TEXT    NOT NULL DEFAULT ''; -- the staff name holding a live chat
ALTER TABLE conversations ADD COLUMN handoff_at INTEGER NOT NULL DEFAULT 0;  -- when the handoff state last changed
ALTER TABLE conversations ADD COLUMN guess      TEXT    NOT NULL DEFAULT ''; -- the bot's topic guess at the handoff

-- The desk lists every conversation with a person involved.
CREATE INDEX conversations_handoff ON conversations (handoff_at) WHERE handoff != '';

ALTER TABLE turns ADD COLUMN agent TEXT NOT NULL DEFAULT ''; -- operator number, for operator turns

CREATE TABLE canned_replies (
    id         INTEGER PRIMARY KEY,
    title      TEXT    NOT NULL,
    text       TEXT    NOT NULL,
    updated    INTEGER NOT NULL,
    updated_by TEXT    NOT NULL DEFAULT ''
) STRICT;

INSERT INTO canned_replies (title, text, updated, updated_by) VALUES
    ('问候', '您好，我是社区热线工作人员，请问有什么可以帮您？', 0, 'system'),
    ('稍等', '好的，我马上帮您查一下，请稍等。', 0, 'system'),
    ('登记工单', '这个问题需要网格员上门处理，我现在为您登记工单，请留一个联系电话。', 0, 'system'),
    ('结束', '感谢您的反映，如还有问题可以随时联系我们。祝您生活愉快！', 0, 'system');
