// Package modelfile keeps the bot's trained models in a directory (bot.ModelStore): a node
// restarted on the same guide and the same build loads its model instead of training it again.
//
// A model is kept under its key and the digest of the running program, since a model is features
// the program computes and another build may compute them otherwise. It is written through a
// temporary file and a rename, so that a reader never sees half of it, and the directory's other
// models (of guides and builds gone by) are removed once it is.
package modelfile

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Dir is a directory of kept models, made when the first is kept.
type Dir string

// Load returns the model kept under key, or an error when there is none.
func (d Dir) Load(key string) ([]byte, error) {
	return os.ReadFile(d.file(key))
}

// Keep keeps data as the model of key, and removes the directory's other models.
func (d Dir) Keep(key string, data []byte) error {
	dir := string(d)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "model-*.tmp")
	if err != nil {
		return err
	}
	file := d.file(key)
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), file) // not synced: a file a crash damaged is trained anew
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("keeping the model: %w", err)
	}
	old, _ := filepath.Glob(filepath.Join(dir, "model-*"))
	for _, o := range old {
		if o != file {
			os.Remove(o)
		}
	}
	return nil
}

// file is where the model of key is kept: named by a digest of key and of the running program.
func (d Dir) file(key string) string {
	h := sha256.New()
	io.WriteString(h, key)
	h.Write(programDigest())
	return filepath.Join(string(d), fmt.Sprintf("model-%x.bin", h.Sum(nil)))
}

var programDigest = sync.OnceValue(func() []byte {
	h := sha256.New()
	if exe, err := os.Executable(); err == nil {
		if f, err := os.Open(exe); err == nil {
			defer f.Close()
			if _, err := io.Copy(h, f); err == nil {
				return h.Sum(nil)
			}
		}
	}
	// Without its own file the program cannot tell builds apart: a key no other start shares.
	fmt.Fprintf(h, "%d %d", os.Getpid(), time.Now().UnixNano())
	return h.Sum(nil)
})
