package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bayannur/hotline/bot"
	"github.com/bayannur/hotline/chat"
	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/search"
	"github.com/bayannur/hotline/search/meili"
	"github.com/bayannur/hotline/web"
)

func cmdServe(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", envOr("HOTLINE_ADDR", ":8080"), "listen address (env HOTLINE_ADDR)")
	data := fs.String("data", envOr("HOTLINE_DATA", "./data"), "data directory (env HOTLINE_DATA)")
	database := fs.String("database", envOr("HOTLINE_DATABASE", ""), databaseUsage)
	guide := fs.String("guide", envOr("HOTLINE_GUIDE", ""), "guide directory (env HOTLINE_GUIDE; default: built-in sample)")
	holidays := fs.String("holidays", envOr("HOTLINE_HOLIDAYS", ""), "holidays file for the working-day calendar (default: built-in)")
	slaFile := fs.String("sla", envOr("HOTLINE_SLA", ""), "deadlines by urgency and category, YAML (env HOTLINE_SLA; default: sign in 2h/30m, finish in 5 working days/24h; see docs/intake.md)")
	checkEvery := fs.Duration("deadline-check", time.Minute, "how often overdue tickets are looked for")
	chatIPRate := fs.Int("chat-ip-rate", 0, "chat messages a minute per client address, all its conversations (0: 300; -1: no limit, for hotline bench chat)")
	chatIdle := fs.Duration("chat-idle", 2*time.Minute, "close a chat that sends nothing and answers no ping for this long")
	deskHours := fs.String("desk-hours", envOr("HOTLINE_DESK_HOURS", "08:30-17:30"), "when operators answer chats, on working days, Beijing time: HH:MM-HH:MM, or always (env HOTLINE_DESK_HOURS)")
	handoffWait := fs.Duration("handoff-wait", 3*time.Minute, "how long a resident waits for an operator before a ticket is offered instead")
	targets := fs.String("targets", envOr("HOTLINE_TARGETS", ""), "targets of the four rates, e.g. signed_on_time=0.95,resolved_on_time=0.9,solved=0.85,satisfied=0.9 (env HOTLINE_TARGETS)")
	maxConns := fs.Int("max-conns-per-ip", 0, "connections open at once from one client address, IPv6 by /64; more are closed at once (env HOTLINE_MAX_CONNS_PER_IP; 0: 256; -1: no cap, for hotline bench chat)")
	metricsToken := fs.String("metrics-token", envOr("HOTLINE_METRICS_TOKEN", ""), "bearer token GET /metrics requires (env HOTLINE_METRICS_TOKEN; default: none, /metrics is open)")
	chatSilent := fs.Duration("chat-silent", 30*time.Minute, "close a resident's chat that sends no message, choice, typing or rating for this long (pings do not count)")
	trusted := fs.String("trusted-proxies", envOr("HOTLINE_TRUSTED_PROXIES", ""), "comma-separated addresses or CIDR prefixes of the load balancers in front (env HOTLINE_TRUSTED_PROXIES): from them only, the client's address, scheme and host are read from X-Forwarded-For/-Proto/-Host or Forwarded")
	origins := fs.String("origins", envOr("HOTLINE_ORIGINS", ""), "comma-separated origins whose pages may open the resident chat (the server's own always may)")
	debugAddr := fs.String("debug-addr", envOr("HOTLINE_DEBUG_ADDR", ""), "serve Go's profiler (net/http/pprof, /debug/pprof/) on this address, e.g. 127.0.0.1:6060 (env HOTLINE_DEBUG_ADDR; default: off). Keep it on loopback: profiles show the program's internals")
	meiliURL := fs.String("meili", envOr("HOTLINE_MEILI_URL", ""), "Meilisearch server the nodes share for the console's guide search and contact lookup, e.g. http://127.0.0.1:7700 (env HOTLINE_MEILI_URL; default: none, the in-process index alone; the bot always decides in-process)")
	meiliKey := fs.String("meili-key", envOr("HOTLINE_MEILI_KEY", ""), "Meilisearch API key (env HOTLINE_MEILI_KEY, better than the flag, which ps shows)")
	meiliPrefix := fs.String("meili-prefix", envOr("HOTLINE_MEILI_PREFIX", meili.DefaultPrefix), "start of the Meilisearch index names: PREFIXentries, PREFIXcontacts (env HOTLINE_MEILI_PREFIX)")
	webhookPrivate := fs.Bool("webhook-allow-private", os.Getenv("HOTLINE_WEBHOOK_ALLOW_PRIVATE") == "1", "let webhook subscriptions reach loopback, private and link-local addresses (env HOTLINE_WEBHOOK_ALLOW_PRIVATE=1; default: refused, see docs/integrations.md)")
	drain := fs.Duration("drain", 10*time.Second, "on SIGTERM, answer /readyz 503 \"draining\" for this long while serving everything else, so a load balancer stops sending requests before the server shuts down (env HOTLINE_DRAIN; 0: shut down at once)")
	if v := os.Getenv("HOTLINE_DRAIN"); v != "" {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return exitError{code: 2, msg: "HOTLINE_DRAIN: not a duration (10s, 1m): " + v}
		}
		*drain = d
	}
	if v := os.Getenv("HOTLINE_MAX_CONNS_PER_IP"); v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return exitError{code: 2, msg: "HOTLINE_MAX_CONNS_PER_IP: not a number: " + v}
		}
		*maxConns = n
	}
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return exitError{code: 2, msg: fmt.Sprintf("serve takes no arguments, only flags: %q", fs.Arg(0))}
	}
	if *chatSilent < 0 {
		return exitError{code: 2, msg: "--chat-silent: must not be negative"}
	}
	if *drain < 0 {
		return exitError{code: 2, msg: "--drain: must not be negative"}
	}
	hours, err := chat.ParseDeskHours(*deskHours)
	if err != nil {
		return exitError{code: 2, msg: err.Error()}
	}
	goals, err := intake.ParseTargets(*targets)
	if err != nil {
		return exitError{code: 2, msg: err.Error()}
	}
	proxies, err := web.ParseTrustedProxies(*trusted)
	if err != nil {
		return exitError{code: 2, msg: "--trusted-proxies: " + err.Error()}
	}
	if *meiliURL == "" && *meiliKey != "" {
		return exitError{code: 2, msg: "--meili-key (HOTLINE_MEILI_KEY) without --meili (HOTLINE_MEILI_URL): which server is it for?"}
	}
	if *meiliURL != "" {
		if _, err := meili.New(meili.Config{URL: *meiliURL, Key: *meiliKey, Prefix: *meiliPrefix}); err != nil {
			return exitError{code: 2, msg: "--meili: " + err.Error()}
		}
	}
	if err := os.MkdirAll(*data, 0o750); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	// Trained models are kept here, so that a restart on the same guide and build skips training.
	modelDir := filepath.Join(*data, "models")
	log := slog.Default()
	raiseFileLimit() // one socket per resident chat
	g, spec, err := loadGuide(*guide)
	if err != nil {
		return err
	}
	cal := intake.DefaultCalendar()
	if *holidays != "" {
		f, err := os.Open(*holidays)
		if err != nil {
			return err
		}
		cal, err = intake.ParseCalendar(f)
		f.Close()
		if err != nil {
			return err
		}
	}
	sla := intake.DefaultSLA(cal)
	if *slaFile != "" {
		f, err := os.Open(*slaFile)
		if err != nil {
			return err
		}
		sla, err = intake.ParseSLA(f, cal, func(c string) bool { _, ok := spec.Categories[c]; return ok })
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", *slaFile, err)
		}
	}
	store, bus, err := openStore(ctx, *database, *data)
	if err != nil {
		return err
	}
	defer store.Close()
	// The guide: the database's current version when there is one (guide.go), followed as
	// managers publish new ones.
	guides, _ := store.(intake.GuideVersions)
	var version *intake.GuideVersion
	if g, version, err = startGuide(ctx, guides, g, *guide, spec, log); err != nil {
		return err
	}
	dir := intake.NewLiveDirectory(intake.GuideDirectory{Spec: spec, Guide: g})
	svc := &intake.Service{Store: store, SLA: sla, Dir: dir, Log: log}
	// The console's guide search on Meilisearch, when there is one (meili.go): the node's guide
	// at start, and every version it switches to.
	var shared web.GuideIndex
	var onMeili *meiliGuide
	guideHooks := []func(context.Context, *search.Guide) error{func(_ context.Context, g *search.Guide) error {
		dir.Set(intake.GuideDirectory{Spec: spec, Guide: g}) // tickets route by the new contacts
		return nil
	}}
	if *meiliURL != "" {
		if onMeili, err = newMeiliGuide(meili.Config{URL: *meiliURL, Key: *meiliKey, Prefix: *meiliPrefix}, g, log); err != nil {
			return err
		}
		defer onMeili.Close()
		shared = onMeili
		guideHooks = append(guideHooks, onMeili.Publish)
	}
	var allowed []string
	for _, o := range strings.Split(*origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			allowed = append(allowed, o)
		}
	}
	hooks, _ := store.(intake.Webhooks)
	srv := web.New(web.Config{Log: log, Intake: svc, Users: store, Guide: g, Conversations: store, Origins: allowed, ChatIPPerMinute: *chatIPRate, ChatIdle: *chatIdle,
		ChatSilence: *chatSilent, MaxConnsPerIP: *maxConns, MetricsToken: *metricsToken, TrustedProxies: proxies,
		Canned: store, DeskHours: hours, HandoffWait: *handoffWait, Reports: store, Targets: goals, Bus: bus, Probe: store,
		GuideIndex: shared, Webhooks: hooks, WebhookAllowPrivate: *webhookPrivate,
		Guides: guides, GuideSpec: spec, GuideVersion: version.Number, GuideDigest: version.Digest, GuideFiles: version.Files,
		BuildBot: func(ctx context.Context, g *search.Guide) (*bot.Bot, func(), error) {
			eng, err := buildBot(ctx, g, modelDir)
			if err != nil {
				return nil, nil, err
			}
			return eng.bot, func() { eng.index.Close() }, nil
		},
		GuideHooks: guideHooks})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	ln = srv.Listener(ln)          // at most --max-conns-per-ip from one address
	hs := srv.HTTPServer()         // read, write and idle timeouts; headers up to 16 KiB
	storeName := "sqlite:" + *data // never the PostgreSQL URL: it may hold a password
	if *database != "" {
		storeName = "postgres"
	}
	log.Info("listening", "addr", ln.Addr().String(), "store", storeName, "trusted_proxies", len(proxies))

	// Health checks answer at once; the bot joins when its guide is indexed.
	ready := make(chan error, 1)
	go func() {
		start := time.Now()
		eng, err := buildBot(ctx, g, modelDir)
		if err != nil {
			ready <- err
			return
		}
		srv.SetEngine(g, eng.bot, version.Number, version.Digest, func() { eng.index.Close() })
		log.Info("bot ready", "entries", len(g.Entries), "took", time.Since(start).Round(time.Millisecond))
		ready <- nil
	}()
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go svc.WatchDeadlines(watchCtx, *checkEvery)
	go srv.RunDesk(watchCtx, cmp.Or(*handoffWait/6, time.Second))
	go srv.RunBus(watchCtx) // with several nodes on PostgreSQL: their desks are one
	if onMeili != nil {
		go onMeili.run(watchCtx) // publishes the guide, retrying while the server is down
	}
	if hooks != nil {
		// Every node runs one: deliveries are claimed in the database, each sent by one node.
		wk := &web.WebhookWorker{Store: hooks, Log: log, AllowPrivate: *webhookPrivate}
		svc.Observe(func(*intake.Ticket, intake.Event) { wk.Wake() })
		go wk.Run(watchCtx)
	}
	go srv.RunGuide(watchCtx)
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	if *debugAddr != "" {
		dl, err := net.Listen("tcp", *debugAddr)
		if err != nil {
			hs.Close()
			return fmt.Errorf("--debug-addr: %w", err)
		}
		// Where goroutines wait (on a lock, a channel, the store's writer) is what a CPU
		// profile does not show: sampled, so the cost stays small.
		runtime.SetMutexProfileFraction(100)
		runtime.SetBlockProfileRate(int((100 * time.Microsecond).Nanoseconds()))
		ds := &http.Server{Handler: profiler(), ReadHeaderTimeout: 10 * time.Second}
		defer ds.Close()
		go ds.Serve(dl)
		log.Info("profiler listening", "addr", dl.Addr().String())
	}

	select {
	case err := <-ready:
		if err != nil {
			hs.Close()
			return err
		}
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	select {
	case err := <-served:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	case <-ctx.Done():
	}
	if *drain > 0 && srv.Ready() {
		// A load balancer polling /readyz takes this node out within a few of its checks; until
		// then it may still send requests here, and they are served as ever. A second signal
		// (an impatient Ctrl-C) ends the wait.
		again := make(chan os.Signal, 1)
		signal.Notify(again, os.Interrupt, syscall.SIGTERM)
		srv.Drain()
		log.Info("draining: /readyz answers 503 before the shutdown", "for", *drain)
		select {
		case <-time.After(*drain):
		case <-again:
			log.Info("a second signal: shutting down without draining further")
		case err := <-served:
			signal.Stop(again)
			if !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		}
		signal.Stop(again)
	}
	log.Info("shutting down")
	stopWatch()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = hs.Shutdown(sctx)
	srv.CloseChats() // residents' widgets reconnect (1012) once the server is back
	return err
}

// profiler serves net/http/pprof's handlers on a mux of their own: never on the service's
// address, only on --debug-addr.
func profiler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
