package zh_test

import (
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/bayannur/hotline/search/zh"
)

func TestFold(t *testing.T) {
	cases := []struct{ in, want string }{
		{"我那個投訴處理到哪了", "我那个投诉处理到哪了"},
		{"網格員電話是多少", "网格员电话是多少"},
		// Characters that are simplified too, changed only within a phrase of the dictionary.
		{"请回覆我", "请回复我"},
		{"我想瞭解一下低保", "我想了解一下低保"},
		{"他沈默了", "他沉默了"},
		{"覆盖", "覆盖"},
		{"ＡＢＣ１２３", "abc123"},
		{"Hello World", "hello world"},
		{"我住３号楼Ｂ座", "我住3号楼b座"},
		{"低保，咋申请？？", "低保 咋申请"},
		{"  低保😀😀😀咋申请!!!  ", "低保 咋申请"},
		{"低保。。。，，，……咋办", "低保 咋办"},
		{"低保　咋办", "低保 咋办"}, // ideographic space
		{"低保\t\n 咋办", "低保 咋办"},
		{"！！！😀", ""},
		{"", ""},
		{"\xff\xfe低\x80保", "低保"},
		{"\xff", ""},
		{"abc\xc3", "abc"},
	}
	for _, tc := range cases {
		got := zh.Fold(tc.in)
		if got != tc.want {
			t.Errorf("Fold(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if again := zh.Fold(got); again != got {
			t.Errorf("Fold is not idempotent on %q: %q", got, again)
		}
	}
}

func TestHan(t *testing.T) {
	if !zh.IsHan('低') || zh.IsHan('a') || zh.IsHan('３') || zh.IsHan('，') {
		t.Error("IsHan is wrong")
	}
	if n := zh.HanCount("低保abc 12咋办！"); n != 4 {
		t.Errorf("HanCount = %d, want 4", n)
	}
}

var (
	anOnce sync.Once
	an     *zh.Analyzer
	anErr  error
)

var testSynonyms = [][]string{
	{"暖气", "供暖", "取暖", "暖器"},
	{"低保", "最低生活保障", "低保金"},
}

// analyzer is built once: loading the dictionary takes a while.
func analyzer(t *testing.T) *zh.Analyzer {
	t.Helper()
	anOnce.Do(func() {
		an, anErr = zh.NewAnalyzer([]string{
			"低保", "网格员", "人工", "物业", "流浪狗", "助餐点", "失业", "公示", "回访",
			"金桥小区", "虹亚小区", "塞上花园", "ＸＹＺ小区",
		}, testSynonyms)
	})
	if anErr != nil {
		t.Fatalf("NewAnalyzer: %v", anErr)
	}
	return an
}

func TestCorrect(t *testing.T) {
	a := analyzer(t)
	cases := []struct{ in, want string }{
		// pinyin-IME homophone typos of guide words
		{"底保咋申请", "低保咋申请"},
		{"网个员电话多少", "网格员电话多少"},
		{"我要转人功", "我要转人工"},
		{"底保abc", "低保abc"},
		{"俺想办底保 还想找网个员", "俺想办低保 还想找网格员"},
		// zh/z: 租 (zu) typed for 助 (zhu)
		{"去租餐点吃饭", "去助餐点吃饭"},
		// l/n and -ang/-an: 牛浪 (niu lang) typed for 流浪 (liu lang)
		{"牛浪狗咬人", "流浪狗咬人"},
		// guide words stay as they are
		{"低保咋申请", "低保咋申请"},
		{"物业不管", "物业不管"},
		// real words that merely sound like a guide word are not rewritten
		{"我的事业", "我的事业"},           // shi ye, like 失业
		{"这个公式不对", "这个公式不对"},       // gong shi, like 公示
		{"午夜十二点", "午夜十二点"},         // wu ye, like 物业
		{"无业人员能办低保吗", "无业人员能办低保吗"}, // a rare real word is still a word
		// a run that cuts through real words is no typo: 回反 (hui fan, like 回访) in 上回反映
		{"上回反映的事有人管没", "上回反映的事有人管没"},
		{"俺们上回反映过", "俺们上回反映过"},
		// nothing to correct
		{"hello world 123", "hello world 123"},
		{"底", "底"},
		{"", ""},
	}
	for _, tc := range cases {
		if got := a.Correct(tc.in); got != tc.want {
			t.Errorf("Correct(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCorrectWithoutVocabulary(t *testing.T) {
	a, err := zh.NewAnalyzer(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"底保咋申请", "网个员电话多少"} {
		if got := a.Correct(s); got != s {
			t.Errorf("with no vocabulary Correct(%q) = %q", s, got)
		}
	}
	// Without the guide's words, gse splits a compound name.
	if ws := a.Words("我住塞上花园"); contains(ws, "塞上花园") {
		t.Errorf("Words without vocabulary = %q; the test below would prove nothing", ws)
	}
}

func TestNormalize(t *testing.T) {
	a := analyzer(t)
	cases := []struct{ in, want string }{
		{"底保，咋申請？？", "低保 咋申请"},
		{"網個員電話😀", "网格员电话"},
		{"ＡＢＣ小区", "abc小区"},
		{"Hello!", "hello"},
	}
	for _, tc := range cases {
		if got := a.Normalize(tc.in); got != tc.want {
			t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestWords(t *testing.T) {
	a := analyzer(t)
	cases := []struct {
		in   string
		want []string // words that must come out whole
	}{
		{"我住塞上花园3号楼", []string{"塞上花园"}},
		{"虹亚小区的网格员", []string{"虹亚小区", "网格员"}},
		{"网格员电话", []string{"网格员", "电话"}},
		{"低保 咋申请", []string{"低保", "申请"}},
		{"xyz小区门口", []string{"xyz小区"}},
	}
	for _, tc := range cases {
		ws := a.Words(tc.in)
		for _, w := range tc.want {
			if !contains(ws, w) {
				t.Errorf("Words(%q) = %q, lacks %q", tc.in, ws, w)
			}
		}
		for _, w := range ws {
			if strings.TrimSpace(w) != w || w == "" {
				t.Errorf("Words(%q) has the blank token %q", tc.in, w)
			}
			if !strings.Contains(tc.in, w) {
				t.Errorf("Words(%q) has %q, not in the text", tc.in, w)
			}
		}
	}
	if ws := a.Words("  "); len(ws) != 0 {
		t.Errorf("Words of blanks = %q", ws)
	}
}

func TestBigrams(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"低保咋申请", []string{"低保", "保咋", "咋申", "申请"}},
		{"低保", []string{"低保"}},
		{"我", []string{"我"}},
		{"abc123", []string{"abc123"}},
		{"3号楼", []string{"3", "号楼"}},
		{"我 a 低保abc12你好x", []string{"我", "a", "低保", "abc12", "你好", "x"}},
		{"低保 暖气", []string{"低保", "暖气"}},
		{"", nil},
	}
	for _, tc := range cases {
		if got := zh.Bigrams(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Bigrams(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestPinyinBigrams(t *testing.T) {
	a := analyzer(t)
	same := [][2]string{
		{"低保", "底保"},
		{"暖气", "暖器"},
		{"流浪", "牛浪"}, // l/n, -ang/-an
		{"助餐", "租餐"}, // zh/z
		{"申请", "身请"},
	}
	for _, p := range same {
		x, y := a.PinyinBigrams(p[0]), a.PinyinBigrams(p[1])
		if len(x) == 0 || !reflect.DeepEqual(x, y) {
			t.Errorf("PinyinBigrams(%s) = %q, PinyinBigrams(%s) = %q; want equal and non-empty", p[0], x, p[1], y)
		}
	}
	if got := a.PinyinBigrams("低保"); !reflect.DeepEqual(got, []string{"di_bao"}) {
		t.Errorf("PinyinBigrams(低保) = %q, want [di_bao]", got)
	}
	if x, y := a.PinyinBigrams("低保"), a.PinyinBigrams("暖气"); reflect.DeepEqual(x, y) {
		t.Errorf("低保 and 暖气 share the keys %q", x)
	}
	if got := a.PinyinBigrams("低保 暖气"); len(got) != 2 {
		t.Errorf("PinyinBigrams(低保 暖气) = %q, want a key per word and none across the space", got)
	}
	if got := a.PinyinBigrams("abc 12 保"); len(got) != 0 {
		t.Errorf("PinyinBigrams without two adjacent Han = %q", got)
	}
	if got := a.Syllables("低保a"); !reflect.DeepEqual(got, []string{"di", "bao", "a"}) {
		t.Errorf("Syllables(低保a) = %q", got)
	}
}

func TestCanonicals(t *testing.T) {
	a := analyzer(t)
	cases := []struct {
		in   string
		want []string
	}{
		{"取暖费", []string{"暖气"}},
		{"供暖", []string{"暖气"}},
		{"俺家暖器不热", []string{"暖气"}},
		{"暖气", []string{"暖气"}},
		{"申请最低生活保障和取暖补贴", []string{"低保", "暖气"}},
		{"今天天气好", nil},
	}
	for _, tc := range cases {
		got := a.Canonicals(tc.in)
		if len(got) == 0 && len(tc.want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Canonicals(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// An analyzer is safe for concurrent use once built.
func TestAnalyzerConcurrent(t *testing.T) {
	a := analyzer(t)
	want := a.Normalize("底保，咋申請")
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				if got := a.Normalize("底保，咋申請"); got != want {
					errs <- got
					return
				}
				a.Words("虹亚小区的网格员")
				a.PinyinBigrams("网个员")
				a.Canonicals("取暖费")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for got := range errs {
		t.Errorf("concurrent Normalize = %q, want %q", got, want)
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

// Analyzers may be built at the same time (two guides loading in one process, parallel
// tests); under -race this fails if building one writes shared state.
func TestNewAnalyzerConcurrent(t *testing.T) {
	// A vocabulary the size of a guide's keeps the builds overlapping.
	vocab := []string{"网格员", "低保"}
	for r := rune(0x4e00); r < 0x4e00+3000; r += 2 {
		vocab = append(vocab, string([]rune{r, r + 1}))
	}
	var wg sync.WaitGroup
	words := make([][]string, 4)
	for i := range words {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := zh.NewAnalyzer(vocab, [][]string{{"低保", "最低生活保障"}})
			if err != nil {
				t.Error(err)
				return
			}
			words[i] = a.Words("虹亚小区的网格员")
		}()
	}
	wg.Wait()
	for i, w := range words {
		if !contains(w, "网格员") {
			t.Errorf("analyzer %d cut %q, want 网格员 whole", i, w)
		}
	}
}

// TestCorrectToWhatWasMeant: a misspelling the guide lists (for the index) is not what a typo is
// corrected to when its group's word sounds the same.
func TestCorrectToWhatWasMeant(t *testing.T) {
	a, err := zh.NewAnalyzer([]string{"网个员", "网格员", "取暖", "燃期味", "燃气味"}, [][]string{{"网格员", "网个员"}, {"暖气", "取暖"}})
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"给个网各员的电话": "给个网格员的电话", // not 网个员, the listed misspelling
		"网个员的手机号":  "网格员的手机号",  // the listed misspelling itself
		"楼道里然气味好重": "楼道里燃气味好重", // the word sharing the most characters, not the listed 燃期味
		"屋里去暖不行":   "屋里取暖不行",   // 暖气 is 取暖's group word, but it does not sound like it
	} {
		if got := a.Correct(in); got != want {
			t.Errorf("Correct(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestNamesAreNotCorrectionTargets: a place name is kept whole, but a run that merely sounds like
// a two-character one is left alone: 墙进 (qiang jin) is no typo of the community 前进 (qian jin).
func TestNamesAreNotCorrectionTargets(t *testing.T) {
	a, err := zh.NewAnalyzer(nil, nil, "前进", "塞上花园")
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Correct("有人翻墙进了院子"); got != "有人翻墙进了院子" {
		t.Errorf("Correct = %q, want the text as written", got)
	}
	if ws := a.Words("我住塞上花园"); !contains(ws, "塞上花园") {
		t.Errorf("Words = %q, want the place name whole", ws)
	}
	// A whole name is still a typo target.
	if got := a.Correct("我住塞上华园"); got != "我住塞上花园" {
		t.Errorf("Correct(我住塞上华园) = %q, want 我住塞上花园", got)
	}
}

func TestSplitPinyin(t *testing.T) {
	an, err := zh.NewAnalyzer(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for tok, want := range map[string]string{
		"rengong": "ren gong", "zhaohuole": "zao huo ne", "a": "a", "shequ": "se qu",
	} {
		got, ok := an.SplitPinyin(tok)
		if !ok || strings.Join(got, " ") != want {
			t.Errorf("SplitPinyin(%q) = %q, %v; want %q", tok, got, ok, want)
		}
	}
	for _, tok := range []string{"wifi", "x", "ok", "app"} {
		if got, ok := an.SplitPinyin(tok); ok {
			t.Errorf("SplitPinyin(%q) = %q; want no pinyin", tok, got)
		}
	}
}
