package web_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/bayannur/hotline/intake"
)

// Issue 12: Open311 authorises a caller exactly as the REST API does.

func TestOpen311GridWorkerSeesOnlyItsGrid(t *testing.T) {
	f := newFixture(t)
	mine := f.newTicket(intake.NewTicket{Community: "wy-jinqiao", Address: "虹亚小区2号楼", Description: "mine 13912345678"})
	other := f.newTicket(intake.NewTicket{Community: "wy-jinqiao", Address: "金桥小区1号楼", Description: "other 13912345678"})
	if mine.Grid != f.grid || other.Grid != f.grid1 {
		t.Fatalf("grids %q and %q, want %q and %q", mine.Grid, other.Grid, f.grid, f.grid1)
	}
	byKey := func(user, number string) result {
		return f.anon(http.MethodGet, "/open311/v2/requests/"+number+".json?api_key="+url.QueryEscape(f.tokens[user]), nil)
	}
	byBearer := func(user, number string) result {
		return f.as(user, http.MethodGet, "/open311/v2/requests/"+number+".json", nil)
	}
	for name, get := range map[string]func(string, string) result{"api_key": byKey, "Bearer": byBearer} {
		// The REST API refuses the other grid's ticket; so does Open311, either way the token comes.
		wantErr(t, f.as(gwName, http.MethodGet, "/api/v1/tickets/"+other.Number, nil), http.StatusForbidden, "forbidden")
		r := get(gwName, other.Number)
		wantO311Error(t, r, http.StatusForbidden)
		if strings.Contains(string(r.body), "other") || strings.Contains(string(r.body), "金桥小区1号楼") {
			t.Errorf("%s: the refusal shows the ticket: %s", name, r.body)
		}
		// Its own grid's ticket in full.
		r = get(gwName, mine.Number)
		if r.status != http.StatusOK || !strings.Contains(string(r.body), "虹亚小区2号楼") {
			t.Errorf("%s: gw reads its own grid's ticket: %v", name, r)
		}
		// An operator reads both.
		if r := get(opName, other.Number); r.status != http.StatusOK || !strings.Contains(string(r.body), "金桥小区1号楼") {
			t.Errorf("%s: operator reads another grid's ticket: %v", name, r)
		}
	}
	// The lists: a grid worker's holds its grid only, whether asked by id or not.
	listAs := func(user, query string) []string {
		r := f.as(user, http.MethodGet, "/open311/v2/requests.json"+query, nil)
		if r.status != http.StatusOK {
			t.Fatalf("requests.json%s as %s: %v", query, user, r)
		}
		if user == gwName && strings.Contains(string(r.body), "金桥小区1号楼") {
			t.Errorf("gw list shows the other grid: %s", r.body)
		}
		var docs []map[string]any
		decode(t, r, &docs)
		var ids []string
		for _, d := range docs {
			ids = append(ids, d["service_request_id"].(string))
		}
		slices.Sort(ids)
		return ids
	}
	if got := listAs(gwName, ""); !slices.Equal(got, []string{mine.Number}) {
		t.Errorf("gw list %v, want %s", got, mine.Number)
	}
	if got := listAs(gwName, "?service_request_id="+mine.Number+","+other.Number); !slices.Equal(got, []string{mine.Number}) {
		t.Errorf("gw list by ids %v, want %s", got, mine.Number)
	}
	if got := listAs(opName, ""); !slices.Equal(got, sorted(mine.Number, other.Number)) {
		t.Errorf("operator list %v", got)
	}
	// A wrong token is refused, in the header as in the query.
	wantO311Error(t, f.anon(http.MethodGet, "/open311/v2/requests/"+mine.Number+".json", nil, "Authorization", "Bearer nope"), http.StatusForbidden)
	wantO311Error(t, f.anon(http.MethodGet, "/open311/v2/requests.json?api_key=nope", nil), http.StatusForbidden)
}

func TestOpen311BearerCreates(t *testing.T) {
	f := newFixture(t)
	form := f.o311Form("api_key", "")
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.ts.URL+"/open311/v2/requests.json", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+f.tokens[opName])
	resp, err := f.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("create with Bearer: %d", resp.StatusCode)
	}
	// Neither header nor key: refused.
	wantO311Error(t, f.o311Post(form), http.StatusForbidden)
}

func TestOpen311IDCap(t *testing.T) {
	f := newFixture(t)
	n := f.newTicket(intake.NewTicket{Community: "wy-jinqiao", Address: "虹亚小区2号楼"}).Number
	ids := make([]string, 100)
	for i := range ids {
		ids[i] = n
	}
	if got := f.o311Get("?service_request_id=" + strings.Join(ids, ",")); !slices.Equal(got, []string{n}) {
		t.Errorf("100 ids (one ticket): %v", got)
	}
	r := f.anon(http.MethodGet, "/open311/v2/requests.json?service_request_id="+strings.Join(append(ids, n), ","), nil)
	wantO311Error(t, r, http.StatusBadRequest)
	if !strings.Contains(string(r.body), "100") {
		t.Errorf("the error should name the limit: %s", r.body)
	}
	big := strings.Repeat("20990302-0001,", 50_000)
	wantO311Error(t, f.anon(http.MethodGet, "/open311/v2/requests.json?service_request_id="+big, nil), http.StatusBadRequest)
}

func TestOpen311AnonymousListHidesSensitive(t *testing.T) {
	f := newFixture(t)
	light := f.newTicket(intake.NewTicket{Topic: "report-streetlight", Community: "wy-jinqiao", Address: "虹亚小区2号楼"}).Number
	elder := f.newTicket(intake.NewTicket{Topic: "report-elderly-alone", Community: "wy-jinqiao", Address: "虹亚小区2号楼", Description: "独居老人多日未见"}).Number
	dispute := f.newTicket(intake.NewTicket{Topic: "report-neighbor-dispute", Community: "wy-jinqiao", Address: "虹亚小区2号楼", Description: "邻里纠纷"}).Number
	welfare := f.newTicket(intake.NewTicket{Topic: "", Category: "welfare", Community: "wy-jinqiao", Address: "虹亚小区2号楼", Description: "低保"}).Number

	if got := f.o311Get(""); !slices.Equal(got, []string{light}) {
		t.Errorf("anonymous list %v, want only %s", got, light)
	}
	if got := f.o311Get("?service_request_id=" + strings.Join([]string{light, elder, dispute, welfare}, ",")); !slices.Equal(got, []string{light}) {
		t.Errorf("anonymous list by ids %v, want only %s", got, light)
	}
	for _, n := range []string{elder, dispute, welfare} {
		wantO311Error(t, f.anon(http.MethodGet, "/open311/v2/requests/"+n+".json", nil), http.StatusNotFound)
	}
	// Staff see them all.
	r := f.as(opName, http.MethodGet, "/open311/v2/requests.json", nil)
	for _, n := range []string{light, elder, dispute, welfare} {
		if !strings.Contains(string(r.body), n) {
			t.Errorf("operator list lacks %s: %s", n, r.body)
		}
	}
}
