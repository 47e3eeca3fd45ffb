package meili_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meilisearch/meilisearch-go"

	"github.com/bayannur/hotline/search"
	"github.com/bayannur/hotline/search/meili"
	"github.com/bayannur/hotline/search/meili/meilitest"
)

// The cases of the contract run twice: against the fake (TestMeiliContractOnFake, always) and against
// a real server (TestMeiliContractOnServer, when MEILISEARCH_URL is set). What only a fake can do
// — fail a task on demand, hold the queue, answer 500 — is in meili_test.go.

// server is where a contract case runs.
type server struct {
	url, key string
	// cleanup deletes the indexes a case made (a real server keeps them).
	cleanup func(t *testing.T, c *meili.Client)
}

var (
	sampleOnce  sync.Once
	sampleGuide *search.Guide
	sampleErr   error
)

func sample(t *testing.T) *search.Guide {
	t.Helper()
	sampleOnce.Do(func() { sampleGuide, sampleErr = search.LoadSample() })
	if sampleErr != nil {
		t.Fatal(sampleErr)
	}
	return sampleGuide
}

// uniquePrefix names a case's indexes apart from any other run's on a shared server.
func uniquePrefix(t *testing.T) string {
	b := make([]byte, 4)
	rand.Read(b)
	return "hotline_test_" + hex.EncodeToString(b) + "_"
}

func newClient(t *testing.T, s server, key string) *meili.Client {
	t.Helper()
	c, err := meili.New(meili.Config{URL: s.url, Key: key, Prefix: uniquePrefix(t), PollInterval: 10 * time.Millisecond,
		TaskTimeout: 30 * time.Second, SearchTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s.cleanup != nil {
			s.cleanup(t, c)
		}
		c.Close()
	})
	return c
}

