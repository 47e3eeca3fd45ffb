package sqlite

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/intake/storetest"
)

// crashDBEnv, when set, makes TestCrashChild create tickets in the database it names.
const crashDBEnv = "HOTLINE_SQLITE_CRASH_DB"

// TestCrash runs TestCrashChild in a child process, kills it with SIGKILL once it has
// acknowledged enough tickets, and checks that every acknowledged ticket is in the database.
// (SIGKILL loses what only the process held; a power cut, which also loses the page cache, is
// what synchronous=FULL is for and cannot be tested here.)
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process")
	}
	const wantAcks = 1000
	path := filepath.Join(t.TempDir(), "crash.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDBEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()

	acks := map[string]string{} // idempotency key → number
	ack := func(line string) {
		key, number, ok := strings.Cut(line, " ")
		if !ok || !strings.HasPrefix(key, "k-") {
			return // the test framework's own output
		}
		if !numberPattern.MatchString(number) {
			t.Errorf("child acknowledged %q: not a ticket number", line)
		}
		acks[key] = number
	}
	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	for len(acks) < wantAcks {
		select {
		case line, ok := <-lines:
			if !ok {
				cmd.Wait()
				t.Fatalf("child stopped after %d acknowledgements:\n%s", len(acks), stderr.String())
			}
			ack(line)
		case <-deadline.C:
			cmd.Process.Kill()
			for range lines {
			}
			cmd.Wait()
			t.Fatalf("only %d acknowledgements in 60 s:\n%s", len(acks), stderr.String())
		}
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no deferred functions, no Close
		t.Fatal(err)
	}
	for line := range lines { // what was acknowledged before the kill but not yet read
		ack(line)
	}
	cmd.Wait()
	t.Logf("%d tickets acknowledged before SIGKILL", len(acks))

	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	byNumber := map[string]string{}
	for key, number := range acks {
		if other, dup := byNumber[number]; dup {
			t.Errorf("number %s acknowledged for both %s and %s", number, other, key)
		}
		byNumber[number] = key
		// The same key again must find the acknowledged ticket, and write nothing.
		st, created, err := s.Create(ctx, storetest.Ticket(time.Now()), nil, key)
		if err != nil || created || st.Number != number {
			t.Errorf("%s: acknowledged as %s; after the crash created %v, number %v, %v", key, number, created, st, err)
		}
		if _, err := s.Get(ctx, number); err != nil {
			t.Errorf("%s: %v", number, err)
		}
	}
	var tickets, distinct, keys, orphans int
	query(t, s, "SELECT count(*), count(DISTINCT number) FROM tickets", nil, &tickets, &distinct)
	query(t, s, "SELECT count(*), count(*) FILTER (WHERE number NOT IN (SELECT number FROM tickets)) FROM idempotency", nil, &keys, &orphans)
	if tickets != distinct || tickets < len(acks) || keys != tickets || orphans != 0 {
		t.Errorf("%d tickets, %d distinct numbers, %d keys (%d without a ticket), %d acknowledged", tickets, distinct, keys, orphans, len(acks))
	}
	var check string
	query(t, s, "PRAGMA integrity_check", nil, &check)
	if check != "ok" {
		t.Errorf("integrity_check: %s", check)
	}
}

// TestCrashChild is the process TestCrash kills: 16 goroutines create tickets with the keys k-0,
// k-1, … and print "key number" as soon as each Create returns.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashDBEnv)
	if path == "" {
		t.Skip("run by TestCrash")
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var next atomic.Int64
	var out sync.Mutex
	stop := time.Now().Add(2 * time.Minute) // should TestCrash die without killing us
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for time.Now().Before(stop) {
				key := fmt.Sprintf("k-%d", next.Add(1)-1)
				now := time.Now()
				st, _, err := s.Create(ctx, storetest.Ticket(now), []intake.Event{{At: now, Actor: "resident", Action: intake.ActCreate, To: intake.Received}}, key)
				if err != nil {
					t.Error(err)
					return
				}
				out.Lock()
				_, err = fmt.Fprintf(os.Stdout, "%s %s\n", key, st.Number) // one write(2), unbuffered
				out.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	s.Close()
}
