package web_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/search"
)

// entryFormDoc is the entry as POST /api/v1/guide/entry shows it.
type entryFormDoc struct {
	ID, Kind, Category, Title, Short, Summary string
	Examples, Keywords                        []string
	Sections                                  struct {
		Conditions, Materials, Where, Steps []string
		Hours, Phone                        string
		TimeLimit                           string `json:"time_limit"`
	}
}

type entryAnswer struct {
	YAML  string
	Entry entryFormDoc
	Error string
}

func sampleFile(t *testing.T, name string) string {
	t.Helper()
	for _, f := range sampleFiles(t) {
		if f.Name == name {
			return string(f.Data)
		}
	}
	t.Fatalf("the sample guide has no %s", name)
	return ""
}

// loadWith loads the sample guide with one file changed, as `guide check` and publishing do.
func loadWith(t *testing.T, name, text string) *search.Guide {
	t.Helper()
	files, err := search.ReadFiles(search.SampleGuide())
	if err != nil {
		t.Fatal(err)
	}
	files[name] = []byte(text)
	spec, _ := chatGuideData(t)
	g, problems := search.Load(search.FilesFS(files), spec)
	if len(problems) > 0 {
		t.Fatalf("the guide with the changed %s does not load:\n%v\n%s", name, problems, text)
	}
	return g
}

// The entry form reads an entry's fields; a change of title, short answer, examples, keywords and
// a section is made where each value stands, the comments and everything else as written, and
// the guide with the changed file loads; the same fields sent back unchanged change nothing.
func TestGuideEntryForm(t *testing.T) {
	e := newGuideEnv(t)
	manager := e.staffToken("wang", intake.RoleManager, "")
	operator := e.staffToken("zhang", intake.RoleOperator, "")
	dibao := sampleFile(t, "entries/dibao.yaml")
	// Comments a manager wrote in the text: they must stay.
	dibao = strings.Replace(dibao, "kind: procedure\n", "kind: procedure # 民政\n", 1)
	dibao = strings.Replace(dibao, "answer:\n", "# 下面是回答，2026 年核对过\nanswer:\n", 1)
	dibao = strings.Replace(dibao, "  hours:", "  # 冬季时间另行通知\n  hours:", 1)

	if st, code := e.callGuide("POST", "/api/v1/guide/entry", operator, map[string]any{"yaml": dibao}, nil); st != 403 || code != "forbidden" {
		t.Errorf("an operator: %d %s; want 403 forbidden", st, code)
	}
	var got entryAnswer
	if st, _ := e.callGuide("POST", "/api/v1/guide/entry", manager, map[string]any{"yaml": dibao}, &got); st != 200 || got.YAML != dibao {
		t.Fatalf("the fields of dibao.yaml: %d %s", st, got.Error)
	}
	f := got.Entry
	if f.ID != "dibao" || f.Kind != "procedure" || f.Category != "welfare" || f.Title != "最低生活保障（低保）申请" ||
		!strings.HasPrefix(f.Short, "家里人均收入低于当地低保标准的") || !strings.HasPrefix(f.Summary, "家庭人均收入低于") ||
		len(f.Examples) != 15 || f.Examples[0] != "低保咋申请" || len(f.Keywords) != 27 || f.Keywords[26] != "困难户生活费" ||
		len(f.Sections.Conditions) != 3 || len(f.Sections.Materials) != 5 || len(f.Sections.Where) != 3 || len(f.Sections.Steps) != 6 ||
		f.Sections.Phone != "民政社会救助咨询 0478-555-0201" || !strings.HasPrefix(f.Sections.Hours, "工作日 8:30") ||
		!strings.HasPrefix(f.Sections.TimeLimit, "一般30个工作日") {
		t.Fatalf("the fields of dibao.yaml: %+v", f)
	}

	// Every field sent back as it is: the text stays byte for byte.
	same := map[string]any{"yaml": dibao, "set": map[string]any{"title": f.Title, "short": f.Short, "summary": f.Summary,
		"examples": f.Examples, "keywords": f.Keywords, "sections": map[string]any{"conditions": f.Sections.Conditions,
			"materials": f.Sections.Materials, "where": f.Sections.Where, "steps": f.Sections.Steps, "hours": f.Sections.Hours,
			"phone": f.Sections.Phone, "time_limit": f.Sections.TimeLimit}}}
	if st, _ := e.callGuide("POST", "/api/v1/guide/entry", manager, same, &got); st != 200 || got.YAML != dibao {
		t.Fatalf("the fields unchanged: %d %s\n%s", st, got.Error, got.YAML)
	}

	const short = "低保在户籍所在地街道办或苏木乡镇申请，带身份证、户口簿和收入证明。咨询 0478-555-0201。"
	set := map[string]any{
		"title":    "低保申请",
		"short":    short,
		"examples": append(append([]string{}, f.Examples...), "低保申请: 去哪办"),
		"keywords": append(append([]string{}, f.Keywords...), "低保咋办"),
		"sections": map[string]any{"steps": []string{"提交申请和材料", "入户调查", "公示", "审批后按月发放"}},
	}
	if st, _ := e.callGuide("POST", "/api/v1/guide/entry", manager, map[string]any{"yaml": dibao, "set": set}, &got); st != 200 {
		t.Fatalf("a change: %d %s", st, got.Error)
	}
	want := dibao
	want = strings.Replace(want, "title: 最低生活保障（低保）申请\n", "title: 低保申请\n", 1)
	want = strings.Replace(want, "困难户生活费]\n", "困难户生活费, 低保咋办]\n", 1)
	want = strings.Replace(want, "  - 低保申请不上的话咋办 能重新申请吗\n", "  - 低保申请不上的话咋办 能重新申请吗\n  - \"低保申请: 去哪办\"\n", 1)
	want = strings.Replace(want, "  short: "+strings.SplitN(strings.SplitN(dibao, "  short: ", 2)[1], "\n", 2)[0]+"\n", "  short: "+short+"\n", 1)
	steps := dibao[strings.Index(dibao, "  steps:\n"):strings.Index(dibao, "  time_limit:")]
	want = strings.Replace(want, steps, "  steps:\n    - 提交申请和材料\n    - 入户调查\n    - 公示\n    - 审批后按月发放\n", 1)
	if got.YAML != want {
		t.Fatalf("the changed text:\n%s\nwant\n%s", got.YAML, want)
	}
	for _, c := range []string{"kind: procedure # 民政\n", "# 下面是回答，2026 年核对过\nanswer:\n", "  # 冬季时间另行通知\n  hours:"} {
		if !strings.Contains(got.YAML, c) {
			t.Errorf("the comment %q is gone", c)
		}
	}
	f = got.Entry
	if f.Title != "低保申请" || f.Short != short || len(f.Examples) != 16 || f.Examples[15] != "低保申请: 去哪办" ||
		len(f.Keywords) != 28 || f.Keywords[27] != "低保咋办" || len(f.Sections.Steps) != 4 || f.Sections.Steps[3] != "审批后按月发放" ||
		len(f.Sections.Where) != 3 {
		t.Errorf("the entry after the change: %+v", f)
	}
	g := loadWith(t, "entries/dibao.yaml", got.YAML)
	if en, ok := g.Entry("dibao"); !ok || en.Title != "低保申请" || en.Answer.Short != short || len(en.Examples) != 16 ||
		en.Keywords[27] != "低保咋办" || len(en.Answer.Steps) != 4 || en.Answer.Hours == "" {
		t.Errorf("the loaded entry: %+v", en)
	}
}

