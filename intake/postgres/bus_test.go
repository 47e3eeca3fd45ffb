package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// listener is one node listening on the bus.
type listener struct {
	got  chan string
	done chan error
}

func listen(t *testing.T, b *Bus) (*listener, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	l := &listener{got: make(chan string, 100), done: make(chan error, 1)}
	go func() { l.done <- b.Listen(ctx, nil, func(p []byte) { l.got <- string(p) }) }()
	t.Cleanup(cancel)
	return l, cancel
}

// next returns the next payload that is not a probe.
func (l *listener) next(t *testing.T) string {
	t.Helper()
	for {
		select {
		case p := <-l.got:
			if !strings.HasPrefix(p, "probe") {
				return p
			}
		case err := <-l.done:
			t.Fatalf("the listener stopped: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("no payload within 10 s")
		}
	}
}

// ready publishes probes until every listener has heard one: from then on nothing is missed.
func ready(t *testing.T, b *Bus, ls ...*listener) {
	t.Helper()
	heard := make([]bool, len(ls))
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		if err := b.Publish(context.Background(), []byte(fmt.Sprintf("probe %d", i))); err != nil {
			t.Fatal(err)
		}
		all := true
		for j, l := range ls {
			select {
			case p := <-l.got:
				heard[j] = heard[j] || strings.HasPrefix(p, "probe")
			case <-time.After(20 * time.Millisecond):
			}
			all = all && heard[j]
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the listeners never heard a probe")
		}
	}
}

// TestBusBetweenNodes: what one node publishes, short or past a notification's size, reaches
// every node in order, the publisher included.
func TestBusBetweenNodes(t *testing.T) {
	ns := nodes(t, 2)
	a, b := ns[0].Bus(), ns[1].Bus()
	la, _ := listen(t, a)
	lb, _ := listen(t, b)
	ready(t, a, la, lb)

	long := `{"to":"resident","frame":"` + strings.Repeat("低保申请需要身份证户口簿", 800) + `"}` // ~29 KB
	sent := []string{`{"to":"state"}`, long, `{"to":"operators","frame":{"type":"typing"}}`, "单引号'和反斜杠\\"}
	for i, p := range sent {
		pub := a
		if i%2 == 1 {
			pub = b
		}
		if err := pub.Publish(context.Background(), []byte(p)); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	for name, l := range map[string]*listener{"a": la, "b": lb} {
		for i, want := range sent {
			if got := l.next(t); got != want {
				t.Errorf("node %s, payload %d: got %.60q…, want %.60q…", name, i, got, want)
			}
		}
	}
}

func TestBusListenEnds(t *testing.T) {
	s, _ := openTest(t)
	l, cancel := listen(t, s.Bus())
	ready(t, s.Bus(), l)
	cancel()
	select {
	case err := <-l.done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Listen after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Listen did not return after its context ended")
	}
	s.Close()
	if err := s.Bus().Publish(context.Background(), []byte("x")); err == nil {
		t.Error("Publish on a closed store succeeded")
	}
}

// TestBusListening: Listen calls listening once its LISTEN holds, and from then on misses
// nothing: the first payload published after it arrives, with no probe before it.
func TestBusListening(t *testing.T) {
	s, _ := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	listening := make(chan struct{})
	got := make(chan string, 10)
	done := make(chan error, 1)
	go func() { done <- s.Bus().Listen(ctx, func() { close(listening) }, func(p []byte) { got <- string(p) }) }()
	select {
	case <-listening:
	case err := <-done:
		t.Fatalf("Listen returned before listening: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("listening was not called within 10 s")
	}
	if err := s.Bus().Publish(context.Background(), []byte("first")); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if p != "first" {
			t.Errorf("got %q; want the first payload published after listening", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the payload published after listening never arrived")
	}
}
