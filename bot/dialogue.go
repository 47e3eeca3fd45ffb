package bot

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/bayannur/hotline/intake"

	"github.com/bayannur/hotline/search"
)

// A conversation is many messages; a Dialogue carries what one message leaves open into the next:
// the place and phone a report still needs, the ticket number a status lookup waits for, the
// community a contact card waits for. Its state is plain data, stored with the conversation, so a
// reconnect or a server restart picks the dialogue up where it was.

// TicketRequest is a report the dialogue has collected.
type TicketRequest struct {
	Topic, Category, Community, Description, Address, Phone string
	Emergency                                               bool
	ConversationID                                          string
}

// ErrNoTicket is what a TicketDesk says for an unknown number or a wrong phone tail.
var ErrNoTicket = errors.New("no such ticket")

// TicketDesk opens and looks up work orders for the dialogue (web adapts the intake service).
type TicketDesk interface {
	OpenTicket(ctx context.Context, r TicketRequest) (intake.TicketInfo, error)
	LookupTicket(ctx context.Context, number, phoneTail string) (intake.TicketInfo, error)
}

// Dialogue answers the messages of one conversation at a time.
type Dialogue struct {
	Bot  *Bot
	Desk TicketDesk
}

// Option ids the dialogue understands besides guide topic ids.
const (
	optConfirm     = "confirm"
	optCancel      = "cancel"
	optLeaveNote   = "leave_message"
	optReport      = "report:" // + topic id: report this problem
	optCommunity   = "community:"
	optMenuProc    = "menu:procedure"
	optMenuReport  = "menu:report"
	optKeepBot     = "keep_bot"
	maxStepRetries = 2
)

var (
	ticketNumberRe = regexp.MustCompile(`\d{8}-\d{4,6}`)
	phoneTailRe    = regexp.MustCompile(`(?:^|\D)(\d{4})(?:\D|$)`)
)

// Ask answers a typed message. community is the conversation's known community (it may be
// updated through st when the resident names or picks one).
func (d *Dialogue) Ask(ctx context.Context, st *intake.DialogState, community *string, id, text string) (intake.Reply, error) {
	if _, ok := d.Bot.guide.Community(*community); !ok {
		*community = "" // from a guide since replaced
	}
	m := Message{Text: text, Community: *community}
	if err := d.Bot.check(m); err != nil {
		return intake.Reply{}, err
	}
	norm := d.Bot.an.Normalize(text)
	if norm == "" {
		// Emoji, punctuation: nothing to read, and a pending question stays pending.
		return reply(id, d.Bot.smalltalk(1)), nil
	}
	a := d.Bot.analyse(norm)
	if st.Flow != intake.FlowNone {
		if d.interrupts(st, a) {
			*st = intake.DialogState{}
		} else if r, handled, err := d.continueFlow(ctx, st, community, id, text, a); handled || err != nil {
			if err == nil && a.emergency >= d.Bot.cal.Emergency && !st.Emergency {
				// Read as the answer, but it may be danger: the numbers come first all the same.
				r.Text = emergencyNumbersText + "\n" + r.Text
			}
			return r, err
		}
	}
	return d.fromDecision(ctx, st, community, id, text, d.Bot.decide(ctx, m, a))
}

// interrupts reports whether a message inside a flow is no answer to its question, before the
// flow reads it: an emergency (other than the one being reported) or a wish for a person. No flow
// ever traps a resident. Inside a flow the model's most probable label must say so: an answer
// (a place, a phone number) is nothing the model was taught, and its low emergency probability
// must not throw away the report it completes.
func (d *Dialogue) interrupts(st *intake.DialogState, a analysis) bool {
	b := d.Bot
	label, li := b.model.Labels[a.best], b.labels[a.best]
	if li.emergency {
		return !st.Emergency || label != st.Topic
	}
	return label == Handoff && a.probs[a.best] >= b.cal.Answer
}

