package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/bayannur/hotline/intake"
)

// Each role against each console action of the REST API: canned replies, guide search, and the
// tickets of a grid that is not the grid worker's.
func TestConsolePermissions(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	ctx := context.Background()
	// A ticket in grid g-other, which the grid worker (grid g-mine) must not see.
	tk, _, err := e.svc.Create(ctx, intake.NewTicket{Category: "other", Description: "楼道灯坏了", Phone: "13812345678", Channel: intake.ChannelAPI}, "")
	if err != nil {
		t.Fatal(err)
	}
	if tk, err = e.svc.Apply(ctx, tk.Number, 0, intake.Change{Action: intake.ActDispatch, Actor: "x", Grid: "wy-jinqiao-g1"}); err != nil {
		t.Fatal(err)
	}

	type who struct {
		name string
		role intake.Role
	}
	people := []who{{"", ""}, {"gw", intake.RoleGridWorker}, {"op", intake.RoleOperator}, {"mg", intake.RoleManager}, {"ad", intake.RoleAdmin}}
	cookies := map[string]*http.Cookie{}
	for _, p := range people[1:] {
		cookies[p.name] = e.session(p.name, p.role, "wy-jinqiao-g2")
	}
	call := func(p who, method, path string, body any) int {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, e.ts.URL+path, rd)
		if p.name != "" {
			req.AddCookie(cookies[p.name])
			req.Header.Set("X-CSRF-Token", "csrf-"+p.name)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	canned := map[string]string{"title": "问候", "text": "您好"}
	// Expected status by person: anonymous, grid worker, operator, manager, admin.
	for _, tc := range []struct {
		method, path string
		body         any
		want         [5]int
	}{
		{"GET", "/console", nil, [5]int{200, 200, 200, 200, 200}}, // the page itself only shows a login form
		{"GET", "/api/v1/canned", nil, [5]int{401, 200, 200, 200, 200}},
		{"POST", "/api/v1/canned", canned, [5]int{401, 403, 403, 201, 201}},
		{"PUT", "/api/v1/canned/1", canned, [5]int{401, 403, 403, 200, 200}},
		{"DELETE", "/api/v1/canned/2", nil, [5]int{401, 403, 403, 204, 404}}, // the manager deleted it first
		{"GET", "/api/v1/guide/search?q=底保", nil, [5]int{401, 200, 200, 200, 200}},
		{"GET", "/api/v1/tickets", nil, [5]int{401, 200, 200, 200, 200}},
		{"GET", "/api/v1/tickets/" + tk.Number, nil, [5]int{404, 403, 200, 200, 200}}, // anonymous: the resident lookup, no tail
		{"POST", "/api/v1/tickets/" + tk.Number + "/notes", map[string]any{"note": "看过了"}, [5]int{401, 403, 200, 200, 200}},
		{"POST", "/api/v1/tickets/" + tk.Number + "/urge", map[string]any{"version": 1}, [5]int{401, 403, 409, 409, 409}}, // operators may; the version is stale by then
	} {
		for i, p := range people {
			if got := call(p, tc.method, tc.path, tc.body); got != tc.want[i] {
				t.Errorf("%s %s as %s: %d, want %d", tc.method, tc.path, cmpRole(p.role), got, tc.want[i])
			}
		}
	}
	// Nothing the refused ones sent was stored.
	list, err := e.store.ListCanned(ctx)
	if err != nil {
		t.Fatal(err)
	}
	added := 0
	for _, c := range list {
		if c.Title == "问候" && c.Text == "您好" {
			added++
		}
	}
	if added != 3 { // the manager's and the admin's posts, and the reply 1 both changed to it
		t.Errorf("canned replies now %+v: want the manager's and admin's changes only", list)
	}
}

func cmpRole(r intake.Role) string {
	if r == "" {
		return "anonymous"
	}
	return string(r)
}

// Canned replies refuse bad input and unknown ids, clearly.
func TestCannedBadInput(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	cookie := e.session("mg", intake.RoleManager, "")
	do := func(method, path, body string) int {
		req, _ := http.NewRequest(method, e.ts.URL+path, bytes.NewBufferString(body))
		req.AddCookie(cookie)
		req.Header.Set("X-CSRF-Token", "csrf-mg")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		method, path, body string
		want               int
	}{
		{"POST", "/api/v1/canned", `{"title":"","text":"x"}`, 400},
		{"POST", "/api/v1/canned", `{"title":"x","text":""}`, 400},
		{"POST", "/api/v1/canned", `{"title":"x"`, 400},
		{"PUT", "/api/v1/canned/999", `{"title":"x","text":"y"}`, 404},
		{"PUT", "/api/v1/canned/abc", `{"title":"x","text":"y"}`, 404},
		{"DELETE", "/api/v1/canned/999", ``, 404},
		{"GET", "/api/v1/guide/search?q=", ``, 400},
	} {
		if got := do(tc.method, tc.path, tc.body); got != tc.want {
			t.Errorf("%s %s %s: %d, want %d", tc.method, tc.path, tc.body, got, tc.want)
		}
	}
	req, _ := http.NewRequest("POST", e.ts.URL+"/api/v1/canned", bytes.NewBufferString(`{"title":"x","text":"y"}`))
	req.AddCookie(cookie) // no CSRF token
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a write without the CSRF token: %d, want 403", resp.StatusCode)
	}
}
