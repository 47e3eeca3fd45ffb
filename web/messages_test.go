package web_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/internal/i18n"
	"github.com/bayannur/hotline/search"
	"github.com/bayannur/hotline/web"
)

// TestMessagesScript checks GET /messages.js: the whole catalogue, as the staff pages read it.
func TestMessagesScript(t *testing.T) {
	ts := httptest.NewServer(web.New(web.Config{Log: quietLogger()}))
	t.Cleanup(ts.Close)

	r := do(t, ts, http.MethodGet, "/messages.js", nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET /messages.js: %d", r.status)
	}
	for name, want := range map[string]string{
		"Content-Type":           "application/javascript; charset=utf-8",
		"Cache-Control":          "no-cache",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := r.header.Get(name); got != want {
			t.Errorf("GET /messages.js: %s %q, want %q", name, got, want)
		}
	}
	if r.header.Get("ETag") == "" {
		t.Error("GET /messages.js: no ETag")
	}
	body, ok := strings.CutPrefix(string(r.body), "window.HotlineMessages = ")
	if !ok {
		t.Fatalf("GET /messages.js does not set window.HotlineMessages: %.80q", r.body)
	}
	body, ok = strings.CutSuffix(body, ";\n")
	if !ok {
		t.Fatal("GET /messages.js: no ;\\n at the end")
	}
	var got map[string]map[string]string
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("GET /messages.js: %v", err)
	}
	want := i18n.Words()
	if !maps.EqualFunc(got, want, maps.Equal) {
		t.Errorf("GET /messages.js: %d languages, not the catalogue's %d (or other words)", len(got), len(want))
	}
}

// pages are the pages that take their words from the catalogue (their prefix in it), and the
// files of each.
var pages = map[string][]string{
	"console":   {"static/console.html", "static/console.js", "static/staff.js"},
	"dashboard": {"static/dashboard.html", "static/dashboard.js", "static/staff.js"},
	"rate":      {"static/rate.html", "static/rate.js"},
}

// staffPages are the pages whose words switch between Chinese and English.
var staffPages = []string{"console", "dashboard"}

var (
	// t("key"…), tk("key"…), and t("prefix." + x…) in the pages' scripts.
	jsKey = regexp.MustCompile(`\b(?:t|tk)\(\s*"([^"\\]*)"\s*(\+)?`)
	// t(x + ".suffix"…): a key made from a variable and a literal end.
	jsSuffix = regexp.MustCompile(`\b(?:t|tk)\(\s*\w+\s*\+\s*"([^"\\]+)"`)
	// Every call of t or tk, and the console's row(dl, "key", …), which calls t(key).
	jsCall = regexp.MustCompile(`\b(?:t|tk)\(\s*([^\s)]*)`)
	jsRow  = regexp.MustCompile(`\brow\(\s*\w+,\s*"([^"\\]*)"`)
	// data-i18n, data-i18n-placeholder and data-i18n-title attributes, and {{t "key"}} in the pages.
	htmlKey = regexp.MustCompile(`data-i18n(?:-placeholder|-title)?="([^"]*)"|\{\{t "([^"]*)"\}\}`)
)

