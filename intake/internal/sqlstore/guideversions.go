package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/bayannur/hotline/intake"
)

// The guide's versions (intake.GuideVersions), for both stores: each version's files packed in one
// column, numbered 1, 2, … with no gaps (a publish names the version it builds on).

const guideCols = "number, author, note, published, rollback_of, digest"

// PublishGuide implements intake.GuideVersions: v as version base+1, provided base is the
// current version (ErrConflict otherwise, also when another publish took base+1 meanwhile).
func (s Shared) PublishGuide(ctx context.Context, base int64, v *intake.GuideVersion) error {
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
	err = s.Tx(ctx, func(ctx context.Context, db DB) error {
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

// CurrentGuide implements intake.GuideVersions.
func (s Shared) CurrentGuide(ctx context.Context) (*intake.GuideVersion, error) {
	return s.guideVersion(ctx, "ORDER BY number DESC LIMIT 1", "current guide version")
}

// GuideVersion implements intake.GuideVersions.
func (s Shared) GuideVersion(ctx context.Context, n int64) (*intake.GuideVersion, error) {
	return s.guideVersion(ctx, "WHERE number = ?", fmt.Sprintf("guide version %d", n), n)
}

func (s Shared) guideVersion(ctx context.Context, where, what string, args ...any) (*intake.GuideVersion, error) {
	var v intake.GuideVersion
	var published int64
	var packed []byte
	err := s.Read.QueryRow(ctx, "SELECT "+guideCols+", files FROM guide_versions "+where, args...).
		Scan(&v.Number, &v.Author, &v.Note, &published, &v.RollbackOf, &v.Digest, &packed)
	if err != nil {
		if s.Read.conn.Kind(err) == NoRows {
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

// GuideHistory implements intake.GuideVersions: the newest limit versions (100 when limit <= 0),
// without their files.
func (s Shared) GuideHistory(ctx context.Context, limit int) ([]intake.GuideVersion, error) {
	if limit <= 0 {
		limit = 100
	}
	vs, err := All(ctx, s.Read, func(r Row) (intake.GuideVersion, error) {
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
