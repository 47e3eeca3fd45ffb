package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bayannur/hotline/internal/testkit"
	"github.com/bayannur/hotline/search"
	"github.com/bayannur/hotline/search/meili"
	"github.com/bayannur/hotline/search/meili/meilitest"
)

// waitOutput polls the process's output until it holds want, failing at the deadline.
func waitOutput(t *testing.T, s *testkit.Server, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(s.Output(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("hotline serve did not log %q within %v:\n%s", want, within, s.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A node started with its Meilisearch down says so, serves the console's guide search from the
// in-process index, and publishes in the background: once the server is up, the guide is on it
// and the console's searches go to it.
func TestServeMeiliDownAtStart(t *testing.T) {
	t.Parallel()
	const key = "meili-master-key-for-tests"
	meiliAddr, addr := testkit.FreeAddr(t), testkit.FreeAddr(t)
	data := filepath.Join(t.TempDir(), "data")
	if code, _, errOut := runCmd(t, "a-long-password\n", "user", "add", "--data", data, "--role", "operator", "zhang"); code != 0 {
		t.Fatalf("user add: exit %d: %s", code, errOut)
	}
	s := testkit.Serve(t, addr, []string{"HOTLINE_MEILI_KEY=" + key}, "--addr", addr, "--data", data, "--meili", "http://"+meiliAddr)
	s.WaitReady(t, 60*time.Second)
	waitOutput(t, s, "meilisearch unreachable: serving from the in-process index, retrying in the background", 30*time.Second)
	if strings.Contains(s.Output(), key) {
		t.Errorf("the key is in the log:\n%s", s.Output())
	}

	jar, _ := cookiejar.New(nil)
	staff := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := staff.Post(s.Base+"/api/v1/login", "application/json", strings.NewReader(`{"name":"zhang","password":"a-long-password"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %s", resp.Status)
	}
	type answer struct {
		Entries     []struct{ ID string }
		Communities []struct{ ID string }
	}
	lookup := func(q string) answer {
		t.Helper()
		resp, err := staff.Get(s.Base + "/api/v1/guide/search?q=" + url.QueryEscape(q))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var a answer
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("guide search %q: %s", q, resp.Status)
		}
		if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	// A grid worker's phone number: the in-process index knows places, not phones; Meilisearch's
	// contacts hold the grid workers.
	const phone = "199-0000-1104"
	if a := lookup("底保"); len(a.Entries) == 0 || a.Entries[0].ID != "dibao" {
		t.Errorf("the guide search with Meilisearch down: %+v, want the in-process answer", a)
	}
	if a := lookup(phone); len(a.Communities) != 0 {
		t.Fatalf("the in-process contact lookup found %+v for a phone number", a.Communities)
	}

	f, err := meilitest.Listen(meiliAddr, key)
	if err != nil {
		t.Fatalf("the fake Meilisearch on the node's address: %v", err)
	}
	defer f.Close()
	// The node publishes on its next attempt (backing off up to 30 s); then the console's
	// searches go to Meilisearch.
	deadline := time.Now().Add(90 * time.Second)
	var a answer
	for {
		if a = lookup(phone); len(a.Communities) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the console's search never went to Meilisearch once it was up; requests it had: %v\n%s", f.Requests(), s.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if a.Communities[0].ID != "wy-jinqiao" {
		t.Errorf("the contact lookup of %s on Meilisearch: %+v, want her community wy-jinqiao first", phone, a.Communities)
	}
	if f.Count("POST /indexes/hotline_contacts/search") == 0 || f.Count("POST /indexes/hotline_entries/search") == 0 {
		t.Errorf("Meilisearch was not searched: %v", f.Requests())
	}
	g, err := search.LoadSample()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.Documents("hotline_entries")); n != len(g.Entries) {
		t.Errorf("%d entries on Meilisearch, want the guide's %d", n, len(g.Entries))
	}
	if !strings.Contains(s.Output(), "meilisearch: guide published") {
		t.Errorf("no log line about the guide published:\n%s", s.Output())
	}
	stop(t, s)
}

func TestServeMeiliFlagsRefused(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"--meili-key", "k"}, "", "--meili-key (HOTLINE_MEILI_KEY) without --meili"},
		{[]string{"--meili", "localhost:7700"}, "", "--meili: meilisearch URL"},
		{[]string{"--meili", "http://127.0.0.1:7700", "--meili-prefix", "a b"}, "", "--meili: meilisearch index prefix"},
		{nil, "http://user:pw@127.0.0.1:7700", "--meili: meilisearch URL"},
	} {
		if tc.env != "" {
			t.Setenv("HOTLINE_MEILI_URL", tc.env)
		}
		args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "data")}, tc.args...)
		code, _, errOut := runCmd(t, "", args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("serve %v (HOTLINE_MEILI_URL=%q): exit %d, stderr %q; want 2 and %q", tc.args, tc.env, code, errOut, tc.want)
		}
		t.Setenv("HOTLINE_MEILI_URL", "")
	}
}

// syncBuffer is a log both the node's goroutines and the test use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond until it holds, failing at the deadline.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The background publisher: ready once the guide is on the server; a search that finds the
// server gone turns the console back to the in-process index and publishes again once it is
// back; the publish hook replaces the documents, and a failed publish is an error and not ready.
func TestMeiliGuideRepublishes(t *testing.T) {
	g, err := search.LoadSample()
	if err != nil {
		t.Fatal(err)
	}
	f := meilitest.New("k")
	addr := strings.TrimPrefix(f.URL, "http://")
	var logs syncBuffer
	m, err := newMeiliGuide(meili.Config{URL: f.URL, Key: "k", PollInterval: 5 * time.Millisecond}, g, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.retryMin, m.retryMax = 10*time.Millisecond, 50*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.run(ctx) }()
	defer func() { cancel(); <-done }()

	waitFor(t, "the guide published", 10*time.Second, m.Ready)
	if n := len(f.Documents("hotline_entries")); n != len(g.Entries) {
		t.Fatalf("%d entries published, want %d", n, len(g.Entries))
	}
	if hits, err := m.SearchContacts(ctx, "金桥小区", 3); err != nil || len(hits) == 0 || hits[0].CommunityID != "wy-jinqiao" {
		t.Fatalf("search once ready: %v %v", hits, err)
	}

	f.Close() // the server goes away
	if _, err := m.SearchEntries(ctx, "低保", 3); !errors.Is(err, meili.ErrUnreachable) {
		t.Fatalf("search with the server gone: %v", err)
	}
	if m.Ready() {
		t.Fatal("still ready after a search found the server gone")
	}
	if !strings.Contains(logs.String(), "serving the console's guide search from the in-process index") {
		t.Errorf("no log line when the server went away:\n%s", logs.String())
	}
	waitFor(t, "a failed attempt to publish again", 10*time.Second, func() bool {
		return strings.Contains(logs.String(), "meilisearch unreachable: serving from the in-process index")
	})
	f2, err := meilitest.Listen(addr, "k") // back, empty
	if err != nil {
		t.Fatal(err)
	}
	defer f2.Close()
	waitFor(t, "the guide published again", 10*time.Second, m.Ready)
	if n := len(f2.Documents("hotline_contacts")); n != len(meili.ContactDocs(g)) {
		t.Errorf("%d contacts on the server back, want %d", n, len(meili.ContactDocs(g)))
	}

	// The publish hook: a new guide replaces the documents.
	small := *g
	small.Entries = g.Entries[:2]
	if err := m.Publish(ctx, &small); err != nil || !m.Ready() {
		t.Fatalf("publish a new guide: %v, ready %v", err, m.Ready())
	}
	if n := len(f2.Documents("hotline_entries")); n != 2 {
		t.Errorf("%d entries after publishing a guide of 2", n)
	}
	// A failed task: an error, and the console back on the in-process index until the loop
	// publishes the latest guide again.
	f2.FailNextTask("documentAdditionOrUpdate", "internal", "disk full")
	var te *meili.TaskError
	if err := m.Publish(ctx, &small); !errors.As(err, &te) || te.Code != "internal" {
		t.Fatalf("publish with a failing task: %v", err)
	}
	waitFor(t, "the latest guide published again", 10*time.Second, m.Ready)
	if n := len(f2.Documents("hotline_entries")); n != 2 {
		t.Errorf("%d entries after the loop published again, want the latest guide's 2", n)
	}
}