// TestPageKeys reads the staff pages' sources and checks that every key they use is in the
// catalogue, in both languages, where the page looks it up (under its prefix, else shared):
// literal keys exactly, a "prefix." + x key by having some key under the prefix, an x + ".end"
// key by having some key with that end; and the console's lists of statuses, tiers, actions and
// categories each name.
func TestPageKeys(t *testing.T) {
	words := i18n.Words()
	has := func(page, key string) bool {
		for _, lang := range i18n.Langs {
			if _, ok := words[lang][page+"."+key]; ok {
				continue
			}
			if _, ok := words[lang][key]; !ok {
				return false
			}
		}
		return true
	}
	anyKey := func(page string, match func(string) bool) bool {
		for k := range words[i18n.Zh] {
			if match(k) || match(strings.TrimPrefix(k, page+".")) {
				return true
			}
		}
		return false
	}
	for page, files := range pages {
		used := 0
		for _, file := range files {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			s := withoutComments(string(src))
			if strings.HasSuffix(file, ".html") {
				for _, m := range htmlKey.FindAllStringSubmatch(s, -1) {
					key := m[1] + m[2]
					used++
					if !has(page, key) {
						t.Errorf("%s (%s): %q is not in the catalogue", file, page, key)
					}
				}
				continue
			}
			for _, m := range jsCall.FindAllStringSubmatchIndex(s, -1) {
				// A key the checks below cannot read: only the functions' own (t(key, …)) and
				// applyTexts' (t(e.getAttribute("data-i18n…")), whose keys are the pages').
				call, arg := s[m[0]:m[1]], s[m[2]:m[3]]
				suffixed := jsSuffix.FindStringIndex(s[m[0]:]) // x + ".end", checked below
				if !strings.HasPrefix(arg, `"`) && (suffixed == nil || suffixed[0] != 0) && arg != "key," && arg != "key" &&
					!strings.HasPrefix(arg, `e.getAttribute("data-i18n`) {
					t.Errorf("%s: %s…): a key the test cannot read (give a literal, \"prefix.\" + x or x + \".end\")", file, call)
				}
			}
			for _, m := range jsRow.FindAllStringSubmatch(s, -1) {
				used++
				if !has(page, m[1]) {
					t.Errorf("%s (%s): %q is not in the catalogue", file, page, m[1])
				}
			}
			for _, m := range jsKey.FindAllStringSubmatch(s, -1) {
				key, prefix := m[1], m[2] != ""
				used++
				switch {
				case prefix && !anyKey(page, func(k string) bool { return strings.HasPrefix(k, key) }):
					t.Errorf("%s (%s): no key starts with %q", file, page, key)
				case !prefix && !has(page, key):
					t.Errorf("%s (%s): %q is not in the catalogue", file, page, key)
				}
			}
			for _, m := range jsSuffix.FindAllStringSubmatch(s, -1) {
				used++
				if !anyKey(page, func(k string) bool { return strings.HasSuffix(k, m[1]) }) {
					t.Errorf("%s (%s): no key ends with %q", file, page, m[1])
				}
			}
		}
		if used < 20 {
			t.Errorf("%s: only %d keys found in its sources: is the scan broken?", page, used)
		}
		t.Logf("%s: %d uses checked", page, used)
	}

	src, err := os.ReadFile("static/console.js")
	if err != nil {
		t.Fatal(err)
	}
	for list, prefix := range map[string]string{"STATUSES": "status.", "TIERS": "tier.", "ACTIONS": "action.",
		"GRID_WORKER_ACTIONS": "action.", "CATEGORIES": "category."} {
		names := jsList(t, string(src), list)
		for _, name := range names {
			if !has("console", prefix+name) {
				t.Errorf("console.js %s: %q has no %s%s in the catalogue", list, name, prefix, name)
			}
		}
	}
}

// withoutComments drops the lines of a script that are comments (// …, and /* … */ blocks
// written a line each), whose examples are not keys.
func withoutComments(src string) string {
	var b strings.Builder
	for line := range strings.Lines(src) {
		l := strings.TrimSpace(line)
		if strings.HasPrefix(l, "//") || strings.HasPrefix(l, "/*") || strings.HasPrefix(l, "*") {
			continue
		}
		b.WriteString(line)
	}
	return b.String()
}

// jsList reads the string array const NAME = [...] of a script.
func jsList(t *testing.T, src, name string) []string {
	t.Helper()
	m := regexp.MustCompile(`const ` + name + ` = \[([^\]]*)\]`).FindStringSubmatch(src)
	if m == nil {
		t.Fatalf("no list %s", name)
	}
	var out []string
	for _, q := range regexp.MustCompile(`"([^"]*)"`).FindAllStringSubmatch(m[1], -1) {
		out = append(out, q[1])
	}
	if len(out) == 0 {
		t.Fatalf("the list %s is empty", name)
	}
	return out
}

