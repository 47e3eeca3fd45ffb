package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/intake/internal/sqlstore"
)

var _ intake.GuideVersions = (*Store)(nil)

// PublishGuide implements intake.GuideVersions.
func (s *Store) PublishGuide(ctx context.Context, base int64, v *intake.GuideVersion) error {
	return publishGuide(ctx, s.Shared, base, v)
}

// CurrentGuide implements intake.GuideVersions.
func (s *Store) CurrentGuide(ctx context.Context) (*intake.GuideVersion, error) {
	return guideVersion(ctx, s.Shared, "ORDER BY number DESC LIMIT 1", "current guide version")
}

// GuideVersion implements intake.GuideVersions.
func (s *Store) GuideVersion(ctx context.Context, n int64) (*intake.GuideVersion, error) {
	return guideVersion(ctx, s.Shared, "WHERE number = ?", fmt.Sprintf("guide version %d", n), n)
}

// GuideHistory implements intake.GuideVersions.
func (s *Store) GuideHistory(ctx context.Context, limit int) ([]intake.GuideVersion, error) {
	return guideHistory(ctx, s.Shared, limit)
}

// The code below is the same in intake/postgres (guideversion.go): change both together.

const guideCols = "number, author, note, published, rollback_of, digest"

func publishGuide(ctx context.Context, s sqlstore.Shared, base int64, v *intake.GuideVersion) error {
	if base < 0 {
		return fmt.Errorf("%w: base version %d", intake.ErrInvalid, base)
	}
	if err := intake.CheckGuideFiles(v.Files); err != nil {
		return err
	}
	packed, err := intake.EncodeGuideFiles(v.Files)
	if err != nil {
		return err
	}
	if v.Published.IsZero() {
		v.Published = time.Now()
	}
	v.Published = v.Published.UTC()
	v.Digest = intake.GuideDigest(v.Files)
	n := base + 1
	err = s.Tx(ctx, func(ctx context.Context, db sqlstore.DB) error {
		var current int64
		if err := db.QueryRow(ctx, "SELECT COALESCE(MAX(number), 0) FROM guide_versions").Scan(&current); err != nil {
			return err
		}
		if current != base {
			return fmt.Errorf("%w: the guide is at version %d, not %d", intake.ErrConflict, current, base)
		}
		added, err := db.Exec(ctx, "INSERT INTO guide_versions ("+guideCols+", files) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (number) DO NOTHING",
			n, v.Author, v.Note, v.Published.UnixNano(), v.RollbackOf, v.Digest, packed)
		if err == nil && added == 0 {
			return fmt.Errorf("%w: version %d was published meanwhile", intake.ErrConflict, n)
		}
		return err
	})
	if err != nil {
		return s.Wrap("publish guide version", err)
	}
	v.Number = n
	return nil
}

func guideVersion(ctx context.Context, s sqlstore.Shared, where, what string, args ...any) (*intake.GuideVersion, error) {
	var v intake.GuideVersion
	var published int64
	var packed []byte
	err := s.Read.QueryRow(ctx, "SELECT "+guideCols+", files FROM guide_versions "+where, args...).
		Scan(&v.Number, &v.Author, &v.Note, &published, &v.RollbackOf, &v.Digest, &packed)
	if err != nil {
		if isNoRows(err) {
			return nil, fmt.Errorf("%w: %s", intake.ErrNotFound, what)
		}
		return nil, s.Wrap("read "+what, err)
	}
	v.Published = time.Unix(0, published).UTC()
	if v.Files, err = intake.DecodeGuideFiles(packed); err != nil {
		return nil, s.Wrap("read "+what, err)
	}
	return &v, nil
}

func guideHistory(ctx context.Context, s sqlstore.Shared, limit int) ([]intake.GuideVersion, error) {
	if limit <= 0 {
		limit = 100
	}
	vs, err := sqlstore.All(ctx, s.Read, func(r sqlstore.Row) (intake.GuideVersion, error) {
		var v intake.GuideVersion
		var published int64
		err := r.Scan(&v.Number, &v.Author, &v.Note, &published, &v.RollbackOf, &v.Digest)
		v.Published = time.Unix(0, published).UTC()
		return v, err
	}, "SELECT "+guideCols+" FROM guide_versions ORDER BY number DESC LIMIT ?", limit)
	if err != nil {
		return nil, s.Wrap("list guide versions", err)
	}
	return vs, nil
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
