package bot

import (
	"fmt"
	"strings"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/internal/i18n"
	"github.com/bayannur/hotline/search"
)

// The bot's fixed replies, in Chinese (residents get Chinese), from the catalogue (bot.*). Vars,
// not calls, since the dialogue compares texts with them (strings.TrimSuffix(…, statusText)).
var (
	statusText           = i18n.T(i18n.Zh, "bot.status")
	handoffText          = i18n.T(i18n.Zh, "bot.handoff")
	smalltalkText        = i18n.T(i18n.Zh, "bot.smalltalk")
	declineText          = i18n.T(i18n.Zh, "bot.decline")
	clarifyText          = i18n.T(i18n.Zh, "bot.clarify")
	emergencyNumbersText = i18n.T(i18n.Zh, "bot.emergency.numbers")
	askCommunityText     = i18n.T(i18n.Zh, "bot.ask_community")
	// reportQuestion closes a report entry's answer: the resident is offered a ticket at once.
	reportQuestion = i18n.T(i18n.Zh, "bot.report.question")
)

// renderEntry writes an entry's answer for a person to read on a phone: text, what the chat
// bubble shows — the short answer (an emergency's starts with the numbers and goes on with what to
// do this minute; a report's ends with the offer of a ticket) — and the sections the person may
// unfold, only those the entry has, list items numbered.
func renderEntry(e *search.Entry) (text string, more []intake.Section) {
	var b strings.Builder
	a := e.Answer
	short := strings.TrimSpace(a.Short)
	if e.Kind == search.KindEmergency && e.Emergency != nil {
		// Numbers first, and what to do now without a tap: people in danger read no further.
		if short == "" {
			b.WriteString(callNow(e.Emergency.Numbers))
		} else {
			b.WriteString(short)
		}
		b.WriteString("\n" + i18n.T(i18n.Zh, "bot.emergency.do_now"))
		for i, s := range e.Emergency.DoNow {
			fmt.Fprintf(&b, "\n%d. %s", i+1, s)
		}
	} else {
		if short == "" {
			short = a.Summary // a guide written before answer.short
		}
		b.WriteString(i18n.T(i18n.Zh, "bot.entry", "title", e.Title, "short", short))
		if e.Kind == search.KindReport {
			b.WriteString("\n\n" + reportQuestion)
		}
	}
	list := func(title string, items []string) {
		if len(items) == 0 {
			return
		}
		lines := make([]string, len(items))
		for i, it := range items {
			lines[i] = fmt.Sprintf("%d. %s", i+1, it)
		}
		more = append(more, intake.Section{Title: title, Text: strings.Join(lines, "\n")})
	}
	line := func(title string, v search.Text) {
		if v != "" {
			more = append(more, intake.Section{Title: title, Text: string(v)})
		}
	}
	if summary := strings.TrimSpace(a.Summary); summary != "" && summary != short {
		more = append(more, intake.Section{Title: i18n.T(i18n.Zh, "bot.section.summary"), Text: summary})
	}
	list(i18n.T(i18n.Zh, "bot.section.conditions"), a.Conditions)
	list(i18n.T(i18n.Zh, "bot.section.materials"), a.Materials)
	line(i18n.T(i18n.Zh, "bot.section.where"), a.Where)
	line(i18n.T(i18n.Zh, "bot.section.hours"), a.Hours)
	line(i18n.T(i18n.Zh, "bot.section.phone"), a.Phone)
	list(i18n.T(i18n.Zh, "bot.section.steps"), a.Steps)
	line(i18n.T(i18n.Zh, "bot.section.time_limit"), a.TimeLimit)
	return b.String(), more
}

// callNow is an emergency's numbers as one line, for an entry without a short answer.
func callNow(numbers []search.Number) string {
	calls := make([]string, len(numbers))
	for i, n := range numbers {
		calls[i] = n.Name + " " + n.Number
	}
	return i18n.T(i18n.Zh, "bot.emergency.call_now", "numbers", strings.Join(calls, i18n.T(i18n.Zh, "list.sep")))
}

// FullText is a reply's text with every section after it, title then text, for where nothing
// folds: a terminal, an operator's message.
func FullText(text string, more []intake.Section) string {
	if len(more) == 0 {
		return text
	}
	var b strings.Builder
	b.WriteString(text)
	b.WriteString("\n")
	for _, s := range more {
		b.WriteString("\n" + i18n.T(i18n.Zh, "bot.section", "title", s.Title) + "\n" + s.Text)
	}
	return b.String()
}

// renderTown writes a town's office and asks which of its communities.
func renderTown(t *search.Town) string {
	var b strings.Builder
	b.WriteString(t.Name)
	if t.Office.Phone != "" {
		b.WriteString("\n" + i18n.T(i18n.Zh, "bot.town.phone", "phone", t.Office.Phone))
	}
	if t.Office.Address != "" {
		b.WriteString("\n" + i18n.T(i18n.Zh, "bot.town.address", "address", t.Office.Address))
	}
	if t.Office.Hours != "" {
		b.WriteString("\n" + i18n.T(i18n.Zh, "bot.town.hours", "hours", t.Office.Hours))
	}
	var names []string
	for _, c := range t.Communities {
		names = append(names, c.Name)
	}
	if len(names) > 0 {
		b.WriteString("\n" + i18n.T(i18n.Zh, "bot.town.communities", "names", strings.Join(names, i18n.T(i18n.Zh, "list.enum"))))
	}
	b.WriteString("\n" + askCommunityText)
	return b.String()
}

// renderCard writes a contact card for a person to read.
func renderCard(c *intake.ContactCard) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", c.Town, c.Community)
	if c.Compound != "" {
		b.WriteString(i18n.T(i18n.Zh, "bot.card.compound", "compound", c.Compound))
	}
	if c.Phone != "" {
		b.WriteString("\n" + i18n.T(i18n.Zh, "bot.card.phone", "phone", c.Phone))
	}
	if c.Address != "" {
		b.WriteString("\n" + i18n.T(i18n.Zh, "bot.card.address", "address", c.Address))
	}
	if c.Hours != "" {
		b.WriteString("\n" + i18n.T(i18n.Zh, "bot.card.hours", "hours", c.Hours))
	}
	if c.Grid != "" {
		b.WriteString("\n" + i18n.T(i18n.Zh, "bot.card.grid", "grid", c.Grid, "tier", c.Tier))
	}
	for _, p := range c.People {
		fmt.Fprintf(&b, "\n%s %s %s", p.Role, p.Name, p.Phone)
		if p.Hours != "" {
			b.WriteString(i18n.T(i18n.Zh, "bot.card.person_hours", "hours", p.Hours))
		}
	}
	return b.String()
}
