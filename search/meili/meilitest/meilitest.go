// Package meilitest is a fake Meilisearch server for tests: an httptest server speaking the
// subset of the HTTP API that search/meili uses, shaped as the Meilisearch API reference
// documents it.
//
// Routes: GET /health; PATCH and GET /indexes/{uid}/settings; POST /indexes/{uid}/documents
// (?primaryKey=); POST /indexes/{uid}/documents/fetch; POST /indexes/{uid}/documents/delete-batch;
// POST /indexes/{uid}/search; GET /tasks/{uid}. Writes answer 202 with a summarized task
// ({taskUid, indexUid, status "enqueued", type, enqueuedAt}); GET /tasks/{uid} returns the task
// object, moving it enqueued → processing → succeeded or failed (with an error object) one step
// per look, so a client that does not poll never sees its write applied. Errors are the API's
// error objects {message, code, type, link} with its status codes: 401
// missing_authorization_header, 403 invalid_api_key, 404 index_not_found and task_not_found, 400
// bad_request and the invalid_* codes, 415 missing_content_type / invalid_content_type.
//
// Search is a simple matcher, good enough for tests: a document matches when its searchable
// attributes contain words of the query (ASCII words; for Chinese, the characters two by two), or
// a synonym of a word the query contains; the score is the share of the query's words matched.
package meilitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Server is a fake Meilisearch. Its zero value is not usable: call New.
type Server struct {
	URL string // http://127.0.0.1:PORT, without a trailing slash
	// Key is the master key requests must bear ("Authorization: Bearer KEY"); empty: none.
	Key string

	hs *httptest.Server

	mu       sync.Mutex
	indexes  map[string]*index
	tasks    []*task // by uid: tasks[uid]
	requests []string
	broken   bool
	hold     bool
	failNext []failure
}

type index struct {
	uid        string
	primaryKey string
	created    time.Time
	settings   map[string]json.RawMessage
	docs       map[string]map[string]any
	order      []string // document ids in insertion order
}

// APIError is the error object of the Meilisearch API.
type APIError struct {
	Message string `json:"message"`
	Code    string `json:"code"`
	Type    string `json:"type"`
	Link    string `json:"link"`
}

func apiError(code, typ, message string) *APIError {
	return &APIError{Message: message, Code: code, Type: typ, Link: "https://docs.meilisearch.com/errors#" + code}
}

type task struct {
	UID        int64            `json:"uid"`
	BatchUID   *int64           `json:"batchUid"`
	IndexUID   string           `json:"indexUid"`
	Status     string           `json:"status"`
	Type       string           `json:"type"`
	CanceledBy *int64           `json:"canceledBy"`
	Details    map[string]any   `json:"details"`
	Error      *APIError        `json:"error"`
	Duration   *string          `json:"duration"`
	EnqueuedAt time.Time        `json:"enqueuedAt"`
	StartedAt  *time.Time       `json:"startedAt"`
	FinishedAt *time.Time       `json:"finishedAt"`
	apply      func() *APIError `json:"-"`
}

type failure struct {
	taskType string
	err      *APIError
}

// New starts a fake server; key is the master key ("" for none). Close it when done.
func New(key string) *Server {
	s := &Server{Key: key, indexes: map[string]*index{}}
	s.hs = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.hs.URL
	return s
}

// Listen starts a fake server on addr (127.0.0.1:PORT): for a test that hands the address out
// before the server is up.
func Listen(addr, key string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{Key: key, indexes: map[string]*index{}}
	s.hs = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.hs.Listener.Close()
	s.hs.Listener = ln
	s.hs.Start()
	s.URL = s.hs.URL
	return s, nil
}

// Close stops the server: later requests fail to connect.
func (s *Server) Close() { s.hs.Close() }

// SetBroken makes every request answer 500 with an internal error (true), or serve again (false).
func (s *Server) SetBroken(broken bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.broken = broken
}

// HoldTasks keeps tasks processing, never finished, until it is called with false.
func (s *Server) HoldTasks(hold bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold = hold
}

// FailNextTask makes the next task of that type ("settingsUpdate", "documentAdditionOrUpdate",
// "documentDeletion"; "" for any) fail with the error code and message, changing nothing.
func (s *Server) FailNextTask(taskType, code, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = append(s.failNext, failure{taskType, apiError(code, "invalid_request", message)})
}

