package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/search"
)

// o311Post submits a service request, form encoded.
func (f *fixture) o311Post(form url.Values) result {
	f.t.Helper()
	req, err := http.NewRequestWithContext(f.t.Context(), http.MethodPost, f.ts.URL+"/open311/v2/requests.json", strings.NewReader(form.Encode()))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := f.ts.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return result{resp.StatusCode, resp.Header, b}
}

// o311Create submits a valid service request and returns its id.
func (f *fixture) o311Create(form url.Values) string {
	f.t.Helper()
	r := f.o311Post(form)
	if r.status != http.StatusCreated {
		f.t.Fatalf("POST requests.json: %v", r)
	}
	var out []map[string]any
	decode(f.t, r, &out)
	if len(out) != 1 {
		f.t.Fatalf("answer %s, want one element", r.body)
	}
	id, _ := out[0]["service_request_id"].(string)
	return id
}

func (f *fixture) o311Form(kv ...string) url.Values {
	v := url.Values{"api_key": {f.tokens[opName]}, "service_code": {"report-streetlight"},
		"address_string": {"虹亚小区3号楼"}, "community": {"wy-jinqiao"}, "description": {"路灯不亮"}}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			v.Del(kv[i])
		} else {
			v.Set(kv[i], kv[i+1])
		}
	}
	return v
}

// wantO311Error requires status and an Open311 error array [{code, description}].
func wantO311Error(t *testing.T, r result, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("got %v, want %d", r, status)
	}
	var errs []struct {
		Code        int    `json:"code"`
		Description string `json:"description"`
	}
	decode(t, r, &errs)
	if len(errs) != 1 || errs[0].Code != status || errs[0].Description == "" {
		t.Fatalf("error %s, want [{code: %d, description}]", r.body, status)
	}
}

// o311Get fetches requests.json with a query and returns the ids in order.
func (f *fixture) o311Get(query string) []string {
	f.t.Helper()
	r := f.anon(http.MethodGet, "/open311/v2/requests.json"+query, nil)
	if r.status != http.StatusOK {
		f.t.Fatalf("GET requests.json%s: %v", query, r)
	}
	var docs []map[string]any
	decode(f.t, r, &docs)
	var ids []string
	for _, d := range docs {
		ids = append(ids, d["service_request_id"].(string))
	}
	slices.Sort(ids)
	return ids
}

