package bot

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/internal/i18n"
	"github.com/bayannur/hotline/search"
)

// A conversation is many messages; a Dialogue carries what one message leaves open into the next:
// the place and phone a report still needs, the ticket number a status lookup waits for, the
// community a contact card waits for. Its state is plain data, stored with the conversation, so a
// reconnect or a server restart picks the dialogue up where it was.

// Input is one thing a resident did in the chat: typed a message or tapped an option.
type Input struct {
	ID     string // the client's id for it, echoed as the reply's reply_to
	Text   string // the typed text (empty for a tap)
	Option string // the tapped option's id; empty for typed text (a tap always names one)
}

// State is what a conversation carries from one input to the next: the dialogue's pending
// question and the resident's community, both stored with the conversation.
type State struct {
	Dialog    intake.DialogState
	Community string
}

// Output is the dialogue's answer to one input: the reply, the state to store with it, and what
// the caller must carry out before sending the reply (nil: nothing). The dialogue itself opens no
// ticket and calls no person: it says what it needs, and the caller, who owns the tickets and the
// desk, does it and hands back the result (Opened, Looked).
type Output struct {
	Reply intake.Reply
	Next  State
	Do    Command
}

// Command is something the dialogue needs done outside itself: OpenTicket, LookupTicket or
// CallPerson.
type Command interface{ command() }

// OpenTicket: create Ticket (the caller adds the conversation's id), then complete the output
// with Opened.
type OpenTicket struct{ Ticket intake.NewTicket }

// LookupTicket: find the ticket numbered Number by its access code (Code), or — from the
// conversation that opened it — by its phone's last four digits (PhoneTail), then complete the
// output with Looked. One of Code and PhoneTail is set.
type LookupTicket struct{ Number, PhoneTail, Code string }

// CallPerson: the resident asked for a person. A caller with an operator desk puts the resident
// in its queue and says so instead of Reply; without one, Reply offers to leave a message.
type CallPerson struct{}

func (OpenTicket) command()   {}
func (LookupTicket) command() {}
func (CallPerson) command()   {}

// Handle answers one input. It reads the message once (normalised once, one analysis), lets a
// pending flow take it as its answer unless the message is a new question, and otherwise decides
// afresh.
func (b *Bot) Handle(ctx context.Context, st State, in Input) (Output, error) {
	if _, ok := b.guide.Community(st.Community); !ok {
		st.Community = "" // from a guide since replaced
	}
	if in.Option != "" {
		return b.choose(ctx, st, in)
	}
	return b.ask(ctx, st, in)
}

// Option ids the dialogue understands besides guide topic ids.
const (
	optConfirm    = "confirm"
	optCancel     = "cancel"
	optLeaveNote  = "leave_message"
	optReport     = "report:" // + topic id: report this problem
	optCommunity  = "community:"
	optMenuProc   = "menu:procedure"
	optMenuReport = "menu:report"
	optKeepBot    = "keep_bot"
	// PlaceOption + "lat,lng": the resident's shared location answers the report's question where
	// (the chat sends it when its location arrives at that step; PlaceOptionFor makes it).
	PlaceOption    = "place:"
	maxStepRetries = 2
)

// PlaceOptionFor is the option by which a shared location answers the question where.
func PlaceOptionFor(lat, lng float64) string {
	return PlaceOption + strconv.FormatFloat(lat, 'f', 6, 64) + "," + strconv.FormatFloat(lng, 'f', 6, 64)
}

// AwaitsPlace reports whether the dialogue's pending question is where the reported problem is.
func AwaitsPlace(d intake.DialogState) bool {
	return d.Flow == intake.FlowReport && d.Step == intake.StepPlace
}

var (
	ticketNumberRe = regexp.MustCompile(`\d{8}-\d{4,6}`)
	phoneTailRe    = regexp.MustCompile(`(?:^|\D)(\d{4})(?:\D|$)`)
	accessCodeRe   = regexp.MustCompile(`(?:^|\D)(\d{6})(?:\D|$)`)
)

