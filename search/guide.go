// Package search holds the guide residents are answered from — procedures (办事指南), problems to
// report, emergencies, and the contacts of towns, communities, grids and grid workers — and the
// Index interface the bot finds them through. The embedded implementation lives in search/bleve.
package search

import (
	"embed"
	"io/fs"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Entry kinds.
const (
	KindProcedure = "procedure"
	KindReport    = "report"
	KindEmergency = "emergency"
)

// Grid tiers, from the top.
const (
	TierTotal = "总网格"
	TierBasic = "基础网格"
	TierMicro = "微网格"
)

// Entry is one topic of the guide.
type Entry struct {
	ID           string     `yaml:"id" json:"id"`
	Kind         string     `yaml:"kind" json:"kind"`
	Category     string     `yaml:"category" json:"category"`
	Title        string     `yaml:"title" json:"title"`
	Keywords     []string   `yaml:"keywords" json:"keywords,omitempty"`
	Examples     []string   `yaml:"examples" json:"examples,omitempty"`
	Answer       Answer     `yaml:"answer" json:"answer"`
	TicketFields []string   `yaml:"ticket_fields" json:"ticket_fields,omitempty"`
	Emergency    *Emergency `yaml:"emergency" json:"emergency,omitempty"`

	File string `yaml:"-" json:"-"` // where it was read from
	Line int    `yaml:"-" json:"-"`
}

// Answer is what a resident is told about an entry.
type Answer struct {
	// Short is the first answer, at most ShortMax characters: the key point and where to go or
	// whom to call, to fit a phone's chat bubble. An emergency entry's starts with its numbers.
	Short      string   `yaml:"short" json:"short"`
	Summary    string   `yaml:"summary" json:"summary"`
	Conditions []string `yaml:"conditions" json:"conditions,omitempty"`
	Materials  []string `yaml:"materials" json:"materials,omitempty"`
	Where      Text     `yaml:"where" json:"where,omitempty"`
	Hours      Text     `yaml:"hours" json:"hours,omitempty"`
	Phone      Text     `yaml:"phone" json:"phone,omitempty"`
	Steps      []string `yaml:"steps" json:"steps,omitempty"`
	TimeLimit  Text     `yaml:"time_limit" json:"time_limit,omitempty"`
}

// Text is a string that a guide author may also write as a list of lines; the lines are joined
// with "；".
type Text string

// UnmarshalYAML accepts a scalar or a sequence of scalars.
func (t *Text) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.SequenceNode {
		var lines []string
		if err := n.Decode(&lines); err != nil {
			return err
		}
		*t = Text(strings.Join(lines, "；"))
		return nil
	}
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	*t = Text(s)
	return nil
}

// Emergency is what an emergency entry tells a resident at once.
type Emergency struct {
	Numbers []Number `yaml:"numbers" json:"numbers"`
	DoNow   []string `yaml:"do_now" json:"do_now"`
}

// Number is a phone number to call.
type Number struct {
	Name   string `yaml:"name" json:"name"`
	Number string `yaml:"number" json:"number"`
}

// Town is the top of the contact tree.
type Town struct {
	ID          string      `yaml:"id" json:"id"`
	Name        string      `yaml:"name" json:"name"`
	Aliases     []string    `yaml:"aliases" json:"aliases,omitempty"`
	Office      Office      `yaml:"office" json:"office"`
	Communities []Community `yaml:"communities" json:"communities,omitempty"`
	Line        int         `yaml:"-" json:"-"`
}

// Office is a place residents can visit or call.
type Office struct {
	Address string `yaml:"address" json:"address,omitempty"`
	Phone   string `yaml:"phone" json:"phone,omitempty"`
	Hours   string `yaml:"hours" json:"hours,omitempty"`
}

// Community is a 社区 with its office, the compounds it covers and its grids.
type Community struct {
	ID        string     `yaml:"id" json:"id"`
	Name      string     `yaml:"name" json:"name"`
	Aliases   []string   `yaml:"aliases" json:"aliases,omitempty"`
	Address   string     `yaml:"address" json:"address,omitempty"`
	Phone     string     `yaml:"phone" json:"phone,omitempty"`
	Hours     string     `yaml:"hours" json:"hours,omitempty"`
	Streets   []string   `yaml:"streets" json:"streets,omitempty"`
	Compounds []Compound `yaml:"compounds" json:"compounds,omitempty"`
	Grids     []Grid     `yaml:"grids" json:"grids,omitempty"`
	TownID    string     `yaml:"-" json:"town_id"`
	TownName  string     `yaml:"-" json:"town"`
	Line      int        `yaml:"-" json:"-"`
}

