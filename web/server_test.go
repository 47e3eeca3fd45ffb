package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/bayannur/hotline/bot"
	"github.com/bayannur/hotline/internal/testkit"
	"github.com/bayannur/hotline/web"
)

// sampleBot returns the bot over the built-in guide, built once for the process the way
// cmd/hotline builds it.
func sampleBot(t *testing.T) *bot.Bot { return testkit.Bot(t) }

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// readyServer returns a test server whose bot is set.
func readyServer(t *testing.T) *httptest.Server {
	t.Helper()
	s := web.New(web.Config{Log: quietLogger()})
	s.SetBot(sampleBot(t))
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, ts *httptest.Server, method, path string, body []byte) response {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

func ask(t *testing.T, ts *httptest.Server, body string) response {
	t.Helper()
	return do(t, ts, http.MethodPost, "/api/v1/ask", []byte(body))
}

// askJSON marshals the request with encoding/json, so any text is sent as a valid JSON string.
func askJSON(t *testing.T, ts *httptest.Server, text, community string) response {
	t.Helper()
	b, err := json.Marshal(map[string]string{"text": text, "community": community})
	if err != nil {
		t.Fatal(err)
	}
	return do(t, ts, http.MethodPost, "/api/v1/ask", b)
}

type apiError struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// wantError requires status and a JSON error body with code.
func wantError(t *testing.T, r response, status int, code string) apiError {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	wantJSONContentType(t, r)
	var e apiError
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("error body %q is not JSON: %v", r.body, err)
	}
	if e.Code != code || e.Error == "" {
		t.Fatalf("error body %s, want code %q and a message", r.body, code)
	}
	return e
}

func wantJSONContentType(t *testing.T, r response) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
}

var decisions = map[string]bool{
	bot.Answer: true, bot.Report: true, bot.Emergency: true, bot.Contact: true, bot.Status: true,
	bot.Handoff: true, bot.Smalltalk: true, bot.Decline: true, bot.Clarify: true,
}

// wantDecision requires a 200 with a well-formed decision and returns it.
func wantDecision(t *testing.T, r response) bot.Decision {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", r.status, r.body)
	}
	wantJSONContentType(t, r)
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	for _, k := range []string{"decision", "topic", "category", "score", "text", "options"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("decision lacks %q: %s", k, r.body)
		}
	}
	if string(raw["options"]) == "null" {
		t.Errorf("options is null, want an array: %s", r.body)
	}
	var d bot.Decision
	if err := json.Unmarshal(r.body, &d); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	if !decisions[d.Decision] {
		t.Errorf("decision %q is not one of the bot's decisions", d.Decision)
	}
	if d.Score < 0 || d.Score > 1 {
		t.Errorf("score %v, want it in [0, 1]", d.Score)
	}
	if strings.TrimSpace(d.Text) == "" {
		t.Errorf("empty text in %s", r.body)
	}
	return d
}

func TestBeforeTheBotIsReady(t *testing.T) {
	s := web.New(web.Config{Log: quietLogger()})
	ts := httptest.NewServer(s)
	defer ts.Close()

	r := do(t, ts, http.MethodGet, "/healthz", nil)
	if r.status != http.StatusOK {
		t.Fatalf("/healthz: %d, want 200", r.status)
	}
	var h struct {
		Status string `json:"status"`
		Ready  *bool  `json:"ready"`
	}
	if err := json.Unmarshal(r.body, &h); err != nil || h.Status != "ok" || h.Ready == nil || *h.Ready {
		t.Errorf("/healthz before the bot: %s, want status ok and ready false", r.body)
	}

	wantError(t, do(t, ts, http.MethodGet, "/readyz", nil), http.StatusServiceUnavailable, "starting")

	r = ask(t, ts, `{"text":"底保咋办"}`)
	wantError(t, r, http.StatusServiceUnavailable, "starting")
	if r.header.Get("Retry-After") == "" {
		t.Error("503 from /api/v1/ask has no Retry-After")
	}

	// Once the bot is set, the same server answers.
	s.SetBot(sampleBot(t))
	r = do(t, ts, http.MethodGet, "/healthz", nil)
	if err := json.Unmarshal(r.body, &h); err != nil || r.status != http.StatusOK || h.Ready == nil || !*h.Ready {
		t.Errorf("/healthz after SetBot: %d %s, want ready true", r.status, r.body)
	}
	if r := do(t, ts, http.MethodGet, "/readyz", nil); r.status != http.StatusOK {
		t.Errorf("/readyz after SetBot: %d %s, want 200", r.status, r.body)
	}
	if d := wantDecision(t, ask(t, ts, `{"text":"底保咋办"}`)); d.Decision != bot.Answer || d.Topic != "dibao" {
		t.Errorf("底保咋办 after SetBot: %s/%s, want answer/dibao", d.Decision, d.Topic)
	}
}

