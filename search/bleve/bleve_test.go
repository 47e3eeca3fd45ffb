package bleve_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/bayannur/hotline/search"
	"github.com/bayannur/hotline/search/bleve"
	"github.com/bayannur/hotline/search/zh"
)

// handoff stands for one of the bot's intents: extra entries passed to Build.
var handoff = search.Entry{
	ID:       "handoff",
	Kind:     search.KindIntent,
	Title:    "转人工",
	Keywords: []string{"转人工", "人工客服", "找真人"},
	Examples: []string{"我要转人工", "人工客服在哪", "能不能找个真人说话"},
}

type fixture struct {
	g  *search.Guide
	x  *bleve.Index
	an *zh.Analyzer
}

var (
	fixOnce sync.Once
	fix     fixture
	fixErr  error
)

// built returns the sample guide and an index built from it, shared by the read-only tests.
func built(t *testing.T) fixture {
	t.Helper()
	fixOnce.Do(func() {
		spec, err := search.LoadSpec(search.SpecFS())
		if err != nil {
			fixErr = err
			return
		}
		g, problems := search.Load(search.SampleGuide(), spec)
		if len(problems) > 0 {
			fixErr = problems
			return
		}
		x, an, err := bleve.Build(context.Background(), g, []search.Entry{handoff})
		fix, fixErr = fixture{g, x, an}, err
	})
	if fixErr != nil {
		t.Fatalf("building the sample index: %v", fixErr)
	}
	return fix
}

func searchEntries(t *testing.T, f fixture, x *bleve.Index, text string, limit int) []search.EntryHit {
	t.Helper()
	hits, err := x.SearchEntries(context.Background(), f.an.Normalize(text), limit)
	if err != nil {
		t.Fatalf("SearchEntries(%q): %v", text, err)
	}
	if len(hits) > limit {
		t.Errorf("SearchEntries(%q, %d) returned %d hits", text, limit, len(hits))
	}
	if !sort.SliceIsSorted(hits, func(i, j int) bool { return hits[i].Score > hits[j].Score }) {
		t.Errorf("SearchEntries(%q) hits are not best first: %v", text, hits)
	}
	return hits
}

func searchContacts(t *testing.T, f fixture, x *bleve.Index, text string, limit int) []search.ContactHit {
	t.Helper()
	hits, err := x.SearchContacts(context.Background(), f.an.Normalize(text), limit)
	if err != nil {
		t.Fatalf("SearchContacts(%q): %v", text, err)
	}
	if len(hits) > limit {
		t.Errorf("SearchContacts(%q, %d) returned %d hits", text, limit, len(hits))
	}
	if !sort.SliceIsSorted(hits, func(i, j int) bool { return hits[i].Score > hits[j].Score }) {
		t.Errorf("SearchContacts(%q) hits are not best first: %v", text, hits)
	}
	return hits
}

