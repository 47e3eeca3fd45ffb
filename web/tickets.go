package web

import (
	"encoding/csv"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/internal/i18n"
	"github.com/bayannur/hotline/search"
)

func (s *Server) mountTickets() {
	s.handle("POST /api/v1/login", s.login)
	s.handle("POST /api/v1/logout", s.logout)
	s.handle("GET /api/v1/me", s.staff(s.me, intake.RoleOperator, intake.RoleManager, intake.RoleGridWorker))

	s.handle("POST /api/v1/tickets", s.createTicket)
	s.handle("GET /api/v1/tickets/{number}", s.getTicket)
	s.handle("GET /api/v1/tickets", s.staff(s.listTickets, ticketReaders...))
	s.handle("GET /api/v1/tickets.csv", s.staff(s.ticketsCSV, ticketReaders...))
	s.handle("POST /api/v1/tickets/{number}/notes", s.staff(s.addNote, ticketReaders...))
	s.handle("POST /api/v1/tickets/{number}/reveal", s.staff(s.revealTicket, intake.RoleOperator, intake.RoleManager))
	s.handle("POST /api/v1/tickets/{number}/{action}", s.staff(s.applyAction, ticketReaders...))
	s.handle("POST /api/v1/tickets/{number}/rating", s.rateTicket)
	s.handle("PUT /api/v1/tickets/{number}/rating", s.rateTicket)
}

// ticketReaders are the roles that see tickets (admins always may): the REST API's and Open311's.
var ticketReaders = []intake.Role{intake.RoleOperator, intake.RoleManager, intake.RoleGridWorker}

// gridWorkerActions are what a grid worker may do to its own grid's tickets.
var gridWorkerActions = map[intake.Action]bool{
	intake.ActSign: true, intake.ActStart: true, intake.ActResolve: true, intake.ActReturn: true,
	intake.ActRequestExtension: true, intake.ActNote: true,
}

// writeIntakeError maps intake errors to HTTP.
func (s *Server) writeIntakeError(w http.ResponseWriter, err error) {
	var fe *intake.FieldError
	switch {
	case errors.As(err, &fe):
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": fe.Error(), "code": "invalid", "field": fe.Field})
	case errors.Is(err, intake.ErrInvalid):
		writeError(w, http.StatusBadRequest, "invalid", err.Error())
	case errors.Is(err, intake.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", i18n.Both("error.no_ticket"))
	case errors.Is(err, intake.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, intake.ErrTransition):
		writeError(w, http.StatusConflict, "transition", err.Error())
	case errors.Is(err, intake.ErrForbidden):
		writeError(w, http.StatusForbidden, "forbidden", err.Error())
	default:
		s.internal(w, "intake", err)
	}
}

// createTicketRequest is the body of POST /api/v1/tickets.
type createTicketRequest struct {
	Topic       string   `json:"topic"`
	Category    string   `json:"category"`
	Community   string   `json:"community"`
	Description string   `json:"description"`
	Phone       string   `json:"phone"`
	Address     string   `json:"address"`
	Name        string   `json:"name"`
	Lat         *float64 `json:"lat"`
	Lng         *float64 `json:"lng"`
}

func (s *Server) createTicket(w http.ResponseWriter, r *http.Request) {
	if !s.ticketLimit.allow(clientIP(r)) {
		tooMany(w)
		return
	}
	var req createTicketRequest
	if !decodeJSONLimit(w, r, &req, MaxTicketBodyBytes) {
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if len(key) > 200 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "Idempotency-Key: at most 200 characters", "code": "invalid", "field": "Idempotency-Key"})
		return
	}
	urgency := intake.Normal
	if e, ok := s.guide.Entry(req.Topic); ok && e.Kind == search.KindEmergency {
		urgency = intake.Emergency
	}
	t, created, err := s.intake.Create(r.Context(), intake.NewTicket{
		Topic: req.Topic, Category: req.Category, Community: req.Community, Description: req.Description,
		Phone: req.Phone, PhoneRequired: true, Address: req.Address, Name: req.Name, Lat: req.Lat, Lng: req.Lng,
		Urgency: urgency, Channel: intake.ChannelAPI, Actor: "resident",
	}, key)
	if err != nil {
		s.writeIntakeError(w, err)
		return
	}
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.Header().Set("Location", "/api/v1/tickets/"+t.Number)
	v := s.residentView(t, nil)
	v.AccessCode = t.AccessCode // the resident's, once: with the number it follows and rates the ticket
	writeJSON(w, status, v)
}