// Compound is a residential compound (小区) and the grid responsible for it.
type Compound struct {
	Name      string   `yaml:"name" json:"name"`
	Aliases   []string `yaml:"aliases" json:"aliases,omitempty"`
	Buildings []string `yaml:"buildings" json:"buildings,omitempty"`
	Grid      string   `yaml:"grid" json:"grid"`
	Line      int      `yaml:"-" json:"-"`
}

// Grid is a 网格 of one tier with its people.
type Grid struct {
	ID     string   `yaml:"id" json:"id"`
	Name   string   `yaml:"name" json:"name"`
	Tier   string   `yaml:"tier" json:"tier"`
	Parent string   `yaml:"parent" json:"parent,omitempty"`
	Covers []string `yaml:"covers" json:"covers,omitempty"`
	People []Person `yaml:"people" json:"people,omitempty"`
	Line   int      `yaml:"-" json:"-"`
}

// Person is someone residents may contact.
type Person struct {
	Name  string `yaml:"name" json:"name"`
	Role  string `yaml:"role" json:"role"`
	Phone string `yaml:"phone" json:"phone"`
	Hours string `yaml:"hours" json:"hours,omitempty"`
}

// Guide is a whole loaded guide.
type Guide struct {
	Entries []Entry
	Towns   []Town
	// Regions are the wider area's names (districts, banners, nearby cities) that residents say
	// while asking about anything: they locate no community (contacts.yaml, regions).
	Regions  []string
	Synonyms [][]string
	// Intents, Training and Patterns teach the bot's model (intents.yaml, training/*.jsonl,
	// patterns.yaml); each is optional, and a guide without them is learned from its entries'
	// examples and keywords alone.
	Intents  []Intent
	Training []Labelled
	Patterns []Pattern
	// Calibration is the model's calibration chosen by cross-validation (calibration.yaml,
	// written by `hotline eval --cv`); nil when the guide has none.
	Calibration *Calibration

	byID        map[string]*Entry
	communities map[string]*Community
	synIndex    map[string]int
}

// Entry returns the entry with that id.
func (g *Guide) Entry(id string) (*Entry, bool) {
	e, ok := g.byID[id]
	return e, ok
}

// Community returns the community with that id.
func (g *Guide) Community(id string) (*Community, bool) {
	c, ok := g.communities[id]
	return c, ok
}

// Communities lists every community, in guide order.
func (g *Guide) Communities() []*Community {
	var out []*Community
	for ti := range g.Towns {
		for ci := range g.Towns[ti].Communities {
			out = append(out, &g.Towns[ti].Communities[ci])
		}
	}
	return out
}

// SynonymsOf returns the synonym group containing w (w included), or nil.
func (g *Guide) SynonymsOf(w string) []string {
	if i, ok := g.synIndex[w]; ok {
		return g.Synonyms[i]
	}
	return nil
}

// Grid returns the grid with that id in the community.
func (c *Community) Grid(id string) (*Grid, bool) {
	for i := range c.Grids {
		if c.Grids[i].ID == id {
			return &c.Grids[i], true
		}
	}
	return nil, false
}

// GridFor returns the grid responsible for a compound (by name or alias), or the community's
// 总网格 when no compound matches.
func (c *Community) GridFor(place string) *Grid {
	for _, cp := range c.Compounds {
		for _, n := range append([]string{cp.Name}, cp.Aliases...) {
			if n != "" && strings.Contains(place, n) {
				if g, ok := c.Grid(cp.Grid); ok {
					return g
				}
			}
		}
	}
	return c.TopGrid()
}

// Locate returns the community a free-text place lies in: the one whose compound (by name or
// alias), own name or street appears in it. The longest name found decides, so "新华小区" beats
// the street "新华街"; a longest name two communities share locates nothing, and so do names of
// one character.
func (g *Guide) Locate(place string) (*Community, bool) {
	var best *Community
	bestLen, tie := 1, false
	consider := func(c *Community, names []string) {
		for _, n := range names {
			if n == "" || !strings.Contains(place, n) {
				continue
			}
			switch l := utf8.RuneCountInString(n); {
			case l > bestLen:
				best, bestLen, tie = c, l, false
			case l == bestLen && best != c:
				tie = true
			}
		}
	}
	for _, c := range g.Communities() {
		consider(c, append([]string{c.Name}, c.Aliases...))
		consider(c, c.Streets)
		for _, cp := range c.Compounds {
			consider(c, append([]string{cp.Name}, cp.Aliases...))
		}
	}
	if best == nil || tie {
		return nil, false
	}
	return best, true
}

// TopGrid returns the community's 总网格.
func (c *Community) TopGrid() *Grid {
	for i := range c.Grids {
		if c.Grids[i].Tier == TierTotal {
			return &c.Grids[i]
		}
	}
	if len(c.Grids) > 0 {
		return &c.Grids[0]
	}
	return nil
}

