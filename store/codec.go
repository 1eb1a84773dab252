package store

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"fmt"
	"io"
	"sync"
)

// Values are JSON. A link value over compressAbove bytes is stored
// deflated, behind the byte tagDeflate, when that makes it smaller: links
// carry the shared summary on both sides, and compressing them roughly
// halves the file (and the pages a full scan maps in). Plain JSON values
// start with '{', so both forms can be told apart and old files need no
// migration.
const (
	compressAbove = 400
	tagDeflate    = 0x01
)

var (
	deflaters = sync.Pool{New: func() any {
		w, err := flate.NewWriter(io.Discard, flate.BestSpeed)
		if err != nil {
			panic(err) // only for an invalid level
		}
		return w
	}}
	inflaters = sync.Pool{New: func() any { return flate.NewReader(bytes.NewReader(nil)) }}
	buffers   = sync.Pool{New: func() any { return new(bytes.Buffer) }}
)

// encodeValue encodes v as JSON, deflated when large enough to gain.
func encodeValue(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil || len(raw) <= compressAbove {
		return raw, err
	}
	var buf bytes.Buffer
	buf.Grow(len(raw)/2 + 16)
	buf.WriteByte(tagDeflate)
	w := deflaters.Get().(*flate.Writer)
	defer deflaters.Put(w)
	w.Reset(&buf)
	if _, err := w.Write(raw); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	if buf.Len() >= len(raw) {
		return raw, nil
	}
	return buf.Bytes(), nil
}

// decodeValue decodes a value written by encodeValue into v. data may be
// memory of a bbolt transaction: nothing of it is kept.
func decodeValue(data []byte, v any) error {
	if len(data) == 0 || data[0] != tagDeflate {
		return json.Unmarshal(data, v)
	}
	r := inflaters.Get().(io.ReadCloser)
	defer inflaters.Put(r)
	if err := r.(flate.Resetter).Reset(bytes.NewReader(data[1:]), nil); err != nil {
		return err
	}
	buf := buffers.Get().(*bytes.Buffer)
	defer buffers.Put(buf)
	buf.Reset()
	buf.Grow(3 * len(data))
	if _, err := buf.ReadFrom(r); err != nil {
		return fmt.Errorf("inflate: %w", err)
	}
	return json.Unmarshal(buf.Bytes(), v)
}
