package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/bayannur/hotline/intake"
)

// What the dashboard and the metrics read (intake.Reports), and the answers' feedback.

var _ intake.Reports = (*Store)(nil)

// TicketsCreated returns every ticket created in [from, to), oldest first.
func (s *Store) TicketsCreated(ctx context.Context, from, to time.Time) ([]*intake.Ticket, error) {
	return s.queryTickets(ctx, "tickets created", "SELECT "+ticketSelect+
		" FROM tickets WHERE created >= ? AND created < ? ORDER BY created, number", clampNanos(from), clampNanos(to))
}

// OverdueCounts counts the open tickets marked overdue, by category and tier.
func (s *Store) OverdueCounts(ctx context.Context) ([]intake.OverdueCount, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT category, tier, count(*) FROM tickets
		WHERE overdue = 1 AND status IN ('received', 'dispatched', 'signed', 'in_progress', 'returned')
		GROUP BY category, tier ORDER BY category, tier`)
	if err != nil {
		return nil, wrap("overdue counts", err)
	}
	defer rows.Close()
	out := []intake.OverdueCount{}
	for rows.Next() {
		var c intake.OverdueCount
		if err := rows.Scan(&c.Category, &c.Tier, &c.N); err != nil {
			return nil, wrap("overdue counts", err)
		}
		out = append(out, c)
	}
	return out, wrap("overdue counts", rows.Err())
}

// ChatStats counts the conversations started in [from, to), and those that never asked for a
// person and opened no ticket.
func (s *Store) ChatStats(ctx context.Context, from, to time.Time) (intake.ChatStats, error) {
	var st intake.ChatStats
	var settled sql.NullInt64
	err := s.rdb.QueryRowContext(ctx, `SELECT count(*), sum(handoffs = 0 AND NOT EXISTS (
			SELECT 1 FROM tickets WHERE tickets.conversation_id = c.id))
		FROM conversations c WHERE created >= ? AND created < ?`, clampNanos(from), clampNanos(to)).Scan(&st.Conversations, &settled)
	st.Settled = int(settled.Int64)
	return st, wrap("chat stats", err)
}

// AddFeedback records a vote; a second vote on the same answer replaces the first.
func (s *Store) AddFeedback(ctx context.Context, f intake.Feedback) error {
	at, err := nanos("feedback time", f.At)
	if err != nil {
		return err
	}
	if at == nil {
		at = time.Now().UnixNano()
	}
	err = s.write(ctx, func(w *writer) error {
		_, err := w.conn.ExecContext(context.Background(), `INSERT INTO answer_feedback (conversation_id, message_id, topic, helpful, at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (conversation_id, message_id) DO UPDATE SET helpful = excluded.helpful, at = excluded.at`,
			f.ConversationID, f.MessageID, f.Topic, f.Helpful, at)
		return err
	})
	return chatWrap("add feedback", err)
}

// FeedbackByTopic counts the votes given in [from, to) by topic, least helpful first.
func (s *Store) FeedbackByTopic(ctx context.Context, from, to time.Time) ([]intake.TopicFeedback, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT topic, sum(helpful), sum(NOT helpful) FROM answer_feedback
		WHERE at >= ? AND at < ? GROUP BY topic
		ORDER BY sum(NOT helpful) * 1.0 / count(*) DESC, sum(NOT helpful) DESC, topic`, clampNanos(from), clampNanos(to))
	if err != nil {
		return nil, wrap("feedback by topic", err)
	}
	defer rows.Close()
	out := []intake.TopicFeedback{}
	for rows.Next() {
		var f intake.TopicFeedback
		if err := rows.Scan(&f.Topic, &f.Helpful, &f.Unhelpful); err != nil {
			return nil, wrap("feedback by topic", err)
		}
		out = append(out, f)
	}
	return out, wrap("feedback by topic", rows.Err())
}
