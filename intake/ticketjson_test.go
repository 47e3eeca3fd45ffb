package intake_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
)

var update = flag.Bool("update", false, "rewrite the golden JSON files in testdata")

// filledTicket sets every field of a ticket, none to its zero value.
func filledTicket() *intake.Ticket {
	at := time.Date(2026, 11, 23, 9, 0, 0, 123456789, intake.Beijing)
	lat, lng, solved, signedOK, resolvedOK := 40.7435, 107.3877, false, true, false
	t := &intake.Ticket{}
	t.Number, t.Category, t.Topic = "20261123-0001", "municipal", "report-streetlight"
	t.Community, t.Grid, t.Tier, t.Urgency = "wy-jinqiao", "wy-jinqiao-g2", intake.TierCommunity, intake.Urgent
	t.Description, t.Address = "虹亚小区3号楼门口路灯不亮 <已三天> & 无人管", "临河区虹亚小区3号楼"
	t.Lat, t.Lng, t.Name, t.Phone, t.AccessCode = &lat, &lng, "王女士", "13812345678", "042917"
	t.Channel, t.ConversationID, t.Assignee = intake.ChannelChat, "conv-7", "网格员 廖某凤"
	t.Status = intake.Rated
	t.Steps = map[intake.Status]time.Time{
		intake.Received: at, intake.Dispatched: at.Add(time.Minute), intake.Signed: at.Add(time.Hour),
		intake.Resolved: at.Add(3 * time.Hour), intake.Rated: at.Add(5 * time.Hour),
	}
	t.SignBy, t.DueBy = at.Add(2*time.Hour), at.Add(72*time.Hour)
	t.Extension = &intake.Extension{State: intake.ExtensionRefused, Until: at.Add(96 * time.Hour),
		Reason: "需要采购灯具", Requested: at.Add(2 * time.Hour)}
	t.Urged, t.Overdue, t.Reopened = 2, true, 1
	t.Reply, t.Rating, t.Solved = "已更换灯泡", intake.BasicallySatisfied, &solved
	t.RatingNote, t.RatedAt = "来得挺快", at.Add(5*time.Hour).UTC()
	t.Ratings = []intake.RatingRecord{{Rating: intake.Dissatisfied, At: at.Add(2 * time.Hour)},
		{Rating: intake.BasicallySatisfied, Solved: &solved, At: at.Add(5 * time.Hour)}}
	t.SignedOnTime, t.ResolvedOnTime, t.ResolvedAt = &signedOK, &resolvedOK, at.Add(3*time.Hour)
	t.Created, t.Updated, t.Version = at, at.Add(5*time.Hour), 7
	return t
}

// The API's JSON of a ticket is the contract with the desk, the dashboard and Open311 clients:
// however Ticket is arranged in Go, a full and an empty ticket encode to the same bytes as the
// golden files (made from the flat 36-field struct), and what is decoded encodes the same again.
func TestTicketJSON(t *testing.T) {
	full := filledTicket()
	v := reflect.ValueOf(*full)
	for _, f := range reflect.VisibleFields(v.Type()) {
		if !f.Anonymous && v.FieldByIndex(f.Index).IsZero() {
			t.Errorf("filledTicket leaves %s zero", f.Name)
		}
	}
	for file, tk := range map[string]*intake.Ticket{"ticket_full.json": full, "ticket_zero.json": {}} {
		var b bytes.Buffer
		enc := json.NewEncoder(&b) // as web's writeJSON
		enc.SetEscapeHTML(false)
		if err := enc.Encode(tk); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", file)
		if *update {
			if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b.Bytes(), want) {
			t.Errorf("%s changed:\n got %s\nwant %s", file, b.Bytes(), want)
		}
		var back intake.Ticket
		if err := json.Unmarshal(want, &back); err != nil {
			t.Fatal(err)
		}
		b.Reset()
		if err := enc.Encode(&back); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b.Bytes(), want) {
			t.Errorf("%s decoded and encoded again:\n got %s\nwant %s", file, b.Bytes(), want)
		}
	}
}
