package storetest

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
)

// What the dashboard and the metrics read (intake.Reports).

var reportTests = []test{
	{"TicketsCreated", testTicketsCreated},
	{"OverdueCounts", testOverdueCounts},
	{"ChatStats", testChatStats},
	{"Feedback", testFeedback},
	{"ConversationRecords", testConversationRecords},
}

// update stores a change of tk made by edit, as the next version.
func update(t *testing.T, s Store, tk *intake.Ticket, action intake.Action, edit func(*intake.Ticket)) {
	t.Helper()
	edit(tk)
	tk.Version++
	if err := s.Update(t.Context(), tk, intake.Event{At: tk.Updated, Actor: "system", Action: action}); err != nil {
		t.Fatalf("Update(%s): %v", tk.Number, err)
	}
}

// TicketsCreated gives every ticket created in [from, to), as it is now, oldest first.
func testTicketsCreated(t *testing.T, s Store) {
	ctx := t.Context()
	from := time.Date(2026, 8, 1, 0, 0, 0, 0, intake.Beijing)
	to := from.Add(24 * time.Hour)
	mk := func(created time.Time) *intake.Ticket {
		tk := Ticket(created)
		create(t, s, tk)
		return tk
	}
	mk(from.Add(-time.Nanosecond))
	atFrom := mk(from)
	full := fullTicket(from.Add(6*time.Hour + 123456789))
	create(t, s, full)
	last := mk(to.Add(-time.Nanosecond))
	mk(to)
	mk(to.Add(48 * time.Hour))
	lateArrival := mk(from.Add(time.Hour)) // created early, stored last
	update(t, s, atFrom, intake.ActDispatch, func(tk *intake.Ticket) {
		tk.Status, tk.Grid, tk.Updated = intake.Dispatched, "g1", from.Add(2*time.Hour)
	})

	got, err := s.TicketsCreated(ctx, from, to)
	if err != nil {
		t.Fatal(err)
	}
	var numbers []string
	for _, tk := range got {
		numbers = append(numbers, tk.Number)
	}
	if want := []string{atFrom.Number, lateArrival.Number, full.Number, last.Number}; !reflect.DeepEqual(numbers, want) {
		t.Fatalf("TicketsCreated = %v; want %v: those created in [from, to), oldest first", numbers, want)
	}
	if !reflect.DeepEqual(got[0], inUTC(atFrom)) {
		t.Errorf("updated ticket:\n got %+v\nwant %+v, as it is now", got[0], inUTC(atFrom))
	}
	if !reflect.DeepEqual(got[2], inUTC(full)) {
		t.Errorf("full ticket:\n got %+v\nwant %+v", got[2], inUTC(full))
	}

	// The same instants given in another zone select the same tickets.
	got, err = s.TicketsCreated(ctx, from.UTC(), to.UTC())
	if err != nil || len(got) != 4 {
		t.Errorf("in UTC: %d tickets, %v; want 4", len(got), err)
	}
	got, err = s.TicketsCreated(ctx, to.Add(time.Hour), to.Add(2*time.Hour))
	if err != nil || len(got) != 0 {
		t.Errorf("an empty period: %d tickets, %v; want none", len(got), err)
	}
}

// OverdueCounts counts the open tickets marked overdue by category and tier, as they are now.
func testOverdueCounts(t *testing.T, s Store) {
	ctx := t.Context()
	if got, err := s.OverdueCounts(ctx); err != nil || len(got) != 0 {
		t.Errorf("OverdueCounts of an empty store = %v, %v; want none", got, err)
	}
	now := time.Date(2026, 9, 1, 9, 0, 0, 0, intake.Beijing)
	mk := func(category string, tier intake.Tier, status intake.Status, overdue bool) *intake.Ticket {
		tk := Ticket(now)
		tk.Category, tk.Tier, tk.Status, tk.Overdue = category, tier, status, overdue
		create(t, s, tk)
		return tk
	}
	for _, st := range intake.Statuses {
		mk("water", intake.TierGrid, st, true) // counted when open: received, dispatched, signed, in_progress, returned
		mk("water", intake.TierGrid, st, false)
	}
	mk("roads", intake.TierGrid, intake.InProgress, true)
	mk("roads", intake.TierGrid, intake.Dispatched, true)
	mk("roads", intake.TierCommunity, intake.Signed, true)
	mk("roads", intake.TierTown, intake.Resolved, true) // done: not counted
	mk("roads", intake.TierTown, intake.Received, false)
	late := mk("heating", intake.TierTown, intake.InProgress, false)
	done := mk("heating", intake.TierCommunity, intake.InProgress, true)
	escalated := mk("roads", intake.TierGrid, intake.InProgress, true)

	// What is stored now counts: marked overdue, resolved, escalated a tier.
	update(t, s, late, intake.ActOverdue, func(tk *intake.Ticket) { tk.Overdue, tk.Updated = true, now.Add(time.Hour) })
	update(t, s, done, intake.ActResolve, func(tk *intake.Ticket) { tk.Status, tk.Updated = intake.Resolved, now.Add(time.Hour) })
	update(t, s, escalated, intake.ActEscalate, func(tk *intake.Ticket) { tk.Tier, tk.Updated = intake.TierCommunity, now.Add(time.Hour) })

	got, err := s.OverdueCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(a, b intake.OverdueCount) int {
		return strings.Compare(a.Category+"/"+string(a.Tier), b.Category+"/"+string(b.Tier))
	})
	want := []intake.OverdueCount{
		{Category: "heating", Tier: intake.TierTown, N: 1},
		{Category: "roads", Tier: intake.TierCommunity, N: 2},
		{Category: "roads", Tier: intake.TierGrid, N: 2},
		{Category: "water", Tier: intake.TierGrid, N: 5},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("OverdueCounts = %+v; want %+v", got, want)
	}
}

