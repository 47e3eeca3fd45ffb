package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/bayannur/hotline/intake"
)

// The chat's conversations and turns. The handoff's conditional move (SetHandoff) is each store's.

var conversationSelect = byDialect(func(d Dialect) string {
	return "SELECT id, token_hash, community, state, " + d.Time("created") + ", " + d.Time("updated") +
		", handoff, operator, " + d.Time("handoff_at") + ", guess FROM conversations"
})

func (d Dialect) scanConversation(r Row) (*intake.Conversation, error) {
	var (
		c                           intake.Conversation
		state                       []byte
		created, updated, handoffAt when
	)
	dest := append([]any{&c.ID, &c.TokenHash, &c.Community, &state}, d.dest(&created)...)
	dest = append(append(dest, d.dest(&updated)...), &c.Handoff, &c.Operator)
	if err := r.Scan(append(append(dest, d.dest(&handoffAt)...), &c.Guess)...); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(state, &c.State); err != nil {
		return nil, fmt.Errorf("conversation %s: state: %w", c.ID, err)
	}
	c.Created, c.Updated, c.HandoffAt = created.time(), updated.time(), handoffAt.orUnset()
	return &c, nil
}

// HandoffTime is the values of SetHandoff's time (ch.At, or now when zero) for its columns.
func (d Dialect) HandoffTime(ch intake.HandoffChange) ([]any, error) {
	if ch.At.IsZero() {
		ch.At = time.Now()
	}
	return d.TimeArgs("handoff time", ch.At)
}

// conversation is the conversation query finds, or intake.ErrNoConversation.
func (s Shared) conversation(ctx context.Context, op, query string, args ...any) (*intake.Conversation, error) {
	c, err := s.Read.scanConversation(s.Read.QueryRow(ctx, conversationSelect[s.Read.Dialect]+" WHERE "+query, args...))
	if err := s.one(op, err, intake.ErrNoConversation); err != nil {
		return nil, err
	}
	return c, nil
}

// CreateConversation stores c, whose ID and TokenHash the caller has set. A zero Created is set to
// now and a zero Updated to Created. A taken id or token hash is intake.ErrConflict.
func (s Shared) CreateConversation(ctx context.Context, c *intake.Conversation) error {
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
	d := s.Read.Dialect
	ca, err := d.TimeArgs("created_at", created)
	if err != nil {
		return err
	}
	ua, err := d.TimeArgs("updated_at", updated)
	if err != nil {
		return err
	}
	args := append(append([]any{c.ID, c.TokenHash, c.Community, state}, ca...), ua...)
	cols := "id, token_hash, community, state, " + d.Time("created") + ", " + d.Time("updated")
	err = s.Write(ctx, func(ctx context.Context, db DB) error {
		_, err := db.Exec(ctx, "INSERT INTO conversations ("+cols+") VALUES ("+Placeholders(cols)+")", args...)
		if db.conn.Kind(err) == Unique {
			return fmt.Errorf("%w: conversation %s or its token exists already", intake.ErrConflict, c.ID)
		}
		if err == nil && s.Created != nil {
			stored := *c
			stored.Created, stored.Updated = d.Stored(created), d.Stored(updated)
			stored.Handoff, stored.Operator, stored.HandoffAt, stored.Guess = intake.HandoffNone, "", time.Time{}, ""
			s.Created(ctx, &stored)
		}
		return err
	})
	if err != nil {
		return s.Wrap("create conversation", err)
	}
	c.Created, c.Updated = created, updated
	return nil
}

// ConversationByToken returns the conversation of tokenHash if it was updated after since, else
// intake.ErrNoConversation.
func (s Shared) ConversationByToken(ctx context.Context, tokenHash string, since time.Time) (*intake.Conversation, error) {
	d := s.Read.Dialect
	return s.conversation(ctx, "conversation by token", "token_hash = ? AND "+d.Compare("updated", ">"),
		append([]any{tokenHash}, d.Bound(since)...)...)
}

// Conversation returns a conversation by id, or intake.ErrNoConversation.
func (s Shared) Conversation(ctx context.Context, id string) (*intake.Conversation, error) {
	return s.conversation(ctx, "conversation", "id = ?", id)
}

// HandoffOf returns conversation id's handoff state alone.
func (s Shared) HandoffOf(ctx context.Context, id string) (string, error) {
	var h string
	err := s.Read.QueryRow(ctx, "SELECT handoff FROM conversations WHERE id = ?", id).Scan(&h)
	if err := s.one("handoff", err, intake.ErrNoConversation); err != nil {
		return "", err
	}
	return h, nil
}

