package intake_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
)

// The example of docs/integrations.md, as a receiver in another language computes it.
func TestWebhookSignatureKnownVector(t *testing.T) {
	body := []byte(`{"id":"42","type":"ticket.signed","created_at":"2026-12-02T02:13:09.5Z","data":{}}`)
	const want = "sha256=5cbfff7bbec7088a8e7d71ad88ce5c15a31704bbaea827d988f9650f8ee0e051"
	if got := intake.WebhookSignature("whsec_0123456789abcdef", 1796220000, body); got != want {
		t.Errorf("signature %s; want %s (docs/integrations.md)", got, want)
	}
	now := time.Unix(1796220000, 0).Add(time.Minute)
	if err := intake.VerifyWebhook("whsec_0123456789abcdef", "1796220000", want, body, now, 5*time.Minute); err != nil {
		t.Errorf("VerifyWebhook: %v", err)
	}
	if err := intake.VerifyWebhook("whsec_something_else", "1796220000", want, body, now, 5*time.Minute); err == nil {
		t.Error("VerifyWebhook with another secret: verified")
	}
}

func TestWebhookNewSubscription(t *testing.T) {
	now := time.Now()
	s, err := intake.NewSubscription(" https://example.com/hook ", []string{"ticket.created", "*", "ticket.created"}, "", false, "root", now)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Events, []intake.EventKind{intake.AllKinds}) || !s.Wants(intake.KindHandoffTaken) || s.URL != "https://example.com/hook" ||
		!strings.HasPrefix(s.ID, "wh_") || !strings.HasPrefix(s.Secret, "whsec_") || len(s.Secret) < 32 {
		t.Errorf("subscription %+v; want * alone, an id and a made secret", s)
	}
	s, err = intake.NewSubscription("http://example.com/", []string{"ticket.resolved", "ticket.resolved"}, "a-secret-of-16-chars", true, "root", now)
	if err != nil || !slices.Equal(s.Events, []intake.EventKind{intake.KindTicketResolved}) || s.Wants(intake.KindTicketCreated) || s.Secret != "a-secret-of-16-chars" {
		t.Errorf("subscription %+v, %v; want ticket.resolved once and the secret given", s, err)
	}
	for _, tc := range []struct {
		url, field string
		events     []string
		secret     string
	}{
		{"", "url", []string{"*"}, ""},
		{"example.com/hook", "url", []string{"*"}, ""},
		{"javascript:alert(1)", "url", []string{"*"}, ""},
		{"https://u:p@example.com/", "url", []string{"*"}, ""},
		{"https://example.com/#x", "url", []string{"*"}, ""},
		{"https://" + strings.Repeat("a", 2050) + ".com/", "url", []string{"*"}, ""},
		{"https://example.com/", "events", nil, ""},
		{"https://example.com/", "events", []string{"ticket.note"}, ""},
		{"https://example.com/", "secret", []string{"*"}, "too-short"},
	} {
		_, err := intake.NewSubscription(tc.url, tc.events, tc.secret, false, "root", now)
		var fe *intake.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("NewSubscription(%.40q, %q, %q) = %v; want an error on %s", tc.url, tc.events, tc.secret, err, tc.field)
		}
	}
}

func TestWebhookBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 5: 16 * time.Second, 30: time.Minute} {
		for range 50 {
			if d := intake.Backoff(n, time.Second, time.Minute); d < want/2 || d > want {
				t.Fatalf("Backoff(%d) = %v; want within [%v, %v]", n, d, want/2, want)
			}
		}
	}
}