func TestOpen311Services(t *testing.T) {
	f := newFixture(t)
	r := f.anon(http.MethodGet, "/open311/v2/services.json", nil)
	if r.status != http.StatusOK {
		t.Fatal(r)
	}
	var raw []map[string]json.RawMessage
	decode(t, r, &raw)
	var services []struct {
		ServiceCode string `json:"service_code"`
		ServiceName string `json:"service_name"`
		Metadata    bool   `json:"metadata"`
		Type        string `json:"type"`
		Keywords    string `json:"keywords"`
		Group       string `json:"group"`
	}
	decode(t, r, &services)
	var want []string
	for _, id := range f.spec.TopicOrder {
		if k := f.spec.Topics[id].Kind; k == search.KindReport || k == search.KindEmergency {
			want = append(want, id)
		}
	}
	var got []string
	for i, s := range services {
		got = append(got, s.ServiceCode)
		for _, k := range []string{"service_code", "service_name", "metadata", "type", "keywords", "group"} {
			if _, ok := raw[i][k]; !ok {
				t.Errorf("service %s lacks %q", s.ServiceCode, k)
			}
		}
		e, ok := f.guide.Entry(s.ServiceCode)
		if !ok {
			t.Errorf("service %q is no guide entry", s.ServiceCode)
			continue
		}
		if s.ServiceName != e.Title || s.Type != "realtime" || s.Metadata || s.Group != f.spec.Categories[e.Category] || s.Group == "" {
			t.Errorf("service %+v, want name %q, type realtime, no metadata, group %q", s, e.Title, f.spec.Categories[e.Category])
		}
		if s.Keywords != strings.Join(e.Keywords, ",") {
			t.Errorf("service %s keywords %q", s.ServiceCode, s.Keywords)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("services %v, want the report and emergency topics %v", got, want)
	}
	if slices.Contains(got, "dibao") {
		t.Error("a procedure is listed as a service")
	}

	r = f.anon(http.MethodGet, "/open311/v2/services/report-noise.json", nil)
	if r.status != http.StatusOK {
		t.Fatal(r)
	}
	var def map[string]json.RawMessage
	decode(t, r, &def)
	if string(def["service_code"]) != `"report-noise"` || string(def["attributes"]) != "[]" || len(def) != 2 {
		t.Errorf("definition %s, want {service_code, attributes: []}", r.body)
	}
	wantO311Error(t, f.anon(http.MethodGet, "/open311/v2/services/report-ufo.json", nil), http.StatusNotFound)
	wantO311Error(t, f.anon(http.MethodGet, "/open311/v2/services/dibao.json", nil), http.StatusNotFound)
	wantO311Error(t, f.anon(http.MethodGet, "/open311/v2/services/report-noise.xml", nil), http.StatusNotFound)
}

func TestOpen311CreateRequest(t *testing.T) {
	f := newFixture(t)
	wantO311Error(t, f.o311Post(f.o311Form("api_key", "")), http.StatusForbidden)
	wantO311Error(t, f.o311Post(f.o311Form("api_key", f.tokens[opName]+"x")), http.StatusForbidden)
	wantO311Error(t, f.o311Post(f.o311Form("service_code", "report-ufo")), http.StatusBadRequest)
	wantO311Error(t, f.o311Post(f.o311Form("service_code", "dibao")), http.StatusBadRequest)
	wantO311Error(t, f.o311Post(f.o311Form("address_string", "")), http.StatusBadRequest)
	wantO311Error(t, f.o311Post(f.o311Form("lat", "40.9")), http.StatusBadRequest) // no long
	wantO311Error(t, f.o311Post(f.o311Form("lat", "95", "long", "107.9")), http.StatusBadRequest)
	wantO311Error(t, f.o311Post(f.o311Form("description", "")), http.StatusBadRequest)
	wantO311Error(t, f.o311Post(f.o311Form("phone", "12")), http.StatusBadRequest)
	wantO311Error(t, f.o311Post(f.o311Form("community", "atlantis")), http.StatusBadRequest)
	if got := f.list(opName, ""); len(got) != 0 {
		t.Fatalf("refused requests created %v", got)
	}

	r := f.o311Post(f.o311Form())
	if r.status != http.StatusCreated {
		t.Fatal(r)
	}
	var out []map[string]json.RawMessage
	decode(t, r, &out)
	if len(out) != 1 {
		t.Fatalf("answer %s, want one element", r.body)
	}
	var id, notice string
	json.Unmarshal(out[0]["service_request_id"], &id)
	json.Unmarshal(out[0]["service_notice"], &notice)
	if !numberPattern.MatchString(id) || !strings.Contains(notice, id) {
		t.Errorf("answer %s", r.body)
	}
	if acc, ok := out[0]["account_id"]; !ok || string(acc) != "null" {
		t.Errorf("account_id %s, want null", acc)
	}
	if strings.Contains(notice, "119") {
		t.Errorf("a street light's notice %q names an emergency number", notice)
	}
	// An emergency is recorded as one, and its notice says whom to call before anything else.
	r = f.o311Post(f.o311Form("service_code", "emergency-gas-leak", "description", "楼道里煤气味很大"))
	out = nil
	decode(t, r, &out)
	if r.status != http.StatusCreated || len(out) != 1 {
		t.Fatalf("an emergency request: %d %s", r.status, r.body)
	}
	json.Unmarshal(out[0]["service_notice"], &notice)
	if !strings.HasPrefix(notice, "危险还在发生请立即拨打") || !strings.Contains(notice, "119") {
		t.Errorf("emergency notice %q, want the numbers to call first", notice)
	}
	d := f.staffGet(opName, id)
	if d.Grid != f.grid || d.Status != "dispatched" {
		t.Errorf("routed to %q (%s), want %s dispatched", d.Grid, d.Status, f.grid)
	}
	if d.Events[0].Actor != "open311:"+opName {
		t.Errorf("created by %q, want open311:op", d.Events[0].Actor)
	}

	// A location by coordinates alone does; an emergency service is an emergency.
	id2 := f.o311Create(f.o311Form("address_string", "", "community", "", "lat", "41.09", "long", "108.27", "service_code", "emergency-fire", "first_name", "某", "last_name", "王"))
	tk, err := f.svc.Get(t.Context(), id2)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Urgency != intake.Emergency || tk.Lat == nil || *tk.Lat != 41.09 || tk.Name != "王某" || tk.Channel != intake.ChannelOpen311 {
		t.Errorf("ticket %+v", tk)
	}
	// A grid worker's token is a key too: the machine acts for that user.
	f.o311Create(f.o311Form("api_key", f.tokens[gwName]))
}

func TestOpen311Requests(t *testing.T) {
	f := newFixture(t)
	a := f.o311Create(f.o311Form("service_code", "report-streetlight"))
	f.clock.Advance(48 * time.Hour)
	b := f.o311Create(f.o311Form("service_code", "report-noise", "address_string", "", "lat", "41.09", "long", "108.27"))
	c := f.newTicket(intake.NewTicket{Topic: "report-garbage", Community: "wy-zhongshan", Address: "中山小区"}).Number

	// Close c through the staff API.
	tk := f.mustAct(opName, c, "sign", map[string]any{"version": 1})
	tk = f.mustAct(opName, c, "resolve", map[string]any{"version": tk.Version, "note": "已清运"})
	f.mustAct(opName, c, "close", map[string]any{"version": tk.Version})

	between := fixtureStart.Add(24 * time.Hour).UTC().Format(time.RFC3339)
	for _, q := range []struct {
		query string
		want  []string
	}{
		{"", []string{a, b, c}},
		{"?service_request_id=" + a, []string{a}},
		{"?service_request_id=" + a + "," + c, []string{a, c}},
		{"?service_request_id=" + a + ",%20" + b + ",20990302-0999", []string{a, b}},
		{"?service_request_id=20990302-0999", nil},
		{"?service_code=report-noise", []string{b}},
		{"?service_code=report-noise,report-garbage", []string{b, c}},
		{"?status=open", []string{a, b}},
		{"?status=closed", []string{c}},
		{"?start_date=" + url.QueryEscape(between), []string{b, c}},
		{"?end_date=" + url.QueryEscape(between), []string{a}},
		{"?start_date=" + url.QueryEscape(fixtureStart.Format(time.RFC3339)), []string{a, b, c}},
		{"?service_code=report-streetlight&status=closed", nil},
	} {
		if got := f.o311Get(q.query); !slices.Equal(got, sorted(q.want...)) {
			t.Errorf("requests.json%s: %v, want %v", q.query, got, sorted(q.want...))
		}
	}
	wantO311Error(t, f.anon(http.MethodGet, "/open311/v2/requests.json?start_date=2026-03-02", nil), http.StatusBadRequest)
	wantO311Error(t, f.anon(http.MethodGet, "/open311/v2/requests.json?end_date=yesterday", nil), http.StatusBadRequest)
	wantO311Error(t, f.anon(http.MethodGet, "/open311/v2/requests.json?status=pending", nil), http.StatusBadRequest)

	// Every request has the spec's fields.
	r := f.anon(http.MethodGet, "/open311/v2/requests.json", nil)
	var docs []map[string]json.RawMessage
	decode(t, r, &docs)
	fields := []string{"service_request_id", "status", "status_notes", "service_name", "service_code", "description",
		"agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
		"address", "address_id", "zipcode", "lat", "long", "media_url"}
	for _, d := range docs {
		for _, k := range fields {
			if _, ok := d[k]; !ok {
				t.Errorf("request %s lacks %q", d["service_request_id"], k)
			}
		}
		for _, k := range []string{"requested_datetime", "updated_datetime", "expected_datetime"} {
			var s string
			json.Unmarshal(d[k], &s)
			if _, err := time.Parse(time.RFC3339, s); err != nil {
				t.Errorf("%s %q is not RFC 3339", k, s)
			}
		}
	}

	// One request, with an api_key: everything.
	r = f.anon(http.MethodGet, "/open311/v2/requests/"+c+".json?api_key="+url.QueryEscape(f.tokens[opName]), nil)
	if r.status != http.StatusOK {
		t.Fatal(r)
	}
	var one []struct {
		ID          string   `json:"service_request_id"`
		Status      string   `json:"status"`
		StatusNotes string   `json:"status_notes"`
		ServiceName string   `json:"service_name"`
		ServiceCode string   `json:"service_code"`
		Agency      string   `json:"agency_responsible"`
		Requested   string   `json:"requested_datetime"`
		Lat         *float64 `json:"lat"`
	}
	decode(t, r, &one)
	if len(one) != 1 {
		t.Fatalf("%s, want a one-element array", r.body)
	}
	if o := one[0]; o.ID != c || o.Status != "closed" || o.StatusNotes != "已清运" || o.ServiceCode != "report-garbage" ||
		o.ServiceName != "垃圾未清运" || !strings.Contains(o.Agency, "中山社区") || o.Requested != "2099-03-04T10:00:00+08:00" {
		t.Errorf("request %+v", o)
	}
	r = f.anon(http.MethodGet, "/open311/v2/requests/"+b+".json?api_key="+url.QueryEscape(f.tokens[opName]), nil)
	decode(t, r, &one)
	if len(one) != 1 || one[0].Status != "open" || one[0].Lat == nil || *one[0].Lat != 41.09 {
		t.Errorf("request %s", r.body)
	}
	// Anonymous: the service, status and dates, but not the description, address or location.
	r = f.anon(http.MethodGet, "/open311/v2/requests/"+b+".json", nil)
	var anon []map[string]any
	decode(t, r, &anon)
	if len(anon) != 1 || anon[0]["description"] != "" || anon[0]["lat"] != nil || anon[0]["status"] != "open" {
		t.Errorf("anonymous request shows too much: %s", r.body)
	}
	wantO311Error(t, f.anon(http.MethodGet, "/open311/v2/requests/20990302-0999.json", nil), http.StatusNotFound)
	wantO311Error(t, f.anon(http.MethodGet, "/open311/v2/requests/"+a+".xml", nil), http.StatusNotFound)
	wantO311Error(t, f.anon(http.MethodGet, "/open311/v2/requests/"+a, nil), http.StatusNotFound)
}
