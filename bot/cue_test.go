package bot

import (
	"bufio"
	"encoding/json"
	"os"
	"regexp/syntax"
	"slices"
	"testing"
)

func TestRequiredRunes(t *testing.T) {
	for expr, want := range map[string]string{
		`着火了|起火了|失火了`:        "着起失", // one rune of each alternative
		`(煤气|燃气)味`:           "味",   // the rarest part of a concatenation
		`晕倒|抽搐`:              "晕抽",  // one of each alternative
		`(拿|持)(着)?刀`:         "刀",   // an optional part is not required
		`[甲乙丙]{1,3}房`:        "房",   // the smallest set wins
		`\d{8}-\d{4}`:        "-",   // a class too large to list gives way to a literal
		`进度|.{0,3}`:          "",    // an alternative that can match anything: nothing to go by
		`(火|烟)?`:             "",    // nothing is required
		`(?i)abc`:            "",    // case folding is not second-guessed
		`x+y*`:               "x",   // one or more
		`着(了|火)|(锅|灶)里?着(了)`: "着",   // both alternatives hold 着
	} {
		p, err := syntax.Parse(expr, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		rs, ok := required(p.Simplify())
		got := ""
		if ok {
			got = string(rs)
		}
		if !sameRunes(got, want) {
			t.Errorf("required(%s) = %q, want %q", expr, got, want)
		}
	}
}

func sameRunes(a, b string) bool {
	x, y := []rune(a), []rune(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y))
}

// TestCuesMatchAsTheirExpressions: trying the alternatives one by one, each after its rune check,
// answers as the whole expression does, on every labelled message and then some; replace leaves no
// match; and every part of a danger pattern has runes to go by (else it gains nothing).
func TestCuesMatchAsTheirExpressions(t *testing.T) {
	texts := []string{"", "着", "煤气", "120", "打120", "20261125-0007", "有结果没"}
	for _, f := range []string{"dev.jsonl", "extra.jsonl", "extra2.jsonl", "extra3.jsonl", "extra4.jsonl", "extra5.jsonl", "extra6.jsonl", "extra7.jsonl", "extra8.jsonl", "extra9.jsonl", "extra10.jsonl", "extra11.jsonl", "extra12.jsonl", "extra13.jsonl", "extra14.jsonl", "extra15.jsonl", "extra16.jsonl", "extra17.jsonl", "extra18.jsonl", "extra19.jsonl"} {
		file, err := os.Open("../testdata/" + f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(file)
		for sc.Scan() {
			var l struct{ Q string }
			if json.Unmarshal(sc.Bytes(), &l) == nil {
				texts = append(texts, l.Q)
				// Halves of a message cut through its phrases: near misses.
				r := []rune(l.Q)
				texts = append(texts, string(r[:len(r)/2]), string(r[len(r)/2:]))
			}
		}
		file.Close()
	}
	cues := map[string]cue{"hedge": hedgeRe, "status": statusRe, "statusEarlier": statusEarlierRe, "contact": contactTargetRe, "notDanger": notDanger}
	for _, c := range emergencyCues {
		cues[c.topic] = c.cue
		for _, p := range c.cue.parts {
			if p.runes == nil {
				t.Errorf("%s: %s has no runes to check before running it", c.topic, p.re)
			}
		}
	}
	matched := 0
	for name, c := range cues {
		for _, text := range texts {
			want := c.re.MatchString(text)
			if got := c.match(text); got != want {
				t.Errorf("%s on %q: match %v, the expression %v", name, text, got, want)
			}
			// replace is used to blank what is not danger: it must leave none of it.
			if got := c.replace(text, " "); name == "notDanger" && c.re.MatchString(got) {
				t.Errorf("%s on %q: replace left a match in %q", name, text, got)
			}
			if want {
				matched++
			}
		}
	}
	if matched < 100 {
		t.Errorf("only %d matches over the texts: the comparison proves little", matched)
	}
}
