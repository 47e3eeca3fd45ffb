package e2e

// The guide editor's entry form on one node (the embedded store): a manager opens
// entries/dibao.yaml, changes its short answer in the form, puts it in the draft (the YAML below
// changes in that line only) and publishes; POST /api/v1/ask then answers 低保咋申请 with the new
// short answer.

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bayannur/hotline/search"
)

func TestGuideEntryFormPublished(t *testing.T) {
	d := newDesk(t, "manager:li")
	files, err := search.ReadFiles(search.SampleGuide())
	if err != nil {
		t.Fatal(err)
	}
	dibao := string(files["entries/dibao.yaml"])
	oldShort := strings.SplitN(strings.SplitN(dibao, "\n  short: ", 2)[1], "\n", 2)[0]
	const newShort = "低保到户籍所在地街道办或苏木乡镇社会救助窗口申请，带全家身份证、户口簿和收入证明；社区、嘎查村可代收。咨询 0478-555-0299。"
	type decision struct {
		Decision, Topic, Text string
	}
	ask := func() decision {
		var dec decision
		postJSON(t, d.base+"/api/v1/ask", map[string]string{"text": "低保咋申请"}, &dec)
		return dec
	}
	if dec := ask(); dec.Topic != "dibao" || !strings.Contains(dec.Text, oldShort) {
		t.Fatalf("before: 低保咋申请 answered %+v; want dibao's short answer %q", dec, oldShort)
	}

	m := d.newTab("manager")
	m.do(chromedp.Navigate(d.base + "/console/guide"))
	m.waitJS("the login form", `!document.getElementById('login-view').hidden`)
	m.typeInto("[data-testid=login-name]", "li")
	m.typeInto("[data-testid=login-password]", staffPassword)
	m.click("[data-testid=login-submit]")
	m.waitJS("the editor", `!document.querySelector('[data-testid=guide-editor]').hidden && !!document.querySelector('#file-select option[value="entries/dibao.yaml"]')`)
	m.click("[data-testid=tab-files]")
	m.setValue("[data-testid=file-select]", "entries/dibao.yaml")
	m.waitJS("the entry's form filled", `(() => { const f = document.querySelector('[data-testid=entry-form]');
		return !f.hidden && document.querySelector('[data-testid=entry-short]').value === `+jsString(oldShort)+` &&
			document.querySelector('[data-testid=entry-title]').value === '最低生活保障（低保）申请' &&
			document.querySelector('[data-testid=entry-examples]').value.split('\n')[0] === '低保咋申请' &&
			document.querySelector('[data-testid=entry-steps]').value.split('\n').length === 6 &&
			document.querySelector('[data-testid=entry-keywords]').value.startsWith('低保，最低生活保障'); })()`)
	if low := m.evalString(`[...document.querySelectorAll('[data-testid=entry-form] input, [data-testid=entry-form] textarea, [data-testid=entry-form] button')]
		.filter(e => e.getBoundingClientRect().height < 44).map(e => e.dataset.testid + ' ' + e.getBoundingClientRect().height).join(', ')`); low != "" {
		t.Errorf("controls of the entry form under 44 px high: %s", low)
	}
	m.setValue("[data-testid=entry-short]", newShort)
	m.click("[data-testid=entry-apply]")
	want := strings.Replace(dibao, "\n  short: "+oldShort+"\n", "\n  short: "+newShort+"\n", 1)
	m.waitJS("the change in the draft and the text", `document.querySelector('[data-testid=drafted]').textContent !== '' &&
		document.querySelector('[data-testid=file-text]').value === `+jsString(want))
	m.screenshot("guide-entry-form.png")
	m.click("[data-testid=lang]") // the English switch
	m.waitJS("the form in English", `document.documentElement.lang === 'en' &&
		document.querySelector('#entry-form [data-g="entry.fShort"]').textContent === 'Short answer' &&
		document.querySelector('[data-testid=entry-apply]').textContent === 'Put in the draft'`)
	m.click("[data-testid=lang]")

	m.click("[data-testid=tab-publish]")
	m.typeInto("[data-testid=publish-note]", "低保简短回答改电话")
	m.click("[data-testid=publish-run]")
	m.waitJS("the version published", `document.querySelector('[data-testid=current-version]').dataset.version === '2'`)

	// The node switches in the background: ask until it answers with the new text, or the deadline.
	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for dec := ask(); !strings.Contains(dec.Text, newShort); dec = ask() {
		if dec.Topic != "dibao" {
			t.Fatalf("低保咋申请 answered %+v; want dibao", dec)
		}
		select {
		case <-deadline.C:
			t.Fatalf("60 s after publishing, 低保咋申请 is still answered %q; want the new short answer\nserver output:\n%s", dec.Text, d.srv.Output())
		case <-tick.C:
		}
	}
	if dec := ask(); dec.Topic != "dibao" || strings.Contains(dec.Text, oldShort) {
		t.Errorf("after: %+v; want dibao without the old short answer", dec)
	}
	d.finish()
}
