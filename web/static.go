package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"net/http"
	"time"
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
	s.mux.Handle("GET /{$}", staticFile("static/index.html", "text/html; charset=utf-8",
		"no-cache", func(h http.Header) {
			h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "+
				"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
			h.Set("Referrer-Policy", "no-referrer")
		}))
	// The operator console: the page is public (it shows a login form); all it shows comes from
	// the staff API and GET /ws/operator.
	s.mux.Handle("GET /console", staticFile("static/console.html", "text/html; charset=utf-8",
		"no-cache", func(h http.Header) {
			h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "+
				"connect-src 'self'; media-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
			h.Set("Referrer-Policy", "no-referrer")
		}))
	s.mux.Handle("GET /console.js", staticFile("static/console.js", "application/javascript; charset=utf-8", "no-cache", nil))
	// What the staff pages (the console and the dashboard) share: their words and language switch,
	// the API wrapper and the login form. Both load it before their own script.
	s.mux.Handle("GET /staff.js", staticFile("static/staff.js", "application/javascript; charset=utf-8", "no-cache", nil))
	// The managers' dashboard (its data needs a manager's login) and the residents' rating page.
	for _, page := range []string{"dashboard", "rate"} {
		s.mux.Handle("GET /"+page, staticFile("static/"+page+".html", "text/html; charset=utf-8", "no-cache", pageHeaders))
		s.mux.Handle("GET /"+page+".js", staticFile("static/"+page+".js", "application/javascript; charset=utf-8", "no-cache", nil))
	}
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
