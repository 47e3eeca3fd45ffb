package bot_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bayannur/hotline/bot"
	"github.com/bayannur/hotline/intake"
)

// fakeDesk records the tickets a dialogue opens.
type fakeDesk struct {
	mu     sync.Mutex
	opened []intake.NewTicket
}

func (d *fakeDesk) open(n intake.NewTicket) intake.TicketInfo {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.opened = append(d.opened, n)
	return intake.TicketInfo{Number: fmt.Sprintf("20261125-%04d", len(d.opened)), Status: "dispatched", StatusLabel: "派单",
		DueBy: time.Date(2026, 12, 2, 15, 59, 59, 0, time.UTC)}
}

func (d *fakeDesk) lookup(number, tail, code string) *intake.TicketInfo {
	if number != "20261125-0001" || tail != "5678" && code != "123456" {
		return nil
	}
	return &intake.TicketInfo{Number: number, Status: "signed", StatusLabel: "签收",
		Steps: []intake.TicketStep{{Status: "received", Label: "受理"}, {Status: "signed", Label: "签收"}}}
}

// chat drives one conversation as the chat service does: it carries out what the dialogue asks
// for and keeps the state it returns.
type chat struct {
	t         *testing.T
	b         *bot.Bot
	desk      *fakeDesk
	st        intake.DialogState
	community string
	n         int
	called    int // CallPerson commands
}

func newChat(t *testing.T, community string) *chat {
	b, _ := newBot(t)
	return &chat{t: t, b: b, desk: &fakeDesk{}, community: community}
}

func (c *chat) handle(in bot.Input) (intake.Reply, error) {
	out, err := c.b.Handle(context.Background(), bot.State{Dialog: c.st, Community: c.community}, in)
	if err != nil {
		return intake.Reply{}, err
	}
	switch do := out.Do.(type) {
	case bot.OpenTicket:
		out = c.b.Opened(out, c.desk.open(do.Ticket))
	case bot.LookupTicket:
		out = c.b.Looked(out, c.desk.lookup(do.Number, do.PhoneTail, do.Code))
	case bot.CallPerson:
		c.called++
	}
	c.st, c.community = out.Next.Dialog, out.Next.Community
	return out.Reply, nil
}

func (c *chat) ask(text string) intake.Reply {
	c.t.Helper()
	c.n++
	r, err := c.handle(bot.Input{ID: fmt.Sprint("m", c.n), Text: text})
	if err != nil {
		c.t.Fatalf("ask %q: %v", text, err)
	}
	if r.Type != "reply" || r.ReplyTo != fmt.Sprint("m", c.n) || r.Options == nil {
		c.t.Fatalf("ask %q: malformed reply %+v", text, r)
	}
	return r
}

func (c *chat) choose(option string) intake.Reply {
	c.t.Helper()
	c.n++
	r, err := c.handle(bot.Input{ID: fmt.Sprint("m", c.n), Option: option})
	if err != nil {
		c.t.Fatalf("choose %q: %v", option, err)
	}
	return r
}

func hasOption(r intake.Reply, id string) bool {
	for _, o := range r.Options {
		if o.ID == id {
			return true
		}
	}
	return false
}

func TestReportInThreeQuestions(t *testing.T) {
	c := newChat(t, "")
	r := c.ask("俺们楼门口的路灯坏了好几天了")
	if r.Decision != bot.Report || r.Topic != "report-streetlight" || !strings.Contains(r.Text, "地点") {
		t.Fatalf("first reply %s/%s: %q", r.Decision, r.Topic, r.Text)
	}
	r = c.ask("虹亚小区3号楼门口")
	if !strings.Contains(r.Text, "电话") {
		t.Fatalf("second question should ask for a phone: %q", r.Text)
	}
	r = c.ask("138 1234 5678")
	if !hasOption(r, "confirm") || !hasOption(r, "cancel") || !strings.Contains(r.Text, "138****5678") {
		t.Fatalf("third question should confirm with the phone masked: %q %v", r.Text, r.Options)
	}
	r = c.choose("confirm")
	if r.Ticket == nil || !regexp.MustCompile(`^\d{8}-\d{4}$`).MatchString(r.Ticket.Number) || !strings.Contains(r.Text, r.Ticket.Number) {
		t.Fatalf("no ticket in %+v", r)
	}
	got := c.desk.opened[0]
	if got.Topic != "report-streetlight" || got.Community != "wy-jinqiao" || got.Address != "虹亚小区3号楼门口" ||
		got.Phone != "13812345678" || !strings.Contains(got.Description, "路灯") || got.Urgency != intake.Normal ||
		!got.PhoneRequired || got.Channel != intake.ChannelChat {
		t.Errorf("ticket request %+v", got)
	}
	if c.st.Flow != "" {
		t.Errorf("flow %q left open after the ticket", c.st.Flow)
	}
}

