package bot

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/search"
)

func sampleEntries(t *testing.T) []search.Entry {
	t.Helper()
	g, err := search.LoadSample()
	if err != nil {
		t.Fatal(err)
	}
	return g.Entries
}

func numbered(items []string) string {
	lines := make([]string, len(items))
	for i, it := range items {
		lines[i] = fmt.Sprintf("%d. %s", i+1, it)
	}
	return strings.Join(lines, "\n")
}

// Every sample entry renders as a short text that fits a phone and sections that hold the rest:
// nothing of the answer is lost, nothing is repeated in another order.
func TestRenderEntryShortAndSections(t *testing.T) {
	for _, e := range sampleEntries(t) {
		t.Run(e.ID, func(t *testing.T) {
			text, more := renderEntry(&e)
			a := e.Answer
			var prefix string // what the text adds to the short answer
			switch e.Kind {
			case search.KindEmergency:
				if !strings.HasPrefix(text, a.Short+"\n现在就做：\n") || !strings.HasPrefix(text, e.Emergency.Numbers[0].Number) {
					t.Fatalf("an emergency's text starts with the numbers, then what to do now: %q", text)
				}
				prefix = strings.TrimPrefix(text, a.Short)
				if want := "\n现在就做：\n" + numbered(e.Emergency.DoNow); prefix != want {
					t.Errorf("after the short answer %q, want %q", prefix, want)
				}
				for _, n := range e.Emergency.Numbers {
					if !strings.Contains(text, n.Number) {
						t.Errorf("text %q lacks %s %s", text, n.Name, n.Number)
					}
				}
			case search.KindReport:
				prefix = "【" + e.Title + "】" + "\n\n" + reportQuestion
				if want := "【" + e.Title + "】" + a.Short + "\n\n" + reportQuestion; text != want {
					t.Errorf("text %q, want %q", text, want)
				}
			default:
				prefix = "【" + e.Title + "】"
				if want := prefix + a.Short; text != want {
					t.Errorf("text %q, want %q", text, want)
				}
			}
			if n, max := utf8.RuneCountInString(text), search.ShortMax+utf8.RuneCountInString(prefix); n > max {
				t.Errorf("text is %d characters, want at most %d", n, max)
			}

			var want []intake.Section
			add := func(title, v string) {
				if v != "" {
					want = append(want, intake.Section{Title: title, Text: v})
				}
			}
			add("说明", a.Summary)
			add("条件", numbered(a.Conditions))
			add("材料", numbered(a.Materials))
			add("地点", string(a.Where))
			add("时间", string(a.Hours))
			add("电话", string(a.Phone))
			add("步骤", numbered(a.Steps))
			add("时限", string(a.TimeLimit))
			if fmt.Sprint(more) != fmt.Sprint(want) {
				t.Errorf("sections\n%q\nwant\n%q", more, want)
			}

			full := FullText(text, more)
			if !strings.HasPrefix(full, text+"\n") {
				t.Errorf("the full text does not start with the short text: %q", full)
			}
			for _, s := range more {
				if !strings.Contains(full, "\n"+s.Title+"：\n"+s.Text) {
					t.Errorf("the full text lacks section %s: %q", s.Title, full)
				}
			}
		})
	}
}

// A guide written before answer.short still answers: the summary is the text, an emergency's
// numbers are spelled out.
func TestRenderEntryWithoutShort(t *testing.T) {
	e := &search.Entry{ID: "dibao", Kind: search.KindProcedure, Title: "低保", Answer: search.Answer{Summary: "到社区申请。", Where: "社区"}}
	text, more := renderEntry(e)
	if text != "【低保】到社区申请。" || len(more) != 1 || more[0] != (intake.Section{Title: "地点", Text: "社区"}) {
		t.Errorf("got %q %q", text, more)
	}
	fire := &search.Entry{ID: "emergency-fire", Kind: search.KindEmergency, Title: "火灾",
		Answer:    search.Answer{Summary: "马上打119。"},
		Emergency: &search.Emergency{Numbers: []search.Number{{Name: "火警", Number: "119"}, {Name: "急救", Number: "120"}}, DoNow: []string{"离开"}}}
	text, more = renderEntry(fire)
	if text != "请立即拨打：火警 119，急救 120\n现在就做：\n1. 离开" || len(more) != 1 || more[0].Title != "说明" {
		t.Errorf("got %q %q", text, more)
	}
}

func TestFullTextWithoutSections(t *testing.T) {
	if got := FullText("您好", nil); got != "您好" {
		t.Errorf("FullText = %q", got)
	}
}