// ask answers typed text.
func (b *Bot) ask(ctx context.Context, st State, in Input) (Output, error) {
	m := Message{Text: in.Text, Community: st.Community}
	if err := b.check(m); err != nil {
		return Output{}, err
	}
	norm := b.an.Normalize(in.Text)
	if norm == "" {
		// Emoji, punctuation: nothing to read, and a pending question stays pending.
		return Output{Reply: reply(in.ID, b.smalltalk(1, "")), Next: st}, nil
	}
	a := b.analyse(norm)
	if st.Dialog.Flow == intake.FlowReport && st.Dialog.Step == intake.StepConfirm && yes(in.Text) {
		// 确认, 好的: the answer asked for, whatever else the model may read in one word (确认
		// once read, faintly, as a wish for a person, and the report was lost to the queue).
		return b.openTicket(st, in.ID), nil
	}
	if st.Dialog.Flow != intake.FlowNone {
		if b.interrupts(st.Dialog, a) {
			st.Dialog = intake.DialogState{}
		} else if out, handled := b.continueFlow(ctx, st, in, a); handled {
			if a.emergency >= b.cal.Emergency && !st.Dialog.Emergency {
				// Read as the answer, but it may be danger: the numbers come first all the same.
				out.Reply.Text = emergencyNumbersText + "\n" + out.Reply.Text
			}
			return out, nil
		} else {
			st.Dialog = intake.DialogState{} // a new question: the flow is dropped
		}
	}
	return b.fromDecision(st, in.ID, in.Text, b.decide(ctx, m, a)), nil
}

// interrupts reports whether a message inside a flow is no answer to its question, before the
// flow reads it: an emergency (other than the one being reported) or a wish for a person. No flow
// ever traps a resident. Inside a flow the model's most probable label must say so: an answer
// (a place, a phone number) is nothing the model was taught, and its low emergency probability
// must not throw away the report it completes.
func (b *Bot) interrupts(st intake.DialogState, a analysis) bool {
	if a.known == 0 {
		return false // nothing the model knows (a phone number alone): its reading is no reason
	}
	label, li := b.model.Labels[a.best], b.labels[a.best]
	if li.emergency {
		return !st.Emergency || label != st.Topic
	}
	return label == Handoff && b.sure(a)
}

// sure: the model knows something in the message and is as sure of its likeliest label as an
// answer must be. Inside a flow only such a reading interrupts the flow or leaves it.
func (b *Bot) sure(a analysis) bool {
	return a.known > 0 && a.probs[a.best] >= b.cal.Answer
}

// fromDecision turns a fresh decision into an output, starting a flow where one is needed.
func (b *Bot) fromDecision(st State, id, text string, dec Decision) Output {
	out := Output{Reply: reply(id, dec), Next: st}
	r, next := &out.Reply, &out.Next
	switch dec.Decision {
	case Report:
		next.Dialog = intake.DialogState{Flow: intake.FlowReport, Topic: dec.Topic, Category: dec.Category, Description: text, Community: st.Community}
		takePhone(&next.Dialog, text)
		r.Text += "\n\n" + b.nextReportQuestion(&next.Dialog, r)
	case Emergency:
		// The numbers go out at once; then, while help is on its way, an urgent ticket.
		next.Dialog = intake.DialogState{Flow: intake.FlowReport, Topic: dec.Topic, Category: dec.Category, Description: text, Community: st.Community, Emergency: true}
		takePhone(&next.Dialog, text)
		r.Text += "\n\n" + i18n.T(i18n.Zh, "bot.emergency.ticket")
		r.Text += "\n" + b.nextReportQuestion(&next.Dialog, r)
	case Status:
		next.Dialog = intake.DialogState{Flow: intake.FlowStatus, Step: intake.StepNumber}
		if look, ok := lookupIn(text); ok {
			r.Text = strings.TrimSuffix(r.Text, statusText) // Looked says what was found
			out.Do = look
		}
	case Handoff:
		next.Dialog = intake.DialogState{Flow: intake.FlowHandoff}
		r.Text = i18n.T(i18n.Zh, "bot.handoff.nobody")
		r.Options = []intake.Option{{ID: optLeaveNote, Label: i18n.T(i18n.Zh, "bot.option.leave_message")}, {ID: optKeepBot, Label: i18n.T(i18n.Zh, "bot.option.keep_bot")}}
		out.Do = CallPerson{}
	case Contact:
		if dec.Contact != nil {
			next.Community = dec.Contact.CommunityID
		}
	}
	return out
}

