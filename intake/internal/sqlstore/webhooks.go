package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bayannur/hotline/intake"
)

// Webhooks: subscriptions, the outbox and its deliveries (intake.Webhooks). The outbox's rows
// are written by AddOutbox inside the stores' transactions of the changes they report.

// wants is the WHERE clause of the subscriptions that want a kind; its argument is wantsArg's.
const wants = "(events LIKE '%,*,%' OR events LIKE ?)"

func wantsArg(k intake.EventKind) string { return "%," + string(k) + ",%" }

// AddOutbox writes ev to the outbox with a pending delivery for each subscription that wants it,
// in db's transaction; it writes nothing when none does.
func (db DB) AddOutbox(ctx context.Context, ev intake.OutboxEvent) error {
	now := time.Now().UnixNano()
	var id int64
	err := db.QueryRow(ctx, `INSERT INTO webhook_outbox (kind, subject, data, data_trusted, created)
		SELECT CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS BIGINT)
		WHERE EXISTS (SELECT 1 FROM webhook_subscriptions WHERE `+wants+`)
		RETURNING id`,
		string(ev.Kind), ev.Subject, string(ev.Data), string(ev.Trusted), ev.At.UnixNano(), wantsArg(ev.Kind)).Scan(&id)
	if db.conn.Kind(err) == NoRows {
		return nil
	}
	if err != nil {
		return fmt.Errorf("webhook outbox: %w", err)
	}
	if _, err := db.Exec(ctx, `INSERT INTO webhook_deliveries (subscription_id, event_id, subject, first_at, next_at, updated)
		SELECT id, CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT)
		FROM webhook_subscriptions WHERE `+wants,
		id, ev.Subject, now, now, now, wantsArg(ev.Kind)); err != nil {
		return fmt.Errorf("webhook deliveries: %w", err)
	}
	return nil
}

// AddTicketOutbox writes the outbox event of ev, the change that made t, if it is one.
func (db DB) AddTicketOutbox(ctx context.Context, t *intake.Ticket, ev intake.Event) error {
	o, ok, err := intake.TicketOutbox(t, ev)
	if err != nil || !ok {
		return err
	}
	return db.AddOutbox(ctx, o)
}

// AddHandoffOutbox writes the outbox event of conversation id's handoff having just moved, if it
// is one, reading the conversation in db's transaction.
func (db DB) AddHandoffOutbox(ctx context.Context, id string) error {
	c, err := db.scanConversation(db.QueryRow(ctx, conversationSelect[db.Dialect]+" WHERE id = ?", id))
	if err != nil {
		return fmt.Errorf("handoff outbox: %w", err)
	}
	o, ok, err := intake.HandoffOutbox(c)
	if err != nil || !ok {
		return err
	}
	return db.AddOutbox(ctx, o)
}