// fromDecision turns a fresh decision into a reply, starting a flow where one is needed.
func (d *Dialogue) fromDecision(ctx context.Context, st *intake.DialogState, community *string, id, text string, dec Decision) (intake.Reply, error) {
	r := reply(id, dec)
	switch dec.Decision {
	case Report:
		*st = intake.DialogState{Flow: intake.FlowReport, Topic: dec.Topic, Category: dec.Category, Description: text, Community: *community}
		r.Text += "\n\n" + d.nextReportQuestion(ctx, st, &r)
	case Emergency:
		// The numbers go out at once; then, while help is on its way, an urgent ticket.
		*st = intake.DialogState{Flow: intake.FlowReport, Topic: dec.Topic, Category: dec.Category, Description: text, Community: *community, Emergency: true}
		r.Text += "\n\n如果方便，请告诉我地点，我们同时登记紧急工单通知网格员。"
		r.Text += "\n" + d.nextReportQuestion(ctx, st, &r)
	case Status:
		*st = intake.DialogState{Flow: intake.FlowStatus, Step: intake.StepNumber}
		if done, ok, err := d.tryStatus(ctx, st, id, text); ok || err != nil {
			return done, err
		}
	case Handoff:
		*st = intake.DialogState{Flow: intake.FlowHandoff}
		r.Text = "正在为您转接人工客服。现在暂时没有工作人员在线，您可以给工作人员留言，我们会尽快联系您；也可以继续问我。"
		r.Options = []intake.Option{{ID: optLeaveNote, Label: "给工作人员留言"}, {ID: optKeepBot, Label: "继续问机器人"}}
	case Contact:
		if dec.Contact != nil {
			*community = dec.Contact.CommunityID
		}
	}
	return r, nil
}

func reply(id string, d Decision) intake.Reply {
	opts := d.Options
	if opts == nil {
		opts = []intake.Option{}
	}
	return intake.Reply{Type: "reply", ReplyTo: id, Decision: d.Decision, Topic: d.Topic, Text: d.Text, More: d.More, Options: opts, Contact: d.Contact}
}

// Choose answers a tapped option.
func (d *Dialogue) Choose(ctx context.Context, st *intake.DialogState, community *string, id, option string) (intake.Reply, error) {
	switch {
	case option == optCancel:
		*st = intake.DialogState{}
		return simpleReply(id, Smalltalk, "好的，已取消。还有什么可以帮您？"), nil
	case option == optConfirm && st.Flow == intake.FlowReport && st.Step == intake.StepConfirm:
		return d.openTicket(ctx, st, id)
	case option == optLeaveNote && st.Flow == intake.FlowHandoff:
		*st = intake.DialogState{Flow: intake.FlowReport, Category: "other", Community: *community, Step: intake.StepMessage}
		return simpleReply(id, Handoff, "请留下您想对工作人员说的话："), nil
	case option == optKeepBot:
		*st = intake.DialogState{}
		return simpleReply(id, Smalltalk, "好的，请继续问我。"), nil
	case strings.HasPrefix(option, optCommunity):
		cid := strings.TrimPrefix(option, optCommunity)
		c, ok := d.Bot.guide.Community(cid)
		if !ok {
			return intake.Reply{}, fmt.Errorf("%w: unknown community %q", ErrBadOption, cid)
		}
		*community = c.ID
		if st.Flow == intake.FlowReport {
			st.Community = c.ID
			r := simpleReply(id, Report, "")
			r.Text = d.nextReportQuestion(ctx, st, &r)
			return r, nil
		}
		card := Card(c, c.TopGrid(), "")
		return intake.Reply{Type: "reply", ReplyTo: id, Decision: Contact, Text: renderCard(card), Options: []intake.Option{}, Contact: card}, nil
	case strings.HasPrefix(option, optReport):
		e, ok := d.Bot.guide.Entry(strings.TrimPrefix(option, optReport))
		if !ok {
			return intake.Reply{}, fmt.Errorf("%w: unknown topic", ErrBadOption)
		}
		*st = intake.DialogState{Flow: intake.FlowReport, Topic: e.ID, Category: e.Category, Community: *community, Emergency: e.Kind == search.KindEmergency}
		r := simpleReply(id, Report, "请简单描述一下情况：")
		st.Step = intake.StepDescribe
		r.Topic = e.ID
		return r, nil
	case option == optMenuProc:
		return simpleReply(id, Smalltalk, "请直接说您想办的事，比如“低保咋申请”“居住证要带啥材料”。"), nil
	case option == optMenuReport:
		return simpleReply(id, Smalltalk, "请直接说您遇到的问题和地点，比如“虹亚小区3号楼门口路灯不亮”。"), nil
	case option == Contact:
		dec, err := d.Bot.Decide(ctx, Message{Text: "找网格员", Community: *community})
		if err != nil {
			return intake.Reply{}, err
		}
		return reply(id, dec), nil
	}
	e, ok := d.Bot.guide.Entry(option)
	if !ok {
		return intake.Reply{}, fmt.Errorf("%w: %q", ErrBadOption, option)
	}
	dec := d.Bot.fromEntry(e, 1)
	return d.fromDecision(ctx, st, community, id, e.Title, dec)
}

