package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bayannur/hotline/internal/testkit"
)

// Forty addresses each sending five bad logins at once leave the node's memory below 300 MB:
// argon2id runs two at a time with 19 MiB each, whatever arrives. The node's high-water mark
// (VmHWM, the most resident memory it ever had, start-up included) is read from /proc after the
// flood: 204–233 MB here; with 64 MiB hashes it reached 315–352 MB, with no pool 750 MB and more. Every login is answered 401 or 503.
func TestLoginFloodMemory(t *testing.T) {
	t.Parallel()
	addr := testkit.FreeAddr(t)
	s := testkit.Serve(t, addr, nil, "--addr", addr, "--data", filepath.Join(t.TempDir(), "data"))
	s.WaitReady(t, 60*time.Second)

	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 2, byte(i+1))}}
			c := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{DialContext: d.DialContext}}
			defer c.CloseIdleConnections()
			for j := range 5 {
				body := fmt.Sprintf(`{"name":"nobody%d","password":"wrong password %d"}`, i, j)
				code := 0
				if resp, err := c.Post(s.Base+"/api/v1/login", "application/json", strings.NewReader(body)); err == nil {
					resp.Body.Close()
					code = resp.StatusCode
				}
				mu.Lock()
				codes[code]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if codes[http.StatusUnauthorized]+codes[http.StatusServiceUnavailable] != 200 || codes[http.StatusUnauthorized] == 0 {
		t.Errorf("200 bad logins answered %v; want every one 401 or 503, some 401", codes)
	}
	hwm := statusKB(t, s.Pid(), "VmHWM")
	t.Logf("200 bad logins from 40 addresses: answers %v, node's peak resident memory %d MB", codes, hwm/1000)
	if hwm > 300_000 {
		t.Errorf("the node's memory peaked at %d MB; want under 300 MB", hwm/1000)
	}
	s.Stop(t)
}

// statusKB reads a field in kB of /proc/PID/status.
func statusKB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