// AddSubscription stores s.
func (s Shared) AddSubscription(ctx context.Context, sub *intake.Subscription) error {
	if sub == nil || sub.ID == "" || sub.URL == "" || len(sub.Events) == 0 {
		return fmt.Errorf("%w: a subscription needs an id, a URL and events", intake.ErrInvalid)
	}
	var events []string
	for _, k := range sub.Events {
		events = append(events, string(k))
	}
	err := s.Write(ctx, func(ctx context.Context, db DB) error {
		_, err := db.Exec(ctx, `INSERT INTO webhook_subscriptions (id, url, events, secret, trusted, created, created_by)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
			sub.ID, sub.URL, ","+strings.Join(events, ",")+",", sub.Secret, sub.Trusted, sub.Created.UnixNano(), sub.CreatedBy)
		if err != nil && db.conn.Kind(err) == Unique {
			return fmt.Errorf("%w: subscription %s exists", intake.ErrConflict, sub.ID)
		}
		return err
	})
	return s.Wrap("add subscription", err)
}

// Subscriptions lists the subscriptions, oldest first.
func (s Shared) Subscriptions(ctx context.Context) ([]*intake.Subscription, error) {
	subs, err := All(ctx, s.Read, func(r Row) (*intake.Subscription, error) {
		var (
			sub     intake.Subscription
			events  string
			created int64
		)
		if err := r.Scan(&sub.ID, &sub.URL, &events, &sub.Secret, &sub.Trusted, &created, &sub.CreatedBy); err != nil {
			return nil, err
		}
		for _, e := range strings.Split(strings.Trim(events, ","), ",") {
			sub.Events = append(sub.Events, intake.EventKind(e))
		}
		sub.Created = time.Unix(0, created).UTC()
		return &sub, nil
	}, "SELECT id, url, events, secret, trusted, created, created_by FROM webhook_subscriptions ORDER BY created, id")
	if err != nil {
		return nil, s.Wrap("subscriptions", err)
	}
	return subs, nil
}

// DeleteSubscription deletes a subscription and its deliveries.
func (s Shared) DeleteSubscription(ctx context.Context, id string) error {
	err := s.Tx(ctx, func(ctx context.Context, db DB) error {
		if _, err := db.Exec(ctx, "DELETE FROM webhook_deliveries WHERE subscription_id = ?", id); err != nil {
			return err
		}
		n, err := db.Exec(ctx, "DELETE FROM webhook_subscriptions WHERE id = ?", id)
		if err == nil && n == 0 {
			return fmt.Errorf("%w: webhook subscription %s", intake.ErrNotFound, id)
		}
		return err
	})
	return s.Wrap("delete subscription", err)
}

// claimDeliveries leases the due deliveries, each the earliest pending one of its subscription
// and subject; PostgreSQL's skips the rows another node is claiming at the same moment.
var claimDeliveries = byDialect(func(d Dialect) string {
	lock := ""
	if d == Postgres {
		lock = " FOR UPDATE OF d SKIP LOCKED"
	}
	return `UPDATE webhook_deliveries SET lease = ?, lease_until = ?
		WHERE (subscription_id, event_id) IN (
			SELECT d.subscription_id, d.event_id FROM webhook_deliveries d
			WHERE d.status = 'pending' AND d.next_at <= ? AND d.lease_until <= ?
				AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e
					WHERE e.subscription_id = d.subscription_id AND e.subject = d.subject
						AND e.status = 'pending' AND e.event_id < d.event_id)
			ORDER BY d.next_at, d.event_id LIMIT ?` + lock + `)
			AND status = 'pending' AND lease_until <= ?`
})

// ClaimDeliveries leases up to limit due deliveries for lease until now+d.
func (s Shared) ClaimDeliveries(ctx context.Context, lease string, now time.Time, d time.Duration, limit int) ([]intake.Delivery, error) {
	if lease == "" || d <= 0 || limit <= 0 {
		return nil, fmt.Errorf("%w: a claim needs a lease token, a duration and a limit", intake.ErrInvalid)
	}
	n := now.UnixNano()
	var claimed int64
	err := s.Write(ctx, func(ctx context.Context, db DB) error {
		var err error
		claimed, err = db.Exec(ctx, claimDeliveries[db.Dialect], lease, now.Add(d).UnixNano(), n, n, limit, n)
		return err
	})
	if err != nil {
		return nil, s.Wrap("claim deliveries", err)
	}
	if claimed == 0 {
		return []intake.Delivery{}, nil
	}
	ds, err := All(ctx, s.Read, func(r Row) (intake.Delivery, error) {
		var (
			d              intake.Delivery
			created, first int64
			data           string
		)
		err := r.Scan(&d.SubscriptionID, &d.EventID, &d.Attempts, &first, &d.URL, &d.Secret, &d.Kind, &d.Subject, &created, &data)
		d.Created, d.FirstAt, d.Data, d.Lease = time.Unix(0, created).UTC(), time.Unix(0, first).UTC(), []byte(data), lease
		return d, err
	}, `SELECT d.subscription_id, d.event_id, d.attempts, d.first_at, s.url, s.secret, o.kind, o.subject, o.created,
			CASE WHEN s.trusted THEN o.data_trusted ELSE o.data END
		FROM webhook_deliveries d
			JOIN webhook_subscriptions s ON s.id = d.subscription_id
			JOIN webhook_outbox o ON o.id = d.event_id
		WHERE d.lease = ? AND d.status = 'pending' ORDER BY d.event_id`, lease)
	if err != nil {
		return nil, s.Wrap("claim deliveries", err)
	}
	return ds, nil
}

// FinishDelivery records an attempt of a delivery r.Lease holds.
func (s Shared) FinishDelivery(ctx context.Context, r intake.DeliveryResult) (bool, error) {
	switch r.Status {
	case intake.DeliveryPending, intake.DeliveryDelivered, intake.DeliveryFailed:
	default:
		return false, fmt.Errorf("%w: delivery status %q", intake.ErrInvalid, r.Status)
	}
	var next int64
	if r.Status == intake.DeliveryPending {
		next = r.NextAt.UnixNano()
	}
	var n int64
	err := s.Write(ctx, func(ctx context.Context, db DB) error {
		var err error
		n, err = db.Exec(ctx, `UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, next_at = ?,
				lease = '', lease_until = 0, last_error = ?, last_code = ?, updated = ?
			WHERE subscription_id = ? AND event_id = ? AND lease = ? AND status = 'pending'`,
			string(r.Status), next, r.Error, r.Code, r.At.UnixNano(), r.SubscriptionID, r.EventID, r.Lease)
		return err
	})
	if err != nil {
		return false, s.Wrap("finish delivery", err)
	}
	return n == 1, nil
}

// Deliveries is a subscription's delivery log, newest first.
func (s Shared) Deliveries(ctx context.Context, subscriptionID string, status intake.DeliveryStatus, limit int) ([]intake.DeliveryLog, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	var n int
	if err := s.Read.QueryRow(ctx, "SELECT count(*) FROM webhook_subscriptions WHERE id = ?", subscriptionID).Scan(&n); err != nil {
		return nil, s.Wrap("deliveries", err)
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: webhook subscription %s", intake.ErrNotFound, subscriptionID)
	}
	ls, err := All(ctx, s.Read, func(r Row) (intake.DeliveryLog, error) {
		var (
			l                      intake.DeliveryLog
			created, next, updated int64
		)
		err := r.Scan(&l.EventID, &l.Kind, &l.Subject, &created, &l.Status, &l.Attempts, &l.LastError, &l.LastCode, &next, &updated)
		l.Created, l.Updated = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
		if next != 0 {
			l.NextAt = time.Unix(0, next).UTC()
		}
		return l, err
	}, `SELECT d.event_id, o.kind, o.subject, o.created, d.status, d.attempts, d.last_error, d.last_code,
			CASE WHEN d.status = 'pending' THEN d.next_at ELSE 0 END, d.updated
		FROM webhook_deliveries d JOIN webhook_outbox o ON o.id = d.event_id
		WHERE d.subscription_id = ? AND (? = '' OR d.status = ?)
		ORDER BY d.event_id DESC LIMIT ?`, subscriptionID, string(status), string(status), limit)
	if err != nil {
		return nil, s.Wrap("deliveries", err)
	}
	return ls, nil
}

// ReplayDelivery makes a failed or delivered delivery pending again, due now.
func (s Shared) ReplayDelivery(ctx context.Context, subscriptionID string, eventID int64, now time.Time) error {
	n := now.UnixNano()
	err := s.Tx(ctx, func(ctx context.Context, db DB) error {
		var status string
		err := db.QueryRow(ctx, "SELECT status FROM webhook_deliveries WHERE subscription_id = ? AND event_id = ?",
			subscriptionID, eventID).Scan(&status)
		if err != nil && db.conn.Kind(err) == NoRows {
			return fmt.Errorf("%w: no delivery of event %d to %s", intake.ErrNotFound, eventID, subscriptionID)
		}
		if err != nil {
			return err
		}
		if status == string(intake.DeliveryPending) {
			return fmt.Errorf("%w: event %d is still being delivered to %s", intake.ErrConflict, eventID, subscriptionID)
		}
		_, err = db.Exec(ctx, `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, first_at = ?, next_at = ?,
				lease = '', lease_until = 0, updated = ?
			WHERE subscription_id = ? AND event_id = ? AND status <> 'pending'`, n, n, n, subscriptionID, eventID)
		return err
	})
	return s.Wrap("replay delivery", err)
}

// PruneDeliveries deletes the deliveries delivered before before, and the events no delivery
// needs any more that were written before it.
func (s Shared) PruneDeliveries(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.Tx(ctx, func(ctx context.Context, db DB) error {
		var err error
		if n, err = db.Exec(ctx, "DELETE FROM webhook_deliveries WHERE status = 'delivered' AND updated < ?", before.UnixNano()); err != nil {
			return err
		}
		_, err = db.Exec(ctx, `DELETE FROM webhook_outbox WHERE created < ?
			AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = webhook_outbox.id)`, before.UnixNano())
		return err
	})
	if err != nil {
		return 0, s.Wrap("prune deliveries", err)
	}
	return int(n), nil
}
