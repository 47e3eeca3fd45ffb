package bot_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bayannur/hotline/bot"
	"github.com/bayannur/hotline/search"
)

// TestHeldOutSets runs every set the model is never trained on (testdata/heldout/, each written
// apart from the guide): every emergency in them gets the numbers in its first reply — asked
// afresh, inside any flow, and while a person is involved — and no set falls below heldOutFloor. Their figures, first runs and all, are in docs/bot.md.
func TestHeldOutSets(t *testing.T) {
	const heldOutFloor = 0.85 // the lowest set is at 86.7% (apart-missing-p, 2026-12-03)
	files, err := filepath.Glob("testdata/heldout/*.jsonl")
	if err != nil || len(files) < 8 {
		t.Fatalf("held-out sets: %v, %v", files, err)
	}
	b, g := newBot(t)
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			set := readSet(t, name)
			rep, err := b.Evaluate(context.Background(), set)
			if err != nil {
				t.Fatal(err)
			}
			// And from every state of every flow, and while a person is involved.
			n := 0
			for _, l := range set {
				if e, ok := g.Entry(l.Label); !ok || e.Kind != search.KindEmergency {
					continue
				}
				n++
				for _, f := range flows[:4] {
					c := newChat(t, "")
					f.enter(c)
					if r := c.ask(l.Q); r.Decision != bot.Emergency && !strings.HasPrefix(r.Text, numbersFirst) {
						t.Errorf("%s, %s: %s %q, want the numbers first", f.name, l.Q, r.Decision, r.Text)
					}
				}
				if r, _, _, ok := b.Danger(context.Background(), "m", bot.Message{Text: l.Q}); !ok || !strings.HasPrefix(r.Text, numbersFirst) && r.Decision != bot.Emergency {
					t.Errorf("%s: no numbers while a person is involved (%q)", l.Q, r.Text)
				}
			}
			if n != rep.Emergencies {
				t.Errorf("%d emergencies run through the flows, %d evaluated", n, rep.Emergencies)
			}
			if rep.EmergenciesWithNumbers != rep.Emergencies {
				t.Errorf("%d of %d emergencies given the numbers in the first reply, want all", rep.EmergenciesWithNumbers, rep.Emergencies)
			}
			if acc := rep.Accuracy(); acc < heldOutFloor {
				t.Errorf("strict accuracy %.3f (%d/%d), want at least %.2f", acc, rep.Right, rep.Total, heldOutFloor)
			}
		})
	}
}

// readSet reads a labelled set.
func readSet(t *testing.T, name string) []bot.Labelled {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	set, err := bot.ReadLabelled(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return set
}
