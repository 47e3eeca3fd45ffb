package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bayannur/hotline/intake"
)

// The chat's conversations and turns, and the operator desk's handoffs.

const conversationSelect = `SELECT id, token_hash, community, state, created, created_ns, updated, updated_ns,
	handoff, operator, handoff_at, handoff_at_ns, guess FROM conversations`

func scanConversation(r pgx.Row) (*intake.Conversation, error) {
	var (
		c                           intake.Conversation
		state                       []byte
		created, updated, handoffAt stamp
	)
	if err := r.Scan(&c.ID, &c.TokenHash, &c.Community, &state, &created.at, &created.ns, &updated.at, &updated.ns,
		&c.Handoff, &c.Operator, &handoffAt.at, &handoffAt.ns, &c.Guess); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(state, &c.State); err != nil {
		return nil, fmt.Errorf("postgres: conversation %s: state: %w", c.ID, err)
	}
	c.Created, c.Updated, c.HandoffAt = created.time(), updated.time(), handoffAt.time()
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
	state, err := jsonArg("conversation state", c.State)
	if err != nil {
		return err
	}
	cs, err := toStamp("created_at", created)
	if err != nil {
		return err
	}
	us, err := toStamp("updated_at", updated)
	if err != nil {
		return err
	}
	args := append(append([]any{c.ID, c.TokenHash, c.Community, state}, cs.args()...), us.args()...)
	_, err = s.pool.Exec(ctx, `INSERT INTO conversations (id, token_hash, community, state, created, created_ns, updated, updated_ns)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, args...)
	if code(err) == uniqueViolation {
		return fmt.Errorf("%w: conversation %s or its token exists already", intake.ErrConflict, c.ID)
	}
	if err != nil {
		return wrap("create conversation", err)
	}
	c.Created, c.Updated = created, updated
	return nil
}

// ConversationByToken returns the conversation of tokenHash if it was updated after since, else
// intake.ErrNoConversation.
func (s *Store) ConversationByToken(ctx context.Context, tokenHash string, since time.Time) (*intake.Conversation, error) {
	c, err := scanConversation(s.pool.QueryRow(ctx, conversationSelect+" WHERE token_hash = $1 AND (updated, updated_ns) > ($2, $3)",
		append([]any{tokenHash}, clampStamp(since).args()...)...))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, intake.ErrNoConversation
	}
	if err != nil {
		return nil, wrap("conversation by token", err)
	}
	return c, nil
}

// Conversation returns a conversation by id, or intake.ErrNoConversation.
func (s *Store) Conversation(ctx context.Context, id string) (*intake.Conversation, error) {
	c, err := scanConversation(s.pool.QueryRow(ctx, conversationSelect+" WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, intake.ErrNoConversation
	}
	if err != nil {
		return nil, wrap("conversation", err)
	}
	return c, nil
}

// SetHandoff moves conversation id's handoff to ch if it is now in one of from (and held by
// holder, when given), in one conditional UPDATE: of two operators taking the same chat, on one
// node or two, one moves it. An unknown id is intake.ErrNoConversation.
func (s *Store) SetHandoff(ctx context.Context, id string, from []string, holder string, ch intake.HandoffChange) (bool, error) {
	at := ch.At
	if at.IsZero() {
		at = time.Now()
	}
	as, err := toStamp("handoff time", at)
	if err != nil {
		return false, err
	}
	if from == nil {
		from = []string{}
	}
	var moved, exists bool
	err = s.pool.QueryRow(ctx, `WITH moved AS (
			UPDATE conversations
			SET handoff = $1, operator = $2, handoff_at = $3, handoff_at_ns = $4,
				guess = coalesce(nullif($5, ''), guess),
				handoffs = handoffs + CASE WHEN handoff = '' AND $1 IN ('waiting', 'offered') THEN 1 ELSE 0 END
			WHERE id = $6 AND handoff = ANY ($7) AND ($8 = '' OR operator = $8)
			RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM moved), EXISTS (SELECT 1 FROM conversations WHERE id = $6)`,
		ch.State, ch.Operator, *as.at, as.ns, ch.Guess, id, from, holder).Scan(&moved, &exists)
	if err != nil {
		return false, wrap("set handoff", err)
	}
	if !exists {
		return false, intake.ErrNoConversation
	}
	return moved, nil
}

// Handoffs returns every conversation with a person involved, longest waiting first.
func (s *Store) Handoffs(ctx context.Context) ([]*intake.Conversation, error) {
	rows, err := s.pool.Query(ctx, conversationSelect+" WHERE handoff <> '' ORDER BY handoff_at, handoff_at_ns, id")
	if err != nil {
		return nil, wrap("handoffs", err)
	}
	defer rows.Close()
	out := []*intake.Conversation{}
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, wrap("handoffs", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("handoffs", err)
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
	state, err := jsonArg("conversation state", c.State)
	if err != nil {
		return err
	}
	updated, err := s.appendTurns(ctx, "append turns", c.ID, c.Updated, turns,
		"UPDATE conversations SET state = $1, community = $2, updated = $3, updated_ns = $4 WHERE id = $5", state, c.Community)
	if err == nil {
		c.Updated = updated
	}
	return err
}

// AddTurns appends turns to conversation id, as AppendTurns, leaving the dialogue's state alone:
// for what operators and the system say. The conversation counts as updated at the last turn's
// time (now when zero), unless it was updated later.
func (s *Store) AddTurns(ctx context.Context, id string, turns []intake.Turn) error {
	var at time.Time
	if len(turns) > 0 {
		at = turns[len(turns)-1].At
	}
	_, err := s.appendTurns(ctx, "add turns", id, at, turns, `UPDATE conversations SET
			updated    = CASE WHEN (updated, updated_ns) < ($1::timestamptz, $2::smallint) THEN $1 ELSE updated END,
			updated_ns = CASE WHEN (updated, updated_ns) < ($1::timestamptz, $2::smallint) THEN $2 ELSE updated_ns END
		WHERE id = $3`)
	return err
}

// appendTurns runs update (its arguments, then the update time's two columns and the id) and
// inserts turns after the conversation's last one in one transaction, and returns the update
// time. The update locks the conversation's row, so that appends to one conversation take their
// turn.
func (s *Store) appendTurns(ctx context.Context, op, id string, updated time.Time, turns []intake.Turn, update string, args ...any) (time.Time, error) {
	if id == "" {
		return time.Time{}, fmt.Errorf("%w: no conversation", intake.ErrInvalid)
	}
	if updated.IsZero() {
		updated = time.Now()
	}
	us, err := toStamp("updated_at", updated)
	if err != nil {
		return time.Time{}, err
	}
	rows := make([][]any, len(turns)) // the turns' values after conversation_id and seq
	for i, t := range turns {
		at := t.At
		if at.IsZero() {
			at = updated
		}
		as, err := toStamp("turn time", at)
		if err != nil {
			return time.Time{}, err
		}
		var reply any
		if t.Reply != nil {
			if reply, err = jsonArg("turn reply", t.Reply); err != nil {
				return time.Time{}, err
			}
		}
		rows[i] = append(as.args(), t.From, t.Text, t.Agent, reply)
	}
	var first int
	err = s.tx(ctx, func(tx pgx.Tx) error {
		ct, err := tx.Exec(ctx, update, append(append(args, us.args()...), id)...)
		if err != nil {
			return err
		}
		if ct.RowsAffected() == 0 {
			return intake.ErrNoConversation
		}
		if len(turns) == 0 {
			return nil
		}
		if err := tx.QueryRow(ctx, "SELECT coalesce(max(seq), 0) + 1 FROM turns WHERE conversation_id = $1", id).Scan(&first); err != nil {
			return err
		}
		var b pgx.Batch
		for i, r := range rows {
			b.Queue(`INSERT INTO turns (conversation_id, seq, at, at_ns, sender, text, agent, reply)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, append([]any{id, first + i}, r...)...)
		}
		return tx.SendBatch(ctx, &b).Close()
	})
	if err != nil {
		return time.Time{}, wrap(op, err)
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
	var lim any // NULL: no limit
	if limit > 0 {
		lim = limit
	}
	rows, err := s.pool.Query(ctx, `SELECT seq, at, at_ns, sender, text, agent, reply FROM (
			SELECT * FROM turns WHERE conversation_id = $1 ORDER BY seq DESC LIMIT $2
		) last ORDER BY seq`, conversationID, lim)
	if err != nil {
		return nil, wrap("turns", err)
	}
	defer rows.Close()
	out := []intake.Turn{}
	for rows.Next() {
		var (
			t     intake.Turn
			at    stamp
			reply []byte
		)
		if err := rows.Scan(&t.Seq, &at.at, &at.ns, &t.From, &t.Text, &t.Agent, &reply); err != nil {
			return nil, wrap("turns", err)
		}
		t.At = at.time()
		if reply != nil {
			t.Reply = new(intake.Reply)
			if err := json.Unmarshal(reply, t.Reply); err != nil {
				return nil, fmt.Errorf("postgres: conversation %s turn %d: reply: %w", conversationID, t.Seq, err)
			}
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("turns", err)
	}
	return out, nil
}
