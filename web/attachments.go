package web

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/internal/i18n"
)

// Photos residents attach to their reports (docs/protocol.md, "Photos"):
//
//	POST /api/v1/chat/attachments                     the photo's bytes as the body, the chat's
//	                                                  session token in X-Hotline-Session
//	GET  /api/v1/tickets/{number}/attachments         staff: the ticket's photos (no bytes)
//	GET  /api/v1/tickets/{number}/attachments/{id}    staff: one photo
//	GET  /api/v1/chats/{conversation}/attachments/{id} the desk: a photo in a chat's transcript
//
// A photo is taken from the conversation the session token names (the one the widget got in its
// welcome), kept with it, shown in it as the resident's turn (📷 照片, naming the photo: an operator
// holding the chat sees it at once), and given to the ticket the conversation opens
// (attachOnCreate). Staff see a ticket's photos as they see the ticket: a grid worker only its own
// grid's; the desk sees a chat's photos as it sees the chat.

// sessionHeader carries the chat's session token on an upload.
const sessionHeader = "X-Hotline-Session"

func (s *Server) mountAttachments() {
	s.handle("POST /api/v1/chat/attachments", s.uploadAttachment)
	s.handle("OPTIONS /api/v1/chat/attachments", s.uploadPreflight)
	if s.users != nil {
		s.handle("GET /api/v1/tickets/{number}/attachments", s.staff(s.ticketAttachments, ticketReaders...))
		s.handle("GET /api/v1/tickets/{number}/attachments/{id}", s.staff(s.ticketAttachment, ticketReaders...))
		s.handle("GET /api/v1/chats/{conversation}/attachments/{id}", s.staff(s.chatAttachment, deskRoles...))
	}
	s.intake.Observe(s.attachOnCreate)
}

// uploadCORS lets a page of an allowed origin (Config.Origins, which may open the chat) upload:
// the widget runs in other sites' pages. It reports false, having answered 403, for any other
// origin.
func (s *Server) uploadCORS(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if !s.chatOriginAllowed(r) {
		writeError(w, http.StatusForbidden, "forbidden_origin", i18n.Both("error.chat_origin"))
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	return true
}

func (s *Server) uploadPreflight(w http.ResponseWriter, r *http.Request) {
	if !s.uploadCORS(w, r) {
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "POST")
	h.Set("Access-Control-Allow-Headers", "Content-Type, "+sessionHeader)
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// uploadAttachment takes one photo: 401 for an unknown session, 413 over the size, 415 for what is
// not a JPEG, PNG or WebP by its bytes, 409 past the conversation's count.
func (s *Server) uploadAttachment(w http.ResponseWriter, r *http.Request) {
	if !s.uploadCORS(w, r) {
		return
	}
	if !s.ticketLimit.allow(clientIP(r)) {
		tooMany(w)
		return
	}
	token := r.Header.Get(sessionHeader)
	if token == "" || len(token) > chatMaxSession {
		writeError(w, http.StatusUnauthorized, "unknown_session", i18n.Both("error.photo_session"))
		return
	}
	if r.ContentLength > intake.MaxAttachmentBytes {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", i18n.Both("error.photo_too_large", "max", intake.MaxAttachmentBytes>>20))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	now := s.now()
	conv, err := s.convs.ConversationByToken(ctx, HashToken(token), now.Add(-chatResumeWithin))
	if errors.Is(err, intake.ErrNoConversation) {
		writeError(w, http.StatusUnauthorized, "unknown_session", i18n.Both("error.photo_session"))
		return
	}
	if err != nil {
		s.internal(w, "upload: the session", err)
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, intake.MaxAttachmentBytes+1))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig) || len(data) > intake.MaxAttachmentBytes:
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", i18n.Both("error.photo_too_large", "max", intake.MaxAttachmentBytes>>20))
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, "bad_request", "reading the body: "+err.Error())
		return
	}
	typ, err := intake.CheckAttachment(data)
	switch {
	case errors.Is(err, intake.ErrAttachmentEmpty):
		writeError(w, http.StatusBadRequest, "empty", i18n.Both("error.photo_empty"))
		return
	case err != nil:
		writeError(w, http.StatusUnsupportedMediaType, "bad_type", i18n.Both("error.photo_type"))
		return
	}
	n, err := s.attachments.ConversationAttachments(ctx, conv.ID)
	if err != nil {
		s.internal(w, "upload: counting", err)
		return
	}
	if n >= intake.MaxAttachmentsPerConversation {
		writeError(w, http.StatusConflict, "too_many", i18n.Both("error.photo_too_many", "max", intake.MaxAttachmentsPerConversation))
		return
	}
	a := &intake.Attachment{ID: rand.Text(), ConversationID: conv.ID, Type: typ, Data: data, Created: now}
	if err := s.attachments.AddAttachment(ctx, a); err != nil {
		if errors.Is(err, intake.ErrNoConversation) {
			writeError(w, http.StatusUnauthorized, "unknown_session", i18n.Both("error.photo_session"))
			return
		}
		s.internal(w, "upload: storing", err)
		return
	}
	s.log.Info("chat photo stored", "type", typ, "bytes", len(data))
	s.photoTurn(ctx, conv, a)
	writeJSON(w, http.StatusCreated, a)
}

