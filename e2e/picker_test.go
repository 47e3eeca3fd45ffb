package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bayannur/hotline/internal/testkit"
)

// The demo page of no community (GET /) is a city-wide page: asked for a grid worker, the widget
// offers the communities grouped by town, with a search box; typing a town's name keeps that
// town's communities only, and tapping one gives its contact card. The page of a community
// (GET /?community=…) does not ask.
func TestWidgetCommunityPicker(t *testing.T) {
	testkit.NeedChromium(t)
	addr := testkit.FreeAddr(t)
	base := "http://" + addr
	srv := testkit.Serve(t, addr, nil, "--addr", addr, "--data", filepath.Join(t.TempDir(), "data"))
	srv.WaitReady(t, 60*time.Second)
	d := &deskEnv{t: t, srv: srv, base: base, browser: surveyBrowser(t)}
	defer d.finish()

	res := d.resident()
	res.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	res.do(touch)
	res.do(chromedp.Navigate(base + "/"))
	if title := res.evalString(`document.title`); strings.Contains(title, "金桥") {
		t.Errorf("the city-wide page is titled %q, a community's name", title)
	}
	res.click("[data-testid=launcher]")
	res.waitState("the welcome", func(s *chatState) bool { return len(s.Msgs) > 0 })
	before := res.state().count("bot")
	res.say("我想找网格员", true)
	res.waitReply(before)
	picker := `[...` + root + `.querySelectorAll('[data-testid=msg][data-from=bot]')].pop()`
	res.waitJS("the communities grouped by town", `(() => { const m = `+picker+`;
		return m.querySelectorAll('[data-testid=option-group]').length >= 3 && !!m.querySelector('[data-testid=option-find]'); })()`)
	groups := res.evalString(`[...` + picker + `.querySelectorAll('[data-testid=option-group]')].map(g =>
		g.querySelector('.group-head').textContent + ':' + g.querySelectorAll('[data-testid=option]').length).join(' ')`)
	for _, town := range []string{"五原县城区:", "乌拉特中旗海流图镇:", "乌拉特前旗乌拉山镇:"} {
		if !strings.Contains(groups, town) {
			t.Errorf("the picker's groups %q lack %s", groups, strings.TrimSuffix(town, ":"))
		}
	}
	if labels := res.evalString(`[...` + picker + `.querySelectorAll('[data-testid=option]')].map(b => b.textContent).join(' ')`); strings.Contains(labels, "镇 ") {
		t.Errorf("the options %q repeat their town: the group heading says it", labels)
	}
	measure(t, res, "the community picker")
	res.screenshot(filepath.Join(t.TempDir(), "picker.png"), "/tmp/widget-picker-phone.png")

	// Typing narrows it to a town; a name no community has says so.
	find := picker + `.querySelector('[data-testid=option-find]')`
	shown := `[...` + picker + `.querySelectorAll('[data-testid=option]')].filter(b => b.getClientRects().length > 0).map(b => b.textContent).join(' ')`
	res.do(chromedp.Evaluate[chromedp.Void](`(() => { const f = ` + find + `; f.focus(); f.value = '乌拉山'; f.dispatchEvent(new Event('input')); })()`))
	res.waitJS("only 乌拉山镇's communities", `(() => { const gs = [...`+picker+`.querySelectorAll('[data-testid=option-group]')].filter(g => g.getClientRects().length > 0);
		return gs.length === 1 && gs[0].querySelector('.group-head').textContent === '乌拉特前旗乌拉山镇'; })()`)
	narrowed := res.evalString(shown)
	res.do(chromedp.Evaluate[chromedp.Void](`(() => { const f = ` + find + `; f.value = '金桥'; f.dispatchEvent(new Event('input')); })()`))
	res.waitJS("金桥 alone", shown+` === '金桥社区'`)
	res.do(chromedp.Evaluate[chromedp.Void](`(() => { const f = ` + find + `; f.value = '火星'; f.dispatchEvent(new Event('input')); })()`))
	res.waitJS("nothing found, said", `(() => { const n = `+picker+`.querySelector('.group-none'); return !!n && !n.hidden; })()`)
	res.do(chromedp.Evaluate[chromedp.Void](`(() => { const f = ` + find + `; f.value = '金桥'; f.dispatchEvent(new Event('input')); })()`))
	if narrowed == "" || strings.Contains(narrowed, "金桥") {
		t.Errorf("typing 乌拉山 left %q", narrowed)
	}

	before = res.state().count("bot")
	res.click(`[data-testid=option][data-option-id="community:wy-jinqiao"]`)
	res.waitReply(before)
	res.waitJS("金桥's contact card", `(() => { const m = [...`+root+`.querySelectorAll('[data-testid=msg][data-from=bot]')].pop();
		const c = m && m.querySelector('[data-testid=contact]'); return !!c && c.textContent.includes('金桥社区'); })()`)
	if dis := res.evalString(`String([...` + root + `.querySelectorAll('[data-testid=option-find]')].pop().disabled)`); dis != "true" {
		t.Errorf("the old picker's search box is still live after the choice")
	}

	// A community's own page knows the community: the contact comes at once.
	other := d.resident()
	other.do(chromedp.Navigate(base + "/?community=wy-jinqiao"))
	if title := other.evalString(`document.title`); !strings.Contains(title, "金桥社区") {
		t.Errorf("the community's page is titled %q", title)
	}
	other.click("[data-testid=launcher]")
	other.waitState("the welcome", func(s *chatState) bool { return len(s.Msgs) > 0 })
	before = other.state().count("bot")
	other.say("我想找网格员", true)
	other.waitReply(before)
	other.waitJS("the card without a picker", `(() => { const m = [...`+root+`.querySelectorAll('[data-testid=msg][data-from=bot]')].pop();
		return !!m.querySelector('[data-testid=contact]') && !m.querySelector('[data-testid=option-group]'); })()`)
}
