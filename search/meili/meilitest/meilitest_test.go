package meilitest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/bayannur/hotline/search/meili/meilitest"
)

// The fake's answers as raw HTTP, against the shapes the API reference documents: the adapter's
// tests see them only through meilisearch-go.

func call(t *testing.T, f *meilitest.Server, method, path, key, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, f.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s %s: %s is not a JSON object: %v", method, path, b, err)
	}
	return resp.StatusCode, v
}

func wantError(t *testing.T, what string, status int, v map[string]any, wantStatus int, code, typ string) {
	t.Helper()
	if status != wantStatus || v["code"] != code || v["type"] != typ || v["message"] == "" ||
		v["link"] != "https://docs.meilisearch.com/errors#"+code {
		t.Errorf("%s: %d %v, want %d with the error object of %s (%s)", what, status, v, wantStatus, code, typ)
	}
}

func TestMeiliFakeSpeaksTheAPI(t *testing.T) {
	f := meilitest.New("mk")
	defer f.Close()

	st, v := call(t, f, "GET", "/health", "", "")
	if st != 200 || v["status"] != "available" {
		t.Errorf("health without a key: %d %v", st, v)
	}
	st, v = call(t, f, "POST", "/indexes/movies/search", "", `{"q":"x"}`)
	wantError(t, "no key", st, v, 401, "missing_authorization_header", "auth")
	st, v = call(t, f, "POST", "/indexes/movies/search", "nope", `{"q":"x"}`)
	wantError(t, "a wrong key", st, v, 403, "invalid_api_key", "auth")
	st, v = call(t, f, "POST", "/indexes/movies/search", "mk", `{"q":"x"}`)
	wantError(t, "a missing index", st, v, 404, "index_not_found", "invalid_request")
	st, v = call(t, f, "GET", "/tasks/99", "mk", "")
	wantError(t, "a missing task", st, v, 404, "task_not_found", "invalid_request")
	st, v = call(t, f, "PATCH", "/indexes/movies/settings", "mk", `{"rankingRules":["words","nonsense"]}`)
	wantError(t, "a bad ranking rule", st, v, 400, "invalid_settings_ranking_rules", "invalid_request")

	// A write answers 202 with the summarized task; looking at the task moves it on.
	st, v = call(t, f, "POST", "/indexes/movies/documents?primaryKey=id", "mk", `[{"id":"a-1","title":"暖气不热怎么办"},{"id":"b 2","title":"x"}]`)
	if st != 202 || v["taskUid"] != float64(0) || v["indexUid"] != "movies" || v["status"] != "enqueued" ||
		v["type"] != "documentAdditionOrUpdate" || v["enqueuedAt"] == nil {
		t.Fatalf("add documents: %d %v, want 202 and the summarized task", st, v)
	}
	var statuses []string
	for range 3 {
		_, v = call(t, f, "GET", "/tasks/0", "mk", "")
		statuses = append(statuses, v["status"].(string))
	}
	if strings.Join(statuses, " ") != "processing failed failed" {
		t.Errorf("the task's statuses, look after look: %v", statuses)
	}
	e, _ := v["error"].(map[string]any)
	if v["uid"] != float64(0) || v["indexUid"] != "movies" || v["finishedAt"] == nil || e["code"] != "invalid_document_id" ||
		e["type"] != "invalid_request" || e["link"] == nil {
		t.Errorf("a task failed on an invalid document id: %v", v)
	}

	call(t, f, "POST", "/indexes/movies/documents?primaryKey=id", "mk", `[{"id":"a-1","title":"暖气不热怎么办"},{"id":"b-2","title":"路灯坏了"}]`)
	_, v = call(t, f, "GET", "/tasks/1", "mk", "")
	if v["status"] != "processing" {
		t.Fatalf("the second task at its first look: %v", v)
	}
	if st, v = call(t, f, "POST", "/indexes/movies/search", "mk", `{"q":"暖气"}`); st != 200 || len(v["hits"].([]any)) != 0 {
		t.Errorf("a search before the task finished: %d %v, want no hits yet", st, v)
	}
	call(t, f, "GET", "/tasks/1", "mk", "")
	st, v = call(t, f, "POST", "/indexes/movies/search", "mk", `{"q":"暖气","showRankingScore":true}`)
	hits, _ := v["hits"].([]any)
	if st != 200 || len(hits) != 1 || hits[0].(map[string]any)["id"] != "a-1" || hits[0].(map[string]any)["_rankingScore"] == nil {
		t.Errorf("search 暖气: %d %v", st, v)
	}
	st, v = call(t, f, "POST", "/indexes/movies/search", "mk", `{"q":"暖气","filter":"title = x"}`)
	wantError(t, "a filter on an attribute not filterable", st, v, 400, "invalid_search_filter", "invalid_request")

	f.FailNextTask("", "internal", "boom")
	call(t, f, "POST", "/indexes/movies/documents/delete-batch", "mk", `["a-1"]`)
	call(t, f, "GET", "/tasks/2", "mk", "")
	_, v = call(t, f, "GET", "/tasks/2", "mk", "")
	if e, _ := v["error"].(map[string]any); v["status"] != "failed" || e["code"] != "internal" || e["message"] != "boom" {
		t.Errorf("an injected failure: %v", v)
	}
	if n := len(f.Documents("movies")); n != 2 {
		t.Errorf("%d documents after a failed deletion, want 2", n)
	}
}
