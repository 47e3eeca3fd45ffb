package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake/postgres/pgtest"
	"github.com/bayannur/hotline/internal/testkit"
	"github.com/bayannur/hotline/search"
)

func TestMain(m *testing.M) {
	// In-process serve runs log through slog.Default; keep the test output readable.
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	code := pgtest.Main(m) // runs the tests, then stops the PostgreSQL server if one was started
	testkit.RemoveBinary()
	os.Exit(code)
}

// runCmd runs the command line in-process and returns its exit code, stdout and stderr.
func runCmd(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// ---- guide check ----

func TestGuideCheckBuiltIn(t *testing.T) {
	code, out, errOut := runCmd(t, "", "guide", "check")
	if code != 0 {
		t.Fatalf("guide check: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "built-in guide: ok") {
		t.Errorf("guide check printed %q, want it to say the built-in guide is ok", out)
	}
	// The counts come from the sample guide itself, so they cannot be zero.
	if m := regexp.MustCompile(`ok — (\d+) entries`).FindStringSubmatch(out); m == nil || m[1] == "0" {
		t.Errorf("guide check printed %q, want a non-zero entry count", out)
	}
}

func TestGuideCheckSampleCopyIsOK(t *testing.T) {
	// The control for the broken-guide cases below: an unmodified copy passes.
	dir := sampleCopy(t)
	code, out, errOut := runCmd(t, "", "guide", "check", dir)
	if code != 0 || !strings.Contains(out, dir+": ok") {
		t.Fatalf("guide check on a copy of the sample: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}

// sampleCopy writes the built-in guide into a fresh temporary directory.
func sampleCopy(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "guide")
	if err := os.CopyFS(dir, search.SampleGuide()); err != nil {
		t.Fatal(err)
	}
	return dir
}

// edit replaces the first occurrence of old in dir/name with new and returns the 1-based line at
// which the replacement starts.
func edit(t *testing.T, dir, name, old, new string) int {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte(old))
	if i < 0 {
		t.Fatalf("%s does not contain %q", name, old)
	}
	line := bytes.Count(b[:i], []byte("\n")) + 1
	out := append(append(append([]byte{}, b[:i]...), new...), b[i+len(old):]...)
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return line
}

// lineOf returns the 1-based line of the first occurrence of s in dir/name.
func lineOf(t *testing.T, dir, name, s string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte(s))
	if i < 0 {
		t.Fatalf("%s does not contain %q", name, s)
	}
	return bytes.Count(b[:i], []byte("\n")) + 1
}

var problemLine = regexp.MustCompile(`^([^:]+):(\d+): (.+)$`)

type problem struct {
	file   string
	line   int
	reason string
}

// checkBroken runs guide check on dir, requires exit 1 and returns the problems printed.
func checkBroken(t *testing.T, dir string) []problem {
	t.Helper()
	code, out, errOut := runCmd(t, "", "guide", "check", dir)
	if code != 1 {
		t.Fatalf("guide check %s: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", dir, code, out, errOut)
	}
	var ps []problem
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		m := problemLine.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("guide check printed %q, want file:line: reason", l)
			continue
		}
		var n int
		fmt.Sscan(m[2], &n)
		ps = append(ps, problem{m[1], n, m[3]})
	}
	if want := fmt.Sprintf("%s: %d problem(s)", dir, len(ps)); !strings.Contains(errOut, want) {
		t.Errorf("stderr %q, want it to contain %q", errOut, want)
	}
	return ps
}

// wantProblem requires a problem in file at one of lines whose reason contains reason.
func wantProblem(t *testing.T, ps []problem, file string, lines []int, reason string) {
	t.Helper()
	for _, p := range ps {
		if p.file != file || !strings.Contains(p.reason, reason) {
			continue
		}
		for _, l := range lines {
			if p.line == l {
				return
			}
		}
		t.Errorf("%s: %q reported at line %d, want line %v", file, reason, p.line, lines)
		return
	}
	t.Errorf("no problem %s:%v: ...%s... among %+v", file, lines, reason, ps)
}

