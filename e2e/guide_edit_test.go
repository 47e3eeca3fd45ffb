package e2e

// The guide editor (GET /console/guide) on two nodes of one PostgreSQL database: a manager on
// node A changes a grid worker's phone in the contacts form and publishes; a resident's widget on
// node B asks for the contact and gets the new number, without a restart; a rollback brings the
// old one back.

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bayannur/hotline/intake/postgres/pgtest"
	"github.com/bayannur/hotline/internal/testkit"
)

// switchWithin is how soon after a version is published every node must serve it.
const switchWithin = 5 * time.Second

func TestGuideEditAcrossNodes(t *testing.T) {
	testkit.NeedChromium(t)
	db := pgtest.Server(t)
	cmd := testkit.Command(t, "user", "add", "--role", "manager", "--database", db, "li")
	cmd.Stdin = strings.NewReader(staffPassword + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hotline user add: %v\n%s", err, out)
	}
	var nodes []*testkit.Server
	for _, name := range []string{"a", "b"} {
		addr := testkit.FreeAddr(t)
		nodes = append(nodes, testkit.Serve(t, addr, nil, "--addr", addr, "--database", db, "--data", filepath.Join(t.TempDir(), name)))
	}
	for _, n := range nodes {
		n.WaitReady(t, 90*time.Second)
	}
	a, b := nodes[0], nodes[1]
	browser, _ := testkit.Browser(t, 1280, 900)
	d := &deskEnv{t: t, srv: a, base: a.Base, browser: browser}

	// The resident on node B asks for their grid: the built-in guide's 网格长 冯某海.
	const oldPhone, newPhone = "199-0000-1102", "199-0000-8888"
	res := d.resident()
	res.srv = b
	openWidget(res, b.Base)
	askContact := func(want, not string) {
		t.Helper()
		before := res.state().count("bot")
		res.say("网格员电话多少", false)
		st := res.waitReply(before)
		last := st.last("bot")
		if !strings.Contains(last.Text, want) || strings.Contains(last.Text, not) {
			t.Fatalf("the contact card on node B: %q; want %s, not %s\n%s", last.Text, want, not, st)
		}
	}
	askContact(oldPhone, newPhone)

	// The manager, on node A, changes the phone in the contacts form and publishes.
	m := d.newTab("manager")
	m.do(chromedp.Navigate(a.Base + "/console/guide"))
	m.waitJS("the login form", `!document.getElementById('login-view').hidden`)
	m.typeInto("[data-testid=login-name]", "li")
	m.typeInto("[data-testid=login-password]", staffPassword)
	m.click("[data-testid=login-submit]")
	m.waitJS("the contacts of the built-in guide", `!document.querySelector('[data-testid=guide-editor]').hidden &&
		document.querySelector('[data-testid=current-version]').dataset.version === '0' &&
		!!document.querySelector('[data-testid=contacts-rows] tr[data-name="冯某海"]')`)
	phone := `[data-testid=contacts-rows] tr[data-name="冯某海"] [data-testid=contact-phone]`
	if got := m.evalString(`document.querySelector(` + jsString(phone) + `).value`); got != oldPhone {
		t.Fatalf("冯某海's phone in the form: %q; want %s", got, oldPhone)
	}
	m.setValue(phone, newPhone)
	m.click("[data-testid=contacts-apply]")
	m.waitJS("the change in the draft", `document.querySelector('[data-testid=drafted]').textContent !== ''`)
	m.screenshot("guide-editor.png")
	// The preview: a bot built from the draft gives the new number, the one serving the old.
	m.click("[data-testid=tab-preview]")
	m.setValue("[data-testid=preview-questions]", "网格员电话多少")
	m.setValue("[data-testid=preview-community]", "wy-jinqiao")
	m.click("[data-testid=preview-run]")
	m.waitJS("the draft's answer", `(() => { const d = document.querySelector('[data-testid=preview-draft]');
		return !!d && d.textContent.includes(`+jsString(newPhone)+`) && !d.nextElementSibling.textContent.includes(`+jsString(newPhone)+`) &&
			d.nextElementSibling.textContent.includes(`+jsString(oldPhone)+`); })()`)
	m.click("[data-testid=tab-publish]")
	m.typeInto("[data-testid=publish-note]", "冯某海换号")
	published := time.Now()
	m.click("[data-testid=publish-run]")
	m.waitJS("the version published", `document.querySelector('[data-testid=current-version]').dataset.version === '2'`)
	waitServing(t, b, 2, published.Add(switchWithin))
	askContact(newPhone, oldPhone)
	waitServing(t, a, 2, published.Add(switchWithin))

	// The history shows it; a rollback to version 1 (the built-in guide) brings the old phone back.
	m.click("[data-testid=tab-history]")
	m.waitJS("the history", `document.querySelectorAll('[data-testid=history-rows] tr').length === 2 &&
		document.querySelector('[data-testid=history-rows] tr[data-version="2"]').textContent.includes('冯某海换号') &&
		document.querySelector('[data-testid=history-rows] tr[data-version="2"]').textContent.includes('li')`)
	m.do(chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`)) // the rollback's "are you sure"
	published = time.Now()
	m.click(`[data-testid=history-rows] tr[data-version="1"] [data-testid=rollback]`)
	m.waitJS("the rollback published", `document.querySelector('[data-testid=current-version]').dataset.version === '3'`)
	m.waitJS("the rollback in the history", `!!document.querySelector('[data-testid=history-rows] tr[data-version="3"]')`)
	m.click("[data-testid=lang]") // the English switch
	m.waitJS("the page in English", `document.documentElement.lang === 'en' && document.querySelector('[data-testid=tab-history]').textContent === 'History and rollback' &&
		document.querySelector('[data-testid=history-rows] tr[data-version="1"] [data-testid=rollback]').textContent === 'Roll back to this'`)
	m.screenshot("guide-editor-history-en.png")
	waitServing(t, b, 3, published.Add(switchWithin))
	askContact(oldPhone, newPhone)
	waitServing(t, a, 3, published.Add(switchWithin))
	for _, n := range nodes { // how long each switch took, for the record
		for _, l := range strings.Split(n.Output(), "\n") {
			if strings.Contains(l, "guide: serving version") {
				t.Logf("%s: %s", n.Base, l)
			}
		}
	}
	d.finish()
}

// servingVersion is the guide version a node serves, from its /healthz.
func servingVersion(t *testing.T, s *testkit.Server) int64 {
	t.Helper()
	var h struct {
		GuideVersion int64 `json:"guide_version"`
	}
	getJSON(t, s.Base+"/healthz", &h)
	return h.GuideVersion
}

// waitServing polls a node's /healthz until it serves version n, failing the test at deadline
// (saying, for the failure, whether and when the node got there afterwards).
func waitServing(t *testing.T, s *testkit.Server, n int64, deadline time.Time) {
	t.Helper()
	for servingVersion(t, s) != n {
		if time.Now().After(deadline) {
			late := "not within 30 s more"
			for time.Since(deadline) < 30*time.Second {
				if servingVersion(t, s) == n {
					late = fmt.Sprintf("%v late", time.Since(deadline).Round(10*time.Millisecond))
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			t.Fatalf("%s does not serve guide version %d %v after it was published (%s)\nserver output:\n%s\n%s",
				s.Base, n, switchWithin, late, s.Output(), strings.Repeat("-", 40))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
