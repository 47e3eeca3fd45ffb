package web_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/web"
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

func (b *memBus) Listen(ctx context.Context, listening func(), deliver func([]byte)) error {
	b.mu.Lock()
	id := b.next
	b.next++
	b.listeners[id] = deliver
	b.mu.Unlock()
	listening()
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
	nodeA, nodeB := twoNodes(t)

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

// twoNodes starts two servers on one database and one bus, both listening.
func twoNodes(t *testing.T) (a, b *chatEnv) {
	t.Helper()
	bus := newMemBus()
	db := filepath.Join(t.TempDir(), "hotline.db")
	a = newChatEnv(t, chatOptions{path: db, bus: bus})
	b = newChatEnv(t, chatOptions{path: db, bus: bus})
	bus.waitListeners(t, 2)
	return a, b
}

// failBus can neither publish nor listen.
type failBus struct{}

func (failBus) Publish(context.Context, []byte) error { return context.DeadlineExceeded }
func (failBus) Listen(ctx context.Context, _ func(), _ func([]byte)) error {
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

// downBus is a memBus whose Publish fails while down is set: the link between nodes is cut.
type downBus struct {
	*memBus
	down atomic.Bool
}

func (b *downBus) Publish(ctx context.Context, payload []byte) error {
	if b.down.Load() {
		return errors.New("bus down")
	}
	return b.memBus.Publish(ctx, payload)
}

// TestBusDownOperatorTold: while the bus cannot publish, an operator's message for a resident on
// another node is stored and answered with its id, but the console also gets an error frame
// not_delivered, never an ok alone; once the bus is back, messages flow again.
func TestBusDownOperatorTold(t *testing.T) {
	bus := &downBus{memBus: newMemBus()}
	db := filepath.Join(t.TempDir(), "hotline.db")
	nodeA := newChatEnv(t, chatOptions{path: db, bus: bus})
	nodeB := newChatEnv(t, chatOptions{path: db, bus: bus})
	bus.waitListeners(t, 2)

	op := nodeA.console("zhang")
	c := nodeB.dial()
	c.hello("", "wy-jinqiao")
	conv := waiting(t, c, op)
	if r := op.do(map[string]string{"type": "take", "conversation": conv}); !r.OK {
		t.Fatalf("take: %+v", r)
	}
	if f := c.readUntil("handoff", true); f.State != intake.HandoffLive {
		t.Fatalf("resident on node B got %s, want live", f)
	}

	bus.down.Store(true)
	id := op.send(map[string]string{"type": "say", "conversation": conv, "text": "请稍等，我查一下"})
	res := op.want("result", func(f opFrame) bool { return f.ReplyTo == id })
	if !res.OK || res.ID == "" {
		t.Fatalf("say with the bus down: %+v; want ok with the stored message's id", res)
	}
	if f := op.want("error", func(f opFrame) bool { return f.ReplyTo == id }); f.Code != "not_delivered" || f.Message == "" {
		t.Fatalf("console got %+v; want an error not_delivered for request %s", f, id)
	}
	turns, err := nodeA.store.Turns(t.Context(), conv, 50)
	if err != nil {
		t.Fatal(err)
	}
	if last := turns[len(turns)-1]; last.From != "operator" || last.Text != "请稍等，我查一下" {
		t.Errorf("last stored turn %+v; want the operator's message, stored though not delivered", last)
	}

	bus.down.Store(false)
	id = op.send(map[string]string{"type": "say", "conversation": conv, "text": "查到了"})
	if r := op.want("result", func(f opFrame) bool { return f.ReplyTo == id }); !r.OK {
		t.Fatalf("say with the bus back: %+v", r)
	}
	if f := c.readUntil("agent", true); f.Text != "查到了" {
		t.Fatalf("resident on node B got %s; want the message sent once the bus is back", f)
	}
}

// scriptBus is a Bus whose Listens go by a script: "fail" fails before listening, "listen" listens
// and then fails (the database restarted). After the script, Listen listens until ctx ends.
type scriptBus struct {
	script []string
	calls  atomic.Int32
	done   chan struct{} // closed when the script has been played
}

func (b *scriptBus) Publish(context.Context, []byte) error { return nil }

func (b *scriptBus) Listen(ctx context.Context, listening func(), _ func([]byte)) error {
	n := int(b.calls.Add(1)) - 1
	if n >= len(b.script) {
		if n == len(b.script) {
			close(b.done)
		}
		listening()
		<-ctx.Done()
		return ctx.Err()
	}
	if b.script[n] == "listen" {
		listening()
		return errors.New("connection closed: the database restarted")
	}
	return errors.New("connection refused")
}

// TestRunBusRetryResets: the delay before listening again grows while listening fails, and starts
// over once a Listen has listened, so that a node is deaf for moments after each of the database's
// restarts, not for ever longer (4, 8, 16, then 30 s for every restart).
func TestRunBusRetryResets(t *testing.T) {
	bus := &scriptBus{done: make(chan struct{}),
		script: []string{"fail", "fail", "fail", "fail", "fail", "listen", "fail", "fail", "listen", "listen", "fail"}}
	srv := web.New(web.Config{Bus: bus})
	var mu sync.Mutex
	var waits []time.Duration
	srv.SetBusAfter(func(d time.Duration) <-chan time.Time {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
		ch := make(chan time.Time, 1)
		ch <- time.Now()
		return ch
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); srv.RunBus(ctx) }()
	select {
	case <-bus.done:
	case <-time.After(10 * time.Second):
		t.Fatal("RunBus did not play the script within 10 s")
	}
	cancel()
	<-done
	ms := time.Millisecond
	want := []time.Duration{250 * ms, 500 * ms, time.Second, time.Second, time.Second, // failing: growing to the cap
		250 * ms, 500 * ms, time.Second, // listened, so from the start again, then growing
		250 * ms, 250 * ms, 500 * ms}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(waits, want) {
		t.Errorf("RunBus waited %v; want %v", waits, want)
	}
}

// TestQueueCountsOtherNodesConsoles: a resident waiting on node B while the only console is on
// node A is told an operator is on duty (not "nobody"), and that nobody is once it closes — the
// nodes announce their consoles to each other on the bus.
func TestQueueCountsOtherNodesConsoles(t *testing.T) {
	nodeA, nodeB := twoNodes(t)

	op := nodeA.console("zhang")
	c := nodeB.dial()
	c.hello("", "wy-jinqiao")
	waiting(t, c, op)
	for {
		f := c.readUntil("queue", false)
		if f.Online == 1 && f.Text == "" {
			break // node B counts node A's console
		}
		if f.Online != 0 {
			t.Fatalf("the queue frame on node B: %s; want one operator online", f)
		}
		// A frame sent before node A's announcement reached node B: the next one counts it.
	}
	op.ws.Close()
	f := c.readUntil("queue", false)
	if f.Online != 0 || !strings.Contains(f.Text, "没有工作人员在线") {
		t.Fatalf("after node A's only console closed: %s; want nobody on duty", f)
	}
}
