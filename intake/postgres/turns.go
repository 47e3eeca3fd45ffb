package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/intake/internal/sqlstore"
)

// The turn writer. Each resident's message appends turns to its conversation; alone, that is a
// transaction of five round trips (BEGIN, the conversation's UPDATE, its last seq, the INSERT,
// COMMIT) on one of the pool's few connections, and a commit each. Here one goroutine takes the
// appends queued meanwhile (up to maxTurnBatch) and writes them in one transaction, their
// statements sent together (a pgx batch: one round trip), so that many connections' turns share
// one commit and a reply still goes out only once its turns are stored.
//
// Several nodes append to one conversation safely: each append's UPDATE takes the conversation's
// row first, and its turns are numbered from the conversation's last seq under that lock. A batch
// takes its rows in the order of their ids, as every node's batches do, so that two batches never
// wait on each other in a cycle. Should a batch fail (a deadline, a lost connection), each of its
// appends is written again alone, and gets its own outcome.

const (
	maxTurnBatch = 128
	turnQueueLen = 1024
	// turnBatchTime bounds a batch's transaction: it is not any one caller's to cancel.
	turnBatchTime = 30 * time.Second
)

// turnInsert appends one turn numbered after the conversation's last, when the conversation
// exists (else it inserts nothing and returns no row), and returns its number. Its arguments are
// the conversation's id, then a row of sqlstore.Append in sqlstore.Postgres.AppendColumns.
const turnInsert = `INSERT INTO turns (conversation_id, seq, at, at_ns, sender, text, agent, reply, attachment)
	SELECT $1, coalesce(max(seq), 0) + 1, $2::timestamptz, $3::smallint, $4::text, $5::text, $6::text, $7::jsonb, $8::text
	FROM turns WHERE conversation_id = $1
	HAVING EXISTS (SELECT 1 FROM conversations WHERE id = $1)
	RETURNING seq`

// turnAppend is an append waiting for the writer.
type turnAppend struct {
	ctx  context.Context
	a    *sqlstore.Append
	seqs []int
	done chan error
}

// turnWriter owns the queue of appends and the goroutine that writes them.
type turnWriter struct {
	s       *Store
	queue   chan *turnAppend
	stop    chan struct{}
	stopped chan struct{}
	batches atomic.Int64 // transactions that wrote a batch

	mu     sync.RWMutex // guards closed against the sends in flight
	closed bool
}

func newTurnWriter(s *Store) *turnWriter {
	w := &turnWriter{s: s, queue: make(chan *turnAppend, turnQueueLen), stop: make(chan struct{}), stopped: make(chan struct{})}
	go w.loop()
	return w
}

// append queues a and waits for its outcome: the seq of each of its rows. Once the writer has
// taken it, it waits for the outcome even if ctx ends, so that nil always means stored and an
// error nothing stored.
func (w *turnWriter) append(ctx context.Context, a *sqlstore.Append) ([]int, error) {
	if a.Update == "" || len(a.Rows) == 0 {
		return nil, fmt.Errorf("%w: an append without turns", intake.ErrInvalid)
	}
	t := &turnAppend{ctx: ctx, a: a, done: make(chan error, 1)}
	if err := w.enqueue(ctx, t); err != nil {
		return nil, err
	}
	if err := <-t.done; err != nil {
		return nil, err
	}
	return t.seqs, nil
}

var errClosed = errors.New("postgres: store is closed")

func (w *turnWriter) enqueue(ctx context.Context, t *turnAppend) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return errClosed
	}
	select {
	case w.queue <- t:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close stops the writer once the appends queued are written; again, it does nothing.
func (w *turnWriter) close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.stop)
	}
	w.mu.Unlock()
	<-w.stopped
}

