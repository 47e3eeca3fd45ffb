package web_test

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/intake/sqlite"
	"github.com/bayannur/hotline/web"
)

// fakeProber fails while fail is set, and counts its calls.
type fakeProber struct {
	fail  atomic.Bool
	calls atomic.Int32
}

func (p *fakeProber) Probe(ctx context.Context) error {
	p.calls.Add(1)
	if p.fail.Load() {
		return errors.New("disk I/O error")
	}
	return ctx.Err()
}

// probedServer is a ready server whose store is probed by p.
func probedServer(t *testing.T, p intake.Prober) (*web.Server, *httptest.Server) {
	t.Helper()
	s := web.New(web.Config{Log: quietLogger(), Probe: p})
	s.SetBot(sampleBot(t))
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

// waitReadyz polls GET /readyz until it answers status, failing t after 10 s.
func waitReadyz(t *testing.T, ts *httptest.Server, status int, code string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := do(t, ts, http.MethodGet, "/readyz", nil)
		if r.status == status && (code == "" || strings.Contains(string(r.body), `"code":"`+code+`"`)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz: %d %s after 10 s; want %d %s", r.status, r.body, status, code)
		}
		time.Sleep(20 * time.Millisecond) // between polls
	}
}

// gauge is the value of hotline_store_writable in GET /metrics.
func gauge(t *testing.T, ts *httptest.Server) string {
	t.Helper()
	r := do(t, ts, http.MethodGet, "/metrics", nil)
	for _, line := range strings.Split(string(r.body), "\n") {
		if v, ok := strings.CutPrefix(line, "hotline_store_writable "); ok {
			return v
		}
	}
	t.Fatalf("/metrics has no hotline_store_writable:\n%s", r.body)
	return ""
}

// TestReadyzStoreProbe: /readyz answers 503 store_unavailable while the store's probe fails and
// 200 again once it works, the gauge following; /healthz stays 200; and the probe runs at most
// once every couple of seconds however often it is asked.
func TestReadyzStoreProbe(t *testing.T) {
	p := &fakeProber{}
	_, ts := probedServer(t, p)
	waitReadyz(t, ts, http.StatusOK, "")
	if v := gauge(t, ts); v != "1" {
		t.Errorf("hotline_store_writable %s with the store writing; want 1", v)
	}
	before := p.calls.Load()
	for range 50 {
		do(t, ts, http.MethodGet, "/readyz", nil)
	}
	if n := p.calls.Load() - before; n > 2 {
		t.Errorf("50 health checks in a moment ran the probe %d times; want it cached (at most one every 2 s)", n)
	}

	p.fail.Store(true)
	waitReadyz(t, ts, http.StatusServiceUnavailable, "store_unavailable")
	if v := gauge(t, ts); v != "0" {
		t.Errorf("hotline_store_writable %s with the probe failing; want 0", v)
	}
	if r := do(t, ts, http.MethodGet, "/healthz", nil); r.status != http.StatusOK {
		t.Errorf("/healthz with the store failing: %d; want 200 (the process is alive)", r.status)
	}
	if r := do(t, ts, http.MethodGet, "/readyz", nil); strings.Contains(string(r.body), "disk I/O") {
		t.Errorf("/readyz shows the probe's error %s; it belongs in the log", r.body)
	}

	p.fail.Store(false)
	waitReadyz(t, ts, http.StatusOK, "")
	if v := gauge(t, ts); v != "1" {
		t.Errorf("hotline_store_writable %s with the store back; want 1", v)
	}
}

// stuckProber blocks until released, whatever its context, and records how many run at once.
type stuckProber struct {
	release      chan struct{}
	mu           sync.Mutex
	running, max int
}

func (p *stuckProber) Probe(context.Context) error {
	p.mu.Lock()
	p.running++
	p.max = max(p.max, p.running)
	p.mu.Unlock()
	<-p.release
	p.mu.Lock()
	p.running--
	p.mu.Unlock()
	return nil
}

// TestReadyzProbeNeverPilesUp: a probe that does not return (a store that does not honour its
// context) makes /readyz answer 503 within moments, and however many checks come meanwhile, no
// second probe starts beside it.
func TestReadyzProbeNeverPilesUp(t *testing.T) {
	p := &stuckProber{release: make(chan struct{})}
	_, ts := probedServer(t, p)
	var wg sync.WaitGroup
	start := time.Now()
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(ts.URL + "/readyz")
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("/readyz with the probe stuck: %s; want 503", resp.Status)
			}
		}()
	}
	wg.Wait()
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("20 checks with the probe stuck took %v; want each to give up after about the probe's timeout (1 s)", took)
	}
	p.mu.Lock()
	if p.max != 1 {
		t.Errorf("%d probes ran at once; want 1", p.max)
	}
	p.mu.Unlock()
	close(p.release)
	waitReadyz(t, ts, http.StatusOK, "")
}

// TestReadyzSQLiteCannotWrite: a real store that cannot write, because another process holds its
// write lock (as root too, where a read-only file mode stops nothing), makes /readyz answer 503;
// once the lock is let go, 200.
func TestReadyzSQLiteCannotWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hotline.db")
	store, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	_, ts := probedServer(t, store)
	waitReadyz(t, ts, http.StatusOK, "")

	other, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	waitReadyz(t, ts, http.StatusServiceUnavailable, "store_unavailable")
	if _, err := conn.ExecContext(t.Context(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	waitReadyz(t, ts, http.StatusOK, "")
}

// TestReadyzDraining: once Drain is called /readyz answers 503 draining, while everything else
// is served as before.
func TestReadyzDraining(t *testing.T) {
	s, ts := probedServer(t, &fakeProber{})
	waitReadyz(t, ts, http.StatusOK, "")
	s.Drain()
	wantError(t, do(t, ts, http.MethodGet, "/readyz", nil), http.StatusServiceUnavailable, "draining")
	if r := do(t, ts, http.MethodGet, "/healthz", nil); r.status != http.StatusOK {
		t.Errorf("/healthz while draining: %d; want 200", r.status)
	}
	if r := ask(t, ts, `{"text":"底保咋办"}`); r.status != http.StatusOK {
		t.Errorf("POST /api/v1/ask while draining: %d %s; want 200", r.status, r.body)
	}
}
