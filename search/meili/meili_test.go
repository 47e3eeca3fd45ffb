package meili_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bayannur/hotline/search/meili"
	"github.com/bayannur/hotline/search/meili/meilitest"
)

// What only the fake can do: fail a task on demand, hold the queue, answer 500; and a close
// look at the requests the adapter sends.

func fakeClient(t *testing.T, f *meilitest.Server, cfg meili.Config) *meili.Client {
	t.Helper()
	cfg.URL, cfg.Key = f.URL, f.Key
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 5 * time.Millisecond
	}
	c, err := meili.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestMeiliPublishRequestsAndDocuments(t *testing.T) {
	f := meilitest.New("k")
	defer f.Close()
	g := sample(t)
	c := fakeClient(t, f, meili.Config{})
	if err := c.Publish(context.Background(), g); err != nil {
		t.Fatal(err)
	}
	// Settings first, then the documents, each waited for (the fake applies a task only when it
	// is looked at until finished), then the stale documents looked for.
	var writes []string
	tasks := 0
	for _, r := range f.Requests() {
		if strings.HasPrefix(r, "GET /tasks/") {
			tasks++
			continue
		}
		writes = append(writes, r)
	}
	want := []string{
		"PATCH /indexes/hotline_entries/settings", "POST /indexes/hotline_entries/documents", "POST /indexes/hotline_entries/documents/fetch",
		"PATCH /indexes/hotline_contacts/settings", "POST /indexes/hotline_contacts/documents", "POST /indexes/hotline_contacts/documents/fetch",
	}
	if !slices.Equal(writes, want) {
		t.Errorf("requests %v,\nwant %v", writes, want)
	}
	if tasks < 2*4 { // each of the four tasks: enqueued, then processing, then finished
		t.Errorf("%d looks at tasks for 4 tasks: WaitForTask did not poll to the end", tasks)
	}

	st := f.Settings("hotline_contacts")
	var syn map[string][]string
	json.Unmarshal(st["synonyms"], &syn)
	if want := meili.Synonyms(g); len(want) == 0 || !reflect.DeepEqual(syn, want) {
		t.Errorf("contacts' synonyms: %d words, want the guide's %d", len(syn), len(want))
	}
	if !strings.Contains(string(st["localizedAttributes"]), `"cmn"`) {
		t.Errorf("contacts' localized attributes %s, want cmn (Chinese)", st["localizedAttributes"])
	}
	var searchable []string
	json.Unmarshal(st["searchableAttributes"], &searchable)
	if len(searchable) == 0 || searchable[0] != "name" || !slices.Contains(searchable, "phone") {
		t.Errorf("contacts' searchable attributes %v", searchable)
	}

	byID := map[string]map[string]any{}
	kinds := map[string]int{}
	for _, d := range f.Documents("hotline_contacts") {
		byID[d["id"].(string)] = d
		kinds[d["kind"].(string)]++
	}
	if kinds["community"] != len(g.Communities()) || kinds["compound"] == 0 || kinds["grid"] == 0 || kinds["person"] == 0 {
		t.Errorf("contact documents by kind %v", kinds)
	}
	fan := byID["person-wy-jinqiao-g1-1"]
	if fan["name"] != "范某丽" || fan["phone"] != "199-0000-1104" || fan["role"] != "网格员" || fan["grid"] != "wy-jinqiao-g1" ||
		fan["community"] != "wy-jinqiao" || fan["community_name"] != "金桥社区" || fan["town"] != "wuyuan-urban" || fan["tier"] != "基础网格" {
		t.Errorf("a grid worker's document: %v", fan)
	}
	comp := byID["compound-wy-jinqiao-0"]
	if comp["name"] != "金桥小区" || comp["grid"] != "wy-jinqiao-g1" || comp["kind"] != "compound" {
		t.Errorf("a compound's document: %v", comp)
	}
	if cm := byID["community-wy-jinqiao"]; cm["name"] != "金桥社区" || cm["grid"] != "wy-jinqiao-g0" {
		t.Errorf("a community's document: %v", cm)
	}
	entries := f.Documents("hotline_entries")
	if len(entries) != len(g.Entries) {
		t.Fatalf("%d entry documents, want %d", len(entries), len(g.Entries))
	}
	for _, d := range entries {
		if d["id"] == "dibao" {
			details, _ := d["details"].([]any)
			if len(details) == 0 || !strings.HasPrefix(details[0].(string), "条件：") {
				t.Errorf("dibao's details %v, want its sections labelled", details)
			}
		}
	}

	hits, err := c.SearchContacts(context.Background(), "金桥小区", 3)
	if err != nil || len(hits) == 0 || hits[0].Compound != "金桥小区" || hits[0].GridID != "wy-jinqiao-g1" {
		t.Errorf("contacts for 金桥小区: %+v %v, want the compound and its grid", hits, err)
	}
}

