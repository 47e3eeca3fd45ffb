package web_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/bayannur/hotline/bot"
	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/web"
)

// jpegBytes is something a JPEG starts with, n bytes long.
func jpegBytes(n int) []byte {
	b := bytes.Repeat([]byte{0x11}, n)
	copy(b, []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F'})
	return b
}

type upload struct {
	status int
	header http.Header
	code   string
	body   []byte
}

// post sends a request to the chat environment's server.
func (e *chatEnv) post(method, path string, body []byte, hdr ...string) upload {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.ts.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var er struct{ Code string }
	json.Unmarshal(b, &er)
	return upload{resp.StatusCode, resp.Header, er.Code, b}
}

// staffToken adds a staff account and returns an API token of it.
func (e *chatEnv) staffToken(name string, role intake.Role, grid string) string {
	e.t.Helper()
	if err := e.store.AddUser(e.t.Context(), &intake.User{Name: name, Role: role, Grid: grid, PasswordHash: "x"}); err != nil {
		e.t.Fatal(err)
	}
	token, hash := web.NewToken()
	if err := e.store.AddToken(e.t.Context(), intake.APIToken{TokenHash: hash, User: name, Label: "test"}); err != nil {
		e.t.Fatal(err)
	}
	return token
}

// A photo sent with the chat's session is checked (session, size, type by its bytes, count),
// kept with the conversation, given to the ticket it opens with the location the widget sent, and
// read by staff who may see the ticket.
func TestChatPhotoUpload(t *testing.T) {
	e := newChatEnv(t, chatOptions{origins: []string{"https://wy.example.cn"}})
	c := e.dial()
	session := c.hello("", "wy-jinqiao").Session
	const path = "/api/v1/chat/attachments"
	photo := jpegBytes(300 << 10)

	// Before the conversation is stored (a hello alone), its session is unknown.
	if r := e.post("POST", path, photo, "X-Hotline-Session", session); r.status != 401 || r.code != "unknown_session" {
		t.Errorf("a session with no message: %d %s; want 401 unknown_session", r.status, r.body)
	}
	c.ask("低保怎么申请")

	for _, tc := range []struct {
		name   string
		body   []byte
		hdr    []string
		status int
		code   string
	}{
		{"no session", photo, nil, 401, "unknown_session"},
		{"unknown session", photo, []string{"X-Hotline-Session", "nope"}, 401, "unknown_session"},
		{"too large", jpegBytes(intake.MaxAttachmentBytes + 1), []string{"X-Hotline-Session", session}, 413, "too_large"},
		{"text", []byte("<svg xmlns='http://www.w3.org/2000/svg'/>"), []string{"X-Hotline-Session", session, "Content-Type", "image/jpeg"}, 415, "bad_type"},
		{"gif", []byte("GIF89a\x01\x00\x01\x00"), []string{"X-Hotline-Session", session}, 415, "bad_type"},
		{"empty", nil, []string{"X-Hotline-Session", session}, 400, "empty"},
		{"another origin", photo, []string{"X-Hotline-Session", session, "Origin", "https://evil.example"}, 403, "forbidden_origin"},
	} {
		r := e.post("POST", path, tc.body, tc.hdr...)
		if r.status != tc.status || r.code != tc.code {
			t.Errorf("%s: %d %s; want %d %s", tc.name, r.status, r.body, tc.status, tc.code)
		}
		if r.status >= 400 && !strings.Contains(string(r.body), "(") {
			t.Errorf("%s: %s; want a message in both languages", tc.name, r.body)
		}
	}

	// An allowed origin's page may upload: the preflight says so.
	pre := e.post("OPTIONS", path, nil, "Origin", "https://wy.example.cn", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "x-hotline-session")
	if pre.status != 204 || pre.header.Get("Access-Control-Allow-Origin") != "https://wy.example.cn" ||
		!strings.Contains(pre.header.Get("Access-Control-Allow-Headers"), "X-Hotline-Session") {
		t.Errorf("preflight: %d %v", pre.status, pre.header)
	}
	r := e.post("POST", path, photo, "X-Hotline-Session", session, "Origin", "https://wy.example.cn", "Content-Type", "image/jpeg")
	if r.status != 201 || r.header.Get("Access-Control-Allow-Origin") != "https://wy.example.cn" {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	var stored intake.Attachment
	if err := json.Unmarshal(r.body, &stored); err != nil || stored.ID == "" || stored.Type != "image/jpeg" || stored.Size != len(photo) {
		t.Fatalf("upload answered %s", r.body)
	}
	png := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 64)...)
	if r := e.post("POST", path, png, "X-Hotline-Session", session); r.status != 201 || !strings.Contains(string(r.body), "image/png") {
		t.Errorf("a PNG: %d %s", r.status, r.body)
	}

	// The location goes with the report.
	c.send(map[string]any{"type": "location", "id": "loc1", "lat": 200, "lng": 107.39})
	if f := c.read(); f.Type != "error" || f.Code != "bad_location" {
		t.Errorf("a latitude of 200: %s; want bad_location", f)
	}
	c.send(map[string]any{"type": "location", "id": "loc2", "lat": 41.0967, "lng": 108.2857})
	if f := c.read(); f.Type != "location" || f.ReplyTo != "loc2" {
		t.Errorf("location: %s", f)
	}
	tk := e.report(c, "俺们楼门口的路灯坏了好几天了")
	if tk.Lat == nil || tk.Lng == nil || *tk.Lat != 41.0967 || *tk.Lng != 108.2857 {
		t.Errorf("ticket lat/lng %v %v; want the resident's location", tk.Lat, tk.Lng)
	}

	op := e.staffToken("op", intake.RoleOperator, "")
	list := e.post("GET", "/api/v1/tickets/"+tk.Number+"/attachments", nil, "Authorization", "Bearer "+op)
	var l struct {
		Attachments []struct {
			ID, Type, URL string
			Size          int
		}
	}
	if err := json.Unmarshal(list.body, &l); list.status != 200 || err != nil || len(l.Attachments) != 2 || l.Attachments[0].ID != stored.ID {
		t.Fatalf("the ticket's photos: %d %s", list.status, list.body)
	}
	got := e.post("GET", l.Attachments[0].URL, nil, "Authorization", "Bearer "+op)
	if got.status != 200 || !bytes.Equal(got.body, photo) || got.header.Get("Content-Type") != "image/jpeg" ||
		got.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("the photo: %d %v, %d bytes", got.status, got.header, len(got.body))
	}
	if r := e.post("GET", l.Attachments[0].URL, nil); r.status != 401 {
		t.Errorf("the photo without a login: %d", r.status)
	}
	if r := e.post("GET", "/api/v1/tickets/"+tk.Number+"/attachments/nope", nil, "Authorization", "Bearer "+op); r.status != 404 {
		t.Errorf("an unknown photo: %d", r.status)
	}
	// A grid worker sees its own grid's tickets' photos, and no other's.
	own := e.staffToken("gw-own", intake.RoleGridWorker, tk.Grid)
	other := e.staffToken("gw-other", intake.RoleGridWorker, tk.Grid+"-other")
	if r := e.post("GET", l.Attachments[0].URL, nil, "Authorization", "Bearer "+own); r.status != 200 {
		t.Errorf("the ticket's grid worker: %d", r.status)
	}
	if r := e.post("GET", l.Attachments[0].URL, nil, "Authorization", "Bearer "+other); r.status != 403 {
		t.Errorf("another grid's worker: %d; want 403", r.status)
	}
	if r := e.post("GET", "/api/v1/tickets/"+tk.Number+"/attachments", nil, "Authorization", "Bearer "+other); r.status != 403 {
		t.Errorf("another grid's worker, the list: %d; want 403", r.status)
	}
	// The photos are turns of the chat, where they were sent: the history shows them, and the
	// desk reads them under the chat (a grid worker does not: the chat is the desk's).
	w := e.dial().hello(session, "")
	var photoTurns []string
	for _, turn := range w.History {
		if turn.Attachment != "" {
			photoTurns = append(photoTurns, turn.From+" "+turn.Text+" "+turn.Attachment)
		}
	}
	if len(photoTurns) != 2 || photoTurns[0] != "resident 📷 照片 "+stored.ID {
		t.Errorf("the history's photo turns %q; want the two photos, the first %s", photoTurns, stored.ID)
	}
	chatPhoto := "/api/v1/chats/" + tk.ConversationID + "/attachments/" + stored.ID
	if r := e.post("GET", chatPhoto, nil, "Authorization", "Bearer "+op); r.status != 200 || !bytes.Equal(r.body, photo) {
		t.Errorf("the chat's photo for an operator: %d, %d bytes", r.status, len(r.body))
	}
	if r := e.post("GET", chatPhoto, nil, "Authorization", "Bearer "+own); r.status != 403 {
		t.Errorf("the chat's photo for a grid worker: %d; want 403", r.status)
	}
	if r := e.post("GET", "/api/v1/chats/other-conversation/attachments/"+stored.ID, nil, "Authorization", "Bearer "+op); r.status != 404 {
		t.Errorf("a photo under another chat: %d; want 404", r.status)
	}

	// A photo is read only under its own ticket.
	tk2 := e.report(c, "路灯又坏了")
	if r := e.post("GET", "/api/v1/tickets/"+tk2.Number+"/attachments/"+stored.ID, nil, "Authorization", "Bearer "+op); r.status != 404 {
		t.Errorf("a photo under another ticket: %d; want 404", r.status)
	}
	if tk2.Lat != nil {
		t.Errorf("the second ticket has the first one's location")
	}

	// At most ten a conversation.
	for i := 2; i < intake.MaxAttachmentsPerConversation; i++ {
		if r := e.post("POST", path, png, "X-Hotline-Session", session); r.status != 201 {
			t.Fatalf("photo %d: %d %s", i+1, r.status, r.body)
		}
	}
	if r := e.post("POST", path, png, "X-Hotline-Session", session); r.status != 409 || r.code != "too_many" {
		t.Errorf("photo 11: %d %s; want 409 too_many", r.status, r.body)
	}
}