func reply(id string, d Decision) intake.Reply {
	opts := d.Options
	if opts == nil {
		opts = []intake.Option{}
	}
	return intake.Reply{Type: "reply", ReplyTo: id, Decision: d.Decision, Topic: d.Topic, Text: d.Text, More: d.More, Options: opts, Contact: d.Contact}
}

// choose answers a tapped option.
func (b *Bot) choose(ctx context.Context, st State, in Input) (Output, error) {
	id, option := in.ID, in.Option
	say := func(decision, text string) (Output, error) {
		return Output{Reply: simpleReply(id, decision, text), Next: st}, nil
	}
	switch {
	case option == optCancel:
		st.Dialog = intake.DialogState{}
		return say(Smalltalk, i18n.T(i18n.Zh, "bot.cancelled"))
	case option == optConfirm && st.Dialog.Flow == intake.FlowReport && st.Dialog.Step == intake.StepConfirm:
		return b.openTicket(st, id), nil
	case option == optLeaveNote && st.Dialog.Flow == intake.FlowHandoff:
		st.Dialog = intake.DialogState{Flow: intake.FlowReport, Category: "other", Community: st.Community, Step: intake.StepMessage}
		return say(Handoff, i18n.T(i18n.Zh, "bot.leave_message"))
	case option == optKeepBot:
		st.Dialog = intake.DialogState{}
		return say(Smalltalk, i18n.T(i18n.Zh, "bot.keep_bot"))
	case strings.HasPrefix(option, optCommunity):
		cid := strings.TrimPrefix(option, optCommunity)
		c, ok := b.guide.Community(cid)
		if !ok {
			return Output{}, fmt.Errorf("%w: unknown community %q", ErrBadOption, cid)
		}
		st.Community = c.ID
		if st.Dialog.Flow == intake.FlowReport {
			st.Dialog.Community = c.ID
			out := Output{Reply: simpleReply(id, Report, ""), Next: st}
			out.Reply.Text = b.nextReportQuestion(&out.Next.Dialog, &out.Reply)
			return out, nil
		}
		card := Card(c, c.TopGrid(), "")
		return Output{Reply: intake.Reply{Type: "reply", ReplyTo: id, Decision: Contact, Text: renderCard(card), Options: []intake.Option{}, Contact: card}, Next: st}, nil
	case strings.HasPrefix(option, PlaceOption) && AwaitsPlace(st.Dialog):
		lat, lng, ok := parseLatLng(strings.TrimPrefix(option, PlaceOption))
		if !ok {
			return Output{}, fmt.Errorf("%w: %q", ErrBadOption, option)
		}
		st.Dialog.Address = i18n.T(i18n.Zh, "bot.report.located",
			"lat", strconv.FormatFloat(lat, 'f', 5, 64), "lng", strconv.FormatFloat(lng, 'f', 5, 64))
		st.Dialog.Lat, st.Dialog.Lng = &lat, &lng
		out := Output{Reply: simpleReply(id, Report, ""), Next: st}
		out.Reply.Topic = st.Dialog.Topic
		out.Reply.Text = b.nextReportQuestion(&out.Next.Dialog, &out.Reply)
		return out, nil
	case strings.HasPrefix(option, optReport):
		e, ok := b.guide.Entry(strings.TrimPrefix(option, optReport))
		if !ok {
			return Output{}, fmt.Errorf("%w: unknown topic", ErrBadOption)
		}
		st.Dialog = intake.DialogState{Flow: intake.FlowReport, Step: intake.StepDescribe, Topic: e.ID, Category: e.Category,
			Community: st.Community, Emergency: e.Kind == search.KindEmergency}
		out, _ := say(Report, i18n.T(i18n.Zh, "bot.report.describe"))
		out.Reply.Topic = e.ID
		return out, nil
	case option == optMenuProc:
		return say(Smalltalk, i18n.T(i18n.Zh, "bot.menu.procedure.hint"))
	case option == optMenuReport:
		return say(Smalltalk, i18n.T(i18n.Zh, "bot.menu.report.hint"))
	case option == Contact:
		// The menu's 找社区和网格员: the known community's card, or the question which one.
		return Output{Reply: reply(id, b.contact(ctx, Message{Community: st.Community}, "", 1)), Next: st}, nil
	}
	e, ok := b.guide.Entry(option)
	if !ok {
		return Output{}, fmt.Errorf("%w: %q", ErrBadOption, option)
	}
	return b.fromDecision(st, id, e.Title, b.fromEntry(e, 1)), nil
}

