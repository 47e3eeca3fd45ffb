// Package web turns HTTP requests into calls on the bot and the intake service: the resident
// API, the staff API, Open311, the health checks and the pages.
package web

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bayannur/hotline/bot"
	"github.com/bayannur/hotline/chat"
	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/internal/i18n"
	"github.com/bayannur/hotline/search"
)

// MaxBodyBytes bounds a JSON request body; MaxTicketBodyBytes a ticket's, whose 4,000-character
// description may arrive \u-escaped (six bytes a character).
const (
	MaxBodyBytes       = 16 << 10
	MaxTicketBodyBytes = 64 << 10
)

// Config is what a Server serves. Intake, Users and Guide may be nil (a bot-only server, as in
// tests): the ticket, staff and Open311 routes are then not mounted.
type Config struct {
	Log    *slog.Logger
	Intake *intake.Service
	Users  intake.Users
	Guide  *search.Guide
	// Conversations stores resident chats; with Intake, it mounts GET /ws/chat.
	Conversations intake.Conversations
	// Origins may open the resident chat from a browser; the server's own origin always may.
	Origins []string
	// ChatIPPerMinute limits chat messages per client address (0: 300 a minute; negative: no
	// limit, for `hotline bench chat` from one address).
	ChatIPPerMinute int
	// Reports feed the dashboard, the survey's votes and the metrics read from the database;
	// Targets are the four rates' targets (nil: intake.DefaultTargets).
	Reports intake.Reports
	Targets intake.Targets
	// Canned stores the operators' canned replies (with the chat, it mounts /api/v1/canned).
	Canned intake.CannedReplies
	// DeskHours are when operators answer chats (zero: DefaultDeskHours); HandoffWait is how
	// long a resident waits for one before a ticket is offered instead (0: 3 minutes).
	DeskHours   chat.DeskHours
	HandoffWait time.Duration
	// ChatIdle closes a chat connection that has sent no frame and answered no ping for this
	// long (0: 2 minutes); the server pings at a quarter of it.
	ChatIdle time.Duration
	// ChatHelloWait closes a chat connection that has not sent hello this long after the upgrade
	// (0: 10 seconds), with 1008 "hello_timeout".
	ChatHelloWait time.Duration
	// ChatSilence closes a resident's chat that has sent no ask, choose, typing, ack, rate or
	// feedback for this long (0: 30 minutes; pings do not count), with 1000 "silent".
	ChatSilence time.Duration
	// Attachments stores residents' photos (nil: Conversations' own, when it has them); with the
	// chat, it mounts the photo routes (attachments.go).
	Attachments intake.Attachments
	// Bus joins the desks of several nodes serving one database (nil: this node alone).
	Bus Bus
	// Probe is the store's readiness probe: /readyz answers 503 while it fails, and
	// hotline_store_writable says so (nil: /readyz does not look at the store).
	Probe intake.Prober
	// GuideIndex is the guide index the nodes share (Meilisearch), which the console's guide
	// search asks first (guidesearch.go); nil: the bot's in-process index alone.
	GuideIndex GuideIndex
	// Webhooks stores the webhook subscriptions and deliveries: with Users, it mounts the admins'
	// /api/v1/webhooks (webhooks.go); WebhookAllowPrivate lets them name internal addresses.
	Webhooks            intake.Webhooks
	WebhookAllowPrivate bool
	// Guides keeps the guide's versions; with GuideSpec and BuildBot, the server follows them
	// (RunGuide) and mounts the guide editor's API (guide.go). GuideVersion and GuideDigest say
	// which version Guide is (0: the built-in guide or --guide's, not stored), GuideHooks are
	// called after every switch to a new version (Meilisearch's index, the service's directory).
	Guides    intake.GuideVersions
	GuideSpec *search.Spec
	// BuildBot builds a bot over g; release, when not nil, frees what the bot holds (its index),
	// called once the bot is no longer served.
	BuildBot     func(ctx context.Context, g *search.Guide) (b *bot.Bot, release func(), err error)
	GuideVersion int64
	GuideDigest  string
	// GuideFiles are Guide's files when GuideVersion is 0: the base of the first version.
	GuideFiles []intake.GuideFile
	GuideHooks []func(context.Context, *search.Guide) error
	// GuideCheck is how often a node looks for a guide version it missed (0: 30 seconds);
	// published versions reach it at once on the bus.
	GuideCheck time.Duration

	Now func() time.Time

	// The HTTP server (HTTPServer, Listener; 0: the Default… constants): its timeouts, the cap
	// on request headers, and on the connections open from one client address (negative: none).
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	MaxHeaderBytes                                            int
	MaxConnsPerIP                                             int
	// MetricsToken, when set, is the bearer token GET /metrics requires.
	MetricsToken string
	// TrustedProxies are the load balancers whose X-Forwarded-For/-Proto/-Host (or Forwarded)
	// the server believes (proxy.go); from any other peer those headers are ignored.
	TrustedProxies []netip.Prefix
}

