package web_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/intake/sqlite"
	"github.com/bayannur/hotline/internal/testkit"
	"github.com/bayannur/hotline/search"
	"github.com/bayannur/hotline/web"
)

// The staff password of every test user. Its argon2id hash is computed once: hashing is slow on
// purpose, and every test builds its own users.
const staffPassword = "correct horse battery staple"

var (
	fixtureOnce sync.Once
	fixtureHash string
	fixtureErr  error
)

// loadFixtureData returns the sample spec and guide, and hashes the staff password once.
func loadFixtureData(t *testing.T) (*search.Spec, *search.Guide) {
	t.Helper()
	fixtureOnce.Do(func() { fixtureHash, fixtureErr = web.HashPassword(staffPassword) })
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	return testkit.Sample(t)
}

// testClock is the controllable clock of a fixture, shared by the intake service and the server.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fixtureStart is a Monday morning in Beijing. It lies far in the future so that the session
// cookie, which expires 12 hours after it, is still alive for the client's cookie jar (which goes
// by the real clock), and no holiday is declared for it.
var fixtureStart = time.Date(2099, 3, 2, 10, 0, 0, 0, intake.Beijing)

// fixture is one fully wired server with its own database, clock and staff.
type fixture struct {
	t      *testing.T
	ts     *httptest.Server
	srv    *web.Server
	svc    *intake.Service
	store  *sqlite.Store
	guide  *search.Guide
	spec   *search.Spec
	clock  *testClock
	grid   string            // the grid of 虹亚小区 in wy-jinqiao, where gw works
	grid1  string            // another grid of wy-jinqiao, where gw1 works
	tokens map[string]string // API token by user name
}

// Staff of every fixture.
const (
	opName  = "op"  // operator
	op2Name = "op2" // a second operator
	mgrName = "mgr" // manager
	gwName  = "gw"  // grid worker of 虹亚小区's grid
	gw1Name = "gw1" // grid worker of another grid
)

func newFixture(t *testing.T) *fixture { return newFixtureLog(t, nil) }

func newFixtureLog(t *testing.T, log *slog.Logger) *fixture { return newFixtureConfig(t, log, nil) }

// newFixtureConfig is newFixtureLog with the server's Config changed by config first.
func newFixtureConfig(t *testing.T, log *slog.Logger, config func(*web.Config)) *fixture {
	t.Helper()
	fixtureSpec, fixtureGuide := loadFixtureData(t)
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "hotline.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := store.Close(); err != nil {
			t.Error(err)
		}
	})
	clk := &testClock{now: fixtureStart}
	svc := &intake.Service{
		Store: store, SLA: intake.DefaultSLA(intake.DefaultCalendar()),
		Dir: intake.GuideDirectory{Spec: fixtureSpec, Guide: fixtureGuide}, Log: log, Now: clk.Now,
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := web.Config{Log: log, Intake: svc, Users: store, Guide: fixtureGuide, Now: clk.Now,
		Conversations: store, Canned: store, Reports: store}
	if config != nil {
		config(&cfg)
	}
	srv := web.New(cfg)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close) // runs before the store closes: cleanups run last-in first-out

	c, ok := fixtureGuide.Community("wy-jinqiao")
	if !ok {
		t.Fatal("the sample guide has no community wy-jinqiao")
	}
	f := &fixture{
		t: t, ts: ts, srv: srv, svc: svc, store: store, guide: fixtureGuide, spec: fixtureSpec, clock: clk,
		grid: c.GridFor("虹亚小区").ID, grid1: c.GridFor("金桥小区").ID, tokens: map[string]string{},
	}
	if f.grid == f.grid1 || f.grid == c.TopGrid().ID {
		t.Fatalf("虹亚小区 and 金桥小区 should have grids of their own, got %s and %s", f.grid, f.grid1)
	}
	for _, u := range []intake.User{
		{Name: opName, Role: intake.RoleOperator},
		{Name: op2Name, Role: intake.RoleOperator},
		{Name: mgrName, Role: intake.RoleManager},
		{Name: gwName, Role: intake.RoleGridWorker, Grid: f.grid},
		{Name: gw1Name, Role: intake.RoleGridWorker, Grid: f.grid1},
	} {
		u.PasswordHash = fixtureHash
		if err := store.AddUser(t.Context(), &u); err != nil {
			t.Fatal(err)
		}
		token, hash := web.NewToken()
		if err := store.AddToken(t.Context(), intake.APIToken{TokenHash: hash, User: u.Name, Label: "test", Created: clk.Now()}); err != nil {
			t.Fatal(err)
		}
		f.tokens[u.Name] = token
	}
	return f
}

// result is one HTTP response, read whole.
type result struct {
	status int
	header http.Header
	body   []byte
}

func (r result) String() string { return fmt.Sprintf("%d %s", r.status, r.body) }

// send makes one request with client c. body is nil, a string or []byte sent as is, or a value
// sent as JSON; hdr are header name/value pairs.
func (f *fixture) send(c *http.Client, method, path string, body any, hdr ...string) result {
	f.t.Helper()
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ctype = strings.NewReader(b), "application/json"
	case []byte:
		rd, ctype = bytes.NewReader(b), "application/json"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			f.t.Fatal(err)
		}
		rd, ctype = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequestWithContext(f.t.Context(), method, f.ts.URL+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return result{resp.StatusCode, resp.Header, b}
}

// anon sends a request without credentials.
func (f *fixture) anon(method, path string, body any, hdr ...string) result {
	f.t.Helper()
	return f.send(f.ts.Client(), method, path, body, hdr...)
}

// as sends a request with user's API token.
func (f *fixture) as(user, method, path string, body any, hdr ...string) result {
	f.t.Helper()
	return f.send(f.ts.Client(), method, path, body, append([]string{"Authorization", "Bearer " + f.tokens[user]}, hdr...)...)
}

// browser is a client with a cookie jar.
func (f *fixture) browser() *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		f.t.Fatal(err)
	}
	return &http.Client{Jar: jar, Transport: f.ts.Client().Transport}
}

// login logs c in as name and returns the CSRF token.
func (f *fixture) login(c *http.Client, name string) string {
	f.t.Helper()
	r := f.send(c, http.MethodPost, "/api/v1/login", map[string]string{"name": name, "password": staffPassword})
	if r.status != http.StatusOK {
		f.t.Fatalf("login %s: %v", name, r)
	}
	var resp struct{ CSRF string }
	decode(f.t, r, &resp)
	if resp.CSRF == "" {
		f.t.Fatalf("login %s: no csrf token in %s", name, r.body)
	}
	return resp.CSRF
}

// act takes action on a ticket as user with an API token.
func (f *fixture) act(user, number, action string, body map[string]any) result {
	f.t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	return f.as(user, http.MethodPost, "/api/v1/tickets/"+number+"/"+action, body)
}

// mustAct is act requiring a 200, returning the ticket after it.
func (f *fixture) mustAct(user, number, action string, body map[string]any) staffTicketJSON {
	f.t.Helper()
	r := f.act(user, number, action, body)
	if r.status != http.StatusOK {
		f.t.Fatalf("%s %s %s: %v", user, action, number, r)
	}
	var t staffTicketJSON
	decode(f.t, r, &t)
	return t
}

