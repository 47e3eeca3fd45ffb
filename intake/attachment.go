package intake

import (
	"bytes"
	"context"
	"errors"
	"time"
)

// Photos a resident attaches to a report in the chat (docs/protocol.md, "Photos"). The widget
// shrinks a photo before sending it; the server takes it only when it is one of the image types
// below, by its first bytes, and within MaxAttachmentBytes. A photo belongs to its conversation
// and, once the conversation opens a ticket, to that ticket too: staff see it with the ticket.

// Attachment limits.
const (
	// MaxAttachmentBytes is the largest photo taken (after the widget has shrunk it).
	MaxAttachmentBytes = 2 << 20
	// MaxAttachmentsPerConversation bounds what one conversation may store.
	MaxAttachmentsPerConversation = 10
)

// Attachment is one stored photo.
type Attachment struct {
	ID             string    `json:"id"`
	ConversationID string    `json:"-"`
	Ticket         string    `json:"ticket,omitempty"` // the ticket it went with; "" before one is opened
	Type           string    `json:"type"`             // image/jpeg, image/png or image/webp
	Size           int       `json:"size"`
	Created        time.Time `json:"created_at"`
	Data           []byte    `json:"-"` // the bytes; empty in lists
}

// Attachment errors.
var (
	ErrAttachmentType  = errors.New("not a JPEG, PNG or WebP image")
	ErrAttachmentSize  = errors.New("the photo is too large")
	ErrAttachmentEmpty = errors.New("the photo is empty")
	ErrTooManyPhotos   = errors.New("too many photos in this conversation")
)

// SniffImage names the image type of b by its first bytes (JPEG, PNG, WebP), whatever the
// sender claimed; ErrAttachmentType for anything else.
func SniffImage(b []byte) (string, error) {
	switch {
	case len(b) == 0:
		return "", ErrAttachmentEmpty
	case len(b) >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF:
		return "image/jpeg", nil
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png", nil
	case len(b) >= 12 && bytes.Equal(b[:4], []byte("RIFF")) && bytes.Equal(b[8:12], []byte("WEBP")):
		return "image/webp", nil
	}
	return "", ErrAttachmentType
}

// CheckAttachment is the domain's rule for a photo's bytes: not empty, within
// MaxAttachmentBytes, one of the image types. It returns the type.
func CheckAttachment(b []byte) (string, error) {
	if len(b) > MaxAttachmentBytes {
		return "", ErrAttachmentSize
	}
	return SniffImage(b)
}

// Attachments stores photos (intake/sqlite and intake/postgres implement it).
type Attachments interface {
	// AddAttachment stores a (its ID, ConversationID, Type, Size, Data and Created set by the
	// caller); intake.ErrNoConversation when the conversation is not stored.
	AddAttachment(ctx context.Context, a *Attachment) error
	// Attachment returns one photo with its bytes (ErrNotFound).
	Attachment(ctx context.Context, id string) (*Attachment, error)
	// ConversationAttachments counts a conversation's photos.
	ConversationAttachments(ctx context.Context, conversationID string) (int, error)
	// LinkAttachments gives the conversation's photos that have no ticket yet to ticket number,
	// and returns how many.
	LinkAttachments(ctx context.Context, conversationID, number string) (int, error)
	// TicketAttachments lists a ticket's photos without their bytes, oldest first.
	TicketAttachments(ctx context.Context, number string) ([]Attachment, error)
}