// Server serves the HTTP API. It answers health checks at once and asks once its bot is ready:
// until SetBot is called, /api/v1/ask answers 503 with Retry-After.
type Server struct {
	// engine is the guide served and the bot over it (nil until SetBot or SetEngine), replaced
	// together when a new version of the guide is published (guide.go); bot and guide read it.
	engine  atomic.Pointer[engine]
	bot     liveBot
	log     *slog.Logger
	mux     *http.ServeMux
	intake  *intake.Service
	users   intake.Users
	guide   *liveGuide // nil without Config.Guide
	guides  *follower  // follows the guide's versions, with Config.Guides
	convs   intake.Conversations
	origins map[string]bool
	bus     Bus
	clock   func() time.Time
	chat    *chatHub // open chat connections, when /ws/chat is mounted
	desk    *deskHub // the switchboard between residents and consoles, with the chat
	canned  intake.CannedReplies
	reports intake.Reports
	targets intake.Targets
	metrics *metrics
	store   *storeCheck // the store's probe, with Config.Probe

	draining atomic.Bool // Drain was called: /readyz answers 503
	// node names this node on the bus (presence.go): random, new at every start.
	node string
	// busAfter is time.After, for RunBus's retries (a test's, to see the delays).
	busAfter func(time.Duration) <-chan time.Time

	chats *chat.Service // residents' conversations and the desk's queue, with the chat

	attachments intake.Attachments // residents' photos, with the chat

	guideIndex GuideIndex // the shared guide index, with Config.GuideIndex

	chatIPPerMinute int
	chatIdle        time.Duration
	chatHelloWait   time.Duration
	chatSilence     time.Duration
	conns           connLimits
	metricsToken    string
	proxies         proxies // trusted load balancers (proxy.go)

	ticketLimit, lookupLimit, loginLimit *limiter
	hashes                               *hashPool // every password hash of a login
	routes                               []string  // "METHOD /path", for the OpenAPI coverage test
}

// New returns a server with no bot yet.
func New(cfg Config) *Server {
	s := &Server{
		log: cfg.Log, mux: http.NewServeMux(), intake: cfg.Intake, users: cfg.Users, node: newNodeID(),
		convs: cfg.Conversations, origins: map[string]bool{}, bus: cfg.Bus, guideIndex: cfg.GuideIndex,
		clock: cfg.Now, chatIPPerMinute: cfg.ChatIPPerMinute,
		chatIdle: cmp.Or(cfg.ChatIdle, chatIdle),
		canned:   cfg.Canned,
		reports:  cfg.Reports,
		targets:  cfg.Targets,
		// Ceilings per client address (limit.go). Following tickets (status, ratings) has its own
		// bucket, so a household that has just reported several problems can still follow them.
		ticketLimit: newLimiter(ticketIPEvery, ticketIPBurst),
		lookupLimit: newLimiter(lookupIPEvery, lookupIPBurst),
		loginLimit:  newLimiter(loginIPEvery, loginIPBurst),
		hashes:      newHashPool(loginHashes(), loginHashWait),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.bot = liveBot{s}
	s.engine.Store(&engine{guide: cfg.Guide, version: cfg.GuideVersion, digest: cfg.GuideDigest})
	if cfg.Guide != nil {
		s.guide = &liveGuide{s}
	}
	s.chatHelloWait, s.chatSilence = cmp.Or(cfg.ChatHelloWait, chatHelloWait), cmp.Or(cfg.ChatSilence, chatSilence)
	s.conns, s.metricsToken, s.proxies = newConnLimits(cfg), cfg.MetricsToken, proxies(cfg.TrustedProxies)
	if cfg.Probe != nil {
		s.store = &storeCheck{probe: cfg.Probe, log: s.log, every: probeEvery, timeout: probeTimeout}
	}
	s.handle("GET /healthz", s.healthz)
	s.handle("GET /readyz", s.readyz)
	s.handle("POST /api/v1/ask", s.ask)
	s.handle("GET /api/v1/openapi.json", s.openapi)
	if s.guide != nil {
		s.handle("GET /api/v1/communities", s.communities)
	}
	for _, o := range cfg.Origins {
		s.origins[strings.ToLower(strings.TrimSuffix(o, "/"))] = true
	}
	if s.intake != nil && s.users != nil {
		s.mountTickets()
		s.mountOpen311()
	}
	if s.targets == nil {
		s.targets = intake.DefaultTargets()
	}
	s.metrics = newMetrics(s)
	s.mountGuide(cfg)
	s.handle("GET /metrics", s.serveMetrics)
	if s.reports != nil && s.users != nil {
		s.handle("GET /api/v1/stats", s.staff(s.stats, intake.RoleManager))
		s.handle("GET /api/v1/stats/{table}", s.staff(s.statsCSV, intake.RoleManager))
	}
	if s.intake != nil && s.convs != nil && s.guide != nil {
		s.chats = &chat.Service{Store: s.convs, Tickets: s.intake, Hours: cfg.DeskHours, Wait: cfg.HandoffWait, Now: s.now,
			Emergency: s.emergencyTopic}
		s.mountChat()
		s.desk = newDeskHub()
		s.intake.Observe(s.ticketChanged)
		if s.attachments = cfg.Attachments; s.attachments == nil {
			s.attachments, _ = s.convs.(intake.Attachments)
		}
		if s.attachments != nil {
			s.mountAttachments()
		}
		if s.users != nil {
			s.mountOperator()
			s.mountCanned()
		}
	}
	if cfg.Webhooks != nil && s.users != nil {
		s.mountWebhooks(cfg.Webhooks, cfg.WebhookAllowPrivate)
	}
	s.mountStatic()
	return s
}

// handle registers a route and remembers it.
func (s *Server) handle(pattern string, h http.HandlerFunc) {
	s.routes = append(s.routes, pattern)
	s.mux.HandleFunc(pattern, h)
}

// Routes lists the mounted routes as "METHOD /path".
func (s *Server) Routes() []string { return append([]string(nil), s.routes...) }

func (s *Server) now() time.Time {
	if s.clock != nil {
		return s.clock()
	}
	return time.Now()
}

// internal answers 500 and logs why.
func (s *Server) internal(w http.ResponseWriter, what string, err error) {
	s.log.Error(what, "err", err)
	writeError(w, http.StatusInternalServerError, "internal", i18n.Both("error.internal"))
}

// SetBot makes the server answer with b, a bot over the guide it serves.
func (s *Server) SetBot(b *bot.Bot) {
	s.swap(func(e engine) engine { e.bot = b; return e })
	s.wakeGuide() // a version published while the bot was built at start
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r = s.proxies.fromProxy(r)
	if isHTTPS(r) {
		w.Header().Set("Strict-Transport-Security", hstsValue)
	}
	longResponse(w, r)
	s.mux.ServeHTTP(w, r)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	e := s.engine.Load()
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "ready": e.bot != nil, "guide_version": e.version})
}