// newTicket creates a ticket through the intake service, bypassing the resident API's rate limit.
func (f *fixture) newTicket(n intake.NewTicket) *intake.Ticket {
	f.t.Helper()
	if n.Channel == "" {
		n.Channel = intake.ChannelAPI
	}
	if n.Phone == "" {
		n.Phone = "13800001111"
	}
	if n.Description == "" {
		n.Description = "路灯不亮"
	}
	if n.Topic == "" && n.Category == "" {
		n.Topic = "report-streetlight"
	}
	t, _, err := f.svc.Create(f.t.Context(), n, "")
	if err != nil {
		f.t.Fatal(err)
	}
	return t
}

// staffGet returns the staff view of a ticket.
func (f *fixture) staffGet(user, number string) staffDetailJSON {
	f.t.Helper()
	r := f.as(user, http.MethodGet, "/api/v1/tickets/"+number, nil)
	if r.status != http.StatusOK {
		f.t.Fatalf("GET %s as %s: %v", number, user, r)
	}
	var d staffDetailJSON
	decode(f.t, r, &d)
	return d
}

// list returns the numbers of the staff list as user with the query.
func (f *fixture) list(user, query string) []string {
	f.t.Helper()
	r := f.as(user, http.MethodGet, "/api/v1/tickets"+query, nil)
	if r.status != http.StatusOK {
		f.t.Fatalf("list %q as %s: %v", query, user, r)
	}
	var ts []staffTicketJSON
	decode(f.t, r, &ts)
	var out []string
	for _, t := range ts {
		out = append(out, t.Number)
	}
	slices.Sort(out)
	return out
}

func sorted(s ...string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

type staffTicketJSON struct {
	Number      string            `json:"number"`
	Status      string            `json:"status"`
	StatusLabel string            `json:"status_label"`
	Tier        string            `json:"tier"`
	Grid        string            `json:"grid"`
	Community   string            `json:"community"`
	Assignee    string            `json:"assignee"`
	Phone       string            `json:"phone"`
	Reply       string            `json:"reply"`
	Rating      string            `json:"rating"`
	Version     int               `json:"version"`
	DueBy       time.Time         `json:"due_by"`
	Extension   *intake.Extension `json:"extension"`
	Overdue     bool              `json:"overdue"`
}

type staffDetailJSON struct {
	staffTicketJSON
	PhoneFull string         `json:"phone_full"`
	Events    []intake.Event `json:"events"`
	Allowed   []string       `json:"allowed"`
}

type residentJSON struct {
	Number       string `json:"number"`
	Category     string `json:"category"`
	CategoryName string `json:"category_name"`
	Topic        string `json:"topic"`
	TopicTitle   string `json:"topic_title"`
	Status       string `json:"status"`
	StatusLabel  string `json:"status_label"`
	Steps        []struct {
		Status string    `json:"status"`
		Label  string    `json:"label"`
		At     time.Time `json:"at"`
	} `json:"steps"`
	Reply      string    `json:"reply"`
	DueBy      time.Time `json:"due_by"`
	AccessCode string    `json:"access_code"`
}

func (r residentJSON) stepStatuses() []string {
	var out []string
	for _, s := range r.Steps {
		out = append(out, s.Status)
	}
	return out
}

type errorJSON struct {
	Error string `json:"error"`
	Code  string `json:"code"`
	Field string `json:"field"`
}

func decode(t *testing.T, r result, v any) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
}

// wantErr requires status and an error body with code, and returns it.
func wantErr(t *testing.T, r result, status int, code string) errorJSON {
	t.Helper()
	if r.status != status {
		t.Fatalf("got %v, want status %d", r, status)
	}
	var e errorJSON
	decode(t, r, &e)
	if e.Code != code || e.Error == "" {
		t.Fatalf("error %s, want code %q and a message", r.body, code)
	}
	return e
}

// A resident's report: the community is known, and 虹亚小区 routes it to its grid.
const (
	residentPhone = "13812345678"
	residentName  = "王某某"
)

func reportBody() map[string]any {
	return map[string]any{
		"topic": "report-streetlight", "community": "wy-jinqiao", "address": "虹亚小区3号楼东侧",
		"description": "楼下路灯三天不亮了", "phone": residentPhone, "name": residentName,
	}
}

func with(m map[string]any, kv ...any) map[string]any {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(m, kv[i].(string))
		} else {
			m[kv[i].(string)] = kv[i+1]
		}
	}
	return m
}

// report files a ticket through the resident API and returns its number.
func (f *fixture) report(body map[string]any) string {
	f.t.Helper()
	n, _ := f.reportCode(body)
	return n
}

// reportCode is report, returning the access code of the answer too.
func (f *fixture) reportCode(body map[string]any) (number, code string) {
	f.t.Helper()
	r := f.anon(http.MethodPost, "/api/v1/tickets", body)
	if r.status != http.StatusCreated {
		f.t.Fatalf("POST /api/v1/tickets: %v", r)
	}
	var v residentJSON
	decode(f.t, r, &v)
	if !regexp.MustCompile(`^\d{6}$`).MatchString(v.AccessCode) {
		f.t.Fatalf("POST /api/v1/tickets: access code %q, want 6 digits: %s", v.AccessCode, r.body)
	}
	return v.Number, v.AccessCode
}

var numberPattern = regexp.MustCompile(`^\d{8}-\d{4}$`)

func TestCreateTicket(t *testing.T) {
	f := newFixture(t)
	r := f.anon(http.MethodPost, "/api/v1/tickets", reportBody())
	if r.status != http.StatusCreated {
		t.Fatalf("got %v, want 201", r)
	}
	var v residentJSON
	decode(t, r, &v)
	if !numberPattern.MatchString(v.Number) {
		t.Errorf("number %q, want YYYYMMDD-NNNN", v.Number)
	}
	if !strings.HasPrefix(v.Number, "20990302-") {
		t.Errorf("number %q, want it numbered on the clock's Beijing day 20990302", v.Number)
	}
	if loc := r.header.Get("Location"); loc != "/api/v1/tickets/"+v.Number {
		t.Errorf("Location %q, want /api/v1/tickets/%s", loc, v.Number)
	}
	if r.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("a first request is marked replayed")
	}
	if v.Status != string(intake.Dispatched) || v.StatusLabel != intake.Dispatched.Label() {
		t.Errorf("status %q (%q), want dispatched at once: the community is known", v.Status, v.StatusLabel)
	}
	if got := v.stepStatuses(); !slices.Contains(got, "received") || !slices.Contains(got, "dispatched") || len(got) != 2 {
		t.Errorf("steps %v, want received and dispatched", got)
	}
	if v.TopicTitle != "路灯不亮" || v.Topic != "report-streetlight" || v.Category != "municipal" || v.CategoryName != "市政设施" {
		t.Errorf("topic %q %q, category %q %q", v.Topic, v.TopicTitle, v.Category, v.CategoryName)
	}
	if want := intake.DefaultSLA(intake.DefaultCalendar()).DueBy(intake.Normal, "municipal", fixtureStart); !v.DueBy.Equal(want) {
		t.Errorf("due_by %v, want %v", v.DueBy, want)
	}
	// The resident's view names no one: no phone, no name, no assignee.
	var raw map[string]any
	decode(t, r, &raw)
	for _, k := range []string{"phone", "phone_full", "name", "assignee", "grid", "events", "description", "address"} {
		if _, ok := raw[k]; ok {
			t.Errorf("resident view has %q: %s", k, r.body)
		}
	}
	d := f.staffGet(opName, v.Number)
	for _, secret := range []string{residentPhone, "5678", residentName, d.Assignee, "廖某凤"} {
		if secret == "" || bytes.Contains(r.body, []byte(secret)) {
			t.Errorf("resident view contains %q: %s", secret, r.body)
		}
	}
	// It reached the grid of 虹亚小区, with its grid worker.
	if d.Grid != f.grid || !strings.Contains(d.Assignee, "廖某凤") || d.Tier != "grid" {
		t.Errorf("routed to grid %q assignee %q tier %q, want %s, 廖某凤, grid", d.Grid, d.Assignee, d.Tier, f.grid)
	}
}

