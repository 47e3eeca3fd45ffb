package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bayannur/hotline/bot"
	"github.com/bayannur/hotline/intake"
)

// resolved makes a ticket from wy-jinqiao with phone 13812345678 and resolves it.
func (e *chatEnv) resolved(conversation string) *intake.Ticket {
	e.t.Helper()
	ctx := context.Background()
	tk, _, err := e.svc.Create(ctx, intake.NewTicket{Topic: "report-streetlight", Community: "wy-jinqiao", Address: "虹亚小区3号楼",
		Description: "路灯不亮", Phone: "13812345678", Channel: intake.ChannelChat, ConversationID: conversation}, "")
	if err != nil {
		e.t.Fatal(err)
	}
	for _, c := range []intake.Change{{Action: intake.ActSign}, {Action: intake.ActResolve, Note: "换了灯泡"}} {
		c.Actor = "w"
		if tk, err = e.svc.Apply(ctx, tk.Number, 0, c); err != nil {
			e.t.Fatal(err)
		}
	}
	return tk
}

func (e *chatEnv) call(method, path, body string, cookie *http.Cookie) (int, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.ts.URL+path, strings.NewReader(body))
	if cookie != nil {
		req.AddCookie(cookie)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// Every bad rating is refused clearly, and nothing is recorded.
func TestRatingAPIBadInput(t *testing.T) {
	clk := &testClock{now: time.Date(2026, 11, 25, 10, 0, 0, 0, intake.Beijing)}
	e := newChatEnv(t, chatOptions{now: clk.Now})
	ctx := context.Background()
	open, _, err := e.svc.Create(ctx, intake.NewTicket{Category: "other", Community: "wy-jinqiao", Description: "x",
		Phone: "13812345678", Channel: intake.ChannelAPI}, "")
	if err != nil {
		t.Fatal(err)
	}
	tk := e.resolved("")
	path := "/api/v1/tickets/" + tk.Number + "/rating"
	code := `"code":"` + tk.AccessCode + `"`
	good := `{` + code + `,"rating":"basically_satisfied","solved":true,"comment":"来得挺快"}`
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"not resolved", "POST", "/api/v1/tickets/" + open.Number + "/rating", `{"code":"` + open.AccessCode + `","rating":"satisfied","solved":true}`, 409, "not_resolved"},
		{"the right phone tail alone", "POST", path, `{"phone_tail":"5678","rating":"dissatisfied","solved":false}`, 404, "not_found"},
		{"wrong code", "POST", path, `{"code":"000000","rating":"satisfied","solved":true}`, 404, "not_found"},
		{"unknown ticket", "POST", "/api/v1/tickets/20200101-0001/rating", good, 404, "not_found"},
		{"unknown value", "POST", path, `{` + code + `,"rating":"great","solved":true}`, 400, "invalid"},
		{"solved missing", "POST", path, `{` + code + `,"rating":"satisfied"}`, 400, "invalid"},
		{"long comment", "POST", path, `{` + code + `,"rating":"satisfied","solved":true,"comment":"` + strings.Repeat("好", 501) + `"}`, 400, "invalid"},
		{"bad JSON", "POST", path, `{"code":`, 400, "invalid_json"},
		{"change before rating", "PUT", path, good, 409, "not_rated"},
	} {
		status, body := e.call(tc.method, tc.path, tc.body, nil)
		var got struct{ Code, Field string }
		json.Unmarshal(body, &got)
		if status != tc.status || got.Code != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.name, status, body, tc.status, tc.code)
		}
	}
	if after, _ := e.store.Get(ctx, tk.Number); after.Version != tk.Version || len(after.Ratings) != 0 {
		t.Fatalf("refused ratings changed the ticket: version %d → %d, ratings %+v", tk.Version, after.Version, after.Ratings)
	}
}