// residentStep is one step of a ticket as the resident sees it.
type residentStep struct {
	Status intake.Status `json:"status"`
	Label  string        `json:"label"`
	At     time.Time     `json:"at"`
}

// residentTicket is what a resident may see of a ticket: no names, phones or assignees.
type residentTicket struct {
	Number       string         `json:"number"`
	Category     string         `json:"category"`
	CategoryName string         `json:"category_name"`
	Topic        string         `json:"topic,omitempty"`
	TopicTitle   string         `json:"topic_title,omitempty"`
	Status       intake.Status  `json:"status"`
	StatusLabel  string         `json:"status_label"`
	Steps        []residentStep `json:"steps"`
	Reply        string         `json:"reply,omitempty"`
	DueBy        time.Time      `json:"due_by"`
	Created      time.Time      `json:"created_at"`
	// AccessCode is in the creation's answer only.
	AccessCode string `json:"access_code,omitempty"`
}

func (s *Server) residentView(t *intake.Ticket, events []intake.Event) residentTicket {
	v := residentTicket{
		Number: t.Number, Category: t.Category, Topic: t.Topic, Status: t.Status,
		StatusLabel: t.Status.Label(), Reply: t.Reply, DueBy: t.DueBy, Created: t.Created,
	}
	if e, ok := s.guide.Entry(t.Topic); ok {
		v.TopicTitle = e.Title
	}
	v.CategoryName = categoryName(t.Category)
	if events != nil {
		// Every status change, in order: a reopened ticket shows its second dispatch too.
		for _, ev := range intake.StatusChanges(events) {
			v.Steps = append(v.Steps, residentStep{Status: ev.To, Label: ev.To.Label(), At: ev.At})
		}
	} else {
		for st, at := range t.Steps {
			v.Steps = append(v.Steps, residentStep{Status: st, Label: st.Label(), At: at})
		}
		sort.Slice(v.Steps, func(i, j int) bool {
			a, b := v.Steps[i], v.Steps[j]
			if !a.At.Equal(b.At) {
				return a.At.Before(b.At)
			}
			return a.Status.Order() < b.Status.Order()
		})
	}
	return v
}

// categoryNames are the ticket categories' Chinese names, from the embedded spec.
var categoryNames = func() map[string]string {
	spec, err := search.LoadSpec(search.SpecFS())
	if err != nil {
		return map[string]string{}
	}
	return spec.Categories
}()

func categoryName(code string) string { return categoryNames[code] }

// getTicket serves a resident who gives the ticket's access code, or a staff member.
func (s *Server) getTicket(w http.ResponseWriter, r *http.Request) {
	number := r.PathValue("number")
	q := r.URL.Query()
	if q.Has("code") || q.Has("phone_tail") || r.Header.Get("Authorization") == "" && !hasCookie(r) {
		s.getTicketForResident(w, r, number, q.Get("code"))
		return
	}
	s.staff(s.getTicketForStaff, ticketReaders...)(w, r)
}

func hasCookie(r *http.Request) bool {
	_, err := r.Cookie(sessionCookie)
	return err == nil
}

func (s *Server) getTicketForResident(w http.ResponseWriter, r *http.Request, number, code string) {
	if !s.lookupLimit.allow(clientIP(r)) {
		tooMany(w)
		return
	}
	// A phone tail alone proves nothing any more (issue 12): only the access code does here.
	t, ok := s.follow(w, r, number, intake.Proof{Code: code})
	if !ok {
		return
	}
	events, err := s.intake.Store.Events(r.Context(), number)
	if err != nil {
		s.internal(w, "get ticket", err)
		return
	}
	writeJSON(w, http.StatusOK, s.residentView(t, events))
}