func TestCreateTicketEmergencyTopicIsEmergency(t *testing.T) {
	f := newFixture(t)
	n := f.report(with(reportBody(), "topic", "emergency-gas-leak"))
	tk, err := f.svc.Get(t.Context(), n)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Urgency != intake.Emergency {
		t.Errorf("urgency %q, want emergency for an emergency topic", tk.Urgency)
	}
}

func TestCreateTicketLongestDescription(t *testing.T) {
	f := newFixture(t)
	// 4000 characters is allowed, however many bytes they take (12000 here).
	n := f.report(with(reportBody(), "description", strings.Repeat("漏", intake.MaxDescription)))
	if !numberPattern.MatchString(n) {
		t.Errorf("number %q", n)
	}
}

func TestCreateTicketRejectsBadInput(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		name, field string
		body        map[string]any
	}{
		{"unknown topic", "topic", with(reportBody(), "topic", "report-ufo")},
		{"unknown category", "category", with(reportBody(), "topic", nil, "category", "ufology")},
		{"topic and category disagree", "category", with(reportBody(), "category", "noise")},
		{"unknown community", "community", with(reportBody(), "community", "atlantis")},
		{"missing phone", "phone", with(reportBody(), "phone", nil)},
		{"malformed phone", "phone", with(reportBody(), "phone", "12345")},
		{"description too long", "description", with(reportBody(), "description", strings.Repeat("a", intake.MaxDescription+1))},
		{"empty description", "description", with(reportBody(), "description", "")},
		{"blank description", "description", with(reportBody(), "description", "  \n\t ")},
	} {
		r := f.anon(http.MethodPost, "/api/v1/tickets", c.body)
		e := wantErr(t, r, http.StatusBadRequest, "invalid")
		if e.Field != c.field {
			t.Errorf("%s: field %q, want %q (%s)", c.name, e.Field, c.field, r.body)
		}
	}
	r := f.anon(http.MethodPost, "/api/v1/tickets", `{"topic": "report-streetlight",`)
	wantErr(t, r, http.StatusBadRequest, "invalid_json")
	if got := f.list(opName, ""); len(got) != 0 {
		t.Errorf("rejected requests created tickets %v", got)
	}
}

func TestCreateTicketIdempotencyKey(t *testing.T) {
	f := newFixture(t)
	key := "3f9c2a1e-retry-me"
	first := f.anon(http.MethodPost, "/api/v1/tickets", reportBody(), "Idempotency-Key", key)
	if first.status != http.StatusCreated {
		t.Fatalf("first: %v", first)
	}
	second := f.anon(http.MethodPost, "/api/v1/tickets", reportBody(), "Idempotency-Key", key)
	if second.status != http.StatusOK {
		t.Fatalf("replay: %v, want 200", second)
	}
	if got := second.header.Get("Idempotent-Replayed"); got != "true" {
		t.Errorf("Idempotent-Replayed %q, want true", got)
	}
	var a, b residentJSON
	decode(t, first, &a)
	decode(t, second, &b)
	if a.Number == "" || a.Number != b.Number {
		t.Errorf("numbers %q and %q, want the same", a.Number, b.Number)
	}
	if loc := second.header.Get("Location"); loc != "/api/v1/tickets/"+a.Number {
		t.Errorf("replay Location %q", loc)
	}
	if got := f.list(opName, ""); !slices.Equal(got, []string{a.Number}) {
		t.Errorf("staff list %v, want only %s", got, a.Number)
	}
	// Another key is another ticket.
	third := f.anon(http.MethodPost, "/api/v1/tickets", reportBody(), "Idempotency-Key", key+"-2")
	if third.status != http.StatusCreated {
		t.Fatalf("another key: %v, want 201", third)
	}
	if got := f.list(opName, ""); len(got) != 2 {
		t.Errorf("staff list %v, want two tickets", got)
	}
}

func TestCreateTicketRateLimit(t *testing.T) {
	f := newFixture(t)
	// The limit is counted before the body is read: bad requests use it up too, and cost no
	// database write, so the burst is spent in a few milliseconds.
	if r := f.anon(http.MethodPost, "/api/v1/tickets", reportBody()); r.status != http.StatusCreated {
		t.Fatalf("request 1: %v", r)
	}
	for i := 2; i <= web.TicketIPBurst; i++ {
		if r := f.anon(http.MethodPost, "/api/v1/tickets", "{"); r.status != http.StatusBadRequest {
			t.Fatalf("request %d: %v, want 400 (within the burst)", i, r)
		}
	}
	r := f.anon(http.MethodPost, "/api/v1/tickets", reportBody())
	wantErr(t, r, http.StatusTooManyRequests, "rate_limited")
	if ra := r.header.Get("Retry-After"); ra == "" {
		t.Error("429 without Retry-After")
	}
	if got := f.list(opName, ""); len(got) != 1 {
		t.Errorf("%d tickets, want 1: the limited request must not create one", len(got))
	}
	// Following tickets is counted apart: the reporter can still look theirs up.
	if r := f.anon(http.MethodGet, "/api/v1/tickets/20991231-0001?phone_tail=1234", ""); r.status != http.StatusNotFound {
		t.Errorf("a lookup after the creation limit: %v, want 404 (not limited)", r)
	}
	// Another server has its own limiter.
	if r := newFixture(t).anon(http.MethodPost, "/api/v1/tickets", reportBody()); r.status != http.StatusCreated {
		t.Errorf("a fresh server: %v", r)
	}
}

// TestPhoneTailGuessingIsLimited: one address cannot walk the 10,000 phone tails of a ticket.
func TestPhoneTailGuessingIsLimited(t *testing.T) {
	f := newFixture(t)
	created := f.anon(http.MethodPost, "/api/v1/tickets", reportBody())
	var tk struct {
		Number string `json:"number"`
	}
	decode(t, created, &tk)
	limited := false
	for tail := 0; tail < 2*web.LookupIPBurst && !limited; tail++ {
		r := f.anon(http.MethodGet, fmt.Sprintf("/api/v1/tickets/%s?phone_tail=%04d", tk.Number, tail), "")
		switch r.status {
		case http.StatusNotFound:
		case http.StatusTooManyRequests:
			limited = tail >= web.LookupIPBurst // the burst is allowed
		default:
			t.Fatalf("guess %04d: %v", tail, r)
		}
	}
	if !limited {
		t.Errorf("%d phone-tail guesses from one address were all answered, want 429 after the burst", 2*web.LookupIPBurst)
	}
	// Rating is followed in the same bucket: it needs the phone tail too.
	r := f.anon(http.MethodPost, "/api/v1/tickets/"+tk.Number+"/rating", `{"phone_tail":"0000","rating":"满意","solved":true}`)
	wantErr(t, r, http.StatusTooManyRequests, "rate_limited")
}