// getJSON reads a route of the server as JSON, with the key.
func getJSON(t *testing.T, s server, path string, v any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.url+path, nil)
	if s.key != "" {
		req.Header.Set("Authorization", "Bearer "+s.key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

func contract(t *testing.T, s server) {
	ctx := context.Background()

	t.Run("publish sends settings and documents, and search finds them", func(t *testing.T) {
		g := sample(t)
		c := newClient(t, s, s.key)
		if err := c.Publish(ctx, g); err != nil {
			t.Fatalf("publish: %v", err)
		}
		entries, contacts := c.Indexes()

		var st map[string]json.RawMessage
		getJSON(t, s, "/indexes/"+entries+"/settings", &st)
		var searchable, rules []string
		json.Unmarshal(st["searchableAttributes"], &searchable)
		json.Unmarshal(st["rankingRules"], &rules)
		if want := []string{"title", "keywords", "examples", "short", "summary", "details"}; !slices.Equal(searchable, want) {
			t.Errorf("entries' searchable attributes %v, want %v", searchable, want)
		}
		if !slices.Equal(rules, meili.RankingRules) {
			t.Errorf("entries' ranking rules %v, want %v", rules, meili.RankingRules)
		}
		if f := filterable(t, st["filterableAttributes"]); !slices.Contains(f, "kind") || !slices.Contains(f, "category") {
			t.Errorf("entries' filterable attributes %v, want kind and category", f)
		}
		var syn map[string][]string
		json.Unmarshal(st["synonyms"], &syn)
		if !slices.Contains(syn["底保"], "低保") || !slices.Contains(syn["低保"], "最低生活保障") {
			t.Errorf("entries' synonyms for 底保 %v and 低保 %v: want the guide's group both ways", syn["底保"], syn["低保"])
		}
		getJSON(t, s, "/indexes/"+contacts+"/settings", &st)
		if f := filterable(t, st["filterableAttributes"]); !slices.Contains(f, "town") || !slices.Contains(f, "community") || !slices.Contains(f, "kind") {
			t.Errorf("contacts' filterable attributes %v, want kind, town and community", f)
		}

		var docs struct {
			Total   int              `json:"total"`
			Results []map[string]any `json:"results"`
		}
		getJSON(t, s, "/indexes/"+entries+"/documents?limit=1000", &docs)
		if docs.Total != len(g.Entries) {
			t.Errorf("%d entries on the server, want the guide's %d", docs.Total, len(g.Entries))
		}
		var dibao map[string]any
		for _, d := range docs.Results {
			if d["id"] == "dibao" {
				dibao = d
			}
		}
		if dibao == nil || dibao["kind"] != search.KindProcedure || !strings.Contains(dibao["title"].(string), "低保") || dibao["short"] == "" {
			t.Errorf("the dibao document: %v", dibao)
		}
		getJSON(t, s, "/indexes/"+contacts+"/documents?limit=1000", &docs)
		if want := len(meili.ContactDocs(g)); docs.Total != want {
			t.Errorf("%d contacts on the server, want %d", docs.Total, want)
		}

		hits, err := c.SearchEntries(ctx, "低保", 5)
		if err != nil || !slices.ContainsFunc(hits, func(h search.EntryHit) bool { return h.ID == "dibao" && h.Kind == search.KindProcedure }) {
			t.Errorf("entries for 低保: %v (%v), want dibao among them", hits, err)
		}
		places, err := c.SearchContacts(ctx, "金桥小区", 5)
		if err != nil || len(places) == 0 || places[0].CommunityID != "wy-jinqiao" {
			t.Errorf("contacts for 金桥小区: %+v (%v), want wy-jinqiao first", places, err)
		}
		people, err := c.SearchContacts(ctx, "199-0000-1104", 3)
		if err != nil || len(people) == 0 || people[0].CommunityID != "wy-jinqiao" || people[0].GridID != "wy-jinqiao-g1" {
			t.Errorf("contacts for a grid worker's phone: %+v (%v), want her grid wy-jinqiao-g1 first", people, err)
		}
		if none, err := c.SearchEntries(ctx, "  ", 5); err != nil || len(none) != 0 {
			t.Errorf("a blank query: %v (%v), want nothing (Meilisearch would answer every document)", none, err)
		}
	})

	t.Run("publishing a smaller guide deletes what it no longer has", func(t *testing.T) {
		g := sample(t)
		c := newClient(t, s, s.key)
		if err := c.Publish(ctx, g); err != nil {
			t.Fatal(err)
		}
		small := *g
		small.Entries = g.Entries[:3]
		small.Towns = g.Towns[:1]
		if err := c.Publish(ctx, &small); err != nil {
			t.Fatal(err)
		}
		entries, contacts := c.Indexes()
		var docs struct {
			Total int `json:"total"`
		}
		getJSON(t, s, "/indexes/"+entries+"/documents?limit=1", &docs)
		if docs.Total != 3 {
			t.Errorf("after publishing 3 entries, %d on the server", docs.Total)
		}
		getJSON(t, s, "/indexes/"+contacts+"/documents?limit=1", &docs)
		if want := len(meili.ContactDocs(&small)); docs.Total != want {
			t.Errorf("after publishing one town, %d contacts on the server, want %d", docs.Total, want)
		}
	})

	t.Run("a failed task is an error with its code", func(t *testing.T) {
		c := newClient(t, s, s.key)
		entries, _ := c.Indexes()
		// An index whose primary key is not "id": adding the guide's documents fails as a task.
		raw := meilisearch.New(s.url, meilisearch.WithAPIKey(s.key))
		defer raw.Close()
		pk := "key"
		info, err := raw.Index(entries).AddDocuments(ctx, []map[string]string{{"key": "x"}}, &meilisearch.DocumentOptions{PrimaryKey: &pk})
		if err != nil {
			t.Fatal(err)
		}
		if task, err := raw.WaitForTask(ctx, info.TaskUID, 10*time.Millisecond); err != nil || task.Status != meilisearch.TaskStatusSucceeded {
			t.Fatalf("the setup's task: %+v %v", task, err)
		}
		err = c.Publish(ctx, sample(t))
		var te *meili.TaskError
		if !errors.As(err, &te) || te.Status != "failed" || te.Code != "index_primary_key_already_exists" || te.Index != entries ||
			te.Type != "documentAdditionOrUpdate" || te.Message == "" {
			t.Fatalf("publish onto an index keyed otherwise: %v (%#v), want the failed task's error", err, te)
		}
		if !strings.Contains(err.Error(), "failed: index_primary_key_already_exists") {
			t.Errorf("the error says %q", err)
		}
	})

	t.Run("a missing index is index_not_found", func(t *testing.T) {
		c := newClient(t, s, s.key)
		_, err := c.SearchEntries(ctx, "低保", 5)
		var ae *meili.APIError
		if !errors.As(err, &ae) || ae.Status != http.StatusNotFound || ae.Code != "index_not_found" || ae.Type != "invalid_request" {
			t.Fatalf("search before any publish: %v, want 404 index_not_found", err)
		}
	})

	t.Run("a wrong key is refused clearly", func(t *testing.T) {
		if s.key == "" {
			t.Skip("the server has no key (MEILISEARCH_KEY unset): any key passes")
		}
		for _, key := range []string{"", "not-the-key"} {
			c := newClient(t, s, key)
			err := c.Publish(ctx, sample(t))
			var ae *meili.APIError
			if !errors.Is(err, meili.ErrKey) || !errors.As(err, &ae) || !strings.Contains(err.Error(), "check the API key") {
				t.Fatalf("publish with key %q: %v, want the key refused", key, err)
			}
			wantCode := map[string]string{"": "missing_authorization_header", "not-the-key": "invalid_api_key"}[key]
			wantStatus := map[string]int{"": http.StatusUnauthorized, "not-the-key": http.StatusForbidden}[key]
			if ae.Status != wantStatus || ae.Code != wantCode || ae.Type != "auth" {
				t.Errorf("publish with key %q: %d %q type %q, want %d %s, auth", key, ae.Status, ae.Code, ae.Type, wantStatus, wantCode)
			}
		}
	})

	t.Run("a server that is down is unreachable", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close() // nobody listens there now
		c := newClient(t, server{url: "http://" + addr}, s.key)
		err = c.Publish(ctx, sample(t))
		if !errors.Is(err, meili.ErrUnreachable) || !strings.Contains(err.Error(), addr) {
			t.Fatalf("publish to a closed port: %v, want ErrUnreachable naming the address", err)
		}
		if _, err := c.SearchContacts(ctx, "金桥", 3); !errors.Is(err, meili.ErrUnreachable) {
			t.Fatalf("search on a closed port: %v, want ErrUnreachable", err)
		}
	})
}

// filterable reads filterableAttributes, written as names or (Meilisearch 1.14+) as objects
// with attributePatterns.
func filterable(t *testing.T, raw json.RawMessage) []string {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		t.Fatalf("filterableAttributes %s: %v", raw, err)
	}
	var out []string
	for _, it := range items {
		var name string
		if json.Unmarshal(it, &name) == nil {
			out = append(out, name)
			continue
		}
		var obj struct {
			AttributePatterns []string `json:"attributePatterns"`
		}
		json.Unmarshal(it, &obj)
		out = append(out, obj.AttributePatterns...)
	}
	return out
}

