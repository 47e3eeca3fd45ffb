package pgtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// Each call gives a new database, on a server that listens only on its unix socket.
func TestServer(t *testing.T) {
	a, b := Server(t), Server(t)
	if a == b {
		t.Fatalf("two calls gave the same database %s", a)
	}
	for _, url := range []string{a, b} {
		conn, err := pgx.Connect(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		var listen string
		var tables int
		err = conn.QueryRow(t.Context(), `SELECT current_setting('listen_addresses'),
			(SELECT count(*) FROM pg_tables WHERE schemaname = 'public')`).Scan(&listen, &tables)
		conn.Close(context.Background())
		if err != nil || listen != "" || tables != 0 {
			t.Errorf("%s: listen_addresses %q, %d tables, %v; want '', an empty database", url, listen, tables, err)
		}
	}
}

// A test's database is dropped when it ends.
func TestDatabaseDropped(t *testing.T) {
	var url string
	t.Run("user", func(t *testing.T) { url = Server(t) })
	conn, err := pgx.Connect(t.Context(), url)
	if err == nil {
		conn.Close(context.Background())
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" {
		t.Errorf("connecting after the test: %v; want invalid_catalog_name (3D000)", err)
	}
}

const childEnv = "PGTEST_CHILD"

// However the test binary ends, even by SIGKILL, its server ends with it, and the next start
// removes its directory.
func TestServerDiesWithTheBinary(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		Server(t)
		fmt.Printf("server %d %s\n", srv.cmd.Process.Pid, srv.dir)
		time.Sleep(time.Minute) // killed before
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestServerDiesWithTheBinary$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	var dir string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "server" {
			pid, _ = strconv.Atoi(f[1])
			dir = f[2]
			break
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if pid <= 0 {
		t.Fatal("the child did not start a server")
	}
	deadline := time.Now().Add(30 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("postgres (pid %d) outlived its test binary", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	removeStale()
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s left after its binary died and the next start: %v", dir, err)
	}
}

// alive reports whether process pid runs (a zombie does not).
func alive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z") && !strings.HasPrefix(rest, "X")
}

func TestNotInstalled(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	old := debianBins
	debianBins = filepath.Join(t.TempDir(), "*", "bin")
	defer func() { debianBins = old }()
	if _, err := binDir(); err == nil || err.Error() != NotInstalled {
		t.Errorf("binDir without PostgreSQL: %v; want %q", err, NotInstalled)
	}
}

// A test's own server stops and starts again on the same URL, with its data.
func TestOwn(t *testing.T) {
	in := Own(t)
	conn, err := pgx.Connect(t.Context(), in.URL())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(t.Context(), "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		in.Stop(t)
		if err := conn.Ping(t.Context()); err == nil {
			t.Fatalf("restart %d: the session survived Stop", i)
		}
		conn.Close(context.Background())
		if c, err := pgx.Connect(t.Context(), in.URL()); err == nil {
			c.Close(context.Background())
			t.Fatalf("restart %d: connected to a stopped server", i)
		}
		in.Start(t)
		if conn, err = pgx.Connect(t.Context(), in.URL()); err != nil {
			t.Fatalf("restart %d: %v", i, err)
		}
		var v int
		if err := conn.QueryRow(t.Context(), "SELECT v FROM kept").Scan(&v); err != nil || v != 42 {
			t.Fatalf("restart %d: kept row %d, %v; want 42", i, v, err)
		}
	}
	conn.Close(context.Background())
}