func TestAskDecides(t *testing.T) {
	ts := readyServer(t)
	cases := []struct {
		text, community string
		decision, topic string
		textHas         []string
	}{
		{text: "底保咋办", decision: bot.Answer, topic: "dibao", textHas: []string{"低保"}},
		{text: "俺家暖气不热", decision: bot.Report, topic: "report-heating", textHas: []string{"暖气"}},
		{text: "楼下着火了 冒黑烟", decision: bot.Emergency, topic: "emergency-fire", textHas: []string{"119"}},
		{text: "网格员电话", community: "wy-jinqiao", decision: bot.Contact, textHas: []string{"金桥社区"}},
	}
	for _, c := range cases {
		t.Run(c.text, func(t *testing.T) {
			d := wantDecision(t, askJSON(t, ts, c.text, c.community))
			if d.Decision != c.decision || d.Topic != c.topic {
				t.Errorf("%s: %s/%s, want %s/%s", c.text, d.Decision, d.Topic, c.decision, c.topic)
			}
			for _, s := range c.textHas {
				if !strings.Contains(d.Text, s) {
					t.Errorf("%s: text %q does not mention %q", c.text, d.Text, s)
				}
			}
		})
	}
}

func TestAskContactCard(t *testing.T) {
	ts := readyServer(t)
	d := wantDecision(t, askJSON(t, ts, "网格员电话", "wy-jinqiao"))
	if d.Contact == nil || d.Contact.CommunityID != "wy-jinqiao" || d.Contact.Community != "金桥社区" {
		t.Fatalf("contact card %+v, want 金桥社区 (wy-jinqiao)", d.Contact)
	}
	if len(d.Contact.People) == 0 {
		t.Error("contact card lists nobody to call")
	}
}

func TestAskRejectsBadRequests(t *testing.T) {
	ts := readyServer(t)
	cases := []struct {
		name   string
		body   string
		status int
		code   string
	}{
		{"invalid JSON", `{"text":`, http.StatusBadRequest, "invalid_json"},
		{"not an object", `["底保咋办"]`, http.StatusBadRequest, "invalid_json"},
		{"text of the wrong type", `{"text":42}`, http.StatusBadRequest, "invalid_json"},
		{"empty body", ``, http.StatusBadRequest, "invalid_json"},
		{"missing text", `{"community":"wy-jinqiao"}`, http.StatusBadRequest, "missing_field"},
		{"unknown community", `{"text":"网格员电话","community":"no-such-place"}`, http.StatusBadRequest, "unknown_community"},
		{"null text", `{"text":null}`, http.StatusBadRequest, "missing_field"},
		{"empty text", `{"text":""}`, http.StatusBadRequest, "invalid_text"},
		{"whitespace text", `{"text":" \t\n\u3000 "}`, http.StatusBadRequest, "invalid_text"},
		{"trailing garbage", `{"text":"底保咋办"} garbage`, http.StatusBadRequest, "invalid_json"},
		{"two objects", `{"text":"底保咋办"}{"text":"底保咋办"}`, http.StatusBadRequest, "invalid_json"},
		{"10,000 characters", `{"text":"` + strings.Repeat("a", 10000) + `"}`, http.StatusBadRequest, "invalid_text"},
		{"one character too many", `{"text":"` + strings.Repeat("低", bot.MaxRunes+1) + `"}`, http.StatusBadRequest, "invalid_text"},
		{"body over the limit", `{"text":"` + strings.Repeat("a", web.MaxBodyBytes+1) + `"}`, http.StatusRequestEntityTooLarge, "too_large"},
		// 10,000 Chinese characters are 30,000 bytes: the body limit answers before the bot does.
		{"10,000 Chinese characters", `{"text":"` + strings.Repeat("低", 10000) + `"}`, http.StatusRequestEntityTooLarge, "too_large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, ask(t, ts, c.body), c.status, c.code)
		})
	}
}

func TestAskAtTheLimits(t *testing.T) {
	ts := readyServer(t)
	// The longest message the bot reads is answered.
	d := wantDecision(t, askJSON(t, ts, "底保咋办"+strings.Repeat("。", bot.MaxRunes-4), ""))
	if d.Decision == "" {
		t.Error("no decision for a message of exactly MaxRunes characters")
	}
	// A body of exactly MaxBodyBytes is read whole.
	body := `{"text":"底保咋办"}`
	body += strings.Repeat(" ", web.MaxBodyBytes-len(body))
	if d := wantDecision(t, ask(t, ts, body)); d.Topic != "dibao" {
		t.Errorf("body of exactly %d bytes: topic %q, want dibao", web.MaxBodyBytes, d.Topic)
	}
}