// A phone typed into the description is kept (the resident is not asked for it again) and
// masked in the confirmation, which the widget shows and the transcript keeps; a place given with
// a phone is the place alone, and the later phone is the one called. The ticket keeps the
// description whole.
func TestReportConfirmationMasksPhonesInText(t *testing.T) {
	c := newChat(t, "")
	c.ask("俺们楼门口的路灯坏了好几天了，有事打0478-8123456")
	r := c.ask("虹亚小区3号楼门口，电话15947801234")
	if !hasOption(r, "confirm") {
		t.Fatalf("a place with a phone should reach the confirmation: %q", r.Text)
	}
	for _, full := range []string{"15947801234", "8123456"} {
		if strings.Contains(r.Text, full) {
			t.Errorf("the confirmation shows %s in full: %q", full, r.Text)
		}
	}
	if !strings.Contains(r.Text, "159****1234") || !strings.Contains(r.Text, "047*****3456") {
		t.Errorf("the confirmation should show the numbers masked: %q", r.Text)
	}
	c.choose("confirm")
	got := c.desk.opened[0]
	if got.Address != "虹亚小区3号楼门口" || !strings.Contains(got.Description, "0478-8123456") || got.Phone != "15947801234" {
		t.Errorf("ticket: address %q (want the place alone), description %q, phone %q", got.Address, got.Description, got.Phone)
	}
}

// Whatever the resident gives at once is taken: a phone in the first message is not asked for,
// and a place and a phone in one answer end the questions.
func TestReportTakesWhatIsGivenAtOnce(t *testing.T) {
	c := newChat(t, "")
	r := c.ask("俺们楼门口的路灯坏了好几天了 电话13812345678")
	if r.Decision != bot.Report || !strings.Contains(r.Text, "地点") {
		t.Fatalf("first reply %s: %q", r.Decision, r.Text)
	}
	r = c.ask("虹亚小区3号楼门口")
	if !hasOption(r, "confirm") || !strings.Contains(r.Text, "138****5678") {
		t.Fatalf("with the phone given first, the place ends the questions: %q", r.Text)
	}

	c = newChat(t, "")
	c.ask("小区里的路灯不亮了")
	r = c.ask("和平小区6号楼门口 电话 138 1234 5678")
	if !hasOption(r, "confirm") {
		t.Fatalf("a place and a phone in one answer: asked %q", r.Text)
	}
	c.choose("confirm")
	if got := c.desk.opened[0]; got.Address != "和平小区6号楼门口" || got.Phone != "13812345678" {
		t.Errorf("ticket: address %q, phone %q; want the place alone and the phone", got.Address, got.Phone)
	}

	// Only a phone where the place was asked: the phone is kept, the place asked again.
	c = newChat(t, "")
	c.ask("小区里的路灯不亮了")
	r = c.ask("13812345678")
	if hasOption(r, "confirm") || !strings.Contains(r.Text, "地点") {
		t.Fatalf("a phone alone for the place: %q; want the place asked again", r.Text)
	}
	r = c.ask("虹亚小区3号楼门口")
	if !hasOption(r, "confirm") {
		t.Fatalf("then the place: %q; want the confirmation", r.Text)
	}
}

