package web_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bayannur/hotline/web"
)

// TestStaffScript checks GET /staff.js, the script the console and the dashboard share: served
// like their own scripts, loaded by both pages before theirs, and allowed by their CSP.
func TestStaffScript(t *testing.T) {
	ts := httptest.NewServer(web.New(web.Config{Log: quietLogger()}))
	t.Cleanup(ts.Close)

	r := do(t, ts, http.MethodGet, "/staff.js", nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET /staff.js: %d", r.status)
	}
	for name, want := range map[string]string{
		"Content-Type":           "application/javascript; charset=utf-8",
		"Cache-Control":          "no-cache",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := r.header.Get(name); got != want {
			t.Errorf("GET /staff.js: %s %q, want %q", name, got, want)
		}
	}
	if !strings.Contains(string(r.body), "window.HotlineStaff") {
		t.Error("GET /staff.js: no HotlineStaff in the body")
	}
	etag := r.header.Get("ETag")
	if etag == "" {
		t.Fatal("GET /staff.js: no ETag")
	}
	req, err := http.NewRequest(http.MethodGet, ts.URL+"/staff.js", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("If-None-Match", etag)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("GET /staff.js with its ETag: %d, want 304", resp.StatusCode)
	}

	for _, page := range []string{"console", "dashboard"} {
		r := do(t, ts, http.MethodGet, "/"+page, nil)
		if r.status != http.StatusOK {
			t.Fatalf("GET /%s: %d", page, r.status)
		}
		body := string(r.body)
		shared := strings.Index(body, `<script src="/staff.js"></script>`)
		own := strings.Index(body, `<script src="/`+page+`.js"></script>`)
		if shared < 0 || own < 0 || shared > own {
			t.Errorf("GET /%s: staff.js is not loaded before %s.js (at %d and %d)", page, page, shared, own)
		}
		if csp := r.header.Get("Content-Security-Policy"); !scriptsFromSelf(csp) {
			t.Errorf("GET /%s: the CSP %q does not allow same-origin scripts", page, csp)
		}
		js := do(t, ts, http.MethodGet, "/"+page+".js", nil)
		if js.status != http.StatusOK || !strings.Contains(string(js.body), "HotlineStaff.page(") {
			t.Errorf("GET /%s.js: %d, or it does not use HotlineStaff", page, js.status)
		}
	}
}

// scriptsFromSelf reports whether a Content-Security-Policy lets the page load scripts of its own
// origin: script-src, else default-src, lists 'self'.
func scriptsFromSelf(csp string) bool {
	sources := map[string][]string{}
	for _, d := range strings.Split(csp, ";") {
		f := strings.Fields(d)
		if len(f) > 0 {
			sources[strings.ToLower(f[0])] = f[1:]
		}
	}
	list, ok := sources["script-src"]
	if !ok {
		list = sources["default-src"]
	}
	for _, s := range list {
		if s == "'self'" {
			return true
		}
	}
	return false
}
