package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/gorilla/websocket"
	"gopkg.in/yaml.v3"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/internal/testkit"
)

// The monitoring side of docs/rates.md ("Prometheus: GET /metrics"): the alert rules and the
// Grafana dashboard in deploy/, checked with promtool and against the /metrics of a running
// hotline serve.

const (
	alertsFile    = "../../deploy/alerts.yml"
	dashboardFile = "../../deploy/grafana-dashboard.json"
	contractFile  = "../../docs/rates.md"
)

// promtool returns the path of promtool; its absence fails the test, never skips it.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool is not on PATH (%v): scripts/test.sh installs it from Debian's prometheus package "+
			"(apt-get install -y --no-install-recommends prometheus)", err)
	}
	return p
}

// ---- alert rules ----

type ruleFile struct {
	Groups []ruleGroup `yaml:"groups"`
}

type ruleGroup struct {
	Name     string `yaml:"name"`
	Interval string `yaml:"interval,omitempty"`
	Rules    []rule `yaml:"rules"`
}

type rule struct {
	Alert       string            `yaml:"alert,omitempty"`
	Record      string            `yaml:"record,omitempty"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

func loadRules(t *testing.T) ruleFile {
	t.Helper()
	b, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var rf ruleFile
	if err := dec.Decode(&rf); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	return rf
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

var latinWord = regexp.MustCompile(`[A-Za-z]{3,}`)

func TestAlertRules(t *testing.T) {
	t.Parallel()
	pt := promtool(t)
	out, err := exec.Command(pt, "check", "rules", alertsFile).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules %s: %v\n%s", alertsFile, err, out)
	}

	rf := loadRules(t)
	alerts := map[string]rule{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts[r.Alert] = r
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("%s: severity %q, want warning or critical", r.Alert, s)
			}
			for _, k := range []string{"summary", "description"} {
				if a := r.Annotations[k]; !hasHan(a) || !latinWord.MatchString(a) {
					t.Errorf("%s: annotation %s %q, want it in Chinese and English", r.Alert, k, a)
				}
			}
		}
	}
	for name, wantFor := range map[string]string{
		"SatisfactionBelowTarget": "1h", "OverdueTicketsRising": "30m", "HandoffsWaitingNoOperator": "5m",
	} {
		if r, ok := alerts[name]; !ok {
			t.Errorf("%s: no such alert in %s", name, alertsFile)
		} else if r.For != wantFor {
			t.Errorf("%s: for %q, want %q", name, r.For, wantFor)
		}
	}

	// The rules fire when they should and only then: promtool's rule unit tests over the rules as
	// they are, less their annotations (which promtool would otherwise compare word for word).
	dir := t.TempDir()
	for gi := range rf.Groups {
		for ri := range rf.Groups[gi].Rules {
			rf.Groups[gi].Rules[ri].Annotations = nil
		}
	}
	stripped, err := yaml.Marshal(rf)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "alerts.yml"), stripped, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "alerts_test.yml"), []byte(alertUnitTests), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(pt, "test", "rules", filepath.Join(dir, "alerts_test.yml")).CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}

// alertUnitTests drive deploy/alerts.yml with series from two nodes (instances a and b): the
// database gauges are the same on both and must not be counted twice.
const alertUnitTests = `
rule_files: [alerts.yml]
evaluation_interval: 1m
tests:
  - name: rates under target
    interval: 1m
    input_series:
      - {series: 'hotline_rate{rate="satisfied",instance="a"}', values: '0.8x120'}
      - {series: 'hotline_rate{rate="satisfied",instance="b"}', values: '0.8x120'}
      - {series: 'hotline_rate_target{rate="satisfied",instance="a"}', values: '0.9x120'}
      - {series: 'hotline_rate_target{rate="satisfied",instance="b"}', values: '0.9x120'}
      - {series: 'hotline_rate{rate="signed_on_time",instance="a"}', values: '0.5x120'}
      - {series: 'hotline_rate_target{rate="signed_on_time",instance="a"}', values: '0.95x120'}
      - {series: 'hotline_rate{rate="solved",instance="a"}', values: '0.9x120'}
      - {series: 'hotline_rate_target{rate="solved",instance="a"}', values: '0.85x120'}
      # resolved_on_time has no denominator yet: no hotline_rate series, no alert.
      - {series: 'hotline_rate_target{rate="resolved_on_time",instance="a"}', values: '0.9x120'}
    alert_rule_test:
      - {eval_time: 50m, alertname: SatisfactionBelowTarget, exp_alerts: []}
      - eval_time: 65m
        alertname: SatisfactionBelowTarget
        exp_alerts: [{exp_labels: {severity: warning}}]
      - {eval_time: 50m, alertname: RateBelowTarget, exp_alerts: []}
      - eval_time: 65m
        alertname: RateBelowTarget
        exp_alerts: [{exp_labels: {severity: warning, rate: signed_on_time}}]

  - name: satisfaction at target
    interval: 1m
    input_series:
      - {series: 'hotline_rate{rate="satisfied",instance="a"}', values: '0.9x120'}
      - {series: 'hotline_rate_target{rate="satisfied",instance="a"}', values: '0.9x120'}
    alert_rule_test:
      - {eval_time: 90m, alertname: SatisfactionBelowTarget, exp_alerts: []}

  - name: overdue rising
    interval: 1m
    input_series:
      - {series: 'hotline_chats_total{instance="a"}', values: '0+1x180'}
      - {series: 'hotline_chats_total{instance="b"}', values: '0+1x180'}
      - {series: 'hotline_tickets_overdue{category="heating",tier="grid",instance="a"}', values: '1x60 3x120'}
      - {series: 'hotline_tickets_overdue{category="heating",tier="grid",instance="b"}', values: '1x60 3x120'}
      - {series: 'hotline_tickets_overdue{category="water",tier="community",instance="a"}', values: '2x180'}
      - {series: 'hotline_tickets_overdue{category="water",tier="community",instance="b"}', values: '2x180'}
    alert_rule_test:
      # Nothing an hour back yet: no verdict.
      - {eval_time: 50m, alertname: OverdueTicketsRising, exp_alerts: []}
      # 5 overdue against 3 an hour ago since minute 61: pending, then firing.
      - {eval_time: 85m, alertname: OverdueTicketsRising, exp_alerts: []}
      - eval_time: 95m
        alertname: OverdueTicketsRising
        exp_alerts: [{exp_labels: {severity: warning}}]
      # Steady at 5 for an hour: resolved.
      - {eval_time: 125m, alertname: OverdueTicketsRising, exp_alerts: []}
    promql_expr_test:
      # Two nodes report the same tickets: counted once.
      - expr: sum(max by (category, tier) (hotline_tickets_overdue))
        eval_time: 95m
        exp_samples: [{labels: '{}', value: 5}]

  - name: first overdue ticket
    interval: 1m
    input_series:
      - {series: 'hotline_chats_total{instance="a"}', values: '0+1x180'}
      - {series: 'hotline_tickets_overdue{category="heating",tier="grid",instance="a"}', values: '_x70 1x110'}
    alert_rule_test:
      - eval_time: 110m
        alertname: OverdueTicketsRising
        exp_alerts: [{exp_labels: {severity: warning}}]
      - {eval_time: 140m, alertname: OverdueTicketsRising, exp_alerts: []}

  - name: a node joins
    interval: 1m
    input_series:
      - {series: 'hotline_chats_total{instance="a"}', values: '0+1x180'}
      - {series: 'hotline_tickets_overdue{category="heating",tier="grid",instance="a"}', values: '2x180'}
      - {series: 'hotline_tickets_overdue{category="heating",tier="grid",instance="b"}', values: '_x60 2x120'}
    alert_rule_test:
      - {eval_time: 100m, alertname: OverdueTicketsRising, exp_alerts: []}

  - name: residents waiting, no operator
    interval: 1m
    input_series:
      - {series: 'hotline_handoffs_waiting{instance="a"}', values: '0x5 2x30'}
      - {series: 'hotline_handoffs_waiting{instance="b"}', values: '0x5 2x30'}
      - {series: 'hotline_operator_connections{instance="a"}', values: '0x40'}
      - {series: 'hotline_operator_connections{instance="b"}', values: '0x20 1x20'}
    alert_rule_test:
      - {eval_time: 8m, alertname: HandoffsWaitingNoOperator, exp_alerts: []}
      - eval_time: 15m
        alertname: HandoffsWaitingNoOperator
        exp_alerts: [{exp_labels: {severity: critical}}]
      # An operator connects to node b.
      - {eval_time: 30m, alertname: HandoffsWaitingNoOperator, exp_alerts: []}

  - name: a node's store cannot write
    interval: 1m
    input_series:
      - {series: 'hotline_store_writable{instance="a"}', values: '1x5 0x10 1x5'}
      - {series: 'hotline_store_writable{instance="b"}', values: '1x21'}
    alert_rule_test:
      - {eval_time: 7m, alertname: HotlineStoreNotWritable, exp_alerts: []}
      - eval_time: 9m
        alertname: HotlineStoreNotWritable
        exp_alerts: [{exp_labels: {severity: critical, instance: a}}]
      - {eval_time: 18m, alertname: HotlineStoreNotWritable, exp_alerts: []}
`

// ---- the live /metrics ----

const (
	metricsPhone    = "13812345678"
	metricsPassword = "metrics-test-password"
)

// liveScrape is the /metrics text of a server that has seen a chat, an answer vote, a ticket through
// to its rating and an overdue ticket; the tickets' numbers, which must not appear in it.
type liveScrape struct {
	text    string
	numbers []string
	ok      bool
}

var (
	liveOnce sync.Once
	live     liveScrape
)

// liveMetrics starts one server for the tests of this file (the first test to ask runs it) and
// returns what its /metrics served.
func liveMetrics(t *testing.T) liveScrape {
	t.Helper()
	liveOnce.Do(func() { live = scrapeLive(t) })
	if !live.ok {
		t.Fatal("the live server could not be started or driven: see the test that ran it first")
	}
	return live
}

func scrapeLive(t *testing.T) liveScrape {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	overdue := seedOverdueTicket(t, data)
	if code, out, errOut := runCmd(t, metricsPassword+"\n", "user", "add", "--data", data, "--role", "operator", "metrics-op"); code != 0 {
		t.Fatalf("user add: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := runCmd(t, "", "user", "token", "--data", data, "metrics-op")
	if code != 0 {
		t.Fatalf("user token: exit %d\n%s", code, errOut)
	}
	token := strings.TrimSpace(out)

	addr := testkit.FreeAddr(t)
	s := testkit.Serve(t, addr, nil, "--addr", addr, "--data", data)
	s.WaitReady(t, 60*time.Second)

	chatAndVote(t, addr)
	number := ticketToRating(t, s.Base, token)

	// Counters move as the replies go out; give them a moment.
	var text string
	deadline := time.Now().Add(20 * time.Second)
	for {
		text = getMetrics(t, s.Base)
		m := parseExposition(t, text)
		if m.sum("hotline_asks_total", "decision", "answer") >= 1 && m.sum("hotline_chats_total") >= 1 &&
			m.sum("hotline_answer_feedback_total", "helpful", "yes") >= 1 &&
			m.sum("hotline_ratings_total", "rating", "satisfied") >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Logf("GET /metrics did not count the chat, the vote and the rating within 20s:\n%s", text)
			break // the tests say what is missing
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop(t, s)
	return liveScrape{text: text, numbers: []string{overdue, number}, ok: true}
}

// seedOverdueTicket stores, before the server starts, a ticket received 20 days ago and never
// signed (so past its finish deadline of 5 working days), and runs the deadline check on it, as
// the server's deadline job would: hotline_tickets_overdue has something to show.
func seedOverdueTicket(t *testing.T, data string) string {
	t.Helper()
	ctx := context.Background()
	g, spec, err := loadGuide("")
	if err != nil {
		t.Fatal(err)
	}
	st, _, err := openStore(context.Background(), "", data)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	received := time.Now().Add(-20 * 24 * time.Hour)
	svc := &intake.Service{Store: st, SLA: intake.DefaultSLA(intake.DefaultCalendar()),
		Dir: intake.GuideDirectory{Spec: spec, Guide: g}, Now: func() time.Time { return received }}
	tk, _, err := svc.Create(ctx, intake.NewTicket{
		Topic: "report-streetlight", Community: "wy-jinqiao", Address: "虹亚小区3号楼东侧",
		Description: "楼下路灯三天不亮了", Phone: "13912345678", PhoneRequired: true,
		Urgency: intake.Normal, Channel: intake.ChannelAPI, Actor: "resident",
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	svc.Now = nil
	for range 3 {
		if _, _, err := svc.CheckDeadlines(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := svc.Get(ctx, tk.Number); err != nil || !got.Overdue {
		t.Fatalf("seeded ticket %s received %s: overdue %v (%v), want overdue", tk.Number, received, got != nil && got.Overdue, err)
	}
	return tk.Number
}

// chatAndVote opens a resident chat, asks, and votes the answer helpful.
func chatAndVote(t *testing.T, addr string) {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	ws, resp, err := d.Dial("ws://"+addr+"/ws/chat", nil)
	if err != nil {
		t.Fatalf("dial /ws/chat: %v (%v)", err, resp)
	}
	defer ws.Close()
	send := func(v map[string]any) {
		t.Helper()
		if err := ws.WriteJSON(v); err != nil {
			t.Fatal(err)
		}
	}
	// until reads frames until one of type typ, failing on an error frame.
	until := func(typ string) map[string]any {
		t.Helper()
		ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			var f map[string]any
			if err := ws.ReadJSON(&f); err != nil {
				t.Fatalf("waiting for a %s frame: %v", typ, err)
			}
			switch f["type"] {
			case typ:
				return f
			case "error":
				t.Fatalf("waiting for a %s frame: %v", typ, f)
			}
		}
	}
	send(map[string]any{"type": "hello", "session": "", "community": ""})
	until("welcome")
	send(map[string]any{"type": "ask", "id": "1", "text": "低保咋申请"})
	if r := until("reply"); r["reply_to"] != "1" || r["decision"] != "answer" {
		t.Fatalf("低保咋申请: %v, want an answer to 1", r)
	}
	send(map[string]any{"type": "feedback", "reply_to": "1", "helpful": true})
	// Frames are handled in order: once the pong is back, the vote has been counted or refused.
	send(map[string]any{"type": "ping"})
	until("pong")
	ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
}

// ticketToRating reports a problem as a resident, has an operator sign and resolve it, and rates
// it satisfied with the phone's last four digits. It returns the ticket's number.
func ticketToRating(t *testing.T, base, token string) string {
	t.Helper()
	call := func(method, path, bearer string, body any, want int) map[string]any {
		t.Helper()
		b, _ := json.Marshal(body)
		req, err := http.NewRequest(method, base+path, bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %s, want %d\n%s", method, path, resp.Status, want, got)
		}
		var v map[string]any
		if err := json.Unmarshal(got, &v); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, got)
		}
		return v
	}
	created := call("POST", "/api/v1/tickets", "", map[string]any{
		"topic": "report-streetlight", "community": "wy-jinqiao", "address": "虹亚小区3号楼东侧",
		"description": "楼下路灯又不亮了", "phone": metricsPhone,
	}, http.StatusCreated)
	number, _ := created["number"].(string)
	if number == "" {
		t.Fatalf("POST /api/v1/tickets: no number in %v", created)
	}
	tk := call("GET", "/api/v1/tickets/"+number, token, nil, http.StatusOK)
	tk = call("POST", "/api/v1/tickets/"+number+"/sign", token, map[string]any{"version": tk["version"]}, http.StatusOK)
	call("POST", "/api/v1/tickets/"+number+"/resolve", token,
		map[string]any{"version": tk["version"], "note": "路灯已修好"}, http.StatusOK)
	call("POST", "/api/v1/tickets/"+number+"/rating", "",
		map[string]any{"code": created["access_code"], "rating": "satisfied", "solved": true}, http.StatusOK)
	return number
}

func getMetrics(t *testing.T, base string) string {
	t.Helper()
	resp, err := client.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s\n%s", resp.Status, b)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("GET /metrics: Content-Type %q, want the text format", ct)
	}
	return string(b)
}

// exposition is a parsed Prometheus text exposition.
type exposition struct {
	types   map[string]string // family → counter, gauge, histogram…
	samples []sample
}

type sample struct {
	name   string
	labels map[string]string
	value  float64
}

var (
	sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})?\s+(\S+)(\s+\S+)?$`)
	labelPair  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