// A rating, a second one refused, a change within 24 hours, none after; 不满意 reopens.
func TestRatingFlow(t *testing.T) {
	clk := &testClock{now: time.Date(2026, 11, 25, 10, 0, 0, 0, intake.Beijing)}
	e := newChatEnv(t, chatOptions{now: clk.Now})
	ctx := context.Background()
	tk := e.resolved("")
	path := "/api/v1/tickets/" + tk.Number + "/rating"
	code := `"code":"` + tk.AccessCode + `"`
	good := `{` + code + `,"rating":"basically_satisfied","solved":true,"comment":"来得挺快"}`
	status, body := e.call("POST", path, good, nil)
	if status != 200 || !strings.Contains(string(body), `"status":"rated"`) {
		t.Fatalf("rating: %d %s", status, body)
	}
	if status, body = e.call("POST", path, good, nil); status != 409 || !strings.Contains(string(body), "already_rated") {
		t.Errorf("a second rating: %d %s, want 409 already_rated", status, body)
	}
	clk.Advance(23 * time.Hour)
	// PUT amends only with the code: the phone tail is refused.
	if status, body = e.call("PUT", path, `{"phone_tail":"5678","rating":"dissatisfied","solved":false}`, nil); status != 404 {
		t.Errorf("changing with the tail alone: %d %s, want 404", status, body)
	}
	if status, body = e.call("PUT", path, `{`+code+`,"rating":"satisfied","solved":true}`, nil); status != 200 {
		t.Errorf("changing within 24 hours: %d %s", status, body)
	}
	clk.Advance(2 * time.Hour)
	if status, body = e.call("PUT", path, `{`+code+`,"rating":"basically_satisfied","solved":true}`, nil); status != 409 || !strings.Contains(string(body), "too_late") {
		t.Errorf("changing after 24 hours: %d %s, want 409 too_late", status, body)
	}
	got, _ := e.store.Get(ctx, tk.Number)
	if got.Rating != intake.Satisfied || len(got.Ratings) != 1 || got.RatingNote != "" {
		t.Errorf("stored rating %q, ratings %+v, note %q; want the change, one rating", got.Rating, got.Ratings, got.RatingNote)
	}

	// 不满意 reopens the ticket one tier up.
	bad := e.resolved("")
	status, body = e.call("POST", "/api/v1/tickets/"+bad.Number+"/rating", `{"code":"`+bad.AccessCode+`","rating":"dissatisfied","solved":false}`, nil)
	if status != 200 {
		t.Fatalf("不满意: %d %s", status, body)
	}
	if got, _ = e.store.Get(ctx, bad.Number); got.Status != intake.Dispatched || got.Tier != intake.TierCommunity || got.Reopened != 1 || len(got.Ratings) != 1 {
		t.Errorf("after 不满意: %s at %s, reopened %d, ratings %+v; want dispatched to the community, the rating kept", got.Status, got.Tier, got.Reopened, got.Ratings)
	}
}

