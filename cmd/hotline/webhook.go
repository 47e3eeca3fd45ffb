package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bayannur/hotline/intake"
)

const webhookUsage = `usage:
  hotline webhook add --events ticket.created,ticket.resolved|* [--secret S] [--trusted] URL
  hotline webhook list
  hotline webhook remove ID
  hotline webhook deliveries [--status pending|delivered|failed] [--limit 50] ID
  hotline webhook replay ID EVENT
Every webhook command takes --data DIR or --database URL like serve (docs/integrations.md).`

// cmdWebhook manages webhook subscriptions in the store, as the admins' /api/v1/webhooks does.
func cmdWebhook(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return exitError{code: 2, msg: webhookUsage}
	}
	fs := flag.NewFlagSet("webhook "+args[0], flag.ContinueOnError)
	data := fs.String("data", envOr("HOTLINE_DATA", "./data"), "data directory (env HOTLINE_DATA)")
	database := fs.String("database", envOr("HOTLINE_DATABASE", ""), databaseUsage)
	events := fs.String("events", "", "add: comma-separated events to send, or * for all: "+strings.Join(kindList(), ", "))
	secret := fs.String("secret", "", "add: the signing secret, 16 to 256 characters (default: a new one, printed once)")
	trusted := fs.Bool("trusted", false, "add: send residents' phones whole (default: masked, 138****5678)")
	status := fs.String("status", "", "deliveries: only pending, delivered or failed ones")
	limit := fs.Int("limit", 50, "deliveries: at most this many, newest first")
	pos, err := parseInterspersed(fs, args[1:], stderr)
	if err != nil {
		return err
	}
	switch args[0] {
	case "add", "list", "remove", "deliveries", "replay":
	default:
		return exitError{code: 2, msg: webhookUsage}
	}
	st, _, err := openStore(ctx, *database, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	hooks, ok := st.(intake.Webhooks)
	if !ok {
		return errors.New("this store keeps no webhooks")
	}
	switch args[0] {
	case "add":
		if len(pos) != 1 || *events == "" {
			return exitError{code: 2, msg: "usage: hotline webhook add --events E1,E2|* [--secret S] [--trusted] URL"}
		}
		sub, err := intake.NewSubscription(pos[0], strings.Split(*events, ","), *secret, *trusted, "cli", time.Now())
		if err != nil {
			return exitError{code: 2, msg: err.Error()}
		}
		if err := hooks.AddSubscription(ctx, sub); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n", sub.ID)
		if *secret == "" {
			fmt.Fprintf(stdout, "secret: %s  (shown once: give it to the receiver)\n", sub.Secret)
		}
	case "list":
		subs, err := hooks.Subscriptions(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tURL\tEVENTS\tTRUSTED\tCREATED\tBY")
		for _, s := range subs {
			var ks []string
			for _, k := range s.Events {
				ks = append(ks, string(k))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\t%s\n", s.ID, s.URL, strings.Join(ks, ","), s.Trusted,
				s.Created.In(intake.Beijing).Format("2006-01-02 15:04"), s.CreatedBy)
		}
		tw.Flush()
	case "remove":
		if len(pos) != 1 {
			return exitError{code: 2, msg: "usage: hotline webhook remove ID"}
		}
		if err := hooks.DeleteSubscription(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed %s and its deliveries\n", pos[0])
	case "deliveries":
		if len(pos) != 1 {
			return exitError{code: 2, msg: "usage: hotline webhook deliveries [--status failed] ID"}
		}
		log, err := hooks.Deliveries(ctx, pos[0], intake.DeliveryStatus(*status), *limit)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "EVENT\tTYPE\tSUBJECT\tSTATUS\tATTEMPTS\tCODE\tLAST ERROR")
		for _, l := range log {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%s\n", l.EventID, l.Kind, l.Subject, l.Status, l.Attempts, l.LastCode, l.LastError)
		}
		tw.Flush()
	case "replay":
		if len(pos) != 2 {
			return exitError{code: 2, msg: "usage: hotline webhook replay ID EVENT"}
		}
		ev, err := strconv.ParseInt(pos[1], 10, 64)
		if err != nil {
			return exitError{code: 2, msg: "EVENT: the event id (hotline webhook deliveries ID lists them)"}
		}
		if err := hooks.ReplayDelivery(ctx, pos[0], ev, time.Now()); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "event %d to %s: pending again, sent by the next worker to look\n", ev, pos[0])
	}
	return nil
}

func kindList() []string {
	var out []string
	for _, k := range intake.EventKinds() {
		out = append(out, string(k))
	}
	return out
}
