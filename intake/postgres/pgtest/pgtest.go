// Package pgtest gives tests a throwaway PostgreSQL server and a fresh database on it, with no
// setup: it needs only Debian's postgresql package (its initdb and postgres), never a running
// service.
//
// The first call to Server in a test binary runs initdb into a new temporary directory and starts
// postgres on it, listening only on a unix socket in that directory, with synchronous_commit off
// (a URL may turn it back on: add &synchronous_commit=on). The server cannot outlive the
// test binary: it is started with a parent-death signal (SIGQUIT, PostgreSQL's immediate shutdown)
// from an OS thread kept for as long as the server runs, so that however the binary ends, a
// panic, a timeout or SIGKILL included, the kernel stops the server. Main, called from TestMain,
// stops it cleanly after the tests and removes its directory; directories left by binaries that
// did not (or died) are removed by the next start.
//
// Own gives a test a server of its own instead, which it may stop and start again on the same data
// and address, to see what its code does while the database restarts.
//
// initdb and postgres refuse to run as root: as root (CI) they are run as the postgres system
// user, which Debian's package creates, and the directory is given to it.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// NotInstalled is the failure when no PostgreSQL binaries are found.
const NotInstalled = "PostgreSQL not installed: apt-get install -y postgresql (scripts/test.sh does it)"

const (
	dirPrefix    = "hotline-pgtest-"
	ownerFile    = "owner.pid" // the pid of the test binary that started the server
	startTimeout = 60 * time.Second
	stopTimeout  = 30 * time.Second
)

// debianBins are where Debian's postgresql packages put initdb and postgres.
var debianBins = "/usr/lib/postgresql/*/bin"

var (
	mu     sync.Mutex
	srv    *server
	srvErr error // the first start's failure, given to every later call
)

// server is one postgres: its directory, and the process while it runs.
type server struct {
	dir    string // the temporary directory: data/, the socket, postgres.log
	bin    string // the directory of initdb and postgres
	cred   *syscall.Credential
	cmd    *exec.Cmd     // nil before the first run
	exited chan struct{} // closed when cmd has exited
}

// Server returns the URL of a new, empty database on this test binary's PostgreSQL server,
// starting the server on first use. The database is dropped when t ends. It fails t, never skips
// it, when PostgreSQL is not installed or does not start.
func Server(t testing.TB) (url string) {
	t.Helper()
	s, err := get()
	if err != nil {
		t.Fatal(err)
	}
	name := "t_" + randomHex()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := s.admin(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		if err := s.admin(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return s.url(name)
}

// Main runs the tests, then stops the server (if a test started it) and removes its directory, and
// returns the exit code for os.Exit:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	mu.Lock()
	defer mu.Unlock()
	if srv != nil {
		if err := srv.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
			if code == 0 {
				code = 1
			}
		}
		srv = nil
	}
	return code
}

func get() (*server, error) {
	mu.Lock()
	defer mu.Unlock()
	if srv == nil && srvErr == nil {
		srv, srvErr = start()
	}
	return srv, srvErr
}

// url is the URL of database name: the superuser postgres over the unix socket.
func (s *server) url(name string) string {
	u := url.URL{Scheme: "postgres", User: url.User("postgres"), Path: "/" + name,
		RawQuery: url.Values{"host": {s.dir}, "sslmode": {"disable"}}.Encode()}
	return u.String()
}

