package bot_test

import (
	"context"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/bayannur/hotline/bot"
	"github.com/bayannur/hotline/search"
)

var decisions = map[string]bool{
	bot.Answer: true, bot.Report: true, bot.Emergency: true, bot.Contact: true, bot.Status: true,
	bot.Handoff: true, bot.Smalltalk: true, bot.Decline: true, bot.Clarify: true,
}

// FuzzDecide feeds the bot's entry point arbitrary text: it must never panic, fail only with its
// documented input errors, and always return a well-formed decision.
func FuzzDecide(f *testing.F) {
	for _, s := range []string{
		"", " ", "底保咋办", "俺家暖气不热", "煤气味好大", "转人工", "😀", "<script>alert(1)</script>",
		"'; DROP TABLE t; --", "\xff\xfe", "网个员电话", "虹亚小区归哪个网格", "20261125-0007进度",
		"我那個投訴處理到哪了", "ａｂｃ１２３", "\u200b\u200b", "楼道里电动车充电怕着火",
	} {
		f.Add(s, "")
	}
	f.Add("俺们网格员是谁", "wy-jinqiao")
	f.Add("俺们网格员是谁", "\x00")
	b, g := newBot(f)
	f.Fuzz(func(t *testing.T, text, community string) {
		d, err := b.Decide(context.Background(), bot.Message{Text: text, Community: community})
		if err != nil {
			if !errors.Is(err, bot.ErrEmpty) && !errors.Is(err, bot.ErrTooLong) && !errors.Is(err, bot.ErrInvalidUTF8) &&
				!errors.Is(err, bot.ErrUnknownCommunity) {
				t.Fatalf("Decide(%q): unexpected error %v", text, err)
			}
			return
		}
		if !decisions[d.Decision] {
			t.Fatalf("Decide(%q): unknown decision %q", text, d.Decision)
		}
		if d.Text == "" || !utf8.ValidString(d.Text) {
			t.Fatalf("Decide(%q): reply text %q", text, d.Text)
		}
		if d.Score < 0 || d.Score > 1 {
			t.Fatalf("Decide(%q): score %v", text, d.Score)
		}
		if d.Decision == bot.Clarify && (len(d.Options) == 0 || len(d.Options) > 3) {
			t.Fatalf("Decide(%q): clarify with %d options", text, len(d.Options))
		}
		switch d.Decision {
		case bot.Answer, bot.Report, bot.Emergency:
			e, ok := g.Entry(d.Topic)
			if !ok {
				t.Fatalf("Decide(%q): %s names unknown topic %q", text, d.Decision, d.Topic)
			}
			want := map[string]string{search.KindProcedure: bot.Answer, search.KindReport: bot.Report, search.KindEmergency: bot.Emergency}[e.Kind]
			if want != d.Decision || e.Category != d.Category {
				t.Fatalf("Decide(%q): %s for a %s entry in %s (category %s)", text, d.Decision, e.Kind, e.Category, d.Category)
			}
		}
	})
}
