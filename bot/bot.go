// Package bot decides what to do with one resident message: answer from the guide, take a report,
// raise an emergency, find a contact, look up a case, call a human, chat, decline, or ask back.
// It depends only on the search package's guide and Index interface; its decision is a model
// learned from the guide's labelled messages (train.go, model/).
package bot

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/bayannur/hotline/bot/model"
	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/internal/i18n"
	"github.com/bayannur/hotline/search"
	"github.com/bayannur/hotline/search/zh"
)

// Decisions.
const (
	Answer    = "answer"
	Report    = "report"
	Emergency = "emergency"
	Contact   = "contact"
	Status    = "status"
	Handoff   = "handoff"
	Smalltalk = "smalltalk"
	Decline   = "decline"
	Clarify   = "clarify"
)

// labelNone is the model's label for messages out of scope.
const labelNone = "none"

// MaxRunes is the longest message the bot reads.
const MaxRunes = 2000

// Errors for messages the bot will not read.
var (
	ErrEmpty       = errors.New("empty message")
	ErrTooLong     = fmt.Errorf("message longer than %d characters", MaxRunes)
	ErrInvalidUTF8 = errors.New("message is not valid UTF-8")
	// ErrUnknownCommunity is returned for a Message.Community the guide does not have.
	ErrUnknownCommunity = errors.New("unknown community")
)

// Message is one resident message with what is known of its context.
type Message struct {
	Text      string
	Community string // the resident's community id, when known
}

// Decision is what the bot decided for a message.
type Decision struct {
	Decision string              `json:"decision"`
	Topic    string              `json:"topic"`
	Category string              `json:"category"`
	Score    float64             `json:"score"`
	Text     string              `json:"text"`
	Options  []intake.Option     `json:"options"`
	More     []intake.Section    `json:"more,omitempty"`
	Contact  *intake.ContactCard `json:"contact,omitempty"`
	Entry    *search.Entry       `json:"-"`
	// Labels are the model's three most probable labels, for tuning.
	Labels []Scored `json:"-"`
}

// Bot answers residents from a guide: a model learned from the guide's labelled messages decides
// what a message is about, the index finds places and communities for contacts.
type Bot struct {
	guide  *search.Guide
	index  search.Index
	an     *zh.Analyzer
	feat   *featurizer
	model  *model.Model
	cal    Calibration
	menu   []intake.Option
	labels []labelInfo // per model class
	chat   []chatReply // the smalltalk intents' answers
}

// chatReply is a smalltalk intent's answer, for smalltalk that holds its keywords.
type chatReply struct {
	keys   []string // normalised as messages are
	answer string
}

// labelInfo is what the bot knows of one of the model's labels.
type labelInfo struct {
	entry     *search.Entry // nil for contact, status, handoff, smalltalk, none
	emergency bool
	names     []string // a procedure's keywords, normalised, less those that ask after anything filed
}

// Calibration holds the thresholds the decision uses (search.Calibration, the guide's
// calibration.yaml): chosen by cross-validation (CrossValidate), never by hand.
type Calibration = search.Calibration

// DefaultCalibration is used for a guide without calibration.yaml.
var DefaultCalibration = Calibration{Temperature: 0.1, Answer: 0.5, Emergency: 0.05}

// New trains the bot's model on a guide and returns the bot. idx holds the guide's places (for
// contacts) and entries (for the console's search); an is the analyzer it was built with.
func New(g *search.Guide, idx search.Index, an *zh.Analyzer) (*Bot, error) {
	return NewKept(g, idx, an, nil)
}

// ModelStore keeps trained models between starts (bot/modelfile keeps them in a directory). A
// model is kept under a key naming all that training read; the store adds what else sets a model
// apart (the program's build).
type ModelStore interface {
	Load(key string) ([]byte, error) // an error when none is kept
	Keep(key string, model []byte) error
}

// NewKept is New with the trained model kept in store (none when nil): a node restarted on the
// same guide loads its model instead of training it again. A model that cannot be loaded or
// decoded is trained anew and kept in its place; one that cannot be kept costs only the next
// start's training.
func NewKept(g *search.Guide, idx search.Index, an *zh.Analyzer, store ModelStore) (*Bot, error) {
	cal := DefaultCalibration
	if g.Calibration != nil {
		cal = *g.Calibration
	}
	all := trainingSet(g, an)
	l := newLearner(g, an, all)
	m, err := trained.get(l, all, store)
	if err != nil {
		return nil, fmt.Errorf("bot: training: %w", err)
	}
	return newBot(g, idx, an, l.feat, m, cal), nil
}

