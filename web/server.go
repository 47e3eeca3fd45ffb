// Package web turns HTTP requests into calls on the bot (and, in later issues, on intake): the
// resident API, the health check, and the pages.
package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/bayannur/hotline/bot"
)

// MaxBodyBytes bounds a JSON request body.
const MaxBodyBytes = 16 << 10

// Server serves the HTTP API. It answers health checks at once and asks once its bot is ready:
// until SetBot is called, /api/v1/ask answers 503 with Retry-After.
type Server struct {
	bot atomic.Pointer[bot.Bot]
	log *slog.Logger
	mux *http.ServeMux
}

// New returns a server with no bot yet.
func New(log *slog.Logger) *Server {
	s := &Server{log: log, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.HandleFunc("POST /api/v1/ask", s.ask)
	return s
}

// SetBot makes the server answer with b.
func (s *Server) SetBot(b *bot.Bot) { s.bot.Store(b) }

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "ready": s.bot.Load() != nil})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.bot.Load() == nil {
		writeError(w, http.StatusServiceUnavailable, "starting", "正在启动，请稍后再试")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready"})
}

// AskRequest is the body of POST /api/v1/ask.
type AskRequest struct {
	Text      *string `json:"text"`
	Community string  `json:"community"`
}

func (s *Server) ask(w http.ResponseWriter, r *http.Request) {
	b := s.bot.Load()
	if b == nil {
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "starting", "正在启动，请稍后再试")
		return
	}
	var req AskRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if req.Text == nil {
		writeError(w, http.StatusBadRequest, "missing_field", `missing field "text"`)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	d, err := b.Decide(ctx, bot.Message{Text: *req.Text, Community: req.Community})
	switch {
	case errors.Is(err, bot.ErrEmpty), errors.Is(err, bot.ErrTooLong), errors.Is(err, bot.ErrInvalidUTF8):
		writeError(w, http.StatusBadRequest, "invalid_text", err.Error())
		return
	case err != nil:
		s.log.Error("ask failed", "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "内部错误，请稍后再试")
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// decodeJSON reads one JSON object from a bounded body, answering 400/413 itself on failure.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", "request body too large")
		case errors.Is(err, io.EOF):
			writeError(w, http.StatusBadRequest, "invalid_json", "empty body")
		default:
			writeError(w, http.StatusBadRequest, "invalid_json", "invalid JSON: "+err.Error())
		}
		return false
	}
	// The rest of the body must be white space, and the whole body within the limit.
	rest, err := io.ReadAll(io.MultiReader(dec.Buffered(), r.Body))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "request body too large")
		return false
	case err != nil:
		writeError(w, http.StatusBadRequest, "invalid_json", "reading body: "+err.Error())
		return false
	case len(bytes.TrimSpace(rest)) > 0:
		writeError(w, http.StatusBadRequest, "invalid_json", "trailing data after the JSON object")
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"error": msg, "code": code})
}