// ErrBadOption is a choice the dialogue does not know.
var ErrBadOption = errors.New("unknown option")

func simpleReply(id, decision, text string) intake.Reply {
	return intake.Reply{Type: "reply", ReplyTo: id, Decision: decision, Text: text, Options: []intake.Option{}}
}

// continueFlow takes a message as the answer to the pending question. handled is false when the
// message is a new question instead (the flow is then dropped): an emergency always is.
func (d *Dialogue) continueFlow(ctx context.Context, st *intake.DialogState, community *string, id, text string, a analysis) (intake.Reply, bool, error) {
	switch st.Flow {
	case intake.FlowReport:
		return d.continueReport(ctx, st, id, text, a)
	case intake.FlowStatus:
		r, ok, err := d.tryStatus(ctx, st, id, text)
		if ok || err != nil {
			return r, true, err
		}
		if d.looksLikeQuestion(a) {
			*st = intake.DialogState{}
			return intake.Reply{}, false, nil
		}
		if st.Retries++; st.Retries > maxStepRetries {
			*st = intake.DialogState{}
			return intake.Reply{}, false, nil
		}
		return simpleReply(id, Status, "请告诉我工单号（如 20261125-0007）和手机号后四位，比如“20261125-0007 5678”。"), true, nil
	case intake.FlowHandoff:
		// Until an operator joins, a message here is treated as a new question.
		*st = intake.DialogState{}
	}
	return intake.Reply{}, false, nil
}

func (d *Dialogue) continueReport(ctx context.Context, st *intake.DialogState, id, text string, a analysis) (intake.Reply, bool, error) {
	text = strings.TrimSpace(text)
	switch st.Step {
	case intake.StepDescribe, intake.StepMessage:
		st.Description = text
	case intake.StepPlace:
		if d.looksLikeQuestion(a) {
			*st = intake.DialogState{}
			return intake.Reply{}, false, nil
		}
		st.Address = text
		if st.Community == "" {
			if places, err := d.Bot.index.SearchContacts(ctx, d.Bot.an.Normalize(text), 1); err == nil && len(places) > 0 {
				st.Community = places[0].CommunityID
			}
		}
	case intake.StepPhone:
		p, ok := intake.FindPhone(text)
		if !ok {
			if st.Retries++; st.Retries > maxStepRetries {
				*st = intake.DialogState{}
				return intake.Reply{}, false, nil
			}
			return simpleReply(id, Report, "没看清号码，请输入11位手机号，或带区号的座机号。"), true, nil
		}
		st.Phone, st.Retries = p.Full(), 0
	case intake.StepConfirm:
		// A typed yes confirms; anything else is a new question.
		if yes(text) {
			r, err := d.openTicket(ctx, st, id)
			return r, true, err
		}
		*st = intake.DialogState{}
		return intake.Reply{}, false, nil
	}
	r := simpleReply(id, Report, "")
	r.Topic = st.Topic
	r.Text = d.nextReportQuestion(ctx, st, &r)
	return r, true, nil
}

