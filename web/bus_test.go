package web_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
)

// memBus is a Bus between servers in one process: every payload published reaches every
// listener, in order.
type memBus struct {
	mu        sync.Mutex
	listeners map[int]func([]byte)
	next      int
	joined    chan struct{} // a value each time a listener joins
}

func newMemBus() *memBus {
	return &memBus{listeners: map[int]func([]byte){}, joined: make(chan struct{}, 16)}
}

func (b *memBus) Publish(_ context.Context, payload []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, deliver := range b.listeners {
		deliver(append([]byte(nil), payload...))
	}
	return nil
}

func (b *memBus) Listen(ctx context.Context, deliver func([]byte)) error {
	b.mu.Lock()
	id := b.next
	b.next++
	b.listeners[id] = deliver
	b.mu.Unlock()
	b.joined <- struct{}{}
	<-ctx.Done()
	b.mu.Lock()
	delete(b.listeners, id)
	b.mu.Unlock()
	return ctx.Err()
}

// waitListeners waits until n listeners have joined.
func (b *memBus) waitListeners(t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case <-b.joined:
		case <-time.After(chatReadWait):
			t.Fatal("a server never listened on the bus")
		}
	}
}

// TestTwoNodesShareTheDesk: a resident connected to one node and an operator's console on
// another, over one database and one bus, work a handoff as if on one node.
func TestTwoNodesShareTheDesk(t *testing.T) {
	bus := newMemBus()
	db := filepath.Join(t.TempDir(), "hotline.db")
	nodeA := newChatEnv(t, chatOptions{path: db, bus: bus})
	nodeB := newChatEnv(t, chatOptions{path: db, bus: bus})
	bus.waitListeners(t, 2)

	op := nodeA.console("zhang")
	c := nodeB.dial()
	c.hello("", "wy-jinqiao")
	conv := waiting(t, c, op) // the alert and the state reached node A's console

	if r := op.do(map[string]string{"type": "take", "conversation": conv}); !r.OK {
		t.Fatalf("take on node A: %+v", r)
	}
	if f := c.readUntil("handoff", true); f.State != intake.HandoffLive {
		t.Fatalf("resident on node B got %s, want live", f)
	}
	say := op.do(map[string]string{"type": "say", "conversation": conv, "text": "您好，我是接线员"})
	if f := c.readUntil("agent", true); f.Text != "您好，我是接线员" || f.ID != say.ID {
		t.Fatalf("resident on node B got %s", f)
	}
	c.send(map[string]string{"type": "ask", "id": "m1", "text": "俺家暖气不热"})
	op.want("turn", func(f opFrame) bool { return f.Conversation == conv && f.Turn.Text == "俺家暖气不热" })
	c.send(map[string]string{"type": "ack", "id": say.ID})
	op.want("delivered", func(f opFrame) bool { return f.Conversation == conv && f.ID == say.ID })

	// A console on node B sees the chat held by node A's operator.
	opB := nodeB.console("li")
	if r := opB.do(map[string]string{"type": "take", "conversation": conv}); r.OK {
		t.Fatal("a second operator on node B took a chat node A's operator holds")
	}
	if r := op.do(map[string]string{"type": "release", "conversation": conv}); !r.OK {
		t.Fatalf("release: %+v", r)
	}
	if f := c.readUntil("handoff", true); !strings.Contains(f.State, "ended") {
		t.Fatalf("resident on node B got %s, want the end of the live chat", f)
	}
	opB.want("state", func(f opFrame) bool {
		for _, ch := range f.Chats {
			if ch.ID == conv {
				return false
			}
		}
		return true
	})
}

// failBus can neither publish nor listen.
type failBus struct{}

func (failBus) Publish(context.Context, []byte) error { return context.DeadlineExceeded }
func (failBus) Listen(ctx context.Context, _ func([]byte)) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestBusDownStillServesThisNode: when the bus fails, a node's own residents and consoles still
// reach each other.
func TestBusDownStillServesThisNode(t *testing.T) {
	e := newChatEnv(t, chatOptions{bus: failBus{}})
	op := e.console("zhang")
	c := e.dial()
	c.hello("", "wy-jinqiao")
	conv := waiting(t, c, op)
	if r := op.do(map[string]string{"type": "take", "conversation": conv}); !r.OK {
		t.Fatalf("take: %+v", r)
	}
	if f := c.readUntil("handoff", true); f.State != intake.HandoffLive {
		t.Fatalf("resident got %s, want live", f)
	}
	if !strings.Contains(e.log.all(), "desk: publishing") {
		t.Error("a failed publish was not logged")
	}
}
