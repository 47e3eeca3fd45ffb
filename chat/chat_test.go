package chat_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bayannur/hotline/bot"
	"github.com/bayannur/hotline/chat"
	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/intake/sqlite"
	"github.com/bayannur/hotline/internal/testkit"
)

// A Tuesday morning, within desk hours, and the evening after.
var (
	morning = time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)  // 10:00 Beijing
	evening = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC) // 20:00 Beijing
)

type env struct {
	t     *testing.T
	svc   *chat.Service
	store *sqlite.Store
	bot   *bot.Bot
	conv  *intake.Conversation
	now   time.Time
	n     int
}

func newEnv(t *testing.T, at time.Time) *env {
	t.Helper()
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "hotline.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e := &env{t: t, store: store, bot: testkit.Bot(t), now: at}
	clock := func() time.Time { return e.now }
	e.svc = &chat.Service{Store: store, Tickets: testkit.Tickets(t, store, clock), Now: clock}
	e.conv = &intake.Conversation{ID: "c1", TokenHash: "h1", Community: "wy-jinqiao", Created: at, Updated: at}
	if err := store.CreateConversation(context.Background(), e.conv); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) send(in bot.Input, label string) chat.Result {
	e.t.Helper()
	e.n++
	in.ID = "m" + strings.Repeat("i", e.n)
	res, err := e.svc.Handle(context.Background(), e.bot, e.conv, chat.Message{Input: in, Label: label, Online: 1})
	if err != nil {
		e.t.Fatalf("%q: %v", label, err)
	}
	e.conv = res.Conv
	return res
}

func (e *env) ask(text string) chat.Result { return e.send(bot.Input{Text: text}, text) }

func (e *env) choose(option, label string) chat.Result {
	return e.send(bot.Input{Option: option}, label)
}

func (e *env) turns() []intake.Turn {
	e.t.Helper()
	turns, err := e.store.Turns(context.Background(), e.conv.ID, 100)
	if err != nil {
		e.t.Fatal(err)
	}
	return turns
}

// A report and its confirmation: the ticket names the chat it came from, the resident is told its
// number, and every turn is stored with the state the next message starts from.
func TestAReportBecomesATicket(t *testing.T) {
	e := newEnv(t, morning)
	e.ask("俺们楼门口的路灯坏了好几天了")
	e.ask("虹亚小区3号楼门口")
	if res := e.ask("13812345678"); res.Conv.State.Step != intake.StepConfirm {
		t.Fatalf("after the phone the report waits for its confirmation: %+v", res.Conv.State)
	}
	res := e.choose("confirm", "确认提交")
	if res.Ticket == nil || res.Ticket.ConversationID != "c1" || res.Ticket.Channel != intake.ChannelChat ||
		res.Ticket.Phone.Full() != "13812345678" || res.Ticket.Address != "虹亚小区3号楼门口" {
		t.Fatalf("ticket %+v", res.Ticket)
	}
	if res.Reply == nil || res.Reply.Ticket == nil || !strings.Contains(res.Reply.Text, res.Ticket.Number) {
		t.Fatalf("reply %+v", res.Reply)
	}
	stored, err := e.store.Conversation(context.Background(), "c1")
	if err != nil {
		t.Fatal(err)
	}
	if stored.State.Flow != intake.FlowNone {
		t.Errorf("the stored state still has a flow: %+v", stored.State)
	}
	turns := e.turns()
	if len(turns) != 8 || turns[6].Text != "确认提交" || turns[7].Reply == nil || turns[7].Reply.Ticket == nil {
		t.Errorf("turns: %d, last two %+v %+v", len(turns), turns[len(turns)-2], turns[len(turns)-1])
	}
}

// Asking for a person in desk hours joins the queue; what the resident says then goes to the
// person, not the bot, until they go back to the bot.
func TestAskingForAPersonJoinsTheQueue(t *testing.T) {
	e := newEnv(t, morning)
	res := e.ask("转人工")
	if !res.Waiting || !res.Handoff || !res.DeskChanged || res.Reply == nil || len(res.Reply.Options) != 1 ||
		res.Reply.Options[0] != chat.KeepBotOption {
		t.Fatalf("handoff: %+v reply %+v", res, res.Reply)
	}
	if res.Conv.State.Flow != intake.FlowNone {
		t.Errorf("the bot's own handoff flow must not be left open: %+v", res.Conv.State)
	}
	res = e.ask("我家楼道灯坏了")
	if res.Reply != nil || res.ToPerson == nil || res.ToPerson.From != "resident" || res.ToPerson.Text != "我家楼道灯坏了" {
		t.Fatalf("while waiting the message goes to the person: %+v", res)
	}
	res = e.choose(chat.OptKeepBot, chat.KeepBotOption.Label)
	if res.Reply == nil || !res.DeskChanged {
		t.Fatalf("keep_bot: %+v", res)
	}
	if c, _ := e.store.Conversation(context.Background(), "c1"); c.Handoff != intake.HandoffNone {
		t.Errorf("handoff %q after going back to the bot", c.Handoff)
	}
	if res = e.ask("低保咋申请"); res.Reply == nil || res.Reply.Topic != "dibao" {
		t.Errorf("the bot answers again: %+v", res.Reply)
	}
}

