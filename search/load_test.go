package search_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"unicode/utf8"

	"github.com/bayannur/hotline/search"
)

func loadSpec(t *testing.T) *search.Spec {
	t.Helper()
	spec, err := search.LoadSpec(search.SpecFS())
	if err != nil {
		t.Fatalf("LoadSpec: %v", err)
	}
	return spec
}

func loadSample(t *testing.T) *search.Guide {
	t.Helper()
	g, problems := search.Load(search.SampleGuide(), loadSpec(t))
	if len(problems) > 0 {
		t.Fatalf("sample guide has %d problems:\n%v", len(problems), problems)
	}
	return g
}

func TestSpecLoads(t *testing.T) {
	spec := loadSpec(t)
	if len(spec.TopicOrder) != 56 || len(spec.Topics) != 56 {
		t.Fatalf("spec has %d topics in order, %d by id; want 56", len(spec.TopicOrder), len(spec.Topics))
	}
	if spec.TopicOrder[0] != "dibao" {
		t.Errorf("first topic = %q, want dibao (file order)", spec.TopicOrder[0])
	}
	if got := spec.Topics["report-heating"]; got.Kind != search.KindReport || got.Category != "utilities" || got.Title != "供暖不热" {
		t.Errorf("report-heating = %+v", got)
	}
	if spec.Categories["welfare"] != "社会救助与养老" {
		t.Errorf("category welfare = %q", spec.Categories["welfare"])
	}
	if _, ok := spec.Categories["code"]; ok {
		t.Error("the header row of categories.tsv was read as a category")
	}
	for _, id := range spec.TopicOrder {
		if _, ok := spec.Categories[spec.Topics[id].Category]; !ok {
			t.Errorf("topic %s has category %q, not in categories.tsv", id, spec.Topics[id].Category)
		}
	}
}

// Every sample entry's first answer fits a phone: at most 150 characters, and an emergency's
// starts with a number to call.
func TestSampleShortAnswers(t *testing.T) {
	g := loadSample(t)
	if len(g.Entries) != 56 {
		t.Fatalf("%d entries, want 56", len(g.Entries))
	}
	for _, e := range g.Entries {
		short := e.Answer.Short
		if n := utf8.RuneCountInString(short); n == 0 || n > search.ShortMax {
			t.Errorf("%s: answer.short is %d characters, want 1 to %d: %q", e.ID, n, search.ShortMax, short)
		}
		if strings.TrimSpace(short) != short || strings.Contains(short, "\n") {
			t.Errorf("%s: answer.short %q is not one trimmed line", e.ID, short)
		}
		if e.Kind == search.KindEmergency && !strings.HasPrefix(short, e.Emergency.Numbers[0].Number) {
			t.Errorf("%s: answer.short %q does not start with %s", e.ID, short, e.Emergency.Numbers[0].Number)
		}
	}
}

func TestSampleGuideMatchesSpec(t *testing.T) {
	spec := loadSpec(t)
	g := loadSample(t)

	if len(g.Entries) != len(spec.TopicOrder) {
		t.Errorf("sample guide has %d entries, spec has %d topics", len(g.Entries), len(spec.TopicOrder))
	}
	for _, id := range spec.TopicOrder {
		st := spec.Topics[id]
		e, ok := g.Entry(id)
		if !ok {
			t.Errorf("spec topic %s has no entry", id)
			continue
		}
		if e.Kind != st.Kind || e.Category != st.Category {
			t.Errorf("entry %s is %s/%s, spec says %s/%s", id, e.Kind, e.Category, st.Kind, st.Category)
		}
	}
	for _, e := range g.Entries {
		if _, ok := spec.Topics[e.ID]; !ok {
			t.Errorf("entry %s is not a spec topic", e.ID)
		}
		if e.File != "entries/"+e.ID+".yaml" || e.Line != 1 {
			t.Errorf("entry %s read from %s:%d", e.ID, e.File, e.Line)
		}
		if len(e.Examples) < 6 {
			t.Errorf("entry %s has %d examples, want ≥ 6", e.ID, len(e.Examples))
		}
		if strings.TrimSpace(e.Answer.Summary) == "" {
			t.Errorf("entry %s has no answer summary", e.ID)
		}
		if strings.TrimSpace(e.Title) == "" || len(e.Keywords) == 0 {
			t.Errorf("entry %s has no title or no keywords", e.ID)
		}
		switch e.Kind {
		case search.KindReport:
			if len(e.TicketFields) == 0 {
				t.Errorf("report %s has no ticket_fields", e.ID)
			}
		case search.KindEmergency:
			if e.Emergency == nil || len(e.Emergency.Numbers) == 0 || len(e.Emergency.DoNow) == 0 {
				t.Errorf("emergency %s lacks numbers or do_now: %+v", e.ID, e.Emergency)
				continue
			}
			for _, n := range e.Emergency.Numbers {
				if n.Name == "" || n.Number == "" {
					t.Errorf("emergency %s has an incomplete number %+v", e.ID, n)
				}
			}
		}
	}
	if !sort.SliceIsSorted(g.Entries, func(i, j int) bool { return g.Entries[i].ID < g.Entries[j].ID }) {
		t.Error("entries are not sorted by id")
	}
}

