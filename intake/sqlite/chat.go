package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/bayannur/hotline/intake"
)

// The chat's conversations and turns (migrations/0002_chat.sql).

var _ intake.Conversations = (*Store)(nil)

const conversationSelect = "SELECT id, token_hash, community, state, created, updated, handoff, operator, handoff_at, guess FROM conversations"

func scanConversation(r scanner) (*intake.Conversation, error) {
	var (
		c                           intake.Conversation
		state                       string
		created, updated, handoffAt sql.NullInt64
	)
	if err := r.Scan(&c.ID, &c.TokenHash, &c.Community, &state, &created, &updated,
		&c.Handoff, &c.Operator, &handoffAt, &c.Guess); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(state), &c.State); err != nil {
		return nil, fmt.Errorf("sqlite: conversation %s: state: %w", c.ID, err)
	}
	c.Created, c.Updated = fromNanos(created), fromNanos(updated)
	if handoffAt.Int64 != 0 {
		c.HandoffAt = fromNanos(handoffAt)
	}
	return &c, nil
}

// CreateConversation stores c, whose ID and TokenHash the caller has set. A zero Created is set to
// now and a zero Updated to Created. A taken id or token hash is intake.ErrConflict.
func (s *Store) CreateConversation(ctx context.Context, c *intake.Conversation) error {
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
// intake.ErrNoConversation.
func (s *Store) ConversationByToken(ctx context.Context, tokenHash string, since time.Time) (*intake.Conversation, error) {
	c, err := scanConversation(s.rdb.QueryRowContext(ctx, conversationSelect+" WHERE token_hash = ? AND updated > ?",
		tokenHash, clampNanos(since)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, intake.ErrNoConversation
	}
	if err != nil {
		return nil, chatWrap("conversation by token", err)
	}
	return c, nil
}

// Conversation returns a conversation by id, or intake.ErrNoConversation.
func (s *Store) Conversation(ctx context.Context, id string) (*intake.Conversation, error) {
	c, err := scanConversation(s.rdb.QueryRowContext(ctx, conversationSelect+" WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, intake.ErrNoConversation
	}
	if err != nil {
		return nil, chatWrap("conversation", err)
	}
	return c, nil
}

// SetHandoff moves conversation id's handoff to ch if it is now in one of from (and held by
// holder, when given), in one statement: of two operators taking the same chat, one moves it.
// An unknown id is intake.ErrNoConversation.
func (s *Store) SetHandoff(ctx context.Context, id string, from []string, holder string, ch intake.HandoffChange) (bool, error) {
	at := ch.At
	if at.IsZero() {
		at = time.Now()
	}
	an, err := nanos("handoff time", at)
	if err != nil {
		return false, err
	}
	fromJSON, err := json.Marshal(from)
	if err != nil {
		return false, err
	}
	var moved bool
	err = s.write(ctx, func(w *writer) error {
		bg := context.Background()
		res, err := w.conn.ExecContext(bg, `UPDATE conversations
			SET handoff = ?1, operator = ?2, handoff_at = ?3, guess = coalesce(nullif(?4, ''), guess),
				handoffs = handoffs + (handoff = '' AND ?1 IN ('waiting', 'offered'))
			WHERE id = ?5 AND handoff IN (SELECT value FROM json_each(?6)) AND (?7 = '' OR operator = ?7)`,
			ch.State, ch.Operator, an, ch.Guess, id, string(fromJSON), holder)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			var one int
			switch err := w.conn.QueryRowContext(bg, "SELECT 1 FROM conversations WHERE id = ?", id).Scan(&one); {
			case errors.Is(err, sql.ErrNoRows):
				return intake.ErrNoConversation
			case err != nil:
				return err
			}
		}
		moved = n == 1
		return nil
	})
	if err != nil {
		return false, chatWrap("set handoff", err)
	}
	return moved, nil
}

// Handoffs returns every conversation with a person involved, longest waiting first.
func (s *Store) Handoffs(ctx context.Context) ([]*intake.Conversation, error) {
	rows, err := s.rdb.QueryContext(ctx, conversationSelect+" WHERE handoff != '' ORDER BY handoff_at, id")
	if err != nil {
		return nil, chatWrap("handoffs", err)
	}
	defer rows.Close()
	out := []*intake.Conversation{}
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, chatWrap("handoffs", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, chatWrap("handoffs", err)
	}
	return out, nil
}

// AppendTurns stores c's state, community and Updated (now when zero, and then set in c) and
// appends turns after the conversation's last one, in one transaction. On success each turn's Seq
// is set in turns, and a zero At to c.Updated. An unknown c.ID is intake.ErrNoConversation.
func (s *Store) AppendTurns(ctx context.Context, c *intake.Conversation, turns []intake.Turn) error {
	if c == nil || c.ID == "" {
		return fmt.Errorf("%w: no conversation", intake.ErrInvalid)
	}
	state, err := json.Marshal(c.State)
	if err != nil {
		return fmt.Errorf("%w: conversation state: %v", intake.ErrInvalid, err)
	}
	updated, err := s.appendTurns(ctx, "append turns", c.ID, c.Updated, turns,
		"UPDATE conversations SET state = ?, community = ?, updated = ? WHERE id = ?", string(state), c.Community)
	if err == nil {
		c.Updated = updated
	}
	return err
}

// AddTurns appends turns to conversation id, as AppendTurns, leaving the dialogue's state alone:
// for what operators and the system say. The conversation counts as updated at the last turn's
// time (now when zero).
func (s *Store) AddTurns(ctx context.Context, id string, turns []intake.Turn) error {
	var at time.Time
	if len(turns) > 0 {
		at = turns[len(turns)-1].At
	}
	_, err := s.appendTurns(ctx, "add turns", id, at, turns, "UPDATE conversations SET updated = max(updated, ?) WHERE id = ?")
	return err
}

// appendTurns runs update (its arguments, then the update time and id) and inserts turns after
// the conversation's last one in one transaction, and returns the update time.
func (s *Store) appendTurns(ctx context.Context, op, id string, updated time.Time, turns []intake.Turn, update string, args ...any) (time.Time, error) {
	if id == "" {
		return time.Time{}, fmt.Errorf("%w: no conversation", intake.ErrInvalid)
	}
	if updated.IsZero() {
		updated = time.Now()
	}
	un, err := nanos("updated_at", updated)
	if err != nil {
		return time.Time{}, err
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
			return time.Time{}, err
		}
		if t.Reply != nil {
			b, err := json.Marshal(t.Reply)
			if err != nil {
				return time.Time{}, fmt.Errorf("%w: turn reply: %v", intake.ErrInvalid, err)
			}
			rows[i].reply = string(b)
		}
	}
	var first int
	err = s.write(ctx, func(w *writer) error {
		bg := context.Background() // as the writer's statements: the batch is not the caller's
		res, err := w.conn.ExecContext(bg, update, append(args, un, id)...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return intake.ErrNoConversation
		}
		if len(turns) == 0 {
			return nil
		}
		if err := w.conn.QueryRowContext(bg, "SELECT coalesce(max(seq), 0) + 1 FROM turns WHERE conversation_id = ?",
			id).Scan(&first); err != nil {
			return err
		}
		for i, t := range turns {
			if _, err := w.conn.ExecContext(bg,
				"INSERT INTO turns (conversation_id, seq, at, sender, text, agent, reply) VALUES (?, ?, ?, ?, ?, ?, ?)",
				id, first+i, rows[i].at, t.From, t.Text, t.Agent, rows[i].reply); err != nil {
				return fmt.Errorf("turn: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return time.Time{}, chatWrap(op, err)
	}
	for i := range turns {
		turns[i].Seq = first + i
		if turns[i].At.IsZero() {
			turns[i].At = updated
		}
	}
	return updated, nil
}

// Turns returns the last limit turns of a conversation (all of them when limit <= 0), oldest
// first; none, and no error, for an unknown conversation.
func (s *Store) Turns(ctx context.Context, conversationID string, limit int) ([]intake.Turn, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT seq, at, sender, text, agent, reply FROM (
			SELECT * FROM turns WHERE conversation_id = ? ORDER BY seq DESC LIMIT ?
		) ORDER BY seq`, conversationID, limit)
	if err != nil {
		return nil, chatWrap("turns", err)
	}
	defer rows.Close()
	out := []intake.Turn{}
	for rows.Next() {
		var (
			t     intake.Turn
			at    sql.NullInt64
			reply sql.NullString
		)
		if err := rows.Scan(&t.Seq, &at, &t.From, &t.Text, &t.Agent, &reply); err != nil {
			return nil, chatWrap("turns", err)
		}
		t.At = fromNanos(at)
		if reply.Valid {
			t.Reply = new(intake.Reply)
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
	if errors.Is(err, intake.ErrNoConversation) {
		return err
	}
	return wrap(op, err)
}
