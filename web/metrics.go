package web

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bayannur/hotline/bot"
	"github.com/bayannur/hotline/intake"
)

// GET /metrics: Prometheus metrics (docs/rates.md). Counters are this node's; the gauges read from
// the database are the same on every node. Label values are bounded: decisions, category ids,
// tiers, ratings — never a ticket number, a conversation or a phone.

// metricsEvery bounds how often a scrape reads the database: within it, the last reading is used.
const metricsEvery = 15 * time.Second

// rateWindow is the period of hotline_rate and hotline_bot_settled_ratio.
const rateWindow = 30 * 24 * time.Hour

type metrics struct {
	reg *prometheus.Registry

	chats          prometheus.Counter
	asks           *prometheus.CounterVec
	replySeconds   prometheus.Histogram
	handoffs       prometheus.Counter
	handoffWait    prometheus.Histogram
	ticketsCreated *prometheus.CounterVec
	ticketsDone    *prometheus.CounterVec
	ratings        *prometheus.CounterVec
	votes          *prometheus.CounterVec
}

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.chats = prometheus.NewCounter(prometheus.CounterOpts{Name: "hotline_chats_total", Help: "Conversations started."})
	m.asks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_asks_total",
		Help: "Resident messages answered, by the bot's decision (operator: passed to a person)."}, []string{"decision"})
	m.replySeconds = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "hotline_reply_seconds",
		Help: "Time from a resident's message to the reply.", Buckets: []float64{.001, .0025, .005, .01, .02, .05, .1, .25, .5, 1, 2.5}})
	m.handoffs = prometheus.NewCounter(prometheus.CounterOpts{Name: "hotline_handoffs_total", Help: "Residents who asked for a person."})
	m.handoffWait = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "hotline_handoff_wait_seconds",
		Help: "From asking for a person to an operator taking the chat.", Buckets: []float64{5, 15, 30, 60, 120, 180, 300, 600, 1800}})
	m.ticketsCreated = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_tickets_created_total",
		Help: "Tickets created, by category and tier."}, []string{"category", "tier"})
	m.ticketsDone = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_tickets_resolved_total",
		Help: "Ticket resolutions, by category and tier."}, []string{"category", "tier"})
	m.ratings = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_ratings_total",
		Help: "Ratings given by residents."}, []string{"rating"})
	m.votes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_answer_feedback_total",
		Help: "Votes on the bot's answers (这个回答有帮助吗)."}, []string{"helpful"})
	for _, c := range []prometheus.Collector{m.chats, m.asks, m.replySeconds, m.handoffs, m.handoffWait,
		m.ticketsCreated, m.ticketsDone, m.ratings, m.votes} {
		f(c)
	}
	for _, r := range []string{intake.Satisfied, intake.BasicallySatisfied, intake.Dissatisfied} {
		m.ratings.WithLabelValues(r)
	}
	for _, v := range []string{"yes", "no"} {
		m.votes.WithLabelValues(v)
	}
	for _, d := range []string{bot.Answer, bot.Report, bot.Emergency, bot.Contact, bot.Status, bot.Handoff, bot.Smalltalk, bot.Decline, bot.Clarify, "operator"} {
		m.asks.WithLabelValues(d)
	}
	f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hotline_chat_connections", Help: "Open resident WebSockets on this node."},
		func() float64 { return float64(s.OpenChats()) }))
	f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hotline_operator_connections", Help: "Consoles connected to this node."},
		func() float64 {
			if s.desk == nil {
				return 0
			}
			return float64(s.desk.local())
		}))
	if s.reports != nil {
		f(&storeCollector{s: s})
	}
	if s.store != nil {
		f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hotline_store_writable",
			Help: "1 when the store's last readiness probe wrote to it, 0 when it failed (/readyz then answers 503)."}, s.store.up))
	}
	return m
}

// The recording helpers are safe on a nil *metrics (a server without them).

func (m *metrics) chat() {
	if m != nil {
		m.chats.Inc()
	}
}

func (m *metrics) ask(decision string, took time.Duration) {
	if m != nil {
		m.asks.WithLabelValues(decision).Inc()
		m.replySeconds.Observe(took.Seconds())
	}
}

func (m *metrics) handoff() {
	if m != nil {
		m.handoffs.Inc()
	}
}

func (m *metrics) taken(waited time.Duration) {
	if m != nil && waited >= 0 {
		m.handoffWait.Observe(waited.Seconds())
	}
}

func (m *metrics) feedback(helpful bool) {
	if m != nil {
		m.votes.WithLabelValues(map[bool]string{true: "yes", false: "no"}[helpful]).Inc()
	}
}