// Fields the entry lacks are added after the one before them in the format's order; a string
// section written as lines becomes one line, a one-line where a list, an emptied section goes,
// and block, quoted and flow values are each replaced in their place.
func TestGuideEntryShapes(t *testing.T) {
	e := newGuideEnv(t)
	manager := e.staffToken("wang", intake.RoleManager, "")
	const src = `# 测试条目
id: dibao
kind: procedure   # 办事
category: welfare
title: "低保"
keywords: [低保, 'a, b']
examples:
- 一
- 二
answer:
  short: >
    折叠的
    简短回答
  summary: 说明
  where: 社区
  # 电话在这里
  phone:
    - 甲
    - 乙
    # 一个更深的注释
  steps:
    - 一步
`
	const want = `# 测试条目
id: dibao
kind: procedure   # 办事
category: welfare
title: "新低保"
keywords: [低保, "a, b", 新]
examples:
- 一
- 二
- "三: 四"
answer:
  short: 新的简短回答
  summary: 说明
  conditions:
    - 本地户籍
  where:
    - 社区
    - 街道
  hours: 工作日
  # 电话在这里
  phone: 丙
    # 一个更深的注释
`
	set := map[string]any{"title": "新低保", "keywords": []string{"低保", "a, b", "新"}, "examples": []string{"一", "二", "三: 四"},
		"short": "新的简短回答", "sections": map[string]any{"where": []string{"社区", "街道"}, "phone": "丙", "hours": "工作日",
			"steps": []string{}, "conditions": []string{"本地户籍"}}}
	var got entryAnswer
	if st, _ := e.callGuide("POST", "/api/v1/guide/entry", manager, map[string]any{"yaml": src, "set": set}, &got); st != 200 || got.YAML != want {
		t.Fatalf("%d %s:\n%s\nwant\n%s", st, got.Error, got.YAML, want)
	}
	// The same with CRLF line breaks: the lines added end as the others do.
	crlf := func(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }
	if st, _ := e.callGuide("POST", "/api/v1/guide/entry", manager, map[string]any{"yaml": crlf(src), "set": set}, &got); st != 200 || got.YAML != crlf(want) {
		t.Fatalf("CRLF: %d %s:\n%q\nwant\n%q", st, got.Error, got.YAML, crlf(want))
	}
	if s := got.Entry.Sections; s.Phone != "丙" || s.Hours != "工作日" || len(s.Steps) != 0 || s.Steps == nil || len(s.Where) != 2 {
		t.Errorf("the sections: %+v", s)
	}
	// Read back: the phone written as lines is shown joined as the loader joins it.
	if st, _ := e.callGuide("POST", "/api/v1/guide/entry", manager, map[string]any{"yaml": src}, &got); st != 200 ||
		got.Entry.Sections.Phone != "甲；乙" || got.Entry.Short != "折叠的 简短回答\n" || len(got.Entry.Sections.Where) != 1 {
		t.Errorf("%d %+v", st, got.Entry)
	}
	// A one-item where stays a line; quotes a value needs are added.
	set = map[string]any{"sections": map[string]any{"where": []string{"街道 #3 窗口"}, "time_limit": "7天"}}
	if st, _ := e.callGuide("POST", "/api/v1/guide/entry", manager, map[string]any{"yaml": src, "set": set}, &got); st != 200 ||
		got.YAML != strings.Replace(strings.Replace(src, "  where: 社区\n", `  where: "街道 #3 窗口"`+"\n", 1), "    - 一步\n", "    - 一步\n  time_limit: 7天\n", 1) {
		t.Errorf("%d %s:\n%s", st, got.Error, got.YAML)
	}
}

