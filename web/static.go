package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"net/http"
	"path"
	"time"

	"github.com/bayannur/hotline/internal/i18n"
)

// static holds the resident chat widget and the demo community page that carries it.
//
//go:embed static
var static embed.FS

// mountStatic serves GET /widget.js, the chat widget any community page may embed with one script
// tag, and GET / (exactly), the demo page. They are pages, not API, so they are registered on the
// mux directly and stay out of Routes (which the OpenAPI document must cover).
func (s *Server) mountStatic() {
	s.mux.Handle("GET /widget.js", staticFile("static/widget.js", "application/javascript; charset=utf-8",
		"public, max-age=300", func(h http.Header) {
			// Pages of other origins load it with a plain script tag.
			h.Set("Cross-Origin-Resource-Policy", "cross-origin")
		}))
	s.mux.Handle("GET /{$}", s.demoPage())
	// The operator console: the page is public (it shows a login form); all it shows comes from
	// the staff API and GET /ws/operator.
	s.mux.Handle("GET /console", staticPage("static/console.html", "console",
		"no-cache", func(h http.Header) {
			h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "+
				"connect-src 'self'; media-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
			h.Set("Referrer-Policy", "no-referrer")
		}))
	s.mux.Handle("GET /console.js", staticFile("static/console.js", "application/javascript; charset=utf-8", "no-cache", nil))
	// What the staff pages (the console and the dashboard) share: their language switch, the API
	// wrapper and the login form; and their words, the message catalogue (internal/i18n), which
	// the rating page reads too. The pages load the catalogue before any other script.
	s.mux.Handle("GET /staff.js", staticFile("static/staff.js", "application/javascript; charset=utf-8", "no-cache", nil))
	s.mux.Handle("GET /messages.js", staticBytes(messagesJS(), "application/javascript; charset=utf-8", "no-cache", nil))
	// The managers' dashboard (its data needs a manager's login) and the residents' rating page.
	s.mux.Handle("GET /dashboard", staticPage("static/dashboard.html", "dashboard", "no-cache", pageHeaders))
	s.mux.Handle("GET /rate", staticPage("static/rate.html", "rate", "no-cache", pageHeaders))
	for _, page := range []string{"dashboard", "rate"} {
		s.mux.Handle("GET /"+page+".js", staticFile("static/"+page+".js", "application/javascript; charset=utf-8", "no-cache", nil))
	}
}

// demoPage is GET /: a community's page carrying the widget, as a community's site would embed it
// (GET /?community=wy-jinqiao: the widget knows the resident's community), or, without a known
// community, a city-wide page whose widget asks the resident for theirs.
func (s *Server) demoPage() http.Handler {
	tmpl := template.Must(template.ParseFS(static, "static/index.html"))
	type page struct{ Community, Name, Town string }
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p page
		if id := r.URL.Query().Get("community"); id != "" && s.guide != nil {
			if c, ok := s.guide.Community(id); ok {
				p = page{c.ID, c.Name, c.TownName}
			}
		}
		var b bytes.Buffer
		if err := tmpl.Execute(&b, p); err != nil {
			s.internal(w, "the demo page", err)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		pageHeaders(h)
		w.Write(b.Bytes())
	})
}

// messagesJS is GET /messages.js: the message catalogue, as window.HotlineMessages =
// {"en": {key: text}, "zh": {…}}, for the pages (staff.js looks the staff pages' words up in it,
// rate.js its own).
func messagesJS() []byte {
	return []byte("window.HotlineMessages = " + string(i18n.JSON()) + ";\n")
}

// staticPage serves an embedded page: an html/template whose {{t "key"}} is the key's Chinese in
// the catalogue (under "page." first, as the pages' scripts look it up), rendered once, so the
// page shows Chinese before its script runs (a staff page's applyTexts then puts the chosen
// language in).
func staticPage(name, page, cacheControl string, extra func(http.Header)) http.Handler {
	tmpl, err := template.New(path.Base(name)).Funcs(template.FuncMap{
		"t": func(key string) string { return i18n.Page(i18n.Zh, page, key) },
	}).ParseFS(static, name)
	if err != nil {
		panic("web: embedded " + name + ": " + err.Error()) // a build with a broken page is broken
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, nil); err != nil {
		panic("web: embedded " + name + ": " + err.Error())
	}
	return staticBytes(b.Bytes(), "text/html; charset=utf-8", cacheControl, extra)
}

// pageHeaders are the security headers of the staff and resident pages.
func pageHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "+
		"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
}

// staticFile serves one embedded file with its type, caching, a strong ETag (conditional and HEAD
// requests are answered by http.ServeContent) and nosniff.
func staticFile(name, contentType, cacheControl string, extra func(http.Header)) http.Handler {
	body, err := static.ReadFile(name)
	if err != nil {
		panic("web: embedded " + name + " missing: " + err.Error()) // a build without it is broken
	}
	return staticBytes(body, contentType, cacheControl, extra)
}

// staticBytes is staticFile for a body made at start-up.
func staticBytes(body []byte, contentType, cacheControl string, extra func(http.Header)) http.Handler {
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", contentType)
		h.Set("Cache-Control", cacheControl)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("ETag", etag)
		if extra != nil {
			extra(h)
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	})
}