// ticket counts a ticket change.
func (m *metrics) ticket(t *intake.Ticket, ev intake.Event) {
	if m == nil {
		return
	}
	switch {
	case ev.Action == intake.ActCreate || ev.Action == intake.ActDispatch && ev.From == intake.Received && t.Version == 1:
		m.ticketsCreated.WithLabelValues(t.Category, string(t.Tier)).Inc()
	case ev.Action == intake.ActResolve:
		m.ticketsDone.WithLabelValues(t.Category, string(t.Tier)).Inc()
	case ev.Action == intake.ActRate && t.Rating != "":
		m.ratings.WithLabelValues(t.Rating).Inc()
	}
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if s.metricsToken != "" {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(s.metricsToken)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "metrics: a bearer token is required")
			return
		}
	}
	promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).ServeHTTP(w, r)
}

// storeCollector reads the gauges that live in the database, at most every metricsEvery.
type storeCollector struct {
	s *Server

	mu      sync.Mutex
	read    time.Time
	metrics []prometheus.Metric
}

var (
	rateDesc      = prometheus.NewDesc("hotline_rate", "The four rates over the last 30 days' tickets (absent when nothing to count).", []string{"rate"}, nil)
	targetDesc    = prometheus.NewDesc("hotline_rate_target", "The targets of the four rates.", []string{"rate"}, nil)
	overdueDesc   = prometheus.NewDesc("hotline_tickets_overdue", "Open tickets past their finish deadline, by category and tier.", []string{"category", "tier"}, nil)
	waitingDesc   = prometheus.NewDesc("hotline_handoffs_waiting", "Residents waiting for a person now.", nil, nil)
	settledDesc   = prometheus.NewDesc("hotline_bot_settled_ratio", "Share of the last 30 days' conversations the bot settled alone.", nil, nil)
	storeUpDesc   = prometheus.NewDesc("hotline_store_up", "Whether the last read of the database for these metrics worked.", nil, nil)
	storeDescribe = []*prometheus.Desc{rateDesc, targetDesc, overdueDesc, waitingDesc, settledDesc, storeUpDesc}
)

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range storeDescribe {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := time.Now(); now.Sub(c.read) >= metricsEvery || c.metrics == nil {
		c.metrics, c.read = c.gather(), now
	}
	for _, m := range c.metrics {
		ch <- m
	}
}

func (c *storeCollector) gather() []prometheus.Metric {
	s := c.s
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	now := s.now()
	var out []prometheus.Metric
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		out = append(out, prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...))
	}
	up := 1.0
	for _, name := range intake.RateNames {
		gauge(targetDesc, s.targets[name], name)
	}
	if ts, err := s.reports.TicketsCreated(ctx, now.Add(-rateWindow), now.Add(time.Second)); err == nil {
		for _, r := range intake.ComputeRates(ts, now, s.targets) {
			if r.Value != nil {
				gauge(rateDesc, *r.Value, r.Rate)
			}
		}
	} else {
		up = 0
		s.log.Error("metrics: reading tickets", "err", err)
	}
	if counts, err := s.reports.OverdueCounts(ctx); err == nil {
		// Every category and tier has a series, 0 when nothing is overdue, so that queries
		// comparing with an hour ago see the rise from nothing.
		n := map[[2]string]int{}
		for cat := range categoryNames {
			for _, tier := range []intake.Tier{intake.TierGrid, intake.TierCommunity, intake.TierTown} {
				n[[2]string{cat, string(tier)}] = 0
			}
		}
		for _, o := range counts {
			n[[2]string{o.Category, string(o.Tier)}] = o.N
		}
		for k, v := range n {
			gauge(overdueDesc, float64(v), k[0], k[1])
		}
	} else {
		up = 0
		s.log.Error("metrics: counting overdue tickets", "err", err)
	}
	if s.convs != nil {
		if convs, err := s.convs.Handoffs(ctx); err == nil {
			waiting := 0
			for _, cv := range convs {
				if cv.Handoff == intake.HandoffWaiting {
					waiting++
				}
			}
			gauge(waitingDesc, float64(waiting))
		} else {
			up = 0
			s.log.Error("metrics: reading handoffs", "err", err)
		}
	}
	if st, err := s.reports.ChatStats(ctx, now.Add(-rateWindow), now.Add(time.Second)); err == nil {
		if st.Conversations > 0 {
			gauge(settledDesc, float64(st.Settled)/float64(st.Conversations))
		}
	} else {
		up = 0
		s.log.Error("metrics: chat stats", "err", err)
	}
	gauge(storeUpDesc, up)
	return out
}