// Unknown fields, wrong types, emptied required fields and a text that is not an entry: 400,
// naming the field.
func TestGuideEntryRefused(t *testing.T) {
	e := newGuideEnv(t)
	manager := e.staffToken("wang", intake.RoleManager, "")
	dibao := sampleFile(t, "entries/dibao.yaml")
	for _, c := range []struct {
		set   any
		field string
	}{
		{[]string{"title"}, "set"},
		{"title", "set"},
		{map[string]any{"id": "x"}, "id"},
		{map[string]any{"answer": map[string]any{}}, "answer"},
		{map[string]any{"sections": map[string]any{"numbers": []string{"110"}}}, "sections.numbers"},
		{map[string]any{"sections": []string{"x"}}, "sections"},
		{map[string]any{"title": 5}, "title"},
		{map[string]any{"title": []string{"x"}}, "title"},
		{map[string]any{"short": nil}, "short"},
		{map[string]any{"examples": "低保咋申请"}, "examples"},
		{map[string]any{"keywords": []any{"低保", 3}}, "keywords"},
		{map[string]any{"sections": map[string]any{"hours": []string{"x"}}}, "sections.hours"},
		{map[string]any{"sections": map[string]any{"steps": "x"}}, "sections.steps"},
		{map[string]any{"summary": " "}, "summary"},
		{map[string]any{"keywords": []string{}}, "keywords"},
		{map[string]any{"examples": []string{"a", ""}}, "examples"},
	} {
		var got entryAnswer
		st, code := e.callGuide("POST", "/api/v1/guide/entry", manager, map[string]any{"yaml": dibao, "set": c.set}, &got)
		if st != 400 || code != "invalid_change" || !strings.HasPrefix(got.Error, c.field+": ") {
			t.Errorf("set %v: %d %s %q; want 400 invalid_change naming %s", c.set, st, code, got.Error, c.field)
		}
	}
	for _, text := range []string{sampleFile(t, "contacts.yaml"), "id: [", "- a\n- b\n", "id: dibao\ntitle: x\n", ""} {
		var got entryAnswer
		if st, code := e.callGuide("POST", "/api/v1/guide/entry", manager, map[string]any{"yaml": text, "set": map[string]any{"title": "x"}}, &got); st != 400 || code != "invalid_guide" ||
			!strings.HasPrefix(got.Error, "not a guide entry: ") {
			t.Errorf("%.30q: %d %s %q; want 400 invalid_guide", text, st, code, got.Error)
		}
	}
	if st, code := e.callGuide("POST", "/api/v1/guide/entry", manager, map[string]any{"set": map[string]any{"title": "x"}}, nil); st != 400 || code != "missing_field" {
		t.Errorf("without yaml: %d %s", st, code)
	}
}

