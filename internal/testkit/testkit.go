// Package testkit is what the tests of several packages share: the built-in sample guide, its
// bot, and an intake service over a store, each made once a process the way cmd/hotline makes
// them; the real hotline binary, built once a process and run as `hotline serve` (serve.go); and
// Debian's headless chromium (browser.go); so that no test package keeps its own copy of the setup.
package testkit

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/bayannur/hotline/bot"
	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/search"
	"github.com/bayannur/hotline/search/bleve"
)

var (
	once   sync.Once
	spec   *search.Spec
	guide  *search.Guide
	index  search.Index
	theBot *bot.Bot
	err    error
)

func load() {
	if spec, err = search.LoadSpec(search.SpecFS()); err != nil {
		return
	}
	g, problems := search.Load(search.SampleGuide(), spec)
	if len(problems) > 0 {
		err = problems
		return
	}
	guide = g
	idx, an, e := bleve.Build(context.Background(), g, nil)
	if e != nil {
		err = e
		return
	}
	index = idx
	theBot, err = bot.New(g, idx, an)
}

// Sample returns the shared spec and the built-in guide.
func Sample(tb testing.TB) (*search.Spec, *search.Guide) {
	tb.Helper()
	once.Do(load)
	if err != nil {
		tb.Fatal(err)
	}
	return spec, guide
}

// Bot returns the bot over the built-in guide (trained once a process).
func Bot(tb testing.TB) *bot.Bot {
	tb.Helper()
	Sample(tb)
	return theBot
}

// Index returns the in-process index of the built-in guide.
func Index(tb testing.TB) search.Index {
	tb.Helper()
	Sample(tb)
	return index
}

// Tickets returns an intake service over store with the built-in guide's directory, the default
// SLA and calendar, and the clock now (nil: the wall clock).
func Tickets(tb testing.TB, store intake.Store, now func() time.Time) *intake.Service {
	tb.Helper()
	s, g := Sample(tb)
	return &intake.Service{
		Store: store, SLA: intake.DefaultSLA(intake.DefaultCalendar()),
		Dir: intake.GuideDirectory{Spec: s, Guide: g}, Now: now,
	}
}
