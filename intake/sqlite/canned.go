package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/bayannur/hotline/intake"
)

// Canned replies (migrations/0003_desk.sql).

var _ intake.CannedReplies = (*Store)(nil)

// ListCanned returns every canned reply, oldest first.
func (s *Store) ListCanned(ctx context.Context) ([]intake.CannedReply, error) {
	rows, err := s.rdb.QueryContext(ctx, "SELECT id, title, text, updated, updated_by FROM canned_replies ORDER BY id")
	if err != nil {
		return nil, wrap("list canned replies", err)
	}
	defer rows.Close()
	out := []intake.CannedReply{}
	for rows.Next() {
		var r intake.CannedReply
		var updated sql.NullInt64
		if err := rows.Scan(&r.ID, &r.Title, &r.Text, &updated, &r.UpdatedBy); err != nil {
			return nil, wrap("list canned replies", err)
		}
		if updated.Int64 != 0 {
			r.Updated = fromNanos(updated)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("list canned replies", err)
	}
	return out, nil
}

// AddCanned stores r (Updated now when zero) and sets its ID.
func (s *Store) AddCanned(ctx context.Context, r *intake.CannedReply) error {
	if r.Updated.IsZero() {
		r.Updated = time.Now()
	}
	un, err := nanos("updated_at", r.Updated)
	if err != nil {
		return err
	}
	err = s.write(ctx, func(w *writer) error {
		res, err := w.conn.ExecContext(context.Background(),
			"INSERT INTO canned_replies (title, text, updated, updated_by) VALUES (?, ?, ?, ?)", r.Title, r.Text, un, r.UpdatedBy)
		if err != nil {
			return err
		}
		r.ID, err = res.LastInsertId()
		return err
	})
	return wrap("add canned reply", err)
}

// UpdateCanned replaces reply r.ID; an unknown id is intake.ErrNotFound.
func (s *Store) UpdateCanned(ctx context.Context, r *intake.CannedReply) error {
	if r.Updated.IsZero() {
		r.Updated = time.Now()
	}
	un, err := nanos("updated_at", r.Updated)
	if err != nil {
		return err
	}
	return s.cannedChange(ctx, "update canned reply", r.ID,
		"UPDATE canned_replies SET title = ?, text = ?, updated = ?, updated_by = ? WHERE id = ?", r.Title, r.Text, un, r.UpdatedBy, r.ID)
}

// DeleteCanned deletes reply id; an unknown id is intake.ErrNotFound.
func (s *Store) DeleteCanned(ctx context.Context, id int64) error {
	return s.cannedChange(ctx, "delete canned reply", id, "DELETE FROM canned_replies WHERE id = ?", id)
}

func (s *Store) cannedChange(ctx context.Context, op string, id int64, query string, args ...any) error {
	err := s.write(ctx, func(w *writer) error {
		res, err := w.conn.ExecContext(context.Background(), query, args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("%w: canned reply %d", intake.ErrNotFound, id)
		}
		return nil
	})
	return wrap(op, err)
}
