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

func (d desk) OpenTicket(ctx context.Context, r bot.TicketRequest) (intake.TicketInfo, error) {
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
		return intake.TicketInfo{}, err
	}
	return intake.Info(t, nil), nil
}

func (d desk) LookupTicket(ctx context.Context, number, tail string) (intake.TicketInfo, error) {
	t, err := d.svc.Get(ctx, number)
	if errors.Is(err, intake.ErrNotFound) || err == nil && (t.Phone == "" || t.Phone.Tail() != tail) {
		return intake.TicketInfo{}, bot.ErrNoTicket
	}
	if err != nil {
		return intake.TicketInfo{}, err
	}
	events, err := d.svc.Store.Events(ctx, number)
	if err != nil {
		return intake.TicketInfo{}, err
	}
	return intake.Info(t, events), nil
}