func parseExposition(t *testing.T, text string) exposition {
	t.Helper()
	e := exposition{types: map[string]string{}}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			if f := strings.Fields(rest); len(f) == 2 {
				e.types[f[0]] = f[1]
			}
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("GET /metrics: cannot read the line %q", line)
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("GET /metrics: value of %q: %v", line, err)
		}
		s := sample{name: m[1], labels: map[string]string{}, value: v}
		for _, p := range labelPair.FindAllStringSubmatch(m[2], -1) {
			s.labels[p[1]] = p[2]
		}
		e.samples = append(e.samples, s)
	}
	return e
}

// sum adds the samples of name whose labels include the given label=value pairs.
func (e exposition) sum(name string, kv ...string) float64 {
	total := 0.0
	for _, s := range e.samples {
		if s.name != name {
			continue
		}
		match := true
		for i := 0; i+1 < len(kv); i += 2 {
			match = match && s.labels[kv[i]] == kv[i+1]
		}
		if match {
			total += s.value
		}
	}
	return total
}

func (e exposition) has(name string) bool {
	for _, s := range e.samples {
		if s.name == name {
			return true
		}
	}
	return false
}

// served says whether /metrics serves a metric a query names: as a sample, a family, or (name_bucket,
// _sum, _count) a histogram's series.
func (e exposition) served(name string) bool {
	if e.has(name) || e.types[name] != "" {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if typ := e.types[base]; typ == "histogram" || typ == "summary" && suffix != "_bucket" {
				return true
			}
		}
	}
	return false
}

