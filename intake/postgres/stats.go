package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bayannur/hotline/intake"
)

// What the dashboard and the metrics read (intake.Reports), and the answers' feedback.

// rangeArgs are the arguments of [from, to) for a pair of columns.
func rangeArgs(from, to time.Time) []any {
	return append(clampStamp(from).args(), clampStamp(to).args()...)
}

// TicketsCreated returns every ticket created in [from, to), oldest first.
func (s *Store) TicketsCreated(ctx context.Context, from, to time.Time) ([]*intake.Ticket, error) {
	return s.queryTickets(ctx, "tickets created", "SELECT "+ticketSelect+` FROM tickets
		WHERE (created, created_ns) >= ($1, $2) AND (created, created_ns) < ($3, $4)
		ORDER BY created, created_ns, number`, rangeArgs(from, to)...)
}

// OverdueCounts counts the open tickets marked overdue, by category and tier.
func (s *Store) OverdueCounts(ctx context.Context) ([]intake.OverdueCount, error) {
	rows, err := s.pool.Query(ctx, `SELECT category, tier, count(*) FROM tickets
		WHERE overdue AND status IN ('received', 'dispatched', 'signed', 'in_progress', 'returned')
		GROUP BY category, tier ORDER BY category, tier`)
	if err != nil {
		return nil, wrap("overdue counts", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (intake.OverdueCount, error) {
		var c intake.OverdueCount
		err := r.Scan(&c.Category, &c.Tier, &c.N)
		return c, err
	})
	if out == nil {
		out = []intake.OverdueCount{}
	}
	return out, wrap("overdue counts", err)
}

// ChatStats counts the conversations started in [from, to), and those that never asked for a
// person and opened no ticket.
func (s *Store) ChatStats(ctx context.Context, from, to time.Time) (intake.ChatStats, error) {
	var st intake.ChatStats
	err := s.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE handoffs = 0 AND NOT EXISTS (
			SELECT 1 FROM tickets WHERE tickets.conversation_id = c.id AND tickets.conversation_id <> ''))
		FROM conversations c WHERE (created, created_ns) >= ($1, $2) AND (created, created_ns) < ($3, $4)`,
		rangeArgs(from, to)...).Scan(&st.Conversations, &st.Settled)
	return st, wrap("chat stats", err)
}

// AddFeedback records a vote; a second vote on the same answer replaces the first. A vote in an
// unknown conversation is intake.ErrNoConversation.
func (s *Store) AddFeedback(ctx context.Context, f intake.Feedback) error {
	at := f.At
	if at.IsZero() {
		at = time.Now()
	}
	as, err := toStamp("feedback time", at)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO answer_feedback (conversation_id, message_id, topic, helpful, at, at_ns)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (conversation_id, message_id) DO UPDATE SET helpful = excluded.helpful, at = excluded.at, at_ns = excluded.at_ns`,
		f.ConversationID, f.MessageID, f.Topic, f.Helpful, *as.at, as.ns)
	if code(err) == foreignKeyViolation {
		return intake.ErrNoConversation
	}
	return wrap("add feedback", err)
}

// FeedbackByTopic counts the votes given in [from, to) by topic, least helpful first.
func (s *Store) FeedbackByTopic(ctx context.Context, from, to time.Time) ([]intake.TopicFeedback, error) {
	rows, err := s.pool.Query(ctx, `SELECT topic, count(*) FILTER (WHERE helpful), count(*) FILTER (WHERE NOT helpful)
		FROM answer_feedback WHERE (at, at_ns) >= ($1, $2) AND (at, at_ns) < ($3, $4) GROUP BY topic
		ORDER BY count(*) FILTER (WHERE NOT helpful)::float8 / count(*) DESC, count(*) FILTER (WHERE NOT helpful) DESC, topic`,
		rangeArgs(from, to)...)
	if err != nil {
		return nil, wrap("feedback by topic", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (intake.TopicFeedback, error) {
		var f intake.TopicFeedback
		err := r.Scan(&f.Topic, &f.Helpful, &f.Unhelpful)
		return f, err
	})
	if out == nil {
		out = []intake.TopicFeedback{}
	}
	return out, wrap("feedback by topic", err)
}