func newBot(g *search.Guide, idx search.Index, an *zh.Analyzer, feat *featurizer, m *model.Model, cal Calibration) *Bot {
	b := &Bot{guide: g, index: idx, an: an, feat: feat, model: m, cal: cal}
	b.menu = []intake.Option{
		{ID: optMenuProc, Label: i18n.T(i18n.Zh, "bot.menu.procedure")},
		{ID: optMenuReport, Label: i18n.T(i18n.Zh, "bot.menu.report")},
		{ID: Contact, Label: i18n.T(i18n.Zh, "bot.menu.contact")},
	}
	// The words that ask after something filed (工单, 进度) name no procedure's application.
	statusWords := map[string]bool{}
	for _, in := range g.Intents {
		if in.Label == Status {
			for _, k := range in.Keywords {
				statusWords[an.Normalize(k)] = true
			}
		}
	}
	for _, l := range m.Labels {
		var li labelInfo
		if e, ok := g.Entry(l); ok {
			li = labelInfo{entry: e, emergency: e.Kind == search.KindEmergency}
			if e.Kind == search.KindProcedure {
				for _, k := range e.Keywords {
					if k = an.Normalize(k); k != "" && !statusWords[k] {
						li.names = append(li.names, k)
					}
				}
			}
		}
		b.labels = append(b.labels, li)
	}
	for _, in := range g.Intents {
		if in.Label != Smalltalk || in.Answer == "" {
			continue
		}
		r := chatReply{answer: in.Answer}
		for _, k := range in.Keywords {
			if k = an.Normalize(k); k != "" {
				r.keys = append(r.keys, k)
			}
		}
		b.chat = append(b.chat, r)
	}
	return b
}

// analysis is what the model makes of one message: read once, used by every step after.
type analysis struct {
	text      string    // normalised
	scores    []float64 // per model label: the model's decision values
	probs     []float64 // per model label: their softmax
	best      int       // the most probable label
	emergency float64   // the probability that it is an emergency, any of them
	worst     int       // the most probable emergency label, -1 when the guide has none
	known     int       // features of characters, syllables and words in letters the model has seen
}

func (b *Bot) analyse(text string) analysis {
	doc, nText := b.feat.features(text)
	scores := b.model.Scores(doc)
	a := analysis{text: text, scores: scores, probs: model.Softmax(scores, b.cal.Temperature), worst: -1, known: b.model.Known(doc[:nText])}
	for i, p := range a.probs {
		if p > a.probs[a.best] {
			a.best = i
		}
		if b.labels[i].emergency {
			a.emergency += p
			if a.worst < 0 || p > a.probs[a.worst] {
				a.worst = i
			}
		}
	}
	return a
}

func (a analysis) conf() float64 { return math.Round(a.probs[a.best]*1000) / 1000 }

// check validates a message as every entry point must.
func (b *Bot) check(m Message) error {
	if !utf8.ValidString(m.Text) {
		return ErrInvalidUTF8
	}
	if strings.TrimSpace(m.Text) == "" {
		return ErrEmpty
	}
	if utf8.RuneCountInString(m.Text) > MaxRunes {
		return ErrTooLong
	}
	if m.Community != "" {
		if _, ok := b.guide.Community(m.Community); !ok {
			return fmt.Errorf("%w %q", ErrUnknownCommunity, m.Community)
		}
	}
	return nil
}

// Decide decides what to do with one message.
func (b *Bot) Decide(ctx context.Context, m Message) (Decision, error) {
	if err := b.check(m); err != nil {
		return Decision{}, err
	}
	if err := ctx.Err(); err != nil {
		return Decision{}, err
	}
	text := b.an.Normalize(m.Text)
	if text == "" {
		// Emoji, punctuation: nothing to look up.
		return b.smalltalk(1, ""), nil
	}
	return b.decide(ctx, m, b.analyse(text)), nil
}