// contractMetric is a row of the metrics table of docs/rates.md.
type contractMetric struct {
	name, typ string
	labels    []string
}

var contractRow = regexp.MustCompile("^\\| `(hotline_[a-z_]+)` \\| (counter|gauge|histogram) \\| ([^|]*)\\|")

func loadContract(t *testing.T) []contractMetric {
	t.Helper()
	b, err := os.ReadFile(contractFile)
	if err != nil {
		t.Fatal(err)
	}
	var out []contractMetric
	for _, line := range strings.Split(string(b), "\n") {
		m := contractRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		c := contractMetric{name: m[1], typ: m[2]}
		// "`helpful` (`yes`, `no`)": the label names, less the values in parentheses.
		names := regexp.MustCompile(`\([^)]*\)`).ReplaceAllString(m[3], "")
		for _, l := range regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(names, -1) {
			c.labels = append(c.labels, l[1])
		}
		sort.Strings(c.labels)
		out = append(out, c)
	}
	if len(out) < 10 {
		t.Fatalf("%s: found %d metrics in the table, want the whole table", contractFile, len(out))
	}
	return out
}

var (
	ticketNumberLike = regexp.MustCompile(`\d{8}-\d{4}`)
	phoneLike        = regexp.MustCompile(`1[3-9]\d{9}`)
)

