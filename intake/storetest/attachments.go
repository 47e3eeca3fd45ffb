package storetest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
)

var attachmentTests = []test{
	{"Photos", testAttachments},
}

// A store that implements intake.Attachments keeps a photo with its conversation, then with the
// ticket the conversation opens; its bytes and time come back exactly.
func testAttachments(t *testing.T, s Store) {
	as, ok := s.(intake.Attachments)
	if !ok {
		t.Skip("the store does not implement intake.Attachments")
	}
	ctx := t.Context()
	at := time.Date(2026, 12, 2, 9, 30, 0, 123456789, intake.Beijing)
	createConversation(t, s, conversation("c1", at))
	createConversation(t, s, conversation("c2", at))
	jpeg := append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, bytes.Repeat([]byte{0, 1, 2, 0xFF}, 1000)...)
	if err := as.AddAttachment(ctx, &intake.Attachment{ID: "ghost-1", ConversationID: "ghost", Type: "image/jpeg", Data: jpeg, Created: at}); !errors.Is(err, intake.ErrNoConversation) {
		t.Errorf("a photo of an unknown conversation: %v; want ErrNoConversation", err)
	}
	add := func(id, conv string, at time.Time) {
		t.Helper()
		a := &intake.Attachment{ID: id, ConversationID: conv, Type: "image/jpeg", Data: jpeg, Created: at}
		if err := as.AddAttachment(ctx, a); err != nil {
			t.Fatalf("AddAttachment(%s): %v", id, err)
		}
		if a.Size != len(jpeg) {
			t.Errorf("size %d; want %d", a.Size, len(jpeg))
		}
	}
	add("p2", "c1", at.Add(time.Second))
	add("p1", "c1", at)
	add("p3", "c2", at)
	if n, err := as.ConversationAttachments(ctx, "c1"); n != 2 || err != nil {
		t.Errorf("ConversationAttachments(c1) = %d, %v; want 2", n, err)
	}
	got, err := as.Attachment(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Data, jpeg) || got.Type != "image/jpeg" || got.Size != len(jpeg) || !got.Created.Equal(at) ||
		got.Created.Location() != time.UTC || got.ConversationID != "c1" || got.Ticket != "" {
		t.Errorf("Attachment(p1) = %+v (%d bytes); want it as stored", got, len(got.Data))
	}
	if _, err := as.Attachment(ctx, "nope"); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("an unknown photo: %v; want ErrNotFound", err)
	}
	if l, err := as.TicketAttachments(ctx, "20261202-0001"); err != nil || len(l) != 0 {
		t.Errorf("TicketAttachments before linking = %v, %v; want none", l, err)
	}
	if n, err := as.LinkAttachments(ctx, "c1", "20261202-0001"); n != 2 || err != nil {
		t.Errorf("LinkAttachments = %d, %v; want 2", n, err)
	}
	add("p4", "c1", at.Add(time.Minute)) // after the ticket: for the next one
	if n, err := as.LinkAttachments(ctx, "c1", "20261202-0002"); n != 1 || err != nil {
		t.Errorf("LinkAttachments again = %d, %v; want the one photo since", n, err)
	}
	l, err := as.TicketAttachments(ctx, "20261202-0001")
	if err != nil || len(l) != 2 || l[0].ID != "p1" || l[1].ID != "p2" || l[0].Data != nil || l[0].Ticket != "20261202-0001" {
		t.Errorf("TicketAttachments = %+v, %v; want p1, p2 without bytes", l, err)
	}
	if l, _ := as.TicketAttachments(ctx, ""); len(l) != 0 {
		t.Errorf("TicketAttachments(\"\") = %v; want none", l)
	}
}
