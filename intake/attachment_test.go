package intake_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/bayannur/hotline/intake"
)

func TestCheckAttachment(t *testing.T) {
	for _, c := range []struct {
		name string
		b    []byte
		typ  string
		err  error
	}{
		{"jpeg", []byte{0xFF, 0xD8, 0xFF, 0xDB, 0}, "image/jpeg", nil},
		{"png", []byte("\x89PNG\r\n\x1a\n\x00\x00"), "image/png", nil},
		{"webp", []byte("RIFF\x10\x00\x00\x00WEBPVP8 "), "image/webp", nil},
		{"gif", []byte("GIF89a"), "", intake.ErrAttachmentType},
		{"svg", []byte("<svg xmlns='http://www.w3.org/2000/svg'/>"), "", intake.ErrAttachmentType},
		{"riff, not webp", []byte("RIFF\x10\x00\x00\x00WAVEfmt "), "", intake.ErrAttachmentType},
		{"html", []byte("<html><script>alert(1)</script>"), "", intake.ErrAttachmentType},
		{"empty", nil, "", intake.ErrAttachmentEmpty},
		{"too large", append([]byte{0xFF, 0xD8, 0xFF}, bytes.Repeat([]byte{0}, intake.MaxAttachmentBytes)...), "", intake.ErrAttachmentSize},
	} {
		typ, err := intake.CheckAttachment(c.b)
		if typ != c.typ || !errors.Is(err, c.err) {
			t.Errorf("%s: %q, %v; want %q, %v", c.name, typ, err, c.typ, c.err)
		}
	}
}
