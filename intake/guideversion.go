package intake

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// Guide versions. The guide (a directory of YAML files, docs/guide-format.md) is kept in the
// database as a list of versions, each the whole directory, numbered 1, 2, … and never changed
// once stored: the current version is the highest number. A rollback publishes an earlier
// version's files again as a new version (RollbackOf says which), so the history stays whole.

// GuideFile is one file of a guide directory: its slash-separated path inside the directory
// (contacts.yaml, entries/report-streetlight.yaml) and its content.
type GuideFile struct {
	Name string
	Data []byte
}

// GuideVersion is one published version of the guide.
type GuideVersion struct {
	Number     int64
	Author     string // the staff account that published it; "" from the command line
	Note       string
	Published  time.Time
	RollbackOf int64 // the earlier version whose files this one publishes again; 0 if none
	// Digest is the SHA-256 of the files (GuideDigest), the same for the same files.
	Digest string
	// Files, sorted by name; nil in GuideHistory's listing.
	Files []GuideFile
}

// GuideVersions keeps the guide's versions.
type GuideVersions interface {
	// PublishGuide stores v's files as version base+1, the current one, provided the current
	// version is base (0: there is none yet); otherwise it returns ErrConflict and stores
	// nothing. It sets v.Number and v.Digest, and v.Published to now when zero. Files with no
	// name, or the same name twice, are ErrInvalid.
	PublishGuide(ctx context.Context, base int64, v *GuideVersion) error
	// CurrentGuide returns the current version with its files (ErrNotFound when there is none).
	CurrentGuide(ctx context.Context) (*GuideVersion, error)
	// GuideVersion returns version n with its files (ErrNotFound).
	GuideVersion(ctx context.Context, n int64) (*GuideVersion, error)
	// GuideHistory lists at most limit versions (0: 100), newest first, without their files.
	GuideHistory(ctx context.Context, limit int) ([]GuideVersion, error)
}

// CheckGuideFiles sorts files by name and refuses (ErrInvalid) an empty list, an empty or
// unclean name (absolute, with .. or a backslash), or a name given twice.
func CheckGuideFiles(files []GuideFile) error {
	if len(files) == 0 {
		return fmt.Errorf("%w: a guide version needs files", ErrInvalid)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	for i, f := range files {
		if f.Name == "" || path.Clean(f.Name) != f.Name || strings.HasPrefix(f.Name, "/") ||
			strings.HasPrefix(f.Name, "../") || f.Name == ".." || f.Name == "." || strings.Contains(f.Name, "\\") {
			return fmt.Errorf("%w: guide file name %q", ErrInvalid, f.Name)
		}
		if i > 0 && files[i-1].Name == f.Name {
			return fmt.Errorf("%w: guide file %q given twice", ErrInvalid, f.Name)
		}
	}
	return nil
}

// GuideDigest is the SHA-256 of files, sorted by name: hex, 64 characters.
func GuideDigest(files []GuideFile) string {
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%d:%s\x00%d:", len(f.Name), f.Name, len(f.Data))
		h.Write(f.Data)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// EncodeGuideFiles packs files (sorted by name) as a gzipped tar, the form the stores keep them
// in: the same files give the same bytes.
func EncodeGuideFiles(files []GuideFile) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range files {
		hdr := &tar.Header{Name: f.Name, Mode: 0o644, Size: int64(len(f.Data)), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.Data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// DecodeGuideFiles unpacks what EncodeGuideFiles packed.
func DecodeGuideFiles(b []byte) ([]GuideFile, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("guide files: %w", err)
	}
	tr := tar.NewReader(zr)
	var files []GuideFile
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("guide files: %w", err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("guide files: %w", err)
		}
		files = append(files, GuideFile{Name: hdr.Name, Data: data})
	}
	return files, nil
}

// LiveDirectory is a Directory whose guide may be replaced while it serves: the service's
// Directory on a node that follows the guide's versions.
type LiveDirectory struct {
	p atomic.Pointer[GuideDirectory]
}

// NewLiveDirectory returns a LiveDirectory serving d.
func NewLiveDirectory(d GuideDirectory) *LiveDirectory {
	l := &LiveDirectory{}
	l.Set(d)
	return l
}

// Set makes l answer from d.
func (l *LiveDirectory) Set(d GuideDirectory) { l.p.Store(&d) }

func (l *LiveDirectory) dir() GuideDirectory { return *l.p.Load() }

// Topic implements Directory.
func (l *LiveDirectory) Topic(id string) (string, bool) { return l.dir().Topic(id) }

// Category implements Directory.
func (l *LiveDirectory) Category(code string) bool { return l.dir().Category(code) }

// Community implements Directory.
func (l *LiveDirectory) Community(id string) bool { return l.dir().Community(id) }

// Grid implements Directory.
func (l *LiveDirectory) Grid(id string) bool { return l.dir().Grid(id) }

// Route implements Directory.
func (l *LiveDirectory) Route(community, address string) (Route, bool) {
	return l.dir().Route(community, address)
}