func TestAskInvalidUTF8(t *testing.T) {
	ts := readyServer(t)
	// encoding/json turns invalid UTF-8 inside a string into U+FFFD, so the bot never sees the raw
	// bytes: the request is answered (not a 500), and the answer is valid UTF-8.
	for _, body := range []string{
		"{\"text\":\"\xff\xfe\"}",
		"{\"text\":\"\xff俺家暖气不热\"}",
		`{"text":"\ud800"}`,
	} {
		t.Run(fmt.Sprintf("%q", body), func(t *testing.T) {
			r := ask(t, ts, body)
			if r.status >= 500 {
				t.Fatalf("status %d for invalid UTF-8: %s", r.status, r.body)
			}
			if !utf8.Valid(r.body) {
				t.Fatalf("response is not valid UTF-8: %q", r.body)
			}
			if r.status == http.StatusBadRequest {
				wantError(t, r, http.StatusBadRequest, "invalid_text")
				return
			}
			wantDecision(t, r)
		})
	}
	// The rest of the message still counts.
	d := wantDecision(t, ask(t, ts, "{\"text\":\"\xff俺家暖气不热\"}"))
	if d.Decision != bot.Report || d.Topic != "report-heating" {
		t.Errorf("\\xff俺家暖气不热: %s/%s, want report/report-heating", d.Decision, d.Topic)
	}
}

func TestAskHTMLIsData(t *testing.T) {
	ts := readyServer(t)
	payload := `<img src=x onerror=alert(1)>`
	r := askJSON(t, ts, payload, "")
	d := wantDecision(t, r)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q for an HTML payload, want application/json", ct)
	}
	if strings.Contains(d.Text, "<img") {
		t.Errorf("the reply echoes the HTML payload: %q", d.Text)
	}
	// The same payload in the community field is refused without being reflected.
	r = askJSON(t, ts, "网格员电话", payload)
	if r.status != http.StatusBadRequest || bytes.Contains(r.body, []byte("<img")) {
		t.Errorf("community %q: %d %s", payload, r.status, r.body)
	}
}

func TestMethodsAndRoutes(t *testing.T) {
	ts := readyServer(t)
	r := do(t, ts, http.MethodGet, "/api/v1/ask", nil)
	if r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET /api/v1/ask: %d, want 405", r.status)
	}
	if allow := r.header.Get("Allow"); !strings.Contains(allow, http.MethodPost) {
		t.Errorf("GET /api/v1/ask: Allow %q, want POST", allow)
	}
	if r := do(t, ts, http.MethodPost, "/healthz", []byte(`{}`)); r.status != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz: %d, want 405", r.status)
	}
	if r := do(t, ts, http.MethodGet, "/api/v1/nothing", nil); r.status != http.StatusNotFound {
		t.Errorf("GET /api/v1/nothing: %d, want 404", r.status)
	}
}

func TestConcurrentAsks(t *testing.T) {
	s := web.New(web.Config{Log: quietLogger()})
	ts := httptest.NewServer(s)
	defer ts.Close()
	b := sampleBot(t)
	texts := []string{"底保咋办", "俺家暖气不热", "楼下着火了 冒黑烟", "网格员电话", "医保咋交", "你好", "路灯不亮"}
	const n = 50
	var wg sync.WaitGroup
	start := make(chan struct{})
	type result struct {
		text   string
		status int
		body   []byte
		err    error
	}
	results := make(chan result, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			text := texts[i%len(texts)]
			body, _ := json.Marshal(map[string]string{"text": text, "community": "wy-jinqiao"})
			<-start
			resp, err := ts.Client().Post(ts.URL+"/api/v1/ask", "application/json", bytes.NewReader(body))
			if err != nil {
				results <- result{text: text, err: err}
				return
			}
			defer resp.Body.Close()
			rb, err := io.ReadAll(resp.Body)
			results <- result{text, resp.StatusCode, rb, err}
		}()
	}
	s.SetBot(b)
	close(start)
	wg.Wait()
	close(results)
	got := map[string]string{}
	for r := range results {
		if r.err != nil {
			t.Errorf("%s: %v", r.text, r.err)
			continue
		}
		if r.status != http.StatusOK {
			t.Errorf("%s: status %d, body %s", r.text, r.status, r.body)
			continue
		}
		var d bot.Decision
		if err := json.Unmarshal(r.body, &d); err != nil {
			t.Errorf("%s: %v in %s", r.text, err, r.body)
			continue
		}
		// The same question gets the same decision whatever runs beside it.
		key := d.Decision + "/" + d.Topic
		if prev, ok := got[r.text]; ok && prev != key {
			t.Errorf("%s: decided %s and %s under load", r.text, prev, key)
		}
		got[r.text] = key
	}
	if got["底保咋办"] != "answer/dibao" || got["楼下着火了 冒黑烟"] != "emergency/emergency-fire" {
		t.Errorf("decisions under load: %v", got)
	}
}

// A body whose JSON object fits the limit but which goes on past it is still too large.
func TestAskBodyOverLimitAfterTheObject(t *testing.T) {
	ts := readyServer(t)
	body := `{"text":"底保咋办"}` + strings.Repeat(" ", web.MaxBodyBytes) + "garbage"
	wantError(t, ask(t, ts, body), http.StatusRequestEntityTooLarge, "too_large")
}
