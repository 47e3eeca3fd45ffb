package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// The entry form of the guide editor: one entries/<id>.yaml as the fields a manager edits (title,
// short answer, summary, examples, keywords, the answer's sections), and changes of those fields
// made in the text itself: a value is replaced where it stands (a list as a whole), a field the
// entry lacks is added after the one before it, an optional field emptied is taken out. The rest
// of the file — comments, layout, quoting — stays as written, and the change is checked: the text
// must read back with the new values and everything else as it was.

// entryForm is an entry as the form shows it.
type entryForm struct {
	ID       string        `json:"id"`
	Kind     string        `json:"kind"`
	Category string        `json:"category"`
	Title    string        `json:"title"`
	Short    string        `json:"short"`
	Summary  string        `json:"summary"`
	Examples []string      `json:"examples"`
	Keywords []string      `json:"keywords"`
	Sections entrySections `json:"sections"`
}

// entrySections are the answer's other fields (docs/guide-format.md): lists, and strings.
type entrySections struct {
	Conditions []string `json:"conditions"`
	Materials  []string `json:"materials"`
	Where      []string `json:"where"`
	Steps      []string `json:"steps"`
	Hours      string   `json:"hours"`
	Phone      string   `json:"phone"`
	TimeLimit  string   `json:"time_limit"`
}

// entryField is a field the form sets: its name in the request, where it stands in the YAML, its
// shape, and whether the guide requires it (then it cannot be emptied).
type entryField struct {
	name     string // "title", "short", "sections.hours"…
	answer   bool   // under answer:, else at the top
	key      string
	list     bool
	required bool
	text     bool // a Text of the loader: a string or a list of strings in the file
}

var entryFields = []entryField{
	{name: "title", key: "title", required: true},
	{name: "short", answer: true, key: "short", required: true},
	{name: "summary", answer: true, key: "summary", required: true},
	{name: "examples", key: "examples", list: true, required: true},
	{name: "keywords", key: "keywords", list: true, required: true},
	{name: "sections.conditions", answer: true, key: "conditions", list: true},
	{name: "sections.materials", answer: true, key: "materials", list: true},
	{name: "sections.where", answer: true, key: "where", list: true, text: true},
	{name: "sections.hours", answer: true, key: "hours", text: true},
	{name: "sections.phone", answer: true, key: "phone", text: true},
	{name: "sections.steps", answer: true, key: "steps", list: true},
	{name: "sections.time_limit", answer: true, key: "time_limit", text: true},
}

// The order of an entry's keys (docs/guide-format.md): a key added goes after the one before it.
var (
	entryTopOrder    = []string{"id", "kind", "category", "title", "keywords", "examples", "answer", "ticket_fields", "emergency"}
	entryAnswerOrder = []string{"short", "summary", "conditions", "materials", "where", "hours", "phone", "steps", "time_limit"}
)

// entryChange is one field's new value: a string, or a list of strings.
type entryChange struct {
	field entryField
	str   string
	list  []string
}

// fieldError is a change refused, naming its field.
type fieldError struct {
	field string
	msg   string
}

func (e *fieldError) Error() string { return e.field + ": " + e.msg }

// POST /api/v1/guide/entry {yaml, set}: the fields of an entry's text after the changes of set,
// and its text.
func (s *Server) guideEntry(w http.ResponseWriter, r *http.Request) {
	var req struct {
		YAML *string         `json:"yaml"`
		Set  json.RawMessage `json:"set"`
	}
	if !decodeJSONLimit(w, r, &req, MaxGuideBodyBytes) {
		return
	}
	if req.YAML == nil {
		writeError(w, http.StatusBadRequest, "missing_field", `missing field "yaml": the text of entries/<id>.yaml`)
		return
	}
	text := []byte(*req.YAML)
	if _, err := readEntry(text); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_guide", "not a guide entry: "+err.Error())
		return
	}
	var set map[string]json.RawMessage
	if len(req.Set) > 0 && json.Unmarshal(req.Set, &set) != nil {
		writeError(w, http.StatusBadRequest, "invalid_change", "set: want an object of the fields to change")
		return
	}
	changes, err := entryChanges(set)
	if err == nil {
		text, err = setEntry(text, changes)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_change", err.Error())
		return
	}
	form, err := readEntry(text)
	if err != nil { // setEntry read it back: not reached
		s.internal(w, "guide: entry form", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"yaml": string(text), "entry": form})
}