// Requests lists the requests served so far, as "METHOD /path".
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Count counts the requests served so far whose "METHOD /path" is want.
func (s *Server) Count(want string) int {
	n := 0
	for _, r := range s.Requests() {
		if r == want {
			n++
		}
	}
	return n
}

// Settings returns an index's settings as set so far (nil when there is no such index).
func (s *Server) Settings(uid string) map[string]json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	x, ok := s.indexes[uid]
	if !ok {
		return nil
	}
	out := map[string]json.RawMessage{}
	for k, v := range x.settings {
		out[k] = slices.Clone(v)
	}
	return out
}

// Documents returns an index's documents in the order they were first added.
func (s *Server) Documents(uid string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	x, ok := s.indexes[uid]
	if !ok {
		return nil
	}
	out := make([]map[string]any, 0, len(x.order))
	for _, id := range x.order {
		out = append(out, x.docs[id])
	}
	return out
}

// PutDocument adds or replaces one document at once, as if a task had done it (the index is
// created with primary key "id" when missing).
func (s *Server) PutDocument(uid string, doc map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.index(uid)
	if x.primaryKey == "" {
		x.primaryKey = "id"
	}
	id := fmt.Sprint(doc[x.primaryKey])
	if _, ok := x.docs[id]; !ok {
		x.order = append(x.order, id)
	}
	x.docs[id] = doc
}

func (s *Server) index(uid string) *index {
	x, ok := s.indexes[uid]
	if !ok {
		x = &index{uid: uid, created: time.Now().UTC(), settings: map[string]json.RawMessage{}, docs: map[string]map[string]any{}}
		s.indexes[uid] = x
	}
	return x
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, e *APIError) { writeJSON(w, status, e) }

// indexUID is the pattern of an index uid: ASCII letters, digits, - and _, at most 400 bytes.
var indexUID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,400}$`)

// documentID is the pattern of a document id: ASCII letters, digits, - and _, at most 511 bytes.
var documentID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,511}$`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r.Method+" "+r.URL.Path)
	if s.broken {
		writeError(w, http.StatusInternalServerError, apiError("internal", "internal", "the fake server is broken (meilitest.SetBroken)"))
		return
	}
	if r.Method == http.MethodGet && r.URL.Path == "/health" {
		writeJSON(w, http.StatusOK, map[string]string{"status": "available"})
		return
	}
	if s.Key != "" {
		auth := r.Header.Get("Authorization")
		if auth == "" {
			writeError(w, http.StatusUnauthorized, apiError("missing_authorization_header", "auth",
				"The Authorization header is missing. It must use the bearer authorization method."))
			return
		}
		if tok, ok := strings.CutPrefix(auth, "Bearer "); !ok || tok != s.Key {
			writeError(w, http.StatusForbidden, apiError("invalid_api_key", "auth", "The provided API key is invalid."))
			return
		}
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(parts) == 2 && parts[0] == "tasks" && r.Method == http.MethodGet:
		s.getTask(w, parts[1])
		return
	case len(parts) >= 3 && parts[0] == "indexes":
		uid := parts[1]
		if !indexUID.MatchString(uid) {
			writeError(w, http.StatusBadRequest, apiError("invalid_index_uid", "invalid_request",
				fmt.Sprintf("`%s` is not a valid index uid. Index uid can be an integer or a string containing only alphanumeric characters, hyphens (-) and underscores (_), and can not be more than 512 bytes.", uid)))
			return
		}
		route := r.Method + " " + strings.Join(parts[2:], "/")
		switch route {
		case "PATCH settings":
			s.patchSettings(w, r, uid)
			return
		case "GET settings":
			s.getSettings(w, uid)
			return
		case "POST documents":
			s.addDocuments(w, r, uid)
			return
		case "POST documents/fetch":
			s.fetchDocuments(w, r, uid)
			return
		case "GET documents":
			s.listDocuments(w, r, uid)
			return
		case "POST documents/delete-batch":
			s.deleteDocuments(w, r, uid)
			return
		case "POST search":
			s.search(w, r, uid)
			return
		}
	}
	writeError(w, http.StatusNotFound, apiError("not_found", "invalid_request", "Not found: the fake serves only what search/meili uses."))
}

