package web

import (
	"cmp"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/internal/i18n"
	"github.com/bayannur/hotline/search"
)

// Open311 GeoReport v2 (JSON) over the same tickets: the report topics are its services, tickets
// its service requests. Writes need a staff API token (`hotline user token NAME`): in the
// Authorization header (Bearer), as the REST API takes it, or — weaker, since proxies and servers
// log URLs — as the spec's api_key parameter. A caller with a token is authorised exactly as in
// the REST API (ticketReaders, visible, scope): a grid worker reads only its own grid's tickets.

func (s *Server) mountOpen311() {
	s.handle("GET /open311/v2/services.json", s.o311Services)
	s.handle("GET /open311/v2/services/{file}", s.o311Service)
	s.handle("POST /open311/v2/requests.json", s.o311Create)
	s.handle("GET /open311/v2/requests.json", s.o311Requests)
	s.handle("GET /open311/v2/requests/{file}", s.o311Request)
}

type o311Error struct {
	Code        int    `json:"code"`
	Description string `json:"description"`
}

func o311Fail(w http.ResponseWriter, status int, desc string) {
	writeJSON(w, status, []o311Error{{Code: status, Description: desc}})
}

type o311ServiceDoc struct {
	ServiceCode string `json:"service_code"`
	ServiceName string `json:"service_name"`
	Description string `json:"description"`
	Metadata    bool   `json:"metadata"`
	Type        string `json:"type"`
	Keywords    string `json:"keywords"`
	Group       string `json:"group"`
}

func (s *Server) reportEntries() []search.Entry {
	var out []search.Entry
	for _, e := range s.guide.Load().Entries {
		if e.Kind == search.KindReport || e.Kind == search.KindEmergency {
			out = append(out, e)
		}
	}
	return out
}