func TestReportAsksAgainForABadPhoneThenGivesUp(t *testing.T) {
	c := newChat(t, "wy-jinqiao")
	c.ask("小区里下水道堵了污水往外冒")
	c.ask("虹亚小区2号楼")
	if r := c.ask("不告诉你"); !strings.Contains(r.Text, "手机号") {
		t.Fatalf("want the phone asked again: %q", r.Text)
	}
	c.ask("还是不说")
	c.ask("就不说")
	// The third refusal drops the report (the message is then read as a new question).
	if c.st.Address == "虹亚小区2号楼" || len(c.desk.opened) != 0 {
		t.Errorf("after three refusals the report should be dropped: %+v, %d tickets", c.st, len(c.desk.opened))
	}
}

func TestNewQuestionInterruptsAReport(t *testing.T) {
	c := newChat(t, "")
	c.ask("路灯不亮")
	r := c.ask("低保咋申请要带啥材料")
	if r.Decision != bot.Answer || r.Topic != "dibao" || c.st.Flow != "" {
		t.Errorf("got %s/%s, flow %q; want the dibao answer and no flow", r.Decision, r.Topic, c.st.Flow)
	}
}

func TestEmergencyNumbersFirstThenATicket(t *testing.T) {
	c := newChat(t, "wy-jinqiao")
	r := c.ask("厨房里煤气味好大")
	if r.Decision != bot.Emergency || !strings.Contains(r.Text, "0478-555-0119") || !strings.Contains(r.Text, "119") {
		t.Fatalf("first reply must carry the numbers: %s %q", r.Decision, r.Text)
	}
	c.ask("虹亚小区5号楼2单元")
	c.ask("13900001111")
	c.choose("confirm")
	if len(c.desk.opened) != 1 || c.desk.opened[0].Urgency != intake.Emergency || c.desk.opened[0].Topic != "emergency-gas-leak" {
		t.Errorf("want one emergency ticket, got %+v", c.desk.opened)
	}
}

func TestEmergencyInterruptsAnyFlow(t *testing.T) {
	c := newChat(t, "")
	c.ask("路灯不亮")
	r := c.ask("楼下着火了")
	if r.Decision != bot.Emergency || r.Topic != "emergency-fire" {
		t.Errorf("an emergency during a report: %s/%s", r.Decision, r.Topic)
	}
}

func TestStatusLookup(t *testing.T) {
	c := newChat(t, "")
	r := c.ask("我反映的事到哪一步了")
	if r.Decision != bot.Status || c.st.Flow != "status" {
		t.Fatalf("got %s, flow %q", r.Decision, c.st.Flow)
	}
	r = c.ask("20261125-0009 1234")
	if r.Ticket != nil || !strings.Contains(r.Text, "没有找到") {
		t.Fatalf("a wrong number must not be found: %+v", r)
	}
	r = c.ask("工单号20261125-0001，手机尾号5678")
	if r.Ticket == nil || r.Ticket.Number != "20261125-0001" || !strings.Contains(r.Text, "签收") {
		t.Fatalf("lookup: %+v", r)
	}
	// Number and tail in the first message: answered at once.
	c = newChat(t, "")
	if r := c.ask("20261125-0001 5678 办到哪了"); r.Ticket == nil {
		t.Errorf("number and tail in one message: %+v", r)
	}
	// Number and access code (6 digits): the command carries the code, not a tail.
	c = newChat(t, "")
	if r := c.ask("20261125-0001 查询码123456 办到哪了"); r.Ticket == nil {
		t.Errorf("number and access code in one message: %+v", r)
	}
}

func TestContactAsksCommunityThenCard(t *testing.T) {
	c := newChat(t, "")
	r := c.ask("俺们网格员电话多少")
	if r.Decision != bot.Contact || r.Contact != nil || !hasOption(r, "community:hl-dongfeng") {
		t.Fatalf("want a community question: %+v", r)
	}
	r = c.choose("community:hl-dongfeng")
	if r.Contact == nil || r.Contact.CommunityID != "hl-dongfeng" || c.community != "hl-dongfeng" {
		t.Fatalf("want the card of hl-dongfeng: %+v", r.Contact)
	}
	// Remembered: the next contact question is answered at once.
	if r := c.ask("网格员是谁"); r.Contact == nil || r.Contact.CommunityID != "hl-dongfeng" {
		t.Errorf("community not remembered: %+v", r)
	}
}