// photoTurn puts a stored photo in the conversation as the resident's turn, so that the history,
// the transcript and an operator holding or about to take the chat show it where it was sent.
// The photo is kept (and goes with the ticket) even when the turn cannot be added.
func (s *Server) photoTurn(ctx context.Context, conv *intake.Conversation, a *intake.Attachment) {
	turn := intake.Turn{At: a.Created, From: "resident", Text: i18n.T(i18n.Zh, "chat.photo.label"), Attachment: a.ID}
	if err := s.convs.AddTurns(ctx, conv.ID, []intake.Turn{turn}); err != nil {
		s.log.Error("chat photo: its turn", "err", err)
		return
	}
	if h, err := s.convs.HandoffOf(ctx, conv.ID); err != nil || h == intake.HandoffNone {
		return
	}
	// A person is involved: the consoles see it at once.
	s.toOperators(turnFrame{Type: "turn", Conversation: conv.ID, Turn: turn})
	s.broadcastState()
}

// attachOnCreate gives a new ticket the photos its conversation holds (the intake observer).
func (s *Server) attachOnCreate(t *intake.Ticket, ev intake.Event) {
	// Creation's last event: create, or dispatch when the ticket was dispatched as it was made
	// (as ticketChanged tells them).
	created := ev.Action == intake.ActCreate || ev.Action == intake.ActDispatch && ev.From == intake.Received && t.Version == 1
	if !created || t.ConversationID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), chatMessageTime)
	defer cancel()
	if n, err := s.attachments.LinkAttachments(ctx, t.ConversationID, t.Number); err != nil {
		s.log.Error("photos: giving them to a new ticket", "ticket", t.Number, "err", err)
	} else if n > 0 {
		s.log.Info("photos given to a ticket", "ticket", t.Number, "photos", n)
	}
}

// attachmentView is a photo in a ticket's list: its own URL to read it by.
type attachmentView struct {
	intake.Attachment
	URL string `json:"url"`
}

func (s *Server) ticketAttachments(w http.ResponseWriter, r *http.Request) {
	t, _, ok := s.staffTicket(w, r, staffUser(r))
	if !ok {
		return
	}
	as, err := s.attachments.TicketAttachments(r.Context(), t.Number)
	if err != nil {
		s.internal(w, "ticket photos", err)
		return
	}
	out := make([]attachmentView, len(as))
	for i, a := range as {
		out[i] = attachmentView{a, "/api/v1/tickets/" + t.Number + "/attachments/" + a.ID}
	}
	writeJSON(w, http.StatusOK, map[string]any{"attachments": out})
}

func (s *Server) ticketAttachment(w http.ResponseWriter, r *http.Request) {
	t, _, ok := s.staffTicket(w, r, staffUser(r))
	if !ok {
		return
	}
	a, err := s.attachments.Attachment(r.Context(), r.PathValue("id"))
	if errors.Is(err, intake.ErrNotFound) || err == nil && a.Ticket != t.Number {
		writeError(w, http.StatusNotFound, "not_found", i18n.Both("error.photo_not_found"))
		return
	}
	if err != nil {
		s.internal(w, "ticket photo", err)
		return
	}
	s.servePhoto(w, r, a)
}

// chatAttachment is a photo of a chat, for the desk (operators and managers) that sees the chat:
// the console shows it in the transcript, before any ticket takes it.
func (s *Server) chatAttachment(w http.ResponseWriter, r *http.Request) {
	a, err := s.attachments.Attachment(r.Context(), r.PathValue("id"))
	if errors.Is(err, intake.ErrNotFound) || err == nil && a.ConversationID != r.PathValue("conversation") {
		writeError(w, http.StatusNotFound, "not_found", i18n.Both("error.photo_not_found"))
		return
	}
	if err != nil {
		s.internal(w, "chat photo", err)
		return
	}
	s.servePhoto(w, r, a)
}

// servePhoto writes a stored photo: only an image, sandboxed, never sniffed as anything else.
func (s *Server) servePhoto(w http.ResponseWriter, r *http.Request, a *intake.Attachment) {
	typ, err := intake.SniffImage(a.Data) // the stored type, checked again: only images leave here
	if err != nil || !strings.HasPrefix(typ, "image/") {
		s.internal(w, "photo", errors.New("a stored photo is not an image"))
		return
	}
	h := w.Header()
	h.Set("Content-Type", typ)
	h.Set("Content-Length", strconv.Itoa(len(a.Data)))
	h.Set("Cache-Control", "private, max-age=3600")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Content-Disposition", "inline")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(a.Data)
	}
}