func TestMetricsLive(t *testing.T) {
	t.Parallel()
	pt := promtool(t)
	l := liveMetrics(t)
	e := parseExposition(t, l.text)

	cmd := exec.Command(pt, "check", "metrics")
	cmd.Stdin = strings.NewReader(l.text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}

	if v := e.sum("hotline_asks_total", "decision", "answer"); v < 1 {
		t.Errorf(`hotline_asks_total{decision="answer"} = %v, want ≥ 1 after an answered ask`, v)
	}
	if v := e.sum("hotline_chats_total"); v < 1 {
		t.Errorf("hotline_chats_total = %v, want ≥ 1 after a chat", v)
	}
	if v := e.sum("hotline_reply_seconds_count"); v < 1 {
		t.Errorf("hotline_reply_seconds_count = %v, want ≥ 1 after a reply", v)
	}
	if v := e.sum("hotline_answer_feedback_total", "helpful", "yes"); v < 1 {
		t.Errorf(`hotline_answer_feedback_total{helpful="yes"} = %v, want ≥ 1 after a 👍`, v)
	}
	if v := e.sum("hotline_ratings_total", "rating", "satisfied"); v < 1 {
		t.Errorf(`hotline_ratings_total{rating="satisfied"} = %v, want ≥ 1 after a rating`, v)
	}
	if v := e.sum("hotline_tickets_created_total"); v < 1 {
		t.Errorf("hotline_tickets_created_total = %v in all, want ≥ 1 after a report", v)
	}
	if v := e.sum("hotline_tickets_resolved_total"); v < 1 {
		t.Errorf("hotline_tickets_resolved_total = %v in all, want ≥ 1 after a resolution", v)
	}
	if v := e.sum("hotline_tickets_overdue"); v < 1 {
		t.Errorf("hotline_tickets_overdue = %v in all, want ≥ 1 with a ticket 20 days old never signed", v)
	}
	if !e.has("hotline_rate") || e.sum("hotline_rate", "rate", "satisfied") != 1 {
		t.Errorf(`hotline_rate{rate="satisfied"} = %v (served: %v), want 1 after the one rating, satisfied`,
			e.sum("hotline_rate", "rate", "satisfied"), e.has("hotline_rate"))
	}
	if v := e.sum("hotline_rate_target", "rate", "satisfied"); v <= 0 || v > 1 {
		t.Errorf(`hotline_rate_target{rate="satisfied"} = %v, want the default target in (0, 1]`, v)
	}
	if !e.has("hotline_bot_settled_ratio") {
		t.Error("hotline_bot_settled_ratio is not served after a conversation")
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if !e.has(name) {
			t.Errorf("%s is not served: the Go runtime and process collectors are part of the contract", name)
		}
	}

	// Every metric of the contract, with its type and its labels.
	for _, c := range loadContract(t) {
		if got := e.types[c.name]; got != c.typ {
			t.Errorf("%s: # TYPE %q, want %q (docs/rates.md)", c.name, got, c.typ)
			continue
		}
		for _, s := range e.samples {
			if s.name != c.name && !(c.typ == "histogram" && slices.Contains([]string{c.name + "_bucket", c.name + "_sum", c.name + "_count"}, s.name)) {
				continue
			}
			var names []string
			for k := range s.labels {
				if k != "le" {
					names = append(names, k)
				}
			}
			sort.Strings(names)
			if !slices.Equal(names, c.labels) {
				t.Errorf("%s: a sample with labels %v, want %v (docs/rates.md)", s.name, names, c.labels)
			}
		}
	}
	_, spec, err := loadGuide("")
	if err != nil {
		t.Fatal(err)
	}
	categories := []string{""}
	for id := range spec.Categories {
		categories = append(categories, id)
	}
	bounded := map[string][]string{
		"rating":   {intake.Satisfied, intake.BasicallySatisfied, intake.Dissatisfied},
		"helpful":  {"yes", "no"},
		"rate":     intake.RateNames,
		"tier":     {"", string(intake.TierGrid), string(intake.TierCommunity), string(intake.TierTown)},
		"category": categories,
	}
	for _, s := range e.samples {
		for k, v := range s.labels {
			if ticketNumberLike.MatchString(v) || phoneLike.MatchString(v) {
				t.Errorf("%s: label %s=%q looks like a ticket number or a phone", s.name, k, v)
			}
			if allowed, ok := bounded[k]; ok && strings.HasPrefix(s.name, "hotline_") && !slices.Contains(allowed, v) {
				t.Errorf("%s: label %s=%q, want one of %q", s.name, k, v, allowed)
			}
		}
	}
	for _, secret := range append([]string{metricsPhone, "13912345678"}, l.numbers...) {
		if strings.Contains(l.text, secret) {
			t.Errorf("GET /metrics contains %q (a ticket number or a phone)", secret)
		}
	}
	if t.Failed() {
		t.Logf("GET /metrics:\n%s", l.text)
	}
}

