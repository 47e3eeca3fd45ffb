package migrations

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"testing"
	"testing/fstest"
)

// The shipped files, byte for byte: databases in service were made by them, and the stores' tests
// of old databases apply them as the old code did. A new migration is a new file (add it here).
var shipped = map[string]string{
	"0001_init.sqlite.sql":          "bddc362bff18f8281ba635aebff12ebb023d29e4154e46920126edb610b82d5e",
	"0002_chat.sqlite.sql":          "1fe88c891835eab5df47b91c8cecc809d294033138259c2095f6dcd39b40a33b",
	"0003_desk.sqlite.sql":          "99c671b84a78e84e70520ca5280cfc6c601ffaa41911f067b73ace4755d0764f",
	"0004_rates.sqlite.sql":         "a3d8348370a41fc844637a10fc2c253c711c5816b0e9147aabdf4346e28d0552",
	"0005_staff_numbers.sqlite.sql": "bf1464c5be1f8c776a9a68a200f237306aa0fa026902f7db05631c900481b0f0",
	// intake/postgres's 0001_init.sql and 0002_desk_bus.sql before the one list.
	"0001_init.postgres.sql":         "f669b32ff684ca42359a536e20ceca2e4ba7c8fa1c5c882362d8a93e296ba163",
	"0006_desk_bus.postgres.sql":     "3676728249d5ecaebfbe98a5a8996f92282b31a8839e89c39223fbda4e6d2650",
	"0007_token_expiry.sqlite.sql":   "b4f888bbae316835f185fa2993b04f77fd9afd5be5a8f4610fec562638285f22",
	"0007_token_expiry.postgres.sql": "370b5ee6db875639e6b7cfff2d1f0e2f1f4ad622d8fd52e426c0eb4ce6e8577b",
	// Tickets' access codes (issue 12).
	"0008_access_code.sql": "04a89704f564a2e00955db8a0440f2d6a86d4c79540861202e237fad4b8a2f21",
	// The readiness probe's row (GET /readyz).
	"0009_store_probe.sqlite.sql":   "ddf709bd7722ee4d32d4b847412fce21c708f569ad037d096c89029cba90472d",
	"0009_store_probe.postgres.sql": "356b3d85d20c057f9288cabc64f894c7f3ee7411ba71d712eade1e67a783e1c7",
	// Residents' photos with their reports.
	"0010_attachments.sqlite.sql":   "a85bcf55423a60c4e4a778e0ffed7c47da4ae139c47b274a2f10b310a868f57c",
	"0010_attachments.postgres.sql": "9f5ee921cbd45d3734c726ccb6f0c95e0233df25bfbd9a6f051b4b64d7220bae",
	// Webhooks: subscriptions, the outbox, deliveries (issue 17; 0011 is another branch's).
	"0012_webhooks.sqlite.sql":   "5324de77a5b14c3061658214583c2455c866e455a7af3dd7c973dd16e78ece66",
	"0012_webhooks.postgres.sql": "7f04bb33ba7949d2423fb6f117e5a223b939c4724867b42603cfb17afde692db",
	// The guide's versions (issue 16).
	"0013_guide_versions.sqlite.sql":   "c9d0589b7a65f0c2e3f363b36030eefbf3ac67c04a18c0d5cb450cd6aad1078a",
	"0013_guide_versions.postgres.sql": "066189763a47b6b65e26a8164e88b250dca2a79a15ad1fd2b0d71c507c4d78b8",
	// A photo sent in the chat is a turn naming it.
	"0014_turn_attachments.sqlite.sql":   "478159bc87dd9851a7970d9f3c6592b4f9e1c0e4448749849f3b230d3920415f",
	"0014_turn_attachments.postgres.sql": "11977fba6f5d1ff815802e58b4ec204a9f9d8be8cf296f845424bd7bbeb09dbf",
	// Failed staff logins, shared by the nodes.
	"0015_login_failures.sqlite.sql":   "989d514d4687b3023da0c08ed287cd2aca3434ef27d52094e980305d10579a1a",
	"0015_login_failures.postgres.sql": "cdcb70f2281d85661a7b38353e07844cff229462f6389cb90e2ed8c18ddf9d8d",
	// Failed access codes of tickets, shared by the nodes.
	"0016_follow_failures.sqlite.sql":   "311e658d4ea9a4b0471aba6a0138291a6e13bd1ca8f9a3514aa226f3e3731dd2",
	"0016_follow_failures.postgres.sql": "e327c24a6a065aec2a06b4cbad45dd10126865e14d4f55c1ad7d582a11f6019c",
}

