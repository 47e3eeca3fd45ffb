package model

import (
	"errors"
	"slices"
	"testing"
)

// A model decoded from its bytes scores every document as the trained one does; bytes that are
// not such a model, or whose parts do not fit, are refused.
func TestEncodeRoundTrip(t *testing.T) {
	m, err := Train(toy(30, 1), DefaultConfig)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	d, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Labels, m.Labels) {
		t.Fatalf("labels %v, want %v", d.Labels, m.Labels)
	}
	for _, ex := range append(toy(10, 7), Example{Doc: Doc{Hash('c', "鱼")}}) {
		if got, want := d.Scores(ex.Doc), m.Scores(ex.Doc); !slices.Equal(got, want) {
			t.Fatalf("decoded scores %v, trained %v", got, want)
		}
		if d.Known(ex.Doc) != m.Known(ex.Doc) {
			t.Fatal("decoded model knows other features")
		}
	}

	if _, err := Decode(b[:len(b)/2]); !errors.Is(err, ErrBadEncoding) {
		t.Errorf("half the bytes: %v, want ErrBadEncoding", err)
	}
	if _, err := Decode([]byte("not a model")); !errors.Is(err, ErrBadEncoding) {
		t.Errorf("other bytes: %v, want ErrBadEncoding", err)
	}
	short := *m
	short.w = m.w[:len(m.w)-1]
	sb, err := short.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(sb); !errors.Is(err, ErrBadEncoding) {
		t.Errorf("a weight missing: %v, want ErrBadEncoding", err)
	}
}
