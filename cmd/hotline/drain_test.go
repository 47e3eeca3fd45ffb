package main

import (
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bayannur/hotline/internal/testkit"
)

// get answers GET base+path: the status and the body.
func get(t *testing.T, base, path string) (int, string) {
	t.Helper()
	resp, err := client.Get(base + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeDrains: with --drain 3s, SIGTERM turns /readyz to 503 "draining" at once, while
// /healthz, the API and an open chat are served through the drain; then the node shuts down on its
// own, closes the chat with 1012 and exits 0.
func TestServeDrains(t *testing.T) {
	t.Parallel()
	const drain = 3 * time.Second
	addr := testkit.FreeAddr(t)
	s := testkit.Serve(t, addr, nil, "--addr", addr, "--data", filepath.Join(t.TempDir(), "data"), "--drain", drain.String())
	s.WaitReady(t, 60*time.Second)
	chat := dialPeer(t, "resident", "ws"+strings.TrimPrefix(s.Base, "http")+"/ws/chat", http.Header{"Origin": {s.Base}})
	chat.send(map[string]string{"type": "hello", "session": "", "community": "wy-jinqiao"})
	chat.want("welcome", nil)

	s.Terminate(t)
	signalled := time.Now()
	s.WaitStatus(t, "/readyz", http.StatusServiceUnavailable, drain)
	if took := time.Since(signalled); took > time.Second {
		t.Errorf("/readyz turned 503 %v after SIGTERM; want at once", took)
	}
	if status, body := get(t, s.Base, "/readyz"); status != http.StatusServiceUnavailable || !strings.Contains(body, `"code":"draining"`) {
		t.Errorf("/readyz while draining: %d %s; want 503 draining", status, body)
	}
	// Until the drain ends, everything else is served as before.
	checks := 0
	for time.Since(signalled) < drain-time.Second {
		if status, body := get(t, s.Base, "/healthz"); status != http.StatusOK {
			t.Fatalf("/healthz while draining: %d %s; want 200", status, body)
		}
		resp, err := client.Post(s.Base+"/api/v1/ask", "application/json", strings.NewReader(`{"text":"底保咋办"}`))
		if err != nil {
			t.Fatalf("POST /api/v1/ask while draining: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /api/v1/ask while draining: %s; want 200", resp.Status)
		}
		checks++
		time.Sleep(100 * time.Millisecond) // between checks
	}
	chat.send(map[string]string{"type": "ask", "id": "m1", "text": "底保咋办"})
	chat.want("reply", nil)
	if s.Exited() {
		t.Fatalf("hotline serve exited %v after SIGTERM; want it to serve for the drain (%v)\n%s", time.Since(signalled), drain, s.Output())
	}

	s.WaitExit(t, drain+20*time.Second)
	if took := time.Since(signalled); took < drain {
		t.Errorf("hotline serve exited %v after SIGTERM; want after the drain, %v", took, drain)
	}
	t.Logf("%d rounds of /healthz and /api/v1/ask answered 200 while draining", checks)
	chat.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := chat.ws.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.CloseServiceRestart {
			t.Errorf("the chat ended with %v; want a close 1012 (service restart)", err)
		}
		break
	}
	for _, want := range []string{"draining", "shutting down"} {
		if !strings.Contains(s.Output(), want) {
			t.Errorf("hotline serve did not log %q:\n%s", want, s.Output())
		}
	}
}

// TestServeDrainSetting: --drain and HOTLINE_DRAIN take a duration, not negative.
func TestServeDrainSetting(t *testing.T) {
	t.Run("negative", func(t *testing.T) {
		code, _, errOut := runCmd(t, "", "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "data"), "--drain", "-1s")
		if code != 2 || !strings.Contains(errOut, "--drain") {
			t.Fatalf("serve --drain -1s: exit %d, stderr %q; want 2 naming it", code, errOut)
		}
	})
	t.Run("env not a duration", func(t *testing.T) {
		t.Setenv("HOTLINE_DRAIN", "soon")
		code, _, errOut := runCmd(t, "", "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "data"))
		if code != 2 || !strings.Contains(errOut, "HOTLINE_DRAIN") {
			t.Fatalf("serve with HOTLINE_DRAIN=soon: exit %d, stderr %q; want 2 naming it", code, errOut)
		}
	})
}
