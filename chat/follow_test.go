package chat_test

import (
	"context"
	"strings"
	"testing"

	"github.com/bayannur/hotline/intake"
)

// Issue 12: the resident is told the ticket's access code when it opens; a status lookup from the
// conversation that opened the ticket may use the phone's tail, any other needs the code.
func TestFollowingATicketInTheChat(t *testing.T) {
	e := newEnv(t, morning)
	e.ask("俺们楼门口的路灯坏了好几天了")
	e.ask("虹亚小区3号楼门口")
	e.ask("13812345678")
	res := e.choose("confirm", "确认提交")
	tk := res.Ticket
	if tk == nil || len(tk.AccessCode) != 6 {
		t.Fatalf("ticket %+v, want a 6-digit access code", tk)
	}
	if !strings.Contains(res.Reply.Text, "查询码 "+tk.AccessCode) || res.Reply.Ticket.AccessCode != tk.AccessCode {
		t.Errorf("ticket-opened reply %q (%+v), want the access code %s", res.Reply.Text, res.Reply.Ticket, tk.AccessCode)
	}

	found := func(r string) bool { return strings.Contains(r, "当前状态") }
	// The opening conversation: the tail will do.
	if r := e.ask("查询工单 " + tk.Number + " 5678"); !found(r.Reply.Text) {
		t.Errorf("the opening conversation with the tail: %q", r.Reply.Text)
	}

	// Another conversation: the tail is not enough, the code is.
	other := &intake.Conversation{ID: "c2", TokenHash: "h2", Community: "wy-jinqiao", Created: morning, Updated: morning}
	if err := e.store.CreateConversation(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	e.conv = other
	if r := e.ask("查询工单 " + tk.Number + " 5678"); found(r.Reply.Text) {
		t.Errorf("another conversation with the tail found the ticket: %q", r.Reply.Text)
	}
	if r := e.ask("查询工单 " + tk.Number + " " + tk.AccessCode); !found(r.Reply.Text) {
		t.Errorf("another conversation with the code: %q, want the status", r.Reply.Text)
	}
}
