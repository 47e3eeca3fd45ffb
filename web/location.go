package web

import (
	"math"

	"github.com/bayannur/hotline/bot"
	"github.com/bayannur/hotline/internal/i18n"
)

// The resident's location (docs/protocol.md, "Location"): the widget's 使用我的位置 sends
// {"type":"location","id":"…","lat":40.74,"lng":107.39}; the connection keeps it and gives it to
// the next ticket the conversation opens (chat.Message's Lat and Lng), and answers
// {"type":"location","reply_to":"…","ok":true}. It is not stored before a ticket takes it: a
// reconnecting widget sends it again. Sent while the bot asks where a reported problem is, it
// answers that question too ("answered": true, and the bot's reply to the same id).

type location struct{ la, ln float64 }

func (l *location) lat() *float64 {
	if l == nil {
		return nil
	}
	v := l.la
	return &v
}

func (l *location) lng() *float64 {
	if l == nil {
		return nil
	}
	v := l.ln
	return &v
}

type locationFrame struct {
	Type    string `json:"type"` // location
	ReplyTo string `json:"reply_to,omitempty"`
	OK      bool   `json:"ok"`
	// Answered: the location answered the report's question where; the bot's next question
	// follows as a reply to the same id.
	Answered bool `json:"answered,omitempty"`
}

func (c *chatConn) location(f clientFrame) {
	if c.conv == nil {
		c.fail(errBadType, i18n.Both("error.hello_first"), f.ID)
		return
	}
	if !c.signals.Allow() {
		c.fail(errRateLimited, i18n.Both("error.sending_too_fast"), f.ID)
		return
	}
	if f.Lat == nil || f.Lng == nil || math.IsNaN(*f.Lat) || math.IsNaN(*f.Lng) ||
		*f.Lat < -90 || *f.Lat > 90 || *f.Lng < -180 || *f.Lng > 180 {
		c.fail("bad_location", i18n.Both("error.bad_location"), f.ID)
		return
	}
	c.place = &location{*f.Lat, *f.Lng}
	id := f.ID
	if len(id) > chatMaxID {
		id = ""
	}
	// Asked where the problem is, the resident's location is the answer: the bot goes on to what
	// the report still lacks, as if the place had been typed (chat.location.label in the history;
	// an emergency report goes on so while the resident waits for an operator).
	answers := bot.AwaitsPlace(c.conv.State)
	c.queueJSON(locationFrame{Type: "location", ReplyTo: id, OK: true, Answered: answers})
	if answers {
		c.message(clientFrame{Type: "choose", ID: id, Option: bot.PlaceOptionFor(*f.Lat, *f.Lng)})
	}
}