// follow finds a ticket for a resident who proves it theirs (intake.Service.Follow) and answers
// for it when it cannot: a wrong proof looks exactly like an unknown ticket (404); a ticket
// locked after too many failed proofs is 429 with Retry-After.
func (s *Server) follow(w http.ResponseWriter, r *http.Request, number string, p intake.Proof) (*intake.Ticket, bool) {
	t, err := s.intake.Follow(r.Context(), number, p)
	var locked *intake.ErrLocked
	switch {
	case errors.Is(err, intake.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", i18n.Both("error.ticket_lookup"))
		return nil, false
	case errors.As(err, &locked):
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(locked.Until.Sub(s.now()).Seconds()))))
		writeError(w, http.StatusTooManyRequests, "ticket_locked", i18n.Both("error.ticket_locked"))
		return nil, false
	case err != nil:
		s.internal(w, "follow ticket", err)
		return nil, false
	}
	return t, true
}

// staffTicket is a ticket as staff see it in a list: the phone masked, and the phone numbers in
// its free text too (intake.Ticket.MaskedText); see maskedStaffTicket.
type staffTicket struct {
	*intake.Ticket
	StatusLabel string `json:"status_label"`
}

// staffTicketDetail adds the whole phone, to call the resident back, and the audit trail.
type staffTicketDetail struct {
	staffTicket
	PhoneFull string          `json:"phone_full,omitempty"`
	Events    []intake.Event  `json:"events"`
	Allowed   []intake.Action `json:"allowed"`
}

// maskedStaffTicket is t as lists and actions return it: phones in its free text masked.
func maskedStaffTicket(t *intake.Ticket) staffTicket {
	return staffTicket{t.MaskedText(), t.Status.Label()}
}

// canReveal are the roles that may ask for a ticket's free text unmasked (?reveal=1).
var canReveal = map[intake.Role]bool{intake.RoleOperator: true, intake.RoleManager: true}

// visible checks that u may see t: a grid worker only its own grid's tickets.
func visible(u *intake.User, t *intake.Ticket) bool {
	return u.Role != intake.RoleGridWorker || t.Grid == u.Grid
}

func (s *Server) getTicketForStaff(w http.ResponseWriter, r *http.Request) {
	u := staffUser(r)
	reveal := false
	if v := r.URL.Query().Get("reveal"); v != "" {
		var err error
		if reveal, err = strconv.ParseBool(v); err != nil {
			s.writeIntakeError(w, &intake.FieldError{Field: "reveal", Reason: "want 1 or 0"})
			return
		}
	}
	if reveal && !canReveal[u.Role] {
		writeError(w, http.StatusForbidden, "forbidden", "reveal: operators and managers only")
		return
	}
	t, events, ok := s.staffTicket(w, r, u)
	if !ok {
		return
	}
	if reveal && !intake.Revealed(events, u.Name, s.now()) {
		writeError(w, http.StatusForbidden, "reveal_reason", i18n.Both("error.reveal_reason"))
		return
	}
	s.writeStaffDetail(w, u, t, events, reveal)
}

// revealTicket serves POST /api/v1/tickets/{number}/reveal {"reason": "…"}: the reason goes into
// the ticket's audit trail, and the answer is the detail with its free text whole. For
// intake.RevealWindow after, GET …?reveal=1 gives the same to the same staff member.
func (s *Server) revealTicket(w http.ResponseWriter, r *http.Request) {
	u := staffUser(r)
	if !canReveal[u.Role] {
		writeError(w, http.StatusForbidden, "forbidden", "reveal: operators and managers only")
		return
	}
	var req struct {
		Reason string `json:"reason"`
	}
	if !decodeJSON(w, r, &req) {
		return
	}
	if _, err := s.intake.Reveal(r.Context(), r.PathValue("number"), u.Name, req.Reason); err != nil {
		s.writeIntakeError(w, err)
		return
	}
	t, events, ok := s.staffTicket(w, r, u)
	if !ok {
		return
	}
	s.writeStaffDetail(w, u, t, events, true)
}

