package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/bayannur/hotline/bot"
	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/search"
	"github.com/bayannur/hotline/search/bleve"
	"github.com/bayannur/hotline/web"
)

var pathParam = regexp.MustCompile(`\{[^}]*\}`)

// normalRoute makes a mux pattern and an OpenAPI path comparable: every {name} becomes {} (a
// wildcard for the rest of the path, {name...}, too: the document names it {name}), and a
// ".json" right after one is dropped (the mux serves /services/{file}, the document names
// /services/{service_code}.json).
func normalRoute(method, path string) string {
	p := pathParam.ReplaceAllString(path, "{}")
	p = strings.ReplaceAll(p, "{}.json", "{}")
	return strings.ToUpper(method) + " " + p
}

// newEveryRouteFixture is a fixture whose server mounts every route, as cmd/hotline's does: the
// webhooks' and the guide editor's (a store of guide versions, the spec and a bot builder) too.
func newEveryRouteFixture(t *testing.T) *fixture {
	t.Helper()
	spec, _ := loadFixtureData(t)
	files := sampleFiles(t)
	return newWebhookFixtureConfig(t, false, func(c *web.Config) {
		c.Guides, c.GuideSpec, c.GuideFiles, c.GuideDigest = c.Conversations.(intake.GuideVersions), spec, files, intake.GuideDigest(files)
		c.BuildBot = func(ctx context.Context, g *search.Guide) (*bot.Bot, func(), error) {
			idx, an, err := bleve.Build(ctx, g, nil)
			if err != nil {
				return nil, nil, err
			}
			b, err := bot.New(g, idx, an)
			return b, func() { idx.Close() }, err
		}
	})
}

var httpMethods = map[string]bool{
	"get": true, "put": true, "post": true, "delete": true, "options": true, "head": true, "patch": true, "trace": true,
}

type openapiDoc struct {
	OpenAPI string `json:"openapi"`
	Info    struct {
		Title   string `json:"title"`
		Version string `json:"version"`
	} `json:"info"`
	Paths map[string]map[string]json.RawMessage `json:"paths"`
}

func fetchOpenAPI(t *testing.T, f *fixture) (openapiDoc, []byte) {
	t.Helper()
	r := f.anon(http.MethodGet, "/api/v1/openapi.json", nil)
	if r.status != http.StatusOK {
		t.Fatal(r)
	}
	if !json.Valid(r.body) {
		t.Fatal("openapi.json is not valid JSON")
	}
	var doc openapiDoc
	decode(t, r, &doc)
	return doc, r.body
}

func TestOpenAPIIsOpenAPI3(t *testing.T) {
	f := newEveryRouteFixture(t)
	doc, _ := fetchOpenAPI(t, f)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q, want 3.x", doc.OpenAPI)
	}
	if doc.Info.Title == "" || doc.Info.Version == "" {
		t.Errorf("info %+v lacks title or version", doc.Info)
	}
	if len(doc.Paths) == 0 {
		t.Fatal("no paths")
	}
}

func TestOpenAPICoversEveryRoute(t *testing.T) {
	f := newEveryRouteFixture(t)
	doc, _ := fetchOpenAPI(t, f)

	routes := f.srv.Routes()
	// The fully wired server mounts the ticket, Open311, webhook and guide editor routes too.
	for _, want := range []string{"POST /api/v1/tickets", "GET /open311/v2/services/{file}", "GET /api/v1/communities",
		"GET /api/v1/webhooks", "GET /api/v1/guide/versions"} {
		if !slices.Contains(routes, want) {
			t.Fatalf("routes %v lack %q: the server is not fully wired", routes, want)
		}
	}
	served := map[string]bool{}
	for _, r := range routes {
		method, path, ok := strings.Cut(r, " ")
		if !ok || method == "" || !strings.HasPrefix(path, "/") {
			t.Errorf("route %q is not METHOD /path", r)
			continue
		}
		served[normalRoute(method, path)] = true
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			if httpMethods[method] {
				documented[normalRoute(method, path)] = true
			}
		}
	}
	for _, r := range routes {
		method, path, _ := strings.Cut(r, " ")
		if !documented[normalRoute(method, path)] {
			t.Errorf("route %q is not documented in openapi.json", r)
		}
	}
	for d := range documented {
		if !served[d] {
			t.Errorf("openapi.json documents %q, which the server does not serve", d)
		}
	}
}

