package pgtest

import (
	"sync"
	"testing"
)

// Instance is a PostgreSQL server of one test's own, which the test may stop and start again, as
// an operations engineer restarts the database under running nodes. It keeps its data and its
// address (the same unix socket) across restarts, and is stopped and removed when the test ends.
type Instance struct {
	mu  sync.Mutex
	srv *server
	up  bool
}

// Own starts a private server for t: initdb and postgres, as Server's (a unix socket only,
// synchronous_commit off), never shared. It fails t, never skips it, when PostgreSQL is not
// installed or does not start.
func Own(t testing.TB) *Instance {
	t.Helper()
	s, err := initServer()
	if err != nil {
		t.Fatal(err)
	}
	in := &Instance{srv: s}
	t.Cleanup(func() {
		in.mu.Lock()
		defer in.mu.Unlock()
		if err := in.srv.stop(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	in.Start(t)
	return in
}

// URL is the URL of the server's postgres database, the same across restarts.
func (in *Instance) URL() string { return in.srv.url("postgres") }

// Stop shuts the server down (a fast shutdown: sessions are ended, as in a restart) and waits
// until it has exited. Its data stays for Start.
func (in *Instance) Stop(t testing.TB) {
	t.Helper()
	in.mu.Lock()
	defer in.mu.Unlock()
	if err := in.srv.halt(); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	in.up = false
}

// Start starts the server again on its data and address, and returns once it takes connections.
// It is a no-op on a running server.
func (in *Instance) Start(t testing.TB) {
	t.Helper()
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.up {
		return
	}
	if err := in.srv.run(); err != nil {
		if herr := in.srv.halt(); herr != nil {
			t.Errorf("pgtest: %v", herr)
		}
		t.Fatalf("pgtest: %v", err)
	}
	in.up = true
}