func TestSearchEntries(t *testing.T) {
	f := built(t)
	cases := []struct{ text, want string }{
		{"底保咋申请", "dibao"},    // homophone typo of 低保
		{"滴宝咋申请", "dibao"},    // a sound-alike the corrector leaves alone
		{"申請低保要啥材料", "dibao"}, // traditional characters
		{"俺家暖气一点都不热", "report-heating"},
		{"取暖费在哪交", "heating-fee"}, // 取暖费 is a synonym of 暖气费
		{"楼道里堆满了东西", "report-corridor-clutter"},
		{"垃圾好几天没人拉了", "report-garbage"},
		{"井盖没了", "report-road-manhole"},
		{"电动车在楼道充电", "report-ebike-charging"},
		{"我家楼上天天装修吵死了", "report-noise"},
		{"工资拖了半年不给", "report-wage-arrears"},
		{"狗证咋办", "dog-registration"},
		{"五点半课堂几点接娃", "after-school-530"},
		{"老家户口想迁过来", "household-transfer"},
		{"網個員是誰", "grid-service"},
		{"煤气味很大", "emergency-gas-leak"},
		{"有人晕倒了", "emergency-medical"},
		{"有人在楼下打架", "emergency-crime"},
		{"我要转人功", "handoff"}, // an extra entry, found through a typo of its keyword
		{"人工客服在哪里", "handoff"},
	}
	for _, tc := range cases {
		hits := searchEntries(t, f, f.x, tc.text, 5)
		if len(hits) == 0 {
			t.Errorf("SearchEntries(%q) found nothing, want %s", tc.text, tc.want)
			continue
		}
		top := hits[0]
		if top.ID != tc.want {
			t.Errorf("SearchEntries(%q) = %v, want %s first", tc.text, hits, tc.want)
			continue
		}
		wantKind := search.KindIntent
		if e, ok := f.g.Entry(tc.want); ok {
			wantKind = e.Kind
		}
		if top.Kind != wantKind {
			t.Errorf("SearchEntries(%q): hit %s has kind %q, want %q", tc.text, top.ID, top.Kind, wantKind)
		}
		if top.Score <= 0 {
			t.Errorf("SearchEntries(%q): hit %s has score %v", tc.text, top.ID, top.Score)
		}
	}

	if hits := searchEntries(t, f, f.x, "底保咋申请", 1); len(hits) != 1 {
		t.Errorf("limit 1 gave %v", hits)
	}
	for _, text := range []string{"", "！！😀"} {
		if hits := searchEntries(t, f, f.x, text, 5); len(hits) != 0 {
			t.Errorf("SearchEntries(%q) = %v, want nothing", text, hits)
		}
	}
}

func TestSearchContacts(t *testing.T) {
	f := built(t)
	cases := []struct {
		text, community, compound, grid string
	}{
		// communities by name, by alias and by a street they cover
		{"团结社区在哪", "hl-tuanjie", "", "hl-tuanjie-g0"},
		{"俺住金桥那片", "wy-jinqiao", "", "wy-jinqiao-g0"},
		{"新区那片的社区电话", "hl-xincheng", "", "hl-xincheng-g0"},
		{"乌兰街归哪个社区管", "hl-tuanjie", "", "hl-tuanjie-g0"},
		{"东风路", "hl-dongfeng", "", "hl-dongfeng-g0"},
		// compounds by name and by alias, with the grid responsible for them
		{"阳光花园", "wy-zhongshan", "阳光花园", "wy-zhongshan-g2"},
		{"阳光花苑门口", "wy-zhongshan", "阳光花园", "wy-zhongshan-g2"},
		{"邮局院的网格员是谁", "hl-xingfu", "邮电家属院", "hl-xingfu-g2"},
		{"供电院", "wy-jinqiao", "供电局家属院", "wy-jinqiao-g2"},
		// a building together with its compound, and a building only one compound has
		{"金桥小区3号楼", "wy-jinqiao", "金桥小区", "wy-jinqiao-g1"},
		{"虹亚小区3号楼漏水了", "wy-jinqiao", "虹亚小区", "wy-jinqiao-g2"},
		{"12号楼", "hl-xincheng", "新城花园", "hl-xincheng-g1"},
	}
	for _, tc := range cases {
		hits := searchContacts(t, f, f.x, tc.text, 3)
		if len(hits) == 0 {
			t.Errorf("SearchContacts(%q) found nothing, want %s %s", tc.text, tc.community, tc.compound)
			continue
		}
		top := hits[0]
		if top.CommunityID != tc.community || top.Compound != tc.compound || top.GridID != tc.grid {
			t.Errorf("SearchContacts(%q) = %+v, want %s/%s/%s first", tc.text, hits, tc.community, tc.compound, tc.grid)
			continue
		}
		if top.Score <= 0 {
			t.Errorf("SearchContacts(%q): score %v", tc.text, top.Score)
		}
		// The grid is the guide's: the compound's grid, or the community's 总网格.
		c, ok := f.g.Community(top.CommunityID)
		if !ok {
			t.Errorf("SearchContacts(%q): unknown community %s", tc.text, top.CommunityID)
			continue
		}
		if want := c.GridFor(top.Compound); top.Compound != "" && want.ID != top.GridID {
			t.Errorf("SearchContacts(%q): grid %s, the guide says %s", tc.text, top.GridID, want.ID)
		}
		if top.Compound == "" && top.GridID != c.TopGrid().ID {
			t.Errorf("SearchContacts(%q): grid %s, want the 总网格 %s", tc.text, top.GridID, c.TopGrid().ID)
		}
	}

	// A building number that several compounds have finds only compounds that have it.
	for _, h := range searchContacts(t, f, f.x, "住8号楼", 10) {
		c, _ := f.g.Community(h.CommunityID)
		if h.Compound == "" || !hasBuilding(c, h.Compound, "8号楼") {
			t.Errorf("SearchContacts(住8号楼) found %+v, which has no 8号楼", h)
		}
	}

	for _, text := range []string{"俺想问个事", "今天天气怎么样", "我要投诉", "", "😀",
		"社区在哪", "社区书记电话", "我们小区的网格员电话是多少", "俺们社区办公室座机号码是多少"} {
		if hits := searchContacts(t, f, f.x, text, 3); len(hits) != 0 {
			t.Errorf("SearchContacts(%q) = %+v, want nothing: it names no place", text, hits)
		}
	}
}

