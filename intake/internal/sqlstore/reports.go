package sqlstore

import (
	"context"
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
