package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/bayannur/hotline/intake"
)

// Canned replies (常用语). Those that come with the service have no update time: NULL in
// PostgreSQL, 0 in SQLite.

// ListCanned returns every canned reply, oldest first.
func (s Shared) ListCanned(ctx context.Context) ([]intake.CannedReply, error) {
	db := s.Read
	rs, err := All(ctx, db, func(r Row) (intake.CannedReply, error) {
		var c intake.CannedReply
		var updated when
		dest := append([]any{&c.ID, &c.Title, &c.Text}, db.dest(&updated)...)
		if err := r.Scan(append(dest, &c.UpdatedBy)...); err != nil {
			return c, err
		}
		c.Updated = updated.orUnset()
		return c, nil
	}, "SELECT id, title, text, "+db.Time("updated")+", updated_by FROM canned_replies ORDER BY id")
	if err != nil {
		return nil, s.Wrap("list canned replies", err)
	}
	return rs, nil
}

// cannedArgs are r's values for title, text, the update time and updated_by, Updated set to now
// when zero.
func (d Dialect) cannedArgs(r *intake.CannedReply) ([]any, error) {
	if r.Updated.IsZero() {
		r.Updated = time.Now()
	}
	updated, err := d.TimeArgs("updated_at", r.Updated)
	if err != nil {
		return nil, err
	}
	return append(append([]any{r.Title, r.Text}, updated...), r.UpdatedBy), nil
}

// AddCanned stores r (Updated now when zero) and sets its ID.
func (s Shared) AddCanned(ctx context.Context, r *intake.CannedReply) error {
	d := s.Read.Dialect
	args, err := d.cannedArgs(r)
	if err != nil {
		return err
	}
	cols := "title, text, " + d.Time("updated") + ", updated_by"
	err = s.Write(ctx, func(ctx context.Context, db DB) error {
		return db.QueryRow(ctx, "INSERT INTO canned_replies ("+cols+") VALUES ("+Placeholders(cols)+") RETURNING id", args...).Scan(&r.ID)
	})
	return s.Wrap("add canned reply", err)
}

// UpdateCanned replaces reply r.ID; an unknown id is intake.ErrNotFound.
func (s Shared) UpdateCanned(ctx context.Context, r *intake.CannedReply) error {
	d := s.Read.Dialect
	args, err := d.cannedArgs(r)
	if err != nil {
		return err
	}
	return s.cannedChange(ctx, "update canned reply", r.ID,
		"UPDATE canned_replies SET "+Assignments("title, text, "+d.Time("updated")+", updated_by")+" WHERE id = ?", append(args, r.ID)...)
}

// DeleteCanned deletes reply id; an unknown id is intake.ErrNotFound.
func (s Shared) DeleteCanned(ctx context.Context, id int64) error {
	return s.cannedChange(ctx, "delete canned reply", id, "DELETE FROM canned_replies WHERE id = ?", id)
}

func (s Shared) cannedChange(ctx context.Context, op string, id int64, query string, args ...any) error {
	err := s.Write(ctx, func(ctx context.Context, db DB) error {
		n, err := db.Exec(ctx, query, args...)
		if err == nil && n == 0 {
			return fmt.Errorf("%w: canned reply %d", intake.ErrNotFound, id)
		}
		return err
	})
	return s.Wrap(op, err)
}
