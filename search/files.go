package search

import (
	"io/fs"
	"testing/fstest"
)

// ReadFiles reads every regular file of a guide directory, by slash-separated path inside it:
// the whole directory, as a version of the guide is kept (intake.GuideVersion).
func ReadFiles(fsys fs.FS) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		files[name] = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	return files, nil
}

// FilesFS is a guide directory held in memory, for Load: files by slash-separated path.
func FilesFS(files map[string][]byte) fs.FS {
	m := fstest.MapFS{}
	for name, b := range files {
		m[name] = &fstest.MapFile{Data: b, Mode: 0o644}
	}
	return m
}
