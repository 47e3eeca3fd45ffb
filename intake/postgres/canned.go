package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/bayannur/hotline/intake"
)

// Canned replies (常用语).

// ListCanned returns every canned reply, oldest first.
func (s *Store) ListCanned(ctx context.Context) ([]intake.CannedReply, error) {
	rows, err := s.pool.Query(ctx, "SELECT id, title, text, updated, updated_ns, updated_by FROM canned_replies ORDER BY id")
	if err != nil {
		return nil, wrap("list canned replies", err)
	}
	defer rows.Close()
	out := []intake.CannedReply{}
	for rows.Next() {
		var r intake.CannedReply
		var updated stamp
		if err := rows.Scan(&r.ID, &r.Title, &r.Text, &updated.at, &updated.ns, &r.UpdatedBy); err != nil {
			return nil, wrap("list canned replies", err)
		}
		r.Updated = updated.time()
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
	us, err := toStamp("updated_at", r.Updated)
	if err != nil {
		return err
	}
	err = s.pool.QueryRow(ctx, `INSERT INTO canned_replies (title, text, updated, updated_ns, updated_by)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`, r.Title, r.Text, *us.at, us.ns, r.UpdatedBy).Scan(&r.ID)
	return wrap("add canned reply", err)
}

// UpdateCanned replaces reply r.ID; an unknown id is intake.ErrNotFound.
func (s *Store) UpdateCanned(ctx context.Context, r *intake.CannedReply) error {
	if r.Updated.IsZero() {
		r.Updated = time.Now()
	}
	us, err := toStamp("updated_at", r.Updated)
	if err != nil {
		return err
	}
	return s.cannedChange(ctx, "update canned reply", r.ID,
		"UPDATE canned_replies SET title = $1, text = $2, updated = $3, updated_ns = $4, updated_by = $5 WHERE id = $6",
		r.Title, r.Text, *us.at, us.ns, r.UpdatedBy, r.ID)
}

// DeleteCanned deletes reply id; an unknown id is intake.ErrNotFound.
func (s *Store) DeleteCanned(ctx context.Context, id int64) error {
	return s.cannedChange(ctx, "delete canned reply", id, "DELETE FROM canned_replies WHERE id = $1", id)
}

func (s *Store) cannedChange(ctx context.Context, op string, id int64, query string, args ...any) error {
	ct, err := s.pool.Exec(ctx, query, args...)
	if err != nil {
		return wrap(op, err)
	}
	if ct.RowsAffected() == 0 {
		return fmt.Errorf("%w: canned reply %d", intake.ErrNotFound, id)
	}
	return nil
}
