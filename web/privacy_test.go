package web_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/internal/testkit"
)

// Phones typed into a ticket's free text (the bot stores a place such as …电话15947801234 whole)
// are masked wherever staff or Open311 read tickets, and in the log; an operator or a manager may
// reveal them in the detail, which is logged; a grid worker or an anonymous caller may not.
func TestPhonesInFreeTextAreMasked(t *testing.T) {
	var logs testkit.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := newFixtureLog(t, log)
	const inAddress, inDescription, inNote = "15947801234", "0478-8123456", "13711112222"
	tk := f.newTicket(intake.NewTicket{Topic: "report-streetlight", Community: "wy-jinqiao",
		Address: "虹亚小区3号楼门口电话" + inAddress, Description: "路灯坏了，白天打159 4780 1234或" + inDescription,
		Phone: inAddress, Channel: intake.ChannelChat})
	f.mustAct(opName, tk.Number, "note", map[string]any{"note": "居民说也可以打" + inNote})
	full := []string{inAddress, "4780 1234", inDescription, "8123456", inNote}
	wantMasked := func(what string, body []byte) {
		t.Helper()
		for _, p := range full {
			if bytes.Contains(body, []byte(p)) {
				t.Errorf("%s shows %s in full: %s", what, p, body)
			}
		}
		if !bytes.Contains(body, []byte("159****1234")) {
			t.Errorf("%s: want 159****1234 in %s", what, body)
		}
	}
	for _, u := range []string{opName, mgrName, gwName} {
		r := f.as(u, http.MethodGet, "/api/v1/tickets", nil)
		wantMasked("the list as "+u, r.body)
		r = f.as(u, http.MethodGet, "/api/v1/tickets.csv", nil)
		wantMasked("the CSV as "+u, r.body)
	}
	r := f.as(opName, http.MethodGet, "/api/v1/tickets/"+tk.Number, nil)
	// The detail's phone_full is the Phone field, to call the resident back; the text is masked.
	wantMasked("the detail", bytes.ReplaceAll(r.body, []byte(`"phone_full":"`+inAddress+`"`), nil))
	r = f.act(opName, tk.Number, "urge", map[string]any{"version": tk.Version + 1})
	wantMasked("an action's answer", r.body)
	r = f.anon(http.MethodGet, "/open311/v2/requests.json?api_key="+f.tokens[opName], nil)
	wantMasked("the Open311 list", r.body)
	r = f.anon(http.MethodGet, "/open311/v2/requests/"+tk.Number+".json?api_key="+f.tokens[opName], nil)
	wantMasked("the Open311 request", r.body)

	// Reveal: an operator or a manager who gives a reason gets the whole text; the reason goes
	// into the ticket's trail, and the log says who, which, when. Asking without one is refused.
	for _, u := range []string{opName, mgrName} {
		wantErr(t, f.as(u, http.MethodGet, "/api/v1/tickets/"+tk.Number+"?reveal=1", nil), http.StatusForbidden, "reveal_reason")
		wantErr(t, f.as(u, http.MethodPost, "/api/v1/tickets/"+tk.Number+"/reveal", map[string]string{"reason": "  "}), http.StatusBadRequest, "invalid")
		reason := "回访居民 " + u
		for i, r := range []result{
			f.as(u, http.MethodPost, "/api/v1/tickets/"+tk.Number+"/reveal", map[string]string{"reason": reason}),
			f.as(u, http.MethodGet, "/api/v1/tickets/"+tk.Number+"?reveal=1", nil), // within the window
		} {
			if r.status != http.StatusOK {
				t.Fatalf("reveal %d as %s: %v", i, u, r)
			}
			var d struct {
				Address, Description string
				Events               []intake.Event
			}
			decode(t, r, &d)
			notes := ""
			for _, e := range d.Events {
				notes += e.Note
			}
			last := d.Events[len(d.Events)-1]
			if !strings.Contains(d.Address, inAddress) || !strings.Contains(d.Description, inDescription) || !strings.Contains(notes, inNote) {
				t.Errorf("reveal %d as %s: address %q, description %q, events %+v", i, u, d.Address, d.Description, d.Events)
			}
			if last.Action != intake.ActReveal || last.Actor != u || last.Note != reason {
				t.Errorf("reveal %d as %s: last event %+v; want the reveal with its reason", i, u, last)
			}
		}
		if !strings.Contains(logs.String(), `ticket text revealed" staff=`+u) ||
			!strings.Contains(logs.String(), "ticket="+tk.Number) {
			t.Errorf("no audit line for %s's reveal in %s", u, logs.String())
		}
	}
	// Half an hour on, the reveal has lapsed.
	f.clock.Advance(intake.RevealWindow)
	wantErr(t, f.as(opName, http.MethodGet, "/api/v1/tickets/"+tk.Number+"?reveal=1", nil), http.StatusForbidden, "reveal_reason")
	wantErr(t, f.as(gwName, http.MethodPost, "/api/v1/tickets/"+tk.Number+"/reveal", map[string]string{"reason": "x"}), http.StatusForbidden, "forbidden")
	wantErr(t, f.as(opName, http.MethodPost, "/api/v1/tickets/20990101-0001/reveal", map[string]string{"reason": "x"}), http.StatusNotFound, "not_found")
	wantErr(t, f.as(gwName, http.MethodGet, "/api/v1/tickets/"+tk.Number+"?reveal=1", nil), http.StatusForbidden, "forbidden")
	if r = f.anon(http.MethodGet, "/api/v1/tickets/"+tk.Number+"?reveal=1", nil); r.status != http.StatusNotFound {
		t.Errorf("anonymous reveal: %v", r)
	}
	if r = f.anon(http.MethodGet, "/api/v1/tickets/"+tk.Number+"?reveal=1&phone_tail=1234", nil); bytes.Contains(r.body, []byte(inAddress)) {
		t.Errorf("the resident view shows the address: %v", r)
	}
	wantErr(t, f.as(opName, http.MethodGet, "/api/v1/tickets/"+tk.Number+"?reveal=maybe", nil), http.StatusBadRequest, "invalid")
	// The ticket keeps everything whole.
	stored, err := f.svc.Get(t.Context(), tk.Number)
	if err != nil || stored.Phone.Full() != inAddress || !strings.Contains(stored.Address, inAddress) {
		t.Errorf("stored ticket %+v, %v", stored, err)
	}
	for _, p := range full {
		if strings.Contains(logs.String(), p) {
			t.Errorf("the log shows %s in full", p)
		}
	}
}