// entryChanges decodes set: each field the form sets, of its type, in the order of entryFields.
func entryChanges(set map[string]json.RawMessage) ([]entryChange, error) {
	given := map[string]json.RawMessage{}
	for k, v := range set {
		if k != "sections" {
			given[k] = v
			continue
		}
		var sections map[string]json.RawMessage
		if err := json.Unmarshal(v, &sections); err != nil || sections == nil {
			return nil, &fieldError{"sections", "want an object of the answer's sections"}
		}
		for sk, sv := range sections {
			given["sections."+sk] = sv
		}
	}
	var changes []entryChange
	for _, f := range entryFields {
		raw, ok := given[f.name]
		if !ok {
			continue
		}
		delete(given, f.name)
		c := entryChange{field: f}
		if f.list {
			if err := json.Unmarshal(raw, &c.list); err != nil || c.list == nil {
				return nil, &fieldError{f.name, "want a list of strings"}
			}
			for i, item := range c.list {
				if strings.TrimSpace(item) == "" {
					return nil, &fieldError{f.name, fmt.Sprintf("item %d is empty", i+1)}
				}
			}
			if f.required && len(c.list) == 0 {
				return nil, &fieldError{f.name, "the guide requires it: it cannot be empty"}
			}
		} else {
			if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &c.str) != nil {
				return nil, &fieldError{f.name, "want a string"}
			}
			if f.required && strings.TrimSpace(c.str) == "" {
				return nil, &fieldError{f.name, "the guide requires it: it cannot be empty"}
			}
		}
		changes = append(changes, c)
	}
	if len(given) > 0 {
		unknown := make([]string, 0, len(given))
		for k := range given {
			unknown = append(unknown, k)
		}
		sort.Strings(unknown)
		names := make([]string, len(entryFields))
		for i, f := range entryFields {
			names[i] = f.name
		}
		return nil, &fieldError{unknown[0], "the form does not set it (it sets " + strings.Join(names, ", ") + "): edit it in the text"}
	}
	return changes, nil
}

// parseEntry returns an entry's top mapping and its answer mapping.
func parseEntry(text []byte) (root, answer *yaml.Node, err error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return nil, nil, err
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, nil, errors.New("want a mapping at the top (docs/guide-format.md)")
	}
	root = doc.Content[0]
	if v := valueOf(root, "id"); v == nil || v.Kind != yaml.ScalarNode || v.Value == "" {
		return nil, nil, errors.New("no id (docs/guide-format.md)")
	}
	if answer = valueOf(root, "answer"); answer == nil || answer.Kind != yaml.MappingNode {
		return nil, nil, errors.New("no answer mapping (docs/guide-format.md)")
	}
	return root, answer, nil
}

// readEntry reads the fields the form shows.
func readEntry(text []byte) (*entryForm, error) {
	root, answer, err := parseEntry(text)
	if err != nil {
		return nil, err
	}
	f := &entryForm{ID: scalar(root, "id"), Kind: scalar(root, "kind"), Category: scalar(root, "category")}
	for _, ef := range entryFields {
		m := root
		if ef.answer {
			m = answer
		}
		s, list, err := readField(m, ef)
		if err != nil {
			return nil, err
		}
		switch ef.name {
		case "title":
			f.Title = s
		case "short":
			f.Short = s
		case "summary":
			f.Summary = s
		case "examples":
			f.Examples = list
		case "keywords":
			f.Keywords = list
		case "sections.conditions":
			f.Sections.Conditions = list
		case "sections.materials":
			f.Sections.Materials = list
		case "sections.where":
			f.Sections.Where = list
		case "sections.steps":
			f.Sections.Steps = list
		case "sections.hours":
			f.Sections.Hours = s
		case "sections.phone":
			f.Sections.Phone = s
		case "sections.time_limit":
			f.Sections.TimeLimit = s
		}
	}
	return f, nil
}

