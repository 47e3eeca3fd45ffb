package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/bayannur/hotline/intake"
)

// What the dashboard and the metrics read (intake.Reports, the tickets' in tickets.go), and the
// answers' feedback.

// ChatStats counts the conversations started in [from, to) in which the resident said something
// (a turn of theirs), and of those the ones that never asked for a person and opened no ticket. A
// conversation without a question, opened and left, counts in neither.
func (s Shared) ChatStats(ctx context.Context, from, to time.Time) (intake.ChatStats, error) {
	db := s.Read
	var st intake.ChatStats
	// conversation_id <> '' lets the partial index tickets_conversation serve the NOT EXISTS; the
	// turns' primary key (conversation_id, seq) serves the EXISTS.
	err := db.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE handoffs = 0 AND NOT EXISTS (
			SELECT 1 FROM tickets WHERE tickets.conversation_id = c.id AND tickets.conversation_id <> ''))
		FROM conversations c WHERE `+db.Compare("created", ">=")+" AND "+db.Compare("created", "<")+`
		AND EXISTS (SELECT 1 FROM turns WHERE turns.conversation_id = c.id AND turns.sender = 'resident')`,
		append(db.Bound(from), db.Bound(to)...)...).Scan(&st.Conversations, &st.Settled)
	return st, s.Wrap("chat stats", err)
}

// AddFeedback records a vote; a second vote on the same answer replaces the first. A vote in an
// unknown conversation is intake.ErrNoConversation.
func (s Shared) AddFeedback(ctx context.Context, f intake.Feedback) error {
	at := f.At
	if at.IsZero() {
		at = time.Now()
	}
	d := s.Read.Dialect
	args, err := d.TimeArgs("feedback time", at)
	if err != nil {
		return err
	}
	args = append([]any{f.ConversationID, f.MessageID, f.Topic, f.Helpful}, args...)
	cols := "conversation_id, message_id, topic, helpful, " + d.Time("at")
	set := "helpful = excluded.helpful, at = excluded.at"
	if d == Postgres {
		set += ", at_ns = excluded.at_ns"
	}
	err = s.Write(ctx, func(ctx context.Context, db DB) error {
		_, err := db.Exec(ctx, "INSERT INTO answer_feedback ("+cols+") VALUES ("+Placeholders(cols)+")"+
			" ON CONFLICT (conversation_id, message_id) DO UPDATE SET "+set, args...)
		if db.conn.Kind(err) == ForeignKey {
			return intake.ErrNoConversation
		}
		return err
	})
	return s.Wrap("add feedback", err)
}

// FeedbackByTopic counts the votes given in [from, to) by topic, least helpful first.
func (s Shared) FeedbackByTopic(ctx context.Context, from, to time.Time) ([]intake.TopicFeedback, error) {
	db := s.Read
	fs, err := All(ctx, db, func(r Row) (intake.TopicFeedback, error) {
		var f intake.TopicFeedback
		err := r.Scan(&f.Topic, &f.Helpful, &f.Unhelpful)
		return f, err
	}, `SELECT topic, count(*) FILTER (WHERE helpful), count(*) FILTER (WHERE NOT helpful)
		FROM answer_feedback WHERE `+db.Compare("at", ">=")+" AND "+db.Compare("at", "<")+` GROUP BY topic
		ORDER BY count(*) FILTER (WHERE NOT helpful) * 1.0 / count(*) DESC, count(*) FILTER (WHERE NOT helpful) DESC, topic`,
		append(db.Bound(from), db.Bound(to)...)...)
	if err != nil {
		return nil, s.Wrap("feedback by topic", err)
	}
	return fs, nil
}

// ConversationRecords returns the conversations started in [from, to) in which the resident said
// something, oldest first, each with its turns, the creation times of the tickets it opened and
// its 这个回答有帮助吗 votes: what the dashboard's chat figures are computed from.
func (s Shared) ConversationRecords(ctx context.Context, from, to time.Time) ([]intake.ConversationRecord, error) {
	db := s.Read
	period := db.Compare("created", ">=") + " AND " + db.Compare("created", "<")
	bounds := append(db.Bound(from), db.Bound(to)...)
	inPeriod := "SELECT id FROM conversations WHERE " + period
	recs, err := All(ctx, db, func(r Row) (intake.ConversationRecord, error) {
		var (
			c       intake.ConversationRecord
			created when
		)
		err := r.Scan(append(append([]any{&c.ID}, db.dest(&created)...), &c.Handoff)...)
		c.Created = created.time()
		return c, err
	}, "SELECT id, "+db.Time("created")+", handoff FROM conversations c WHERE "+period+`
		AND EXISTS (SELECT 1 FROM turns WHERE turns.conversation_id = c.id AND turns.sender = 'resident')
		ORDER BY `+db.Time("created")+", id", bounds...)
	if err != nil {
		return nil, s.Wrap("conversation records", err)
	}
	byID := make(map[string]*intake.ConversationRecord, len(recs))
	for i := range recs {
		byID[recs[i].ID] = &recs[i]
	}
	type turnRow struct {
		conv string
		t    intake.Turn
	}
	turns, err := All(ctx, db, func(r Row) (turnRow, error) {
		var (
			tr    turnRow
			at    when
			reply []byte
		)
		dest := append([]any{&tr.conv, &tr.t.Seq}, db.dest(&at)...)
		if err := r.Scan(append(dest, &tr.t.From, &tr.t.Text, &tr.t.Agent, &reply, &tr.t.Attachment)...); err != nil {
			return tr, err
		}
		tr.t.At = at.time()
		if reply != nil {
			tr.t.Reply = new(intake.Reply)
			if err := json.Unmarshal(reply, tr.t.Reply); err != nil {
				return tr, fmt.Errorf("conversation %s turn %d: reply: %w", tr.conv, tr.t.Seq, err)
			}
		}
		return tr, nil
	}, "SELECT conversation_id, seq, "+db.Time("at")+", sender, text, agent, reply, attachment FROM turns WHERE conversation_id IN ("+
		inPeriod+") ORDER BY conversation_id, seq", bounds...)
	if err != nil {
		return nil, s.Wrap("conversation records: turns", err)
	}
	for _, tr := range turns {
		if c := byID[tr.conv]; c != nil {
			c.Turns = append(c.Turns, tr.t)
		}
	}
	type ticketRow struct {
		conv string
		at   time.Time
	}
	tickets, err := All(ctx, db, func(r Row) (ticketRow, error) {
		var (
			tr ticketRow
			at when
		)
		err := r.Scan(append([]any{&tr.conv}, db.dest(&at)...)...)
		tr.at = at.time()
		return tr, err
	}, "SELECT conversation_id, "+db.Time("created")+" FROM tickets WHERE conversation_id <> '' AND conversation_id IN ("+
		inPeriod+") ORDER BY "+db.Time("created"), bounds...)
	if err != nil {
		return nil, s.Wrap("conversation records: tickets", err)
	}
	for _, tr := range tickets {
		if c := byID[tr.conv]; c != nil {
			c.Tickets = append(c.Tickets, tr.at)
		}
	}
	type voteRow struct {
		conv, message string
		helpful       bool
	}
	votes, err := All(ctx, db, func(r Row) (voteRow, error) {
		var v voteRow
		err := r.Scan(&v.conv, &v.message, &v.helpful)
		return v, err
	}, "SELECT conversation_id, message_id, helpful FROM answer_feedback WHERE conversation_id IN ("+inPeriod+")", bounds...)
	if err != nil {
		return nil, s.Wrap("conversation records: votes", err)
	}
	for _, v := range votes {
		if c := byID[v.conv]; c != nil {
			if c.Votes == nil {
				c.Votes = map[string]bool{}
			}
			c.Votes[v.message] = v.helpful
		}
	}
	return recs, nil
}
