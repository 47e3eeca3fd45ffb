package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/internal/i18n"
)

// Canned replies (常用语) and the guide search box of the console. Every staff member reads them;
// managers (and admins) edit canned replies.

const (
	maxCannedTitle = 40
	maxCannedText  = 1000
	maxGuideHits   = 8
)

func (s *Server) mountCanned() {
	readers := []intake.Role{intake.RoleOperator, intake.RoleManager, intake.RoleGridWorker}
	s.handle("GET /api/v1/guide/search", s.staff(s.guideSearch, readers...))
	if s.canned == nil {
		return
	}
	s.handle("GET /api/v1/canned", s.staff(s.listCanned, readers...))
	s.handle("POST /api/v1/canned", s.staff(s.addCanned, intake.RoleManager))
	s.handle("PUT /api/v1/canned/{id}", s.staff(s.updateCanned, intake.RoleManager))
	s.handle("DELETE /api/v1/canned/{id}", s.staff(s.deleteCanned, intake.RoleManager))
}

func (s *Server) listCanned(w http.ResponseWriter, r *http.Request) {
	list, err := s.canned.ListCanned(r.Context())
	if err != nil {
		s.internal(w, "list canned replies", err)
		return
	}
	writeJSON(w, http.StatusOK, list)
}

// cannedFrom reads and checks a canned reply from the body; false when it answered an error.
func cannedFrom(w http.ResponseWriter, r *http.Request) (intake.CannedReply, bool) {
	var body struct {
		Title string `json:"title"`
		Text  string `json:"text"`
	}
	if !decodeJSON(w, r, &body) {
		return intake.CannedReply{}, false
	}
	c := intake.CannedReply{Title: strings.TrimSpace(body.Title), Text: strings.TrimSpace(body.Text), UpdatedBy: staffUser(r).Name}
	field, reason := "", ""
	switch {
	case c.Title == "" || utf8.RuneCountInString(c.Title) > maxCannedTitle:
		field, reason = "title", "1 to 40 characters"
	case c.Text == "" || utf8.RuneCountInString(c.Text) > maxCannedText:
		field, reason = "text", "1 to 1,000 characters"
	}
	if field != "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": field + ": " + reason, "code": "invalid", "field": field})
		return c, false
	}
	return c, true
}

func (s *Server) addCanned(w http.ResponseWriter, r *http.Request) {
	c, ok := cannedFrom(w, r)
	if !ok {
		return
	}
	c.Updated = s.now()
	if err := s.canned.AddCanned(r.Context(), &c); err != nil {
		s.writeIntakeError(w, err)
		return
	}
	s.log.Info("canned reply added", "user", c.UpdatedBy, "id", c.ID)
	writeJSON(w, http.StatusCreated, c)
}

func cannedID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		writeError(w, http.StatusNotFound, "not_found", i18n.Both("error.no_canned"))
		return 0, false
	}
	return id, true
}

func (s *Server) updateCanned(w http.ResponseWriter, r *http.Request) {
	id, ok := cannedID(w, r)
	if !ok {
		return
	}
	c, ok := cannedFrom(w, r)
	if !ok {
		return
	}
	c.ID, c.Updated = id, s.now()
	if err := s.canned.UpdateCanned(r.Context(), &c); err != nil {
		s.writeCannedError(w, err)
		return
	}
	s.log.Info("canned reply changed", "user", c.UpdatedBy, "id", c.ID)
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) deleteCanned(w http.ResponseWriter, r *http.Request) {
	id, ok := cannedID(w, r)
	if !ok {
		return
	}
	if err := s.canned.DeleteCanned(r.Context(), id); err != nil {
		s.writeCannedError(w, err)
		return
	}
	s.log.Info("canned reply deleted", "user", staffUser(r).Name, "id", id)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) writeCannedError(w http.ResponseWriter, err error) {
	if errors.Is(err, intake.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", i18n.Both("error.no_canned"))
		return
	}
	s.writeIntakeError(w, err)
}

// guideResults is the answer of GET /api/v1/guide/search.
type guideResults struct {
	Entries     any `json:"entries"`
	Communities any `json:"communities"`
}

func (s *Server) guideSearch(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" || utf8.RuneCountInString(q) > 200 || !utf8.ValidString(q) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "q: 1 to 200 characters", "code": "invalid", "field": "q"})
		return
	}
	b := s.bot.Load()
	if b == nil {
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "starting", i18n.Both("error.starting"))
		return
	}
	entries, places, err := s.lookupGuide(r.Context(), b, q, maxGuideHits)
	if err != nil {
		s.internal(w, "guide search", err)
		return
	}
	writeJSON(w, http.StatusOK, guideResults{Entries: entries, Communities: places})
}
