-- The schema of intake/sqlite's migrations 0001 to 0005, in PostgreSQL.
--
-- Times: a timestamptz (microseconds) and, in the smallint column NAME_ns beside it, the
-- nanoseconds past the microsecond (0 to 999), so that a time comes back exactly as given. NULL
-- when unset (and NAME_ns 0). JSON columns hold RFC 3339 times in UTC. The phone is stored in
-- full; only the Go type masks it. Text that is sorted or compared for order is COLLATE "C": byte
-- order, as SQLite and Go compare.

CREATE TABLE tickets (
    number           text COLLATE "C" PRIMARY KEY,
    category         text COLLATE "C" NOT NULL DEFAULT '',
    topic            text NOT NULL DEFAULT '',
    community        text NOT NULL DEFAULT '',
    grid             text NOT NULL DEFAULT '',
    tier             text COLLATE "C" NOT NULL DEFAULT '',
    urgency          text NOT NULL DEFAULT '',
    description      text NOT NULL DEFAULT '',
    address          text NOT NULL DEFAULT '',
    lat              double precision,
    lng              double precision,
    name             text NOT NULL DEFAULT '',
    phone            text NOT NULL DEFAULT '',
    channel          text NOT NULL DEFAULT '',
    conversation_id  text NOT NULL DEFAULT '',
    assignee         text NOT NULL DEFAULT '',
    status           text NOT NULL,
    steps            jsonb,
    sign_by          timestamptz,
    sign_by_ns       smallint NOT NULL DEFAULT 0,
    due_by           timestamptz,
    due_by_ns        smallint NOT NULL DEFAULT 0,
    extension        jsonb,
    urged            bigint NOT NULL DEFAULT 0,
    overdue          boolean NOT NULL DEFAULT false,
    reopened         bigint NOT NULL DEFAULT 0,
    reply            text NOT NULL DEFAULT '',
    rating           text NOT NULL DEFAULT '',
    solved           boolean,
    created          timestamptz NOT NULL,
    created_ns       smallint NOT NULL DEFAULT 0,
    updated          timestamptz,
    updated_ns       smallint NOT NULL DEFAULT 0,
    version          bigint NOT NULL,
    -- The survey and the four rates (sqlite 0004).
    rating_note      text NOT NULL DEFAULT '',
    rated_at         timestamptz,
    rated_at_ns      smallint NOT NULL DEFAULT 0,
    signed_on_time   boolean, -- NULL: not signed yet
    resolved_on_time boolean, -- NULL: not resolved (this round)
    resolved_at      timestamptz,
    resolved_at_ns   smallint NOT NULL DEFAULT 0,
    ratings          jsonb,   -- intake.RatingRecord list
    -- List puts emergency, then urgent, before normal.
    urgency_rank     smallint GENERATED ALWAYS AS (
        CASE urgency WHEN 'emergency' THEN 0 WHEN 'urgent' THEN 1 ELSE 2 END) STORED
);

-- List: the default order, and one index per filter.
CREATE INDEX tickets_queue     ON tickets (overdue DESC, urgency_rank, created DESC, created_ns DESC, number DESC);
CREATE INDEX tickets_status    ON tickets (status);
CREATE INDEX tickets_tier      ON tickets (tier);
CREATE INDEX tickets_community ON tickets (community);
CREATE INDEX tickets_category  ON tickets (category);
CREATE INDEX tickets_grid      ON tickets (grid);
CREATE INDEX tickets_conversation ON tickets (conversation_id) WHERE conversation_id <> '';
-- The rates read one period's tickets by creation time.
CREATE INDEX tickets_created   ON tickets (created, created_ns);

-- Late: the two deadlines the SLA job watches. The query in tickets.go repeats their WHERE
-- clauses: change both together.
CREATE INDEX tickets_sign_late ON tickets (sign_by, sign_by_ns) WHERE status = 'dispatched';
CREATE INDEX tickets_due_late  ON tickets (due_by, due_by_ns)
    WHERE NOT overdue AND status IN ('received', 'dispatched', 'signed', 'in_progress', 'returned');

CREATE TABLE events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number      text COLLATE "C" NOT NULL REFERENCES tickets (number),
    at          timestamptz,
    at_ns       smallint NOT NULL DEFAULT 0,
    actor       text NOT NULL DEFAULT '',
    action      text NOT NULL,
    from_status text NOT NULL DEFAULT '',
    to_status   text NOT NULL DEFAULT '',
    note        text NOT NULL DEFAULT ''
);

CREATE INDEX events_number ON events (number, id);

-- Create's idempotency keys: a retried request finds the ticket its first attempt made.
CREATE TABLE idempotency (
    key     text PRIMARY KEY,
    number  text COLLATE "C" NOT NULL REFERENCES tickets (number),
    created timestamptz NOT NULL DEFAULT now()
);