// readJSON reads a JSON body into v, answering the API's error when it cannot.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		writeError(w, http.StatusUnsupportedMediaType, apiError("missing_content_type", "invalid_request",
			"A Content-Type header is missing. Accepted values for the Content-Type header are: `application/json`"))
		return false
	}
	if !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, apiError("invalid_content_type", "invalid_request",
			fmt.Sprintf("The Content-Type `%s` is invalid. Accepted values for the Content-Type header are: `application/json`", ct)))
		return false
	}
	var body bytes.Buffer
	if _, err := body.ReadFrom(r.Body); err != nil || body.Len() == 0 {
		writeError(w, http.StatusBadRequest, apiError("missing_payload", "invalid_request", "A json payload is missing."))
		return false
	}
	dec := json.NewDecoder(&body)
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, apiError("bad_request", "invalid_request", "The json payload provided is malformed. "+err.Error()))
		return false
	}
	return true
}

// enqueue adds a task whose apply runs when a client's look finishes it, and answers 202 with
// the summarized task.
func (s *Server) enqueue(w http.ResponseWriter, uid, typ string, details map[string]any, apply func() *APIError) {
	t := &task{UID: int64(len(s.tasks)), IndexUID: uid, Status: "enqueued", Type: typ, Details: details,
		EnqueuedAt: time.Now().UTC(), apply: apply}
	for i, f := range s.failNext {
		if f.taskType == "" || f.taskType == typ {
			e := f.err
			t.apply = func() *APIError { return e }
			s.failNext = slices.Delete(s.failNext, i, i+1)
			break
		}
	}
	s.tasks = append(s.tasks, t)
	writeJSON(w, http.StatusAccepted, map[string]any{
		"taskUid": t.UID, "indexUid": uid, "status": t.Status, "type": typ, "enqueuedAt": t.EnqueuedAt,
	})
}

// finish processes every task up to uid, in order, as a server's queue does.
func (s *Server) finish(uid int64) {
	for _, t := range s.tasks[:uid+1] {
		if t.Status != "enqueued" && t.Status != "processing" {
			continue
		}
		now := time.Now().UTC()
		if t.StartedAt == nil {
			t.StartedAt = &now
		}
		if e := t.apply(); e != nil {
			t.Status, t.Error = "failed", e
		} else {
			t.Status = "succeeded"
		}
		t.FinishedAt = &now
		d := "PT0.001S"
		t.Duration = &d
	}
}

func (s *Server) getTask(w http.ResponseWriter, id string) {
	uid, err := strconv.ParseInt(id, 10, 64)
	if err != nil || uid < 0 {
		writeError(w, http.StatusBadRequest, apiError("invalid_task_uids", "invalid_request",
			fmt.Sprintf("Invalid value in parameter `taskUid`: could not parse `%s` as a positive integer", id)))
		return
	}
	if uid >= int64(len(s.tasks)) {
		writeError(w, http.StatusNotFound, apiError("task_not_found", "invalid_request", fmt.Sprintf("Task `%d` not found.", uid)))
		return
	}
	t := s.tasks[uid]
	switch {
	case t.Status == "enqueued":
		now := time.Now().UTC()
		t.Status, t.StartedAt = "processing", &now
	case t.Status == "processing" && !s.hold:
		s.finish(uid)
	}
	writeJSON(w, http.StatusOK, t)
}

// settingsKeys are the settings the fake knows; any other is refused as the server refuses an
// unknown field.
var settingsKeys = []string{"rankingRules", "searchableAttributes", "filterableAttributes", "sortableAttributes",
	"displayedAttributes", "synonyms", "stopWords", "distinctAttribute", "localizedAttributes", "typoTolerance"}

var rankingRule = regexp.MustCompile(`^(words|typo|proximity|attribute|sort|exactness|attributeRank|wordPosition|[A-Za-z0-9_.]+:(asc|desc))$`)