// ---- the Grafana dashboard ----

var (
	promString = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	metricName = regexp.MustCompile(`\b(?:hotline|go|process)_[a-zA-Z0-9_:]*`)
)

// metricNames lists the metrics a PromQL expression names (hotline_*, go_*, process_*).
func metricNames(expr string) []string {
	return metricName.FindAllString(promString.ReplaceAllString(expr, `""`), -1)
}

// dashboardPanel is the part of a Grafana panel these checks read.
type dashboardPanel struct {
	ID         int             `json:"id"`
	Type       string          `json:"type"`
	Title      string          `json:"title"`
	Datasource json.RawMessage `json:"datasource"`
	GridPos    *struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		Expr       string          `json:"expr"`
		RefID      string          `json:"refId"`
		Datasource json.RawMessage `json:"datasource"`
	} `json:"targets"`
	Panels []dashboardPanel `json:"panels"`
}

type dashboard struct {
	SchemaVersion int              `json:"schemaVersion"`
	Title         string           `json:"title"`
	UID           string           `json:"uid"`
	Panels        []dashboardPanel `json:"panels"`
	Inputs        []struct {
		Name, Type, PluginID string
	} `json:"__inputs"`
	Templating struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Definition string          `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

// titled says whether a panel title is Chinese with English in parentheses: "满意率趋势 (Satisfaction trend)".
var titled = regexp.MustCompile(`\([A-Za-z][^()]*\)`)

// grafanaVars stands in for the dashboard's variables when its queries are checked by promtool.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1d",
	"${job}", ".+", "$job", ".+")

func TestGrafanaDashboardMetricsExist(t *testing.T) {
	t.Parallel()
	pt := promtool(t)
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s is not valid JSON: %v", dashboardFile, err)
	}
	if len(d.Panels) == 0 || d.Title == "" || d.UID == "" || d.SchemaVersion < 36 {
		t.Fatalf("%s: %d panels, title %q, uid %q, schemaVersion %d; want panels, a title, a uid, schema ≥ 36",
			dashboardFile, len(d.Panels), d.Title, d.UID, d.SchemaVersion)
	}
	if len(d.Inputs) != 1 || d.Inputs[0].Name != "DS_PROMETHEUS" || d.Inputs[0].Type != "datasource" || d.Inputs[0].PluginID != "prometheus" {
		t.Errorf("__inputs %+v, want the one Prometheus data source DS_PROMETHEUS", d.Inputs)
	}

	type query struct{ where, expr string }
	var queries []query
	hasDSVar := false
	for _, v := range d.Templating.List {
		switch v.Type {
		case "datasource":
			hasDSVar = hasDSVar || v.Name == "DS_PROMETHEUS"
		case "query":
			var q struct{ Query string }
			if json.Unmarshal(v.Query, &q) != nil {
				json.Unmarshal(v.Query, &q.Query)
			}
			if e, ok := strings.CutSuffix(strings.TrimPrefix(q.Query, "label_values("), ")"); ok && e != q.Query {
				// label_values(metric, label): the metric must be served too.
				e, _, _ = strings.Cut(e, ",")
				queries = append(queries, query{"variable " + v.Name, e})
			}
		}
	}
	if !hasDSVar {
		t.Error("no data source variable DS_PROMETHEUS: provisioned from a file, the panels would have no data source")
	}

	ids := map[int]string{}
	var walk func(ps []dashboardPanel)
	walk = func(ps []dashboardPanel) {
		for _, p := range ps {
			if prev, dup := ids[p.ID]; dup {
				t.Errorf("panel id %d is used by %q and %q", p.ID, prev, p.Title)
			}
			ids[p.ID] = p.Title
			if !hasHan(p.Title) || !titled.MatchString(p.Title) {
				t.Errorf("panel %q: want a Chinese title with English in parentheses", p.Title)
			}
			if p.GridPos == nil || p.GridPos.W == 0 || p.GridPos.H == 0 || p.GridPos.X+p.GridPos.W > 24 {
				t.Errorf("panel %q: gridPos %+v", p.Title, p.GridPos)
			}
			if p.Type != "row" {
				if len(p.Targets) == 0 {
					t.Errorf("panel %q has no queries", p.Title)
				}
				if !strings.Contains(string(p.Datasource), "${DS_PROMETHEUS}") {
					t.Errorf("panel %q: data source %s, want ${DS_PROMETHEUS}", p.Title, p.Datasource)
				}
			}
			for _, tg := range p.Targets {
				if strings.TrimSpace(tg.Expr) == "" {
					t.Errorf("panel %q, query %s: no expr", p.Title, tg.RefID)
					continue
				}
				if len(tg.Datasource) > 0 && !strings.Contains(string(tg.Datasource), "${DS_PROMETHEUS}") {
					t.Errorf("panel %q, query %s: data source %s, want ${DS_PROMETHEUS}", p.Title, tg.RefID, tg.Datasource)
				}
				queries = append(queries, query{fmt.Sprintf("panel %q, query %s", p.Title, tg.RefID), tg.Expr})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)

	// The queries parse: promtool checks them as recording rules, the variables filled in.
	var rf ruleFile
	rf.Groups = []ruleGroup{{Name: "dashboard"}}
	for i, q := range queries {
		expr := grafanaVars.Replace(q.expr)
		if strings.Contains(expr, "$") {
			t.Errorf("%s: unknown variable in %q", q.where, q.expr)
			continue
		}
		rf.Groups[0].Rules = append(rf.Groups[0].Rules, rule{Record: fmt.Sprintf("dashboard:query_%d", i), Expr: expr})
	}
	b, err := yaml.Marshal(rf)
	if err != nil {
		t.Fatal(err)
	}
	rulesPath := filepath.Join(t.TempDir(), "dashboard-queries.yml")
	if err := os.WriteFile(rulesPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(pt, "check", "rules", rulesPath).CombinedOutput(); err != nil {
		t.Errorf("the dashboard's queries do not parse: %v\n%s", err, out)
	}

	// The alert rules name metrics too.
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			queries = append(queries, query{"alert " + r.Alert, r.Expr})
		}
	}

	// Every metric named is served by a running hotline; every metric of the contract is on the
	// dashboard.
	e := parseExposition(t, liveMetrics(t).text)
	used := map[string]bool{}
	for _, q := range queries {
		names := metricNames(q.expr)
		if len(names) == 0 {
			t.Errorf("%s: names no hotline_, go_ or process_ metric: %q", q.where, q.expr)
		}
		for _, n := range names {
			used[n] = true
			if !e.served(n) {
				t.Errorf("%s: %s is not served by GET /metrics (query %q)", q.where, n, q.expr)
			}
		}
	}
	for _, c := range loadContract(t) {
		if !used[c.name] && !used[c.name+"_bucket"] {
			t.Errorf("%s (docs/rates.md) is on no dashboard panel and in no alert", c.name)
		}
	}
}