// staffTicket reads the ticket of the path and its trail for u, or answers the error.
func (s *Server) staffTicket(w http.ResponseWriter, r *http.Request, u *intake.User) (*intake.Ticket, []intake.Event, bool) {
	t, err := s.intake.Get(r.Context(), r.PathValue("number"))
	if err != nil {
		s.writeIntakeError(w, err)
		return nil, nil, false
	}
	if !visible(u, t) {
		writeError(w, http.StatusForbidden, "forbidden", i18n.Both("error.not_your_grid"))
		return nil, nil, false
	}
	events, err := s.intake.Store.Events(r.Context(), t.Number)
	if err != nil {
		s.internal(w, "get ticket", err)
		return nil, nil, false
	}
	return t, events, true
}

// writeStaffDetail answers a ticket's detail: its free text and trail masked unless reveal.
func (s *Server) writeStaffDetail(w http.ResponseWriter, u *intake.User, t *intake.Ticket, events []intake.Event, reveal bool) {
	view := maskedStaffTicket(t)
	if reveal {
		// Besides the trail's event, a log line: who saw the phone numbers in which ticket's text.
		s.log.Info("audit: ticket text revealed", "staff", u.Name, "role", u.Role, "ticket", t.Number,
			"at", s.now().UTC().Format(time.RFC3339))
		view = staffTicket{t, t.Status.Label()}
	} else {
		events = intake.MaskedEvents(events)
	}
	writeJSON(w, http.StatusOK, staffTicketDetail{
		staffTicket: view, PhoneFull: t.Phone.Full(), Events: events,
		Allowed: intake.Allowed(t.Status),
	})
}

// filterFrom reads list filters from the query string; a grid worker's list is always its grid.
func filterFrom(r *http.Request, u *intake.User) (intake.Filter, error) {
	q := r.URL.Query()
	f := intake.Filter{
		Status: intake.Status(q.Get("status")), Tier: intake.Tier(q.Get("tier")),
		Community: q.Get("community"), Category: q.Get("category"), Text: q.Get("q"),
	}
	if f.Status != "" && !f.Status.Valid() {
		return f, &intake.FieldError{Field: "status", Reason: "unknown status"}
	}
	if f.Tier != "" && !f.Tier.Valid() {
		return f, &intake.FieldError{Field: "tier", Reason: "unknown tier"}
	}
	if v := q.Get("overdue"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return f, &intake.FieldError{Field: "overdue", Reason: "want true or false"}
		}
		f.Overdue = &b
	}
	for name, dst := range map[string]*int{"limit": &f.Limit, "offset": &f.Offset} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return f, &intake.FieldError{Field: name, Reason: "want a whole number"}
			}
			*dst = n
		}
	}
	if f.Limit > 1000 {
		f.Limit = 1000
	}
	scope(u, &f)
	return f, nil
}

// scope narrows a list to what u may see (visible): a grid worker's is always its grid.
func scope(u *intake.User, f *intake.Filter) {
	if u.Role == intake.RoleGridWorker {
		f.Grid = u.Grid
	}
}