func hasBuilding(c *search.Community, compound, building string) bool {
	if c == nil {
		return false
	}
	for _, cp := range c.Compounds {
		if cp.Name == compound {
			for _, b := range cp.Buildings {
				if b == building {
					return true
				}
			}
		}
	}
	return false
}

func TestSearchBeforeReplace(t *testing.T) {
	f := built(t)
	x := bleve.New(f.an)
	ctx := context.Background()
	if _, err := x.SearchEntries(ctx, "低保", 5); err == nil {
		t.Error("SearchEntries before Replace: no error")
	}
	if _, err := x.SearchContacts(ctx, "金桥社区", 5); err == nil {
		t.Error("SearchContacts before Replace: no error")
	}
	if err := x.Close(); err != nil {
		t.Errorf("Close of an empty index: %v", err)
	}
}

func hasEntry(hits []search.EntryHit, id string) bool {
	for _, h := range hits {
		if h.ID == id {
			return true
		}
	}
	return false
}

func hasCommunity(hits []search.ContactHit, id string) bool {
	for _, h := range hits {
		if h.CommunityID == id {
			return true
		}
	}
	return false
}

func TestReplaceTwice(t *testing.T) {
	f := built(t)
	ctx := context.Background()
	x := bleve.New(f.an)
	defer x.Close()

	if err := x.Replace(ctx, f.g.Entries, f.g.Towns); err != nil {
		t.Fatal(err)
	}
	all := len(f.g.Entries)
	if hits := searchEntries(t, f, x, "狗证咋办", all); len(hits) == 0 || hits[0].ID != "dog-registration" {
		t.Fatalf("after the first Replace: %v", hits)
	}
	if hits := searchContacts(t, f, x, "团结社区", 3); !hasCommunity(hits, "hl-tuanjie") {
		t.Fatalf("after the first Replace: %v", hits)
	}

	// The second Replace drops dog-registration and every town but the first.
	var fewer []search.Entry
	for _, e := range f.g.Entries {
		if e.ID != "dog-registration" {
			fewer = append(fewer, e)
		}
	}
	if err := x.Replace(ctx, fewer, f.g.Towns[:1]); err != nil {
		t.Fatal(err)
	}
	if hits := searchEntries(t, f, x, "狗证咋办", all); hasEntry(hits, "dog-registration") {
		t.Errorf("dog-registration still found after it was replaced away: %v", hits)
	}
	if hits := searchEntries(t, f, x, "底保咋申请", 3); len(hits) == 0 || hits[0].ID != "dibao" {
		t.Errorf("dibao lost by the second Replace: %v", hits)
	}
	if hits := searchContacts(t, f, x, "团结社区", 10); hasCommunity(hits, "hl-tuanjie") {
		t.Errorf("hl-tuanjie still found after its town was replaced away: %v", hits)
	}
	if hits := searchContacts(t, f, x, "金桥小区", 3); len(hits) == 0 || hits[0].Compound != "金桥小区" {
		t.Errorf("金桥小区 lost by the second Replace: %v", hits)
	}

	// A third Replace brings them back.
	if err := x.Replace(ctx, f.g.Entries, f.g.Towns); err != nil {
		t.Fatal(err)
	}
	if hits := searchEntries(t, f, x, "狗证咋办", 3); len(hits) == 0 || hits[0].ID != "dog-registration" {
		t.Errorf("after the third Replace: %v", hits)
	}

	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := x.SearchEntries(ctx, "低保", 3); err == nil {
		t.Error("SearchEntries after Close: no error")
	}
	if _, err := x.SearchContacts(ctx, "金桥", 3); err == nil {
		t.Error("SearchContacts after Close: no error")
	}
}