// parseLatLng reads PlaceOptionFor's "lat,lng".
func parseLatLng(s string) (lat, lng float64, ok bool) {
	a, b, found := strings.Cut(s, ",")
	if !found {
		return 0, 0, false
	}
	lat, err1 := strconv.ParseFloat(a, 64)
	lng, err2 := strconv.ParseFloat(b, 64)
	if err1 != nil || err2 != nil || math.IsNaN(lat) || math.IsNaN(lng) || lat < -90 || lat > 90 || lng < -180 || lng > 180 {
		return 0, 0, false
	}
	return lat, lng, true
}

// ErrBadOption is a choice the dialogue does not know.
var ErrBadOption = errors.New("unknown option")

func simpleReply(id, decision, text string) intake.Reply {
	return intake.Reply{Type: "reply", ReplyTo: id, Decision: decision, Text: text, Options: []intake.Option{}}
}

// continueFlow takes a message as the answer to the pending question. handled is false when the
// message is a new question instead.
func (b *Bot) continueFlow(ctx context.Context, st State, in Input, a analysis) (Output, bool) {
	switch st.Dialog.Flow {
	case intake.FlowReport:
		return b.continueReport(ctx, st, in, a)
	case intake.FlowStatus:
		if look, ok := lookupIn(in.Text); ok {
			return Output{Reply: simpleReply(in.ID, Status, ""), Next: st, Do: look}, true
		}
		if b.looksLikeQuestion(a) {
			return Output{}, false
		}
		if st.Dialog.Retries++; st.Dialog.Retries > maxStepRetries {
			return Output{}, false
		}
		return Output{Reply: simpleReply(in.ID, Status, i18n.T(i18n.Zh, "bot.status.again")), Next: st}, true
	}
	// FlowHandoff: until an operator joins, a message here is a new question.
	return Output{}, false
}