// admin runs one statement in the postgres database.
func (s *server) admin(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, s.url("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

// binDir finds the directory holding initdb and postgres: on PATH, else the newest of Debian's
// /usr/lib/postgresql/*/bin.
func binDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob(debianBins)
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	return "", errors.New(NotInstalled)
}

// version is the major version in /usr/lib/postgresql/N/bin.
func version(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

// start runs initdb and postgres and waits until the server takes connections.
func start() (_ *server, err error) {
	s, err := initServer()
	if err != nil {
		return nil, err
	}
	if err := s.run(); err != nil {
		if serr := s.stop(); serr != nil {
			err = errors.Join(err, serr)
		}
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	return s, nil
}

// initServer makes the server's directory and runs initdb in it.
func initServer() (_ *server, err error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	root := os.Geteuid() == 0
	removeStale()
	dir, err := os.MkdirTemp(baseDir(root), dirPrefix)
	if err != nil {
		return nil, err
	}
	s := &server{dir: dir, bin: bin}
	defer func() {
		if err != nil {
			err = fmt.Errorf("pgtest: %w", err)
			os.RemoveAll(dir)
		}
	}()
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return nil, err
	}
	if root {
		if s.cred, err = postgresUser(); err != nil {
			return nil, err
		}
		if err := os.Chown(dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return nil, err
		}
	}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", filepath.Join(dir, "data"), "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync")
	initdb.Dir = dir
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	return s, nil
}

// run starts postgres on the server's data and waits until it takes connections. On failure,
// s.cmd is nil when postgres did not start; else the caller stops it.
func (s *server) run() error {
	logPath := filepath.Join(s.dir, "postgres.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close() // postgres has its own copy
	s.exited = make(chan struct{})
	s.cmd = exec.Command(filepath.Join(s.bin, "postgres"), "-D", filepath.Join(s.dir, "data"), "-k", s.dir,
		"-c", "listen_addresses=",
		"-c", "max_connections=300",
		// Commits do not wait for the WAL to reach the disk: a test database need not survive a
		// power cut. fsync stays on, so that a connection that sets synchronous_commit=on (a
		// benchmark of durable writes) gets commits as durable as a production server's.
		"-c", "synchronous_commit=off",
	)
	s.cmd.Dir = s.dir
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Pdeathsig: syscall.SIGQUIT}
	started := make(chan error, 1)
	cmd, exited := s.cmd, s.exited
	go func() {
		// The parent-death signal is sent when the thread that started the process ends, not the
		// process: keep this thread for as long as the server runs. (Returning locked ends it.)
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		cmd.Wait()
		close(exited)
	}()
	if err := <-started; err != nil {
		s.cmd = nil
		return fmt.Errorf("postgres: %w", err)
	}

	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, cerr := pgx.Connect(ctx, s.url("postgres"))
		cancel()
		if cerr == nil {
			conn.Close(context.Background())
			return nil
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("postgres exited: %v\n%s", cmd.ProcessState, log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("postgres did not take connections within %v: %v\n%s", startTimeout, cerr, log)
		}
	}
}

// postgresUser is the credential of the postgres system user.
func postgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, and PostgreSQL refuses to: %w (apt-get install -y postgresql creates the user)", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, err
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// stop shuts postgres down (halt) and removes the directory.
func (s *server) stop() error {
	if err := s.halt(); err != nil {
		return fmt.Errorf("%w; left %s", err, s.dir)
	}
	return os.RemoveAll(s.dir)
}

// halt shuts postgres down, fast, then immediate, then SIGKILL, and waits for it to exit; its
// data stays. A server not running is left as it is.
func (s *server) halt() error {
	if s.cmd == nil {
		return nil
	}
	for _, sig := range []os.Signal{syscall.SIGINT, syscall.SIGQUIT, syscall.SIGKILL} {
		s.cmd.Process.Signal(sig)
		select {
		case <-s.exited:
		case <-time.After(stopTimeout):
			continue
		}
		break
	}
	select {
	case <-s.exited:
	default:
		return fmt.Errorf("postgres (pid %d) did not stop", s.cmd.Process.Pid)
	}
	return nil
}

// baseDir is where the server's directory goes: the temporary directory, unless the socket's
// path would be too long there (a unix socket's path has at most 107 bytes) or, as root, the
// postgres user could not reach it; then /tmp.
func baseDir(root bool) string {
	dir := os.TempDir()
	if len(dir) > 60 {
		return "/tmp"
	}
	if root {
		for d := dir; ; d = filepath.Dir(d) {
			if fi, err := os.Stat(d); err != nil || fi.Mode().Perm()&0o001 == 0 { // others cannot search it
				return "/tmp"
			}
			if d == filepath.Dir(d) {
				break
			}
		}
	}
	return dir
}

// removeStale removes the directories of servers whose test binary is gone (it died, or had no
// TestMain calling Main). Their postgres died with the binary.
func removeStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	if os.TempDir() != "/tmp" {
		more, _ := filepath.Glob(filepath.Join("/tmp", dirPrefix+"*"))
		dirs = append(dirs, more...)
	}
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue // being set up, or not ours
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || syscall.Kill(pid, 0) != syscall.ESRCH {
			continue
		}
		if pm, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid")); err == nil {
			first, _, _ := strings.Cut(string(pm), "\n")
			if p, err := strconv.Atoi(first); err == nil && p > 0 && syscall.Kill(p, 0) != syscall.ESRCH {
				continue // its server still runs
			}
		}
		os.RemoveAll(dir)
	}
}

func randomHex() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}