func TestShippedFilesUnchanged(t *testing.T) {
	names, err := fs.Glob(files, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != len(shipped) {
		t.Errorf("files %v; want the %d shipped ones (a new one is added to shipped)", names, len(shipped))
	}
	for _, name := range names {
		b, err := fs.ReadFile(files, name)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != shipped[name] {
			t.Errorf("%s has SHA-256 %s; want %q: a shipped migration is never edited", name, got, shipped[name])
		}
	}
}

// Both dialects record the same versions under the same names; each runs its own SQL, or none
// where its schema already has the version.
func TestOneList(t *testing.T) {
	lite, err := For("sqlite")
	if err != nil {
		t.Fatal(err)
	}
	pg, err := For("postgres")
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"0001_init.sql", "0002_chat.sql", "0003_desk.sql", "0004_rates.sql", "0005_staff_numbers.sql", "0006_desk_bus.sql",
		"0007_token_expiry.sql", "0008_access_code.sql", "0009_store_probe.sql", "0010_attachments.sql", "0012_webhooks.sql", "0013_guide_versions.sql", "0014_turn_attachments.sql",
		"0015_login_failures.sql", "0016_follow_failures.sql"}
	versions := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16}
	liteRuns := []bool{true, true, true, true, true, false, true, true, true, true, true, true, true, true, true}
	pgRuns := []bool{true, false, false, false, false, true, true, true, true, true, true, true, true, true, true}
	if len(lite) != len(names) || len(pg) != len(names) {
		t.Fatalf("%d and %d migrations; want %d", len(lite), len(pg), len(names))
	}
	for i, name := range names {
		for _, c := range []struct {
			d    string
			m    Migration
			runs bool
		}{{"sqlite", lite[i], liteRuns[i]}, {"postgres", pg[i], pgRuns[i]}} {
			if c.m.Version != versions[i] || c.m.Name != name || (c.m.SQL != "") != c.runs {
				t.Errorf("%s migration %d: %d %s, SQL %q…; want %d %s, SQL %v", c.d, i, c.m.Version, c.m.Name,
					c.m.SQL[:min(len(c.m.SQL), 20)], versions[i], name, c.runs)
			}
		}
	}
}

// An old history's renumbered records land on versions of the list.
func TestRenumbered(t *testing.T) {
	if r := Renumbered("sqlite"); len(r) != 0 {
		t.Errorf("SQLite renumberings %v; want none (its migrate makes none)", r)
	}
	pg, _ := For("postgres")
	for _, r := range Renumbered("postgres") {
		if r.To < 1 || r.To > len(pg) || pg[r.To-1].SQL == "" || r.Version == r.To {
			t.Errorf("renumbering %+v: want it to land on a migration PostgreSQL runs", r)
		}
	}
}

func TestRead(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0010_fill.sql":           {Data: []byte("fill")},
		"m/0002_table.sqlite.sql":   {Data: []byte("lite")},
		"m/0002_table.postgres.sql": {Data: []byte("pg")},
		"m/0003_pg.postgres.sql":    {Data: []byte("pg only")},
		"m/README":                  {Data: []byte("not a migration")},
	}
	for d, want := range map[string][]Migration{
		"sqlite":   {{2, "0002_table.sql", "lite"}, {3, "0003_pg.sql", ""}, {10, "0010_fill.sql", "fill"}},
		"postgres": {{2, "0002_table.sql", "pg"}, {3, "0003_pg.sql", "pg only"}, {10, "0010_fill.sql", "fill"}},
	} {
		got, err := Read(fsys, "m", d)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %+v; want %+v", d, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s: %+v; want %+v", d, got[i], want[i])
			}
		}
	}
	for _, bad := range []fstest.MapFS{
		{"m/0001_a.sql": {}, "m/1_b.sql": {}},                    // one number, two names
		{"m/0001_a.sql": {}, "m/0001_a.sqlite.sql": {}},          // both and one dialect
		{"m/0001_a.sqlite.sql": {}, "m/0001_b.postgres.sql": {}}, // one number, two names
		{"m/0001_a.mysql.sql": {}},                               // no such dialect
		{"m/init.sql": {}},                                       // no number
		{"m/0000_zero.sql": {}},                                  // numbers start at 1
	} {
		if ms, err := Read(bad, "m", "sqlite"); err == nil {
			t.Errorf("Read(%v) = %+v; want an error", bad, ms)
		}
	}
}