func TestSampleContacts(t *testing.T) {
	g := loadSample(t)

	if len(g.Towns) < 3 {
		t.Errorf("%d towns, want ≥ 3", len(g.Towns))
	}
	towns := map[string]bool{}
	for _, tn := range g.Towns {
		towns[tn.Name] = true
	}
	for _, want := range []string{"五原县城区", "乌拉特中旗海流图镇", "乌拉特前旗乌拉山镇"} {
		if !towns[want] {
			t.Errorf("no town %s", want)
		}
	}

	cs := g.Communities()
	if len(cs) < 12 {
		t.Errorf("%d communities, want ≥ 12", len(cs))
	}
	for _, c := range cs {
		totals, people := 0, 0
		for _, gr := range c.Grids {
			if gr.Tier == search.TierTotal {
				totals++
			}
			people += len(gr.People)
		}
		if totals != 1 {
			t.Errorf("community %s has %d 总网格", c.ID, totals)
		}
		if people == 0 {
			t.Errorf("community %s has nobody to contact", c.ID)
		}
		if c.TownID == "" || c.TownName == "" {
			t.Errorf("community %s does not know its town", c.ID)
		}
	}
}

var fakePhone = regexp.MustCompile(`^(199-0000-\d{4}|0478-555-\d{4})$`)