func (s *Server) patchSettings(w http.ResponseWriter, r *http.Request, uid string) {
	var body map[string]json.RawMessage
	if !readJSON(w, r, &body) {
		return
	}
	for k, v := range body {
		if !slices.Contains(settingsKeys, k) {
			writeError(w, http.StatusBadRequest, apiError("bad_request", "invalid_request",
				fmt.Sprintf("Unknown field `%s`: expected one of %s", k, strings.Join(settingsKeys, ", "))))
			return
		}
		if k == "rankingRules" {
			var rules []string
			if err := json.Unmarshal(v, &rules); err != nil {
				writeError(w, http.StatusBadRequest, apiError("invalid_settings_ranking_rules", "invalid_request",
					"Invalid value type at `.rankingRules`: expected an array of strings"))
				return
			}
			for i, rule := range rules {
				if !rankingRule.MatchString(rule) {
					writeError(w, http.StatusBadRequest, apiError("invalid_settings_ranking_rules", "invalid_request",
						fmt.Sprintf("Invalid value at `.rankingRules[%d]`: `%s` ranking rule is invalid.", i, rule)))
					return
				}
			}
		}
	}
	s.enqueue(w, uid, "settingsUpdate", map[string]any{}, func() *APIError {
		x := s.index(uid)
		for k, v := range body {
			x.settings[k] = v
		}
		return nil
	})
}

func (s *Server) getSettings(w http.ResponseWriter, uid string) {
	x, ok := s.indexes[uid]
	if !ok {
		writeError(w, http.StatusNotFound, notFound(uid))
		return
	}
	writeJSON(w, http.StatusOK, x.settings)
}

func notFound(uid string) *APIError {
	return apiError("index_not_found", "invalid_request", fmt.Sprintf("Index `%s` not found.", uid))
}

func (s *Server) addDocuments(w http.ResponseWriter, r *http.Request, uid string) {
	var docs []map[string]any
	if !readJSON(w, r, &docs) {
		return
	}
	pk := r.URL.Query().Get("primaryKey")
	s.enqueue(w, uid, "documentAdditionOrUpdate", map[string]any{"receivedDocuments": len(docs)}, func() *APIError {
		x := s.index(uid)
		key := x.primaryKey
		if key == "" {
			key = pk
		}
		if key == "" {
			return apiError("index_primary_key_no_candidate_found", "invalid_request",
				"The primary key inference failed as the engine did not find any field ending with `id` in its name. Please specify the primary key manually using the `primaryKey` query parameter.")
		}
		if pk != "" && pk != key {
			return apiError("index_primary_key_already_exists", "invalid_request", fmt.Sprintf("Index already has a primary key: `%s`.", key))
		}
		for _, d := range docs {
			v, ok := d[key]
			id := fmt.Sprint(v)
			if !ok {
				return apiError("missing_document_id", "invalid_request", fmt.Sprintf("Document doesn't have a `%s` attribute: `%s`.", key, compact(d)))
			}
			if !documentID.MatchString(id) {
				return apiError("invalid_document_id", "invalid_request",
					fmt.Sprintf("Document identifier `%q` is invalid. A document identifier can be of type integer or string, only composed of alphanumeric characters (a-z A-Z 0-9), hyphens (-) and underscores (_), and can not be more than 511 bytes.", id))
			}
		}
		x.primaryKey = key
		for _, d := range docs {
			id := fmt.Sprint(d[key])
			if _, ok := x.docs[id]; !ok {
				x.order = append(x.order, id)
			}
			x.docs[id] = d
		}
		return nil
	})
}

func compact(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func (s *Server) fetchDocuments(w http.ResponseWriter, r *http.Request, uid string) {
	var q struct {
		Offset int      `json:"offset"`
		Limit  *int     `json:"limit"`
		Fields []string `json:"fields"`
	}
	if !readJSON(w, r, &q) {
		return
	}
	x, ok := s.indexes[uid]
	if !ok {
		writeError(w, http.StatusNotFound, notFound(uid))
		return
	}
	limit := 20
	if q.Limit != nil {
		limit = *q.Limit
	}
	results := []map[string]any{}
	for i := q.Offset; i < len(x.order) && len(results) < limit; i++ {
		results = append(results, project(x.docs[x.order[i]], q.Fields))
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results, "offset": q.Offset, "limit": limit, "total": len(x.order)})
}

