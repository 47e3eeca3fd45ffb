package chat_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bayannur/hotline/bot"
	"github.com/bayannur/hotline/intake"
)

// The moment the bot decides an emergency, the chat is in the operators' queue — out of desk
// hours too — before any ticket; the bot still collects the place and phone until a person takes
// the chat, the sweep never turns the wait into an offer, and the emergency ticket's text says who
// acts and by when, in minutes.
func TestEmergencyReachesTheDeskAtOnce(t *testing.T) {
	for _, at := range []time.Time{morning, evening} {
		e := newEnv(t, at)
		e.svc.Emergency = func(topic string) bool { return strings.HasPrefix(topic, "emergency-") }
		res := e.ask("着火了 快来人")
		if res.Reply == nil || res.Reply.Decision != bot.Emergency {
			t.Fatalf("%v: reply %+v, want an emergency", at, res.Reply)
		}
		if res.Emergency == nil || res.Emergency.Text != "着火了 快来人" || res.Emergency.Conversation != "c1" ||
			res.Emergency.Community != "wy-jinqiao" || !res.DeskChanged {
			t.Fatalf("%v: emergency %+v, desk changed %v", at, res.Emergency, res.DeskChanged)
		}
		if res.Ticket != nil {
			t.Fatalf("%v: a ticket already: the alert comes first", at)
		}
		stored, err := e.store.Conversation(context.Background(), "c1")
		if err != nil {
			t.Fatal(err)
		}
		if stored.Handoff != intake.HandoffWaiting || !strings.HasPrefix(stored.Guess, "emergency-") {
			t.Fatalf("%v: handoff %q guess %q, want waiting with the emergency as the guess", at, stored.Handoff, stored.Guess)
		}
		if !strings.Contains(res.Reply.Text, "值班人员") {
			t.Errorf("%v: the resident is not told the desk was alerted: %q", at, res.Reply.Text)
		}

		// The sweep leaves it waiting, however long.
		e.now = at.Add(time.Hour)
		if offers, err := e.svc.Sweep(context.Background()); err != nil || len(offers) != 0 {
			t.Fatalf("%v: sweep offered %v, %v", at, offers, err)
		}

		// The bot goes on collecting: place, phone, confirmation — the consoles see each answer.
		res = e.ask("金桥社区虹亚小区3号楼")
		if res.ToPerson != nil || res.Reply == nil || !res.DeskChanged {
			t.Fatalf("%v: the place went to a person, not the bot: %+v", at, res)
		}
		e.ask("13812345678")
		res = e.choose("confirm", "确认提交")
		if res.Ticket == nil || res.Ticket.Urgency != intake.Emergency {
			t.Fatalf("%v: ticket %+v", at, res.Ticket)
		}
		text := res.Reply.Text
		if strings.Contains(text, "办结") || !strings.Contains(text, res.Ticket.Number) || !strings.Contains(text, "分钟内") ||
			!strings.Contains(text, res.Ticket.AccessCode) {
			t.Errorf("%v: the emergency ticket's text: %q", at, text)
		}
		if res.Ticket.Assignee != "" && !strings.Contains(text, res.Ticket.Assignee) {
			t.Errorf("%v: the text does not say who acts (%s): %q", at, res.Ticket.Assignee, text)
		}

		// Still waiting: now what the resident says goes to the person who will take it.
		if res := e.ask("火越来越大了"); res.ToPerson == nil {
			t.Errorf("%v: after the ticket, a message while waiting went to the bot", at)
		}
	}
}