// In the chat the ticket came from: the survey comes with the resolution, and again on the next
// visit while unrated; a conversation rates only its own tickets.
func TestChatSurvey(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	c := e.dial()
	w := c.hello("", "wy-jinqiao")
	mine := e.report(c, "路灯不亮了")
	ctx := context.Background()
	for _, ch := range []intake.Change{{Action: intake.ActSign}, {Action: intake.ActResolve, Note: "换了灯泡"}} {
		ch.Actor = "w"
		if _, err := e.svc.Apply(ctx, mine.Number, 0, ch); err != nil {
			t.Fatal(err)
		}
	}
	if f := c.readUntil("notice", false); !strings.Contains(f.Text, "换了灯泡") {
		t.Fatalf("notice %s", f)
	}
	survey := c.readUntil("survey", false)
	var sv struct {
		Number  string          `json:"number"`
		Ratings []intake.Option `json:"ratings"`
	}
	raw, _ := json.Marshal(survey)
	json.Unmarshal(raw, &sv)
	if survey.Type != "survey" || len(survey.Text) == 0 {
		t.Fatalf("survey %s", survey)
	}

	// The next visit asks again while the ticket is unrated.
	c2 := e.dial()
	c2.hello(w.Session, "")
	if f := c2.readUntil("survey", false); !strings.Contains(f.Text, mine.Number) {
		t.Fatalf("survey on the next visit: %s", f)
	}

	other := e.resolved("")
	for _, tc := range []struct {
		frame map[string]any
		code  string
	}{
		{map[string]any{"type": "rate", "id": "r1", "number": other.Number, "rating": "satisfied", "solved": true}, "not_found"},
		{map[string]any{"type": "rate", "id": "r2", "number": mine.Number, "rating": "great", "solved": true}, "bad_rating"},
		{map[string]any{"type": "rate", "id": "r3", "number": mine.Number, "rating": "satisfied"}, "bad_rating"},
	} {
		c2.send(tc.frame)
		if f := c2.readUntil("error", false); f.Code != tc.code {
			t.Errorf("%v: %s, want %s", tc.frame, f, tc.code)
		}
	}
	c2.send(map[string]any{"type": "rate", "id": "r4", "number": mine.Number, "rating": "satisfied", "solved": true, "comment": "谢谢"})
	f := c2.readUntil("rated", false)
	if f.ReplyTo != "r4" || strings.Contains(string(mustJSON(f)), `"reopened":true`) {
		t.Fatalf("rated %s", f)
	}
	c2.send(map[string]any{"type": "rate", "id": "r5", "number": mine.Number, "rating": "satisfied", "solved": true})
	if f := c2.readUntil("error", false); f.Code != "already_rated" {
		t.Errorf("a second rating in the chat: %s", f)
	}
	if got, _ := e.store.Get(ctx, mine.Number); got.Rating != intake.Satisfied || got.RatingNote != "谢谢" {
		t.Errorf("stored %q %q", got.Rating, got.RatingNote)
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// 这个回答有帮助吗: one vote per answer, a second replaces it; only answers can be voted on.
func TestAnswerFeedback(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	c := e.dial()
	c.hello("", "")
	c.send(map[string]string{"type": "ask", "id": "q1", "text": "低保咋申请"})
	if f := c.readUntil("reply", false); f.Decision != bot.Answer || f.Topic != "dibao" {
		t.Fatalf("ask: %s", f)
	}
	c.send(map[string]any{"type": "feedback", "reply_to": "q1", "helpful": false})
	c.send(map[string]any{"type": "feedback", "reply_to": "nope", "helpful": true})
	if f := c.readUntil("error", false); f.Code != "not_found" {
		t.Fatalf("a vote on no answer: %s", f)
	}
	votes := func() []intake.TopicFeedback {
		v, err := e.store.FeedbackByTopic(context.Background(), time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := votes(); len(v) != 1 || v[0].Topic != "dibao" || v[0].Unhelpful != 1 || v[0].Helpful != 0 {
		t.Fatalf("votes %+v, want one unhelpful on dibao", v)
	}
	c.send(map[string]any{"type": "feedback", "reply_to": "q1", "helpful": true})
	c.send(map[string]string{"type": "ping"}) // the vote is not answered: wait for the pong
	c.readUntil("pong", false)
	if v := votes(); len(v) != 1 || v[0].Unhelpful != 0 || v[0].Helpful != 1 {
		t.Errorf("votes after a change %+v, want one helpful", v)
	}
}

// The managers' report: the rates are those of the period's tickets; CSV tables; who may read.
func TestStatsAPI(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	ctx := context.Background()
	yes := true
	for i, r := range []string{intake.Satisfied, intake.Dissatisfied, ""} {
		tk := e.resolved("")
		if r != "" {
			if _, err := e.svc.Apply(ctx, tk.Number, 0, intake.Change{Action: intake.ActRate, Actor: "resident", Rating: r, Solved: &yes}); err != nil {
				t.Fatal(i, err)
			}
		}
	}
	manager := e.session("mg", intake.RoleManager, "")
	status, body := e.call("GET", "/api/v1/stats", "", manager)
	if status != 200 {
		t.Fatalf("stats: %d %s", status, body)
	}
	var rep struct {
		Tickets     int           `json:"tickets"`
		Rates       []intake.Rate `json:"rates"`
		ByCommunity []struct {
			Key     string `json:"key"`
			Tickets int    `json:"tickets"`
		} `json:"by_community"`
		Daily []struct {
			Satisfied, Dissatisfied int
		} `json:"daily"`
	}
	if err := json.Unmarshal(body, &rep); err != nil {
		t.Fatal(err)
	}
	all, _ := e.store.TicketsCreated(ctx, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	want := intake.ComputeRates(all, time.Now(), intake.DefaultTargets())
	if rep.Tickets != 3 || len(rep.Rates) != 4 {
		t.Fatalf("report: %s", body)
	}
	for i, r := range rep.Rates {
		if r.Numerator != want[i].Numerator || r.Denominator != want[i].Denominator {
			t.Errorf("%s: %d/%d, want %d/%d", r.Rate, r.Numerator, r.Denominator, want[i].Numerator, want[i].Denominator)
		}
	}
	// 满意 and 不满意 (the latter reopened its ticket and still counts): 1/2.
	if sat := rep.Rates[3]; sat.Numerator != 1 || sat.Denominator != 2 {
		t.Errorf("satisfaction %d/%d, want 1/2", sat.Numerator, sat.Denominator)
	}
	if len(rep.ByCommunity) != 1 || rep.ByCommunity[0].Key != "wy-jinqiao" || rep.ByCommunity[0].Tickets != 3 {
		t.Errorf("by community %+v", rep.ByCommunity)
	}
	if len(rep.Daily) != 1 || rep.Daily[0].Satisfied != 1 || rep.Daily[0].Dissatisfied != 1 {
		t.Errorf("daily %+v", rep.Daily)
	}
	status, body = e.call("GET", "/api/v1/stats/rates.csv", "", manager)
	if status != 200 || !bytes.HasPrefix(body, []byte("\ufeffsigned_on_time_numerator,")) || bytes.Count(body, []byte("\n")) != 2 {
		t.Errorf("rates.csv: %d %q", status, body)
	}
	for _, tc := range []struct {
		path   string
		cookie *http.Cookie
		status int
	}{
		{"/api/v1/stats?from=2026-13-01", manager, 400},
		{"/api/v1/stats?from=2026-11-30&to=2026-11-01", manager, 400},
		{"/api/v1/stats?from=2020-01-01&to=2026-01-01", manager, 400},
		{"/api/v1/stats/nope.csv", manager, 404},
		{"/api/v1/stats", e.session("op", intake.RoleOperator, ""), 403},
		{"/api/v1/stats", nil, 401},
	} {
		if status, body := e.call("GET", tc.path, "", tc.cookie); status != tc.status {
			t.Errorf("GET %s: %d %s, want %d", tc.path, status, body, tc.status)
		}
	}
}

// /metrics: the counters move with what happens, the rates and targets are there, and no label
// carries a ticket number or a phone.
func TestMetrics(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	c := e.dial()
	c.hello("", "")
	c.ask("低保咋申请")
	tk := e.resolved("")
	yes := true
	if _, err := e.svc.Apply(context.Background(), tk.Number, 0, intake.Change{Action: intake.ActRate, Actor: "r", Rating: intake.Satisfied, Solved: &yes}); err != nil {
		t.Fatal(err)
	}
	status, body := e.call("GET", "/metrics", "", nil)
	if status != 200 {
		t.Fatalf("/metrics: %d", status)
	}
	text := string(body)
	for _, want := range []string{
		`hotline_asks_total{decision="answer"} 1`,
		`hotline_chats_total 1`,
		`hotline_chat_connections 1`,
		`hotline_tickets_created_total{category="municipal",tier="grid"} 1`,
		`hotline_tickets_resolved_total{category="municipal",tier="grid"} 1`,
		`hotline_ratings_total{rating="satisfied"} 1`,
		`hotline_rate{rate="satisfied"} 1`,
		`hotline_rate_target{rate="satisfied"} 0.9`,
		`hotline_handoffs_waiting 0`,
		`hotline_tickets_overdue{category="municipal",tier="town"} 0`,
		`hotline_reply_seconds_count 1`,
		`hotline_store_up 1`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if m := regexp.MustCompile(`\{[^}]*(\d{8}-\d{4}|1[3-9]\d{9})[^}]*\}`).FindString(text); m != "" {
		t.Errorf("a label carries a ticket number or phone: %s", m)
	}
}
