package postgres

import (
	"context"
	"maps"
	"slices"
	"sync/atomic"
	"time"
)

// Ticket numbers without a lock across nodes.
//
// A ticket's number is YYYYMMDD-NNNN, NNNN counting the day's tickets from 1. The day's counter
// row (day_counters) is not bumped in the ticket's transaction: that held the row locked until
// the ticket's commit, so every creation of the day, on every node, waited for the one before it
// to be durable, and two nodes created no more tickets a second than one. Instead each store (each
// node) reserves a block of the day's numbers in a short transaction of its own — the row is
// locked for that one statement — and gives them out from memory, so that creations of one node
// and of several go on at once without meeting.
//
// The block is sized to what the node has been creating: about a second of its recent rate,
// between 1 and maxBlock numbers. A node creating a ticket now and then reserves one number at a
// time, so a quiet day is numbered without gaps, in the order of creation, whichever node created
// them (at the cost of one more short transaction per ticket, when there is time for it). A busy
// node reserves up to maxBlock at once. What holds:
//
//   - a number is given to one ticket only, across nodes (the counter only grows, each block is
//     the counter's own range, and the number is the tickets table's primary key besides: a
//     number found taken, should the counter be set back by hand, makes the node drop its block
//     and the creation take another number);
//   - a node gives its numbers out in increasing order (a number given back, below, first), but
//     tickets created at once on two nodes are numbered from their nodes' blocks: 0101 may be
//     created before 0042;
//   - numbers may be skipped: what is left of a block when its node stops or its day ends, and a
//     number whose creation failed in a way that leaves it unknown whether the ticket was stored
//     (the connection lost at the commit). A creation that certainly stored nothing (the key was
//     already used, the database refused the statement) gives its number back, to the node's next
//     creation.
//
// Numbers reserved on one PostgreSQL server stay durable with it: the block's statement commits
// with the server's synchronous_commit, before any of its numbers is used.

// maxBlock is the most numbers a node reserves at once: at a thousand creations a second, a block
// a second. It bounds the numbers a stopped node skips.
const maxBlock = 1000

// blockSpan is how long a block should last at the node's recent rate of creation.
const blockSpan = time.Second

// numbers gives out one store's ticket numbers from blocks it reserves by reserve.
type numbers struct {
	// reserve adds n to day's counter and returns its new value: the block is last-n+1 … last.
	reserve func(ctx context.Context, day string, n int64) (last int64, err error)
	now     func() time.Time
	// minBlock, when above 1, is the least a block holds (tests).
	minBlock int64

	// lock is held to read or change what follows, and while a block is reserved: a caller
	// waiting for it may give up with its ctx.
	lock    chan struct{}
	waiting atomic.Int64 // callers waiting for lock
	days    map[string]*dayNumbers
	given   int64     // numbers given out since the last block was reserved
	since   time.Time // when the last block was reserved
}

// dayNumbers are a node's numbers of one day in hand.
type dayNumbers struct {
	next, last int64   // the block's next number to give and its last; next > last: used up
	back       []int64 // numbers given back, ascending, given out first
}

func newNumbers(reserve func(ctx context.Context, day string, n int64) (int64, error)) *numbers {
	return &numbers{reserve: reserve, now: time.Now, lock: make(chan struct{}, 1), days: map[string]*dayNumbers{}}
}

// acquire takes the lock, unless ctx ends first.
func (n *numbers) acquire(ctx context.Context) error {
	n.waiting.Add(1)
	defer n.waiting.Add(-1)
	select {
	case n.lock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (n *numbers) release() { <-n.lock }

// take returns a number of day (YYYYMMDD) that no ticket has, reserving a block when the node
// has none left.
func (n *numbers) take(ctx context.Context, day string) (int64, error) {
	if err := n.acquire(ctx); err != nil {
		return 0, err
	}
	defer n.release()
	d := n.days[day]
	if d == nil {
		d = &dayNumbers{next: 1}
		n.days[day] = d
	}
	if len(d.back) > 0 {
		v := d.back[0]
		d.back = d.back[1:]
		return v, nil
	}
	if d.next > d.last {
		size := n.blockSize()
		last, err := n.reserve(ctx, day, size)
		if err != nil {
			return 0, err
		}
		d.next, d.last = last-size+1, last
		n.given, n.since = 0, n.now()
		n.prune()
	}
	v := d.next
	d.next++
	n.given++
	return v, nil
}

// keptDays is how many days' numbers a node keeps in hand at most: today's, and a few earlier
// days' for tickets created late (imported, or in flight at midnight).
const keptDays = 8

// prune drops the days whose numbers are used up, and the earliest days beyond keptDays: their
// numbers left are skipped.
func (n *numbers) prune() {
	for day, d := range n.days {
		if d.next > d.last && len(d.back) == 0 {
			delete(n.days, day)
		}
	}
	if len(n.days) > keptDays {
		days := slices.Sorted(maps.Keys(n.days))
		for _, day := range days[:len(days)-keptDays] {
			delete(n.days, day)
		}
	}
}

// blockSize is the size of the next block: about blockSpan of the numbers given out since the
// last one, at least one for each caller waiting now, within minBlock … maxBlock.
func (n *numbers) blockSize() int64 {
	size := int64(1)
	if !n.since.IsZero() {
		elapsed := max(n.now().Sub(n.since), time.Millisecond)
		size = int64(float64(n.given) * float64(blockSpan) / float64(elapsed))
	}
	size = max(size, 1+n.waiting.Load(), n.minBlock)
	return min(size, maxBlock)
}

// giveBack returns a number taken for a ticket that was certainly not stored: the node's next
// ticket of that day gets it.
func (n *numbers) giveBack(day string, v int64) {
	n.acquire(context.Background())
	defer n.release()
	d := n.days[day]
	if d == nil {
		return // the day was left behind: its number is skipped
	}
	i, found := slices.BinarySearch(d.back, v)
	if !found {
		d.back = slices.Insert(d.back, i, v)
	}
	n.given = max(0, n.given-1)
}

// forget drops the numbers in hand of day: the next ticket of that day reserves a new block. A
// number found taken (the counter set back by hand, a database restored from an older backup)
// makes the node forget the rest of its block.
func (n *numbers) forget(day string) {
	n.acquire(context.Background())
	defer n.release()
	delete(n.days, day)
}