func TestResidentLooksUpTicket(t *testing.T) {
	f := newFixture(t)
	n, code := f.reportCode(reportBody())
	tail := residentPhone[len(residentPhone)-4:]

	// The phone's tail alone is no proof (issue 12): guessable.
	wantErr(t, f.anon(http.MethodGet, "/api/v1/tickets/"+n+"?phone_tail="+tail, nil), http.StatusNotFound, "not_found")
	r := f.anon(http.MethodGet, "/api/v1/tickets/"+n+"?code="+code, nil)
	if r.status != http.StatusOK {
		t.Fatalf("right code: %v", r)
	}
	var v residentJSON
	decode(t, r, &v)
	if v.Number != n || v.Status != "dispatched" || !slices.Equal(v.stepStatuses(), []string{"received", "dispatched"}) {
		t.Errorf("got %s", r.body)
	}
	if v.Reply != "" {
		t.Errorf("reply %q before any", v.Reply)
	}

	f.mustAct(gwName, n, "sign", map[string]any{"version": 1})
	f.mustAct(gwName, n, "resolve", map[string]any{"version": 2, "note": "已更换灯泡，路灯恢复"})

	r = f.anon(http.MethodGet, "/api/v1/tickets/"+n+"?code="+code, nil)
	if r.status != http.StatusOK {
		t.Fatalf("right code after resolve: %v", r)
	}
	v = residentJSON{}
	decode(t, r, &v)
	if v.Reply != "已更换灯泡，路灯恢复" || v.Status != "resolved" {
		t.Errorf("after resolve: %s", r.body)
	}
	if got := v.stepStatuses(); !slices.Equal(got, []string{"received", "dispatched", "signed", "resolved"}) {
		t.Errorf("steps %v", got)
	}
	for _, secret := range []string{residentPhone, residentName, gwName, "廖某凤", "楼下路灯"} {
		if bytes.Contains(r.body, []byte(secret)) {
			t.Errorf("resident view contains %q: %s", secret, r.body)
		}
	}

	wrong := f.anon(http.MethodGet, "/api/v1/tickets/"+n+"?code=000000", nil)
	unknown := f.anon(http.MethodGet, "/api/v1/tickets/20990302-9999?code="+code, nil)
	wantErr(t, wrong, http.StatusNotFound, "not_found")
	wantErr(t, unknown, http.StatusNotFound, "not_found")
	if !bytes.Equal(wrong.body, unknown.body) {
		t.Errorf("a wrong tail and an unknown number answer differently:\n%s\n%s", wrong.body, unknown.body)
	}
	// Neither a tail nor credentials: the same 404, telling nothing either.
	none := f.anon(http.MethodGet, "/api/v1/tickets/"+n, nil)
	wantErr(t, none, http.StatusNotFound, "not_found")
	if !bytes.Equal(none.body, unknown.body) {
		t.Errorf("no tail answers %s, want the unknown-number body %s", none.body, unknown.body)
	}
	short := f.anon(http.MethodGet, "/api/v1/tickets/"+n+"?phone_tail="+tail[1:], nil)
	if short.status != http.StatusNotFound || !bytes.Equal(short.body, unknown.body) {
		t.Errorf("a 3-digit tail: %v", short)
	}
}

func TestCommunities(t *testing.T) {
	f := newFixture(t)
	r := f.anon(http.MethodGet, "/api/v1/communities", nil)
	if r.status != http.StatusOK {
		t.Fatal(r)
	}
	var cs []map[string]string
	decode(t, r, &cs)
	if len(cs) != 13 {
		t.Errorf("%d communities, want 13", len(cs))
	}
	ids := map[string]bool{}
	for _, c := range cs {
		if c["id"] == "" || c["name"] == "" || c["town"] == "" {
			t.Errorf("community %v lacks id, name or town", c)
		}
		ids[c["id"]] = true
	}
	if len(ids) != len(cs) {
		t.Errorf("duplicate ids in %s", r.body)
	}
	want := map[string]string{"id": "wy-jinqiao", "name": "金桥社区", "town": "五原县城区"}
	found := false
	for _, c := range cs {
		found = found || c["id"] == want["id"] && c["name"] == want["name"] && c["town"] == want["town"]
	}
	if !found {
		t.Errorf("no %v in %s", want, r.body)
	}
}