func TestSampleContactsAreFictional(t *testing.T) {
	g := loadSample(t)

	checkPhone := func(what, phone string) {
		t.Helper()
		if !fakePhone.MatchString(phone) {
			t.Errorf("%s: phone %q is not in a reserved fictional range", what, phone)
		}
	}
	persons := 0
	for _, tn := range g.Towns {
		checkPhone("town "+tn.ID, tn.Office.Phone)
		for _, c := range tn.Communities {
			checkPhone("community "+c.ID, c.Phone)
			for _, gr := range c.Grids {
				for _, p := range gr.People {
					persons++
					checkPhone("grid "+gr.ID+" "+p.Name, p.Phone)
					if !strings.Contains(p.Name, "某") {
						t.Errorf("grid %s: person %q is not named in the 某 form", gr.ID, p.Name)
					}
				}
			}
		}
	}
	if persons == 0 {
		t.Fatal("no persons in the sample guide")
	}

	// Whatever the structure, no real-looking number may sit anywhere in the file.
	raw, err := fs.ReadFile(search.SampleGuide(), "contacts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dashed := regexp.MustCompile(`\d{3,4}-\d{3,4}-\d{3,4}`)
	found := dashed.FindAllString(string(raw), -1)
	if len(found) < persons {
		t.Errorf("found %d dashed phone numbers in contacts.yaml, fewer than the %d persons", len(found), persons)
	}
	for _, p := range found {
		checkPhone("contacts.yaml", p)
	}
	mobile := regexp.MustCompile(`(^|[^0-9-])1[3-9]\d{9}($|[^0-9])`)
	if m := mobile.FindString(string(raw)); m != "" {
		t.Errorf("contacts.yaml holds a mobile-looking number %q", m)
	}
}

// The spec is copied from ../../shared/spec; the copy must not drift.
func TestSpecCopyMatchesShared(t *testing.T) {
	shared := filepath.Join("..", "..", "shared", "spec")
	if _, err := os.Stat(shared); errors.Is(err, fs.ErrNotExist) {
		t.Logf("%s does not exist here: the embedded spec copy was not compared", shared)
		return
	} else if err != nil {
		t.Fatal(err)
	}
	names, err := filepath.Glob(filepath.Join(shared, "*.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatalf("no *.tsv in %s", shared)
	}
	embedded, err := fs.Glob(search.SpecFS(), "*.tsv")
	if err != nil {
		t.Fatal(err)
	}
	if len(embedded) != len(names) {
		t.Errorf("embedded spec has %v, %s has %d files", embedded, shared, len(names))
	}
	for _, name := range names {
		want, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		base := filepath.Base(name)
		got, err := fs.ReadFile(search.SpecFS(), base)
		if err != nil {
			t.Errorf("embedded spec lacks %s: %v", base, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("search/spec/%s differs from %s", base, name)
		}
		// The embedded FS is what the binary uses; the file on disk must be the same bytes.
		onDisk, err := os.ReadFile(filepath.Join("spec", base))
		if err != nil || !bytes.Equal(onDisk, want) {
			t.Errorf("search/spec/%s on disk differs from %s (%v)", base, name, err)
		}
	}
}

// A small valid guide; the broken-guide tests change one thing in it.
const (
	goodEntry = `id: dibao
kind: procedure
category: welfare
title: 低保申请
keywords: [低保, 底保]
examples: [低保咋申请, 俺家能吃低保不, 办低保要甚材料, 低保多少钱, 低保在哪办, 低保停了咋办]
answer:
  short: 带身份证到社区申请低保。
  summary: 到社区申请低保。
  where: 社区服务站
`
	goodReport = `id: report-streetlight
kind: report
category: municipal
title: 路灯不亮
keywords: [路灯]
examples: [路灯坏了, 灯不亮, 院灯坏了, 路灯一闪一闪, 巷子没灯, 路灯杆歪了]
answer:
  short: 路灯不亮在这里报修。
  summary: 在这里报修路灯。
ticket_fields: [address, phone]
`
	goodEmergency = `id: emergency-fire
kind: emergency
category: safety
title: 火灾
keywords: [着火]
examples: [着火了, 起火了, 楼里冒烟, 厨房着火, 失火了, 烧起来了]
answer:
  short: 119：马上打火警。
  summary: 马上打119。
emergency:
  numbers:
    - {name: 火警, number: "119"}
  do_now: [离开房间]
`
	// Line numbers matter: the tests below point at them.
	goodContacts = `towns:
  - id: t1
    name: 城区
    communities:
      - id: c1
        name: 金桥社区
        phone: "0478-555-0101"
        compounds:
          - name: 金桥小区
            aliases: [金桥家属院]
            grid: c1-g1
        grids:
          - id: c1-g0
            name: 金桥社区总网格
            tier: 总网格
            people:
              - {name: 王某芳, role: 社区书记, phone: "199-0000-0101"}
          - id: c1-g1
            name: 金桥社区第一网格
            tier: 基础网格
            parent: c1-g0
            people:
              - {name: 李某军, role: 网格员, phone: "199-0000-0102"}
`
	goodSynonyms = `groups:
  - [低保, 最低生活保障]
  - [暖气, 供暖]
`
)

func guideFS(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{
		"entries/dibao.yaml":              {Data: []byte(goodEntry)},
		"entries/report-streetlight.yaml": {Data: []byte(goodReport)},
		"entries/emergency-fire.yaml":     {Data: []byte(goodEmergency)},
		"contacts.yaml":                   {Data: []byte(goodContacts)},
		"synonyms.yaml":                   {Data: []byte(goodSynonyms)},
	}
	for name, text := range files {
		if text == "" {
			delete(m, name)
			continue
		}
		m[name] = &fstest.MapFile{Data: []byte(text)}
	}
	return m
}

// replace replaces old (which must occur) in s.
func replace(t *testing.T, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("%q not in the text", old)
	}
	return strings.Replace(s, old, new, 1)
}

func TestLoadSmallGuide(t *testing.T) {
	g, problems := search.Load(guideFS(nil), loadSpec(t))
	if len(problems) > 0 {
		t.Fatalf("a valid guide has problems:\n%v", problems)
	}
	if len(g.Entries) != 3 {
		t.Fatalf("%d entries, want 3", len(g.Entries))
	}
	e, ok := g.Entry("dibao")
	if !ok || e.Title != "低保申请" || e.Answer.Where != "社区服务站" || len(e.Examples) != 6 {
		t.Fatalf("Entry(dibao) = %+v, %v", e, ok)
	}
	fire, _ := g.Entry("emergency-fire")
	if fire.Emergency == nil || fire.Emergency.Numbers[0] != (search.Number{Name: "火警", Number: "119"}) {
		t.Errorf("emergency-fire numbers = %+v", fire.Emergency)
	}
	c, ok := g.Community("c1")
	if !ok || c.Line != 5 || c.Grids[1].Line != 18 || c.Compounds[0].Line != 9 || g.Towns[0].Line != 2 {
		t.Errorf("Community(c1) = %+v, %v; lines not recorded", c, ok)
	}
}

func TestShortOf150CharactersIsFine(t *testing.T) {
	short := strings.Repeat("低", 149) + "。"
	entry := replace(t, goodEntry, "  short: 带身份证到社区申请低保。", "  short: "+short)
	g, problems := search.Load(guideFS(map[string]string{"entries/dibao.yaml": entry}), loadSpec(t))
	if len(problems) > 0 {
		t.Fatalf("a short answer of 150 characters has problems:\n%v", problems)
	}
	if e, _ := g.Entry("dibao"); e.Answer.Short != short {
		t.Errorf("short = %q", e.Answer.Short)
	}
}

func TestAnswerWhereList(t *testing.T) {
	entry := replace(t, goodEntry, "  where: 社区服务站\n", "  where:\n    - 社区服务站\n    - 街道办便民大厅\n  hours: [上午8点, 下午2点半]\n")
	g, problems := search.Load(guideFS(map[string]string{"entries/dibao.yaml": entry}), loadSpec(t))
	if len(problems) > 0 {
		t.Fatalf("problems:\n%v", problems)
	}
	e, _ := g.Entry("dibao")
	if e.Answer.Where != "社区服务站；街道办便民大厅" {
		t.Errorf("where = %q", e.Answer.Where)
	}
	if e.Answer.Hours != "上午8点；下午2点半" {
		t.Errorf("hours = %q", e.Answer.Hours)
	}
}

type wantProblem struct {
	file   string
	line   int
	reason string // a part of the reason
}

func TestLoadReportsProblems(t *testing.T) {
	const dibao = "entries/dibao.yaml"
	cases := []struct {
		name  string
		files func(t *testing.T) map[string]string
		want  []wantProblem
	}{
		{
			name: "a pattern that fails its examples, a training line with an unknown label, an intent teaching no label",
			files: func(t *testing.T) map[string]string {
				return map[string]string{
					"patterns.yaml": "patterns:\n  - name: over\n    pattern: '灭了'\n    match: [火灭了, 没事了]\n    nomatch: [火没灭了]\n" +
						"  - name: broken\n    pattern: '(灭'\n    match: [灭]\n    nomatch: [火]\n",
					"training/set.jsonl": `{"q": "低保咋办", "label": "dibao"}` + "\n" + `{"q": "随便", "label": "recipes"}` + "\nnot json\n",
					"intents.yaml":       "intents:\n  - id: chat\n    label: chitchat\n    examples: [a, b, c, d, e, f]\n",
				}
			},
			want: []wantProblem{
				{"intents.yaml", 2, `intent chat: label "chitchat" is not one of`},
				{"patterns.yaml", 4, `pattern over does not match "没事了"`},
				{"patterns.yaml", 5, `pattern over matches "火没灭了", which it must not`},
				{"patterns.yaml", 7, "pattern broken: error parsing regexp"},
				{"training/set.jsonl", 2, `unknown label "recipes"`},
				{"training/set.jsonl", 3, "invalid JSON"},
			},
		},
		{
			name: "an answer on an intent that is not smalltalk, and one with no keywords to choose it",
			files: func(t *testing.T) map[string]string {
				return map[string]string{
					"intents.yaml": "intents:\n  - id: reach\n    label: contact\n    keywords: [电话]\n    examples: [a, b, c, d, e, f]\n    answer: 打这个电话\n" +
						"  - id: thanks\n    label: smalltalk\n    examples: [a, b, c, d, e, f]\n    answer: 不客气\n",
				}
			},
			want: []wantProblem{
				{"intents.yaml", 2, "intent reach: an answer is for smalltalk intents only"},
				{"intents.yaml", 7, "intent thanks: an answer needs keywords"},
			},
		},
		{
			name: "unknown kind",
			files: func(t *testing.T) map[string]string {
				return map[string]string{dibao: replace(t, goodEntry, "kind: procedure", "kind: recipe")}
			},
			want: []wantProblem{
				{dibao, 2, `unknown kind "recipe"`},
				{dibao, 2, "topic dibao is a procedure in spec/topics.tsv, not recipe"},
			},
		},
		{
			name: "missing kind",
			files: func(t *testing.T) map[string]string {
				return map[string]string{dibao: replace(t, goodEntry, "kind: procedure\n", "\n")}
			},
			want: []wantProblem{
				{dibao, 1, "missing kind"},
				{dibao, 1, "topic dibao is a procedure"},
			},
		},
		{
			name: "unknown category",
			files: func(t *testing.T) map[string]string {
				return map[string]string{dibao: replace(t, goodEntry, "category: welfare", "category: bakery")}
			},
			want: []wantProblem{
				{dibao, 3, `unknown category "bakery"`},
				{dibao, 3, "topic dibao has category welfare in spec/topics.tsv, not bakery"},
			},
		},
		{
			name: "kind differs from the spec",
			files: func(t *testing.T) map[string]string {
				return map[string]string{dibao: replace(t, goodEntry, "kind: procedure", "kind: report\nticket_fields: [address]")}
			},
			want: []wantProblem{{dibao, 2, "topic dibao is a procedure in spec/topics.tsv, not report"}},
		},
		{
			name: "duplicate id in two files",
			files: func(t *testing.T) map[string]string {
				return map[string]string{"entries/temp-relief.yaml": "\n" + goodEntry}
			},
			want: []wantProblem{{"entries/temp-relief.yaml", 2, `duplicate id "dibao" (also in entries/dibao.yaml)`}},
		},
		{
			name: "id does not match the file name",
			files: func(t *testing.T) map[string]string {
				return map[string]string{dibao: replace(t, goodEntry, "id: dibao", "id: temp-relief")}
			},
			want: []wantProblem{{dibao, 1, `id "temp-relief" does not match the file name "dibao"`}},
		},
		{
			name: "bad id",
			files: func(t *testing.T) map[string]string {
				return map[string]string{dibao: replace(t, goodEntry, "id: dibao", "id: Di_Bao")}
			},
			want: []wantProblem{{dibao, 1, `id "Di_Bao": use lowercase letters`}},
		},
		{
			name: "four examples",
			files: func(t *testing.T) map[string]string {
				return map[string]string{dibao: replace(t, replace(t, goodEntry, ", 低保停了咋办]", "]"), ", 低保在哪办", "")}
			},
			want: []wantProblem{{dibao, 6, "4 example questions, want at least 5"}},
		},
		{
			name: "answer without summary",
			files: func(t *testing.T) map[string]string {
				return map[string]string{dibao: replace(t, goodEntry, "  summary: 到社区申请低保。\n", "  materials: [身份证]\n")}
			},
			want: []wantProblem{{dibao, 7, "missing answer (answer.summary)"}},
		},
		{
			name: "no answer at all",
			files: func(t *testing.T) map[string]string {
				return map[string]string{dibao: replace(t, goodEntry, "answer:\n  short: 带身份证到社区申请低保。\n  summary: 到社区申请低保。\n  where: 社区服务站\n", "")}
			},
			want: []wantProblem{{dibao, 1, "missing answer"}, {dibao, 1, "missing short answer (answer.short"}},
		},
		{
			name: "answer without short",
			files: func(t *testing.T) map[string]string {
				return map[string]string{dibao: replace(t, goodEntry, "  short: 带身份证到社区申请低保。\n", "")}
			},
			// No short key: the answer's line.
			want: []wantProblem{{dibao, 7, "missing short answer (answer.short, at most 150 characters)"}},
		},
		{
			name: "blank short",
			files: func(t *testing.T) map[string]string {
				return map[string]string{dibao: replace(t, goodEntry, "  short: 带身份证到社区申请低保。", `  short: "  "`)}
			},
			want: []wantProblem{{dibao, 8, "missing short answer (answer.short"}},
		},
		{
			name: "short over 150 characters",
			files: func(t *testing.T) map[string]string {
				return map[string]string{dibao: replace(t, goodEntry, "  short: 带身份证到社区申请低保。", "  short: "+strings.Repeat("低", 151))}
			},
			want: []wantProblem{{dibao, 8, "answer.short is 151 characters, want at most 150"}},
		},
		{
			name: "emergency short not starting with the number",
			files: func(t *testing.T) map[string]string {
				return map[string]string{"entries/emergency-fire.yaml": replace(t, goodEmergency, "  short: 119：马上打火警。", "  short: 马上打火警119。")}
			},
			want: []wantProblem{{"entries/emergency-fire.yaml", 8, "an emergency's answer.short must start with the number to call (119)"}},
		},
		{
			name: "emergency short without one of its numbers",
			files: func(t *testing.T) map[string]string {
				return map[string]string{"entries/emergency-fire.yaml": replace(t, goodEmergency, "    - {name: 火警, number: \"119\"}\n", "    - {name: 火警, number: \"119\"}\n    - {name: 急救, number: \"120\"}\n")}
			},
			want: []wantProblem{{"entries/emergency-fire.yaml", 8, "answer.short does not give the number 120 (急救)"}},
		},
		{
			name: "report without ticket_fields",
			files: func(t *testing.T) map[string]string {
				return map[string]string{"entries/report-streetlight.yaml": replace(t, goodReport, "ticket_fields: [address, phone]\n", "")}
			},
			want: []wantProblem{{"entries/report-streetlight.yaml", 1, "a report entry needs ticket_fields"}},
		},
		{
			name: "report with an unknown ticket field",
			files: func(t *testing.T) map[string]string {
				return map[string]string{"entries/report-streetlight.yaml": replace(t, goodReport, "[address, phone]", "[address, smell]")}
			},
			want: []wantProblem{{"entries/report-streetlight.yaml", 10, `unknown ticket field "smell"`}},
		},
		{
			name: "emergency without numbers",
			files: func(t *testing.T) map[string]string {
				return map[string]string{"entries/emergency-fire.yaml": replace(t, goodEmergency, "  numbers:\n    - {name: 火警, number: \"119\"}\n", "")}
			},
			want: []wantProblem{{"entries/emergency-fire.yaml", 10, "an emergency entry needs emergency.numbers and emergency.do_now"}},
		},
		{
			name: "emergency without the emergency block",
			files: func(t *testing.T) map[string]string {
				return map[string]string{"entries/emergency-fire.yaml": strings.SplitAfter(goodEmergency, "  summary: 马上打119。\n")[0]}
			},
			want: []wantProblem{{"entries/emergency-fire.yaml", 1, "an emergency entry needs emergency.numbers"}},
		},
		{
			name: "invalid YAML",
			files: func(t *testing.T) map[string]string {
				return map[string]string{dibao: replace(t, goodEntry, "title: 低保申请", "title: 低保申请\n  oops: [")}
			},
			want: []wantProblem{{dibao, 5, "invalid YAML"}},
		},
		{
			name: "not a mapping",
			files: func(t *testing.T) map[string]string {
				return map[string]string{dibao: "- just\n- a list\n"}
			},
			want: []wantProblem{{dibao, 1, "want a mapping at the top"}},
		},
		{
			name: "examples of the wrong type",
			files: func(t *testing.T) map[string]string {
				return map[string]string{dibao: replace(t, goodEntry, "examples: [低保咋申请, 俺家能吃低保不, 办低保要甚材料, 低保多少钱, 低保在哪办, 低保停了咋办]", "examples: 5")}
			},
			want: []wantProblem{{dibao, 6, "cannot unmarshal"}},
		},
		{
			name: "where of the wrong type",
			files: func(t *testing.T) map[string]string {
				return map[string]string{dibao: replace(t, goodEntry, "  where: 社区服务站", "  where: {room: 3}")}
			},
			want: []wantProblem{{dibao, 10, "cannot unmarshal"}},
		},
		{
			name: "no entries",
			files: func(t *testing.T) map[string]string {
				return map[string]string{dibao: "", "entries/report-streetlight.yaml": "", "entries/emergency-fire.yaml": ""}
			},
			want: []wantProblem{{"entries", 0, "no entries/*.yaml files"}},
		},
		{
			name: "compound grid points nowhere",
			files: func(t *testing.T) map[string]string {
				return map[string]string{"contacts.yaml": replace(t, goodContacts, "grid: c1-g1", "grid: c1-g9")}
			},
			want: []wantProblem{{"contacts.yaml", 11, `compound 金桥小区: grid "c1-g9" points nowhere in community c1`}},
		},
		{
			name: "grid parent points nowhere",
			files: func(t *testing.T) map[string]string {
				return map[string]string{"contacts.yaml": replace(t, goodContacts, "parent: c1-g0", "parent: c2-g0")}
			},
			want: []wantProblem{{"contacts.yaml", 21, `grid c1-g1: parent "c2-g0" points nowhere in community c1`}},
		},
		{
			name: "basic grid without a parent",
			files: func(t *testing.T) map[string]string {
				return map[string]string{"contacts.yaml": replace(t, goodContacts, "parent: c1-g0", "# no parent")}
			},
			want: []wantProblem{{"contacts.yaml", 18, "grid c1-g1 (基础网格) needs a parent 总网格"}},
		},
		{
			name: "micro grid under a 总网格",
			files: func(t *testing.T) map[string]string {
				return map[string]string{"contacts.yaml": goodContacts + `          - id: c1-g1-m1
            name: 金桥社区第一网格第1微网格
            tier: 微网格
            parent: c1-g0
`}
			},
			want: []wantProblem{{"contacts.yaml", 27, "grid c1-g1-m1 (微网格): parent c1-g0 is a 总网格, want a 基础网格"}},
		},
		{
			name: "two 总网格",
			files: func(t *testing.T) map[string]string {
				c := replace(t, goodContacts, "tier: 基础网格", "tier: 总网格")
				return map[string]string{"contacts.yaml": replace(t, c, "parent: c1-g0", "# no parent")}
			},
			want: []wantProblem{{"contacts.yaml", 5, "community c1 has 2 总网格, want exactly one"}},
		},
		{
			name: "no 总网格",
			files: func(t *testing.T) map[string]string {
				return map[string]string{"contacts.yaml": replace(t, goodContacts, "tier: 总网格", "tier: 微网格\n            parent: c1-g1")}
			},
			want: []wantProblem{
				{"contacts.yaml", 5, "community c1 has 0 总网格"},
				// c1-g1 now has a 微网格 parent; c1-g0 is a 微网格 under a 基础网格, which is fine.
				{"contacts.yaml", 22, "grid c1-g1 (基础网格): parent c1-g0 is a 微网格, want a 总网格"},
			},
		},
		{
			name: "unknown role",
			files: func(t *testing.T) map[string]string {
				return map[string]string{"contacts.yaml": replace(t, goodContacts, "role: 网格员", "role: 楼主")}
			},
			want: []wantProblem{{"contacts.yaml", 23, `grid c1-g1: 李某军 has unknown role "楼主"`}},
		},
		{
			name: "unknown tier",
			files: func(t *testing.T) map[string]string {
				return map[string]string{"contacts.yaml": replace(t, goodContacts, "tier: 基础网格", "tier: 大网格")}
			},
			want: []wantProblem{{"contacts.yaml", 20, `grid c1-g1: unknown tier "大网格"`}},
		},
		{
			name: "community id used by its town",
			files: func(t *testing.T) map[string]string {
				return map[string]string{"contacts.yaml": replace(t, goodContacts, "id: c1\n", "id: t1\n")}
			},
			// Every reference to the community names it by its id.
			want: []wantProblem{{"contacts.yaml", 5, `duplicate id "t1" (first at line 2)`}},
		},
		{
			name: "grid id used twice",
			files: func(t *testing.T) map[string]string {
				return map[string]string{"contacts.yaml": goodContacts + `          - id: c1-g1
            name: 又一个网格
            tier: 基础网格
            parent: c1-g0
`}
			},
			want: []wantProblem{{"contacts.yaml", 24, `duplicate id "c1-g1" (first at line 18)`}},
		},
		{
			name: "community nobody to contact",
			files: func(t *testing.T) map[string]string {
				c := replace(t, goodContacts, "              - {name: 王某芳, role: 社区书记, phone: \"199-0000-0101\"}\n", "")
				return map[string]string{"contacts.yaml": replace(t, c, "              - {name: 李某军, role: 网格员, phone: \"199-0000-0102\"}\n", "")}
			},
			want: []wantProblem{{"contacts.yaml", 5, "community c1 has nobody to contact"}},
		},
		{
			name: "contacts of the wrong type",
			files: func(t *testing.T) map[string]string {
				return map[string]string{"contacts.yaml": replace(t, goodContacts, "            aliases: [金桥家属院]", "            aliases: {a: b}")}
			},
			want: []wantProblem{{"contacts.yaml", 10, "cannot unmarshal"}},
		},
		{
			name: "word in two synonym groups",
			files: func(t *testing.T) map[string]string {
				return map[string]string{"synonyms.yaml": goodSynonyms + "  - [取暖, 暖气]\n"}
			},
			want: []wantProblem{{"synonyms.yaml", 4, `"暖气" is already in the group at line 3`}},
		},
		{
			name: "synonym group of one word",
			files: func(t *testing.T) map[string]string {
				return map[string]string{"synonyms.yaml": goodSynonyms + "  - [孤单]\n"}
			},
			want: []wantProblem{{"synonyms.yaml", 4, "at least two words"}},
		},
		{
			name: "missing synonyms file",
			files: func(t *testing.T) map[string]string {
				return map[string]string{"synonyms.yaml": ""}
			},
			want: []wantProblem{{"synonyms.yaml", 0, "cannot read"}},
		},
		{
			name: "several files at once, sorted",
			files: func(t *testing.T) map[string]string {
				return map[string]string{
					"synonyms.yaml":                   goodSynonyms + "  - [取暖, 暖气]\n",
					"contacts.yaml":                   replace(t, goodContacts, "role: 网格员", "role: 楼主"),
					"entries/report-streetlight.yaml": replace(t, goodReport, "ticket_fields: [address, phone]\n", ""),
					dibao:                             replace(t, goodEntry, "category: welfare", "category: bakery"),
				}
			},
			want: []wantProblem{
				{"contacts.yaml", 23, "unknown role"},
				{dibao, 3, "unknown category"},
				{dibao, 3, "topic dibao has category welfare"},
				{"entries/report-streetlight.yaml", 1, "needs ticket_fields"},
				{"synonyms.yaml", 4, "already in the group"},
			},
		},
	}
	spec := loadSpec(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, problems := search.Load(guideFS(tc.files(t)), spec)
			checkProblems(t, problems, tc.want)
		})
	}
}