// Out of desk hours a ticket is offered at once; taking it starts a report whose description is
// the chat so far.
func TestOutOfHoursATicketIsOffered(t *testing.T) {
	e := newEnv(t, evening)
	e.ask("我家楼上天天半夜装修")
	res := e.ask("转人工")
	if res.Waiting || !res.Handoff || res.Reply == nil || len(res.Reply.Options) != 2 || res.Reply.Options[0] != chat.HandoffTicketOption {
		t.Fatalf("out of hours: %+v reply %+v", res, res.Reply)
	}
	res = e.choose(chat.OptHandoffTicket, chat.HandoffTicketOption.Label)
	st := res.Conv.State
	if st.Flow != intake.FlowReport || st.Step != intake.StepPlace || !strings.Contains(st.Description, "居民：我家楼上天天半夜装修") {
		t.Fatalf("the report starts from the chat: %+v", st)
	}
}

// The sweep offers a ticket to a resident nobody took within the wait, once, whichever node runs
// it.
func TestSweepOffersATicketOnce(t *testing.T) {
	e := newEnv(t, morning)
	e.ask("转人工")
	if offers, err := e.svc.Sweep(context.Background()); err != nil || len(offers) != 0 {
		t.Fatalf("swept before the wait: %v %v", offers, err)
	}
	e.now = morning.Add(4 * time.Minute)
	offers, err := e.svc.Sweep(context.Background())
	if err != nil || len(offers) != 1 || offers[0].Conversation != "c1" || offers[0].Turn.From != "system" {
		t.Fatalf("sweep: %+v %v", offers, err)
	}
	if again, err := e.svc.Sweep(context.Background()); err != nil || len(again) != 0 {
		t.Fatalf("swept twice: %+v %v", again, err)
	}
	if c, _ := e.store.Conversation(context.Background(), "c1"); c.Handoff != intake.HandoffOffered {
		t.Errorf("handoff %q after the sweep", c.Handoff)
	}
}

// Without a bot nothing is stored.
func TestStartingStoresNothing(t *testing.T) {
	e := newEnv(t, morning)
	if _, err := e.svc.Handle(context.Background(), nil, e.conv, chat.Message{Input: bot.Input{ID: "x", Text: "你好"}, Label: "你好"}); err != chat.ErrStarting {
		t.Fatalf("err %v, want ErrStarting", err)
	}
	if turns := e.turns(); len(turns) != 0 {
		t.Errorf("%d turns stored", len(turns))
	}
}

// One operator takes a waiting chat; a second cannot; only the holder may speak in it or release
// it, and after the release the bot answers again.
func TestTakeHoldAndRelease(t *testing.T) {
	e := newEnv(t, morning)
	ctx := context.Background()
	e.ask("转人工")
	e.now = morning.Add(90 * time.Second)
	turn, waited, err := e.svc.Take(ctx, "c1", "op1", "0007")
	if err != nil || waited != 90*time.Second || turn.From != "system" || !strings.Contains(turn.Text, "0007") {
		t.Fatalf("take: %+v, waited %v, %v", turn, waited, err)
	}
	if _, _, err := e.svc.Take(ctx, "c1", "op2", "0008"); err != chat.ErrTaken {
		t.Errorf("a second take: %v, want ErrTaken", err)
	}
	if _, err := e.svc.Held(ctx, "c1", "op2"); err != chat.ErrNotHeld {
		t.Errorf("held by another: %v, want ErrNotHeld", err)
	}
	if _, err := e.svc.Held(ctx, "nope", "op1"); err != intake.ErrNoConversation {
		t.Errorf("an unknown chat: %v, want ErrNoConversation", err)
	}
	if res := e.ask("你好，我家楼道灯坏了"); res.ToPerson == nil {
		t.Fatalf("a live chat's message goes to the person: %+v", res)
	}
	if _, err := e.svc.Release(ctx, "c1", "op2"); err != chat.ErrNotHeld {
		t.Errorf("release by another: %v, want ErrNotHeld", err)
	}
	if _, err := e.svc.Release(ctx, "c1", "op1"); err != nil {
		t.Fatal(err)
	}
	if res := e.ask("低保咋申请"); res.Reply == nil || res.Reply.Topic != "dibao" {
		t.Errorf("after the release the bot answers: %+v", res)
	}
}