// readField reads one field of mapping m: a string, or a list (never nil).
func readField(m *yaml.Node, f entryField) (string, []string, error) {
	list := []string{}
	v := valueOf(m, f.key)
	if v == nil || v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return "", list, nil
	}
	switch {
	case v.Kind == yaml.ScalarNode && (!f.list || f.text):
		if f.list {
			list = append(list, v.Value)
		}
		return v.Value, list, nil
	case v.Kind == yaml.SequenceNode && (f.list || f.text):
		for _, item := range v.Content {
			if item.Kind != yaml.ScalarNode {
				return "", nil, &fieldError{f.name, fmt.Sprintf("line %d: want a list of strings", item.Line)}
			}
			list = append(list, item.Value)
		}
		return strings.Join(list, "；"), list, nil // a Text written as lines: joined as the loader does
	}
	want := "a string"
	if f.list {
		want = "a list of strings"
	}
	return "", nil, &fieldError{f.name, fmt.Sprintf("line %d: want %s", v.Line, want)}
}

// setEntry makes the changes in the text, one by one, and checks the result: each field reads
// back as set, and the rest of the entry is as it was.
func setEntry(text []byte, changes []entryChange) ([]byte, error) {
	out := text
	for _, c := range changes {
		var err error
		if out, err = setEntryField(out, c); err != nil {
			return nil, &fieldError{c.field.name, err.Error()}
		}
	}
	form, err := readEntry(out)
	if err != nil {
		return nil, fmt.Errorf("the changes would break the file (%v): edit it in the text", err)
	}
	var before, after map[string]any
	if yaml.Unmarshal(text, &before) != nil || yaml.Unmarshal(out, &after) != nil {
		return nil, errors.New("the changes would break the file: edit it in the text")
	}
	for _, c := range changes {
		if !sameValue(form, c) {
			return nil, &fieldError{c.field.name, "the change did not take: edit it in the text"}
		}
		for _, m := range []map[string]any{before, after} {
			if c.field.answer {
				if a, ok := m["answer"].(map[string]any); ok {
					delete(a, c.field.key)
				}
			} else {
				delete(m, c.field.key)
			}
		}
	}
	if !reflect.DeepEqual(before, after) {
		return nil, errors.New("the changes would move other parts of the file: edit it in the text")
	}
	return out, nil
}

// sameValue reports whether the entry's field holds the change's value.
func sameValue(form *entryForm, c entryChange) bool {
	s, list := formValue(form, c.field.name)
	if c.field.list {
		return reflect.DeepEqual(list, c.list) || len(list) == 0 && len(c.list) == 0
	}
	return s == c.str
}

func formValue(f *entryForm, name string) (string, []string) {
	switch name {
	case "title":
		return f.Title, nil
	case "short":
		return f.Short, nil
	case "summary":
		return f.Summary, nil
	case "examples":
		return "", f.Examples
	case "keywords":
		return "", f.Keywords
	case "sections.conditions":
		return "", f.Sections.Conditions
	case "sections.materials":
		return "", f.Sections.Materials
	case "sections.where":
		return "", f.Sections.Where
	case "sections.steps":
		return "", f.Sections.Steps
	case "sections.hours":
		return f.Sections.Hours, nil
	case "sections.phone":
		return f.Sections.Phone, nil
	case "sections.time_limit":
		return f.Sections.TimeLimit, nil
	}
	return "", nil
}

// entryText is the text of an entry with byte offsets of its lines, for changes in place.
type entryText struct {
	b     []byte
	start []int // byte offset of each line's start
	nl    string
}

func newEntryText(b []byte) *entryText {
	t := &entryText{b: b, start: []int{0}, nl: "\n"}
	for i, c := range b {
		if c == '\n' {
			t.start = append(t.start, i+1)
		}
	}
	if bytes.Contains(b, []byte("\r\n")) {
		t.nl = "\r\n"
	}
	return t
}

// line is line n (1-based) without its line break.
func (t *entryText) line(n int) string {
	if n < 1 || n > len(t.start) {
		return ""
	}
	end := len(t.b)
	if n < len(t.start) {
		end = t.start[n] - 1
	}
	return strings.TrimSuffix(string(t.b[t.start[n-1]:end]), "\r")
}

