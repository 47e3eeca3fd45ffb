package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
)

// GuideStore is a store that keeps the guide's versions.
type GuideStore interface {
	intake.GuideVersions
}

// RunGuideVersions runs the conformance tests of intake.GuideVersions against stores made by
// open, each call a new, empty store. second, when not nil, opens another store on the same data
// (another node), for the test of two nodes publishing at once.
func RunGuideVersions(t *testing.T, open func(t *testing.T) GuideStore, second func(t *testing.T, s GuideStore) GuideStore) {
	t.Run("Empty", func(t *testing.T) { testGuideEmpty(t, open(t)) })
	t.Run("PublishAndRead", func(t *testing.T) { testGuidePublish(t, open(t)) })
	t.Run("Conflict", func(t *testing.T) { testGuideConflict(t, open(t)) })
	t.Run("Invalid", func(t *testing.T) { testGuideInvalid(t, open(t)) })
	t.Run("ConcurrentPublish", func(t *testing.T) {
		s := open(t)
		nodes := []GuideStore{s, s}
		if second != nil {
			nodes[1] = second(t, s)
		}
		testGuideConcurrent(t, nodes)
	})
}

func guideFiles(phone string) []intake.GuideFile {
	return []intake.GuideFile{
		{Name: "entries/a.yaml", Data: []byte("id: a\n")},
		{Name: "contacts.yaml", Data: []byte("towns:\n  - phone: " + phone + "\n")},
		{Name: "training/bin.jsonl", Data: []byte{0, 0xff, 'x'}},
	}
}

// A new store has no guide version: CurrentGuide is ErrNotFound and the history is empty.
func testGuideEmpty(t *testing.T, s GuideStore) {
	if _, err := s.CurrentGuide(t.Context()); !errors.Is(err, intake.ErrNotFound) {
		t.Fatalf("CurrentGuide of a new store: %v; want ErrNotFound", err)
	}
	if _, err := s.GuideVersion(t.Context(), 1); !errors.Is(err, intake.ErrNotFound) {
		t.Fatalf("GuideVersion(1) of a new store: %v; want ErrNotFound", err)
	}
	h, err := s.GuideHistory(t.Context(), 0)
	if err != nil || len(h) != 0 {
		t.Fatalf("GuideHistory of a new store: %v, %v; want none", h, err)
	}
}

