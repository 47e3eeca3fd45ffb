package intake_test

import (
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
)

// chatLog builds a conversation's turns a few seconds apart from t0: each step is who speaks and,
// for the bot, its decision (options after a comma), for the system the agent who took the chat.
type chatLog struct {
	at    time.Time
	turns []intake.Turn
}

func (l *chatLog) after(d time.Duration) *chatLog { l.at = l.at.Add(d); return l }

func (l *chatLog) resident(id string) *chatLog {
	l.turns = append(l.turns, intake.Turn{At: l.at, From: "resident", Text: id})
	return l
}

func (l *chatLog) bot(replyTo, decision string, options ...string) *chatLog {
	r := &intake.Reply{Type: "reply", ReplyTo: replyTo, Decision: decision}
	for _, o := range options {
		r.Options = append(r.Options, intake.Option{ID: o})
	}
	l.turns = append(l.turns, intake.Turn{At: l.at, From: "bot", Reply: r})
	return l
}

func (l *chatLog) system(agent string) *chatLog {
	l.turns = append(l.turns, intake.Turn{At: l.at, From: "system", Agent: agent})
	return l
}

func (l *chatLog) operator() *chatLog {
	l.turns = append(l.turns, intake.Turn{At: l.at, From: "operator", Agent: "0007"})
	return l
}

func TestChatFigures(t *testing.T) {
	day1 := time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC) // 10:00 Beijing
	day2 := day1.Add(24 * time.Hour)
	rec := func(id, handoff string, l *chatLog, tickets []time.Time, votes map[string]bool) intake.ConversationRecord {
		return intake.ConversationRecord{ID: id, Created: l.turns[0].At, Handoff: handoff, Turns: l.turns, Tickets: tickets, Votes: votes}
	}
	var recs []intake.ConversationRecord
	// 1. Answered, voted 👍: resolved.
	recs = append(recs, rec("answered", "", (&chatLog{at: day1}).resident("a").bot("a", "answer"), nil, map[string]bool{"a": true}))
	// 2. Answered, voted 👎: not resolved.
	recs = append(recs, rec("unhelpful", "", (&chatLog{at: day1}).resident("a").bot("a", "answer"), nil, map[string]bool{"a": false}))
	// 3. Answered, then a ticket: not resolved.
	l3 := (&chatLog{at: day1}).resident("a").bot("a", "answer").after(time.Minute).resident("b").bot("b", "report")
	recs = append(recs, rec("ticket", "", l3, []time.Time{l3.at}, nil))
	// 4. Answered, then a person asked for, taken after 30 s, first message 50 s after asking.
	l4 := (&chatLog{at: day1}).resident("a").bot("a", "answer").after(time.Minute).resident("b").bot("b", "handoff", "keep_bot").
		after(30 * time.Second).system("0007").after(20 * time.Second).operator()
	recs = append(recs, rec("handoff", "live", l4, nil, nil))
	// 5. A person asked for, taken after 90 s, first message 120 s after asking.
	l5 := (&chatLog{at: day1}).resident("a").bot("a", "handoff", "keep_bot").after(90 * time.Second).system("0008").after(30 * time.Second).operator()
	recs = append(recs, rec("slow", "live", l5, nil, nil))
	// 6. Asked, then went back to the bot before anyone came: abandoned; and an answer after it
	// resolves the conversation.
	l6 := (&chatLog{at: day1}).resident("a").bot("a", "handoff", "keep_bot").after(time.Minute).resident("b").bot("b", "smalltalk").
		after(time.Minute).resident("c").bot("c", "answer")
	recs = append(recs, rec("gaveup", "", l6, nil, nil))
	// 7. Asked, nobody came: the sweep's system line (no agent): abandoned.
	l7 := (&chatLog{at: day1}).resident("a").bot("a", "handoff", "keep_bot").after(3 * time.Minute).system("")
	recs = append(recs, rec("nobody", "offered", l7, nil, nil))
	// 8. Asked out of hours: offered a ticket, never in the queue.
	recs = append(recs, rec("closed", "offered", (&chatLog{at: day1}).resident("a").bot("a", "handoff", "handoff_ticket", "keep_bot"), nil, nil))
	// 9. Still waiting.
	recs = append(recs, rec("waiting", "waiting", (&chatLog{at: day1}).resident("a").bot("a", "handoff", "keep_bot"), nil, nil))
	// 10, 11. Emergencies on day 1 (taken after 40 s) and day 2 (taken after 3 minutes, the bot
	// collecting the place meanwhile), 12. one on day 2 nobody has taken.
	recs = append(recs, rec("fire1", "live", (&chatLog{at: day1}).resident("a").bot("a", "emergency").after(40*time.Second).system("0007"), nil, nil))
	l11 := (&chatLog{at: day2}).resident("a").bot("a", "emergency").after(time.Minute).resident("b").bot("b", "report").after(2 * time.Minute).system("0007")
	recs = append(recs, rec("fire2", "live", l11, nil, nil))
	recs = append(recs, rec("fire3", "waiting", (&chatLog{at: day2}).resident("a").bot("a", "emergency"), nil, nil))

	got := intake.ChatFigures(recs)
	if got.Conversations != 12 || got.Answered != 5 || got.Resolved != 2 {
		t.Errorf("conversations %d answered %d resolved %d; want 12, 5, 2 (the 👍 answer and the answer after giving up)",
			got.Conversations, got.Answered, got.Resolved)
	}
	if got.Resolution == nil || *got.Resolution != 2.0/12 {
		t.Errorf("resolution %v; want 2/12", got.Resolution)
	}
	if got.Handoffs != 5 || got.Taken != 2 || got.Abandoned != 2 || got.Waiting != 1 {
		t.Errorf("handoffs %d taken %d abandoned %d waiting %d; want 5, 2, 2, 1 (the out-of-hours offer is none)",
			got.Handoffs, got.Taken, got.Abandoned, got.Waiting)
	}
	if got.AbandonedShare == nil || *got.AbandonedShare != 0.5 {
		t.Errorf("abandoned share %v; want 0.5", got.AbandonedShare)
	}
	secs := func(p *float64) float64 {
		if p == nil {
			return -1
		}
		return *p
	}
	if secs(got.WaitP50) != 30 || secs(got.WaitP90) != 90 {
		t.Errorf("wait p50 %v p90 %v; want 30 s and 90 s", secs(got.WaitP50), secs(got.WaitP90))
	}
	if secs(got.FirstResponseP50) != 50 || secs(got.FirstResponseP90) != 120 {
		t.Errorf("first response p50 %v p90 %v; want 50 s and 120 s", secs(got.FirstResponseP50), secs(got.FirstResponseP90))
	}
	if len(got.Emergencies) != 2 {
		t.Fatalf("emergencies %+v; want two days", got.Emergencies)
	}
	e1, e2 := got.Emergencies[0], got.Emergencies[1]
	if e1.Day != "2026-11-30" || e1.Emergencies != 1 || e1.Taken != 1 || secs(e1.ToOperatorP50) != 40 {
		t.Errorf("day 1: %+v; want 1 emergency taken after 40 s", e1)
	}
	if e2.Day != "2026-12-01" || e2.Emergencies != 2 || e2.Taken != 1 || secs(e2.ToOperatorMax) != 180 {
		t.Errorf("day 2: %+v; want 2 emergencies, 1 taken after 180 s", e2)
	}

	empty := intake.ChatFigures(nil)
	if empty.Resolution != nil || empty.WaitP50 != nil || empty.AbandonedShare != nil || empty.Emergencies == nil {
		t.Errorf("no conversations: %+v; want no rates (nil) and an empty list", empty)
	}
}