// Searches running while the index is replaced see either index whole, never an error (run
// with -race).
func TestConcurrentSearchDuringReplace(t *testing.T) {
	f := built(t)
	ctx := context.Background()
	x := bleve.New(f.an)
	defer x.Close()

	// Two small guides, kept small so that the race detector stays quick; both hold dibao and
	// the first town.
	var a, b []search.Entry
	for i, e := range f.g.Entries {
		switch {
		case e.ID == "dibao":
			a, b = append(a, e), append(b, e)
		case i%9 == 0:
			a = append(a, e)
		case i%9 == 1:
			b = append(b, e)
		}
	}
	towns := f.g.Towns[:1]
	if err := x.Replace(ctx, a, towns); err != nil {
		t.Fatal(err)
	}

	const searchers, rounds = 2, 6
	done := make(chan struct{})
	errs := make(chan error, searchers)
	var wg sync.WaitGroup
	for i := 0; i < searchers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-done:
					if n > 0 {
						return
					}
				default:
				}
				eh, err := x.SearchEntries(ctx, f.an.Normalize("底保咋申请"), 3)
				if err == nil && (len(eh) == 0 || eh[0].ID != "dibao") {
					err = fmt.Errorf("SearchEntries during Replace = %v", eh)
				}
				if err == nil {
					var ch []search.ContactHit
					ch, err = x.SearchContacts(ctx, f.an.Normalize("金桥小区3号楼"), 3)
					if err == nil && (len(ch) == 0 || ch[0].Compound != "金桥小区") {
						err = fmt.Errorf("SearchContacts during Replace = %v", ch)
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for r := 0; r < rounds; r++ {
		next := a
		if r%2 == 0 {
			next = b
		}
		if err := x.Replace(ctx, next, towns); err != nil {
			t.Error(err)
			break
		}
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestTokens(t *testing.T) {
	f := built(t)
	toks := bleve.Tokens(f.an, f.an.Normalize("俺家暖器不热"))
	for _, want := range []string{"暖器", "暖气"} { // the bigram, and the canonical word of its group
		if !containsString(toks, want) {
			t.Errorf("Tokens(俺家暖器不热) = %q, lacks %s", toks, want)
		}
	}
	for _, tok := range toks {
		if len([]rune(tok)) == 1 && zh.IsHan([]rune(tok)[0]) {
			t.Errorf("Tokens has the single character %q", tok)
		}
	}
}

func containsString(list []string, w string) bool {
	for _, x := range list {
		if x == w {
			return true
		}
	}
	return false
}

// A whole name wins over a place that shares its distinctive part: 金桥小区 is the compound,
// 金桥社区 the community.
func TestSearchContactsPrefersTheWholeName(t *testing.T) {
	f := built(t)
	if hits := searchContacts(t, f, f.x, "金桥小区网格员电话", 3); len(hits) == 0 || hits[0].Compound != "金桥小区" {
		t.Errorf("金桥小区: got %+v, want the compound first", hits)
	}
	if hits := searchContacts(t, f, f.x, "金桥社区电话多少", 3); len(hits) == 0 || hits[0].Compound != "" || hits[0].CommunityID != "wy-jinqiao" {
		t.Errorf("金桥社区: got %+v, want the community first", hits)
	}
}