// Versions are numbered from 1, the highest is current, each keeps its files byte for byte
// (sorted by name), its author, note, time (to the nanosecond, UTC) and digest; a rollback is a
// new version. The history lists them newest first, without files.
func testGuidePublish(t *testing.T, s GuideStore) {
	ctx := t.Context()
	when := time.Date(2026, 3, 1, 9, 30, 0, 123456789, intake.Beijing)
	v1 := &intake.GuideVersion{Author: "wang", Note: "first", Published: when, Files: guideFiles("0478-1")}
	if err := s.PublishGuide(ctx, 0, v1); err != nil {
		t.Fatal(err)
	}
	if v1.Number != 1 || len(v1.Digest) != 64 {
		t.Fatalf("first version: number %d digest %q; want 1 and a SHA-256", v1.Number, v1.Digest)
	}
	v2 := &intake.GuideVersion{Author: "li", Note: "new phone", Files: guideFiles("0478-2")}
	if err := s.PublishGuide(ctx, 1, v2); err != nil {
		t.Fatal(err)
	}
	if v2.Number != 2 || v2.Published.IsZero() || v2.Digest == v1.Digest {
		t.Fatalf("second version %+v; want number 2, a time, another digest", v2)
	}
	cur, err := s.CurrentGuide(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkGuideVersion(t, cur, v2)
	old, err := s.GuideVersion(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	checkGuideVersion(t, old, v1)
	if !old.Published.Equal(when) || old.Published.Location() != time.UTC {
		t.Errorf("published %v; want %v in UTC", old.Published, when)
	}

	v3 := &intake.GuideVersion{Author: "li", Note: "back", RollbackOf: 1, Files: old.Files}
	if err := s.PublishGuide(ctx, 2, v3); err != nil {
		t.Fatal(err)
	}
	cur, err = s.CurrentGuide(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cur.Number != 3 || cur.RollbackOf != 1 || cur.Digest != v1.Digest {
		t.Fatalf("after the rollback the current version is %d (rollback of %d, digest %s); want 3, of 1, digest of 1", cur.Number, cur.RollbackOf, cur.Digest)
	}
	h, err := s.GuideHistory(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 3 || h[0].Number != 3 || h[1].Number != 2 || h[2].Number != 1 {
		t.Fatalf("history %+v; want versions 3, 2, 1", h)
	}
	if h[1].Author != "li" || h[1].Note != "new phone" || h[1].Files != nil || h[1].Digest != v2.Digest {
		t.Errorf("history's version 2: %+v; want li's \"new phone\" without files", h[1])
	}
	if h, _ := s.GuideHistory(ctx, 2); len(h) != 2 || h[0].Number != 3 {
		t.Errorf("history limited to 2: %+v", h)
	}
	if _, err := s.GuideVersion(ctx, 4); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("GuideVersion(4): %v; want ErrNotFound", err)
	}
}

func checkGuideVersion(t *testing.T, got, want *intake.GuideVersion) {
	t.Helper()
	if got.Number != want.Number || got.Author != want.Author || got.Note != want.Note || got.Digest != want.Digest ||
		!got.Published.Equal(want.Published) || got.RollbackOf != want.RollbackOf {
		t.Errorf("version %+v; want %+v", got, want)
	}
	if len(got.Files) != len(want.Files) {
		t.Fatalf("version %d has %d files; want %d", got.Number, len(got.Files), len(want.Files))
	}
	for i := range got.Files {
		if got.Files[i].Name != want.Files[i].Name || !bytes.Equal(got.Files[i].Data, want.Files[i].Data) {
			t.Errorf("file %d: %q %q; want %q %q", i, got.Files[i].Name, got.Files[i].Data, want.Files[i].Name, want.Files[i].Data)
		}
	}
}

// Publishing on a base that is not the current version is ErrConflict, and stores nothing.
func testGuideConflict(t *testing.T, s GuideStore) {
	ctx := t.Context()
	if err := s.PublishGuide(ctx, 0, &intake.GuideVersion{Files: guideFiles("1")}); err != nil {
		t.Fatal(err)
	}
	for _, base := range []int64{0, 2, 5} {
		err := s.PublishGuide(ctx, base, &intake.GuideVersion{Files: guideFiles("2")})
		if !errors.Is(err, intake.ErrConflict) {
			t.Errorf("publishing on base %d while 1 is current: %v; want ErrConflict", base, err)
		}
	}
	if h, _ := s.GuideHistory(ctx, 0); len(h) != 1 {
		t.Errorf("history %+v; want the one version", h)
	}
}

// No files, a file without a name, an unclean name or a name twice are ErrInvalid.
func testGuideInvalid(t *testing.T, s GuideStore) {
	for _, files := range [][]intake.GuideFile{
		nil,
		{{Name: "", Data: []byte("x")}},
		{{Name: "../x.yaml"}},
		{{Name: "/etc/passwd"}},
		{{Name: "a.yaml"}, {Name: "a.yaml"}},
	} {
		if err := s.PublishGuide(t.Context(), 0, &intake.GuideVersion{Files: files}); !errors.Is(err, intake.ErrInvalid) {
			t.Errorf("files %v: %v; want ErrInvalid", files, err)
		}
	}
}

// Two managers publishing on the same base at once, on two nodes: one gets the next number,
// the other ErrConflict.
func testGuideConcurrent(t *testing.T, nodes []GuideStore) {
	if err := nodes[0].PublishGuide(t.Context(), 0, &intake.GuideVersion{Files: guideFiles("0")}); err != nil {
		t.Fatal(err)
	}
	for round := int64(1); round <= 5; round++ {
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = nodes[i%len(nodes)].PublishGuide(t.Context(), round, &intake.GuideVersion{Files: guideFiles(fmt.Sprint(i))})
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, intake.ErrConflict):
				t.Fatalf("round %d: %v; want success or ErrConflict", round, err)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d publishes on one base succeeded; want exactly 1 (%v)", round, ok, errs)
		}
	}
	if cur, err := nodes[1].CurrentGuide(t.Context()); err != nil || cur.Number != 6 {
		t.Fatalf("current %v, %v; want version 6", cur, err)
	}
}