// decide acts on the model's reading of a message.
func (b *Bot) decide(ctx context.Context, m Message, a analysis) Decision {
	if a.known == 0 { // no Chinese, no pinyin, no word the model has seen: numbers, codes, strange words
		return b.decline(a)
	}
	label, li := b.model.Labels[a.best], b.labels[a.best]
	sure := b.sure(a)
	var d Decision
	switch {
	case li.emergency:
		// Danger is never asked about: the numbers go out at once.
		d = b.fromEntry(li.entry, a.conf())
	case label == labelNone:
		d = b.decline(a)
	case !sure || label == Clarify:
		d = b.clarify(a)
	case li.entry != nil:
		d = b.fromEntry(li.entry, a.conf())
	case label == Contact:
		d = b.contact(ctx, m, a.text, a.conf())
	case label == Status:
		d = b.status(a)
	case label == Handoff:
		d = b.simple(Handoff, a.conf(), handoffText)
	default:
		d = b.smalltalk(a.conf(), a.text)
	}
	if d.Decision != Emergency && a.emergency >= b.cal.Emergency {
		// It may be an emergency: whatever else is said, the numbers come first.
		d.Text = emergencyNumbersText + "\n" + d.Text
		if d.Decision == Clarify && a.worst >= 0 {
			// The likeliest emergency is offered first.
			e := b.labels[a.worst].entry
			opts := []intake.Option{{ID: e.ID, Label: e.Title}}
			for _, o := range d.Options {
				if o.ID != e.ID && len(opts) < 3 {
					opts = append(opts, o)
				}
			}
			d.Options = opts
		}
	}
	d.Labels = b.top(a, 3)
	return d
}

// top returns the n most probable labels of an analysis, for tuning and the console.
func (b *Bot) top(a analysis, n int) []Scored {
	// The n best kept in order as they come, a later label after an earlier one of the same P.
	out := make([]Scored, 0, n+1)
	for i, p := range a.probs {
		s := Scored{Label: b.model.Labels[i], P: math.Round(p*1000) / 1000}
		at := len(out)
		for at > 0 && out[at-1].P < s.P {
			at--
		}
		if at < n {
			out = slices.Insert(out, at, s)[:min(len(out)+1, n)]
		}
	}
	return out
}

// Scored is a label with its probability.
type Scored struct {
	Label string  `json:"label"`
	P     float64 `json:"p"`
}

func (b *Bot) fromEntry(e *search.Entry, conf float64) Decision {
	d := Decision{Topic: e.ID, Category: e.Category, Score: conf, Entry: e, Options: []intake.Option{}}
	switch e.Kind {
	case search.KindEmergency:
		d.Decision = Emergency
	case search.KindReport:
		d.Decision = Report
	default:
		d.Decision = Answer
	}
	d.Text, d.More = renderEntry(e)
	return d
}

func (b *Bot) simple(decision string, conf float64, text string) Decision {
	return Decision{Decision: decision, Score: conf, Text: text, Options: []intake.Option{}}
}

// status asks for a ticket's number and access code. When the message asks after an application
// (残疾证的申请交上去一个月了 批下来没: the label the model scores next is a guide procedure, and
// one of its keywords that the status intent does not share is in the message), it first says
// how long that procedure takes and whom to ask, from the entry, and names the procedure in
// Topic: an application is not a ticket, and its number is not what the resident has.
func (b *Bot) status(a analysis) Decision {
	d := b.simple(Status, a.conf(), statusText)
	next := -1
	for i := range a.scores {
		if i != a.best && (next < 0 || a.scores[i] > a.scores[next]) {
			next = i
		}
	}
	if next < 0 {
		return d
	}
	li := b.labels[next]
	if !slices.ContainsFunc(li.names, func(k string) bool { return strings.Contains(a.text, k) }) {
		return d
	}
	e := li.entry
	var lines []string
	if t := strings.TrimRight(string(e.Answer.TimeLimit), "。；; "); t != "" {
		lines = append(lines, i18n.T(i18n.Zh, "bot.status.procedure", "title", e.Title, "time", t))
	}
	if p := strings.TrimSpace(string(e.Answer.Phone)); p != "" {
		lines = append(lines, i18n.T(i18n.Zh, "bot.status.procedure_phone", "phone", p))
	} else {
		lines = append(lines, i18n.T(i18n.Zh, "bot.status.procedure_grid"))
	}
	d.Topic, d.Category = e.ID, e.Category
	d.Text = strings.Join(lines, "") + "\n" + statusText
	return d
}

// smalltalk answers a greeting, a thanks, a goodbye (text normalised): with the answer of the
// smalltalk intent whose keywords cover most of the text (the first of equals), or, when none
// has a keyword in it, with the bot's greeting.
func (b *Bot) smalltalk(conf float64, text string) Decision {
	answer, most := smalltalkText, 0
	for _, r := range b.chat {
		n := 0
		for _, k := range r.keys {
			if strings.Contains(text, k) {
				n += utf8.RuneCountInString(k)
			}
		}
		if n > most {
			answer, most = r.answer, n
		}
	}
	return Decision{Decision: Smalltalk, Score: conf, Text: answer, Options: b.menu}
}