// Handoffs returns every conversation with a person involved, longest waiting first.
func (s Shared) Handoffs(ctx context.Context) ([]*intake.Conversation, error) {
	db := s.Read
	cs, err := All(ctx, db, db.scanConversation,
		conversationSelect[db.Dialect]+" WHERE handoff <> '' ORDER BY "+db.Time("handoff_at")+", id")
	if err != nil {
		return nil, s.Wrap("handoffs", err)
	}
	return cs, nil
}

// AppendTurns stores c's state, community and Updated (now when zero, and then set in c) and
// appends turns after the conversation's last one, in one transaction. On success each turn's Seq
// is set in turns, and a zero At to c.Updated. An unknown c.ID is intake.ErrNoConversation.
func (s Shared) AppendTurns(ctx context.Context, c *intake.Conversation, turns []intake.Turn) error {
	if c == nil || c.ID == "" {
		return fmt.Errorf("%w: no conversation", intake.ErrInvalid)
	}
	state, err := jsonArg("conversation state", c.State)
	if err != nil {
		return err
	}
	update := "UPDATE conversations SET state = ?, community = ?, " + Assignments(s.Read.Time("updated")) + " WHERE id = ?"
	at := c.Updated
	if at.IsZero() {
		at = time.Now()
	}
	// An emergency the bot decided is a webhook event, written with the turns.
	timed := make([]intake.Turn, len(turns))
	for i, t := range turns {
		if t.At.IsZero() {
			t.At = at
		}
		timed[i] = t
	}
	outbox, err := intake.EmergencyOutbox(c.ID, c.Community, timed)
	if err != nil {
		return err
	}
	st, community := c.State, c.Community
	updated, err := s.appendTurns(ctx, "append turns", c.ID, at, turns, outbox, func(c *intake.Conversation, updated time.Time) {
		c.State, c.Community, c.Updated = st, community, updated
	}, update, state, c.Community)
	if err == nil {
		c.Updated = updated
	}
	return err
}

// addTurnsUpdate moves a conversation's update time forward only: its arguments are the time's,
// then the id.
var addTurnsUpdate = [Postgres + 1]string{
	SQLite: "UPDATE conversations SET updated = max(updated, ?) WHERE id = ?",
	Postgres: `UPDATE conversations SET
			updated    = CASE WHEN (updated, updated_ns) < ($1::timestamptz, $2::smallint) THEN $1 ELSE updated END,
			updated_ns = CASE WHEN (updated, updated_ns) < ($1::timestamptz, $2::smallint) THEN $2 ELSE updated_ns END
		WHERE id = $3`,
}

// AddTurns appends turns to conversation id, as AppendTurns, leaving the dialogue's state alone:
// for what operators and the system say. The conversation counts as updated at the last turn's
// time (now when zero), unless it was updated later.
func (s Shared) AddTurns(ctx context.Context, id string, turns []intake.Turn) error {
	var at time.Time
	if len(turns) > 0 {
		at = turns[len(turns)-1].At
	}
	// The bot's numbers given while a person is involved are an emergency it decided too.
	outbox, err := intake.EmergencyOutbox(id, "", turns)
	if err != nil {
		return err
	}
	_, err = s.appendTurns(ctx, "add turns", id, at, turns, outbox, func(c *intake.Conversation, updated time.Time) {
		if updated.After(c.Updated) {
			c.Updated = updated
		}
	}, addTurnsUpdate[s.Read.Dialect])
	return err
}

// Append is one append of turns to a conversation, planned, for Shared.Batch: the conversation's
// Update with its Args (the update time's and the id last), which changes one row or none (an
// unknown conversation), and each turn's values after conversation_id and seq, in the columns
// AppendColumns names.
type Append struct {
	ID     string
	Update string
	Args   []any
	Rows   [][]any
}

// AppendColumns are the columns of Append's Rows.
func (d Dialect) AppendColumns() string {
	return d.Time("at") + ", sender, text, agent, reply, attachment"
}

