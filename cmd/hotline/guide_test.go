package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bayannur/hotline/internal/testkit"
)

// readTree reads every file under dir, by slash path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTree(t *testing.T, a, b map[string][]byte) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d files, then %d", len(a), len(b))
	}
	for name, data := range a {
		if !bytes.Equal(data, b[name]) {
			t.Errorf("%s differs", name)
		}
	}
}

// export | import | export gives the same files, byte for byte; an export without a version in
// the database is the built-in guide's; importing the same files again stores nothing.
func TestGuideExportImportRoundTrip(t *testing.T) {
	data := t.TempDir()
	dir1, dir2 := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	code, out, errOut := runCmd(t, "", "guide", "export", "--data", data, dir1)
	if code != 0 || !strings.Contains(out, "built-in guide") {
		t.Fatalf("export: exit %d: %s %s", code, out, errOut)
	}
	files := readTree(t, dir1)
	if len(files) < 10 || files["contacts.yaml"] == nil {
		t.Fatalf("export wrote %d files, contacts.yaml %v", len(files), files["contacts.yaml"] != nil)
	}
	// A change, as a manager would make in git.
	contacts := bytes.Replace(files["contacts.yaml"], []byte("199-0000-1104"), []byte("199-0000-9999"), 1)
	if bytes.Equal(contacts, files["contacts.yaml"]) {
		t.Fatal("the sample has no 199-0000-1104")
	}
	os.WriteFile(filepath.Join(dir1, "contacts.yaml"), contacts, 0o644)
	files["contacts.yaml"] = contacts

	code, out, errOut = runCmd(t, "", "guide", "import", "--data", data, "--note", "范某丽换号", dir1)
	if code != 0 || !strings.Contains(out, "imported as version 1") {
		t.Fatalf("import: exit %d: %s %s", code, out, errOut)
	}
	code, out, errOut = runCmd(t, "", "guide", "export", "--data", data, dir2)
	if code != 0 || !strings.Contains(out, "version 1") || !strings.Contains(out, "范某丽换号") {
		t.Fatalf("export of version 1: exit %d: %s %s", code, out, errOut)
	}
	sameTree(t, files, readTree(t, dir2))

	code, out, _ = runCmd(t, "", "guide", "import", "--data", data, dir2)
	if code != 0 || !strings.Contains(out, "nothing imported") {
		t.Errorf("importing the same files again: exit %d: %s", code, out)
	}
	code, _, errOut = runCmd(t, "", "guide", "export", "--data", data, dir2)
	if code != 1 || !strings.Contains(errOut, "not empty") {
		t.Errorf("export into a directory with files: exit %d: %s", code, errOut)
	}
}

// Import refuses what guide check refuses, naming file:line, and stores nothing.
func TestGuideImportRefusesProblems(t *testing.T) {
	data := t.TempDir()
	dir := filepath.Join(t.TempDir(), "g")
	if code, out, errOut := runCmd(t, "", "guide", "export", "--data", data, dir); code != 0 {
		t.Fatalf("export: %s %s", out, errOut)
	}
	path := filepath.Join(dir, "contacts.yaml")
	b, _ := os.ReadFile(path)
	lines := strings.Split(string(b), "\n")
	n := 0
	for i, l := range lines {
		if strings.Contains(l, "199-0000-1104") {
			lines[i] = strings.Replace(l, `phone: "199-0000-1104"`, `phone: ""`, 1)
			n = i + 1
		}
	}
	os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644)
	code, out, errOut := runCmd(t, "", "guide", "import", "--data", data, dir)
	want := fmt.Sprintf("contacts.yaml:%d: grid ", n)
	if code != 1 || !strings.Contains(out, want) || !strings.Contains(errOut, "nothing imported") {
		t.Fatalf("import of a guide with an empty phone: exit %d, stdout %q, stderr %q; want %q", code, out, errOut, want)
	}
	code, out, _ = runCmd(t, "", "guide", "export", "--data", data, filepath.Join(t.TempDir(), "x"))
	if code != 0 || !strings.Contains(out, "no version in the database") {
		t.Errorf("after a refused import, export: %s", out)
	}
}

// A node starts from the database's current version: an imported guide serves after a start,
// and /healthz and the metrics say which version.
func TestServeStartsFromStoredGuide(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	dir := filepath.Join(t.TempDir(), "g")
	if code, out, errOut := runCmd(t, "", "guide", "export", "--data", data, dir); code != 0 {
		t.Fatalf("export: %s %s", out, errOut)
	}
	path := filepath.Join(dir, "contacts.yaml")
	b, _ := os.ReadFile(path)
	os.WriteFile(path, bytes.Replace(b, []byte("199-0000-1102"), []byte("199-0000-5555"), 1), 0o644)
	if code, out, errOut := runCmd(t, "", "guide", "import", "--data", data, dir); code != 0 {
		t.Fatalf("import: %s %s", out, errOut)
	}
	addr := testkit.FreeAddr(t)
	s := testkit.Serve(t, addr, nil, "--addr", addr, "--data", data)
	s.WaitReady(t, 90*time.Second)
	var h struct {
		GuideVersion int64 `json:"guide_version"`
	}
	resp, err := http.Get(s.Base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if h.GuideVersion != 1 {
		t.Errorf("/healthz guide_version %d; want 1", h.GuideVersion)
	}
	resp, err = http.Post(s.Base+"/api/v1/ask", "application/json", strings.NewReader(`{"text":"网格员电话多少","community":"wy-jinqiao"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "199-0000-5555") {
		t.Errorf("the contact from the stored version: %s", body)
	}
	resp, err = http.Get(s.Base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "hotline_guide_version 1") {
		t.Errorf("/metrics lacks hotline_guide_version 1")
	}
	s.Stop(t)
}