// A location sent while the bot asks where the problem is answers that question: the bot goes on
// to the phone, the ticket's address says it is the phone's location and its lat/lng are kept, and
// the history shows the resident's answer as 📍 我的位置. Sent at any other step it only goes
// with the ticket.
func TestChatLocationAnswersWhere(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	c := e.dial()
	session := c.hello("", "wy-jinqiao").Session
	f := c.ask("俺们楼门口的路灯坏了好几天了")
	if f.Decision != bot.Report || !strings.Contains(f.Text, "地点") {
		t.Fatalf("the report's first question: %s; want where", f)
	}
	// A made-up place option is refused, and the question stays.
	c.send(map[string]any{"type": "choose", "id": "bad1", "option": "place:91,108"})
	if f := c.read(); f.Type != "error" || f.Code != "bad_option" || f.ReplyTo != "bad1" {
		t.Fatalf("a latitude of 91 as a place option: %s; want bad_option", f)
	}
	c.send(map[string]any{"type": "location", "id": "loc1", "lat": 41.0967, "lng": 108.2857})
	var ack struct {
		ReplyTo      string `json:"reply_to"`
		OK, Answered bool
	}
	if err := json.Unmarshal(c.readRaw(), &ack); err != nil || ack.ReplyTo != "loc1" || !ack.OK || !ack.Answered {
		t.Fatalf("the location's answer: %+v %v; want ok and answered", ack, err)
	}
	f = c.read()
	if f.Type != "reply" || f.ReplyTo != "loc1" || f.Decision != bot.Report || !strings.Contains(f.Text, "电话") {
		t.Fatalf("after the location: %s; want the phone asked, in reply to loc1", f)
	}
	// Another location now is only kept (the place is answered).
	ack.Answered = false
	c.send(map[string]any{"type": "location", "id": "loc2", "lat": 41.0968, "lng": 108.2858})
	if err := json.Unmarshal(c.readRaw(), &ack); err != nil || ack.ReplyTo != "loc2" || ack.Answered {
		t.Fatalf("a second location: %+v %v; want ok, not answered", ack, err)
	}
	f = c.ask("13812345678")
	if !strings.Contains(f.Text, "北纬41.09670") {
		t.Errorf("the confirmation %q does not say the place is the phone's location", f.Text)
	}
	tk := e.wantTicket(c.choose("confirm"), "wy-jinqiao")
	if !strings.Contains(tk.Address, "手机定位") || tk.Lat == nil || *tk.Lat != 41.0967 || tk.Lng == nil || *tk.Lng != 108.2857 {
		t.Errorf("the ticket's address %q lat %v lng %v; want the location that answered where (the address says it)", tk.Address, tk.Lat, tk.Lng)
	}
	r := e.dial()
	w := r.hello(session, "")
	var located bool
	for _, turn := range w.History {
		located = located || turn.From == "resident" && turn.Text == "📍 我的位置"
	}
	if !located {
		t.Errorf("the history %+v lacks the resident's 📍 我的位置", w.History)
	}
}
