package i18n

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestT(t *testing.T) {
	for _, c := range []struct {
		lang, key string
		args      []any
		want      string
	}{
		{Zh, "tier.grid", nil, "网格"},
		{En, "tier.grid", nil, "Grid"},
		{"fr", "tier.grid", nil, "网格"}, // a language the catalogue lacks: Chinese
		{En, "no.such.key", nil, "no.such.key"},
		{Zh, "open311.notice", []any{"number", "20260101-0001", "code", "123456", "due", "2026-01-03 18:00"}, "已受理，工单号 20260101-0001，查询码 123456，2026-01-03 18:00 前办结"},
		{En, "open311.notice", []any{"number", "20260101-0001", "code", "123456"}, "Received: ticket 20260101-0001, access code 123456, to be resolved by {due}"},
		{En, "error.grid_worker_action", []any{"action", "dispatch"}, "grid workers may not dispatch"},
	} {
		if got := T(c.lang, c.key, c.args...); got != c.want {
			t.Errorf("T(%q, %q, %v) = %q, want %q", c.lang, c.key, c.args, got, c.want)
		}
	}
	// Filling in: one pass, values not looked into, unknown names and stray braces left alone,
	// the first of two pairs of a name.
	for _, c := range []struct {
		s    string
		args []any
		want string
	}{
		{"{a}+{b}", []any{"a", "{b}", "b", 2}, "{b}+2"},
		{"{{a}} {x} {", []any{"a", 1.5}, "{1.5} {x} {"},
		{"{a}{a}", []any{"a", "一", "a", "二"}, "一一"},
		{"没有", []any{"a", 1}, "没有"},
	} {
		if got := fill(c.s, c.args); got != c.want {
			t.Errorf("fill(%q, %v) = %q, want %q", c.s, c.args, got, c.want)
		}
	}
	if got, want := Both("error.login_required"), "请先登录 (login required)"; got != want {
		t.Errorf("Both: %q, want %q", got, want)
	}
	if got, want := Both("error.grid_worker_action", "action", "close"), "网格员不能执行此操作 (grid workers may not close)"; got != want {
		t.Errorf("Both with an argument: %q, want %q", got, want)
	}
}

var placeholder = regexp.MustCompile(`\{(\w+)\}`)

// placeholders lists the {name}s of a text, sorted, each once.
func placeholders(s string) []string {
	var out []string
	for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestCatalogue checks the catalogue itself: every key in every language, no empty text, and the
// placeholders of a key's texts agree (one language may leave one out, as the Chinese of
// error.grid_worker_action does, but neither has one the other lacks both ways: a typo).
func TestCatalogue(t *testing.T) {
	words := Words()
	if len(words) != len(Langs) {
		t.Fatalf("%d languages, want %v", len(words), Langs)
	}
	for _, lang := range Langs {
		for key, text := range words[lang] {
			if strings.TrimSpace(text) == "" {
				t.Errorf("%s.json: %q is empty", lang, key)
			}
			for _, other := range Langs {
				if _, ok := words[other][key]; !ok {
					t.Errorf("%q is in %s.json, not in %s.json", key, lang, other)
				}
			}
		}
	}
	for key, zh := range words[Zh] {
		en, ok := words[En][key]
		if !ok {
			continue
		}
		a, b := placeholders(zh), placeholders(en)
		if !subset(a, b) && !subset(b, a) {
			t.Errorf("%q: placeholders %v in Chinese, %v in English", key, a, b)
		}
	}
	if len(words[Zh]) < 300 {
		t.Errorf("only %d keys: is the catalogue whole?", len(words[Zh]))
	}
}

func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// TestGoKeys reads every Go file of the module and checks each i18n.T, i18n.Both and i18n.Has
// call: a literal key is in the catalogue and its call names every placeholder the key's texts
// have; a key made as "prefix." + something has at least one key under that prefix. A key made
// any other way cannot be checked and fails the test.
func TestGoKeys(t *testing.T) {
	root := filepath.Join("..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("the module's root: %v", err)
	}
	words := Words()
	calls := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		name := importName(f)
		if name == "" {
			return nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); !ok || x.Name != name {
				return true
			}
			at := map[string]int{"T": 1, "Has": 1, "Both": 0}
			i, ok := at[sel.Sel.Name]
			if !ok || len(call.Args) <= i {
				return true
			}
			calls++
			where := fset.Position(call.Pos()).String()
			key, prefix, ok := keyOf(call.Args[i])
			switch {
			case !ok:
				t.Errorf("%s: a key the test cannot read (give a literal, or \"prefix.\" + something)", where)
			case prefix:
				if !anyKeyWith(words[Zh], key) {
					t.Errorf("%s: no key starts with %q", where, key)
				}
			default:
				if _, ok := words[Zh][key]; !ok {
					t.Errorf("%s: %q is not in the catalogue", where, key)
					return true
				}
				if sel.Sel.Name == "Has" {
					return true
				}
				given := map[string]bool{}
				args := call.Args[i+1:]
				for j := 0; j < len(args); j += 2 {
					name, p, ok := keyOf(args[j])
					if !ok || p {
						return true // names not all literal: not checked
					}
					given[name] = true
				}
				for _, lang := range Langs {
					for _, p := range placeholders(words[lang][key]) {
						if !given[p] {
							t.Errorf("%s: %q needs {%s} (%s), the call does not give it", where, key, p, lang)
						}
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls == 0 {
		t.Error("no i18n call in the module's Go files: is the scan broken?")
	}
	t.Logf("%d calls checked", calls)
}

// importName is the name a file imports this package under, "" when it does not.
func importName(f *ast.File) string {
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == "github.com/bayannur/hotline/internal/i18n" {
			if imp.Name != nil {
				return imp.Name.Name
			}
			return "i18n"
		}
	}
	return ""
}

// keyOf reads a key argument: a string literal (prefix false), or "literal" + anything (prefix
// true, the literal returned).
func keyOf(e ast.Expr) (key string, prefix, ok bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind == token.STRING {
			s, err := strconv.Unquote(e.Value)
			return s, false, err == nil
		}
	case *ast.BinaryExpr:
		if e.Op == token.ADD {
			if s, p, ok := keyOf(e.X); ok && !p {
				return s, true, true
			}
		}
	}
	return "", false, false
}

func anyKeyWith(words map[string]string, prefix string) bool {
	for k := range words {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}
