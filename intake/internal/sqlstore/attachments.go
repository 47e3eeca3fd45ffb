package sqlstore

import (
	"context"

	"github.com/bayannur/hotline/intake"
)

// Residents' photos (intake.Attachments): the same SQL in both dialects but for the time column
// and the bytes' type, which the migrations set (BLOB, bytea).

// AddAttachment stores a photo of a stored conversation (intake.ErrNoConversation otherwise).
func (s Shared) AddAttachment(ctx context.Context, a *intake.Attachment) error {
	d := s.Read.Dialect
	args, err := d.TimeArgs("attachment time", a.Created)
	if err != nil {
		return err
	}
	cols := "id, conversation_id, ticket, content_type, size, data, " + d.Time("created")
	args = append([]any{a.ID, a.ConversationID, a.Ticket, a.Type, len(a.Data), a.Data}, args...)
	err = s.Write(ctx, func(ctx context.Context, db DB) error {
		_, err := db.Exec(ctx, "INSERT INTO attachments ("+cols+") VALUES ("+Placeholders(cols)+")", args...)
		if db.conn.Kind(err) == ForeignKey {
			return intake.ErrNoConversation
		}
		return err
	})
	if err == nil {
		a.Size = len(a.Data)
	}
	return s.Wrap("add attachment", err)
}

func (d Dialect) attachmentCols() string {
	return "id, conversation_id, ticket, content_type, size, " + d.Time("created")
}

func scanAttachment(d Dialect, r Row, data *[]byte) (intake.Attachment, error) {
	var a intake.Attachment
	var created when
	dest := append([]any{&a.ID, &a.ConversationID, &a.Ticket, &a.Type, &a.Size}, d.dest(&created)...)
	if data != nil {
		dest = append(dest, data)
	}
	if err := r.Scan(dest...); err != nil {
		return a, err
	}
	a.Created = created.time()
	return a, nil
}

// Attachment returns one photo with its bytes (intake.ErrNotFound).
func (s Shared) Attachment(ctx context.Context, id string) (*intake.Attachment, error) {
	db := s.Read
	var data []byte
	a, err := scanAttachment(db.Dialect, db.QueryRow(ctx, "SELECT "+db.attachmentCols()+", data FROM attachments WHERE id = ?", id), &data)
	if err != nil {
		return nil, s.one("attachment", err, intake.ErrNotFound)
	}
	a.Data = data
	return &a, nil
}

// ConversationAttachments counts a conversation's photos.
func (s Shared) ConversationAttachments(ctx context.Context, conversationID string) (int, error) {
	var n int
	err := s.Read.QueryRow(ctx, "SELECT count(*) FROM attachments WHERE conversation_id = ?", conversationID).Scan(&n)
	return n, s.Wrap("count attachments", err)
}

// LinkAttachments gives the conversation's photos without a ticket to number.
func (s Shared) LinkAttachments(ctx context.Context, conversationID, number string) (int, error) {
	var n int64
	err := s.Write(ctx, func(ctx context.Context, db DB) error {
		var err error
		n, err = db.Exec(ctx, "UPDATE attachments SET ticket = ? WHERE conversation_id = ? AND ticket = ''", number, conversationID)
		return err
	})
	return int(n), s.Wrap("link attachments", err)
}

// TicketAttachments lists a ticket's photos, without their bytes, oldest first.
func (s Shared) TicketAttachments(ctx context.Context, number string) ([]intake.Attachment, error) {
	db := s.Read
	as, err := All(ctx, db, func(r Row) (intake.Attachment, error) { return scanAttachment(db.Dialect, r, nil) },
		"SELECT "+db.attachmentCols()+" FROM attachments WHERE ticket = ? AND ticket <> '' ORDER BY "+db.Time("created")+", id", number)
	if err != nil {
		return nil, s.Wrap("ticket attachments", err)
	}
	return as, nil
}