// lineEnd is the offset of the end of line n, before its line break.
func (t *entryText) lineEnd(n int) int { return t.start[n-1] + len(t.line(n)) }

// offset is the byte offset of line n, column col (1-based, in characters as yaml.v3 counts).
func (t *entryText) offset(n, col int) (int, error) {
	if n < 1 || n > len(t.start) {
		return 0, errors.New("a value out of the text")
	}
	runes := []rune(t.line(n))
	if col < 1 || col-1 > len(runes) {
		return 0, errors.New("a value out of its line")
	}
	return t.start[n-1] + len(string(runes[:col-1])), nil
}

// lineOfOffset is the line (1-based) holding offset off.
func (t *entryText) lineOfOffset(off int) int {
	n := 1
	for n < len(t.start) && t.start[n] <= off {
		n++
	}
	return n
}

// afterColon is the offset just after the ':' that follows key k.
func (t *entryText) afterColon(k *yaml.Node) (int, error) {
	off, err := t.offset(k.Line, k.Column)
	if err != nil {
		return 0, err
	}
	switch k.Style {
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		if off, err = t.quotedEnd(off); err != nil {
			return 0, err
		}
	default:
		off += len(k.Value)
	}
	for off < len(t.b) && (t.b[off] == ' ' || t.b[off] == '\t') {
		off++
	}
	if off >= len(t.b) || t.b[off] != ':' {
		return 0, errors.New("a key not followed by ':': edit it in the text")
	}
	return off + 1, nil
}

// quotedEnd is the offset after the quoted scalar that starts at off.
func (t *entryText) quotedEnd(off int) (int, error) {
	q := t.b[off]
	for i := off + 1; i < len(t.b); i++ {
		switch {
		case q == '"' && t.b[i] == '\\':
			i++
		case t.b[i] == q && q == '\'' && i+1 < len(t.b) && t.b[i+1] == '\'':
			i++
		case t.b[i] == q:
			return i + 1, nil
		}
	}
	return 0, errors.New("a quoted value without its end")
}

// flowEnd is the offset after the flow collection that starts at off.
func (t *entryText) flowEnd(off int) (int, error) {
	depth := 0
	for i := off; i < len(t.b); i++ {
		switch c := t.b[i]; {
		case c == '"' || c == '\'':
			if i == off || strings.ContainsRune("[{, \t\n:", rune(t.b[i-1])) {
				end, err := t.quotedEnd(i)
				if err != nil {
					return 0, err
				}
				i = end - 1
			}
		case c == '#' && i > off && (t.b[i-1] == ' ' || t.b[i-1] == '\t'):
			for i < len(t.b) && t.b[i] != '\n' {
				i++
			}
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
			if depth == 0 {
				return i + 1, nil
			}
		}
	}
	return 0, errors.New("a list without its end")
}

// blockEnd is the offset of the end of the last line of the block value of key k: the lines after
// k's that are indented more than it (or, for a sequence, items at its indent), comments and blank
// lines at the end left out. It is -1 when there are none.
func (t *entryText) blockEnd(k *yaml.Node, seq bool) int {
	ck := k.Column - 1
	last := -1
	for n := k.Line + 1; n <= len(t.start); n++ {
		l := t.line(n)
		rest := strings.TrimLeft(l, " ")
		if rest == "" || strings.HasPrefix(rest, "#") || strings.TrimSpace(rest) == "" {
			continue
		}
		indent := len(l) - len(rest)
		if indent > ck || seq && indent == ck && (rest == "-" || strings.HasPrefix(rest, "- ")) {
			last = n
			continue
		}
		break
	}
	if last < 0 {
		return -1
	}
	return t.lineEnd(last)
}

