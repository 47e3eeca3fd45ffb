package bot

import (
	"context"
	"strings"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/search"
)

// What the operator desk needs of the bot: the guide's entries and cards as messages an operator
// sends, a search box over the guide, and a report started from a whole conversation.

// EntryText is a guide entry's title and whole answer — the bot's short text, then every section
// — for an operator to send as one message.
func (b *Bot) EntryText(id string) (title, text string, ok bool) {
	e, ok := b.guide.Entry(id)
	if !ok {
		return "", "", false
	}
	return e.Title, FullText(renderEntry(e)), true
}

// CommunityCard is a community's contact card (its top grid) and its text.
func (b *Bot) CommunityCard(id string) (*intake.ContactCard, string, bool) {
	c, ok := b.guide.Community(id)
	if !ok {
		return nil, "", false
	}
	card := Card(c, c.TopGrid(), "")
	return card, renderCard(card), true
}

// GuideHit is a guide entry found for an operator's search.
type GuideHit struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Kind  string `json:"kind"`
	Text  string `json:"text"`
}

// PlaceHit is a community found for an operator's search.
type PlaceHit struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Town string `json:"town"`
}

// Lookup searches the guide as the bot reads residents (homophones, colloquial words): up to limit
// entries and communities, best first.
func (b *Bot) Lookup(ctx context.Context, query string, limit int) ([]GuideHit, []PlaceHit, error) {
	text := b.an.Normalize(query)
	entries, places := []GuideHit{}, []PlaceHit{}
	if text == "" {
		return entries, places, nil
	}
	hits, err := b.index.SearchEntries(ctx, text, limit+8) // intents are skipped
	if err != nil {
		return nil, nil, err
	}
	for _, h := range hits {
		if h.Kind == search.KindIntent || len(entries) == limit {
			continue
		}
		if e, ok := b.guide.Entry(h.ID); ok {
			entries = append(entries, GuideHit{ID: e.ID, Title: e.Title, Kind: e.Kind, Text: FullText(renderEntry(e))})
		}
	}
	cs, err := b.index.SearchContacts(ctx, text, limit)
	if err != nil {
		return nil, nil, err
	}
	seen := map[string]bool{}
	for _, h := range cs {
		if c, ok := b.guide.Community(h.CommunityID); ok && !seen[c.ID] {
			seen[c.ID] = true
			places = append(places, PlaceHit{ID: c.ID, Name: c.Name, Town: c.TownName})
		}
	}
	return entries, places, nil
}

// StartReport starts collecting a report whose description is already known (a conversation
// turned into a ticket): the dialogue goes on to ask for what is missing — the place, a phone —
// and a confirmation.
func (b *Bot) StartReport(st State, id, topic, description string) Output {
	category := "other"
	if e, ok := b.guide.Entry(topic); ok {
		category = e.Category
	} else {
		topic = ""
	}
	st.Dialog = intake.DialogState{Flow: intake.FlowReport, Topic: topic, Category: category, Description: description, Community: st.Community}
	out := Output{Reply: simpleReply(id, Report, ""), Next: st}
	out.Reply.Topic = topic
	out.Reply.Text = b.nextReportQuestion(&out.Next.Dialog, &out.Reply)
	return out
}

// Danger is the bot's reply to a message a resident sends while a person is involved (waiting for
// an operator, or talking to one), when it may tell of danger: nobody may have read it yet. ok is
// false for anything else: the message is the person's to answer. alarm is true when the model's
// own decision is an emergency (its likeliest label): the reply is the emergency's, and the
// consoles are to be alerted. Below that, at the bar at which any reply gets the numbers first,
// the reply is the numbers alone — every emergency gets them in the first reply, and an
// impatient 人呢 that reaches the bar costs a line, not an alarm.
func (b *Bot) Danger(ctx context.Context, id string, m Message) (r intake.Reply, topic string, alarm, ok bool) {
	d, err := b.Decide(ctx, m)
	switch {
	case err != nil:
		return intake.Reply{}, "", false, false
	case d.Decision == Emergency:
		return reply(id, d), d.Topic, true, true
	case strings.HasPrefix(d.Text, emergencyNumbersText):
		return simpleReply(id, Smalltalk, emergencyNumbersText), "", false, true
	}
	return intake.Reply{}, "", false, false
}
