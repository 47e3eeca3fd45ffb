package web_test

import (
	"errors"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/web"
)

// A hello alone stores nothing: the conversation is stored at its first message, so a flood of
// empty chats costs no rows and moves no figure of the dashboard; a session whose conversation
// was never stored starts a new one; resuming after a first message works.
func TestChatStoredAtFirstMessage(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	ctx := t.Context()
	const hellos = 200
	var tokens []string
	for range hellos {
		c := e.dial()
		tokens = append(tokens, c.hello("", "wy-jinqiao").Session)
		c.ws.Close()
	}
	stats := func() intake.ChatStats {
		t.Helper()
		now := time.Now()
		st, err := e.store.ChatStats(ctx, now.Add(-time.Hour), now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	for _, tok := range tokens {
		if conv, err := e.store.ConversationByToken(ctx, web.HashToken(tok), time.Time{}); !errors.Is(err, intake.ErrNoConversation) {
			t.Fatalf("a hello without a message stored conversation %+v, %v", conv, err)
		}
	}
	if st := stats(); st != (intake.ChatStats{}) {
		t.Errorf("ChatStats after %d empty hellos = %+v; want zeros", hellos, st)
	}

	// An unstored session starts afresh.
	c := e.dial()
	w := c.hello(tokens[0], "")
	if w.Resumed || w.Session == tokens[0] || len(w.History) != 0 {
		t.Fatalf("a never stored session got %s; want a new conversation", w)
	}
	session := w.Session
	if f := c.ask("低保咋申请"); f.Type != "reply" {
		t.Fatalf("first message got %s", f)
	}
	c.ws.Close()
	if st := stats(); st != (intake.ChatStats{Conversations: 1, Settled: 1}) {
		t.Errorf("ChatStats after one question = %+v; want 1 conversation, settled", st)
	}

	// Resuming after the first message: the history, and the conversation goes on.
	c = e.dial()
	w = c.hello(session, "")
	if !w.Resumed || w.Session != session || len(w.History) != 2 || w.History[0].Text != "低保咋申请" {
		t.Fatalf("resume after the first message got %s", w)
	}
	if f := c.ask("俺们虹亚小区3号楼门口路灯坏了"); f.Type != "reply" {
		t.Fatalf("after resuming got %s", f)
	}
	c.ws.Close()
	c = e.dial()
	if w = c.hello(session, ""); !w.Resumed || len(w.History) != 4 {
		t.Fatalf("second resume got %s, want 4 turns", w)
	}
	if st := stats(); st.Conversations != 1 {
		t.Errorf("ChatStats = %+v; want still 1 conversation", st)
	}
}