// ChatStats counts the conversations started in [from, to), and of them those the bot settled
// alone: that never asked for a person (even if back with the bot since) and opened no ticket.
func testChatStats(t *testing.T, s Store) {
	ctx := t.Context()
	from := time.Date(2026, 10, 1, 0, 0, 0, 0, intake.Beijing)
	to := from.Add(24 * time.Hour)
	if st, err := s.ChatStats(ctx, from, to); err != nil || st != (intake.ChatStats{}) {
		t.Errorf("ChatStats of an empty store = %+v, %v; want zeros", st, err)
	}
	mk := func(id string, created time.Time) {
		createConversation(t, s, conversation(id, created))
		said(t, s, id, created)
	}
	// Without a question of the resident's, a conversation counts in neither figure.
	createConversation(t, s, conversation("silent", from.Add(time.Minute)))
	createConversation(t, s, conversation("bot-only", from.Add(2*time.Minute)))
	if err := s.AddTurns(ctx, "bot-only", []intake.Turn{{From: "system", Text: "您好", At: from.Add(2 * time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	mk("settled", from)                      // at from: counted
	mk("settled-late", to.Add(-time.Second)) // talked on past to: counted by when it started
	mk("waited", from.Add(time.Hour))        // asked for a person, then went back to the bot
	mk("served", from.Add(2*time.Hour))      // asked, was served, released
	mk("offered", from.Add(3*time.Hour))     // out of hours: offered a ticket at once
	mk("ticket", from.Add(4*time.Hour))      // opened a ticket
	mk("before", from.Add(-time.Nanosecond)) // not in the period
	mk("at-to", to)                          // not in the period
	mk("before-ticket", from.Add(-time.Hour))

	at := from.Add(5 * time.Hour)
	setHandoff(t, s, "waited", []string{intake.HandoffNone}, "", intake.HandoffChange{State: intake.HandoffWaiting, At: at}, true)
	setHandoff(t, s, "waited", []string{intake.HandoffWaiting}, "", intake.HandoffChange{State: intake.HandoffNone, At: at.Add(time.Minute)}, true)
	setHandoff(t, s, "served", []string{intake.HandoffNone}, "", intake.HandoffChange{State: intake.HandoffWaiting, At: at}, true)
	setHandoff(t, s, "served", []string{intake.HandoffWaiting}, "", intake.HandoffChange{State: intake.HandoffLive, Operator: "op", At: at.Add(time.Minute)}, true)
	setHandoff(t, s, "served", []string{intake.HandoffLive}, "op", intake.HandoffChange{State: intake.HandoffNone, At: at.Add(2 * time.Minute)}, true)
	setHandoff(t, s, "offered", []string{intake.HandoffNone}, "", intake.HandoffChange{State: intake.HandoffOffered, At: at}, true)
	for _, id := range []string{"ticket", "before-ticket"} {
		tk := Ticket(at)
		tk.ConversationID = id
		create(t, s, tk)
	}
	// A refused handoff change is no handoff.
	setHandoff(t, s, "settled", []string{intake.HandoffWaiting}, "", intake.HandoffChange{State: intake.HandoffLive, Operator: "op", At: at}, false)

	st, err := s.ChatStats(ctx, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if want := (intake.ChatStats{Conversations: 6, Settled: 2}); st != want {
		t.Errorf("ChatStats = %+v; want %+v", st, want)
	}
	if st, err := s.ChatStats(ctx, from.Add(-2*time.Hour), from); err != nil || st != (intake.ChatStats{Conversations: 2, Settled: 1}) {
		t.Errorf("ChatStats of the hours before = %+v, %v; want 2 conversations, 1 settled", st, err)
	}
}

// said stores a resident's turn in conversation id: a conversation with a question.
func said(t *testing.T, s Store, id string, at time.Time) {
	t.Helper()
	if err := s.AddTurns(t.Context(), id, []intake.Turn{{From: "resident", Text: "路灯坏了", At: at}}); err != nil {
		t.Fatalf("AddTurns(%s): %v", id, err)
	}
}

// AddFeedback keeps one vote per answer (a conversation's message), the last; FeedbackByTopic
// counts the votes given in [from, to) by topic, least helpful first.
func testFeedback(t *testing.T, s Store) {
	ctx := t.Context()
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, intake.Beijing)
	to := from.Add(time.Hour)
	for _, id := range []string{"c1", "c2"} {
		createConversation(t, s, conversation(id, from))
	}
	if got, err := s.FeedbackByTopic(ctx, from, to); err != nil || len(got) != 0 {
		t.Errorf("FeedbackByTopic with no votes = %v, %v; want none", got, err)
	}
	if err := s.AddFeedback(ctx, intake.Feedback{ConversationID: "ghost", MessageID: "m", Topic: "x", At: from}); !errors.Is(err, intake.ErrNoConversation) {
		t.Errorf("feedback in an unknown conversation: %v; want ErrNoConversation", err)
	}
	vote := func(conv, msg, topic string, helpful bool, at time.Time) {
		t.Helper()
		if err := s.AddFeedback(ctx, intake.Feedback{ConversationID: conv, MessageID: msg, Topic: topic, Helpful: helpful, At: at}); err != nil {
			t.Fatalf("AddFeedback(%s, %s): %v", conv, msg, err)
		}
	}
	vote("c1", "m1", "dibao", false, from) // at from: counted
	vote("c1", "m2", "dibao", true, from.Add(2*time.Minute))
	vote("c2", "m1", "water", false, from.Add(3*time.Minute)) // another conversation's m1: another vote
	vote("c2", "m2", "water", false, from.Add(4*time.Minute))
	vote("c2", "m3", "water", true, from.Add(5*time.Minute))
	vote("c1", "m3", "tax", true, from.Add(5*time.Minute))
	vote("c1", "m4", "tax", false, from.Add(-time.Nanosecond)) // before the period
	vote("c2", "m4", "tax", false, to)                         // at to: after the period
	// A second vote on an answer replaces the first.
	vote("c2", "m5", "lights", false, from.Add(10*time.Minute))
	vote("c2", "m5", "lights", true, from.Add(20*time.Minute))
	// ... and counts when it was given.
	vote("c1", "m5", "parks", true, from.Add(30*time.Minute))
	vote("c1", "m5", "parks", false, to.Add(time.Hour))

	byTopic := func(from, to time.Time) []intake.TopicFeedback {
		t.Helper()
		got, err := s.FeedbackByTopic(ctx, from, to)
		if err != nil {
			t.Fatal(err)
		}
		// Least helpful first: the share of unhelpful votes never rises down the list.
		for i := 1; i < len(got); i++ {
			a, b := got[i-1], got[i]
			if a.Unhelpful*(b.Helpful+b.Unhelpful) < b.Unhelpful*(a.Helpful+a.Unhelpful) {
				t.Errorf("FeedbackByTopic = %+v: %s (%d/%d unhelpful) before %s (%d/%d); want the least helpful first",
					got, a.Topic, a.Unhelpful, a.Helpful+a.Unhelpful, b.Topic, b.Unhelpful, b.Helpful+b.Unhelpful)
			}
		}
		slices.SortFunc(got, func(a, b intake.TopicFeedback) int { return strings.Compare(a.Topic, b.Topic) })
		return got
	}
	want := []intake.TopicFeedback{
		{Topic: "dibao", Helpful: 1, Unhelpful: 1},
		{Topic: "lights", Helpful: 1, Unhelpful: 0},
		{Topic: "tax", Helpful: 1, Unhelpful: 0},
		{Topic: "water", Helpful: 1, Unhelpful: 2},
	}
	if got := byTopic(from, to); !reflect.DeepEqual(got, want) {
		t.Errorf("FeedbackByTopic = %+v; want %+v", got, want)
	}
	want = []intake.TopicFeedback{{Topic: "parks", Helpful: 0, Unhelpful: 1}, {Topic: "tax", Helpful: 0, Unhelpful: 1}}
	if got := byTopic(to, to.Add(2*time.Hour)); !reflect.DeepEqual(got, want) {
		t.Errorf("FeedbackByTopic of the next hours = %+v; want %+v: the changed vote counts when it was given", got, want)
	}
	if got := byTopic(from.Add(-time.Hour), to.Add(2*time.Hour)); len(got) != 5 {
		t.Errorf("FeedbackByTopic of the whole time = %+v; want 5 topics", got)
	} else if total := func() (n int) {
		for _, f := range got {
			n += f.Helpful + f.Unhelpful
		}
		return n
	}(); total != 10 {
		t.Errorf("%d votes in all; want 10, one per answer", total)
	}
}

// ConversationRecords gives each conversation of the period with a question of the resident's,
// oldest first, with every turn as stored (the reply, the agent), its tickets' creation times and
// its votes.
func testConversationRecords(t *testing.T, s Store) {
	ctx := t.Context()
	from := time.Date(2026, 10, 3, 0, 0, 0, 0, intake.Beijing)
	to := from.Add(24 * time.Hour)
	if recs, err := s.ConversationRecords(ctx, from, to); err != nil || len(recs) != 0 {
		t.Errorf("ConversationRecords of an empty period = %+v, %v; want none", recs, err)
	}
	createConversation(t, s, conversation("rec-silent", from.Add(time.Minute))) // no question: left out
	createConversation(t, s, conversation("rec-b", from.Add(2*time.Hour)))
	createConversation(t, s, conversation("rec-a", from.Add(time.Hour)))
	createConversation(t, s, conversation("rec-out", to)) // not in the period
	said(t, s, "rec-out", to)
	at := from.Add(time.Hour)
	turns := []intake.Turn{
		{At: at, From: "resident", Text: "低保怎么申请"},
		{At: at.Add(time.Second), From: "bot", Text: "…", Reply: &intake.Reply{Type: "reply", ReplyTo: "m1", Decision: "answer", Topic: "dibao", Options: []intake.Option{}}},
		{At: at.Add(time.Minute), From: "system", Agent: "0007", Text: "工作人员（工号 0007）已接入"},
		{At: at.Add(2 * time.Minute), From: "operator", Agent: "0007", Text: "您好"},
	}
	if err := s.AddTurns(ctx, "rec-a", turns); err != nil {
		t.Fatal(err)
	}
	said(t, s, "rec-b", from.Add(2*time.Hour))
	if err := s.AddFeedback(ctx, intake.Feedback{ConversationID: "rec-a", MessageID: "m1", Topic: "dibao", Helpful: false, At: at.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	tk := Ticket(at.Add(3 * time.Minute))
	tk.ConversationID = "rec-a"
	create(t, s, tk)
	setHandoff(t, s, "rec-b", []string{intake.HandoffNone}, "", intake.HandoffChange{State: intake.HandoffWaiting, At: at}, true)

	recs, err := s.ConversationRecords(ctx, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].ID != "rec-a" || recs[1].ID != "rec-b" {
		t.Fatalf("ConversationRecords = %+v; want rec-a and rec-b, oldest first", recs)
	}
	a, b := recs[0], recs[1]
	if !a.Created.Equal(from.Add(time.Hour)) || a.Handoff != intake.HandoffNone || b.Handoff != intake.HandoffWaiting {
		t.Errorf("rec-a created %v handoff %q, rec-b handoff %q", a.Created, a.Handoff, b.Handoff)
	}
	if len(a.Turns) != 4 || a.Turns[1].Reply == nil || a.Turns[1].Reply.Decision != "answer" || a.Turns[1].Reply.ReplyTo != "m1" ||
		a.Turns[2].Agent != "0007" || a.Turns[3].From != "operator" || !a.Turns[3].At.Equal(at.Add(2*time.Minute)) {
		t.Errorf("rec-a turns = %+v", a.Turns)
	}
	if len(a.Tickets) != 1 || !a.Tickets[0].Equal(at.Add(3*time.Minute)) {
		t.Errorf("rec-a tickets = %v; want one at %v", a.Tickets, at.Add(3*time.Minute))
	}
	if helpful, ok := a.Votes["m1"]; !ok || helpful {
		t.Errorf("rec-a votes = %v; want m1 unhelpful", a.Votes)
	}
	if len(b.Turns) != 1 || len(b.Tickets) != 0 || len(b.Votes) != 0 {
		t.Errorf("rec-b = %+v; want one turn, no ticket, no vote", b)
	}
}
