package model

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
)

// encoded is a model as bytes: its labels, each feature column's key, the columns' IDF and the
// weights, with a format number that a change of this layout bumps.
type encoded struct {
	Format int
	Labels []string
	Keys   []Key // Keys[c-1] is column c's key; column 0 is the bias
	IDF    []float32
	W      []float32
}

const encodeFormat = 1

// MarshalBinary encodes the model, so that a process can keep it and the next one load it
// instead of training it again.
func (m *Model) MarshalBinary() ([]byte, error) {
	e := encoded{Format: encodeFormat, Labels: m.Labels, Keys: make([]Key, len(m.idf)-1), IDF: m.idf, W: m.w}
	for k, c := range m.cols {
		e.Keys[c-1] = k
	}
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(e); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ErrBadEncoding is returned by Decode for bytes that are not a model MarshalBinary wrote.
var ErrBadEncoding = errors.New("model: not an encoded model")

// Decode decodes what MarshalBinary wrote, checking that its parts fit together.
func Decode(data []byte) (*Model, error) {
	var e encoded
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&e); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadEncoding, err)
	}
	switch {
	case e.Format != encodeFormat:
		return nil, fmt.Errorf("%w: format %d, want %d", ErrBadEncoding, e.Format, encodeFormat)
	case len(e.Labels) < 2 || len(e.IDF) != len(e.Keys)+1 || len(e.W) != len(e.IDF)*len(e.Labels):
		return nil, fmt.Errorf("%w: %d labels, %d columns, %d IDF values, %d weights", ErrBadEncoding, len(e.Labels), len(e.Keys), len(e.IDF), len(e.W))
	}
	m := &Model{Labels: e.Labels, cols: make(map[Key]int32, len(e.Keys)), idf: e.IDF, w: e.W}
	for i, k := range e.Keys {
		if _, dup := m.cols[k]; dup {
			return nil, fmt.Errorf("%w: feature %x twice", ErrBadEncoding, k)
		}
		m.cols[k] = int32(i + 1)
	}
	return m, nil
}
