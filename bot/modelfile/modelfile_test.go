package modelfile

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// A model kept is loaded back as it was; keeping another removes the first and anything else
// named as a model, and leaves no temporary file; a key never kept is an error, and a directory
// that cannot be made is one too.
func TestKeepAndLoad(t *testing.T) {
	d := Dir(filepath.Join(t.TempDir(), "models"))
	if _, err := d.Load("a"); err == nil {
		t.Fatal("loaded a model never kept")
	}
	if err := d.Keep("a", []byte("model a")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(string(d), "model-of-another-build.bin"), []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := d.Load("a")
	if err != nil || !bytes.Equal(got, []byte("model a")) {
		t.Fatalf("load a: %q, %v", got, err)
	}
	if err := d.Keep("b", []byte("model b")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Load("a"); err == nil {
		t.Error("the older model is still kept")
	}
	if got, err := d.Load("b"); err != nil || string(got) != "model b" {
		t.Errorf("load b: %q, %v", got, err)
	}
	files, _ := filepath.Glob(filepath.Join(string(d), "*"))
	if len(files) != 1 {
		t.Errorf("files kept: %v, want the one model", files)
	}

	blocker := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Dir(filepath.Join(blocker, "models")).Keep("a", []byte("x")); err == nil {
		t.Error("kept a model under a file")
	}
}

// Two keys never share a file, and every file is in the directory.
func TestFileNames(t *testing.T) {
	d := Dir("m")
	if d.file("a") == d.file("b") {
		t.Error("two keys, one file")
	}
	if filepath.Dir(d.file("a")) != "m" {
		t.Errorf("kept outside the directory: %s", d.file("a"))
	}
}
