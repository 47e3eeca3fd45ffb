package bot_test

import (
	"strings"
	"testing"

	"github.com/bayannur/hotline/bot"
)

// placeSteps are the two ways a chat comes to ask where: an ordinary report and an emergency's
// urgent ticket.
var placeSteps = []struct {
	name  string
	enter string
}{
	{"a streetlight report", "俺们楼门口的路灯坏了好几天了"},
	{"a fire", "楼下着火了 烟都上来了"},
}

// TestPlaceAnswersStayInTheReport: asked where, residents answer with a place, which the report
// keeps as its address — never read as a new matter, least of all an emergency that would drop
// the report and call the operators — while a danger told instead of a place still breaks out:
// the numbers first, always, and nearly always the emergency decided.
// The messages are a held-out set the model is never trained on (bot/testdata/heldout/README.md),
// written apart from the guide: most of its places are not in it.
func TestPlaceAnswersStayInTheReport(t *testing.T) {
	set := readSet(t, "testdata/heldout/apart-places-r.jsonl")
	_, g := newBot(t)
	for _, step := range placeSteps {
		t.Run(step.name, func(t *testing.T) {
			var places, kept, numbers, dangers, broke int
			for _, l := range set {
				c := newChat(t, "")
				c.ask(step.enter)
				if !bot.AwaitsPlace(c.st) {
					t.Fatalf("%s: not asked where: %+v", step.enter, c.st)
				}
				emergency := c.st.Emergency
				r := c.ask(l.Q)
				if e, ok := g.Entry(l.Label); ok && e.Kind == "emergency" {
					// A danger instead of the place: the numbers first, always; and the
					// emergency decided (its operators called), unless an emergency is
					// already being reported.
					dangers++
					switch {
					case r.Decision == bot.Emergency || emergency && c.st.Emergency:
						broke++
					case strings.HasPrefix(r.Text, numbersFirst):
						t.Logf("given the numbers, not decided: %q: %s/%s", l.Q, r.Decision, r.Topic)
					default:
						t.Errorf("%q: %s/%s %q, want the emergency numbers first", l.Q, r.Decision, r.Topic, r.Text)
					}
					continue
				}
				places++
				if c.st.Address != "" && r.Decision == bot.Report && c.st.Emergency == emergency {
					kept++
				} else {
					t.Logf("not kept as the place: %q: %s/%s", l.Q, r.Decision, r.Topic)
				}
				if strings.HasPrefix(r.Text, numbersFirst) {
					numbers++
					t.Logf("given the numbers: %q", l.Q)
				}
			}
			t.Logf("%d/%d places kept as the address (%d given the numbers); %d/%d dangers broke out", kept, places, numbers, broke, dangers)
			if places == 0 || dangers == 0 {
				t.Fatalf("the set has %d places and %d dangers", places, dangers)
			}
			if kept < places*95/100 {
				t.Errorf("%d of %d places kept as the address, want at least 95%%", kept, places)
			}
			if broke < dangers*9/10 {
				t.Errorf("%d of %d dangers decided as emergencies, want at least 90%%", broke, dangers)
			}
			if numbers > places/10 {
				t.Errorf("%d of %d places given the emergency numbers, want at most 10%%", numbers, places)
			}
		})
	}
}