func TestHandoffLeavesAMessageAsATicket(t *testing.T) {
	c := newChat(t, "wy-xinhua")
	r := c.ask("转人工")
	if c.called != 1 {
		t.Errorf("the dialogue asked for a person %d times, want once", c.called)
	}
	if r.Decision != bot.Handoff || !hasOption(r, "leave_message") {
		t.Fatalf("handoff: %+v", r)
	}
	c.choose("leave_message")
	c.ask("想问问俺家老房子拆迁的事，电话里说不清")
	c.ask("新华小区1号楼")
	c.ask("13700002222")
	r = c.choose("confirm")
	if r.Ticket == nil || len(c.desk.opened) != 1 || c.desk.opened[0].Category != "other" {
		t.Fatalf("the message should become a ticket in category other: %+v %+v", r, c.desk.opened)
	}
}

func TestClarifyOptionAnswers(t *testing.T) {
	c := newChat(t, "")
	r := c.choose("dibao")
	if r.Decision != bot.Answer || r.Topic != "dibao" {
		t.Errorf("choosing a topic: %s/%s", r.Decision, r.Topic)
	}
	r = c.choose("report-streetlight")
	if r.Decision != bot.Report || c.st.Flow != "report" {
		t.Errorf("choosing a report topic starts a report: %s, flow %q", r.Decision, c.st.Flow)
	}
}

func TestBadOptions(t *testing.T) {
	c := newChat(t, "")
	for _, opt := range []string{"no-such-topic", "community:nowhere", "report:nowhere", "confirm"} {
		// confirm with nothing to confirm is an unknown option too
		_, err := c.handle(bot.Input{ID: "x", Option: opt})
		if !errors.Is(err, bot.ErrBadOption) {
			t.Errorf("choose %q: err %v, want ErrBadOption", opt, err)
		}
	}
	if r := c.choose("cancel"); c.st.Flow != "" || r.Text == "" {
		t.Errorf("cancel: %+v", r)
	}
}

// The dialogue makes no ticket itself: confirming asks the caller for one, and until the caller
// reports it made (Opened), the report stays at its confirmation, so a resident whose ticket could
// not be stored can confirm again and lose nothing.
func TestConfirmingAsksTheCallerForTheTicket(t *testing.T) {
	b, _ := newBot(t)
	ctx := context.Background()
	st := bot.State{Community: "wy-jinqiao"}
	for i, text := range []string{"俺们楼门口的路灯坏了好几天了", "虹亚小区3号楼门口", "13812345678"} {
		out, err := b.Handle(ctx, st, bot.Input{ID: fmt.Sprint(i), Text: text})
		if err != nil || out.Do != nil {
			t.Fatalf("%s: %v, command %#v", text, err, out.Do)
		}
		st = out.Next
	}
	for range 2 {
		out, err := b.Handle(ctx, st, bot.Input{ID: "c", Option: "confirm"})
		if err != nil {
			t.Fatal(err)
		}
		open, ok := out.Do.(bot.OpenTicket)
		if !ok || open.Ticket.Address != "虹亚小区3号楼门口" || open.Ticket.Phone != "13812345678" {
			t.Fatalf("confirm: command %#v, want OpenTicket with the report", out.Do)
		}
		if out.Next.Dialog.Step != intake.StepConfirm || out.Reply.Ticket != nil {
			t.Fatalf("before the ticket is made the report must wait at its confirmation: %+v", out.Next)
		}
		// The caller failed to store it: nothing is carried over, the resident confirms again.
	}
	out, _ := b.Handle(ctx, st, bot.Input{ID: "c", Option: "confirm"})
	done := b.Opened(out, intake.TicketInfo{Number: "20261125-0042", DueBy: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)})
	if done.Next.Dialog.Flow != intake.FlowNone || done.Do != nil || !strings.Contains(done.Reply.Text, "20261125-0042") ||
		!strings.Contains(done.Reply.Text, "12月2日 18:00") {
		t.Errorf("after Opened: %+v", done)
	}
}

