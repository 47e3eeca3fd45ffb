package sqlite

import (
	"context"
	"sync"

	"github.com/bayannur/hotline/intake"
)

// convCache keeps the conversations being talked in, so that a resident's message does not read
// its conversation's row again (every message asks who holds the chat first). It is exact because
// this store is the only writer of the conversations in its file (a single node): every write
// that changes a conversation tells the cache what it changed, and the writer applies those
// changes once their transaction has committed, in commit order (writer.after); a failed write's
// are dropped with it. A conversation is kept once it has been read or created (at a resident's
// first message: an idle connection has none stored, and costs nothing here).
//
// A read that misses leaves a placeholder while it reads the row; a change that arrives
// meanwhile removes the placeholder, and the read then keeps nothing, for what it read may be
// older than the change. The changes are idempotent (they set values), so a change applied to a
// row read after its commit does no harm.
type convCache struct {
	mu  sync.Mutex
	m   map[string]*convEntry
	max int
}

// convEntry is a kept conversation, or a placeholder (c nil) while its row is being read.
type convEntry struct{ c *intake.Conversation }

// maxCachedConvs bounds the cache: past it, entries are dropped, whichever they are, to three
// quarters of it (a dropped conversation is read again at its next message).
const maxCachedConvs = 1 << 14

func newConvCache(max int) *convCache {
	return &convCache{m: map[string]*convEntry{}, max: max}
}

// add keeps c, just created.
func (k *convCache) add(c *intake.Conversation) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.makeRoom()
	kept := *c
	k.m[c.ID] = &convEntry{c: &kept}
}

// makeRoom drops entries, whichever they are, once the cache is full.
func (k *convCache) makeRoom() {
	if len(k.m) < k.max {
		return
	}
	for key := range k.m {
		if len(k.m) <= k.max*3/4 {
			break
		}
		delete(k.m, key)
	}
}

// get returns a copy of conversation id when it is kept; else nil and the placeholder to fill.
func (k *convCache) get(id string) (*intake.Conversation, *convEntry) {
	k.mu.Lock()
	defer k.mu.Unlock()
	e := k.m[id]
	if e != nil && e.c != nil {
		c := *e.c
		return &c, nil
	}
	if e == nil {
		k.makeRoom()
		e = &convEntry{}
		k.m[id] = e
	}
	return nil, e
}

// fill keeps c, just read, for id if nothing has changed id since e was placed; nil c (the read
// failed) removes e.
func (k *convCache) fill(id string, e *convEntry, c *intake.Conversation) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m[id] != e || e.c != nil {
		return
	}
	if c == nil {
		delete(k.m, id)
		return
	}
	kept := *c
	e.c = &kept
}

// apply changes the kept conversation id, committed: a placeholder is removed instead.
func (k *convCache) apply(id string, change func(*intake.Conversation)) {
	k.mu.Lock()
	defer k.mu.Unlock()
	e := k.m[id]
	switch {
	case e == nil:
	case e.c == nil:
		delete(k.m, id)
	default:
		change(e.c)
	}
}

// forget drops id, kept or placeholder.
func (k *convCache) forget(id string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.m, id)
}

// Conversation returns a conversation by id, or intake.ErrNoConversation: from the cache when it
// is kept, else read and kept.
func (s *Store) Conversation(ctx context.Context, id string) (*intake.Conversation, error) {
	c, e := s.convs.get(id)
	if c != nil {
		return c, nil
	}
	c, err := s.Shared.Conversation(ctx, id)
	s.convs.fill(id, e, c)
	return c, err
}

// HandoffOf returns conversation id's handoff state, from the cache when the conversation is kept.
func (s *Store) HandoffOf(ctx context.Context, id string) (string, error) {
	c, err := s.Conversation(ctx, id)
	if err != nil {
		return "", err
	}
	return c.Handoff, nil
}

// created is sqlstore.Shared's Created: c is kept once its write has committed.
func (s *Store) created(ctx context.Context, c *intake.Conversation) {
	if w, _ := ctx.Value(writerKey{}).(*writer); w != nil {
		w.after(func() { s.convs.add(c) })
	}
}

// changed is sqlstore.Shared's Changed: change is applied to the cache once the write running in
// ctx, the writer's, has committed.
func (s *Store) changed(ctx context.Context, id string, change func(*intake.Conversation)) {
	w, _ := ctx.Value(writerKey{}).(*writer)
	if w == nil { // not in the writer's transaction (never so): forget it instead
		s.convs.forget(id)
		return
	}
	w.after(func() { s.convs.apply(id, change) })
}
