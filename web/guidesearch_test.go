package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/search"
	"github.com/bayannur/hotline/web"
)

// stubGuideIndex is a shared guide index whose answers a test sets.
type stubGuideIndex struct {
	mu       sync.Mutex
	ready    bool
	err      error
	entries  []search.EntryHit
	contacts []search.ContactHit
	queries  []string
}

func (x *stubGuideIndex) Ready() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.ready
}

func (x *stubGuideIndex) SearchEntries(_ context.Context, q string, limit int) ([]search.EntryHit, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.queries = append(x.queries, q)
	return x.entries, x.err
}

func (x *stubGuideIndex) SearchContacts(_ context.Context, q string, limit int) ([]search.ContactHit, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.contacts, x.err
}

func (x *stubGuideIndex) asked() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.queries)
}

type guideAnswer struct {
	Entries []struct {
		ID, Title, Kind, Text string
	} `json:"entries"`
	Communities []struct {
		ID, Name, Town string
	} `json:"communities"`
}

func guideSearch(t *testing.T, e *chatEnv, cookie *http.Cookie, q string) guideAnswer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.ts.URL+"/api/v1/guide/search?q="+url.QueryEscape(q), nil)
	req.AddCookie(cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("guide search %q: %s", q, resp.Status)
	}
	var a guideAnswer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	return a
}

// The console's guide search asks the shared index when it is ready, describes its hits from the
// node's guide, and answers from the in-process index when the shared one is not ready or fails.
func TestGuideSearchSharedIndex(t *testing.T) {
	x := &stubGuideIndex{ready: true,
		entries: []search.EntryHit{{ID: "dibao", Kind: search.KindProcedure}, {ID: "no-such-entry"}},
		contacts: []search.ContactHit{
			{CommunityID: "wy-jinqiao", GridID: "wy-jinqiao-g1"}, // a grid worker
			{CommunityID: "wy-jinqiao", Compound: "金桥小区"},        // the same community again
			{CommunityID: "no-such-community"},
			{CommunityID: "wy-zhongshan"},
		}}
	e := newChatEnv(t, chatOptions{config: func(c *web.Config) { c.GuideIndex = x }})
	op := e.session("op", intake.RoleOperator, "")

	// A query the in-process index finds nothing for: what comes back is the shared index's.
	const q = "范某丽的电话"
	a := guideSearch(t, e, op, q)
	if x.asked() != 1 || x.queries[0] != q {
		t.Fatalf("the shared index was asked %v", x.queries)
	}
	if len(a.Entries) != 1 || a.Entries[0].ID != "dibao" || !strings.Contains(a.Entries[0].Title, "低保") ||
		a.Entries[0].Kind != search.KindProcedure || !strings.Contains(a.Entries[0].Text, "低保") {
		t.Errorf("entries %+v, want dibao described from the guide (an unknown id left out)", a.Entries)
	}
	if len(a.Communities) != 2 || a.Communities[0].ID != "wy-jinqiao" || a.Communities[0].Name != "金桥社区" ||
		a.Communities[0].Town == "" || a.Communities[1].ID != "wy-zhongshan" {
		t.Errorf("communities %+v, want 金桥社区 once, then 中山社区", a.Communities)
	}

	// The shared index fails: the in-process index answers, and the log says so.
	x.mu.Lock()
	x.err = errors.New("meilisearch unreachable at http://127.0.0.1:1: connection refused")
	x.mu.Unlock()
	a = guideSearch(t, e, op, "底保咋办")
	if len(a.Entries) == 0 || a.Entries[0].ID != "dibao" {
		t.Errorf("with the shared index failing: %+v, want the in-process answer (dibao)", a.Entries)
	}
	if x.asked() != 2 {
		t.Errorf("the shared index was asked %d times, want 2", x.asked())
	}
	if !strings.Contains(e.log.all(), "answering from the in-process index") {
		t.Errorf("no log line about the fallback:\n%s", e.log.all())
	}

	// Not ready (the guide not on it yet, or it is down): not even asked.
	x.mu.Lock()
	x.ready, x.err = false, nil
	x.mu.Unlock()
	a = guideSearch(t, e, op, "金桥小区")
	if x.asked() != 2 {
		t.Errorf("a shared index that is not ready was asked")
	}
	if len(a.Communities) == 0 || a.Communities[0].ID != "wy-jinqiao" {
		t.Errorf("the in-process contact lookup for 金桥小区: %+v", a.Communities)
	}
}