// valueRange is where the value v of key k stands in the text: [start, end). A null value is the
// empty range just after the colon.
func (t *entryText) valueRange(k, v *yaml.Node) (int, int, error) {
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" && v.Value == "" {
		off, err := t.afterColon(k)
		return off, off, err
	}
	if v.Anchor != "" || v.Kind == yaml.AliasNode || v.Tag != "" && v.Style&yaml.TaggedStyle != 0 {
		return 0, 0, errors.New("a value with an anchor, alias or tag: edit it in the text")
	}
	start, err := t.offset(v.Line, v.Column)
	if err != nil {
		return 0, 0, err
	}
	var end int
	switch {
	case v.Kind == yaml.MappingNode && v.Style&yaml.FlowStyle == 0:
		return 0, 0, errors.New("a mapping: edit it in the text")
	case v.Style&yaml.FlowStyle != 0:
		end, err = t.flowEnd(start)
	case v.Kind == yaml.SequenceNode:
		if end = t.blockEnd(k, true); end < 0 {
			err = errors.New("a list without items")
		}
	case v.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
		end, err = t.quotedEnd(start)
	case v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		if end = t.blockEnd(k, false); end < 0 {
			end = t.lineEnd(v.Line) // an empty block
		}
	default: // plain: on its line, up to a comment; else over the lines below
		line := t.line(v.Line)
		lineStart := t.start[v.Line-1]
		rest := line[start-lineStart:]
		if i := strings.Index(rest, " #"); i >= 0 {
			rest = rest[:i]
		}
		rest = strings.TrimRight(rest, " \t")
		if rest == v.Value {
			return start, start + len(rest), nil
		}
		if end = t.blockEnd(k, false); end < 0 {
			return 0, 0, errors.New("a value that cannot be found in its line: edit it in the text")
		}
		n := t.lineOfOffset(end)
		last := t.line(n)
		if i := strings.Index(last, " #"); i >= 0 {
			last = last[:i]
		}
		end = t.start[n-1] + len(strings.TrimRight(last, " \t"))
	}
	if err != nil {
		return 0, 0, err
	}
	return start, end, nil
}

// setEntryField makes one change in the text.
func setEntryField(b []byte, c entryChange) ([]byte, error) {
	root, answer, err := parseEntry(b)
	if err != nil {
		return nil, err
	}
	f := c.field
	m, order := root, entryTopOrder
	if f.answer {
		m, order = answer, entryAnswerOrder
	}
	if m.Style&yaml.FlowStyle != 0 {
		return nil, errors.New("in a mapping written on one line ({…}): edit it in the text")
	}
	cur, curList, err := readField(m, f)
	if err != nil {
		return nil, err
	}
	if f.list && reflect.DeepEqual(curList, c.list) || !f.list && cur == c.str {
		return b, nil // as it is: the text stays byte for byte
	}
	t := newEntryText(b)
	empty := f.list && len(c.list) == 0 || !f.list && c.str == ""
	ki := -1
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == f.key {
			ki = i
		}
	}
	splice := func(start, end int, s string) []byte {
		out := make([]byte, 0, len(b)+len(s))
		out = append(out, b[:start]...)
		out = append(out, s...)
		return append(out, b[end:]...)
	}
	if ki < 0 { // a key the entry lacks: after the key before it in the format's order
		if empty {
			return b, nil
		}
		ai := -1
		for i := 0; i+1 < len(m.Content); i += 2 {
			if key := m.Content[i].Value; before(order, key, f.key) && (ai < 0 || before(order, m.Content[ai].Value, key)) {
				ai = i
			}
		}
		if ai < 0 { // none before it: after the last
			ai = len(m.Content) - 2
		}
		_, end, err := t.valueRange(m.Content[ai], m.Content[ai+1])
		if err != nil {
			return nil, err
		}
		at := t.lineEnd(t.lineOfOffset(end))
		indent := strings.Repeat(" ", m.Content[0].Column-1)
		return splice(at, at, t.nl+indent+f.key+":"+t.render(c, indent)), nil
	}
	k, v := m.Content[ki], m.Content[ki+1]
	start, end, err := t.valueRange(k, v)
	if err != nil {
		return nil, err
	}
	if empty { // an optional field emptied: the key taken out, with its lines
		ls := t.start[k.Line-1]
		if strings.TrimSpace(string([]rune(t.line(k.Line))[:k.Column-1])) != "" {
			return nil, errors.New("cannot take it out here: edit it in the text")
		}
		n := t.lineOfOffset(end)
		e := len(b)
		if n < len(t.start) {
			e = t.start[n]
		}
		return splice(ls, e, ""), nil
	}
	indent := strings.Repeat(" ", k.Column-1)
	switch {
	case !f.list || f.text && len(c.list) == 1 && v.Kind == yaml.ScalarNode && v.Tag != "!!null":
		// A string: where the value stands when it is one line, else after the colon.
		s := c.str
		if f.list {
			s = c.list[0]
		}
		if v.Kind == yaml.ScalarNode && v.Tag != "!!null" && v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) == 0 && t.lineOfOffset(end) == v.Line {
			return splice(start, end, renderScalar(s, v.Style, "k: %s")), nil
		}
		colon, err := t.afterColon(k)
		if err != nil {
			return nil, err
		}
		return splice(colon, end, " "+renderScalar(s, 0, "k: %s")), nil
	case v.Kind == yaml.SequenceNode && v.Style&yaml.FlowStyle != 0:
		return splice(start, end, renderFlow(c.list, itemStyle(v))), nil
	case v.Kind == yaml.SequenceNode:
		return splice(start, end, renderItems(c.list, itemStyle(v), strings.Repeat(" ", v.Column-1), t.nl)[len(t.nl)+v.Column-1:]), nil
	default: // a string or nothing becomes a list
		colon, err := t.afterColon(k)
		if err != nil {
			return nil, err
		}
		return splice(colon, end, t.render(c, indent)), nil
	}
}