// looksLikeQuestion: an answer to "where?" or "which ticket?" that the model reads as a
// confident new question (a procedure, a status, a human) rather than the answer.
func (d *Dialogue) looksLikeQuestion(a analysis) bool {
	b := d.Bot
	if a.probs[a.best] < b.cal.Answer {
		return false
	}
	label, li := b.model.Labels[a.best], b.labels[a.best]
	return li.entry != nil && li.entry.Kind == search.KindProcedure || label == Status || label == Handoff
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
func (d *Dialogue) nextReportQuestion(ctx context.Context, st *intake.DialogState, r *intake.Reply) string {
	r.Options = []intake.Option{}
	switch {
	case st.Description == "":
		st.Step = intake.StepDescribe
		return "请简单描述一下情况："
	case st.Address == "":
		st.Step = intake.StepPlace
		if st.Community == "" {
			return "请告诉我具体地点：哪个小区、几号楼、哪个单元（或街道门牌）。"
		}
		c, _ := d.Bot.guide.Community(st.Community)
		return fmt.Sprintf("请告诉我具体地点：%s的哪个小区、几号楼、哪个单元。", c.Name)
	case st.Phone == "":
		st.Step = intake.StepPhone
		return "请留一个联系电话，方便网格员联系您（只用于处理这件事）。"
	}
	st.Step = intake.StepConfirm
	r.Options = []intake.Option{{ID: optConfirm, Label: "确认提交"}, {ID: optCancel, Label: "取消"}}
	title := "留言"
	if e, ok := d.Bot.guide.Entry(st.Topic); ok {
		title = e.Title
	}
	return fmt.Sprintf("请确认：\n事项：%s\n情况：%s\n地点：%s\n电话：%s\n确认后为您登记工单。",
		title, clip(st.Description, 100), st.Address, intake.Phone(st.Phone).Masked())
}

func (d *Dialogue) openTicket(ctx context.Context, st *intake.DialogState, id string) (intake.Reply, error) {
	info, err := d.Desk.OpenTicket(ctx, TicketRequest{
		Topic: st.Topic, Category: st.Category, Community: st.Community, Description: st.Description,
		Address: st.Address, Phone: st.Phone, Emergency: st.Emergency,
	})
	if err != nil {
		return intake.Reply{}, err
	}
	*st = intake.DialogState{}
	r := simpleReply(id, Report, fmt.Sprintf("已为您登记工单，工单号 %s，会在 %s 前办结。可以随时用工单号和手机号后四位查询进度。",
		info.Number, info.DueBy.In(intake.Beijing).Format("1月2日 15:04")))
	r.Ticket = &info
	return r, nil
}

// tryStatus looks a ticket up when the text carries a number and a phone tail.
func (d *Dialogue) tryStatus(ctx context.Context, st *intake.DialogState, id, text string) (intake.Reply, bool, error) {
	number := ticketNumberRe.FindString(text)
	rest := strings.Replace(text, number, " ", 1)
	var tail string
	if m := phoneTailRe.FindStringSubmatch(rest); m != nil {
		tail = m[1]
	}
	if number == "" || tail == "" {
		r := simpleReply(id, Status, statusText)
		return r, false, nil
	}
	info, err := d.Desk.LookupTicket(ctx, number, tail)
	if errors.Is(err, ErrNoTicket) {
		st.Retries++
		return simpleReply(id, Status, "没有找到这个工单，请核对工单号和手机号后四位。"), true, nil
	}
	if err != nil {
		return intake.Reply{}, true, err
	}
	*st = intake.DialogState{}
	var b strings.Builder
	fmt.Fprintf(&b, "工单 %s 当前状态：%s", info.Number, info.StatusLabel)
	for _, s := range info.Steps {
		fmt.Fprintf(&b, "\n%s %s", s.At.In(intake.Beijing).Format("1月2日 15:04"), s.Label)
	}
	if info.Reply != "" {
		fmt.Fprintf(&b, "\n办理结果：%s", info.Reply)
	}
	r := simpleReply(id, Status, b.String())
	r.Ticket = &info
	return r, true, nil
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