// listDocuments is GET /indexes/{uid}/documents?offset=&limit=&fields=a,b.
func (s *Server) listDocuments(w http.ResponseWriter, r *http.Request, uid string) {
	x, ok := s.indexes[uid]
	if !ok {
		writeError(w, http.StatusNotFound, notFound(uid))
		return
	}
	q := r.URL.Query()
	offset, limit := 0, 20
	for name, p := range map[string]*int{"offset": &offset, "limit": &limit} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				writeError(w, http.StatusBadRequest, apiError("invalid_document_"+name, "invalid_request",
					fmt.Sprintf("Invalid value in parameter `%s`: could not parse `%s` as a positive integer", name, v)))
				return
			}
			*p = n
		}
	}
	var fields []string
	if f := q.Get("fields"); f != "" {
		fields = strings.Split(f, ",")
	}
	results := []map[string]any{}
	for i := offset; i < len(x.order) && len(results) < limit; i++ {
		results = append(results, project(x.docs[x.order[i]], fields))
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results, "offset": offset, "limit": limit, "total": len(x.order)})
}

func project(d map[string]any, fields []string) map[string]any {
	if len(fields) == 0 || slices.Contains(fields, "*") {
		return d
	}
	out := map[string]any{}
	for _, f := range fields {
		if v, ok := d[f]; ok {
			out[f] = v
		}
	}
	return out
}

func (s *Server) deleteDocuments(w http.ResponseWriter, r *http.Request, uid string) {
	var ids []any
	if !readJSON(w, r, &ids) {
		return
	}
	s.enqueue(w, uid, "documentDeletion", map[string]any{"providedIds": len(ids)}, func() *APIError {
		x, ok := s.indexes[uid]
		if !ok {
			return notFound(uid)
		}
		for _, v := range ids {
			id := fmt.Sprint(v)
			if _, ok := x.docs[id]; ok {
				delete(x.docs, id)
				x.order = slices.DeleteFunc(x.order, func(o string) bool { return o == id })
			}
		}
		return nil
	})
}

func (s *Server) search(w http.ResponseWriter, r *http.Request, uid string) {
	var q struct {
		Q                    string   `json:"q"`
		Limit                *int     `json:"limit"`
		Offset               int      `json:"offset"`
		Filter               any      `json:"filter"`
		AttributesToRetrieve []string `json:"attributesToRetrieve"`
		ShowRankingScore     bool     `json:"showRankingScore"`
	}
	if !readJSON(w, r, &q) {
		return
	}
	x, ok := s.indexes[uid]
	if !ok {
		writeError(w, http.StatusNotFound, notFound(uid))
		return
	}
	limit := 20
	if q.Limit != nil {
		limit = *q.Limit
	}
	keep, apiErr := x.filter(q.Filter)
	if apiErr != nil {
		writeError(w, http.StatusBadRequest, apiErr)
		return
	}
	var searchable []string
	json.Unmarshal(x.settings["searchableAttributes"], &searchable)
	synonyms := map[string][]string{}
	json.Unmarshal(x.settings["synonyms"], &synonyms)
	type scored struct {
		doc   map[string]any
		score float64
		rank  int
		order int
	}
	var hits []scored
	for i, id := range x.order {
		d := x.docs[id]
		if !keep(d) {
			continue
		}
		if strings.TrimSpace(q.Q) == "" { // a placeholder search returns every document
			hits = append(hits, scored{d, 1, 0, i})
			continue
		}
		if score, rank := match(q.Q, d, searchable, synonyms); score > 0 {
			hits = append(hits, scored{d, score, rank, i})
		}
	}
	sort.SliceStable(hits, func(i, j int) bool {
		if hits[i].score != hits[j].score {
			return hits[i].score > hits[j].score
		}
		if hits[i].rank != hits[j].rank {
			return hits[i].rank < hits[j].rank
		}
		return hits[i].order < hits[j].order
	})
	total := len(hits)
	if q.Offset < len(hits) {
		hits = hits[q.Offset:]
	} else {
		hits = nil
	}
	out := []map[string]any{}
	for _, h := range hits {
		if len(out) == limit {
			break
		}
		doc := project(h.doc, q.AttributesToRetrieve)
		if q.ShowRankingScore {
			doc = maps(doc)
			doc["_rankingScore"] = h.score
		}
		out = append(out, doc)
	}
	writeJSON(w, http.StatusOK, map[string]any{"hits": out, "query": q.Q, "processingTimeMs": 0, "limit": limit,
		"offset": q.Offset, "estimatedTotalHits": total})
}