func (b *Bot) continueReport(ctx context.Context, st State, in Input, a analysis) (Output, bool) {
	text := strings.TrimSpace(in.Text)
	d := &st.Dialog
	switch d.Step {
	case intake.StepDescribe, intake.StepMessage:
		d.Description = text
		takePhone(d, text)
	case intake.StepPlace:
		if b.looksLikeQuestion(a) {
			return Output{}, false
		}
		// A place and a phone in one message: the address is the place alone.
		place, p, ok := intake.CutPhone(text)
		if ok {
			d.Phone = p.Full()
		}
		d.Address = place
		if d.Community == "" && place != "" {
			if places, err := b.index.SearchContacts(ctx, b.an.Normalize(place), 1); err == nil && len(places) > 0 {
				d.Community = places[0].CommunityID
			}
		}
	case intake.StepPhone:
		p, ok := intake.FindPhone(text)
		if !ok {
			if d.Retries++; d.Retries > maxStepRetries {
				return Output{}, false
			}
			return Output{Reply: simpleReply(in.ID, Report, i18n.T(i18n.Zh, "bot.report.phone_unclear")), Next: st}, true
		}
		d.Phone, d.Retries = p.Full(), 0
	case intake.StepConfirm:
		// A typed yes has confirmed already (ask); a confident new question is answered as
		// one. Anything else (对 就这样提交吧, 好的谢谢, a word the model cannot place) is no
		// reason to lose the report: the confirmation is asked again, with its buttons, before
		// it is let go.
		if b.newMatter(a) {
			return Output{}, false
		}
		if d.Retries++; d.Retries > maxStepRetries {
			return Output{}, false
		}
		out := Output{Reply: simpleReply(in.ID, Report, i18n.T(i18n.Zh, "bot.report.confirm_again")), Next: st}
		out.Reply.Topic, out.Reply.Options = d.Topic, confirmOptions()
		return out, true
	}
	out := Output{Reply: simpleReply(in.ID, Report, ""), Next: st}
	out.Reply.Topic = d.Topic
	out.Reply.Text = b.nextReportQuestion(&out.Next.Dialog, &out.Reply)
	return out, true
}

// takePhone keeps a phone the resident gave before being asked for it (in the description:
// 路灯坏了…有事打138…), so that it is not asked for again; the text keeps it too.
func takePhone(d *intake.DialogState, text string) {
	if p, ok := intake.FindPhone(text); ok && d.Phone == "" {
		d.Phone = p.Full()
	}
}

// looksLikeQuestion: an answer to "where?" or "which ticket?" that the model reads as a
// confident new question (a procedure, a status, a human) rather than the answer.
func (b *Bot) looksLikeQuestion(a analysis) bool {
	if !b.sure(a) {
		return false
	}
	label, li := b.model.Labels[a.best], b.labels[a.best]
	return li.entry != nil && li.entry.Kind == search.KindProcedure || label == Status || label == Handoff
}

// newMatter: a message at the confirmation that the model reads, as sure as an answer must be,
// as one of the guide's topics (a procedure, another report). Status, contact and out-of-scope
// readings do not count: the words of an assent (对 就这样提交吧) are near a status question's
// (之前提交的…), and a resident asked to confirm rarely turns to those; asked again, they can.
func (b *Bot) newMatter(a analysis) bool {
	return b.sure(a) && b.labels[a.best].entry != nil
}

func yes(text string) bool {
	switch strings.Trim(strings.TrimSpace(text), "。.!！ ") {
	case "是", "是的", "对", "对的", "确认", "确定", "提交", "好", "好的", "行", "可以", "嗯", "yes", "ok":
		return true
	}
	return false
}

// nextReportQuestion asks for what the report still lacks — at most three questions: the place,
// a phone, and a confirmation — and sets the step.
func (b *Bot) nextReportQuestion(st *intake.DialogState, r *intake.Reply) string {
	r.Options = []intake.Option{}
	switch {
	case st.Description == "":
		st.Step = intake.StepDescribe
		return i18n.T(i18n.Zh, "bot.report.describe")
	case st.Address == "":
		st.Step = intake.StepPlace
		if st.Community == "" {
			return i18n.T(i18n.Zh, "bot.report.place")
		}
		c, _ := b.guide.Community(st.Community)
		return i18n.T(i18n.Zh, "bot.report.place_in", "community", c.Name)
	case st.Phone == "":
		st.Step = intake.StepPhone
		return i18n.T(i18n.Zh, "bot.report.phone")
	}
	st.Step = intake.StepConfirm
	r.Options = confirmOptions()
	title := i18n.T(i18n.Zh, "bot.report.message")
	if e, ok := b.guide.Entry(st.Topic); ok {
		title = e.Title
	}
	// The reply is shown and stored: a phone typed into the description or the place is masked
	// there as the phone line is (the ticket keeps them whole).
	return i18n.T(i18n.Zh, "bot.report.confirm", "title", title, "description", clip(intake.MaskPhones(st.Description), 100),
		"address", intake.MaskPhones(st.Address), "phone", intake.Phone(st.Phone).Masked())
}

