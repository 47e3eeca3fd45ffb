// Package bot decides what to do with one resident message: answer from the guide, take a report,
// raise an emergency, find a contact, look up a case, call a human, chat, decline, or ask back.
// It depends only on the search package's guide and Index interface.
package bot

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

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

// Option is a choice offered to the resident.
type Option struct {
	ID    string `json:"id"`
	Label string `json:"label"`
}

// Decision is what the bot decided for a message.
type Decision struct {
	Decision string            `json:"decision"`
	Topic    string            `json:"topic"`
	Category string            `json:"category"`
	Score    float64           `json:"score"`
	Text     string            `json:"text"`
	Options  []Option          `json:"options"`
	More     []Section         `json:"more,omitempty"`
	Contact  *ContactCard      `json:"contact,omitempty"`
	Entry    *search.Entry     `json:"-"`
	Hits     []search.EntryHit `json:"-"`
}

// ContactCard is the community and grid a resident can turn to.
type ContactCard struct {
	Community   string          `json:"community"`
	CommunityID string          `json:"community_id"`
	Town        string          `json:"town"`
	Address     string          `json:"address,omitempty"`
	Phone       string          `json:"phone,omitempty"`
	Hours       string          `json:"hours,omitempty"`
	Compound    string          `json:"compound,omitempty"`
	Grid        string          `json:"grid,omitempty"`
	GridID      string          `json:"grid_id,omitempty"`
	Tier        string          `json:"tier,omitempty"`
	People      []search.Person `json:"people,omitempty"`
}

//go:embed intents.yaml
var intentsYAML []byte

// Intents returns the bot's own pseudo-entries (kind intent) to index beside the guide.
func Intents() ([]search.Entry, error) {
	var doc struct {
		Intents []search.Entry `yaml:"intents"`
	}
	if err := yaml.Unmarshal(intentsYAML, &doc); err != nil {
		return nil, fmt.Errorf("bot: intents.yaml: %w", err)
	}
	for i := range doc.Intents {
		doc.Intents[i].Kind = search.KindIntent
	}
	return doc.Intents, nil
}

// Bot answers residents from a guide through an index.
type Bot struct {
	guide *search.Guide
	index search.Index
	an    *zh.Analyzer
	cal   Calibration
	menu  []Option
}

// New returns a bot over a guide, an index that holds the guide's entries and the bot's Intents,
// and the analyzer the index was built with.
func New(g *search.Guide, idx search.Index, an *zh.Analyzer) *Bot {
	b := &Bot{guide: g, index: idx, an: an, cal: DefaultCalibration}
	b.menu = []Option{
		{ID: "menu:procedure", Label: "问办事（低保、医保、开证明…）"},
		{ID: "menu:report", Label: "反映问题（暖气、路灯、漏水…）"},
		{ID: Contact, Label: "找社区和网格员"},
	}
	return b
}

// Calibration holds the thresholds the decision uses; see docs/bot.md for how they were set.
type Calibration struct {
	// MinScore: a best entry scoring below it is not trusted at all (decline).
	MinScore float64
	// ClarifyBelow: a best entry below it is offered as an option rather than answered outright.
	ClarifyBelow float64
	// CloseRatio: a runner-up scoring at least this share of the best makes the bot ask which.
	CloseRatio float64
	// EmergencyRatio: an emergency entry among the next two hits at this share of the best or more
	// is taken over the best.
	EmergencyRatio float64
	// SureEmergency: an emergency entry found by search alone (no danger word matched) is acted
	// on from this score; below it the bot asks, with the emergency numbers in the question.
	SureEmergency float64
	// Scale maps a raw BM25 score to the 0..1 confidence reported: 1 - exp(-score/Scale).
	Scale float64
}

// DefaultCalibration was set on the dev set, see docs/bot.md.
var DefaultCalibration = Calibration{MinScore: 0.07, ClarifyBelow: 0.12, CloseRatio: 0.9, EmergencyRatio: 0.8, SureEmergency: 0.25, Scale: 0.5}

func (b *Bot) confidence(raw float64) float64 {
	return math.Round((1-math.Exp(-raw/b.cal.Scale))*1000) / 1000
}

// Decide decides what to do with one message.
func (b *Bot) Decide(ctx context.Context, m Message) (Decision, error) {
	if !utf8.ValidString(m.Text) {
		return Decision{}, ErrInvalidUTF8
	}
	if strings.TrimSpace(m.Text) == "" {
		return Decision{}, ErrEmpty
	}
	if utf8.RuneCountInString(m.Text) > MaxRunes {
		return Decision{}, ErrTooLong
	}
	if m.Community != "" {
		if _, ok := b.guide.Community(m.Community); !ok {
			return Decision{}, fmt.Errorf("%w %q", ErrUnknownCommunity, m.Community)
		}
	}
	text := b.an.Normalize(m.Text)
	if text == "" {
		// Emoji, punctuation: nothing to look up.
		return b.smalltalk(1), nil
	}
	if id, ok := danger(text); ok {
		if e, found := b.guide.Entry(id); found {
			return b.fromEntry(e, 1), nil
		}
	}
	if f := focus(text); f != "" {
		text = f
	}
	if statusRe.match(text) || statusEarlierRe.match(text) {
		return b.simple(Status, 1, statusText), nil
	}
	hits, err := b.index.SearchEntries(ctx, text, 8)
	if err != nil {
		return Decision{}, err
	}
	d := b.decide(ctx, m, text, hits)
	d.Hits = hits
	return d, nil
}