// checkProblems asserts that problems are exactly want, in order.
func checkProblems(t *testing.T, problems search.Problems, want []wantProblem) {
	t.Helper()
	ok := len(problems) == len(want)
	for i := 0; ok && i < len(want); i++ {
		p, w := problems[i], want[i]
		ok = p.File == w.file && p.Line == w.line && strings.Contains(p.Reason, w.reason)
	}
	if !ok {
		t.Errorf("got problems:\n%v\nwant:\n%v", problems, want)
	}
	// As an error, the list reads one problem per line, each as file:line: reason.
	if len(problems) > 0 {
		lines := strings.Split(problems.Error(), "\n")
		if len(lines) != len(problems) || lines[0] != problems[0].String() {
			t.Errorf("Problems.Error() = %q", problems.Error())
		}
		if !strings.HasPrefix(problems[0].String(), problems[0].File+":") {
			t.Errorf("Problem.String() = %q", problems[0].String())
		}
	}
}

func TestGuideHelpers(t *testing.T) {
	g := loadSample(t)

	e, ok := g.Entry("report-heating")
	if !ok || e.ID != "report-heating" || e.Kind != search.KindReport {
		t.Errorf("Entry(report-heating) = %+v, %v", e, ok)
	}
	if _, ok := g.Entry("no-such-topic"); ok {
		t.Error("Entry(no-such-topic) found something")
	}

	c, ok := g.Community("wy-jinqiao")
	if !ok || c.Name != "金桥社区" || c.TownID != "wuyuan-urban" || c.TownName != "五原县城区" {
		t.Fatalf("Community(wy-jinqiao) = %+v, %v", c, ok)
	}
	if _, ok := g.Community("wuyuan-urban"); ok {
		t.Error("Community found a town")
	}
	cs := g.Communities()
	if len(cs) == 0 || cs[0].ID != "wy-jinqiao" {
		t.Fatalf("Communities()[0] is not the first community of the guide")
	}
	n := 0
	for ti, tn := range g.Towns {
		for ci := range tn.Communities {
			if cs[n] != &g.Towns[ti].Communities[ci] {
				t.Errorf("Communities()[%d] is not the guide's own community %s", n, tn.Communities[ci].ID)
			}
			n++
		}
	}
	if n != len(cs) {
		t.Errorf("Communities() has %d, the towns hold %d", len(cs), n)
	}
	// Community returns the same community Communities lists, not a copy.
	if c2, _ := g.Community(cs[3].ID); c2 != cs[3] {
		t.Error("Community and Communities disagree")
	}

	grp := g.SynonymsOf("取暖")
	if len(grp) == 0 || grp[0] != "暖气" || !contains(grp, "供暖") || !contains(grp, "取暖") {
		t.Errorf("SynonymsOf(取暖) = %v", grp)
	}
	if grp := g.SynonymsOf("暖气"); len(grp) == 0 || grp[0] != "暖气" {
		t.Errorf("SynonymsOf(暖气) = %v", grp)
	}
	if grp := g.SynonymsOf("宇宙飞船"); grp != nil {
		t.Errorf("SynonymsOf(宇宙飞船) = %v, want nil", grp)
	}

	if top := c.TopGrid(); top == nil || top.ID != "wy-jinqiao-g0" || top.Tier != search.TierTotal {
		t.Errorf("TopGrid = %+v", top)
	}
	for place, want := range map[string]string{
		"金桥小区3号楼":   "wy-jinqiao-g1",
		"俺住金桥家属院":   "wy-jinqiao-g1",
		"虹亚小区2号楼":   "wy-jinqiao-g2",
		"虹亚楼下的路灯":   "wy-jinqiao-g2",
		"电业局家属院平房区": "wy-jinqiao-g2",
		"火星基地":      "wy-jinqiao-g0",
		"":          "wy-jinqiao-g0",
	} {
		if got := c.GridFor(place); got == nil || got.ID != want {
			t.Errorf("GridFor(%q) = %+v, want %s", place, got, want)
		}
	}
}

