package postgres

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// busChannel is the LISTEN/NOTIFY channel of the desk.
const busChannel = "hotline_desk"

// inlineMax is the longest payload sent in the notification itself; longer ones go through the
// desk_messages table (a notification holds at most 7,999 bytes).
const inlineMax = 7000

// busKeep is how long a long payload's row is kept for listeners to read it.
const busKeep = "5 minutes"

// Bus carries the desk's messages between the nodes that share the database (it is a web.Bus):
// PostgreSQL's NOTIFY on one channel, the payload in the notification when it is short, else in
// desk_messages with the row's id in the notification. A notification reaches every session
// listening when it is sent, the sender's own included, in the order of the transactions that sent
// them.
type Bus struct {
	s         *Store
	published atomic.Int64
}

// Bus returns the store's bus.
func (s *Store) Bus() *Bus { return &Bus{s: s} }

// Publish sends payload to every node listening.
func (b *Bus) Publish(ctx context.Context, payload []byte) error {
	if len(payload) <= inlineMax {
		_, err := b.s.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, busChannel, "i"+string(payload))
		return wrap("bus publish", err)
	}
	// The row and its notification in one transaction: the notification goes out on commit,
	// when the row can be read.
	err := pgx.BeginFunc(ctx, b.s.pool, func(tx pgx.Tx) error {
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO desk_messages (body) VALUES ($1) RETURNING id`, string(payload)).Scan(&id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, busChannel, "r"+strconv.FormatInt(id, 10)); err != nil {
			return err
		}
		if b.published.Add(1)%100 == 0 {
			// Now and then, what every listener has long read goes.
			if _, err := tx.Exec(ctx, `DELETE FROM desk_messages WHERE created < now() - interval '`+busKeep+`'`); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("bus publish", err)
}

// Listen calls listening once its LISTEN has succeeded, then deliver with every payload published,
// in order, until ctx ends (it then returns ctx's error) or the connection fails. It listens on a
// connection of its own.
func (b *Bus) Listen(ctx context.Context, listening func(), deliver func(payload []byte)) error {
	conn, err := pgx.ConnectConfig(ctx, b.s.pool.Config().ConnConfig)
	if err != nil {
		return wrap("bus listen", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+busChannel); err != nil {
		return wrap("bus listen", err)
	}
	if listening != nil {
		listening()
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return wrap("bus listen", err)
		}
		if n.Channel != busChannel || n.Payload == "" {
			continue
		}
		switch kind, rest := n.Payload[0], n.Payload[1:]; kind {
		case 'i':
			deliver([]byte(rest))
		case 'r':
			id, err := strconv.ParseInt(rest, 10, 64)
			if err != nil {
				continue
			}
			var body string
			err = conn.QueryRow(ctx, `SELECT body FROM desk_messages WHERE id = $1`, id).Scan(&body)
			switch {
			case errors.Is(err, pgx.ErrNoRows):
				continue // kept past busKeep: too old to matter
			case err != nil:
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return wrap("bus listen", err)
			}
			deliver([]byte(body))
		}
	}
}