// Every entry of the sample guide: its fields sent back unchanged leave the text byte for byte;
// each field changed alone changes that field only; all changed at once, the guide with the
// changed file loads with the new values.
func TestGuideEntryEverySample(t *testing.T) {
	e := newGuideEnv(t)
	manager := e.staffToken("wang", intake.RoleManager, "")
	files, err := search.ReadFiles(search.SampleGuide())
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := chatGuideData(t)
	asSet := func(f entryFormDoc) map[string]any {
		s := f.Sections
		return map[string]any{"title": f.Title, "short": f.Short, "summary": f.Summary, "examples": f.Examples, "keywords": f.Keywords,
			"sections": map[string]any{"conditions": s.Conditions, "materials": s.Materials, "where": s.Where, "steps": s.Steps,
				"hours": s.Hours, "phone": s.Phone, "time_limit": s.TimeLimit}}
	}
	// Each answer is decoded into a value of its own: decoding into one reused value would
	// write a longer list into the backing array orig's lists share.
	post := func(body map[string]any) (int, entryAnswer) {
		var a entryAnswer
		st, _ := e.callGuide("POST", "/api/v1/guide/entry", manager, body, &a)
		return st, a
	}
	entries := 0
	for name, data := range files {
		if !strings.HasPrefix(name, "entries/") {
			continue
		}
		entries++
		text := string(data)
		st, got := post(map[string]any{"yaml": text})
		if st != 200 {
			t.Errorf("%s: %d %s", name, st, got.Error)
			continue
		}
		orig := got.Entry
		if st, got := post(map[string]any{"yaml": text, "set": asSet(orig)}); st != 200 || got.YAML != text {
			t.Errorf("%s unchanged: %d %s", name, st, got.Error)
		}
		s := orig.Sections
		short := []rune(orig.Short)
		changes := map[string]any{
			"title": orig.Title + "（新）", "short": string(short[:len(short)-1]) + "（新）", // an emergency's numbers kept "summary": orig.Summary + "另：详见窗口。",
			"examples": append([]string{"新的例句 咋办"}, orig.Examples...), "keywords": append(append([]string{}, orig.Keywords...), "新词"),
			"conditions": append(append([]string{}, s.Conditions...), "新条件"), "materials": []string{"身份证"},
			"where": append(append([]string{}, s.Where...), "新地点: 二楼"), "steps": []string{"第一步", "第二步"},
			"hours": "每天 9:00-17:00", "phone": "'0478-555-0999'", "time_limit": "",
		}
		all := asSet(orig)
		for field, v := range changes {
			set := map[string]any{field: v}
			if _, top := all[field]; top {
				all[field] = v
			} else {
				all["sections"].(map[string]any)[field] = v
				set = map[string]any{"sections": map[string]any{field: v}}
			}
			st, got := post(map[string]any{"yaml": text, "set": set})
			if st != 200 {
				t.Errorf("%s, %s: %d %s", name, field, st, got.Error)
				continue
			}
			// The field as set, every other as it was.
			want := asSet(orig)
			if _, top := want[field]; top {
				want[field] = v
			} else {
				want["sections"].(map[string]any)[field] = v
			}
			if g, w := fmt.Sprint(asSet(got.Entry)), fmt.Sprint(want); g != w {
				t.Errorf("%s, %s:\n%s\nwant\n%s", name, field, g, w)
			}
		}
		st, got = post(map[string]any{"yaml": text, "set": all})
		if st != 200 {
			t.Errorf("%s, all changed: %d %s", name, st, got.Error)
			continue
		}
		changed := map[string][]byte{}
		for n, d := range files {
			changed[n] = d
		}
		changed[name] = []byte(got.YAML)
		g, problems := search.Load(search.FilesFS(changed), spec)
		if len(problems) > 0 {
			t.Errorf("%s, all changed: the guide does not load:\n%v\n%s", name, problems, got.YAML)
			continue
		}
		id := strings.TrimSuffix(strings.TrimPrefix(name, "entries/"), ".yaml")
		en, _ := g.Entry(id)
		if en == nil || en.Title != orig.Title+"（新）" || !strings.HasSuffix(en.Answer.Short, "（新）") || en.Examples[0] != "新的例句 咋办" || en.Keywords[len(en.Keywords)-1] != "新词" ||
			en.Answer.Phone != "'0478-555-0999'" || en.Answer.TimeLimit != "" || !strings.HasSuffix(string(en.Answer.Where), "新地点: 二楼") ||
			len(en.Answer.Steps) != 2 || en.Answer.Materials[0] != "身份证" || en.Answer.Hours != "每天 9:00-17:00" {
			t.Errorf("%s, all changed: loaded as %+v", name, en)
		}
	}
	if entries < 50 {
		t.Fatalf("%d sample entries", entries)
	}
}
