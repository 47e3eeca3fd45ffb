package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bayannur/hotline/bot"
	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/search"
	"github.com/bayannur/hotline/search/bleve"
	"github.com/bayannur/hotline/web"
)

// guideEnv is a chat server that follows the guide's versions in its store.
type guideEnv struct {
	*chatEnv
	contacts string // the sample's contacts.yaml
	builds   chan time.Duration
}

func sampleFiles(t *testing.T) []intake.GuideFile {
	t.Helper()
	m, err := search.ReadFiles(search.SampleGuide())
	if err != nil {
		t.Fatal(err)
	}
	var files []intake.GuideFile
	for name, b := range m {
		files = append(files, intake.GuideFile{Name: name, Data: b})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	return files
}

func newGuideEnv(t *testing.T) *guideEnv {
	t.Helper()
	spec, _ := chatGuideData(t)
	files := sampleFiles(t)
	ge := &guideEnv{builds: make(chan time.Duration, 16)}
	for _, f := range files {
		if f.Name == "contacts.yaml" {
			ge.contacts = string(f.Data)
		}
	}
	ge.chatEnv = newChatEnv(t, chatOptions{config: func(c *web.Config) {
		c.Guides, c.GuideSpec, c.GuideFiles, c.GuideDigest = c.Conversations.(intake.GuideVersions), spec, files, intake.GuideDigest(files)
		c.BuildBot = func(ctx context.Context, g *search.Guide) (*bot.Bot, func(), error) {
			start := time.Now()
			idx, an, err := bleve.Build(ctx, g, nil)
			if err != nil {
				return nil, nil, err
			}
			b, err := bot.New(g, idx, an)
			ge.builds <- time.Since(start)
			return b, func() { idx.Close() }, err
		}
		c.GuideCheck = time.Hour // the test sees the announcement, not the safety net
	}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); ge.srv.RunGuide(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return ge
}

// call sends a JSON request with a bearer token and decodes the answer into out (when not nil).
func (e *chatEnv) callGuide(method, path, token string, body any, out any) (int, string) {
	e.t.Helper()
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	r := e.post(method, path, b, "Authorization", "Bearer "+token, "Content-Type", "application/json")
	if out != nil {
		json.Unmarshal(r.body, out)
	}
	return r.status, r.code
}

// waitVersion waits until the server serves version n.
func (e *chatEnv) waitVersion(n int64) {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for e.srv.GuideVersion() != n {
		if time.Now().After(deadline) {
			e.t.Fatalf("the server serves version %d; want %d within a minute", e.srv.GuideVersion(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Only managers and admins edit the guide; a draft the loader refuses is 400 with its problems
// at file:line; a stale base is 409; a published version is served, and a rollback brings the
// earlier files back as a new version.
func TestGuideAPI(t *testing.T) {
	e := newGuideEnv(t)
	manager := e.staffToken("wang", intake.RoleManager, "")
	operator := e.staffToken("zhang", intake.RoleOperator, "")
	admin := e.staffToken("root", intake.RoleAdmin, "")

	if st, _ := e.callGuide("GET", "/api/v1/guide", "", nil, nil); st != http.StatusUnauthorized {
		t.Errorf("without a token: %d; want 401", st)
	}
	if st, code := e.callGuide("GET", "/api/v1/guide", operator, nil, nil); st != http.StatusForbidden || code != "forbidden" {
		t.Errorf("an operator: %d %s; want 403 forbidden", st, code)
	}
	var cur struct {
		Serving int64
		Version *struct{ Number int64 }
		Files   []struct{ Name string }
	}
	if st, _ := e.callGuide("GET", "/api/v1/guide", manager, nil, &cur); st != 200 || cur.Version != nil || cur.Serving != 0 || len(cur.Files) < 10 {
		t.Fatalf("GET /api/v1/guide: %d %+v; want no version yet, the sample's files", st, cur)
	}
	var file struct{ Text string }
	if st, _ := e.callGuide("GET", "/api/v1/guide/files/contacts.yaml", admin, nil, &file); st != 200 || file.Text != e.contacts {
		t.Fatalf("GET contacts.yaml: %d, %d bytes; want the sample's", st, len(file.Text))
	}
	if st, code := e.callGuide("GET", "/api/v1/guide/files/nope.yaml", manager, nil, nil); st != 404 || code != "not_found" {
		t.Errorf("GET a file that is not there: %d %s", st, code)
	}

	// The contacts form changes 范某丽's phone where it stands.
	var form struct {
		YAML string
		Rows []struct{ Path, Kind, Name, Phone string }
	}
	if st, _ := e.callGuide("POST", "/api/v1/guide/contacts", manager, map[string]any{"yaml": e.contacts}, &form); st != 200 {
		t.Fatalf("contacts rows: %d", st)
	}
	path := ""
	for _, r := range form.Rows {
		if r.Kind == "person" && r.Name == "范某丽" {
			path = r.Path
		}
	}
	if path == "" || form.YAML != e.contacts {
		t.Fatalf("rows %+v lack 范某丽", form.Rows)
	}
	set := map[string]any{"yaml": e.contacts, "set": []map[string]string{{"path": path, "field": "phone", "value": "199-0000-7777"}}}
	if st, _ := e.callGuide("POST", "/api/v1/guide/contacts", manager, set, &form); st != 200 {
		t.Fatalf("set the phone: %d", st)
	}
	if want := strings.Replace(e.contacts, `"199-0000-1104"`, `"199-0000-7777"`, 1); form.YAML != want {
		t.Fatalf("the phone's change touched more than the phone:\n%s", form.YAML)
	}
	bad := map[string]any{"yaml": e.contacts, "set": []map[string]string{{"path": path, "field": "tier", "value": "x"}}}
	if st, code := e.callGuide("POST", "/api/v1/guide/contacts", manager, bad, nil); st != 400 || code != "invalid_change" {
		t.Errorf("setting a field the form does not: %d %s; want 400 invalid_change", st, code)
	}

	// A draft with an empty phone: 400, naming contacts.yaml and the line.
	lines := strings.Split(e.contacts, "\n")
	line := 0
	for i, l := range lines {
		if strings.Contains(l, "199-0000-1104") {
			lines[i], line = strings.Replace(l, `"199-0000-1104"`, `""`, 1), i+1
		}
	}
	var problems struct {
		Code     string
		Error    string
		Problems []struct {
			File   string
			Line   int
			Reason string
		}
	}
	draft := map[string]any{"base": 0, "note": "x", "files": map[string]string{"contacts.yaml": strings.Join(lines, "\n")}}
	if st, _ := e.callGuide("POST", "/api/v1/guide/versions", manager, draft, &problems); st != 400 || problems.Code != "invalid_guide" ||
		len(problems.Problems) != 1 || problems.Problems[0].File != "contacts.yaml" || problems.Problems[0].Line != line ||
		!strings.Contains(problems.Error, fmt.Sprintf("contacts.yaml:%d:", line)) {
		t.Fatalf("an empty phone: %d %+v; want 400 invalid_guide at contacts.yaml:%d", st, problems, line)
	}
	for _, body := range []string{`{"files":{}}`, `{"base":0,"files":{"../x":"a"}}`, `{"base":7,"files":{}}`, `not json`} {
		r := e.post("POST", "/api/v1/guide/versions", []byte(body), "Authorization", "Bearer "+manager)
		if r.status != 400 {
			t.Errorf("%s: %d %s; want 400", body, r.status, r.body)
		}
	}
	if st, _ := e.callGuide("POST", "/api/v1/guide/versions", operator, draft, nil); st != 403 {
		t.Errorf("an operator publishing: %d; want 403", st)
	}

	// Publishing: the start's guide is version 1, the change version 2, served at once.
	var v struct {
		Number     int64
		Author     string
		RollbackOf int64 `json:"rollback_of"`
	}
	draft = map[string]any{"base": 0, "note": "范某丽换号", "files": map[string]string{"contacts.yaml": form.YAML}}
	if st, _ := e.callGuide("POST", "/api/v1/guide/versions", manager, draft, &v); st != 201 || v.Number != 2 || v.Author != "wang" {
		t.Fatalf("publish: %d %+v; want 201 version 2 by wang", st, v)
	}
	e.waitVersion(2)
	t.Logf("building the bot of a new version took %v", <-e.builds)
	c, _ := e.srv.Guide().Community("wy-jinqiao")
	if g, _ := c.Grid("wy-jinqiao-g1"); g.People[1].Phone != "199-0000-7777" {
		t.Errorf("the served guide has %+v", g.People)
	}
	if st, code := e.callGuide("POST", "/api/v1/guide/versions", manager, draft, nil); st != 409 || code != "conflict" {
		t.Errorf("publishing on a stale base: %d %s; want 409", st, code)
	}
	var health struct {
		GuideVersion int64 `json:"guide_version"`
	}
	e.callGuide("GET", "/healthz", "", nil, &health)
	if health.GuideVersion != 2 {
		t.Errorf("/healthz guide_version %d; want 2", health.GuideVersion)
	}

	// Rollback to version 1: version 3, the sample's phone again.
	if st, _ := e.callGuide("POST", "/api/v1/guide/versions/1/rollback", manager, map[string]any{}, &v); st != 201 || v.Number != 3 || v.RollbackOf != 1 {
		t.Fatalf("rollback: %d %+v", st, v)
	}
	e.waitVersion(3)
	c, _ = e.srv.Guide().Community("wy-jinqiao")
	if g, _ := c.Grid("wy-jinqiao-g1"); g.People[1].Phone != "199-0000-1104" {
		t.Errorf("after the rollback the served guide has %+v", g.People)
	}
	if st, _ := e.callGuide("POST", "/api/v1/guide/versions/9/rollback", manager, map[string]any{}, nil); st != 404 {
		t.Errorf("rollback to a version that is not there: %d; want 404", st)
	}
	var hist struct {
		Versions []struct {
			Number int64
			Author string
			Note   string
		}
	}
	if st, _ := e.callGuide("GET", "/api/v1/guide/versions", manager, nil, &hist); st != 200 || len(hist.Versions) != 3 ||
		hist.Versions[1].Note != "范某丽换号" || hist.Versions[1].Author != "wang" {
		t.Errorf("history: %d %+v", st, hist)
	}
}

// A preview answers questions with the bot of the draft, beside the bot serving.
func TestGuidePreview(t *testing.T) {
	e := newGuideEnv(t)
	manager := e.staffToken("wang", intake.RoleManager, "")
	changed := strings.Replace(e.contacts, `"199-0000-1104"`, `"199-0000-7777"`, 1)
	var out struct {
		Answers []struct {
			Question       string
			Draft, Serving *struct {
				Decision string
				Contact  json.RawMessage
			}
		}
	}
	body := map[string]any{"base": 0, "files": map[string]string{"contacts.yaml": changed}, "questions": []string{"金桥小区网格员电话多少"}, "community": "wy-jinqiao"}
	if st, _ := e.callGuide("POST", "/api/v1/guide/preview", manager, body, &out); st != 200 || len(out.Answers) != 1 || out.Answers[0].Draft == nil || out.Answers[0].Serving == nil {
		t.Fatalf("preview: %d %+v", st, out)
	}
	a := out.Answers[0]
	if a.Draft.Decision != bot.Contact || !strings.Contains(string(a.Draft.Contact), "199-0000-7777") || strings.Contains(string(a.Serving.Contact), "199-0000-7777") {
		t.Errorf("preview: draft %s %s, serving %s %s; want the new phone in the draft's card only", a.Draft.Decision, a.Draft.Contact, a.Serving.Decision, a.Serving.Contact)
	}
	if st, code := e.callGuide("POST", "/api/v1/guide/preview", manager, map[string]any{"base": 0, "files": map[string]string{}, "questions": []string{}}, nil); st != 400 || code != "invalid_questions" {
		t.Errorf("a preview without questions: %d %s", st, code)
	}
	if e.srv.GuideVersion() != 0 {
		t.Errorf("a preview published something: serving %d", e.srv.GuideVersion())
	}
}

// A resident in the middle of a report when a new version is switched to finishes it: the
// ticket is opened, routed by the new guide's contacts.
func TestGuideSwitchMidReport(t *testing.T) {
	e := newGuideEnv(t)
	manager := e.staffToken("wang", intake.RoleManager, "")
	c := e.dial()
	c.hello("", "")
	f := c.ask("俺们虹亚小区3号楼门口路灯坏了")
	wantDecisionTopic(t, f, bot.Report, "report-streetlight")
	f = c.ask("虹亚小区3号楼")
	if f.Decision != bot.Report || !strings.Contains(f.Text, "电话") {
		t.Fatalf("question 2 %s, want the phone", f)
	}

	before := e.srv.Bot()
	changed := strings.Replace(e.contacts, `"199-0000-1104"`, `"199-0000-7777"`, 1)
	draft := map[string]any{"base": 0, "note": "换号", "files": map[string]string{"contacts.yaml": changed}}
	if st, _ := e.callGuide("POST", "/api/v1/guide/versions", manager, draft, nil); st != 201 {
		t.Fatalf("publish: %d", st)
	}
	e.waitVersion(2)
	if e.srv.Bot() == before {
		t.Fatal("the bot was not replaced")
	}

	f = c.ask("13812345678")
	wantOptions(t, f, "confirm", "cancel")
	f = c.choose("confirm")
	e.wantTicket(f, "wy-jinqiao")
}

// A version that does not load (stored by hand, past the checks) is not switched to: the node
// keeps serving the version before and says why in its log; the next good version is served.
func TestGuideBadVersionKeepsServing(t *testing.T) {
	e := newGuideEnv(t)
	store := e.store
	files := sampleFiles(t)
	var broken []intake.GuideFile
	for _, f := range files {
		if f.Name == "contacts.yaml" {
			f = intake.GuideFile{Name: f.Name, Data: []byte("towns: [\n")}
		}
		broken = append(broken, f)
	}
	if err := store.PublishGuide(t.Context(), 0, &intake.GuideVersion{Note: "broken", Files: broken}); err != nil {
		t.Fatal(err)
	}
	before := e.srv.Bot()
	e.srv.LookForGuide()
	if line := e.log.wait(t, "guide: following the published versions"); !strings.Contains(line, "contacts.yaml:") {
		t.Errorf("the log says %q; want the problem at contacts.yaml:line", line)
	}
	if e.srv.GuideVersion() != 0 || e.srv.Bot() != before {
		t.Fatalf("the node switched to a version that does not load: serving %d", e.srv.GuideVersion())
	}
	manager := e.staffToken("wang", intake.RoleManager, "")
	// A rollback to it is refused with its problems, and nothing is published.
	var problems struct {
		Code     string
		Problems []struct{ File string }
	}
	if st, _ := e.callGuide("POST", "/api/v1/guide/versions/1/rollback", manager, map[string]any{}, &problems); st != 400 ||
		problems.Code != "invalid_guide" || len(problems.Problems) == 0 || problems.Problems[0].File != "contacts.yaml" {
		t.Errorf("a rollback to a version that does not load: %d %+v", st, problems)
	}
	// The follower, woken by a good publish, looks at version 1 no more: version 2 is served.
	changed := strings.Replace(e.contacts, `"199-0000-1104"`, `"199-0000-7777"`, 1)
	draft := map[string]any{"base": 1, "note": "修好", "files": map[string]string{"contacts.yaml": changed}}
	if st, _ := e.callGuide("POST", "/api/v1/guide/versions", manager, draft, nil); st != 201 {
		t.Fatalf("publishing on the broken version: %d", st)
	}
	e.waitVersion(2)
	if e.srv.Bot() == before {
		t.Error("the bot was not replaced")
	}
}
