package testkit

// The real binary for the tests that run it: built once a process, started as `hotline serve`
// with its output kept, waited for and stopped.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	binOnce  sync.Once
	binDir   string
	binPath  string
	binErr   error
	binBuild []byte
)

// Binary returns the path of the hotline binary, built from the module's ./cmd/hotline the first
// time a test of the process asks (whatever the package's directory). RemoveBinary, from TestMain,
// takes it away.
func Binary(tb testing.TB) string {
	tb.Helper()
	binOnce.Do(buildBinary)
	if binErr != nil {
		tb.Fatalf("building hotline: %v\n%s", binErr, binBuild)
	}
	return binPath
}

func buildBinary() {
	goTool, err := exec.LookPath("go")
	if err != nil {
		binErr = fmt.Errorf("the go tool is not on PATH: %w", err)
		return
	}
	root, err := moduleRoot(goTool)
	if err != nil {
		binErr = err
		return
	}
	if binDir, binErr = os.MkdirTemp("", "hotline-bin-"); binErr != nil {
		return
	}
	binPath = filepath.Join(binDir, "hotline")
	cmd := exec.Command(goTool, "build", "-o", binPath, "./cmd/hotline")
	cmd.Dir = root
	if binBuild, err = cmd.CombinedOutput(); err != nil {
		binErr = fmt.Errorf("go build ./cmd/hotline in %s: %w", root, err)
	}
}

// moduleRoot is the directory of the go.mod the go tool finds from the working directory (a test
// runs in its package's directory).
func moduleRoot(goTool string) (string, error) {
	out, err := exec.Command(goTool, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("go env GOMOD: the working directory is not inside the hotline module")
	}
	return filepath.Dir(gomod), nil
}

// RemoveBinary deletes the binary Binary built, if it built one. Call it from TestMain once the
// tests have run.
func RemoveBinary() {
	if binDir != "" {
		os.RemoveAll(binDir)
	}
}

// Command returns the binary with args, to run with the HOTLINE_* variables taken out of the
// inherited environment (a developer's own settings must not reach the tests).
func Command(tb testing.TB, args ...string) *exec.Cmd {
	tb.Helper()
	cmd := exec.Command(Binary(tb), args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HOTLINE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	return cmd
}

// FreeAddr returns a loopback address with a port that was free a moment ago, for a process the
// test starts next. The port is below the kernel's range of ephemeral ports: a port the kernel
// hands out (port 0) is free only until the next outgoing connection of any test running beside
// this one takes it as its own end, before the process has bound it (a node of TestHAProxyTwoNodes
// once exited with "address already in use" so); below that range only another listener can.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	low := ephemeralLow()
	for range 100 {
		port := 10000 + rand.IntN(low-10000)
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue // taken
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr
	}
	tb.Fatalf("no free port between 10000 and %d", low)
	return ""
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux's default when unknown).
func ephemeralLow() int {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 11000 {
				low = n
			}
		}
	}
	return low
}

// Buffer is a bytes.Buffer safe for a writer (a process, a logger) and the test reading it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Server is a running `hotline serve` process.
type Server struct {
	Addr string // the address the test told it to listen at
	Base string // "http://" + Addr

	cmd    *exec.Cmd
	output Buffer // stdout and stderr
	done   chan struct{}
	err    error // the Wait result, once done is closed
}

// Serve starts `hotline serve args...` with env added to the environment (HOTLINE_* taken out of
// the inherited one), and kills it when the test ends if the test has not stopped it. addr is
// where the test expects it to listen (Base): the caller says so in args (--addr) or env
// (HOTLINE_ADDR). Restarting on the same data directory is another Serve once Stop has returned.
// It runs with HOTLINE_DRAIN=0, so that Stop need not wait out the drain no balancer needs here; a
// test of the drain says --drain (or HOTLINE_DRAIN in env).
func Serve(tb testing.TB, addr string, env []string, args ...string) *Server {
	tb.Helper()
	cmd := Command(tb, append([]string{"serve"}, args...)...)
	cmd.Env = append(cmd.Env, "HOTLINE_DRAIN=0") // the last of a duplicate key wins: env's
	cmd.Env = append(cmd.Env, env...)
	s := &Server{Addr: addr, Base: "http://" + addr, cmd: cmd, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &s.output, &s.output
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	tb.Cleanup(func() {
		select {
		case <-s.done:
		default:
			cmd.Process.Kill()
			<-s.done
		}
	})
	return s
}

// Output is what the process has written so far, stdout and stderr together.
func (s *Server) Output() string { return s.output.String() }

// Pid is the process's id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

var pollClient = &http.Client{Timeout: 5 * time.Second}

// WaitStatus polls GET path until it answers want, failing the test at the deadline or when the
// process exits.
func (s *Server) WaitStatus(tb testing.TB, path string, want int, within time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(within)
	last := "no answer"
	for {
		resp, err := pollClient.Get(s.Base + path)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-s.done:
			tb.Fatalf("hotline serve exited (%v) before %s answered %d\noutput:\n%s", s.err, path, want, s.Output())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s did not answer %d within %v (last: %s)\noutput:\n%s", path, want, within, last, s.Output())
		}
	}
}

// WaitReady waits until GET /readyz answers 200: the guide is indexed and the bot answers.
func (s *Server) WaitReady(tb testing.TB, within time.Duration) {
	tb.Helper()
	s.WaitStatus(tb, "/readyz", http.StatusOK, within)
}

// Stop sends SIGTERM and requires the process to exit with status 0 within 20 seconds.
func (s *Server) Stop(tb testing.TB) {
	tb.Helper()
	s.Terminate(tb)
	s.WaitExit(tb, 20*time.Second)
}

// Terminate sends SIGTERM and returns at once.
func (s *Server) Terminate(tb testing.TB) {
	tb.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		tb.Fatal(err)
	}
}

// Exited reports whether the process has exited.
func (s *Server) Exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// WaitExit requires the process to exit, with status 0, within the time given.
func (s *Server) WaitExit(tb testing.TB, within time.Duration) {
	tb.Helper()
	select {
	case <-s.done:
	case <-time.After(within):
		tb.Fatalf("hotline serve did not exit within %v\noutput:\n%s", within, s.Output())
	}
	if s.err != nil {
		var ee *exec.ExitError
		if errors.As(s.err, &ee) {
			tb.Fatalf("hotline serve exited with %v (code %d), want 0\noutput:\n%s", s.err, ee.ExitCode(), s.Output())
		}
		tb.Fatalf("hotline serve: %v\noutput:\n%s", s.err, s.Output())
	}
}