func TestLocate(t *testing.T) {
	g := loadSample(t)
	for place, want := range map[string]string{
		"新华小区5号楼门口":   "wy-xinhua",  // a compound
		"俺们锦绣家园西门口":   "wy-xinhua",  // another compound of the same community
		"金桥家属院后面那条巷子": "wy-jinqiao", // a compound's alias
		"丰收路中段":       "wy-jinqiao", // a street
		"中山社区居委会门口":   "wy-zhongshan",
		"新华街和中山路口":    "", // two streets of two communities, as long as each other
		"火星基地":        "",
		"":            "",
	} {
		c, ok := g.Locate(place)
		if got := ""; ok {
			got = c.ID
			if got != want {
				t.Errorf("Locate(%q) = %s, want %q", place, got, want)
			}
		} else if want != "" {
			t.Errorf("Locate(%q) found nothing, want %s", place, want)
		}
	}
	// The longest name decides: a compound beats a street of another community.
	two := &search.Guide{Towns: []search.Town{{Communities: []search.Community{
		{ID: "a", Name: "甲社区", Streets: []string{"幸福路"}},
		{ID: "b", Name: "乙社区", Compounds: []search.Compound{{Name: "幸福路小区"}}},
	}}}}
	if c, ok := two.Locate("幸福路小区3号楼"); !ok || c.ID != "b" {
		t.Errorf("Locate(幸福路小区3号楼) = %v, %v; want b, the compound", c, ok)
	}
	if c, ok := two.Locate("幸福路口"); !ok || c.ID != "a" {
		t.Errorf("Locate(幸福路口) = %v, %v; want a, the street", c, ok)
	}
}