func TestGuideCheckBroken(t *testing.T) {
	type want struct {
		file   string
		lines  []int
		reason string
	}
	cases := []struct {
		name   string
		mutate func(t *testing.T, dir string) []want
	}{
		{"unknown kind", func(t *testing.T, dir string) []want {
			l := edit(t, dir, "entries/dibao.yaml", "kind: procedure", "kind: recipe")
			return []want{{"entries/dibao.yaml", []int{l}, `unknown kind "recipe"`}}
		}},
		{"missing kind", func(t *testing.T, dir string) []want {
			edit(t, dir, "entries/dibao.yaml", "kind: procedure\n", "")
			return []want{{"entries/dibao.yaml", []int{1}, "missing kind"}}
		}},
		{"unknown category", func(t *testing.T, dir string) []want {
			l := edit(t, dir, "entries/dibao.yaml", "category: welfare", "category: cooking")
			return []want{{"entries/dibao.yaml", []int{l}, `unknown category "cooking"`}}
		}},
		{"duplicate entry id", func(t *testing.T, dir string) []want {
			l := edit(t, dir, "entries/legal-aid.yaml", "id: legal-aid", "id: dibao")
			return []want{
				{"entries/legal-aid.yaml", []int{l}, `duplicate id "dibao" (also in entries/dibao.yaml)`},
			}
		}},
		{"id not matching the file name", func(t *testing.T, dir string) []want {
			l := edit(t, dir, "entries/dibao.yaml", "id: dibao", "id: dibao-x")
			return []want{{"entries/dibao.yaml", []int{l}, `id "dibao-x" does not match the file name "dibao"`}}
		}},
		{"duplicate contacts id", func(t *testing.T, dir string) []want {
			first := lineOf(t, dir, "contacts.yaml", "- id: wy-jinqiao\n")
			l := edit(t, dir, "contacts.yaml", "- id: wy-zhongshan\n", "- id: wy-jinqiao\n")
			return []want{{"contacts.yaml", []int{l}, fmt.Sprintf(`duplicate id "wy-jinqiao" (first at line %d)`, first)}}
		}},
		{"missing answer", func(t *testing.T, dir string) []want {
			b, err := os.ReadFile(filepath.Join(dir, "entries", "dibao.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			i := bytes.Index(b, []byte("\nanswer:"))
			if i < 0 {
				t.Fatal("dibao.yaml has no answer")
			}
			if err := os.WriteFile(filepath.Join(dir, "entries", "dibao.yaml"), b[:i+1], 0o644); err != nil {
				t.Fatal(err)
			}
			// With no answer key at all, the entry's first line is the best there is.
			return []want{{"entries/dibao.yaml", []int{1}, "missing answer (answer.summary)"}}
		}},
		{"empty answer summary", func(t *testing.T, dir string) []want {
			answer := lineOf(t, dir, "entries/dibao.yaml", "answer:")
			b, err := os.ReadFile(filepath.Join(dir, "entries", "dibao.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			b = regexp.MustCompile(`(?m)^  summary: .*$`).ReplaceAll(b, []byte(`  summary: "  "`))
			if err := os.WriteFile(filepath.Join(dir, "entries", "dibao.yaml"), b, 0o644); err != nil {
				t.Fatal(err)
			}
			return []want{{"entries/dibao.yaml", []int{answer}, "missing answer (answer.summary)"}}
		}},
		{"missing short answer", func(t *testing.T, dir string) []want {
			answer := lineOf(t, dir, "entries/dibao.yaml", "\nanswer:") + 1
			b, err := os.ReadFile(filepath.Join(dir, "entries", "dibao.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			b = regexp.MustCompile(`(?m)^  short: .*\n`).ReplaceAll(b, nil)
			if err := os.WriteFile(filepath.Join(dir, "entries", "dibao.yaml"), b, 0o644); err != nil {
				t.Fatal(err)
			}
			return []want{{"entries/dibao.yaml", []int{answer}, "missing short answer (answer.short, at most 150 characters)"}}
		}},
		{"short answer over 150 characters", func(t *testing.T, dir string) []want {
			l := edit(t, dir, "entries/legal-aid.yaml", "  short: ", "  short: "+strings.Repeat("法律援助", 38)) // 152 more
			return []want{{"entries/legal-aid.yaml", []int{l}, "answer.short is"}, {"entries/legal-aid.yaml", []int{l}, "want at most 150"}}
		}},
		{"compound grid points nowhere", func(t *testing.T, dir string) []want {
			l := edit(t, dir, "contacts.yaml", "grid: wy-jinqiao-g1\n", "grid: wy-jinqiao-g9\n")
			return []want{{"contacts.yaml", []int{l}, `compound 金桥小区: grid "wy-jinqiao-g9" points nowhere in community wy-jinqiao`}}
		}},
		{"grid parent points nowhere", func(t *testing.T, dir string) []want {
			grid := lineOf(t, dir, "contacts.yaml", "- id: wy-jinqiao-g1\n")
			l := edit(t, dir, "contacts.yaml", "parent: wy-jinqiao-g0", "parent: wy-jinqiao-g8")
			if l <= grid {
				t.Fatalf("the first parent: wy-jinqiao-g0 (line %d) is not in grid wy-jinqiao-g1 (line %d)", l, grid)
			}
			// The loader reports a grid problem at the grid's own line; the parent key's line
			// would do as well.
			return []want{{"contacts.yaml", []int{grid, l}, `grid wy-jinqiao-g1: parent "wy-jinqiao-g8" points nowhere in community wy-jinqiao`}}
		}},
		{"invalid YAML in an entry", func(t *testing.T, dir string) []want {
			l := edit(t, dir, "entries/dibao.yaml", "title: ", "title: a: ")
			return []want{{"entries/dibao.yaml", []int{l}, fmt.Sprintf("invalid YAML: yaml: line %d: mapping values are not allowed", l)}}
		}},
		{"invalid YAML in contacts", func(t *testing.T, dir string) []want {
			l := edit(t, dir, "contacts.yaml", "    name: 五原县城区", "    name: 五原县: 城区")
			return []want{{"contacts.yaml", []int{l}, fmt.Sprintf("invalid YAML: yaml: line %d: mapping values are not allowed", l)}}
		}},
		{"two problems in two files", func(t *testing.T, dir string) []want {
			k := edit(t, dir, "entries/dibao.yaml", "kind: procedure", "kind: recipe")
			c := edit(t, dir, "entries/legal-aid.yaml", "category: ", "category: x")
			return []want{
				{"entries/dibao.yaml", []int{k}, `unknown kind "recipe"`},
				{"entries/legal-aid.yaml", []int{c}, "unknown category"},
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := sampleCopy(t)
			wants := c.mutate(t, dir)
			ps := checkBroken(t, dir)
			for _, w := range wants {
				wantProblem(t, ps, w.file, w.lines, w.reason)
			}
		})
	}
}

func TestGuideCheckNotADirectory(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	code, _, errOut := runCmd(t, "", "guide", "check", missing)
	if code != 1 || !strings.Contains(errOut, "not a directory") {
		t.Fatalf("guide check %s: exit %d, stderr %q; want 1 and \"not a directory\"", missing, code, errOut)
	}
}

// ---- usage ----

func TestUsageExitCodes(t *testing.T) {
	cases := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{args: []string{"frobnicate"}, code: 2, stderr: `unknown command "frobnicate"`},
		{args: nil, code: 2, stderr: "usage:"},
		{args: []string{"guide"}, code: 2, stderr: "usage:"},
		{args: []string{"guide", "lint"}, code: 2, stderr: "usage:"},
		{args: []string{"help"}, code: 0, stdout: "usage:"},
		{args: []string{"ask"}, code: 2, stderr: "usage: hotline ask"},
		{args: []string{"eval"}, code: 2, stderr: "usage: hotline eval"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, "_"), func(t *testing.T) {
			code, out, errOut := runCmd(t, "", c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.code, out, errOut)
			}
			if !strings.Contains(out, c.stdout) {
				t.Errorf("stdout %q, want it to contain %q", out, c.stdout)
			}
			if !strings.Contains(errOut, c.stderr) {
				t.Errorf("stderr %q, want it to contain %q", errOut, c.stderr)
			}
		})
	}
}

// ---- ask ----

func TestUnknownFlagFails(t *testing.T) {
	for _, cmd := range []string{"ask", "eval", "serve"} {
		code, out, _ := runCmd(t, "", cmd, "--no-such-flag")
		if code == 0 || out != "" {
			t.Errorf("%s --no-such-flag: exit %d, stdout %q; want a failure and nothing on stdout", cmd, code, out)
		}
	}
}

func TestAskPrintsReply(t *testing.T) {
	t.Parallel()
	code, out, errOut := runCmd(t, "", "ask", "俺家暖气不热")
	if code != 0 {
		t.Fatalf("ask: exit %d\nstderr:\n%s", code, errOut)
	}
	// The heating report: its title, the advice, and the offer to open a work order.
	for _, want := range []string{"【供暖不热】", "暖气", "工单"} {
		if !strings.Contains(out, want) {
			t.Errorf("ask 俺家暖气不热 printed\n%s\nwant it to contain %q", out, want)
		}
	}
	if strings.HasPrefix(strings.TrimSpace(out), "{") {
		t.Errorf("ask without --jsonl printed JSON, want text for a person:\n%s", out)
	}
}

// ask prints the short answer, then every section a phone folds away (title, then text), so a
// person at a terminal sees all; ask --jsonl carries the sections as "more".
func TestAskPrintsShortTextThenSections(t *testing.T) {
	t.Parallel()
	const q = "办低保要什么材料"
	code, out, errOut := runCmd(t, "", "ask", q)
	if code != 0 {
		t.Fatalf("ask: exit %d\nstderr:\n%s", code, errOut)
	}
	eng, err := loadEngine(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	e, _ := eng.guide.Entry("dibao")
	short := "【" + e.Title + "】" + e.Answer.Short + "\n"
	if !strings.HasPrefix(out, short) {
		t.Fatalf("ask %s printed\n%s\nwant it to start with the short answer %q", q, out, short)
	}
	at := len(short)
	for _, want := range []string{"\n说明：\n" + e.Answer.Summary, "\n材料：\n1. " + e.Answer.Materials[0] + "\n2. ", "\n地点：\n", "\n步骤：\n1. ", "\n时限：\n" + string(e.Answer.TimeLimit)} {
		i := strings.Index(out[at:], want)
		if i < 0 {
			t.Fatalf("ask %s printed\n%s\nwant %q after byte %d", q, out, want, at)
		}
		at += i + len(want)
	}

	code, out, errOut = runCmd(t, q+"\n", "ask", "--jsonl")
	if code != 0 {
		t.Fatalf("ask --jsonl: exit %d\nstderr:\n%s", code, errOut)
	}
	var d struct {
		Topic string `json:"topic"`
		Text  string `json:"text"`
		More  []struct {
			Title string `json:"title"`
			Text  string `json:"text"`
		} `json:"more"`
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if d.Topic != "dibao" || d.Text+"\n" != short || len(d.More) < 3 || d.More[2].Title != "材料" || !strings.Contains(d.More[2].Text, e.Answer.Materials[0]) {
		t.Errorf("ask --jsonl: %s", out)
	}
}

func TestAskJSONL(t *testing.T) {
	t.Parallel()
	type check func(t *testing.T, obj map[string]json.RawMessage)
	decision := func(want string) check {
		return func(t *testing.T, obj map[string]json.RawMessage) {
			t.Helper()
			var d string
			json.Unmarshal(obj["decision"], &d)
			if d != want {
				t.Errorf("decision %q, want %q (%s)", d, want, obj["text"])
			}
		}
	}
	field := func(key, want string) check {
		return func(t *testing.T, obj map[string]json.RawMessage) {
			t.Helper()
			var v string
			json.Unmarshal(obj[key], &v)
			if !strings.Contains(v, want) {
				t.Errorf("%s %q, want it to contain %q", key, v, want)
			}
		}
	}
	errorLine := func(reason string) check {
		return func(t *testing.T, obj map[string]json.RawMessage) {
			t.Helper()
			var d, e string
			json.Unmarshal(obj["decision"], &d)
			json.Unmarshal(obj["error"], &e)
			if d != "error" || !strings.Contains(e, reason) {
				t.Errorf("got decision %q error %q, want an error line about %q", d, e, reason)
			}
			if len(obj) != 2 {
				t.Errorf("error line has fields %v, want decision and error only", keys(obj))
			}
		}
	}
	lines := []struct {
		in     string
		checks []check
	}{
		{`{"q":"网格员电话","community":"wy-jinqiao"}`, []check{decision("contact"), field("text", "金桥社区")}},
		// A plain line takes the --community of the run.
		{"网格员电话", []check{decision("contact"), field("text", "中山社区")}},
		{"底保咋办", []check{decision("answer"), field("topic", "dibao"), field("category", "welfare")}},
		{`{"not json`, []check{errorLine("invalid JSON")}},
		{"", []check{errorLine("empty message")}},
		{"\xff\xfe俺家暖气不热", []check{errorLine("not valid UTF-8")}},
		{`  {"q": "俺家暖气不热"}  `, []check{decision("report"), field("topic", "report-heating")}},
		{strings.Repeat("暖", 30000), []check{errorLine("line longer than 65536 bytes")}}, // 90,000 bytes
		{`{"community":"wy-jinqiao"}`, []check{errorLine(`missing field "q"`)}},
		{strings.Repeat("低", 10000), []check{errorLine("message longer than 2000 characters")}},
		{strings.Repeat("a", 10000), []check{errorLine("message longer than 2000 characters")}},
		{"楼下着火了 冒黑烟", []check{decision("emergency"), field("text", "119")}},
		{"   ", []check{errorLine("empty message")}},
		{`{"q":"低保咋申请"}`, []check{decision("answer"), field("topic", "dibao")}},
		{`{"q":"网格员电话","community":"no-such-place"}`, []check{errorLine(`unknown community "no-such-place"`)}},
	}
	var in strings.Builder
	for _, l := range lines {
		in.WriteString(l.in)
		in.WriteString("\n")
	}
	// The last line has no newline: it must still be answered.
	in.WriteString("低保咋申请")
	lines = append(lines, struct {
		in     string
		checks []check
	}{"低保咋申请 (no newline)", []check{decision("answer"), field("topic", "dibao")}})

	code, out, errOut := runCmd(t, in.String(), "ask", "--jsonl", "--community", "wy-zhongshan")
	if code != 0 {
		t.Fatalf("ask --jsonl: exit %d\nstderr:\n%s", code, errOut)
	}
	outLines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(outLines) != len(lines) {
		t.Fatalf("ask --jsonl wrote %d lines for %d input lines:\n%s", len(outLines), len(lines), out)
	}
	for i, ol := range outLines {
		name := []rune(strings.ToValidUTF8(lines[i].in, "?"))
		if len(name) > 20 {
			name = append(name[:20], '…')
		}
		t.Run(fmt.Sprintf("%02d_%s", i, string(name)), func(t *testing.T) {
			var obj map[string]json.RawMessage
			dec := json.NewDecoder(strings.NewReader(ol))
			if err := dec.Decode(&obj); err != nil || dec.More() {
				t.Fatalf("line %d is not one JSON object (%v): %s", i+1, err, ol)
			}
			var d string
			json.Unmarshal(obj["decision"], &d)
			if d != "error" {
				for _, k := range []string{"decision", "topic", "category", "score", "text", "options"} {
					if _, ok := obj[k]; !ok {
						t.Errorf("decision line lacks %q: %s", k, ol)
					}
				}
				var score float64
				if err := json.Unmarshal(obj["score"], &score); err != nil || score < 0 || score > 1 {
					t.Errorf("score %s, want a number in [0, 1]", obj["score"])
				}
				var opts []map[string]string
				if err := json.Unmarshal(obj["options"], &opts); err != nil || opts == nil {
					t.Errorf("options %s, want a JSON array", obj["options"])
				}
			}
			for _, c := range lines[i].checks {
				c(t, obj)
			}
		})
	}
}

func keys(m map[string]json.RawMessage) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// TestAskJSONLLineLimit pins the 64 KiB bound: one byte over is refused without being read, a line
// of exactly 64 KiB is read (and then refused by the bot for its length), also as the last line
// without a newline, where the reader meets the end of input right after a full buffer.
func TestAskJSONLLineLimit(t *testing.T) {
	t.Parallel()
	in := strings.Repeat("a", maxLineBytes+1) + "\n" + "底保咋办\n" + strings.Repeat("a", maxLineBytes)
	code, out, errOut := runCmd(t, in, "ask", "--jsonl")
	if code != 0 {
		t.Fatalf("ask --jsonl: exit %d\nstderr:\n%s", code, errOut)
	}
	var got []errorLine
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var e errorLine
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("%v in %.200s", err, l)
		}
		got = append(got, e)
	}
	want := []errorLine{
		{"error", "line longer than 65536 bytes"},
		{"answer", ""},
		{"error", "message longer than 2000 characters"},
	}
	if len(got) != len(want) {
		t.Fatalf("ask --jsonl wrote %d lines, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: %+v, want %+v", i+1, got[i], want[i])
		}
	}
}

func TestAskJSONLEmptyInput(t *testing.T) {
	t.Parallel()
	code, out, errOut := runCmd(t, "", "ask", "--jsonl")
	if code != 0 || out != "" {
		t.Fatalf("ask --jsonl on no input: exit %d, stdout %q, stderr %q; want 0 and nothing", code, out, errOut)
	}
}

func TestAskUnknownCommunityFlag(t *testing.T) {
	t.Parallel()
	code, out, errOut := runCmd(t, "底保咋办\n", "ask", "--jsonl", "--community", "no-such-place")
	if code != 2 || out != "" || !strings.Contains(errOut, `unknown community "no-such-place"`) {
		t.Fatalf("ask --community no-such-place: exit %d, stdout %q, stderr %q; want 2 naming the id", code, out, errOut)
	}
}

func TestAskBrokenGuideFails(t *testing.T) {
	dir := sampleCopy(t)
	edit(t, dir, "entries/dibao.yaml", "kind: procedure", "kind: recipe")
	code, out, errOut := runCmd(t, "", "ask", "--guide", dir, "底保咋办")
	if code != 1 || !strings.Contains(errOut, "guide check") || out != "" {
		t.Fatalf("ask on a broken guide: exit %d, stdout %q, stderr %q; want 1 and a pointer to guide check", code, out, errOut)
	}
}

// ---- eval ----

func TestEval(t *testing.T) {
	t.Run("meets the bar", func(t *testing.T) {
		t.Parallel()
		code, out, errOut := runCmd(t, "", "eval", "--min", "0.9", "../../search/sample/training/dev.jsonl")
		if code != 0 {
			t.Fatalf("eval --min 0.9: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		if !strings.Contains(out, "strict accuracy") {
			t.Errorf("eval printed\n%s\nwant a strict accuracy line", out)
		}
	})
	t.Run("below the bar", func(t *testing.T) {
		t.Parallel()
		code, out, errOut := runCmd(t, "", "eval", "--min", "1.01", "../../search/sample/training/dev.jsonl")
		if code != 1 {
			t.Fatalf("eval --min 1.01: exit %d, want 1\nstderr:\n%s", code, errOut)
		}
		if !strings.Contains(out, "strict accuracy") || !strings.Contains(errOut, "is below 1.010") {
			t.Errorf("eval --min 1.01: stdout\n%s\nstderr %q; want the report and the reason", out, errOut)
		}
	})
	t.Run("cross-validation writes the calibration", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		if err := os.CopyFS(dir, search.SampleGuide()); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(dir, "calibration.yaml")); err != nil {
			t.Fatal(err)
		}
		// Three folds, not two: trained on half the messages, the model leaves emergencies so faint
		// that the bar would give a tenth of the others the numbers, and such a calibration is
		// refused (below).
		code, out, errOut := runCmd(t, "", "eval", "--cv", "3", "--guide", dir, "--write")
		if code != 0 {
			t.Fatalf("eval --cv 3 --write: exit %d\n%s\n%s", code, out, errOut)
		}
		for _, want := range []string{"3-fold cross-validation", "calibration: temperature", "emergencies given the numbers in the first reply", "faintest emergencies", "precision", "worst confusions"} {
			if !strings.Contains(out, want) {
				t.Errorf("eval --cv printed\n%s\nwant %q", out, want)
			}
		}
		spec, err := search.LoadSpec(search.SpecFS())
		if err != nil {
			t.Fatal(err)
		}
		g, problems := search.Load(os.DirFS(dir), spec)
		if len(problems) > 0 || g.Calibration == nil || g.Calibration.Temperature <= 0 {
			t.Fatalf("the written calibration.yaml: %v, %+v", problems, g.Calibration)
		}
		if code, _, errOut := runCmd(t, "", "eval", "--cv", "2", "--write"); code != 2 || !strings.Contains(errOut, "--guide") {
			t.Errorf("--write without --guide: exit %d, %q; want 2 and the reason", code, errOut)
		}
	})
	t.Run("a bar that gives everyone the numbers is not written", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		if err := os.CopyFS(dir, search.SampleGuide()); err != nil {
			t.Fatal(err)
		}
		before, err := os.ReadFile(filepath.Join(dir, "calibration.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		// An "emergency" no fold can learn: a benefit question labelled as a fire.
		bad := `{"q": "请问低保每年什么时候复核 要带户口本吗", "label": "emergency-fire"}` + "\n"
		if err := os.WriteFile(filepath.Join(dir, "training", "mislabelled.jsonl"), []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := runCmd(t, "", "eval", "--cv", "2", "--guide", dir, "--write")
		if code != 1 || !strings.Contains(errOut, "not written") || !strings.Contains(errOut, "低保每年什么时候复核") {
			t.Fatalf("eval --cv 2 --write with a bar at nothing: exit %d, stderr %q\n%s", code, errOut, out)
		}
		if after, err := os.ReadFile(filepath.Join(dir, "calibration.yaml")); err != nil || string(after) != string(before) {
			t.Errorf("calibration.yaml changed:\n%s\nwant\n%s", after, before)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		code, _, errOut := runCmd(t, "", "eval", filepath.Join(t.TempDir(), "none.jsonl"))
		if code != 1 || !strings.Contains(errOut, "none.jsonl") {
			t.Fatalf("eval on a missing file: exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("no labelled messages", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "empty.jsonl")
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, errOut := runCmd(t, "", "eval", f)
		if code != 1 || !strings.Contains(errOut, "no labelled messages") {
			t.Fatalf("eval on an empty file: exit %d, stderr %q", code, errOut)
		}
	})
}

// ---- serve ----

func TestServeFailsEarly(t *testing.T) {
	t.Run("broken guide", func(t *testing.T) {
		dir := sampleCopy(t)
		edit(t, dir, "entries/dibao.yaml", "category: welfare", "category: cooking")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var out, errOut bytes.Buffer
		code := run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "data"), "--guide", dir},
			strings.NewReader(""), &out, &errOut)
		if code != 1 || !strings.Contains(errOut.String(), "guide has") || !strings.Contains(errOut.String(), `unknown category "cooking"`) {
			t.Fatalf("serve on a broken guide: exit %d, stderr %q; want 1 and the problem count", code, errOut.String())
		}
		if ctx.Err() != nil {
			t.Fatal("serve on a broken guide ran until the test deadline")
		}
	})
	t.Run("broken deadlines file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "sla.yaml")
		if err := os.WriteFile(file, []byte("categories:\n  cooking:\n    normal: {sign: 1h, finish: 2d}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, errOut := runCmd(t, "", "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "data"), "--sla", file)
		if code != 1 || !strings.Contains(errOut, "categories.cooking: unknown category") {
			t.Fatalf("serve with a broken --sla: exit %d, stderr %q; want 1 naming the problem", code, errOut)
		}
	})
	t.Run("database not PostgreSQL", func(t *testing.T) {
		code, _, errOut := runCmd(t, "", "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "data"), "--database", "mysql://x/y")
		if code != 1 || !strings.Contains(errOut, "want a postgres:// URL") {
			t.Fatalf("serve --database mysql://: exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("database that does not answer", func(t *testing.T) {
		code, _, errOut := runCmd(t, "", "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "data"),
			"--database", "postgres://hotline:secret-pw@"+testkit.FreeAddr(t)+"/hotline")
		if code != 1 || !strings.Contains(errOut, "postgres") || strings.Contains(errOut, "secret-pw") {
			t.Fatalf("serve on a database nobody listens at: exit %d, stderr %q; want 1, without the password", code, errOut)
		}
	})
	t.Run("data directory under a file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(file, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, errOut := runCmd(t, "", "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(file, "data"))
		if code != 1 || !strings.Contains(errOut, "data directory") {
			t.Fatalf("serve with an impossible data directory: exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("connection cap not a number", func(t *testing.T) {
		t.Setenv("HOTLINE_MAX_CONNS_PER_IP", "lots")
		code, _, errOut := runCmd(t, "", "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "data"))
		if code != 2 || !strings.Contains(errOut, "HOTLINE_MAX_CONNS_PER_IP") {
			t.Fatalf("serve with HOTLINE_MAX_CONNS_PER_IP=lots: exit %d, stderr %q; want 2 naming it", code, errOut)
		}
	})
	t.Run("address in use", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		code, _, errOut := runCmd(t, "", "serve", "--addr", ln.Addr().String(), "--data", filepath.Join(t.TempDir(), "data"))
		if code != 1 || !strings.Contains(errOut, "address already in use") {
			t.Fatalf("serve on a busy port: exit %d, stderr %q", code, errOut)
		}
	})
}

// A login hashes with argon2id (19 MiB) behind a pool of two: on a shared CI box with the race
// detector busy on both cores, it can take seconds. The timeout only stops a hung test.
var client = &http.Client{Timeout: 30 * time.Second}

// stop stops s (SIGTERM, exit status 0) and checks that it logged its shutdown.
func stop(t *testing.T, s *testkit.Server) {
	t.Helper()
	s.Stop(t)
	if !strings.Contains(s.Output(), "shutting down") {
		t.Errorf("hotline serve did not log its shutdown:\n%s", s.Output())
	}
}

func TestServeEndToEnd(t *testing.T) {
	t.Parallel()
	addr := testkit.FreeAddr(t)
	data := filepath.Join(t.TempDir(), "state", "data")
	s := testkit.Serve(t, addr, nil, "--addr", addr, "--data", data)

	s.WaitStatus(t, "/healthz", http.StatusOK, 10*time.Second)
	if st, err := os.Stat(data); err != nil || !st.IsDir() {
		t.Errorf("data directory %s was not created: %v", data, err)
	}
	// The bot joins once the guide is indexed.
	s.WaitReady(t, 60*time.Second)

	resp, err := client.Post(s.Base+"/api/v1/ask", "application/json", strings.NewReader(`{"text":"底保咋办"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /api/v1/ask: %s\n%s", resp.Status, body)
	}
	var d struct {
		Decision string `json:"decision"`
		Topic    string `json:"topic"`
		Text     string `json:"text"`
	}
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatalf("ask answered %s: %v", body, err)
	}
	if d.Decision != "answer" || d.Topic != "dibao" || !strings.Contains(d.Text, "低保") {
		t.Errorf("底保咋办: decision %q topic %q text %q; want an answer on dibao", d.Decision, d.Topic, d.Text)
	}

	resp, err = client.Get(s.Base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Status string `json:"status"`
		Ready  bool   `json:"ready"`
	}
	err = json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if err != nil || h.Status != "ok" || !h.Ready {
		t.Errorf("/healthz once ready: %+v (%v), want status ok and ready true", h, err)
	}

	stop(t, s)
}

// TestServeDeadlinesFile: a --sla file sets the deadlines of new tickets.
func TestServeDeadlinesFile(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "sla.yaml")
	if err := os.WriteFile(file, []byte("categories:\n  municipal:\n    normal: {sign: 15m, finish: 6h}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := testkit.FreeAddr(t)
	s := testkit.Serve(t, addr, nil, "--addr", addr, "--data", filepath.Join(t.TempDir(), "data"), "--sla", file)
	s.WaitStatus(t, "/healthz", http.StatusOK, 10*time.Second)
	resp, err := client.Post(s.Base+"/api/v1/tickets", "application/json", strings.NewReader(
		`{"topic":"report-streetlight","community":"wy-jinqiao","description":"路灯不亮","phone":"13812345678"}`))
	if err != nil {
		t.Fatal(err)
	}
	var tk struct {
		Created time.Time `json:"created_at"`
		DueBy   time.Time `json:"due_by"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tk)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /api/v1/tickets: %s, %v", resp.Status, err)
	}
	if got := tk.DueBy.Sub(tk.Created); got != 6*time.Hour {
		t.Errorf("a municipal ticket is due %v after creation, want the file's 6h", got)
	}
	stop(t, s)
}

func TestServeEnvironment(t *testing.T) {
	t.Parallel()
	addr := testkit.FreeAddr(t)
	data := filepath.Join(t.TempDir(), "env-data")
	s := testkit.Serve(t, addr, []string{"HOTLINE_ADDR=" + addr, "HOTLINE_DATA=" + data})

	s.WaitStatus(t, "/healthz", http.StatusOK, 10*time.Second)
	if st, err := os.Stat(data); err != nil || !st.IsDir() {
		t.Errorf("HOTLINE_DATA %s was not created: %v", data, err)
	}
	if !strings.Contains(s.Output(), addr) {
		t.Errorf("hotline serve did not log its address %s:\n%s", addr, s.Output())
	}
	stop(t, s)
}

// The limits as serve wires them: the metrics token and the connection cap from the
// environment, the header cap.
func TestServeLimits(t *testing.T) {
	t.Parallel()
	addr := testkit.FreeAddr(t)
	s := testkit.Serve(t, addr, []string{"HOTLINE_METRICS_TOKEN=scrape-me", "HOTLINE_MAX_CONNS_PER_IP=3"},
		"--addr", addr, "--data", filepath.Join(t.TempDir(), "data"))
	s.WaitStatus(t, "/healthz", http.StatusOK, 10*time.Second)
	get := func(path string, header http.Header) (int, error) {
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		req, _ := http.NewRequest(http.MethodGet, s.Base+path, nil)
		maps.Copy(req.Header, header)
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if code, err := get("/metrics", nil); code != http.StatusUnauthorized {
		t.Errorf("/metrics without the token: %d %v, want 401", code, err)
	}
	if code, err := get("/metrics", http.Header{"Authorization": {"Bearer scrape-me"}}); code != http.StatusOK {
		t.Errorf("/metrics with the token: %d %v, want 200", code, err)
	}
	if code, err := get("/healthz", http.Header{"X-Filler": {strings.Repeat("a", 64<<10)}}); code != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("64 KiB of headers: %d %v, want 431", code, err)
	}
	// Three idle connections fill the cap: a fourth is closed before it is read. The requests
	// above may still count for a moment after they ended (the server releases a connection when
	// it has closed it), so a dial that is reset starts the three over.
	var idle []net.Conn
	deadline := time.Now().Add(10 * time.Second)
	for len(idle) < 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			if time.Now().After(deadline) {
				t.Fatal(err)
			}
			for _, c := range idle {
				c.Close()
			}
			idle = idle[:0]
			time.Sleep(100 * time.Millisecond)
			continue
		}
		defer c.Close()
		idle = append(idle, c)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		_, err := get("/healthz", nil)
		if err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a fourth connection from one address served with HOTLINE_MAX_CONNS_PER_IP=3")
		}
		time.Sleep(50 * time.Millisecond) // the server has not accepted all three yet
	}
	for _, c := range idle {
		c.Close()
	}
	s.WaitStatus(t, "/healthz", http.StatusOK, 10*time.Second)
	stop(t, s)
}

func TestServeFlagOverridesEnvironment(t *testing.T) {
	t.Parallel()
	// HOTLINE_ADDR names a port that is taken: a server that used it instead of --addr would exit
	// at once and never answer.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	flagAddr := testkit.FreeAddr(t)
	s := testkit.Serve(t, flagAddr, []string{"HOTLINE_ADDR=" + busy.Addr().String()},
		"--addr", flagAddr, "--data", filepath.Join(t.TempDir(), "data"))
	s.WaitStatus(t, "/healthz", http.StatusOK, 10*time.Second)
	stop(t, s)
}

// A bad flag is a usage error: exit 2, and the complaint goes to the stderr run was given.
func TestUnknownFlag(t *testing.T) {
	for _, args := range [][]string{{"ask", "--bogus", "x"}, {"eval", "--bogus"}, {"serve", "--bogus"}, {"guide", "check", "--bogus"}} {
		code, _, errOut := runCmd(t, "", args...)
		if code != 2 || !strings.Contains(errOut, "bogus") {
			t.Errorf("%v: exit %d, stderr %q; want 2 naming the flag", args, code, errOut)
		}
	}
}

// hotline bench chat against a running server reports every figure it documents.
func TestBenchChat(t *testing.T) {
	t.Parallel()
	addr := testkit.FreeAddr(t)
	s := testkit.Serve(t, addr, nil, "--addr", addr, "--data", filepath.Join(t.TempDir(), "data"), "--chat-ip-rate", "-1", "--max-conns-per-ip", "-1")
	s.WaitReady(t, 60*time.Second)
	questions := filepath.Join(t.TempDir(), "questions.jsonl")
	if err := os.WriteFile(questions, []byte("{\"q\": \"低保咋申请\"}\n\n路灯不亮找谁\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The binary, not run(): --echo starts `hotline bench echo` as a child process of itself.
	cmd := testkit.Command(t, "bench", "chat", "--url", "ws://"+addr+"/ws/chat",
		"--pid", strconv.Itoa(s.Pid()), "--idle", "20", "--active", "10", "--asks", "2", "--think", "10ms",
		"--questions", questions, "--echo")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("bench chat: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()
	got := map[string]float64{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		name, value, ok := strings.Cut(line, " ")
		v, err := strconv.ParseFloat(value, 64)
		if !ok || err != nil {
			t.Fatalf("bench chat printed %q, want \"name value\" lines", line)
		}
		got[name] = v
	}
	for name, want := range map[string]float64{"questions": 2, "idle_connections": 20, "asks": 20, "burst_asks": 20, "errors": 0,
		"echo_asks": 20, "echo_burst_asks": 20, "echo_errors": 0, "offered_asks_per_second": 1000} {
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("%s = %v (printed: %v), want %v\n%s", name, v, ok, want, out)
		}
	}
	for _, name := range []string{"memory_per_idle_connection_kb", "asks_per_second", "reply_p50_ms", "reply_p99_ms",
		"burst_asks_per_second", "burst_reply_p50_ms", "burst_reply_p99_ms", "echo_asks_per_second", "served_ratio", "burst_served_ratio"} {
		if _, ok := got[name]; !ok {
			t.Errorf("bench chat did not print %s:\n%s", name, out)
		}
	}
	if got["reply_p50_ms"] <= 0 || got["reply_p99_ms"] < got["reply_p50_ms"] {
		t.Errorf("latencies p50 %v, p99 %v: want 0 < p50 <= p99", got["reply_p50_ms"], got["reply_p99_ms"])
	}
	stop(t, s)
}

// hotline user passwd logs a staff member out everywhere; hotline user revoke also ends their
// API tokens. Checked against a running server.
func TestUserPasswdAndRevoke(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	user := func(stdin string, args ...string) string {
		t.Helper()
		code, out, errOut := runCmd(t, stdin, append([]string{"user", args[0], "--data", data}, args[1:]...)...)
		if code != 0 {
			t.Fatalf("user %v: exit %d\n%s%s", args, code, out, errOut)
		}
		return strings.TrimSpace(out)
	}
	user("first-password\n", "add", "--role", "operator", "zhao")
	token := user("", "token", "zhao")
	addr := testkit.FreeAddr(t)
	s := testkit.Serve(t, addr, nil, "--addr", addr, "--data", data)
	s.WaitStatus(t, "/healthz", http.StatusOK, 10*time.Second)
	me := func(header http.Header) int {
		req, _ := http.NewRequest(http.MethodGet, s.Base+"/api/v1/me", nil)
		req.Header = header
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	login := func(password string) http.Header {
		resp, err := client.Post(s.Base+"/api/v1/login", "application/json",
			strings.NewReader(`{"name":"zhao","password":"`+password+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("login with %q: %s", password, resp.Status)
		}
		return http.Header{"Cookie": {resp.Cookies()[0].Name + "=" + resp.Cookies()[0].Value}}
	}
	bearer := http.Header{"Authorization": {"Bearer " + token}}
	session := login("first-password")
	if me(session) != http.StatusOK || me(bearer) != http.StatusOK {
		t.Fatal("the session and the token do not work to begin with")
	}
	user("second-password\n", "passwd", "zhao")
	if got := me(session); got != http.StatusUnauthorized {
		t.Errorf("the session after a new password: %d, want 401", got)
	}
	if got := me(bearer); got != http.StatusOK {
		t.Errorf("the API token after a new password: %d, want it still working", got)
	}
	session = login("second-password")
	user("", "revoke", "zhao")
	if got, got2 := me(session), me(bearer); got != http.StatusUnauthorized || got2 != http.StatusUnauthorized {
		t.Errorf("after revoke: session %d, token %d; want both 401", got, got2)
	}
	if code, _, errOut := runCmd(t, "", "user", "revoke", "--data", data, "nobody"); code != 1 || !strings.Contains(errOut, "nobody") {
		t.Errorf("revoking an unknown user: exit %d, %q", code, errOut)
	}
	stop(t, s)
}

// Flags go anywhere on the line: after the question (ask), after a file (eval), after a
// directory (guide check); serve, which takes no arguments, refuses one rather than ignoring it.
func TestFlagsAnywhere(t *testing.T) {
	t.Parallel()
	code, out, errOut := runCmd(t, "", "ask", "底保咋办", "--community", "no-such-place")
	if code != 2 || out != "" || !strings.Contains(errOut, `unknown community "no-such-place"`) {
		t.Errorf("ask QUESTION --community no-such-place: exit %d, stdout %q, stderr %q; want the flag read", code, out, errOut)
	}
	code, out, errOut = runCmd(t, "", "guide", "check", "no-such-dir", "--help")
	if code != 0 || !strings.Contains(errOut, "Usage of guide check") {
		t.Errorf("guide check DIR --help: exit %d, stdout %q, stderr %q; want the flag read (usage, exit 0)", code, out, errOut)
	}
	code, _, errOut = runCmd(t, "", "serve", "--addr", "127.0.0.1:0", "8080")
	if code != 2 || !strings.Contains(errOut, "no arguments") {
		t.Errorf("serve with an argument: exit %d, stderr %q; want 2", code, errOut)
	}
}

// Every flag of serve is in README's table of commands.
func TestReadmeListsEveryServeFlag(t *testing.T) {
	t.Parallel()
	_, _, usage := runCmd(t, "", "serve", "--help")
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	row := ""
	for _, line := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(line, "| `hotline serve") {
			row = line
		}
	}
	flags := regexp.MustCompile(`(?m)^  -([a-z-]+)`).FindAllStringSubmatch(usage, -1)
	if row == "" || len(flags) < 10 {
		t.Fatalf("README's serve row %q, flags in the usage: %d", row, len(flags))
	}
	for _, f := range flags {
		if !strings.Contains(row, "--"+f[1]+" ") && !strings.Contains(row, "--"+f[1]+"`") && !strings.Contains(row, "--"+f[1]+"]") {
			t.Errorf("serve's --%s is not in README's table of commands", f[1])
		}
	}
}

// --debug-addr serves the profiler there, and only there: the service's own address has none.
// It records where goroutines block and contend, which a CPU profile does not show.
func TestServeDebugAddr(t *testing.T) {
	t.Parallel()
	addr, debug := testkit.FreeAddr(t), testkit.FreeAddr(t)
	s := testkit.Serve(t, addr, []string{"HOTLINE_DEBUG_ADDR=" + debug}, "--addr", addr, "--data", filepath.Join(t.TempDir(), "data"))
	s.WaitStatus(t, "/healthz", http.StatusOK, 10*time.Second)
	get := func(url string) (int, string) {
		resp, err := client.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("http://" + debug + "/debug/pprof/"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("the profiler on --debug-addr: %d %.80q", code, body)
	}
	// Where goroutines waited is recorded too (off by default in Go). The profiler answered, so
	// the sampling is on: the store's writer now waits for work between two tickets, far longer
	// than the 100 µs threshold, and that wait is recorded for certain.
	for i := 0; i < 2; i++ {
		time.Sleep(50 * time.Millisecond)
		resp, err := client.Post(s.Base+"/api/v1/tickets", "application/json", strings.NewReader(
			`{"topic":"report-streetlight","community":"wy-jinqiao","description":"路灯不亮","phone":"13812345678"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST /api/v1/tickets: %s", resp.Status)
		}
	}
	if code, body := get("http://" + debug + "/debug/pprof/block?debug=1"); code != http.StatusOK || !strings.Contains(body, " @ 0x") {
		t.Errorf("the block profile on --debug-addr has no sample: %d %.200q", code, body)
	}
	if code, _ := get(s.Base + "/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("/debug/pprof/ on the service's address: %d, want 404", code)
	}
	stop(t, s)
}