func confirmOptions() []intake.Option {
	return []intake.Option{{ID: optConfirm, Label: i18n.T(i18n.Zh, "bot.option.confirm")}, {ID: optCancel, Label: i18n.T(i18n.Zh, "bot.option.cancel")}}
}

// openTicket asks the caller for the ticket the confirmed report describes. The state is kept
// until Opened: if the ticket cannot be made, the resident can confirm again.
func (b *Bot) openTicket(st State, id string) Output {
	d := st.Dialog
	urgency := intake.Normal
	if d.Emergency {
		urgency = intake.Emergency
	}
	return Output{Reply: simpleReply(id, Report, ""), Next: st, Do: OpenTicket{Ticket: intake.NewTicket{
		Topic: d.Topic, Category: d.Category, Community: d.Community, Description: d.Description,
		Address: d.Address, Lat: d.Lat, Lng: d.Lng, Phone: d.Phone, PhoneRequired: true, Urgency: urgency,
		Channel: intake.ChannelChat, Actor: "resident",
	}}}
}

// Opened completes an OpenTicket output with the ticket made: the resident is told its number, its
// access code (info.AccessCode) and when it is due (after anything the reply already says, such as the emergency numbers), and the
// report is over.
func (b *Bot) Opened(out Output, info intake.TicketInfo) Output {
	out.Next.Dialog = intake.DialogState{}
	due := info.DueBy.In(intake.Beijing).Format("1月2日 15:04")
	if info.AccessCode == "" { // a caller that gives none (hotline ask): no code to tell
		out.Reply.Text += i18n.T(i18n.Zh, "bot.ticket.opened.no_code", "number", info.Number, "due", due)
	} else {
		out.Reply.Text += i18n.T(i18n.Zh, "bot.ticket.opened", "number", info.Number, "code", info.AccessCode, "due", due)
	}
	out.Reply.Ticket = &info
	out.Do = nil
	return out
}

// lookupIn finds a ticket number and an access code (6 digits) or a phone tail (4) in text.
func lookupIn(text string) (LookupTicket, bool) {
	number := ticketNumberRe.FindString(text)
	if number == "" {
		return LookupTicket{}, false
	}
	rest := strings.Replace(text, number, " ", 1)
	if m := accessCodeRe.FindStringSubmatch(rest); m != nil {
		return LookupTicket{Number: number, Code: m[1]}, true
	}
	m := phoneTailRe.FindStringSubmatch(rest)
	if m == nil {
		return LookupTicket{}, false
	}
	return LookupTicket{Number: number, PhoneTail: m[1]}, true
}

// Looked completes a LookupTicket output: info is the ticket found, nil when there is none with
// that number and phone tail.
func (b *Bot) Looked(out Output, info *intake.TicketInfo) Output {
	out.Do = nil
	out.Reply.Decision = Status
	if info == nil {
		out.Next.Dialog = intake.DialogState{Flow: intake.FlowStatus, Step: intake.StepNumber, Retries: out.Next.Dialog.Retries + 1}
		out.Reply.Text += i18n.T(i18n.Zh, "bot.ticket.not_found")
		return out
	}
	out.Next.Dialog = intake.DialogState{}
	var t strings.Builder
	t.WriteString(i18n.T(i18n.Zh, "bot.ticket.status", "number", info.Number, "status", info.StatusLabel))
	for _, s := range info.Steps {
		fmt.Fprintf(&t, "\n%s %s", s.At.In(intake.Beijing).Format("1月2日 15:04"), s.Label)
	}
	if info.Reply != "" {
		t.WriteString("\n" + i18n.T(i18n.Zh, "bot.ticket.reply", "reply", info.Reply))
	}
	out.Reply.Text += t.String()
	out.Reply.Ticket = info
	return out
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