func (w *turnWriter) loop() {
	defer close(w.stopped)
	batch := make([]*turnAppend, 0, maxTurnBatch)
	for {
		var first *turnAppend
		select {
		case first = <-w.queue:
		case <-w.stop:
			// Those that got in before the stop are written; later ones are refused.
			for {
				select {
				case t := <-w.queue:
					w.write([]*turnAppend{t})
				default:
					return
				}
			}
		}
		batch = append(batch[:0], first)
	fill:
		for len(batch) < maxTurnBatch {
			select {
			case t := <-w.queue:
				batch = append(batch, t)
			default:
				break fill
			}
		}
		w.write(batch)
		clear(batch)
	}
}

// write writes batch in one transaction, or, should that fail, each append alone.
func (w *turnWriter) write(batch []*turnAppend) {
	live := batch[:0:0]
	for _, t := range batch {
		if err := t.ctx.Err(); err != nil {
			t.done <- err // given up before it was started
			continue
		}
		live = append(live, t)
	}
	if len(live) == 0 {
		return
	}
	// Rows are locked in the order of their ids; one conversation's appends keep their order.
	slices.SortStableFunc(live, func(x, y *turnAppend) int { return cmp.Compare(x.a.ID, y.a.ID) })
	errs, err := w.together(live)
	var commit *commitError
	switch {
	case err == nil:
		w.batches.Add(1)
	case errors.As(err, &commit):
		// The commit itself failed: whether it took is not known, and writing the turns again
		// could store them twice. Each caller is told, as for a transaction of its own.
		for i := range errs {
			errs[i] = commit.err
		}
	default: // rolled back: each is written alone
		for i, t := range live {
			errs[i] = w.alone(t)
		}
	}
	for i, t := range live {
		t.done <- errs[i]
	}
}

// commitError is a batch's failed COMMIT.
type commitError struct{ err error }

func (e *commitError) Error() string { return "commit: " + e.err.Error() }

// together writes appends in one transaction and returns each one's outcome: nil, or
// intake.ErrNoConversation for one whose conversation does not exist (nothing of it written). An
// error of its own means nothing at all was written, but for a *commitError: not known.
func (w *turnWriter) together(appends []*turnAppend) ([]error, error) {
	ctx, cancel := context.WithTimeout(context.Background(), turnBatchTime)
	defer cancel()
	errs := make([]error, len(appends))
	written := false
	err := pgx.BeginFunc(ctx, w.s.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, t := range appends {
			b.Queue(sqlstore.Postgres.Rebind(t.a.Update), t.a.Args...)
			for _, row := range t.a.Rows {
				b.Queue(turnInsert, append([]any{t.a.ID}, row...)...)
			}
		}
		res := tx.SendBatch(ctx, b)
		for i, t := range appends {
			tag, err := res.Exec()
			if err != nil {
				res.Close()
				return err
			}
			found := tag.RowsAffected() == 1
			t.seqs = make([]int, len(t.a.Rows))
			for j := range t.a.Rows {
				err := res.QueryRow().Scan(&t.seqs[j])
				switch {
				case !found && errors.Is(err, pgx.ErrNoRows):
				case err != nil:
					res.Close()
					return err
				}
			}
			if !found {
				errs[i], t.seqs = intake.ErrNoConversation, nil
			}
		}
		if err := res.Close(); err != nil {
			return err
		}
		written = true
		return nil
	})
	if err != nil && written {
		return errs, &commitError{err}
	}
	return errs, err
}

// alone writes one append in a transaction of its own.
func (w *turnWriter) alone(t *turnAppend) error {
	ctx, cancel := context.WithTimeout(context.Background(), turnBatchTime)
	defer cancel()
	seqs := make([]int, len(t.a.Rows))
	err := pgx.BeginFunc(ctx, w.s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, sqlstore.Postgres.Rebind(t.a.Update), t.a.Args...)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return intake.ErrNoConversation
		}
		for j, row := range t.a.Rows {
			if err := tx.QueryRow(ctx, turnInsert, append([]any{t.a.ID}, row...)...).Scan(&seqs[j]); err != nil {
				return fmt.Errorf("turn: %w", err)
			}
		}
		return nil
	})
	if err == nil {
		t.seqs = seqs
	}
	return err
}