// Vocabulary lists the words the guide itself uses to name things: keywords and synonyms. The
// analyzer keeps them whole when segmenting and corrects typos towards them.
func (g *Guide) Vocabulary() []string {
	var v []string
	for _, e := range g.Entries {
		v = append(v, e.Keywords...)
	}
	for _, grp := range g.Synonyms {
		v = append(v, grp...)
	}
	sort.Strings(v)
	return v
}

// PlaceNames lists the names of towns, communities, streets and compounds, with their aliases. The
// analyzer keeps them whole, and corrects typos only towards the longer ones: 前进 and 新华 are
// everyday words too (翻墙进 is no typo of 前进).
func (g *Guide) PlaceNames() []string {
	var v []string
	for _, t := range g.Towns {
		v = append(v, t.Name)
		v = append(v, t.Aliases...)
		for _, c := range t.Communities {
			v = append(v, c.Name)
			v = append(v, c.Aliases...)
			v = append(v, c.Streets...)
			for _, cp := range c.Compounds {
				v = append(v, cp.Name)
				v = append(v, cp.Aliases...)
			}
		}
	}
	sort.Strings(v)
	return v
}

func (g *Guide) index() {
	g.byID = map[string]*Entry{}
	for i := range g.Entries {
		g.byID[g.Entries[i].ID] = &g.Entries[i]
	}
	g.communities = map[string]*Community{}
	for ti := range g.Towns {
		t := &g.Towns[ti]
		for ci := range t.Communities {
			c := &t.Communities[ci]
			c.TownID, c.TownName = t.ID, t.Name
			g.communities[c.ID] = c
		}
	}
	g.synIndex = map[string]int{}
	for i, grp := range g.Synonyms {
		for _, w := range grp {
			if _, dup := g.synIndex[w]; !dup {
				g.synIndex[w] = i
			}
		}
	}
}

//go:embed sample spec
var embedded embed.FS

// SampleGuide is the built-in sample guide for Bayannur.
func SampleGuide() fs.FS {
	sub, err := fs.Sub(embedded, "sample")
	if err != nil {
		panic(err) // the embed directive guarantees it
	}
	return sub
}

// SpecFS holds the copy of shared/spec the project builds against: topics.tsv and categories.tsv.
func SpecFS() fs.FS {
	sub, err := fs.Sub(embedded, "spec")
	if err != nil {
		panic(err)
	}
	return sub
}

// Intent is what a resident wants of the service itself rather than of a guide topic (contact,
// status, handoff, smalltalk) or something out of scope (label none). Its examples and keywords
// train the bot's model under its label.
type Intent struct {
	ID       string   `yaml:"id"`
	Label    string   `yaml:"label"` // the label its examples teach; the id when empty
	Title    string   `yaml:"title"`
	Keywords []string `yaml:"keywords"`
	Examples []string `yaml:"examples"`
	// Answer is what the bot says to a message read as smalltalk whose words are most this
	// intent's keywords (不客气 to a thanks, 再见 to a goodbye); smalltalk intents only. Without
	// one, the bot greets and offers its menu.
	Answer string `yaml:"answer"`
	Line   int    `yaml:"-"`
}

// Labelled is one labelled resident message: its label is a topic id or an intent's label.
type Labelled struct {
	Q     string `json:"q"`
	Label string `json:"label"`
	File  string `json:"-"`
	Line  int    `json:"-"`
}

// Pattern is one of the few regular expressions that stay live beside the learned model: each
// is a feature the model weighs (a hedge like 上周 or 万一, a danger that is over, a word of
// urgency), and each carries examples it must and must not match, checked with the guide.
type Pattern struct {
	Name    string         `yaml:"name"`
	Means   string         `yaml:"means"`
	Expr    string         `yaml:"pattern"`
	Match   []string       `yaml:"match"`
	NoMatch []string       `yaml:"nomatch"`
	Re      *regexp.Regexp `yaml:"-"`
	Line    int            `yaml:"-"`
}

// Calibration holds the thresholds the bot's decision uses, chosen by cross-validation
// (`hotline eval --cv`), never by hand.
type Calibration struct {
	// Temperature divides the model's scores before the softmax that makes them probabilities.
	Temperature float64 `yaml:"temperature"`
	// Answer: a best label less probable than this is asked about instead of acted on.
	Answer float64 `yaml:"answer"`
	// Emergency: from this probability that a message is an emergency, the emergency numbers
	// open the first reply whatever the decision (chosen so that every emergency of
	// cross-validation gets them).
	Emergency float64 `yaml:"emergency"`
}

// LoadSample loads the built-in guide against the built-in spec.
func LoadSample() (*Guide, error) {
	spec, err := LoadSpec(SpecFS())
	if err != nil {
		return nil, err
	}
	g, problems := Load(SampleGuide(), spec)
	if len(problems) > 0 {
		return nil, problems
	}
	return g, nil
}