// appendTurns runs update (its arguments, then the update time's and the id) and inserts turns
// after the conversation's last one, and outbox's webhook events, in one transaction, and returns
// the update time. The update takes the conversation's row first, so that appends to one
// conversation take their turn. change is what update does to the conversation, given the update
// time as stored, for s.Changed.
func (s Shared) appendTurns(ctx context.Context, op, id string, updated time.Time, turns []intake.Turn, outbox []intake.OutboxEvent,
	change func(c *intake.Conversation, updated time.Time), update string, args ...any) (time.Time, error) {
	if id == "" {
		return time.Time{}, fmt.Errorf("%w: no conversation", intake.ErrInvalid)
	}
	if updated.IsZero() {
		updated = time.Now()
	}
	d := s.Read.Dialect
	ua, err := d.TimeArgs("updated_at", updated)
	if err != nil {
		return time.Time{}, err
	}
	args = append(append(args, ua...), id)
	cols := "conversation_id, seq, " + d.AppendColumns()
	var values []string
	var rows [][]any // each turn's values after conversation_id and seq
	for _, t := range turns {
		at := t.At
		if at.IsZero() {
			at = updated
		}
		row, err := d.TimeArgs("turn time", at)
		if err != nil {
			return time.Time{}, err
		}
		var reply any
		if t.Reply != nil {
			if reply, err = jsonArg("turn reply", t.Reply); err != nil {
				return time.Time{}, err
			}
		}
		rows = append(rows, append(row, t.From, t.Text, t.Agent, reply, t.Attachment))
		values = append(values, "("+Placeholders(cols)+")")
	}
	var first int
	if s.Batch != nil && len(outbox) == 0 && len(turns) > 0 {
		// Many conversations' turns share one transaction (PostgreSQL's turn writer); the
		// rare append with a webhook event runs alone.
		seqs, err := s.Batch(ctx, &Append{ID: id, Update: update, Args: args, Rows: rows})
		if err != nil {
			return time.Time{}, s.Wrap(op, err)
		}
		for i := range turns {
			turns[i].Seq = seqs[i]
			if turns[i].At.IsZero() {
				turns[i].At = updated
			}
		}
		return updated, nil
	}
	err = s.Tx(ctx, func(ctx context.Context, db DB) error {
		n, err := db.Exec(ctx, update, args...)
		if err != nil {
			return err
		}
		if n == 0 {
			return intake.ErrNoConversation
		}
		if len(turns) > 0 {
			if err := db.QueryRow(ctx, "SELECT coalesce(max(seq), 0) + 1 FROM turns WHERE conversation_id = ?", id).Scan(&first); err != nil {
				return err
			}
			var all []any
			for i, r := range rows {
				all = append(append(all, id, first+i), r...)
			}
			if _, err := db.Exec(ctx, "INSERT INTO turns ("+cols+") VALUES "+strings.Join(values, ", "), all...); err != nil {
				return fmt.Errorf("turn: %w", err)
			}
		}
		for _, o := range outbox {
			if err := db.AddOutbox(ctx, o); err != nil {
				return err
			}
		}
		if s.Changed != nil {
			stored := d.Stored(updated)
			s.Changed(ctx, id, func(c *intake.Conversation) { change(c, stored) })
		}
		return nil
	})
	if err != nil {
		return time.Time{}, s.Wrap(op, err)
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
func (s Shared) Turns(ctx context.Context, conversationID string, limit int) ([]intake.Turn, error) {
	db := s.Read
	last, args := "", []any{conversationID}
	if limit > 0 {
		last, args = " LIMIT ?", append(args, limit)
	}
	ts, err := All(ctx, db, func(r Row) (intake.Turn, error) {
		var (
			t     intake.Turn
			at    when
			reply []byte
		)
		dest := append([]any{&t.Seq}, db.dest(&at)...)
		if err := r.Scan(append(dest, &t.From, &t.Text, &t.Agent, &reply, &t.Attachment)...); err != nil {
			return t, err
		}
		t.At = at.time()
		if reply != nil {
			t.Reply = new(intake.Reply)
			if err := json.Unmarshal(reply, t.Reply); err != nil {
				return t, fmt.Errorf("conversation %s turn %d: reply: %w", conversationID, t.Seq, err)
			}
		}
		return t, nil
	}, "SELECT seq, "+db.Time("at")+", sender, text, agent, reply, attachment FROM ("+
		"SELECT * FROM turns WHERE conversation_id = ? ORDER BY seq DESC"+last+") AS recent ORDER BY seq", args...)
	if err != nil {
		return nil, s.Wrap("turns", err)
	}
	return ts, nil
}
