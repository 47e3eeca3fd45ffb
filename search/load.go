package search

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/bayannur/hotline/search/zh"
)

// Problem is one thing wrong with a guide, reported as file:line: reason.
type Problem struct {
	File   string
	Line   int
	Reason string
}

func (p Problem) String() string { return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Reason) }

// Problems is a list of problems; as an error it reads as one per line.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Spec is the fixed list of topics and ticket categories every guide must agree with.
type Spec struct {
	Topics     map[string]SpecTopic
	TopicOrder []string
	Categories map[string]string // code → Chinese name
}

// SpecTopic is one row of topics.tsv.
type SpecTopic struct {
	ID, Kind, Category, Title string
}

// LoadSpec reads topics.tsv and categories.tsv from fsys.
func LoadSpec(fsys fs.FS) (*Spec, error) {
	s := &Spec{Topics: map[string]SpecTopic{}, Categories: map[string]string{}}
	err := readTSV(fsys, "categories.tsv", func(cols []string) error {
		if len(cols) < 2 {
			return errors.New("want code and name_zh")
		}
		s.Categories[cols[0]] = cols[1]
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = readTSV(fsys, "topics.tsv", func(cols []string) error {
		if len(cols) < 4 {
			return errors.New("want id, kind, category and title_zh")
		}
		t := SpecTopic{ID: cols[0], Kind: cols[1], Category: cols[2], Title: cols[3]}
		s.Topics[t.ID] = t
		s.TopicOrder = append(s.TopicOrder, t.ID)
		return nil
	})
	return s, err
}

func readTSV(fsys fs.FS, name string, row func([]string) error) error {
	f, err := fsys.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if n == 1 || strings.TrimSpace(sc.Text()) == "" {
			continue // header
		}
		if err := row(strings.Split(sc.Text(), "\t")); err != nil {
			return fmt.Errorf("%s:%d: %w", name, n, err)
		}
	}
	return sc.Err()
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// Load reads a guide directory. It returns the guide and every problem found; a guide with
// problems should not be served.
func Load(fsys fs.FS, spec *Spec) (*Guide, Problems) {
	l := &loader{fsys: fsys, spec: spec, g: &Guide{}}
	l.entries()
	l.contacts()
	l.synonyms()
	l.intents()
	l.training()
	l.patterns()
	l.calibration()
	l.g.index()
	sort.SliceStable(l.problems, func(i, j int) bool {
		a, b := l.problems[i], l.problems[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	return l.g, l.problems
}

type loader struct {
	fsys     fs.FS
	spec     *Spec
	g        *Guide
	problems Problems
}

func (l *loader) add(file string, line int, format string, args ...any) {
	l.problems = append(l.problems, Problem{File: file, Line: line, Reason: fmt.Sprintf(format, args...)})
}

// parse reads a YAML file into its root mapping node.
func (l *loader) parse(name string) *yaml.Node {
	b, err := fs.ReadFile(l.fsys, name)
	if err != nil {
		l.add(name, 0, "cannot read: %v", err)
		return nil
	}
	if line, what := badText(b); line > 0 {
		l.add(name, line, "%s", what)
		return nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		line := 0
		fmt.Sscanf(err.Error(), "yaml: line %d:", &line)
		l.add(name, line, "invalid YAML: %v", err)
		return nil
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		l.add(name, 1, "want a mapping at the top")
		return nil
	}
	return doc.Content[0]
}

// badText finds the first line of b that is not valid UTF-8 or holds a control character, which
// the YAML parser would report without a line.
func badText(b []byte) (int, string) {
	for n, line := range bytes.Split(b, []byte("\n")) {
		if !utf8.Valid(line) {
			return n + 1, "invalid UTF-8"
		}
		for _, r := range string(line) {
			if r < 0x20 && r != '\t' && r != '\r' || r == 0x7f {
				return n + 1, fmt.Sprintf("control character %U", r)
			}
		}
	}
	return 0, ""
}

// decode decodes node into v, reporting a type error at the node's line.
func (l *loader) decode(name string, node *yaml.Node, v any) bool {
	if err := node.Decode(v); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, msg := range te.Errors {
				line := node.Line
				if _, err := fmt.Sscanf(msg, "line %d:", &line); err == nil {
					msg = strings.TrimSpace(msg[strings.Index(msg, ":")+1:])
				}
				l.add(name, line, "%s", msg)
			}
			return false
		}
		l.add(name, node.Line, "%v", err)
		return false
	}
	return true
}

// field returns the value node of key in a mapping node, or nil.
func field(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// lineOf returns the line of key in m, or m's own line when the key is absent.
func lineOf(m *yaml.Node, key string) int {
	if m == nil {
		return 0
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i].Line
		}
	}
	return m.Line
}

func items(seq *yaml.Node) []*yaml.Node {
	if seq == nil || seq.Kind != yaml.SequenceNode {
		return nil
	}
	return seq.Content
}

var ticketFields = map[string]bool{"address": true, "description": true, "phone": true, "time": true, "name": true}

func (l *loader) entries() {
	names, err := fs.Glob(l.fsys, "entries/*.yaml")
	if err != nil || len(names) == 0 {
		l.add("entries", 0, "no entries/*.yaml files")
		return
	}
	seen := map[string]string{}
	for _, name := range names {
		root := l.parse(name)
		if root == nil {
			continue
		}
		var e Entry
		if !l.decode(name, root, &e) {
			continue
		}
		e.File, e.Line = name, root.Line
		at := func(key string) int { return lineOf(root, key) }
		switch {
		case e.ID == "":
			l.add(name, at("id"), "missing id")
		case !idPattern.MatchString(e.ID):
			l.add(name, at("id"), "id %q: use lowercase letters, digits and '-'", e.ID)
		case seen[e.ID] != "":
			l.add(name, at("id"), "duplicate id %q (also in %s)", e.ID, seen[e.ID])
		default:
			seen[e.ID] = name
			if _, ok := l.spec.Topics[e.ID]; !ok {
				l.add(name, at("id"), "unknown topic id %q (not in spec/topics.tsv)", e.ID)
			}
			if want := strings.TrimSuffix(path.Base(name), ".yaml"); want != e.ID {
				l.add(name, at("id"), "id %q does not match the file name %q", e.ID, want)
			}
		}
		switch e.Kind {
		case KindProcedure, KindReport, KindEmergency:
		case "":
			l.add(name, at("kind"), "missing kind")
		default:
			l.add(name, at("kind"), "unknown kind %q (want procedure, report or emergency)", e.Kind)
		}
		if _, ok := l.spec.Categories[e.Category]; !ok {
			l.add(name, at("category"), "unknown category %q", e.Category)
		}
		if st, ok := l.spec.Topics[e.ID]; ok {
			if e.Kind != st.Kind {
				l.add(name, at("kind"), "topic %s is a %s in spec/topics.tsv, not %s", e.ID, st.Kind, e.Kind)
			}
			if e.Category != st.Category {
				l.add(name, at("category"), "topic %s has category %s in spec/topics.tsv, not %s", e.ID, st.Category, e.Category)
			}
		}
		if strings.TrimSpace(e.Title) == "" {
			l.add(name, at("title"), "missing title")
		}
		if len(e.Keywords) == 0 {
			l.add(name, at("keywords"), "no keywords")
		}
		if len(e.Examples) < 5 {
			l.add(name, at("examples"), "%d example questions, want at least 5", len(e.Examples))
		}
		if strings.TrimSpace(e.Answer.Summary) == "" {
			l.add(name, at("answer"), "missing answer (answer.summary)")
		}
		l.short(name, root, &e)
		switch e.Kind {
		case KindReport:
			if len(e.TicketFields) == 0 {
				l.add(name, at("ticket_fields"), "a report entry needs ticket_fields")
			}
			for _, f := range e.TicketFields {
				if !ticketFields[f] {
					l.add(name, at("ticket_fields"), "unknown ticket field %q", f)
				}
			}
		case KindEmergency:
			if e.Emergency == nil || len(e.Emergency.Numbers) == 0 || len(e.Emergency.DoNow) == 0 {
				l.add(name, at("emergency"), "an emergency entry needs emergency.numbers and emergency.do_now")
			}
		}
		l.g.Entries = append(l.g.Entries, e)
	}
	sort.Slice(l.g.Entries, func(i, j int) bool { return l.g.Entries[i].ID < l.g.Entries[j].ID })
}

// ShortMax is the most characters (runes) an answer.short may have: a phone's chat bubble.
const ShortMax = 150

// short checks an entry's answer.short: present, at most ShortMax characters, and for an
// emergency, starting with a number to call and giving every one of its numbers.
func (l *loader) short(name string, root *yaml.Node, e *Entry) {
	line := lineOf(root, "answer") // without a short key, the answer's line
	if answer := field(root, "answer"); field(answer, "short") != nil {
		line = lineOf(answer, "short")
	}
	short := strings.TrimSpace(e.Answer.Short)
	if short == "" {
		l.add(name, line, "missing short answer (answer.short, at most %d characters)", ShortMax)
		return
	}
	if n := utf8.RuneCountInString(short); n > ShortMax {
		l.add(name, line, "answer.short is %d characters, want at most %d", n, ShortMax)
	}
	if e.Kind != KindEmergency || e.Emergency == nil || len(e.Emergency.Numbers) == 0 {
		return
	}
	starts := false
	var numbers []string
	for _, n := range e.Emergency.Numbers {
		numbers = append(numbers, n.Number)
		starts = starts || n.Number != "" && strings.HasPrefix(short, n.Number)
	}
	if !starts {
		l.add(name, line, "an emergency's answer.short must start with the number to call (%s)", strings.Join(numbers, " or "))
	}
	for _, n := range e.Emergency.Numbers {
		if n.Number != "" && !strings.Contains(short, n.Number) {
			l.add(name, line, "answer.short does not give the number %s (%s)", n.Number, n.Name)
		}
	}
}

func (l *loader) contacts() {
	const name = "contacts.yaml"
	root := l.parse(name)
	if root == nil {
		return
	}
	ids := map[string]int{}
	claim := func(id string, line int, what string) {
		switch {
		case id == "":
			l.add(name, line, "%s without an id", what)
		case !idPattern.MatchString(id):
			l.add(name, line, "%s id %q: use lowercase letters, digits and '-'", what, id)
		case ids[id] != 0:
			l.add(name, line, "duplicate id %q (first at line %d)", id, ids[id])
		default:
			ids[id] = line
		}
	}
	if rn := field(root, "regions"); rn != nil {
		l.decode(name, rn, &l.g.Regions)
	}
	towns := items(field(root, "towns"))
	if len(towns) == 0 {
		l.add(name, lineOf(root, "towns"), "no towns")
	}
	for _, tn := range towns {
		var t Town
		if !l.decode(name, tn, &t) {
			continue
		}
		t.Line = tn.Line
		claim(t.ID, tn.Line, "town")
		if t.Name == "" {
			l.add(name, tn.Line, "town %s has no name", t.ID)
		}
		cnodes := items(field(tn, "communities"))
		if len(cnodes) == 0 {
			l.add(name, lineOf(tn, "communities"), "town %s has no communities", t.ID)
		}
		for ci, cn := range cnodes {
			c := &t.Communities[ci]
			c.Line = cn.Line
			l.community(name, c, cn, claim)
		}
		l.g.Towns = append(l.g.Towns, t)
	}
}

func (l *loader) community(name string, c *Community, cn *yaml.Node, claim func(string, int, string)) {
	claim(c.ID, cn.Line, "community")
	if c.Name == "" {
		l.add(name, cn.Line, "community %s has no name", c.ID)
	}
	if c.Phone == "" {
		l.add(name, cn.Line, "community %s has no phone", c.ID)
	}
	gnodes := items(field(cn, "grids"))
	tiers := map[string]string{}
	for gi, gn := range gnodes {
		g := &c.Grids[gi]
		g.Line = gn.Line
		claim(g.ID, gn.Line, "grid")
		tiers[g.ID] = g.Tier
	}
	totals, people := 0, 0
	for gi, g := range c.Grids {
		gn := gnodes[gi]
		people += len(g.People)
		switch g.Tier {
		case TierTotal:
			totals++
			if g.Parent != "" {
				l.add(name, lineOf(gn, "parent"), "grid %s is a 总网格 and cannot have a parent", g.ID)
			}
		case TierBasic, TierMicro:
			want := map[string]string{TierBasic: TierTotal, TierMicro: TierBasic}[g.Tier]
			pt, ok := tiers[g.Parent]
			switch {
			case g.Parent == "":
				l.add(name, g.Line, "grid %s (%s) needs a parent %s", g.ID, g.Tier, want)
			case !ok:
				l.add(name, lineOf(gn, "parent"), "grid %s: parent %q points nowhere in community %s", g.ID, g.Parent, c.ID)
			case pt != want:
				l.add(name, lineOf(gn, "parent"), "grid %s (%s): parent %s is a %s, want a %s", g.ID, g.Tier, g.Parent, pt, want)
			}
		default:
			l.add(name, lineOf(gn, "tier"), "grid %s: unknown tier %q (want 总网格, 基础网格 or 微网格)", g.ID, g.Tier)
		}
		pnodes := items(field(gn, "people"))
		for pi, p := range g.People {
			line := pnodes[pi].Line
			switch p.Role {
			case "社区书记", "网格长", "网格员", "楼栋长":
			default:
				l.add(name, line, "grid %s: %s has unknown role %q", g.ID, p.Name, p.Role)
			}
			if p.Name == "" || p.Phone == "" {
				l.add(name, line, "grid %s: a person needs a name and a phone", g.ID)
			}
		}
	}
	if totals != 1 {
		l.add(name, cn.Line, "community %s has %d 总网格, want exactly one", c.ID, totals)
	}
	if people == 0 {
		l.add(name, cn.Line, "community %s has nobody to contact", c.ID)
	}
	for ci, cpn := range items(field(cn, "compounds")) {
		cp := &c.Compounds[ci]
		cp.Line = cpn.Line
		if cp.Name == "" {
			l.add(name, cpn.Line, "compound without a name in community %s", c.ID)
		}
		if _, ok := tiers[cp.Grid]; !ok {
			l.add(name, lineOf(cpn, "grid"), "compound %s: grid %q points nowhere in community %s", cp.Name, cp.Grid, c.ID)
		}
	}
}

func (l *loader) synonyms() {
	const name = "synonyms.yaml"
	root := l.parse(name)
	if root == nil {
		return
	}
	seen := map[string]int{}
	for _, gn := range items(field(root, "groups")) {
		var grp []string
		if !l.decode(name, gn, &grp) {
			continue
		}
		if len(grp) < 2 {
			l.add(name, gn.Line, "a synonym group needs at least two words")
			continue
		}
		for _, w := range grp {
			if first, dup := seen[w]; dup {
				l.add(name, gn.Line, "%q is already in the group at line %d", w, first)
			}
			seen[w] = gn.Line
		}
		l.g.Synonyms = append(l.g.Synonyms, grp)
	}
}

// Labels the bot knows besides topic ids: what residents want of the service itself, none (out of
// scope) and clarify (too vague to act on: the bot asks).
var intentLabels = map[string]bool{"contact": true, "status": true, "handoff": true, "smalltalk": true, "none": true, "clarify": true}

// parseOptional parses a file the guide may leave out: nil when it is absent or has a problem.
func (l *loader) parseOptional(name string) *yaml.Node {
	if _, err := fs.Stat(l.fsys, name); err != nil {
		return nil
	}
	return l.parse(name)
}

func (l *loader) intents() {
	const name = "intents.yaml"
	root := l.parseOptional(name)
	if root == nil {
		return
	}
	seen := map[string]bool{}
	for _, n := range items(field(root, "intents")) {
		var in Intent
		if !l.decode(name, n, &in) {
			continue
		}
		in.Line = n.Line
		if in.Label == "" {
			in.Label = in.ID
		}
		switch {
		case !idPattern.MatchString(in.ID):
			l.add(name, n.Line, "intent id %q: use lowercase letters, digits and '-'", in.ID)
		case seen[in.ID]:
			l.add(name, n.Line, "duplicate intent id %q", in.ID)
		case !intentLabels[in.Label]:
			l.add(name, n.Line, "intent %s: label %q is not one of contact, status, handoff, smalltalk, none, clarify", in.ID, in.Label)
		case len(in.Examples) < 6:
			l.add(name, n.Line, "intent %s: %d examples, want at least 6", in.ID, len(in.Examples))
		case in.Answer != "" && in.Label != "smalltalk":
			l.add(name, n.Line, "intent %s: an answer is for smalltalk intents only (its label is %s; the bot has its own words for the others)", in.ID, in.Label)
		case in.Answer != "" && len(in.Keywords) == 0:
			l.add(name, n.Line, "intent %s: an answer needs keywords, which choose it", in.ID)
		}
		seen[in.ID] = true
		l.g.Intents = append(l.g.Intents, in)
	}
}

// training reads the labelled sets of training/*.jsonl: one {"q": …, "label": …} a line.
func (l *loader) training() {
	names, _ := fs.Glob(l.fsys, "training/*.jsonl")
	for _, name := range names {
		b, err := fs.ReadFile(l.fsys, name)
		if err != nil {
			l.add(name, 0, "cannot read: %v", err)
			continue
		}
		if line, what := badText(b); line > 0 {
			l.add(name, line, "%s", what)
			continue
		}
		for i, line := range strings.Split(string(b), "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			var it Labelled
			if err := json.Unmarshal([]byte(line), &it); err != nil {
				l.add(name, i+1, "invalid JSON: %v", err)
				continue
			}
			switch {
			case strings.TrimSpace(it.Q) == "":
				l.add(name, i+1, "empty q")
				continue
			case it.Label == "":
				l.add(name, i+1, "no label")
				continue
			case !intentLabels[it.Label]:
				if _, ok := l.spec.Topics[it.Label]; !ok {
					l.add(name, i+1, "unknown label %q (a topic id, or contact, status, handoff, smalltalk, none, clarify)", it.Label)
					continue
				}
			}
			it.File, it.Line = name, i+1
			l.g.Training = append(l.g.Training, it)
		}
	}
}

// patterns reads patterns.yaml and checks each pattern against its examples (folded as the bot
// folds residents' text).
func (l *loader) patterns() {
	const name = "patterns.yaml"
	root := l.parseOptional(name)
	if root == nil {
		return
	}
	seen := map[string]bool{}
	for _, n := range items(field(root, "patterns")) {
		var p Pattern
		if !l.decode(name, n, &p) {
			continue
		}
		p.Line = n.Line
		if !idPattern.MatchString(p.Name) || seen[p.Name] {
			l.add(name, n.Line, "pattern name %q: want a unique name of lowercase letters, digits and '-'", p.Name)
			continue
		}
		seen[p.Name] = true
		re, err := regexp.Compile(p.Expr)
		if err != nil {
			l.add(name, lineOf(n, "pattern"), "pattern %s: %v", p.Name, err)
			continue
		}
		if len(p.Match) == 0 || len(p.NoMatch) == 0 {
			l.add(name, n.Line, "pattern %s: needs examples it must match and must not match", p.Name)
		}
		for _, ex := range p.Match {
			if !re.MatchString(zh.Fold(ex)) {
				l.add(name, lineOf(n, "match"), "pattern %s does not match %q", p.Name, ex)
			}
		}
		for _, ex := range p.NoMatch {
			if re.MatchString(zh.Fold(ex)) {
				l.add(name, lineOf(n, "nomatch"), "pattern %s matches %q, which it must not", p.Name, ex)
			}
		}
		p.Re = re
		l.g.Patterns = append(l.g.Patterns, p)
	}
}

func (l *loader) calibration() {
	const name = "calibration.yaml"
	root := l.parseOptional(name)
	if root == nil {
		return
	}
	var c Calibration
	if !l.decode(name, root, &c) {
		return
	}
	switch {
	case c.Temperature <= 0:
		l.add(name, lineOf(root, "temperature"), "temperature must be above 0")
	case c.Answer <= 0 || c.Answer >= 1 || c.Emergency <= 0 || c.Emergency >= 1:
		l.add(name, root.Line, "answer and emergency are probabilities between 0 and 1")
	default:
		l.g.Calibration = &c
	}
}
