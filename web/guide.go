package web

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bayannur/hotline/bot"
	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/search"
)

// The guide at run time. A server answers from one engine: a guide, the bot over it and the
// version it is. Managers publish new versions (guideapi.go); every node follows them: a
// published version is stored, then announced on the bus (in-process on one node), and each
// node's follower reads the current version, builds its bot in the background (the index and
// the model: seconds) and switches guide and bot in one atomic store. A chat in the middle of a
// flow keeps going: its state names topics and communities by id, and the bot forgets an id the
// new guide no longer has (bot.Handle).

// engine is what the server answers with.
type engine struct {
	guide   *search.Guide
	bot     *bot.Bot // nil until built
	version int64    // 0: the built-in guide or --guide's
	digest  string   // intake.GuideDigest of its files; "" when unknown
	release func()   // frees the bot's index once it is no longer served; may be nil
}

// releaseAfter is how long a replaced bot's index is kept: a message being answered when the
// switch came finishes with the bot it started with (milliseconds).
const releaseAfter = time.Minute

// liveBot reads the bot of the server's engine.
type liveBot struct{ s *Server }

// Load returns the bot the server answers with, nil while it is being built at start.
func (l liveBot) Load() *bot.Bot { return l.s.engine.Load().bot }

// liveGuide reads the guide of the server's engine.
type liveGuide struct{ s *Server }

// Load returns the guide served.
func (l *liveGuide) Load() *search.Guide { return l.s.engine.Load().guide }

// Entry returns the entry of the guide served.
func (l *liveGuide) Entry(id string) (*search.Entry, bool) { return l.Load().Entry(id) }

// Community returns the community of the guide served.
func (l *liveGuide) Community(id string) (*search.Community, bool) { return l.Load().Community(id) }

// Communities lists the communities of the guide served.
func (l *liveGuide) Communities() []*search.Community { return l.Load().Communities() }

var swapMu sync.Mutex // orders the writers of every server's engine (SetBot, SetEngine): rare

// swap replaces the engine by change's copy of it.
func (s *Server) swap(change func(engine) engine) {
	swapMu.Lock()
	defer swapMu.Unlock()
	e := change(*s.engine.Load())
	s.engine.Store(&e)
}

// SetEngine makes the server answer from guide g of version n (digest: its files') with b, a
// bot over g: both at once. release (may be nil) frees b's index once b is replaced; the bot
// replaced is released a minute after.
func (s *Server) SetEngine(g *search.Guide, b *bot.Bot, n int64, digest string, release func()) {
	var old engine
	s.swap(func(e engine) engine {
		old = e
		return engine{guide: g, bot: b, version: n, digest: digest, release: release}
	})
	if old.release != nil && old.bot != b {
		time.AfterFunc(releaseAfter, old.release)
	}
	s.wakeGuide()
}

// Guide is the guide the server answers from.
func (s *Server) Guide() *search.Guide { return s.engine.Load().guide }

// Bot is the bot the server answers with (nil while it is built at start).
func (s *Server) Bot() *bot.Bot { return s.engine.Load().bot }

// GuideVersion is the version of the guide served (0: the built-in guide or --guide's).
func (s *Server) GuideVersion() int64 { return s.engine.Load().version }

// follower follows the guide's versions in the database.
type follower struct {
	store intake.GuideVersions
	spec  *search.Spec
	build func(ctx context.Context, g *search.Guide) (*bot.Bot, func(), error)
	hooks []func(context.Context, *search.Guide) error
	every time.Duration
	// files0 and digest0 are the files the node started with when no version was stored.
	files0  []intake.GuideFile
	digest0 string
	wake    chan struct{} // a version was published: look now

	mu sync.Mutex // one build at a time: following, or a manager's preview
}