func (b *Bot) decide(ctx context.Context, m Message, text string, hits []search.EntryHit) Decision {
	if len(hits) == 0 || hits[0].Score < b.cal.MinScore {
		return b.decline(hits)
	}
	hits = b.plausible(text, hits)
	if len(hits) == 0 || hits[0].Score < b.cal.MinScore {
		return b.decline(hits)
	}
	top := hits[0]
	// An emergency entry close behind the best still wins: danger is never second. (Hedged
	// emergencies are already gone.)
	for _, h := range hits[1:min(3, len(hits))] {
		if h.Kind == search.KindEmergency && h.Score >= b.cal.EmergencyRatio*top.Score {
			top = h
			break
		}
	}
	conf := b.confidence(top.Score)
	if top.Kind == search.KindIntent {
		switch top.ID {
		case Contact:
			return b.contact(ctx, m, text, conf)
		case Status:
			return b.simple(Status, conf, statusText)
		case Handoff:
			return b.simple(Handoff, conf, handoffText)
		case Smalltalk:
			return b.smalltalk(conf)
		default: // offtopic-*
			return b.decline(hits)
		}
	}
	e, ok := b.guide.Entry(top.ID)
	if !ok {
		return b.decline(hits)
	}
	if e.Kind == search.KindEmergency {
		if top.Score >= b.cal.SureEmergency && namesDanger(text, e) {
			return b.fromEntry(e, conf)
		}
		// A weak match to an emergency with no danger word: ask, but give the numbers at once.
		d := b.clarify(hits, conf)
		d.Text = emergencyNumbersText + "\n" + d.Text
		return d
	}
	// Unsure: a weak best, or a runner-up nearly as good, and the resident is asked which.
	contenders := 0
	for _, h := range hits {
		if h.Kind != search.KindIntent && h.Score >= b.cal.CloseRatio*top.Score {
			contenders++
		}
	}
	if top.Score < b.cal.ClarifyBelow || contenders > 1 {
		return b.clarify(hits, conf)
	}
	return b.fromEntry(e, conf)
}

// namesDanger reports whether the text itself says one of an emergency entry's words. A match
// through sound-alikes alone (淹着了 heard as 烟着了) is not enough to send someone to 119: the
// resident is asked, with the numbers given at once.
func namesDanger(text string, e *search.Entry) bool {
	for _, k := range e.Keywords {
		if strings.Contains(text, k) {
			return true
		}
	}
	return false
}

func (b *Bot) namesDangerOf(text, id string) bool {
	e, ok := b.guide.Entry(id)
	return ok && namesDanger(text, e)
}

// plausible drops hits the text's own words rule out: an emergency entry when the text talks
// about a danger rather than being in one, and the contact intent when no person or place is
// named.
func (b *Bot) plausible(text string, hits []search.EntryHit) []search.EntryHit {
	out := hits[:0:0]
	for _, h := range hits {
		switch {
		case h.Kind == search.KindEmergency && hedged(text):
		case h.Kind == search.KindEmergency && notDanger.match(text) && !b.namesDangerOf(notDanger.replace(text, " "), h.ID):
			// The danger word is in a phrase that means something else (热得要着火了).
		case h.Kind == search.KindEmergency && h.Score < b.cal.SureEmergency && !b.namesDangerOf(text, h.ID):
			// A weak match to an emergency whose words the text does not say (WiFi连不上):
			// nothing to ask about.
		case h.Kind == search.KindIntent && h.ID == Contact && !contactTargetRe.match(text):
		default:
			out = append(out, h)
		}
	}
	return out
}

func (b *Bot) fromEntry(e *search.Entry, conf float64) Decision {
	d := Decision{Topic: e.ID, Category: e.Category, Score: conf, Entry: e, Options: []Option{}}
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
	return Decision{Decision: decision, Score: conf, Text: text, Options: []Option{}}
}

func (b *Bot) smalltalk(conf float64) Decision {
	return Decision{Decision: Smalltalk, Score: conf, Text: smalltalkText, Options: b.menu}
}

func (b *Bot) decline(hits []search.EntryHit) Decision {
	d := Decision{Decision: Decline, Text: declineText, Options: b.menu}
	if len(hits) > 0 {
		d.Score = b.confidence(hits[0].Score)
	}
	return d
}

func (b *Bot) clarify(hits []search.EntryHit, conf float64) Decision {
	d := Decision{Decision: Clarify, Score: conf, Text: clarifyText}
	for _, h := range hits {
		if h.Kind == search.KindIntent {
			continue
		}
		if e, ok := b.guide.Entry(h.ID); ok {
			d.Options = append(d.Options, Option{ID: e.ID, Label: e.Title})
		}
		if len(d.Options) == 3 {
			break
		}
	}
	if len(d.Options) > 0 {
		if e, ok := b.guide.Entry(d.Options[0].ID); ok {
			d.Topic, d.Category = e.ID, e.Category
		}
	}
	return d
}

// contact finds the community and grid for the resident: from a place named in the text, else
// from the known community, else it asks which community.
func (b *Bot) contact(ctx context.Context, m Message, text string, conf float64) Decision {
	d := Decision{Decision: Contact, Score: conf, Options: []Option{}}
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
				d.Options = append(d.Options, Option{ID: "community:" + c.ID, Label: c.TownName + " " + c.Name})
			}
		}
		return d
	}
	if comm == nil {
		d.Text = askCommunityText
		for _, c := range b.guide.Communities() {
			d.Options = append(d.Options, Option{ID: "community:" + c.ID, Label: c.TownName + " " + c.Name})
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
func Card(c *search.Community, g *search.Grid, compound string) *ContactCard {
	card := &ContactCard{
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