func TestTopGridByTier(t *testing.T) {
	c := &search.Community{Grids: []search.Grid{
		{ID: "g1", Tier: search.TierBasic, Parent: "g0"},
		{ID: "g0", Tier: search.TierTotal},
	}}
	if g := c.TopGrid(); g == nil || g.ID != "g0" {
		t.Errorf("TopGrid = %+v, want g0 (the 总网格, not the first grid)", g)
	}
	c.Compounds = []search.Compound{{Name: "幸福小区", Grid: "gone"}}
	if g := c.GridFor("幸福小区"); g == nil || g.ID != "g0" {
		t.Errorf("GridFor a compound with a missing grid = %+v, want the 总网格", g)
	}
	if g := (&search.Community{}).TopGrid(); g != nil {
		t.Errorf("TopGrid of a community without grids = %+v", g)
	}
}

func TestVocabulary(t *testing.T) {
	g := loadSample(t)
	v := g.Vocabulary()
	if !sort.StringsAreSorted(v) {
		t.Error("Vocabulary is not sorted")
	}
	for _, w := range []string{"低保", "暖器", "最低生活保障"} {
		if !contains(v, w) {
			t.Errorf("Vocabulary lacks %s", w)
		}
	}
	names := g.PlaceNames()
	if !sort.StringsAreSorted(names) {
		t.Error("PlaceNames is not sorted")
	}
	for _, w := range []string{"金桥社区", "金桥家属院", "丰收路", "五原县城区", "海流图"} {
		if !contains(names, w) {
			t.Errorf("PlaceNames lacks %s", w)
		}
		if contains(v, w) {
			t.Errorf("Vocabulary holds the place name %s: typos would be corrected towards it", w)
		}
	}
}

func contains(list []string, w string) bool {
	for _, x := range list {
		if x == w {
			return true
		}
	}
	return false
}

// Text the YAML parser cannot read is reported at its own line.
func TestLoadReportsBadTextAtItsLine(t *testing.T) {
	for name, text := range map[string]string{
		"invalid UTF-8":     "id: dibao\nkind: procedure\ntitle: \xff\xfe\n",
		"control character": "id: dibao\nkind: procedure\ntitle: a\x01b\n",
	} {
		fsys := guideFS(map[string]string{"entries/dibao.yaml": text})
		_, problems := search.Load(fsys, loadSpec(t))
		found := false
		for _, p := range problems {
			if p.File == "entries/dibao.yaml" && p.Line == 3 && strings.Contains(p.Reason, strings.Fields(name)[0][:3]) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: problems %v, want one at entries/dibao.yaml:3", name, problems)
		}
	}
}