// At the confirmation, words that neither confirm nor ask something new (对 就这样提交吧, a thanks)
// do not lose the report: the bot asks again, with the buttons, and only after that lets it go. A
// confident new question is answered as one.
func TestUnclearWordsAtTheConfirmationKeepTheReport(t *testing.T) {
	toConfirm := func() *chat {
		c := newChat(t, "wy-jinqiao")
		for _, q := range []string{"小区垃圾好几天没人拉了 臭得不行", "虹亚小区2号楼后面", "13904781234"} {
			c.ask(q)
		}
		if c.st.Step != intake.StepConfirm {
			t.Fatalf("not at the confirmation: %+v", c.st)
		}
		return c
	}
	c := toConfirm()
	r := c.ask("对 就这样提交吧")
	if c.st.Step != intake.StepConfirm || !hasOption(r, "confirm") || !hasOption(r, "cancel") || r.Decision != bot.Report {
		t.Fatalf("对 就这样提交吧: %s %q %+v, state %+v: want the confirmation asked again", r.Decision, r.Text, r.Options, c.st)
	}
	if r = c.choose("confirm"); len(c.desk.opened) != 1 || c.desk.opened[0].Address != "虹亚小区2号楼后面" || !strings.Contains(r.Text, "20261125-0001") {
		t.Fatalf("confirmed after asking again: %q, opened %+v", r.Text, c.desk.opened)
	}

	// A typed yes confirms, in an ordinary report and in an emergency's urgent ticket alike, however
	// faintly the model reads it as something else (确认 as a wish for a person, once).
	for _, enter := range []string{"小区垃圾好几天没人拉了 臭得不行", "楼道里一股煤气味 越来越大"} {
		for _, word := range []string{"确认", "好的", "是的"} {
			c := newChat(t, "wy-jinqiao")
			for _, q := range []string{enter, "虹亚小区2号楼3单元", "13904781234"} {
				c.ask(q)
			}
			if r := c.ask(word); len(c.desk.opened) != 1 || r.Decision != bot.Report {
				t.Errorf("%s, then %s: %s %q, opened %d: want the ticket", enter, word, r.Decision, r.Text, len(c.desk.opened))
			}
		}
	}

	c = toConfirm()
	for i := range 2 {
		if r := c.ask("好的 谢谢啊"); c.st.Step != intake.StepConfirm || !hasOption(r, "confirm") {
			t.Fatalf("unclear word %d: %s %q: want the confirmation asked again", i+1, r.Decision, r.Text)
		}
	}
	if r := c.ask("好的 谢谢啊"); c.st.Flow != intake.FlowNone || hasOption(r, "confirm") || len(c.desk.opened) != 0 {
		t.Fatalf("a third time: %s %q, state %+v: want the report let go, nothing opened", r.Decision, r.Text, c.st)
	}

	c = toConfirm()
	if r := c.ask("低保咋申请"); r.Decision != bot.Answer || r.Topic != "dibao" || c.st.Flow != intake.FlowNone {
		t.Fatalf("a new question at the confirmation: %s/%s, state %+v: want it answered", r.Decision, r.Topic, c.st)
	}
}

// The menu's 找社区和网格员 gives the known community's card at once, and asks which community
// when none is known.
func TestMenuContact(t *testing.T) {
	c := newChat(t, "wy-jinqiao")
	r := c.choose(bot.Contact)
	if r.Decision != bot.Contact || r.Contact == nil || r.Contact.CommunityID != "wy-jinqiao" || len(r.Contact.People) == 0 {
		t.Fatalf("with a known community: %s %+v", r.Decision, r.Contact)
	}
	c = newChat(t, "")
	r = c.choose(bot.Contact)
	if r.Decision != bot.Contact || r.Contact != nil || len(r.Options) < 2 || !strings.HasPrefix(r.Options[0].ID, "community:") {
		t.Fatalf("without one the bot asks which: %s %+v", r.Decision, r.Options)
	}
	if r = c.choose(r.Options[0].ID); r.Contact == nil || c.community == "" {
		t.Errorf("picking a community gives its card and remembers it: %+v, %q", r.Contact, c.community)
	}
}