// render is a new value after "key:": " value", " [a, b]", or the items on the lines below.
// A new list is written as the sample guide writes it: keywords on one line, the others as items.
func (t *entryText) render(c entryChange, indent string) string {
	if !c.field.list {
		return " " + renderScalar(c.str, 0, "k: %s")
	}
	if c.field.key == "keywords" {
		return " " + renderFlow(c.list, 0)
	}
	return renderItems(c.list, 0, indent+"  ", t.nl)
}

// before reports whether key a comes before key b in the format's order (unknown keys last).
func before(order []string, a, b string) bool {
	ia, ib := len(order), len(order)
	for i, k := range order {
		if k == a {
			ia = i
		}
		if k == b {
			ib = i
		}
	}
	return ia < ib
}

// itemStyle is the quoting of a list's first item, which new items follow.
func itemStyle(v *yaml.Node) yaml.Style {
	if len(v.Content) > 0 {
		return v.Content[0].Style & (yaml.DoubleQuotedStyle | yaml.SingleQuotedStyle)
	}
	return 0
}

func renderFlow(items []string, style yaml.Style) string {
	parts := make([]string, len(items))
	for i, s := range items {
		parts[i] = renderScalar(s, style, "k: [%s]")
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// renderItems is a block list's lines, each after a line break.
func renderItems(items []string, style yaml.Style, indent, nl string) string {
	var sb strings.Builder
	for _, s := range items {
		sb.WriteString(nl + indent + "- " + renderScalar(s, style, "- %s"))
	}
	return sb.String()
}

// renderScalar writes s as one line of YAML in the style given where it reads back as s in
// context (a format with %s: a mapping's value, a flow list's item, a block list's item), else
// double-quoted.
func renderScalar(s string, style yaml.Style, context string) string {
	var tries []string
	switch {
	case style&yaml.DoubleQuotedStyle != 0:
	case style&yaml.SingleQuotedStyle != 0:
		tries = append(tries, "'"+strings.ReplaceAll(s, "'", "''")+"'")
	default:
		tries = append(tries, s)
	}
	for _, try := range tries {
		if !strings.ContainsAny(try, "\r\n") && readsBack(fmt.Sprintf(context, try), s) {
			return try
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a JSON string is a YAML double-quoted scalar
	return strings.TrimSuffix(buf.String(), "\n")
}

// readsBack reports whether doc's only value is the string s.
func readsBack(doc, s string) bool {
	var n yaml.Node
	if yaml.Unmarshal([]byte(doc), &n) != nil || len(n.Content) != 1 {
		return false
	}
	v := n.Content[0]
	for v.Kind == yaml.MappingNode || v.Kind == yaml.SequenceNode {
		if v.Kind == yaml.MappingNode && len(v.Content) != 2 || v.Kind == yaml.SequenceNode && len(v.Content) != 1 {
			return false
		}
		v = v.Content[len(v.Content)-1]
	}
	return v.Kind == yaml.ScalarNode && v.Tag == "!!str" && v.Value == s
}
