package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/bayannur/hotline/bot"
	"github.com/bayannur/hotline/intake"
)

// The chat's conversations and turns (migrations/0002_chat.sql).

var _ bot.Conversations = (*Store)(nil)

const conversationSelect = "SELECT id, token_hash, community, state, created, updated FROM conversations"

// CreateConversation stores c, whose ID and TokenHash the caller has set. A zero Created is set to
// now and a zero Updated to Created. A taken id or token hash is intake.ErrConflict.
func (s *Store) CreateConversation(ctx context.Context, c *bot.Conversation) error {
	if c == nil || c.ID == "" || c.TokenHash == "" {
		return fmt.Errorf("%w: a conversation needs an id and a token hash", intake.ErrInvalid)
	}
	created, updated := c.Created, c.Updated
	if created.IsZero() {
		created = time.Now()
	}
	if updated.IsZero() {
		updated = created
	}
	state, err := json.Marshal(c.State)
	if err != nil {
		return fmt.Errorf("%w: conversation state: %v", intake.ErrInvalid, err)
	}
	cn, err := nanos("created_at", created)
	if err != nil {
		return err
	}
	un, err := nanos("updated_at", updated)
	if err != nil {
		return err
	}
	err = s.write(ctx, func(w *writer) error {
		_, err := w.conn.ExecContext(context.Background(),
			"INSERT INTO conversations (id, token_hash, community, state, created, updated) VALUES (?, ?, ?, ?, ?, ?)",
			c.ID, c.TokenHash, c.Community, string(state), cn, un)
		if duplicate(err) {
			return fmt.Errorf("%w: conversation %s or its token exists already", intake.ErrConflict, c.ID)
		}
		return err
	})
	if err != nil {
		return chatWrap("create conversation", err)
	}
	c.Created, c.Updated = created, updated
	return nil
}

// ConversationByToken returns the conversation of tokenHash if it was updated after since, else
// bot.ErrNoConversation.
func (s *Store) ConversationByToken(ctx context.Context, tokenHash string, since time.Time) (*bot.Conversation, error) {
	var (
		c                bot.Conversation
		state            string
		created, updated sql.NullInt64
	)
	err := s.rdb.QueryRowContext(ctx, conversationSelect+" WHERE token_hash = ? AND updated > ?",
		tokenHash, clampNanos(since)).Scan(&c.ID, &c.TokenHash, &c.Community, &state, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, bot.ErrNoConversation
	}
	if err != nil {
		return nil, chatWrap("conversation by token", err)
	}
	if err := json.Unmarshal([]byte(state), &c.State); err != nil {
		return nil, fmt.Errorf("sqlite: conversation %s: state: %w", c.ID, err)
	}
	c.Created, c.Updated = fromNanos(created), fromNanos(updated)
	return &c, nil
}

// AppendTurns stores c's state, community and Updated (now when zero, and then set in c) and
// appends turns after the conversation's last one, in one transaction. On success each turn's Seq
// is set in turns, and a zero At to c.Updated. An unknown c.ID is bot.ErrNoConversation.
func (s *Store) AppendTurns(ctx context.Context, c *bot.Conversation, turns []bot.Turn) error {
	if c == nil || c.ID == "" {
		return fmt.Errorf("%w: no conversation", intake.ErrInvalid)
	}
	updated := c.Updated
	if updated.IsZero() {
		updated = time.Now()
	}
	un, err := nanos("updated_at", updated)
	if err != nil {
		return err
	}
	state, err := json.Marshal(c.State)
	if err != nil {
		return fmt.Errorf("%w: conversation state: %v", intake.ErrInvalid, err)
	}
	type row struct {
		at    any
		reply any
	}
	rows := make([]row, len(turns))
	for i, t := range turns {
		at := t.At
		if at.IsZero() {
			at = updated
		}
		if rows[i].at, err = nanos("turn time", at); err != nil {
			return err
		}
		if t.Reply != nil {
			b, err := json.Marshal(t.Reply)
			if err != nil {
				return fmt.Errorf("%w: turn reply: %v", intake.ErrInvalid, err)
			}
			rows[i].reply = string(b)
		}
	}
	var first int
	err = s.write(ctx, func(w *writer) error {
		bg := context.Background() // as the writer's statements: the batch is not the caller's
		res, err := w.conn.ExecContext(bg, "UPDATE conversations SET state = ?, community = ?, updated = ? WHERE id = ?",
			string(state), c.Community, un, c.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return bot.ErrNoConversation
		}
		if len(turns) == 0 {
			return nil
		}
		if err := w.conn.QueryRowContext(bg, "SELECT coalesce(max(seq), 0) + 1 FROM turns WHERE conversation_id = ?",
			c.ID).Scan(&first); err != nil {
			return err
		}
		for i, t := range turns {
			if _, err := w.conn.ExecContext(bg,
				"INSERT INTO turns (conversation_id, seq, at, sender, text, reply) VALUES (?, ?, ?, ?, ?, ?)",
				c.ID, first+i, rows[i].at, t.From, t.Text, rows[i].reply); err != nil {
				return fmt.Errorf("turn: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return chatWrap("append turns", err)
	}
	c.Updated = updated
	for i := range turns {
		turns[i].Seq = first + i
		if turns[i].At.IsZero() {
			turns[i].At = updated
		}
	}
	return nil
}

// Turns returns the last limit turns of a conversation (all of them when limit <= 0), oldest
// first; none, and no error, for an unknown conversation.
func (s *Store) Turns(ctx context.Context, conversationID string, limit int) ([]bot.Turn, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT seq, at, sender, text, reply FROM (
			SELECT * FROM turns WHERE conversation_id = ? ORDER BY seq DESC LIMIT ?
		) ORDER BY seq`, conversationID, limit)
	if err != nil {
		return nil, chatWrap("turns", err)
	}
	defer rows.Close()
	out := []bot.Turn{}
	for rows.Next() {
		var (
			t     bot.Turn
			at    sql.NullInt64
			reply sql.NullString
		)
		if err := rows.Scan(&t.Seq, &at, &t.From, &t.Text, &reply); err != nil {
			return nil, chatWrap("turns", err)
		}
		t.At = fromNanos(at)
		if reply.Valid {
			t.Reply = new(bot.Reply)
			if err := json.Unmarshal([]byte(reply.String), t.Reply); err != nil {
				return nil, fmt.Errorf("sqlite: conversation %s turn %d: reply: %w", conversationID, t.Seq, err)
			}
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, chatWrap("turns", err)
	}
	return out, nil
}

// clampNanos is t in unix nanoseconds, the zero time and times before 1678 as the smallest and
// times after 2262 as the largest: for comparisons, where any time will do.
func clampNanos(t time.Time) int64 {
	switch {
	case t.IsZero() || t.Before(minNanos):
		return math.MinInt64
	case t.After(maxNanos):
		return math.MaxInt64
	}
	return t.UnixNano()
}

func chatWrap(op string, err error) error {
	if errors.Is(err, bot.ErrNoConversation) {
		return err
	}
	return wrap(op, err)
}