func TestOpenAPIPathParameters(t *testing.T) {
	f := newEveryRouteFixture(t)
	doc, _ := fetchOpenAPI(t, f)
	type param struct {
		Name     string `json:"name"`
		In       string `json:"in"`
		Required bool   `json:"required"`
	}
	for path, ops := range doc.Paths {
		var shared []param
		if raw, ok := ops["parameters"]; ok {
			if err := json.Unmarshal(raw, &shared); err != nil {
				t.Fatal(err)
			}
		}
		for method, raw := range ops {
			if !httpMethods[method] {
				continue
			}
			var op struct {
				Parameters []param                    `json:"parameters"`
				Responses  map[string]json.RawMessage `json:"responses"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			if len(op.Responses) == 0 {
				t.Errorf("%s %s documents no responses", method, path)
			}
			for _, m := range pathParam.FindAllString(path, -1) {
				name := strings.Trim(m, "{}")
				found := false
				for _, p := range append(shared, op.Parameters...) {
					found = found || p.Name == name && p.In == "path" && p.Required
				}
				if !found {
					t.Errorf("%s %s does not document the required path parameter %q", method, path, name)
				}
			}
		}
	}
}

func TestOpenAPIRefsResolve(t *testing.T) {
	f := newEveryRouteFixture(t)
	_, body := fetchOpenAPI(t, f)
	var whole map[string]any
	if err := json.Unmarshal(body, &whole); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if ref, ok := x.(string); ok && k == "$ref" {
					if !resolves(whole, ref) {
						t.Errorf("$ref %q resolves to nothing", ref)
					}
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(whole)
}

// resolves reports whether a local JSON pointer reference names something in doc.
func resolves(doc map[string]any, ref string) bool {
	p, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return false
	}
	var cur any = doc
	for _, seg := range strings.Split(p, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		seg = strings.NewReplacer("~1", "/", "~0", "~").Replace(seg)
		if cur, ok = m[seg]; !ok {
			return false
		}
	}
	return true
}

// TestOpenAPIVersionKeywords holds the document to its version: in 3.0.x a schema's type is one
// string and null is said with nullable (3.1's ["number", "null"] makes validators and code
// generators refuse the whole document; .ci/run validates it with a standard one as well).
func TestOpenAPIVersionKeywords(t *testing.T) {
	f := newEveryRouteFixture(t)
	doc, body := fetchOpenAPI(t, f)
	if !strings.HasPrefix(doc.OpenAPI, "3.0.") {
		t.Skipf("openapi %s: the 3.0 rules do not apply", doc.OpenAPI)
	}
	var whole any
	if err := json.Unmarshal(body, &whole); err != nil {
		t.Fatal(err)
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if _, isString := x.(string); k == "type" && !isString && !strings.HasSuffix(path, "/properties") {
					t.Errorf("%s: type %v; OpenAPI 3.0 wants one type, with nullable: true for null", path, x)
				}
				if k == "webhooks" && path == "" {
					t.Errorf("webhooks is OpenAPI 3.1's; 3.0 describes them as callbacks")
				}
				walk(path+"/"+k, x)
			}
		case []any:
			for i, x := range v {
				walk(fmt.Sprintf("%s/%d", path, i), x)
			}
		}
	}
	walk("", whole)
	// The webhooks' payloads are described: a callback of the subscription, and its schemas.
	for _, want := range []string{`"callbacks"`, `"{$request.body#/url}"`, `"WebhookEvent"`, `"X-Hotline-Signature"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("openapi.json lacks %s", want)
		}
	}
}
