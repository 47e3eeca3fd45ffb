package web

import (
	"context"
	"errors"

	"github.com/bayannur/hotline/bot"
	"github.com/bayannur/hotline/intake"
)

// desk lets the chat dialogue open and look up tickets through the intake service.
type desk struct{ svc *intake.Service }

var _ bot.TicketDesk = desk{}

func (d desk) OpenTicket(ctx context.Context, r bot.TicketRequest) (bot.TicketInfo, error) {
	urgency := intake.Normal
	if r.Emergency {
		urgency = intake.Emergency
	}
	t, _, err := d.svc.Create(ctx, intake.NewTicket{
		Topic: r.Topic, Category: r.Category, Community: r.Community, Description: r.Description,
		Address: r.Address, Phone: r.Phone, PhoneRequired: true, Urgency: urgency,
		Channel: intake.ChannelChat, ConversationID: r.ConversationID, Actor: "resident",
	}, "")
	if err != nil {
		return bot.TicketInfo{}, err
	}
	return info(t, nil), nil
}

func (d desk) LookupTicket(ctx context.Context, number, tail string) (bot.TicketInfo, error) {
	t, err := d.svc.Get(ctx, number)
	if errors.Is(err, intake.ErrNotFound) || err == nil && (t.Phone == "" || t.Phone.Tail() != tail) {
		return bot.TicketInfo{}, bot.ErrNoTicket
	}
	if err != nil {
		return bot.TicketInfo{}, err
	}
	events, err := d.svc.Store.Events(ctx, number)
	if err != nil {
		return bot.TicketInfo{}, err
	}
	return info(t, events), nil
}

func info(t *intake.Ticket, events []intake.Event) bot.TicketInfo {
	out := bot.TicketInfo{Number: t.Number, Status: string(t.Status), StatusLabel: t.Status.Label(), DueBy: t.DueBy, Reply: t.Reply}
	for _, ev := range intake.StatusChanges(events) {
		out.Steps = append(out.Steps, bot.TicketStep{Status: string(ev.To), Label: ev.To.Label(), At: ev.At})
	}
	return out
}