-- The last ticket number given out on each Beijing day (YYYYMMDD).
CREATE TABLE day_counters (
    day  text PRIMARY KEY,
    last bigint NOT NULL
);

-- number: the staff number (工号) residents see instead of the name; from a sequence, so never
-- given twice.
CREATE TABLE users (
    name          text COLLATE "C" PRIMARY KEY,
    number        bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    role          text NOT NULL,
    grid          text NOT NULL DEFAULT '',
    password_hash text NOT NULL DEFAULT '',
    created       timestamptz,
    created_ns    smallint NOT NULL DEFAULT 0
);

CREATE TABLE sessions (
    token_hash text PRIMARY KEY,
    user_name  text COLLATE "C" NOT NULL REFERENCES users (name) ON DELETE CASCADE ON UPDATE CASCADE,
    csrf       text NOT NULL DEFAULT '',
    expires    timestamptz NOT NULL,
    expires_ns smallint NOT NULL DEFAULT 0
);

CREATE INDEX sessions_user    ON sessions (user_name);
CREATE INDEX sessions_expires ON sessions (expires);

CREATE TABLE api_tokens (
    token_hash text PRIMARY KEY,
    user_name  text COLLATE "C" NOT NULL REFERENCES users (name) ON DELETE CASCADE ON UPDATE CASCADE,
    label      text NOT NULL DEFAULT '',
    created    timestamptz,
    created_ns smallint NOT NULL DEFAULT 0
);

CREATE INDEX api_tokens_user ON api_tokens (user_name);

-- Chat conversations (bot.Conversation) and their turns; state and reply are JSON (bot.DialogState,
-- bot.Reply).
CREATE TABLE conversations (
    id            text COLLATE "C" PRIMARY KEY,
    token_hash    text NOT NULL UNIQUE, -- SHA-256 of the resident's session token
    community     text NOT NULL DEFAULT '',
    state         jsonb NOT NULL,
    created       timestamptz NOT NULL,
    created_ns    smallint NOT NULL DEFAULT 0,
    updated       timestamptz NOT NULL,
    updated_ns    smallint NOT NULL DEFAULT 0,
    -- The operator desk's handoff (sqlite 0003).
    handoff       text NOT NULL DEFAULT '', -- '', waiting, live, offered
    operator      text NOT NULL DEFAULT '', -- the staff name holding a live chat
    handoff_at    timestamptz,              -- when the handoff state last changed
    handoff_at_ns smallint NOT NULL DEFAULT 0,
    guess         text NOT NULL DEFAULT '', -- the bot's topic guess at the handoff
    -- How often the conversation asked for a person: the bot settled it alone when never.
    handoffs      bigint NOT NULL DEFAULT 0
);

-- The desk lists every conversation with a person involved.
CREATE INDEX conversations_handoff ON conversations (handoff_at, handoff_at_ns, id) WHERE handoff <> '';
CREATE INDEX conversations_created ON conversations (created, created_ns);

CREATE TABLE turns (
    conversation_id text COLLATE "C" NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq             integer NOT NULL, -- 1, 2, … within the conversation
    at              timestamptz,
    at_ns           smallint NOT NULL DEFAULT 0,
    sender          text NOT NULL DEFAULT '', -- bot.Turn.From: resident, bot, operator, system
    text            text NOT NULL DEFAULT '',
    agent           text NOT NULL DEFAULT '', -- operator number, for operator turns
    reply           jsonb,
    PRIMARY KEY (conversation_id, seq)
);

-- Canned replies (常用语); those that come with the service have no update time.
CREATE TABLE canned_replies (
    id         bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    title      text NOT NULL,
    text       text NOT NULL,
    updated    timestamptz,
    updated_ns smallint NOT NULL DEFAULT 0,
    updated_by text NOT NULL DEFAULT ''
);

INSERT INTO canned_replies (title, text, updated_by) VALUES
    ('问候', '您好，我是社区热线工作人员，请问有什么可以帮您？', 'system'),
    ('稍等', '好的，我马上帮您查一下，请稍等。', 'system'),
    ('登记工单', '这个问题需要网格员上门处理，我现在为您登记工单，请留一个联系电话。', 'system'),
    ('结束', '感谢您的反映，如还有问题可以随时联系我们。祝您生活愉快！', 'system');

-- 这个回答有帮助吗: one vote per bot answer (a second vote changes it).
CREATE TABLE answer_feedback (
    conversation_id text COLLATE "C" NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    message_id      text NOT NULL, -- the resident's ask id the answer replied to
    topic           text COLLATE "C" NOT NULL,
    helpful         boolean NOT NULL,
    at              timestamptz NOT NULL,
    at_ns           smallint NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, message_id)
);
CREATE INDEX answer_feedback_at ON answer_feedback (at, at_ns);
