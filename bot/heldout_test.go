package bot_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/bayannur/hotline/bot"
)

// TestHeldOutSets runs every set the model is never trained on (testdata/heldout/, each written
// apart from the guide): every emergency in them gets the numbers in its first reply, and no set
// falls below heldOutFloor. Their figures, first runs and all, are in docs/bot.md.
func TestHeldOutSets(t *testing.T) {
	const heldOutFloor = 0.85 // the lowest set is at 86.7% (apart-missing-p, 2026-12-03)
	files, err := filepath.Glob("testdata/heldout/*.jsonl")
	if err != nil || len(files) < 8 {
		t.Fatalf("held-out sets: %v, %v", files, err)
	}
	b, _ := newBot(t)
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			rep, err := b.Evaluate(context.Background(), readSet(t, name))
			if err != nil {
				t.Fatal(err)
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
