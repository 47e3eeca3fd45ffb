package web

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The write timeout cuts a response that takes too long, but not a CSV export.
func TestWriteTimeoutSparesExports(t *testing.T) {
	const short = 100 * time.Millisecond
	s := New(Config{Log: slog.New(slog.DiscardHandler), WriteTimeout: short})
	slow := func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(3 * short) // a long export: past the write timeout before the first byte
		io.WriteString(w, "a,b\n1,2\n")
	}
	s.mux.HandleFunc("GET /slow", slow)
	s.mux.HandleFunc("GET /slow.csv", slow)
	ts := httptest.NewUnstartedServer(s)
	ts.Config = s.HTTPServer()
	ts.Start()
	defer ts.Close()
	get := func(path string) (string, error) {
		resp, err := ts.Client().Get(ts.URL + path)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	if body, err := get("/slow"); err == nil {
		t.Errorf("a response past the write timeout arrived: %q", body)
	}
	if body, err := get("/slow.csv"); err != nil || body != "a,b\n1,2\n" {
		t.Errorf("a CSV export past the write timeout: %q, %v", body, err)
	}
}