func maps(d map[string]any) map[string]any {
	out := make(map[string]any, len(d)+1)
	for k, v := range d {
		out[k] = v
	}
	return out
}

var filterClause = regexp.MustCompile(`^\s*([A-Za-z0-9_.]+)\s*(=|!=)\s*(?:"([^"]*)"|'([^']*)'|([^\s"']+))\s*$`)

// filter understands `attr = value` and `attr != value` clauses joined by AND, on filterable
// attributes only, as the server refuses a filter on any other.
func (x *index) filter(f any) (func(map[string]any) bool, *APIError) {
	if f == nil {
		return func(map[string]any) bool { return true }, nil
	}
	expr, ok := f.(string)
	if !ok {
		return nil, apiError("invalid_search_filter", "invalid_request", "The fake understands only a filter string.")
	}
	var filterable []string
	json.Unmarshal(x.settings["filterableAttributes"], &filterable)
	type clause struct{ attr, op, value string }
	var clauses []clause
	for _, c := range regexp.MustCompile(`\s+AND\s+`).Split(expr, -1) {
		m := filterClause.FindStringSubmatch(c)
		if m == nil {
			return nil, apiError("invalid_search_filter", "invalid_request", fmt.Sprintf("Was expecting an operation `=`, `!=` at `%s`.", c))
		}
		if !slices.Contains(filterable, m[1]) {
			return nil, apiError("invalid_search_filter", "invalid_request",
				fmt.Sprintf("Attribute `%s` is not filterable. Available filterable attributes are: `%s`.", m[1], strings.Join(filterable, ", ")))
		}
		clauses = append(clauses, clause{m[1], m[2], m[3] + m[4] + m[5]})
	}
	return func(d map[string]any) bool {
		for _, c := range clauses {
			eq := fmt.Sprint(d[c.attr]) == c.value
			if eq != (c.op == "=") {
				return false
			}
		}
		return true
	}, nil
}

// match scores a document for a query: the share of the query's words found in its searchable
// attributes, and the rank of the first attribute that matched.
func match(q string, d map[string]any, searchable []string, synonyms map[string][]string) (float64, int) {
	attrs := searchable
	if len(attrs) == 0 || slices.Contains(attrs, "*") {
		attrs = attrs[:0:0]
		for k := range d {
			attrs = append(attrs, k)
		}
		sort.Strings(attrs)
	}
	texts := make([]string, len(attrs))
	for i, a := range attrs {
		texts[i] = strings.ToLower(text(d[a]))
	}
	find := func(w string) int {
		for i, t := range texts {
			if strings.Contains(t, w) {
				return i
			}
		}
		return -1
	}
	q = strings.ToLower(q)
	units := words(q)
	for k := range synonyms {
		if strings.Contains(q, strings.ToLower(k)) {
			units = append(units, k)
		}
	}
	if len(units) == 0 {
		return 0, 0
	}
	matched, rank := 0, len(attrs)
	for _, u := range units {
		best := find(u)
		for _, alt := range synonyms[u] {
			if i := find(strings.ToLower(alt)); i >= 0 && (best < 0 || i < best) {
				best = i
			}
		}
		if best >= 0 {
			matched++
			rank = min(rank, best)
		}
	}
	return float64(matched) / float64(len(units)), rank
}

func text(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		parts := make([]string, 0, len(v))
		for _, x := range v {
			parts = append(parts, text(x))
		}
		return strings.Join(parts, "\n")
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

// words splits a query: ASCII letters and digits make words; a run of Chinese characters makes
// its characters two by two (one alone is a word).
func words(q string) []string {
	var out []string
	var word []rune
	var han []rune
	flush := func() {
		if len(word) > 0 {
			out = append(out, string(word))
			word = word[:0]
		}
		switch {
		case len(han) == 1:
			out = append(out, string(han))
		case len(han) > 1:
			for i := 0; i+1 < len(han); i++ {
				out = append(out, string(han[i:i+2]))
			}
		}
		han = han[:0]
	}
	for _, r := range q {
		switch {
		case unicode.Is(unicode.Han, r):
			if len(word) > 0 {
				out = append(out, string(word))
				word = word[:0]
			}
			han = append(han, r)
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if len(han) > 0 {
				flush()
			}
			word = append(word, r)
		default:
			flush()
		}
	}
	flush()
	return out
}