func (s *Server) o311Services(w http.ResponseWriter, r *http.Request) {
	out := []o311ServiceDoc{}
	for _, e := range s.reportEntries() {
		out = append(out, o311ServiceDoc{
			ServiceCode: e.ID, ServiceName: e.Title, Description: e.Answer.Summary, Metadata: false,
			Type: "realtime", Keywords: strings.Join(e.Keywords, ","), Group: categoryName(e.Category),
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// jsonFile strips ".json" from a path segment; other formats are not served.
func jsonFile(w http.ResponseWriter, r *http.Request) (string, bool) {
	id, ok := strings.CutSuffix(r.PathValue("file"), ".json")
	if !ok || id == "" {
		o311Fail(w, http.StatusNotFound, "only the .json format is served")
		return "", false
	}
	return id, true
}

func (s *Server) o311Service(w http.ResponseWriter, r *http.Request) {
	code, ok := jsonFile(w, r)
	if !ok {
		return
	}
	for _, e := range s.reportEntries() {
		if e.ID == code {
			writeJSON(w, http.StatusOK, map[string]any{"service_code": e.ID, "attributes": []any{}})
			return
		}
	}
	o311Fail(w, http.StatusNotFound, "unknown service_code "+strconv.Quote(code))
}

func (s *Server) o311Create(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxTicketBodyBytes)
	if err := r.ParseForm(); err != nil {
		o311Fail(w, http.StatusBadRequest, "could not read the form: "+err.Error())
		return
	}
	u, ok := s.o311Caller(w, r, r.PostForm.Get("api_key"))
	if !ok {
		return
	}
	if u == nil {
		o311Fail(w, http.StatusForbidden, "api_key required (or Authorization: Bearer TOKEN)")
		return
	}
	f := r.PostForm
	code := f.Get("service_code")
	var entry *search.Entry
	for _, e := range s.reportEntries() {
		if e.ID == code {
			entry = &e
		}
	}
	if entry == nil {
		o311Fail(w, http.StatusBadRequest, "service_code: unknown service "+strconv.Quote(code))
		return
	}
	var lat, lng *float64
	if f.Get("lat") != "" || f.Get("long") != "" {
		la, err1 := strconv.ParseFloat(f.Get("lat"), 64)
		lo, err2 := strconv.ParseFloat(f.Get("long"), 64)
		if err1 != nil || err2 != nil {
			o311Fail(w, http.StatusBadRequest, "lat, long: want decimal degrees")
			return
		}
		lat, lng = &la, &lo
	}
	if lat == nil && f.Get("address_string") == "" && f.Get("address_id") == "" {
		o311Fail(w, http.StatusBadRequest, "location: give lat and long, or address_string")
		return
	}
	urgency := intake.Normal
	if entry.Kind == search.KindEmergency {
		urgency = intake.Emergency
	}
	name := strings.TrimSpace(f.Get("last_name") + f.Get("first_name"))
	t, created, err := s.intake.Create(r.Context(), intake.NewTicket{
		Topic: code, Community: f.Get("community"), Description: f.Get("description"),
		Address: f.Get("address_string"), Lat: lat, Lng: lng, Name: name, Phone: f.Get("phone"),
		Urgency: urgency, Channel: intake.ChannelOpen311, Actor: "open311:" + u.Name,
	}, r.Header.Get("Idempotency-Key"))
	if err != nil {
		var fe *intake.FieldError
		switch {
		case errors.As(err, &fe):
			o311Fail(w, http.StatusBadRequest, fe.Error())
		case errors.Is(err, intake.ErrConflict):
			o311Fail(w, http.StatusConflict, err.Error())
		default:
			s.internal(w, "open311", err)
		}
		return
	}
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
	}
	notice := i18n.T(i18n.Zh, "open311.notice", "number", t.Number, "code", t.AccessCode, "due", t.DueBy.In(intake.Beijing).Format("2006-01-02 15:04"))
	if entry.Emergency != nil {
		// A ticket follows an emergency up; it does not send help. Say who does, first.
		var calls []string
		for _, n := range entry.Emergency.Numbers {
			calls = append(calls, n.Name+" "+n.Number)
		}
		notice = i18n.T(i18n.Zh, "open311.emergency", "numbers", strings.Join(calls, i18n.T(i18n.Zh, "list.sep")), "notice", notice)
	}
	writeJSON(w, status, []map[string]any{{
		"service_request_id": t.Number,
		"service_notice":     notice,
		"account_id":         nil,
		"access_code":        t.AccessCode, // an extension: the resident's, to follow and rate the ticket
	}})
}

type o311RequestDoc struct {
	ServiceRequestID  string   `json:"service_request_id"`
	Status            string   `json:"status"`
	StatusNotes       string   `json:"status_notes"`
	ServiceName       string   `json:"service_name"`
	ServiceCode       string   `json:"service_code"`
	Description       string   `json:"description"`
	AgencyResponsible string   `json:"agency_responsible"`
	ServiceNotice     string   `json:"service_notice"`
	RequestedDatetime string   `json:"requested_datetime"`
	UpdatedDatetime   string   `json:"updated_datetime"`
	ExpectedDatetime  string   `json:"expected_datetime"`
	Address           string   `json:"address"`
	AddressID         string   `json:"address_id"`
	Zipcode           string   `json:"zipcode"`
	Lat               *float64 `json:"lat"`
	Long              *float64 `json:"long"`
	MediaURL          string   `json:"media_url"`
}

func o311Status(st intake.Status) string {
	if st.Open() {
		return "open"
	}
	return "closed"
}

// o311Doc describes a ticket. Without a valid api_key (full false) it leaves out what only staff
// may see — the description, the exact address and location — keeping the service, status,
// dates and the community: tickets are numbered in sequence, so anyone could walk them.
func (s *Server) o311Doc(t *intake.Ticket, full bool) o311RequestDoc {
	name := t.Topic
	if e, ok := s.guide.Entry(t.Topic); ok {
		name = e.Title
	}
	tier := t.Tier
	if !tier.Valid() {
		tier = intake.TierGrid
	}
	agency := tierName(string(tier))
	if c, ok := s.guide.Community(t.Community); ok {
		agency = c.TownName + c.Name + agency
	}
	ts := func(x time.Time) string { return x.In(intake.Beijing).Format(time.RFC3339) }
	doc := o311RequestDoc{
		ServiceRequestID: t.Number, Status: o311Status(t.Status), StatusNotes: t.Status.Label(),
		ServiceName: name, ServiceCode: t.Topic, AgencyResponsible: agency,
		RequestedDatetime: ts(t.Created), UpdatedDatetime: ts(t.Updated), ExpectedDatetime: ts(t.DueBy),
	}
	if c, ok := s.guide.Community(t.Community); ok {
		doc.Address = c.TownName + c.Name
	}
	if full {
		// Phone numbers in the free text stay masked even for a key holder (intake.MaskPhones).
		doc.StatusNotes = cmp.Or(intake.MaskPhones(t.Reply), t.Status.Label())
		doc.Description, doc.Address, doc.Lat, doc.Long = intake.MaskPhones(t.Description), intake.MaskPhones(t.Address), t.Lat, t.Lng
	}
	return doc
}

// o311Caller finds the staff member behind an Open311 request: the Authorization header (Bearer,
// the REST API's authenticate) or else key, the api_key parameter. nil without either. An invalid
// token, or a role that may not read tickets, is answered with 403 here (ok false).
func (s *Server) o311Caller(w http.ResponseWriter, r *http.Request, key string) (u *intake.User, ok bool) {
	var err error
	switch {
	case r.Header.Get("Authorization") != "":
		u, _, err = s.authenticate(r)
	case key != "":
		var tok *intake.APIToken
		if tok, err = s.apiToken(r.Context(), key); err == nil { // expiry honoured, as in authenticate
			u, err = s.users.User(r.Context(), tok.User)
		}
	default:
		return nil, true
	}
	if errors.Is(err, intake.ErrNotFound) {
		o311Fail(w, http.StatusForbidden, "invalid api_key or token")
		return nil, false
	}
	if err != nil {
		s.internal(w, "open311", err)
		return nil, false
	}
	if !hasRole(u, ticketReaders) {
		o311Fail(w, http.StatusForbidden, i18n.Both("error.forbidden"))
		return nil, false
	}
	return u, true
}

// MaxO311IDs is how many service_request_id values one Open311 request may name.
const MaxO311IDs = 100

// sensitiveCategories are the categories whose tickets the anonymous Open311 reader never sees,
// not even as service, community and time: welfare (低保, the elderly living alone, disability),
// dispute (neighbours', families'), public-security (fraud, household registration, crime) and
// petition (信访). Together with a community and a date they point at a household.
var sensitiveCategories = map[string]bool{"welfare": true, "dispute": true, "public-security": true, "petition": true}

// sensitive reports whether t is of a sensitive category (by its own category or its topic's).
func (s *Server) sensitive(t *intake.Ticket) bool {
	if sensitiveCategories[t.Category] {
		return true
	}
	e, ok := s.guide.Entry(t.Topic)
	return ok && sensitiveCategories[e.Category]
}

func (s *Server) o311Requests(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	u, ok := s.o311Caller(w, r, q.Get("api_key"))
	if !ok {
		return
	}
	var ts []*intake.Ticket
	if ids := q.Get("service_request_id"); ids != "" {
		list := strings.Split(ids, ",")
		if len(list) > MaxO311IDs {
			o311Fail(w, http.StatusBadRequest, "service_request_id: at most "+strconv.Itoa(MaxO311IDs)+" ids per request")
			return
		}
		seen := map[string]bool{}
		for _, id := range list {
			id = strings.TrimSpace(id)
			if seen[id] {
				continue
			}
			seen[id] = true
			t, err := s.intake.Get(r.Context(), id)
			if errors.Is(err, intake.ErrNotFound) {
				continue
			}
			if err != nil {
				s.internal(w, "open311", err)
				return
			}
			ts = append(ts, t)
		}
	} else {
		f := intake.Filter{Limit: 1000}
		if u != nil {
			scope(u, &f)
		}
		var err error
		if ts, err = s.intake.Store.List(r.Context(), f); err != nil {
			s.internal(w, "open311", err)
			return
		}
	}
	var start, end time.Time
	for name, dst := range map[string]*time.Time{"start_date": &start, "end_date": &end} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				o311Fail(w, http.StatusBadRequest, name+": want a W3C (RFC 3339) date-time")
				return
			}
			*dst = t
		}
	}
	status := q.Get("status")
	if status != "" && status != "open" && status != "closed" {
		o311Fail(w, http.StatusBadRequest, "status: want open or closed")
		return
	}
	codes := map[string]bool{}
	for _, c := range strings.Split(q.Get("service_code"), ",") {
		if c = strings.TrimSpace(c); c != "" {
			codes[c] = true
		}
	}
	out := []o311RequestDoc{}
	for _, t := range ts {
		switch {
		case u == nil && s.sensitive(t),
			u != nil && !visible(u, t),
			len(codes) > 0 && !codes[t.Topic],
			status != "" && o311Status(t.Status) != status,
			!start.IsZero() && t.Created.Before(start),
			!end.IsZero() && t.Created.After(end):
			continue
		}
		out = append(out, s.o311Doc(t, u != nil))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) o311Request(w http.ResponseWriter, r *http.Request) {
	id, ok := jsonFile(w, r)
	if !ok {
		return
	}
	u, ok := s.o311Caller(w, r, r.URL.Query().Get("api_key"))
	if !ok {
		return
	}
	t, err := s.intake.Get(r.Context(), id)
	if errors.Is(err, intake.ErrNotFound) || err == nil && u == nil && s.sensitive(t) {
		o311Fail(w, http.StatusNotFound, "unknown service_request_id "+strconv.Quote(id))
		return
	}
	if err != nil {
		s.internal(w, "open311", err)
		return
	}
	if u != nil && !visible(u, t) {
		o311Fail(w, http.StatusForbidden, i18n.Both("error.not_your_grid"))
		return
	}
	writeJSON(w, http.StatusOK, []o311RequestDoc{s.o311Doc(t, u != nil)})
}

// tierName is a tier's Chinese name, or the code itself when the catalogue lacks it.
func tierName(code string) string {
	if i18n.Has(i18n.Zh, "tier."+code) {
		return i18n.T(i18n.Zh, "tier."+code)
	}
	return code
}