// AskRequest is the body of POST /api/v1/ask.
type AskRequest struct {
	Text      *string `json:"text"`
	Community string  `json:"community"`
}

func (s *Server) ask(w http.ResponseWriter, r *http.Request) {
	b := s.bot.Load()
	if b == nil {
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "starting", i18n.Both("error.starting"))
		return
	}
	var req AskRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if req.Text == nil {
		writeError(w, http.StatusBadRequest, "missing_field", `missing field "text"`)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	d, err := b.Decide(ctx, bot.Message{Text: *req.Text, Community: req.Community})
	switch {
	case errors.Is(err, bot.ErrEmpty), errors.Is(err, bot.ErrTooLong), errors.Is(err, bot.ErrInvalidUTF8):
		writeError(w, http.StatusBadRequest, "invalid_text", err.Error())
		return
	case errors.Is(err, bot.ErrUnknownCommunity):
		// The id is not echoed back: it may be anything a page put there.
		writeError(w, http.StatusBadRequest, "unknown_community", "community: no such community in the guide")
		return
	case err != nil:
		s.internal(w, "ask", err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// decodeJSON reads one JSON object from a bounded body, answering 400/413 itself on failure.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	return decodeJSONLimit(w, r, v, MaxBodyBytes)
}

// decodeJSONLimit is decodeJSON with another bound on the body.
func decodeJSONLimit(w http.ResponseWriter, r *http.Request, v any, limit int64) bool {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", "request body too large")
		case errors.Is(err, io.EOF):
			writeError(w, http.StatusBadRequest, "invalid_json", "empty body")
		default:
			writeError(w, http.StatusBadRequest, "invalid_json", "invalid JSON: "+err.Error())
		}
		return false
	}
	// The rest of the body must be white space, and the whole body within the limit.
	rest, err := io.ReadAll(io.MultiReader(dec.Buffered(), r.Body))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "request body too large")
		return false
	case err != nil:
		writeError(w, http.StatusBadRequest, "invalid_json", "reading body: "+err.Error())
		return false
	case len(bytes.TrimSpace(rest)) > 0:
		writeError(w, http.StatusBadRequest, "invalid_json", "trailing data after the JSON object")
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"error": msg, "code": code})
}