func TestStaffAuth(t *testing.T) {
	f := newFixture(t)
	n := f.report(reportBody())

	wantErr(t, f.anon(http.MethodGet, "/api/v1/tickets", nil), http.StatusUnauthorized, "unauthorized")
	wantErr(t, f.anon(http.MethodGet, "/api/v1/me", nil), http.StatusUnauthorized, "unauthorized")

	c := f.browser()
	wrongPW := f.send(c, http.MethodPost, "/api/v1/login", map[string]string{"name": opName, "password": "not the password"})
	noUser := f.send(c, http.MethodPost, "/api/v1/login", map[string]string{"name": "nobody", "password": staffPassword})
	wantErr(t, wrongPW, http.StatusUnauthorized, "bad_credentials")
	wantErr(t, noUser, http.StatusUnauthorized, "bad_credentials")
	if !bytes.Equal(wrongPW.body, noUser.body) {
		t.Errorf("a wrong password and an unknown user answer differently:\n%s\n%s", wrongPW.body, noUser.body)
	}
	if wrongPW.header.Get("Set-Cookie") != "" || noUser.header.Get("Set-Cookie") != "" {
		t.Error("a failed login sets a cookie")
	}

	// Log in by hand to see the cookie's attributes.
	r := f.anon(http.MethodPost, "/api/v1/login", map[string]string{"name": opName, "password": staffPassword})
	if r.status != http.StatusOK {
		t.Fatal(r)
	}
	var login struct{ Name, Role, CSRF string }
	decode(t, r, &login)
	if login.Name != opName || login.Role != "operator" || login.CSRF == "" {
		t.Errorf("login answered %s", r.body)
	}
	cookies := (&http.Response{Header: r.header}).Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies %v, want one", cookies)
	}
	ck := cookies[0]
	if ck.Name != "hotline_session" || ck.Value == "" || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" {
		t.Errorf("session cookie %s, want HttpOnly SameSite=Strict Path=/", ck)
	}
	if strings.Contains(ck.Value, login.CSRF) {
		t.Error("the CSRF token is the session token")
	}

	csrf := f.login(c, opName)
	r = f.send(c, http.MethodGet, "/api/v1/me", nil)
	var me struct{ Name, Role, CSRF string }
	if r.status != http.StatusOK {
		t.Fatalf("me: %v", r)
	}
	decode(t, r, &me)
	if me.Name != opName || me.Role != "operator" || me.CSRF != csrf {
		t.Errorf("me %s, want op, operator and the login's csrf", r.body)
	}

	sign := "/api/v1/tickets/" + n + "/sign"
	body := map[string]any{"version": 1}
	wantErr(t, f.send(c, http.MethodPost, sign, body), http.StatusForbidden, "csrf")
	wantErr(t, f.send(c, http.MethodPost, sign, body, "X-CSRF-Token", csrf+"x"), http.StatusForbidden, "csrf")
	wantErr(t, f.send(c, http.MethodPost, sign, body, "X-CSRF-Token", login.CSRF), http.StatusForbidden, "csrf") // another session's
	if v := f.staffGet(opName, n).Version; v != 1 {
		t.Fatalf("refused writes changed the ticket to version %d", v)
	}
	r = f.send(c, http.MethodPost, sign, body, "X-CSRF-Token", csrf)
	if r.status != http.StatusOK {
		t.Fatalf("with the CSRF token: %v", r)
	}

	// A machine's API token needs no CSRF token; a bad one is anonymous.
	if r := f.as(mgrName, http.MethodPost, "/api/v1/tickets/"+n+"/notes", map[string]any{"note": "回访已安排"}); r.status != http.StatusOK {
		t.Errorf("bearer note: %v", r)
	}
	bad := f.send(f.ts.Client(), http.MethodGet, "/api/v1/tickets", nil, "Authorization", "Bearer "+f.tokens[opName]+"x")
	wantErr(t, bad, http.StatusUnauthorized, "unauthorized")
	basic := f.send(f.ts.Client(), http.MethodGet, "/api/v1/tickets", nil, "Authorization", "Basic b3A6cGFzc3dvcmQ=")
	wantErr(t, basic, http.StatusUnauthorized, "unauthorized")
	r = f.as(opName, http.MethodGet, "/api/v1/me", nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"name":"op"`) {
		t.Errorf("me with a token: %v", r)
	}

	// Logout ends the session on the server, not only in the browser.
	var session string
	for _, ck := range c.Jar.Cookies(mustURL(t, f.ts.URL)) {
		if ck.Name == "hotline_session" {
			session = ck.Value
		}
	}
	if r := f.send(c, http.MethodPost, "/api/v1/logout", nil); r.status != http.StatusNoContent {
		t.Fatalf("logout: %v", r)
	}
	wantErr(t, f.send(c, http.MethodGet, "/api/v1/me", nil), http.StatusUnauthorized, "unauthorized")
	replay := f.send(f.ts.Client(), http.MethodGet, "/api/v1/me", nil, "Cookie", "hotline_session="+session)
	wantErr(t, replay, http.StatusUnauthorized, "unauthorized")
}

func TestSessionExpires(t *testing.T) {
	f := newFixture(t)
	c := f.browser()
	f.login(c, mgrName)
	f.clock.Advance(11 * time.Hour)
	if r := f.send(c, http.MethodGet, "/api/v1/me", nil); r.status != http.StatusOK {
		t.Fatalf("after 11 hours: %v", r)
	}
	f.clock.Advance(2 * time.Hour)
	wantErr(t, f.send(c, http.MethodGet, "/api/v1/me", nil), http.StatusUnauthorized, "unauthorized")
}

func TestStaffListMasksPhonesAndFilters(t *testing.T) {
	f := newFixture(t)
	// Overdue: received (no community, so no sign deadline to escalate on), then late.
	late := f.newTicket(intake.NewTicket{Category: "other", Description: "没人管的事", Phone: "13900000001"})
	f.clock.Advance(10 * 24 * time.Hour)
	if _, over, err := f.svc.CheckDeadlines(t.Context()); err != nil || over != 1 {
		t.Fatalf("CheckDeadlines: %d overdue, %v", over, err)
	}
	noise := f.newTicket(intake.NewTicket{Topic: "report-noise", Community: "wy-jinqiao", Address: "金桥小区2号楼", Description: "广场舞太吵", Phone: "13900000002"})
	light := f.newTicket(intake.NewTicket{Topic: "report-streetlight", Community: "wy-zhongshan", Address: "中山小区", Description: "路灯坏了 zebra-7", Phone: "0478-5551234"})
	signed := f.newTicket(intake.NewTicket{Topic: "report-streetlight", Community: "wy-jinqiao", Address: "虹亚小区", Description: "灯不亮", Phone: "13900000004"})
	f.mustAct(opName, signed.Number, "sign", map[string]any{"version": signed.Version})
	up := f.newTicket(intake.NewTicket{Topic: "report-garbage", Community: "wy-jinqiao", Address: "虹亚小区", Description: "垃圾没人收", Phone: "13900000005"})
	f.mustAct(opName, up.Number, "escalate", map[string]any{"version": up.Version})

	r := f.as(opName, http.MethodGet, "/api/v1/tickets", nil)
	if r.status != http.StatusOK {
		t.Fatal(r)
	}
	var ts []staffTicketJSON
	decode(t, r, &ts)
	if len(ts) != 5 {
		t.Fatalf("%d tickets, want 5", len(ts))
	}
	for _, p := range []string{"13900000001", "13900000002", "0478-5551234", "04785551234", "13900000004", "13900000005"} {
		if bytes.Contains(r.body, []byte(p)) {
			t.Errorf("the list shows the phone %s in full", p)
		}
	}
	for _, tk := range ts {
		if !regexp.MustCompile(`^\d{3}\*+\d{4}$`).MatchString(tk.Phone) {
			t.Errorf("%s: phone %q, want it masked", tk.Number, tk.Phone)
		}
	}
	if ts[0].Number != late.Number || !ts[0].Overdue {
		t.Errorf("first %s (overdue %v), want the overdue %s first", ts[0].Number, ts[0].Overdue, late.Number)
	}

	for _, c := range []struct {
		query string
		want  []string
	}{
		{"?status=signed", []string{signed.Number}},
		{"?status=received", []string{late.Number}},
		{"?tier=community", []string{up.Number}},
		{"?community=wy-zhongshan", []string{light.Number}},
		{"?community=wy-jinqiao", []string{noise.Number, signed.Number, up.Number}},
		{"?category=noise", []string{noise.Number}},
		{"?category=municipal", []string{light.Number, signed.Number}},
		{"?overdue=true", []string{late.Number}},
		{"?overdue=false", []string{noise.Number, light.Number, signed.Number, up.Number}},
		{"?q=zebra-7", []string{light.Number}},
		{"?q=" + noise.Number, []string{noise.Number}},
		{"?q=%25", nil}, // a literal %, in none of them: LIKE wildcards are escaped
		{"?community=wy-jinqiao&category=municipal&status=signed", []string{signed.Number}},
		{"?limit=2", nil}, // checked by count below
	} {
		got := f.list(opName, c.query)
		if c.query == "?limit=2" {
			if len(got) != 2 {
				t.Errorf("%s: %d tickets, want 2", c.query, len(got))
			}
			continue
		}
		if !slices.Equal(got, sorted(c.want...)) {
			t.Errorf("%s: %v, want %v", c.query, got, sorted(c.want...))
		}
	}
	for _, c := range []struct{ query, field string }{
		{"?status=lost", "status"},
		{"?tier=nation", "tier"},
		{"?overdue=maybe", "overdue"},
		{"?limit=-1", "limit"},
		{"?offset=x", "offset"},
	} {
		e := wantErr(t, f.as(opName, http.MethodGet, "/api/v1/tickets"+c.query, nil), http.StatusBadRequest, "invalid")
		if e.Field != c.field {
			t.Errorf("%s: field %q, want %q", c.query, e.Field, c.field)
		}
	}
}

func TestStaffTicketDetail(t *testing.T) {
	f := newFixture(t)
	n := f.report(reportBody())
	d := f.staffGet(opName, n)
	if d.PhoneFull != residentPhone {
		t.Errorf("phone_full %q, want %s", d.PhoneFull, residentPhone)
	}
	if d.Phone != "138****5678" {
		t.Errorf("phone %q, want it masked", d.Phone)
	}
	if !slices.Equal(d.Allowed, []string{"dispatch", "escalate", "note", "return", "sign", "urge"}) {
		t.Errorf("allowed %v", d.Allowed)
	}
	type ev struct{ actor, action, to string }
	var got []ev
	for _, e := range d.Events {
		got = append(got, ev{e.Actor, string(e.Action), string(e.To)})
	}
	want := []ev{{"resident", "create", "received"}, {"system", "dispatch", "dispatched"}}
	if !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	f.mustAct(op2Name, n, "sign", map[string]any{"version": d.Version})
	d = f.staffGet(mgrName, n)
	last := d.Events[len(d.Events)-1]
	if last.Actor != op2Name || last.Action != intake.ActSign || last.From != intake.Dispatched || last.To != intake.Signed {
		t.Errorf("last event %+v, want op2 signing", last)
	}
	wantErr(t, f.as(opName, http.MethodGet, "/api/v1/tickets/20990302-0999", nil), http.StatusNotFound, "not_found")
}

func TestLifecycleOverHTTP(t *testing.T) {
	f := newFixture(t)
	n := f.report(reportBody())

	tk := f.mustAct(gwName, n, "sign", map[string]any{"version": 1})
	if tk.Status != "signed" || tk.Version != 2 || tk.StatusLabel != "签收" {
		t.Fatalf("after sign: %+v", tk)
	}
	// Someone acting on what they saw before is told to reload.
	e := wantErr(t, f.act(opName, n, "start", map[string]any{"version": 1}), http.StatusConflict, "conflict")
	if !strings.Contains(e.Error, "version") {
		t.Errorf("conflict message %q", e.Error)
	}
	tk = f.mustAct(gwName, n, "start", map[string]any{"version": 2})
	if tk.Status != "in_progress" {
		t.Fatalf("after start: %+v", tk)
	}
	wantErr(t, f.act(gwName, n, "resolve", map[string]any{"version": tk.Version}), http.StatusBadRequest, "invalid")
	wantErr(t, f.act(gwName, n, "resolve", map[string]any{"version": tk.Version, "note": "   "}), http.StatusBadRequest, "invalid")
	tk = f.mustAct(gwName, n, "resolve", map[string]any{"version": tk.Version, "note": "已修好"})
	if tk.Status != "resolved" || tk.Reply != "已修好" {
		t.Fatalf("after resolve: %+v", tk)
	}
	wantErr(t, f.act(opName, n, "rate", map[string]any{"version": tk.Version, "rating": "great"}), http.StatusBadRequest, "invalid")
	tk = f.mustAct(opName, n, "rate", map[string]any{"version": tk.Version, "rating": "satisfied", "solved": true})
	if tk.Status != "rated" || tk.Rating != "satisfied" {
		t.Fatalf("after rate: %+v", tk)
	}
	tk = f.mustAct(opName, n, "close", map[string]any{"version": tk.Version})
	if tk.Status != "closed" {
		t.Fatalf("after close: %+v", tk)
	}
	d := f.staffGet(opName, n)
	if !slices.Equal(d.Allowed, []string{"note"}) {
		t.Errorf("allowed on a closed ticket: %v", d.Allowed)
	}
	var trail []string
	for _, e := range d.Events {
		trail = append(trail, e.Actor+":"+string(e.Action))
	}
	want := []string{"resident:create", "system:dispatch", "gw:sign", "gw:start", "gw:resolve", "op:rate", "op:close"}
	if !slices.Equal(trail, want) {
		t.Errorf("audit trail %v, want %v", trail, want)
	}
	// Nothing but a note is allowed now.
	e = wantErr(t, f.act(opName, n, "reopen", map[string]any{"version": tk.Version, "note": "又坏了"}), http.StatusConflict, "transition")
	if !strings.Contains(e.Error, "allowed now: note") {
		t.Errorf("transition message %q does not list the allowed actions", e.Error)
	}
}

func TestTransitionNotAllowed(t *testing.T) {
	f := newFixture(t)
	n := f.newTicket(intake.NewTicket{Community: "wy-jinqiao", Address: "虹亚小区"}).Number
	e := wantErr(t, f.act(opName, n, "close", map[string]any{"version": 1}), http.StatusConflict, "transition")
	allowed := f.staffGet(opName, n).Allowed
	if len(allowed) == 0 {
		t.Fatal("nothing allowed on a dispatched ticket")
	}
	for _, a := range allowed {
		if !strings.Contains(e.Error, a) {
			t.Errorf("message %q does not name the allowed action %s", e.Error, a)
		}
	}
	if strings.Contains(e.Error, "start") {
		t.Errorf("message %q names start, not allowed on a dispatched ticket", e.Error)
	}
	wantErr(t, f.act(opName, n, "frobnicate", map[string]any{"version": 1}), http.StatusNotFound, "unknown_action")
	wantErr(t, f.act(opName, n, "overdue", map[string]any{"version": 1}), http.StatusNotFound, "unknown_action")
	wantErr(t, f.act(opName, "20990302-0999", "sign", map[string]any{"version": 1}), http.StatusNotFound, "not_found")
	wantErr(t, f.as(opName, http.MethodPost, "/api/v1/tickets/"+n+"/sign", nil), http.StatusBadRequest, "invalid_json")
	if v := f.staffGet(opName, n).Version; v != 1 {
		t.Errorf("refused actions changed the ticket to version %d", v)
	}
}

func TestReturnNeedsAReason(t *testing.T) {
	f := newFixture(t)
	n := f.newTicket(intake.NewTicket{Community: "wy-jinqiao", Address: "虹亚小区"}).Number
	wantErr(t, f.act(gwName, n, "return", map[string]any{"version": 1}), http.StatusBadRequest, "invalid")
	tk := f.mustAct(gwName, n, "return", map[string]any{"version": 1, "note": "不属于本网格"})
	if tk.Status != "returned" || tk.Assignee != "" {
		t.Errorf("after return: %+v", tk)
	}
	d := f.staffGet(opName, n)
	if last := d.Events[len(d.Events)-1]; last.Note != "不属于本网格" || last.Actor != gwName {
		t.Errorf("return event %+v", last)
	}
	// The dispatcher sends it on.
	tk = f.mustAct(opName, n, "dispatch", map[string]any{"version": tk.Version, "grid": f.grid1, "assignee": "网格员 范某丽"})
	if tk.Status != "dispatched" || tk.Grid != f.grid1 {
		t.Errorf("after dispatch: %+v", tk)
	}
}

func TestExtension(t *testing.T) {
	f := newFixture(t)
	tk0 := f.newTicket(intake.NewTicket{Community: "wy-jinqiao", Address: "虹亚小区"})
	n := tk0.Number
	tk := f.mustAct(gwName, n, "sign", map[string]any{"version": 1})
	until := tk0.DueBy.Add(72 * time.Hour)
	wantErr(t, f.act(gwName, n, "request_extension", map[string]any{"version": tk.Version, "until": until}), http.StatusBadRequest, "invalid")
	wantErr(t, f.act(gwName, n, "request_extension", map[string]any{"version": tk.Version, "note": "等配件", "until": tk0.DueBy.Add(-time.Hour)}), http.StatusBadRequest, "invalid")
	tk = f.mustAct(gwName, n, "request_extension", map[string]any{"version": tk.Version, "note": "等配件", "until": until})
	if tk.Extension == nil || tk.Extension.State != "requested" || !tk.Extension.Until.Equal(until) {
		t.Fatalf("after request: extension %+v", tk.Extension)
	}
	if !tk.DueBy.Equal(tk0.DueBy) {
		t.Errorf("a request moved due_by to %v", tk.DueBy)
	}
	wantErr(t, f.act(gwName, n, "approve_extension", map[string]any{"version": tk.Version}), http.StatusForbidden, "forbidden")
	tk = f.mustAct(mgrName, n, "approve_extension", map[string]any{"version": tk.Version})
	if !tk.DueBy.Equal(until) || tk.Extension.State != "approved" {
		t.Errorf("after approval: due_by %v extension %+v, want due_by %v", tk.DueBy, tk.Extension, until)
	}
	wantErr(t, f.act(mgrName, n, "approve_extension", map[string]any{"version": tk.Version}), http.StatusConflict, "transition")
	if d := f.staffGet(opName, n); !d.DueBy.Equal(until) {
		t.Errorf("stored due_by %v, want %v", d.DueBy, until)
	}
}

func TestNotes(t *testing.T) {
	f := newFixture(t)
	n := f.newTicket(intake.NewTicket{Community: "wy-jinqiao", Address: "虹亚小区"}).Number
	before := len(f.staffGet(opName, n).Events)
	r := f.as(gwName, http.MethodPost, "/api/v1/tickets/"+n+"/notes", map[string]any{"note": "已电话联系居民"})
	if r.status != http.StatusOK {
		t.Fatal(r)
	}
	var tk staffTicketJSON
	decode(t, r, &tk)
	if tk.Status != "dispatched" || tk.Version != 2 {
		t.Errorf("after a note: status %s version %d, want dispatched, 2", tk.Status, tk.Version)
	}
	d := f.staffGet(opName, n)
	if len(d.Events) != before+1 {
		t.Fatalf("%d events, want %d", len(d.Events), before+1)
	}
	if last := d.Events[len(d.Events)-1]; last.Action != intake.ActNote || last.Note != "已电话联系居民" || last.Actor != gwName {
		t.Errorf("note event %+v", last)
	}
	wantErr(t, f.as(gwName, http.MethodPost, "/api/v1/tickets/"+n+"/notes", map[string]any{"note": ""}), http.StatusBadRequest, "invalid")
	wantErr(t, f.as(gwName, http.MethodPost, "/api/v1/tickets/20990302-0999/notes", map[string]any{"note": "x"}), http.StatusNotFound, "not_found")
	wantErr(t, f.anon(http.MethodPost, "/api/v1/tickets/"+n+"/notes", map[string]any{"note": "x"}), http.StatusUnauthorized, "unauthorized")
}

func TestConcurrentSignsOneWins(t *testing.T) {
	f := newFixture(t)
	for round := range 5 {
		tk := f.newTicket(intake.NewTicket{Community: "wy-jinqiao", Address: "虹亚小区"})
		start := make(chan struct{})
		statuses := make(chan int, 2)
		var wg sync.WaitGroup
		for _, who := range []string{opName, op2Name} {
			req, err := http.NewRequest(http.MethodPost, f.ts.URL+"/api/v1/tickets/"+tk.Number+"/sign",
				strings.NewReader(fmt.Sprintf(`{"version": %d}`, tk.Version)))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+f.tokens[who])
			wg.Go(func() {
				<-start
				resp, err := f.ts.Client().Do(req)
				if err != nil {
					statuses <- -1
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				statuses <- resp.StatusCode
			})
		}
		close(start)
		wg.Wait()
		close(statuses)
		var got []int
		for s := range statuses {
			got = append(got, s)
		}
		slices.Sort(got)
		if !slices.Equal(got, []int{http.StatusOK, http.StatusConflict}) {
			t.Errorf("round %d: statuses %v, want one 200 and one 409", round, got)
		}
		d := f.staffGet(mgrName, tk.Number)
		signs := 0
		for _, e := range d.Events {
			if e.Action == intake.ActSign {
				signs++
			}
		}
		if signs != 1 || d.Version != tk.Version+1 {
			t.Errorf("round %d: %d sign events, version %d; want 1 and %d", round, signs, d.Version, tk.Version+1)
		}
	}
}

func TestGridWorkerSeesOnlyItsGrid(t *testing.T) {
	f := newFixture(t)
	mine := f.newTicket(intake.NewTicket{Community: "wy-jinqiao", Address: "虹亚小区2号楼", Description: "mine"})
	other := f.newTicket(intake.NewTicket{Community: "wy-jinqiao", Address: "金桥小区1号楼", Description: "other"})
	elsewhere := f.newTicket(intake.NewTicket{Community: "wy-zhongshan", Address: "中山小区", Description: "elsewhere"})
	unrouted := f.newTicket(intake.NewTicket{Description: "unrouted"})
	if mine.Grid != f.grid || other.Grid != f.grid1 {
		t.Fatalf("grids %q and %q, want %q and %q", mine.Grid, other.Grid, f.grid, f.grid1)
	}

	if got := f.list(gwName, ""); !slices.Equal(got, []string{mine.Number}) {
		t.Errorf("gw list %v, want only %s", got, mine.Number)
	}
	// A filter cannot widen the list.
	if got := f.list(gwName, "?community=wy-zhongshan"); len(got) != 0 {
		t.Errorf("gw list for another community %v, want none", got)
	}
	if got := f.list(gw1Name, ""); !slices.Equal(got, []string{other.Number}) {
		t.Errorf("gw1 list %v, want only %s", got, other.Number)
	}
	if got := f.list(opName, ""); len(got) != 4 {
		t.Errorf("operator list %v, want all 4", got)
	}
	if got := f.list(mgrName, ""); len(got) != 4 {
		t.Errorf("manager list %v, want all 4", got)
	}
	rows := f.csvRows(gwName, "")
	if len(rows) != 2 || rows[1][0] != mine.Number {
		t.Errorf("gw CSV %v, want the header and %s", rows, mine.Number)
	}

	if d := f.staffGet(gwName, mine.Number); d.Number != mine.Number || d.PhoneFull == "" {
		t.Errorf("gw sees its ticket as %+v", d)
	}
	for _, n := range []string{other.Number, elsewhere.Number, unrouted.Number} {
		wantErr(t, f.as(gwName, http.MethodGet, "/api/v1/tickets/"+n, nil), http.StatusForbidden, "forbidden")
		wantErr(t, f.act(gwName, n, "sign", map[string]any{"version": 1}), http.StatusForbidden, "forbidden")
		wantErr(t, f.as(gwName, http.MethodPost, "/api/v1/tickets/"+n+"/notes", map[string]any{"note": "x"}), http.StatusForbidden, "forbidden")
	}
	if v := f.staffGet(opName, other.Number).Version; v != 1 {
		t.Errorf("refused actions changed another grid's ticket to version %d", v)
	}
	// A grid worker may not dispatch, decide on extensions, escalate, close or urge, even on its
	// own grid's tickets.
	for _, a := range []string{"dispatch", "approve_extension", "refuse_extension", "escalate", "close", "urge", "reopen", "rate"} {
		wantErr(t, f.act(gwName, mine.Number, a, map[string]any{"version": 1, "grid": f.grid, "note": "x"}), http.StatusForbidden, "forbidden")
	}
	if v := f.staffGet(opName, mine.Number).Version; v != 1 {
		t.Errorf("refused actions changed the ticket to version %d", v)
	}
	// Operators may do everything on tickets: dispatch the unrouted one to gw's grid, and gw sees it.
	tk := f.mustAct(opName, unrouted.Number, "dispatch", map[string]any{"version": 1, "grid": f.grid, "assignee": gwName})
	if tk.Status != "dispatched" || tk.Grid != f.grid || tk.Assignee != gwName {
		t.Errorf("after dispatch: %+v", tk)
	}
	if got := f.list(gwName, ""); !slices.Equal(got, sorted(mine.Number, unrouted.Number)) {
		t.Errorf("gw list after dispatch %v", got)
	}
	f.mustAct(gwName, unrouted.Number, "sign", map[string]any{"version": tk.Version})
	f.mustAct(mgrName, elsewhere.Number, "escalate", map[string]any{"version": 1})
}

// csvRows fetches the CSV export as user and parses it.
func (f *fixture) csvRows(user, query string) [][]string {
	f.t.Helper()
	r := f.as(user, http.MethodGet, "/api/v1/tickets.csv"+query, nil)
	if r.status != http.StatusOK {
		f.t.Fatalf("CSV as %s: %v", user, r)
	}
	body, ok := bytes.CutPrefix(r.body, []byte("\ufeff"))
	if !ok {
		f.t.Fatalf("CSV does not start with the UTF-8 BOM: %q", r.body[:min(len(r.body), 16)])
	}
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		f.t.Fatal(err)
	}
	return rows
}

func TestTicketsCSV(t *testing.T) {
	f := newFixture(t)
	evil := f.newTicket(intake.NewTicket{Community: "wy-jinqiao", Address: "@虹亚小区", Description: "=HYPERLINK(\"http://x\",\"点我\")", Phone: "13711112222"})
	plain := f.newTicket(intake.NewTicket{Category: "other", Description: "普通的事, 有逗号\n和换行", Phone: "13733334444"})

	r := f.as(opName, http.MethodGet, "/api/v1/tickets.csv", nil)
	if r.status != http.StatusOK {
		t.Fatal(r)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("Content-Type %q, want text/csv", ct)
	}
	if !bytes.HasPrefix(r.body, []byte{0xEF, 0xBB, 0xBF}) {
		t.Errorf("no BOM: %q", r.body[:min(len(r.body), 16)])
	}
	for _, p := range []string{"13711112222", "13733334444"} {
		if bytes.Contains(r.body, []byte(p)) {
			t.Errorf("the CSV shows %s in full", p)
		}
	}
	rows := f.csvRows(opName, "")
	if len(rows) != 3 {
		t.Fatalf("%d rows, want a header and 2", len(rows))
	}
	header := rows[0]
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	for _, h := range []string{"number", "created_at", "category", "community", "grid", "status", "phone", "address", "description", "due_by"} {
		if _, ok := col[h]; !ok {
			t.Errorf("header %v lacks %q", header, h)
		}
	}
	byNumber := map[string][]string{}
	for _, row := range rows[1:] {
		if len(row) != len(header) {
			t.Errorf("row %v has %d fields, header %d", row, len(row), len(header))
		}
		byNumber[row[0]] = row
	}
	e, p := byNumber[evil.Number], byNumber[plain.Number]
	if e == nil || p == nil {
		t.Fatalf("rows %v lack %s or %s", rows, evil.Number, plain.Number)
	}
	if got := e[col["description"]]; got != "'=HYPERLINK(\"http://x\",\"点我\")" {
		t.Errorf("description %q, want it prefixed with '", got)
	}
	if got := e[col["address"]]; got != "'@虹亚小区" {
		t.Errorf("address %q, want it prefixed with '", got)
	}
	if got := e[col["phone"]]; got != "137****2222" {
		t.Errorf("phone %q, want 137****2222", got)
	}
	if got := p[col["description"]]; got != "普通的事, 有逗号\n和换行" {
		t.Errorf("plain description %q, want it unchanged", got)
	}
	if got := e[col["created_at"]]; got != "2099-03-02 10:00" {
		t.Errorf("created_at %q, want Beijing time 2099-03-02 10:00", got)
	}
	if rows := f.csvRows(opName, "?category=other"); len(rows) != 2 || rows[1][0] != plain.Number {
		t.Errorf("filtered CSV %v", rows)
	}
	wantErr(t, f.anon(http.MethodGet, "/api/v1/tickets.csv", nil), http.StatusUnauthorized, "unauthorized")
	wantErr(t, f.as(opName, http.MethodGet, "/api/v1/tickets.csv?status=lost", nil), http.StatusBadRequest, "invalid")
}

func TestPhoneIsNeverLogged(t *testing.T) {
	var logs testkit.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := newFixtureLog(t, log)
	phones := []string{"13812345678", "0478-5550199"}
	var numbers []string
	for _, p := range phones {
		numbers = append(numbers, f.report(with(reportBody(), "phone", p)))
	}
	wantErr(t, f.anon(http.MethodPost, "/api/v1/tickets", with(reportBody(), "phone", "1381234567")), http.StatusBadRequest, "invalid")
	c := f.browser()
	csrf := f.login(c, opName)
	f.send(c, http.MethodPost, "/api/v1/login", map[string]string{"name": opName, "password": "wrong password"})
	for _, n := range numbers {
		f.send(c, http.MethodGet, "/api/v1/tickets/"+n, nil)
		f.send(c, http.MethodPost, "/api/v1/tickets/"+n+"/sign", map[string]any{"version": 1}, "X-CSRF-Token", csrf)
	}
	f.send(c, http.MethodGet, "/api/v1/tickets", nil)
	f.send(c, http.MethodGet, "/api/v1/tickets.csv", nil)
	f.anon(http.MethodGet, "/api/v1/tickets/"+numbers[0]+"?phone_tail=5678", nil)
	f.o311Post(url.Values{"api_key": {f.tokens[opName]}, "service_code": {"report-noise"}, "address_string": {"虹亚小区"}, "description": {"吵"}, "phone": {"13912341234"}})
	phones = append(phones, "1381234567", "13912341234", "04785550199")

	out := logs.String()
	// The logger is in use: the test would pass vacuously otherwise.
	if !strings.Contains(out, numbers[0]) || !strings.Contains(out, "staff login") {
		t.Fatalf("the log lacks the ticket or the login:\n%s", out)
	}
	for _, p := range phones {
		if strings.Contains(out, p) {
			t.Errorf("the log contains the phone %s:\n%s", p, out)
		}
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