func (b *Bot) decline(a analysis) Decision {
	return Decision{Decision: Decline, Text: declineText, Options: b.menu, Score: a.conf()}
}

// clarify asks which of the likeliest topics the resident means: the three guide topics the model
// scores highest (by score, not probability: when the message is too vague for any topic, the
// probabilities of all topics are next to nothing, their scores still rank them).
func (b *Bot) clarify(a analysis) Decision {
	d := Decision{Decision: Clarify, Score: a.conf(), Text: clarifyText, Options: []intake.Option{}}
	var topics []int
	for i, li := range b.labels {
		if li.entry != nil {
			topics = append(topics, i)
		}
	}
	sort.SliceStable(topics, func(x, y int) bool { return a.scores[topics[x]] > a.scores[topics[y]] })
	for _, i := range topics[:min(3, len(topics))] {
		e := b.labels[i].entry
		d.Options = append(d.Options, intake.Option{ID: e.ID, Label: e.Title})
	}
	if len(d.Options) > 0 {
		if e, ok := b.guide.Entry(d.Options[0].ID); ok {
			d.Topic, d.Category = e.ID, e.Category
		}
	}
	return d
}

// communityOption is a community in a picker: its name, under its town (the widget groups the
// options by town and lets the resident search them).
func communityOption(c *search.Community) intake.Option {
	return intake.Option{ID: optCommunity + c.ID, Label: c.Name, Group: c.TownName}
}

// contact finds the community and grid for the resident: from a place named in the text, else
// from the known community, else it asks which community.
func (b *Bot) contact(ctx context.Context, m Message, text string, conf float64) Decision {
	d := Decision{Decision: Contact, Score: conf, Options: []intake.Option{}}
	var comm *search.Community
	var grid *search.Grid
	compound := ""
	// A town named alone (乌拉山镇的社区电话) is not any one of its communities: look for a
	// place without the town's name, and only within that town.
	town, query := b.townNamed(text)
	places, err := b.index.SearchContacts(ctx, query, 3)
	if err != nil {
		places = nil // the contact is still found by the known community, or asked for
	}
	for _, p := range places {
		if c, ok := b.guide.Community(p.CommunityID); ok && (town == nil || c.TownID == town.ID) {
			comm, compound = c, p.Compound
			if g, ok := c.Grid(p.GridID); ok {
				grid = g
			}
			break
		}
	}
	if comm == nil && m.Community != "" {
		if c, ok := b.guide.Community(m.Community); ok && (town == nil || c.TownID == town.ID) {
			comm, grid = c, c.TopGrid()
		}
	}
	if comm == nil && town != nil {
		d.Text = renderTown(town)
		for _, c := range b.guide.Communities() {
			if c.TownID == town.ID {
				d.Options = append(d.Options, communityOption(c))
			}
		}
		return d
	}
	if comm == nil {
		d.Text = askCommunityText
		for _, c := range b.guide.Communities() {
			d.Options = append(d.Options, communityOption(c))
		}
		return d
	}
	if grid == nil {
		grid = comm.TopGrid()
	}
	d.Contact = Card(comm, grid, compound)
	d.Text = renderCard(d.Contact)
	return d
}

// townNamed returns the town whose name or alias (the longest found) the text names, and the text
// without it; or nil and the text unchanged.
func (b *Bot) townNamed(text string) (*search.Town, string) {
	var town *search.Town
	name := ""
	for i := range b.guide.Towns {
		t := &b.guide.Towns[i]
		for _, n := range append([]string{t.Name}, t.Aliases...) {
			if len(n) > len(name) && strings.Contains(text, n) {
				town, name = t, n
			}
		}
	}
	if town == nil {
		return nil, text
	}
	return town, strings.ReplaceAll(text, name, " ")
}

// Card builds the contact card of a community and one of its grids.
func Card(c *search.Community, g *search.Grid, compound string) *intake.ContactCard {
	card := &intake.ContactCard{
		Community: c.Name, CommunityID: c.ID, Town: c.TownName,
		Address: c.Address, Phone: c.Phone, Hours: c.Hours, Compound: compound,
	}
	if g != nil {
		card.Grid, card.GridID, card.Tier = g.Name, g.ID, g.Tier
		card.People = append(card.People, g.People...)
		if g.Tier != search.TierTotal {
			// The 社区书记 is always worth knowing too.
			if top := c.TopGrid(); top != nil {
				for _, p := range top.People {
					if p.Role == "社区书记" {
						card.People = append(card.People, p)
					}
				}
			}
		}
	}
	return card
}