func TestMeiliInjectedFailedTask(t *testing.T) {
	f := meilitest.New("k")
	defer f.Close()
	c := fakeClient(t, f, meili.Config{Prefix: "city-"})
	f.FailNextTask("settingsUpdate", "invalid_settings_synonyms", "Invalid value at `.synonyms`: too many.")
	err := c.Publish(context.Background(), sample(t))
	var te *meili.TaskError
	if !errors.As(err, &te) || te.Code != "invalid_settings_synonyms" || te.Type != "settingsUpdate" || te.Index != "city-entries" {
		t.Fatalf("publish with the settings' task failing: %v (%#v)", err, te)
	}
	if want := "task 0 (settingsUpdate of city-entries) failed: invalid_settings_synonyms: Invalid value at `.synonyms`: too many."; !strings.Contains(err.Error(), want) {
		t.Errorf("the error %q does not say %q", err, want)
	}
	// Nothing went on after the failure.
	if n := f.Count("POST /indexes/city-entries/documents"); n != 0 {
		t.Errorf("documents sent after the settings failed: %d", n)
	}

	f.FailNextTask("documentAdditionOrUpdate", "internal", "disk on fire")
	err = c.Publish(context.Background(), sample(t))
	if !errors.As(err, &te) || te.Code != "internal" || te.Type != "documentAdditionOrUpdate" {
		t.Fatalf("publish with the documents' task failing: %v", err)
	}
	if len(f.Documents("city-entries")) != 0 {
		t.Error("the failed task's documents were added")
	}
}

func TestMeiliTaskTimeout(t *testing.T) {
	f := meilitest.New("k")
	defer f.Close()
	f.HoldTasks(true)
	// The bound is on each request too: long enough that a busy machine answers the second
	// publish's requests within it (100 ms was not, under the whole suite with -race).
	c := fakeClient(t, f, meili.Config{TaskTimeout: 2 * time.Second})
	err := c.Publish(context.Background(), sample(t))
	if err == nil || !strings.Contains(err.Error(), "not finished after 2s") {
		t.Fatalf("publish with the queue held: %v, want a timeout error", err)
	}
	f.HoldTasks(false)
	if err := c.Publish(context.Background(), sample(t)); err != nil {
		t.Fatalf("publish once the queue moves: %v", err)
	}
}

func TestMeiliServerError(t *testing.T) {
	f := meilitest.New("")
	defer f.Close()
	f.SetBroken(true)
	c := fakeClient(t, f, meili.Config{})
	err := c.Publish(context.Background(), sample(t))
	var ae *meili.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusInternalServerError || ae.Code != "internal" || errors.Is(err, meili.ErrKey) {
		t.Fatalf("publish to a server answering 500: %v", err)
	}
	if !strings.Contains(err.Error(), "update settings of hotline_entries: 500 internal") {
		t.Errorf("the error %q does not say what failed", err)
	}
	if err := c.Health(context.Background()); err == nil {
		t.Error("health of a server answering 500: no error")
	}
	f.SetBroken(false)
	if err := c.Health(context.Background()); err != nil {
		t.Errorf("health once it serves: %v", err)
	}
}

func TestMeiliConfigRefused(t *testing.T) {
	for _, cfg := range []meili.Config{
		{URL: ""},
		{URL: "localhost:7700"},
		{URL: "ftp://localhost:7700"},
		{URL: "http://user:pw@localhost:7700"},
		{URL: "http://localhost:7700", Prefix: "城市"},
		{URL: "http://localhost:7700", Prefix: "a/b"},
		{URL: "http://localhost:7700", Key: "two words"},
	} {
		if _, err := meili.New(cfg); err == nil {
			t.Errorf("New(%+v): no error", cfg)
		} else if !strings.Contains(err.Error(), "meilisearch") {
			t.Errorf("New(%+v): %q does not say what it is about", cfg, err)
		}
	}
	c, err := meili.New(meili.Config{URL: "http://localhost:7700/"})
	if err != nil {
		t.Fatal(err)
	}
	if e, ct := c.Indexes(); c.URL() != "http://localhost:7700" || e != "hotline_entries" || ct != "hotline_contacts" {
		t.Errorf("defaults: %s %s %s", c.URL(), e, ct)
	}
}

func TestMeiliSearchLimit(t *testing.T) {
	f := meilitest.New("")
	defer f.Close()
	c := fakeClient(t, f, meili.Config{})
	if _, err := c.SearchEntries(context.Background(), "低保", 0); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("a search for no hits: %v", err)
	}
}

// A server that takes the connection and never answers: each request is bounded, and the error
// says the server did not answer.
func TestMeiliServerSilent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}()
	c, err := meili.New(meili.Config{URL: "http://" + ln.Addr().String(), TaskTimeout: 100 * time.Millisecond, SearchTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Publish(context.Background(), sample(t))
	if !errors.Is(err, meili.ErrUnreachable) || !strings.Contains(err.Error(), "no answer in time") {
		t.Errorf("publish to a silent server: %v", err)
	}
	if _, err := c.SearchEntries(context.Background(), "低保", 3); !errors.Is(err, meili.ErrUnreachable) {
		t.Errorf("search on a silent server: %v", err)
	}
	// The caller giving up is not the server's fault.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.SearchEntries(ctx, "低保", 3); err == nil || errors.Is(err, meili.ErrUnreachable) {
		t.Errorf("search with the caller's context canceled: %v, want an error that is not ErrUnreachable", err)
	}
}

// A guide with no entries empties the entries' index.
func TestMeiliPublishNoEntries(t *testing.T) {
	f := meilitest.New("")
	defer f.Close()
	c := fakeClient(t, f, meili.Config{})
	g := sample(t)
	if err := c.Publish(context.Background(), g); err != nil {
		t.Fatal(err)
	}
	empty := *g
	empty.Entries = nil
	if err := c.Publish(context.Background(), &empty); err != nil {
		t.Fatal(err)
	}
	if n := len(f.Documents("hotline_entries")); n != 0 {
		t.Errorf("%d entries left after publishing none", n)
	}
	if n := f.Count("POST /indexes/hotline_entries/documents"); n != 1 {
		t.Errorf("documents sent %d times, want once (none sent for an empty guide)", n)
	}
}