func (s *Server) listTickets(w http.ResponseWriter, r *http.Request) {
	f, err := filterFrom(r, staffUser(r))
	if err != nil {
		s.writeIntakeError(w, err)
		return
	}
	ts, err := s.intake.Store.List(r.Context(), f)
	if err != nil {
		s.internal(w, "list tickets", err)
		return
	}
	out := make([]staffTicket, len(ts))
	for i, t := range ts {
		out[i] = maskedStaffTicket(t)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) ticketsCSV(w http.ResponseWriter, r *http.Request) {
	f, err := filterFrom(r, staffUser(r))
	if err != nil {
		s.writeIntakeError(w, err)
		return
	}
	if f.Limit == 0 {
		f.Limit = 1000
	}
	ts, err := s.intake.Store.List(r.Context(), f)
	if err != nil {
		s.internal(w, "tickets csv", err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="tickets.csv"`)
	w.Write([]byte("\ufeff")) // so that spreadsheet programs read the Chinese as UTF-8
	cw := csv.NewWriter(w)
	cw.Write([]string{"number", "created_at", "category", "topic", "community", "grid", "tier", "urgency",
		"status", "assignee", "phone", "address", "description", "sign_by", "due_by", "overdue", "urged", "reopened", "rating"})
	tm := func(t time.Time) string { return t.In(intake.Beijing).Format("2006-01-02 15:04") }
	for _, t := range ts {
		cw.Write([]string{t.Number, tm(t.Created), t.Category, t.Topic, t.Community, t.Grid, string(t.Tier),
			string(t.Urgency), t.Status.Label(), csvSafe(t.Assignee), t.Phone.Masked(), csvSafe(intake.MaskPhones(t.Address)), csvSafe(intake.MaskPhones(t.Description)),
			tm(t.SignBy), tm(t.DueBy), strconv.FormatBool(t.Overdue), strconv.Itoa(t.Urged), strconv.Itoa(t.Reopened), t.Rating})
	}
	cw.Flush()
}

// csvSafe stops a spreadsheet from running a resident's text as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// actionRequest is the body of POST /api/v1/tickets/{number}/{action}.
type actionRequest struct {
	Version  int         `json:"version"`
	Note     string      `json:"note"`
	Assignee string      `json:"assignee"`
	Grid     string      `json:"grid"`
	Tier     intake.Tier `json:"tier"`
	Until    time.Time   `json:"until"`
	Rating   string      `json:"rating"`
	Solved   *bool       `json:"solved"`
}

func (s *Server) addNote(w http.ResponseWriter, r *http.Request) {
	s.act(w, r, intake.ActNote)
}

func (s *Server) applyAction(w http.ResponseWriter, r *http.Request) {
	a := intake.Action(r.PathValue("action"))
	known := false
	for _, k := range intake.Actions() {
		known = known || k == a
	}
	if !known {
		writeError(w, http.StatusNotFound, "unknown_action", "unknown action "+strconv.Quote(string(a)))
		return
	}
	s.act(w, r, a)
}

func (s *Server) act(w http.ResponseWriter, r *http.Request, a intake.Action) {
	u := staffUser(r)
	var req actionRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if a != intake.ActNote && req.Version < 1 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "version: give the version of the ticket you acted on", "code": "invalid", "field": "version"})
		return
	}
	if u.Role == intake.RoleGridWorker && !gridWorkerActions[a] {
		writeError(w, http.StatusForbidden, "forbidden", i18n.Both("error.grid_worker_action", "action", a))
		return
	}
	if u.Role == intake.RoleGridWorker {
		t, err := s.intake.Get(r.Context(), r.PathValue("number"))
		if err != nil {
			s.writeIntakeError(w, err)
			return
		}
		if !visible(u, t) {
			writeError(w, http.StatusForbidden, "forbidden", i18n.Both("error.not_your_grid"))
			return
		}
	}
	t, err := s.intake.Apply(r.Context(), r.PathValue("number"), req.Version, intake.Change{
		Action: a, Actor: u.Name, Note: req.Note, Assignee: req.Assignee, Grid: req.Grid, Tier: req.Tier,
		Until: req.Until, Rating: req.Rating, Solved: req.Solved,
	})
	if err != nil {
		s.writeIntakeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, maskedStaffTicket(t))
}

// community is one entry of GET /api/v1/communities.
type community struct {
	ID    string    `json:"id"`
	Name  string    `json:"name"`
	Town  string    `json:"town"`
	Grids []gridRef `json:"grids,omitempty"` // ?grids=1: its grids' names, for the console's ticket history
}

type gridRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (s *Server) communities(w http.ResponseWriter, r *http.Request) {
	out := []community{}
	withGrids := r.URL.Query().Get("grids") == "1"
	for _, c := range s.guide.Communities() {
		cm := community{ID: c.ID, Name: c.Name, Town: c.TownName}
		for _, g := range c.Grids {
			if withGrids {
				cm.Grids = append(cm.Grids, gridRef{ID: g.ID, Name: g.Name})
			}
		}
		out = append(out, cm)
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, out)
}
