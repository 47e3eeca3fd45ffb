package storetest

import (
	"context"
	"errors"
	"testing"
	"time"
)

// probeTests: the readiness probe (intake.Prober) writes, again and again, and fails when the
// store cannot: after Close, or when its context has ended. (What makes a database fail to write
// is each store's own: its tests provoke it.)
var probeTests = []test{
	{"Writes", func(t *testing.T, s Store) {
		for i := range 3 {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			err := s.Probe(ctx)
			cancel()
			if err != nil {
				t.Fatalf("probe %d of a new store: %v", i+1, err)
			}
		}
	}},
	{"AcrossNodes", func(t *testing.T, s Store) {
		for i, n := range nodes(t, s, 3) {
			if err := n.Probe(t.Context()); err != nil {
				t.Errorf("probe on node %d: %v", i+1, err)
			}
		}
	}},
	{"ContextEnded", func(t *testing.T, s Store) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := s.Probe(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("probe with an ended context: %v; want context.Canceled", err)
		}
	}},
	{"Closed", func(t *testing.T, s Store) {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Probe(t.Context()); err == nil {
			t.Error("probe of a closed store: nil; want an error")
		}
	}},
}
