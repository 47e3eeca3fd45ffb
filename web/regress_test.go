package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/bayannur/hotline/intake"
)

// A 3,000-character description sent \u-escaped is a valid ticket, not a body too large.
func TestEscapedLongDescriptionFits(t *testing.T) {
	f := newFixture(t)
	b, _ := json.Marshal(with(reportBody(), "description", strings.Repeat("漏", 3000)))
	var esc strings.Builder
	for _, r := range string(b) {
		if r > 127 {
			fmt.Fprintf(&esc, `\u%04x`, r)
		} else {
			esc.WriteRune(r)
		}
	}
	if r := f.anon(http.MethodPost, "/api/v1/tickets", esc.String()); r.status != http.StatusCreated {
		t.Errorf("got %v", r)
	}
}

func TestOpen311RefusesNaNLocation(t *testing.T) {
	f := newFixture(t)
	wantO311Error(t, f.o311Post(f.o311Form("address_string", "", "lat", "NaN", "long", "NaN")), http.StatusBadRequest)
}

// A key reused for another report is refused and shows nothing of the first ticket.
func TestIdempotencyKeyWithAnotherBody(t *testing.T) {
	f := newFixture(t)
	f.anon(http.MethodPost, "/api/v1/tickets", reportBody(), "Idempotency-Key", "k")
	r := f.anon(http.MethodPost, "/api/v1/tickets", with(reportBody(), "topic", "report-noise", "phone", "13900009999"), "Idempotency-Key", "k")
	if r.status != http.StatusConflict || strings.Contains(string(r.body), "number") {
		t.Errorf("got %v", r)
	}
}

func TestDispatchToUnknownGrid(t *testing.T) {
	f := newFixture(t)
	n := f.newTicket(intake.NewTicket{Description: "x"}).Number
	wantErr(t, f.act(opName, n, "dispatch", map[string]any{"version": 1, "grid": "wy-jinqiao-g9"}), http.StatusBadRequest, "invalid")
}

// Without the version seen, a change is refused rather than applied blindly.
func TestActionNeedsVersion(t *testing.T) {
	f := newFixture(t)
	n := f.newTicket(intake.NewTicket{Community: "wy-jinqiao", Address: "虹亚小区"}).Number
	f.mustAct(opName, n, "sign", map[string]any{"version": 1})
	wantErr(t, f.act(op2Name, n, "resolve", map[string]any{"note": "done"}), http.StatusBadRequest, "invalid")
}