func TestMeiliContractOnFake(t *testing.T) {
	f := meilitest.New("master-key-for-tests")
	defer f.Close()
	contract(t, server{url: f.URL, key: f.Key})
}

// TestMeiliContractOnServer runs the same cases against a real server: MEILISEARCH_URL (and
// MEILISEARCH_KEY, its master key) — deploy/meilisearch.md. Without one it is skipped, saying so.
func TestMeiliContractOnServer(t *testing.T) {
	url := strings.TrimSuffix(os.Getenv("MEILISEARCH_URL"), "/")
	if url == "" {
		t.Skip("MEILISEARCH_URL is not set: no real Meilisearch server to check the contract against (deploy/meilisearch.md); the fake's run is TestMeiliContractOnFake")
	}
	s := server{url: url, key: os.Getenv("MEILISEARCH_KEY")}
	s.cleanup = func(t *testing.T, c *meili.Client) {
		raw := meilisearch.New(url, meilisearch.WithAPIKey(s.key))
		defer raw.Close()
		entries, contacts := c.Indexes()
		for _, uid := range []string{entries, contacts} {
			if info, err := raw.DeleteIndex(context.Background(), uid); err == nil {
				raw.WaitForTask(context.Background(), info.TaskUID, 50*time.Millisecond)
			}
		}
	}
	contract(t, s)
}
