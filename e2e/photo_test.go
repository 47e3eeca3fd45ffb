package e2e

// A photo and the location sent from the widget with a report (docs/protocol.md, "Photos" and
// "Location"), against the real binary: the widget shrinks the photo and uploads it with the
// chat's session, the server gives it to the ticket the report opens, an operator reads it through
// the API and sees it in the console's ticket detail, a grid worker of another grid may not.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bayannur/hotline/internal/testkit"
)

// bigPhoto writes a 2400×1800 PNG of noise (several MB, too big to send as it is) to dir.
func bigPhoto(t *testing.T, dir string) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 2400, 1800))
	r := rand.New(rand.NewPCG(1, 2))
	for y := 0; y < 1800; y++ {
		for x := 0; x < 2400; x++ {
			img.Set(x, y, color.RGBA{uint8(x / 10), uint8(y / 8), uint8(r.IntN(256)), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "路灯.png")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("the photo: %d bytes", b.Len())
	return path
}

func TestWidgetPhoto(t *testing.T) {
	testkit.NeedChromium(t)
	data := filepath.Join(t.TempDir(), "data")
	addStaff(t, data, "operator", "op1")
	addr := testkit.FreeAddr(t)
	base := "http://" + addr
	srv := testkit.Serve(t, addr, nil, "--addr", addr, "--data", data)
	srv.WaitReady(t, 60*time.Second)
	d := &deskEnv{t: t, srv: srv, base: base, browser: surveyBrowser(t)}
	defer d.finish()
	h := &dashHotline{t: t, data: data, base: base, srv: srv}
	photo := bigPhoto(t, t.TempDir())

	res := d.resident()
	openWidget(res, base)
	// The browser's position, as navigator.geolocation gives it (a headless browser has none).
	res.do(chromedp.Evaluate[chromedp.Void](`Object.defineProperty(navigator, 'geolocation', {configurable: true, value: {
		getCurrentPosition: ok => setTimeout(() => ok({coords: {latitude: 41.0967, longitude: 108.2857, accuracy: 12}}), 10)}})`))
	if on := res.evalString(`String(` + root + `.querySelector('[data-testid=report-tools]').classList.contains('on'))`); on != "false" {
		t.Errorf("the photo and location buttons show before any report")
	}

	// A report: the photo and the location go with it.
	ticketRe := regexp.MustCompile(`\d{8}-\d{4}`)
	before := res.state().count("bot")
	res.say("虹亚小区3号楼门口的路灯坏了", true)
	res.waitReply(before)
	res.waitJS("the photo and location buttons in the report", root+`.querySelector('[data-testid=report-tools]').classList.contains('on')`)
	res.do(chromedp.SetUploadFiles(chromedp.JSPath(root+`.querySelector('[data-testid=photo-input]')`), []string{photo}))
	res.waitJS("the photo sent", `(() => { const m = `+root+`.querySelector('[data-testid=msg][data-photo]');
		if (m && m.dataset.photo === 'failed') throw new Error('the upload failed: ' + [...`+root+`.querySelectorAll('[data-local=photo-error]')].map(e => e.textContent).join());
		return !!m && m.dataset.photo === 'sent' && !!m.querySelector('canvas'); })()`)
	// Asked where, the location is the answer: it shows as the resident's, the bot asks the phone.
	if q := res.state().last("bot").Text; !strings.Contains(q, "地点") {
		t.Fatalf("the bot's question before the location: %q; want where", q)
	}
	before = res.state().count("bot")
	res.click("[data-testid=location]")
	res.waitJS("the location as the answer", `!!`+root+`.querySelector('[data-testid=msg][data-from=resident][data-location]')`)
	if q := res.waitReply(before).last("bot").Text; !strings.Contains(q, "电话") {
		t.Errorf("after the location the bot says %q; want the phone asked", q)
	}

	var number string
	for step := 0; number == "" && step < 6; step++ {
		st := res.state()
		last := st.last("bot")
		if m := ticketRe.FindString(last.Text); m != "" && strings.Contains(last.Ticket, m) {
			number = m
			break
		}
		before = st.count("bot")
		question := last.Text
		if i := strings.LastIndex(question, "\n\n"); i >= 0 {
			question = question[i+2:]
		}
		switch {
		case slices.Contains(st.Options, "confirm"):
			res.click(`[data-testid=option][data-option-id=confirm]:not([disabled])`)
		case strings.Contains(question, "地点"):
			res.say("虹亚小区3号楼", true)
		case strings.Contains(question, "电话"):
			res.say("13812345678", true)
		default:
			t.Fatalf("unexpected step in the report: %q (options %v)", last.Text, st.Options)
		}
		res.waitReply(before)
	}
	if number == "" {
		t.Fatalf("no ticket:\n%s", res.state())
	}
	res.waitJS("the buttons gone with the report", `!`+root+`.querySelector('[data-testid=report-tools]').classList.contains('on')`)

	// The operator reads it through the API: one JPEG, shrunk to 1600 px, under 2 MiB.
	op := h.login("op1", staffPassword)
	st, b := op.do(http.MethodGet, "/api/v1/tickets/"+number+"/attachments", nil)
	var list struct {
		Attachments []struct {
			ID, Type, URL string
			Size          int
		}
	}
	if st != http.StatusOK || json.Unmarshal(b, &list) != nil || len(list.Attachments) != 1 {
		t.Fatalf("the ticket's photos: %d %s", st, b)
	}
	a := list.Attachments[0]
	st, hdr, body := op.get(a.URL)
	if st != http.StatusOK || hdr.Get("Content-Type") != "image/jpeg" || len(body) != a.Size || len(body) > 2<<20 {
		t.Fatalf("the photo: %d %s, %d bytes (listed %d)", st, hdr.Get("Content-Type"), len(body), a.Size)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(body))
	if err != nil || cfg.Width != 1600 || cfg.Height != 1200 {
		t.Errorf("the stored photo is %dx%d (%v); want the 2400×1800 photo shrunk to 1600×1200", cfg.Width, cfg.Height, err)
	}
	t.Logf("stored: %d bytes, %dx%d", len(body), cfg.Width, cfg.Height)
	// The location went with the ticket.
	st, b = op.do(http.MethodGet, "/api/v1/tickets/"+number, nil)
	var tk struct {
		Lat, Lng *float64
		Grid     string
	}
	if json.Unmarshal(b, &tk) != nil || tk.Lat == nil || tk.Lng == nil || *tk.Lat != 41.0967 || *tk.Lng != 108.2857 {
		t.Errorf("the ticket's place: %d %s; want lat 41.0967, lng 108.2857", st, b)
	}
	// The ticket's grid worker sees it; one of another grid may not.
	addStaffGrid(t, h, "gw-here", tk.Grid)
	if st, _, _ := h.login("gw-here", staffPassword).get(a.URL); st != http.StatusOK {
		t.Errorf("the ticket's grid worker (%s) reading the photo: %d; want 200", tk.Grid, st)
	}
	addStaffGrid(t, h, "gw-elsewhere", "wy-zhongshan-g1")
	if st, _, _ := h.login("gw-elsewhere", staffPassword).get(a.URL); st != http.StatusForbidden {
		t.Errorf("another grid's worker reading the photo: %d; want 403", st)
	}

	// The console's ticket detail shows it.
	con := d.operator("op1")
	con.click("[data-testid=tab-tickets]")
	row := fmt.Sprintf(`[data-testid=ticket-row][data-number=%q]`, number)
	con.waitJS("the ticket in the queue", fmt.Sprintf(`!!document.querySelector(%q)`, row))
	con.click(row)
	con.waitJS("the photo in the ticket's detail", `(() => { const i = document.querySelector('[data-testid=ticket-detail] [data-testid=ticket-photo]');
		return !!i && i.complete && i.naturalWidth === 1600; })()`)
	con.screenshot("console-photo.png")
}

// addStaffGrid adds a grid worker of grid while the server runs.
func addStaffGrid(t *testing.T, h *dashHotline, name, grid string) {
	t.Helper()
	cmd := testkit.Command(t, "user", "add", "--role", "grid_worker", "--grid", grid, "--data", h.data, name)
	cmd.Stdin = strings.NewReader(staffPassword + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hotline user add %s: %v\n%s", name, err, out)
	}
}