// mountGuide sets up following the guide's versions and the editor's API, with Config.Guides.
func (s *Server) mountGuide(cfg Config) {
	s.metrics.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hotline_guide_version",
		Help: "The version of the guide this node answers from (0: the built-in guide or --guide's)."},
		func() float64 { return float64(s.GuideVersion()) }))
	if cfg.Guides == nil || cfg.GuideSpec == nil || cfg.BuildBot == nil || cfg.Guide == nil {
		return
	}
	s.guides = &follower{store: cfg.Guides, spec: cfg.GuideSpec, build: cfg.BuildBot, hooks: cfg.GuideHooks,
		every: cfg.GuideCheck, wake: make(chan struct{}, 1), files0: cfg.GuideFiles, digest0: cfg.GuideDigest}
	if s.guides.every <= 0 {
		s.guides.every = 30 * time.Second
	}
	if s.users != nil {
		s.mountGuideAPI()
		// The editor's page: public (it shows a login form), as the console is; its data needs a
		// manager's login. A page, not API: on the mux directly, out of Routes.
		s.mux.Handle("GET /console/guide", staticPage("static/guide.html", "guide", "no-cache", pageHeaders))
		s.mux.Handle("GET /guide.js", staticFile("static/guide.js", "application/javascript; charset=utf-8", "no-cache", nil))
	}
}

// wakeGuide has the follower look for a new version now.
func (s *Server) wakeGuide() {
	if s.guides == nil {
		return
	}
	select {
	case s.guides.wake <- struct{}{}:
	default: // a look is due already
	}
}

// LookForGuide has the server look for a new version in the database now, as a notice on the bus
// does (a test, or an operator's signal).
func (s *Server) LookForGuide() { s.wakeGuide() }

// announceGuide tells every node, this one included, that a version was published.
func (s *Server) announceGuide() { s.publish(toGuide, "", nil) }

// GuideNotice is the bus payload that announces a published version to every node: for
// `hotline guide import`, which publishes from outside the nodes.
func GuideNotice() []byte { return []byte(`{"to":"` + toGuide + `"}`) }

// RunGuide follows the guide's versions until ctx ends: at once when one is announced, and every
// Config.GuideCheck in case an announcement was missed. Without Config.Guides it returns at once.
// It follows only once the bot is ready (SetBot or SetEngine).
func (s *Server) RunGuide(ctx context.Context) {
	if s.guides == nil {
		return
	}
	tick := time.NewTicker(s.guides.every)
	defer tick.Stop()
	for {
		if s.bot.Load() != nil {
			if err := s.followGuide(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("guide: following the published versions", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-s.guides.wake:
		case <-tick.C:
		}
	}
}

// followGuide switches to the current version of the database, when it is not the one served.
func (s *Server) followGuide(ctx context.Context) error {
	v, err := s.guides.store.CurrentGuide(ctx)
	if errors.Is(err, intake.ErrNotFound) {
		return nil // none published: the built-in guide or --guide's serves
	}
	if err != nil {
		return err
	}
	cur := s.engine.Load()
	if cur.version == v.Number {
		return nil
	}
	if cur.digest != "" && cur.digest == v.Digest {
		// The same files (the built-in guide, imported): nothing to build.
		s.swap(func(e engine) engine { e.version = v.Number; return e })
		s.log.Info("guide: serving version", "version", v.Number, "same_files", true)
		return nil
	}
	s.log.Info("guide: building the bot of a new version", "version", v.Number, "serving", cur.version)
	start := time.Now()
	g, b, release, err := s.guides.engine(ctx, v.Files)
	if err != nil {
		return fmt.Errorf("version %d: %w", v.Number, err)
	}
	if s.engine.Load().version >= v.Number {
		if release != nil {
			release()
		}
		return nil // a newer one was switched to meanwhile
	}
	s.SetEngine(g, b, v.Number, v.Digest, release)
	s.log.Info("guide: serving version", "version", v.Number, "author", v.Author, "took", time.Since(start).Round(time.Millisecond))
	for _, hook := range s.guides.hooks {
		if err := hook(ctx, g); err != nil {
			s.log.Error("guide: after switching to a version", "version", v.Number, "err", err)
		}
	}
	return nil
}

// loadFiles loads a guide from its files, checked as `hotline guide check` checks a directory.
func (f *follower) loadFiles(files []intake.GuideFile) (*search.Guide, search.Problems) {
	m := make(map[string][]byte, len(files))
	for _, file := range files {
		m[file.Name] = file.Data
	}
	return search.Load(search.FilesFS(m), f.spec)
}

// engine loads a guide from files and builds a bot over it, one build at a time; release (may be
// nil) frees the bot's index.
func (f *follower) engine(ctx context.Context, files []intake.GuideFile) (*search.Guide, *bot.Bot, func(), error) {
	g, problems := f.loadFiles(files)
	if len(problems) > 0 {
		return nil, nil, nil, problems
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	b, release, err := f.build(ctx, g)
	if err != nil {
		return nil, nil, nil, err
	}
	return g, b, release, nil
}
