// The rules of docs/architecture.md, kept true: which of the project's packages each package may
// import, and which outside libraries only adapters and transport may touch. A new package
// fails this test until it is given a place in the rules (here and in the document).
package hotline_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/bayannur/hotline/"

// layer is one package (or a family, ending in "/...") and what of the project it may import.
type layer struct {
	pkg    string
	may    []string // project packages; "x/..." allows x's sub-packages
	libsOK bool     // may import drivers, HTTP and index libraries (adapters, transport, cmd)
}

// rules, from the bottom up. Domain packages (search, intake, bot, chat) import neither
// databases, nor HTTP, nor the index library: adapters beside them do.
var rules = []layer{
	{pkg: "search/zh"},
	{pkg: "internal/i18n"},
	{pkg: "search", may: []string{"search/zh"}},
	{pkg: "search/bleve", may: []string{"search", "search/zh"}, libsOK: true},
	{pkg: "search/meili", may: []string{"search"}, libsOK: true},
	{pkg: "search/meili/meilitest", libsOK: true},
	{pkg: "intake", may: []string{"search"}},
	{pkg: "intake/internal/...", may: []string{"intake"}},
	{pkg: "intake/sqlite", may: []string{"intake", "intake/internal/..."}, libsOK: true},
	{pkg: "intake/postgres", may: []string{"intake", "intake/internal/..."}, libsOK: true},
	{pkg: "intake/postgres/pgtest", libsOK: true},
	{pkg: "intake/storetest", may: []string{"intake"}},
	{pkg: "bot/model"},
	{pkg: "bot/modelfile"},
	{pkg: "bot", may: []string{"bot/model", "search", "search/zh", "intake", "internal/i18n"}},
	{pkg: "chat", may: []string{"bot", "intake", "search", "internal/i18n"}},
	{pkg: "web", may: []string{"chat", "bot", "intake", "search", "internal/i18n"}, libsOK: true},
	{pkg: "internal/testkit", may: []string{"bot", "intake", "search", "search/bleve"}, libsOK: true},
	{pkg: "cmd/hotline", may: []string{"..."}, libsOK: true},
	{pkg: "e2e", may: []string{"..."}, libsOK: true},
}

// libraries only adapters and transport import: storage, HTTP and WebSocket, the index.
var adapterLibs = []string{
	"database/sql", "net/http", "github.com/gorilla/websocket", "github.com/jackc/pgx", "modernc.org/sqlite",
	"github.com/blevesearch/bleve", "github.com/meilisearch/meilisearch-go", "github.com/prometheus/client_golang",
}

func matches(pattern, pkg string) bool {
	if pattern == "..." {
		return true
	}
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return pkg == base || strings.HasPrefix(pkg, base+"/")
	}
	return pattern == pkg
}

func ruleFor(pkg string) (layer, bool) {
	for _, l := range rules {
		if matches(l.pkg, pkg) {
			return l, true
		}
	}
	return layer{}, false
}

// violations checks one package's imports (outside test files) against the rules.
func violations(pkg string, imports []string) []string {
	l, ok := ruleFor(pkg)
	if !ok {
		return []string{pkg + ": a package with no place in the rules (docs/architecture.md, architecture_test.go)"}
	}
	var out []string
	for _, imp := range imports {
		if own, ok := strings.CutPrefix(imp, module); ok {
			if !slices.ContainsFunc(l.may, func(p string) bool { return matches(p, own) }) {
				out = append(out, pkg+" imports "+own)
			}
			continue
		}
		if !l.libsOK && slices.ContainsFunc(adapterLibs, func(lib string) bool { return imp == lib || strings.HasPrefix(imp, lib+"/") }) {
			out = append(out, pkg+" imports "+imp+", which only adapters and transport may")
		}
	}
	return out
}

// packages maps each package directory of the module to the imports of its non-test files.
func packages(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(filepath.Dir(path))
		for _, s := range f.Imports {
			imp, _ := strconv.Unquote(s.Path.Value)
			out[pkg] = append(out[pkg], imp)
		}
		if _, ok := out[pkg]; !ok {
			out[pkg] = nil
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestImportRules(t *testing.T) {
	pkgs := packages(t)
	for _, want := range []string{"bot", "chat", "intake", "intake/sqlite", "search", "web", "cmd/hotline"} {
		if _, ok := pkgs[want]; !ok {
			t.Fatalf("package %s not found: is the test run from the module's root?", want)
		}
	}
	for pkg, imports := range pkgs {
		for _, v := range violations(pkg, imports) {
			t.Error(v)
		}
	}
}

// The checker itself catches what the rules forbid: a store importing the bot, the bot importing
// web, the domain importing a database, a package nobody placed.
func TestImportRulesCatchViolations(t *testing.T) {
	for pkg, imports := range map[string][]string{
		"intake/sqlite": {module + "bot"},
		"bot":           {module + "web"},
		"intake":        {"database/sql"},
		"chat":          {"net/http"},
		"search":        {module + "intake"},
		"newthing":      nil,
	} {
		if len(violations(pkg, imports)) == 0 {
			t.Errorf("%s importing %v passed the rules", pkg, imports)
		}
	}
	if v := violations("intake/sqlite", []string{module + "intake", module + "intake/internal/migrations", "modernc.org/sqlite"}); len(v) > 0 {
		t.Errorf("allowed imports refused: %v", v)
	}
}