// TestPagesChineseFirst checks that the staff pages come in Chinese: <html lang="zh-CN">, each
// marked element already holding the catalogue's Chinese for its key (the scripts switch to
// English only on the person's choice), and the catalogue loaded before staff.js.
func TestPagesChineseFirst(t *testing.T) {
	ts := httptest.NewServer(web.New(web.Config{Log: quietLogger()}))
	t.Cleanup(ts.Close)
	marked := regexp.MustCompile(`<(\w+)\b[^>]*\sdata-i18n="([^"]+)"[^>]*>([^<]*)</(\w+)>`)
	attr := regexp.MustCompile(`data-i18n-(placeholder|title)="([^"]+)"[^>]*?\s(placeholder|title)="([^"]*)"`)
	for _, page := range staffPages {
		r := do(t, ts, http.MethodGet, "/"+page, nil)
		if r.status != http.StatusOK {
			t.Fatalf("GET /%s: %d", page, r.status)
		}
		body := string(r.body)
		if !strings.Contains(body, `<html lang="zh-CN">`) {
			t.Errorf("GET /%s: not <html lang=\"zh-CN\">", page)
		}
		if strings.Contains(body, "{{") {
			t.Errorf("GET /%s: a template action left in the page", page)
		}
		messages := strings.Index(body, `<script src="/messages.js"></script>`)
		staff := strings.Index(body, `<script src="/staff.js"></script>`)
		if messages < 0 || messages > staff {
			t.Errorf("GET /%s: messages.js is not loaded before staff.js (at %d and %d)", page, messages, staff)
		}
		n := 0
		for _, m := range marked.FindAllStringSubmatch(body, -1) {
			n++
			if want := i18n.Page(i18n.Zh, page, m[2]); m[3] != htmlText(want) {
				t.Errorf("GET /%s: <%s data-i18n=%q> holds %q, want %q", page, m[1], m[2], m[3], want)
			}
		}
		for _, m := range attr.FindAllStringSubmatch(body, -1) {
			n++
			if want := i18n.Page(i18n.Zh, page, m[2]); m[1] != m[3] || m[4] != htmlText(want) {
				t.Errorf("GET /%s: data-i18n-%s=%q with %s=%q, want %q", page, m[1], m[2], m[3], m[4], want)
			}
		}
		if n < 20 {
			t.Errorf("GET /%s: only %d marked texts", page, n)
		}
		if !regexp.MustCompile(`<title>` + regexp.QuoteMeta(htmlText(i18n.Page(i18n.Zh, page, map[string]string{
			"console": "app.title", "dashboard": "title"}[page]))) + `</title>`).MatchString(body) {
			t.Errorf("GET /%s: the <title> is not the page's title in Chinese", page)
		}
	}
}

// TestRatePageChinese checks that the residents' rating page comes with the catalogue's Chinese
// and loads the catalogue before its script.
func TestRatePageChinese(t *testing.T) {
	ts := httptest.NewServer(web.New(web.Config{Log: quietLogger()}))
	t.Cleanup(ts.Close)
	r := do(t, ts, http.MethodGet, "/rate", nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET /rate: %d", r.status)
	}
	body := string(r.body)
	for _, want := range []string{
		`<html lang="zh-CN">`,
		"<title>" + htmlText(i18n.Page(i18n.Zh, "rate", "title")) + "</title>",
		"<h1>" + htmlText(i18n.Page(i18n.Zh, "rate", "heading")) + "</h1>",
		`data-testid="rate-basically_satisfied">` + htmlText(i18n.T(i18n.Zh, "rating.basically_satisfied")) + "</button>",
		`placeholder="` + htmlText(i18n.Page(i18n.Zh, "rate", "number.example")) + `"`,
		"<script src=\"/messages.js\"></script>\n<script src=\"/rate.js\"></script>",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("GET /rate lacks %q", want)
		}
	}
	if strings.Contains(body, "{{") {
		t.Error("GET /rate: a template action left in the page")
	}
}

// htmlText is text as html/template writes it in an element or an attribute.
func htmlText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;", "+", "&#43;").Replace(s)
}

// TestCatalogueAgrees checks the catalogue's shared words against what the server says in
// Chinese elsewhere: the statuses' labels, the rates' names and the guide's categories.
func TestCatalogueAgrees(t *testing.T) {
	words := i18n.Words()
	statuses := []intake.Status{intake.Received, intake.Dispatched, intake.Signed, intake.InProgress,
		intake.Resolved, intake.Rated, intake.Closed, intake.Returned}
	for _, s := range statuses {
		if got := i18n.T(i18n.Zh, "status."+string(s)); got != s.Label() {
			t.Errorf("status.%s: %q, the status's label %q", s, got, s.Label())
		}
	}
	for _, r := range intake.RateNames {
		if got := i18n.T(i18n.Zh, "rates."+r); got != intake.RateLabels[r] {
			t.Errorf("rates.%s: %q, the rate's label %q", r, got, intake.RateLabels[r])
		}
	}
	spec, err := search.LoadSpec(search.SpecFS())
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for code, name := range spec.Categories {
		codes = append(codes, code)
		if got := i18n.T(i18n.Zh, "category."+code); got != name {
			t.Errorf("category.%s: %q, the guide's %q", code, got, name)
		}
	}
	var keys []string
	for k := range words[i18n.Zh] {
		if code, ok := strings.CutPrefix(k, "category."); ok {
			keys = append(keys, code)
		}
	}
	slices.Sort(codes)
	slices.Sort(keys)
	if !slices.Equal(codes, keys) {
		t.Errorf("the catalogue's categories %v, the guide's %v", keys, codes)
	}
	src, err := os.ReadFile("static/console.js")
	if err != nil {
		t.Fatal(err)
	}
	listed := jsList(t, string(src), "CATEGORIES")
	slices.Sort(listed)
	if !slices.Equal(listed, codes) {
		t.Errorf("console.js lists the categories %v, the guide has %v", listed, codes)
	}
}
