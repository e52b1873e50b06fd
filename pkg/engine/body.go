// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"bytes"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// chunk is how many raw bytes a family buffers before they are compressed.
// Small kinds never reach it and stay raw; a large kind's memory then follows
// its compressed size, not its text size.
var chunk = 1 << 20

// zfamily is the compressed part of a family: one gzip member, closed by
// Renderer.Finish.
type zfamily struct {
	segs   [][]byte // full raw chunks held before any compressed ones (Renderer.segment)
	buf    bytes.Buffer
	w      *gzip.Writer
	closed bool
}

func (z *zfamily) write(p []byte) {
	if z.w == nil {
		// Level 1: compression must cost less than rendering did.
		z.w, _ = gzip.NewWriterLevel(&z.buf, gzip.BestSpeed)
	}
	_, _ = z.w.Write(p) // a bytes.Buffer does not fail
}

func (z *zfamily) reset() {
	clear(z.segs)
	z.segs = z.segs[:0]
	z.buf.Reset()
	if z.w != nil {
		z.w.Reset(&z.buf)
	}
	z.closed = false
}

func (z *zfamily) started() bool { return z.buf.Len() > 0 || z.closed }

// BodyWriter writes an exposition body either as plain text or as a gzip
// stream, into which already compressed family members are spliced (a gzip
// stream may be any number of concatenated members).
type BodyWriter struct {
	w    io.Writer
	gz   *gzip.Writer // open member for plain bytes, when compressing
	open bool
	zip  bool
	err  error
}

var gzipWriters = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed); return w }}

// NewBodyWriter writes to w, compressed when gzipped is set.
func NewBodyWriter(w io.Writer, gzipped bool) *BodyWriter {
	return &BodyWriter{w: w, zip: gzipped}
}

// Write writes plain bytes.
func (b *BodyWriter) Write(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if !b.zip {
		_, b.err = b.w.Write(p)
		return len(p), b.err
	}
	if !b.open {
		if b.gz == nil {
			b.gz = gzipWriters.Get().(*gzip.Writer)
		}
		b.gz.Reset(b.w)
		b.open = true
	}
	_, b.err = b.gz.Write(p)
	return len(p), b.err
}

// member writes one complete gzip member: as is when compressing, inflated
// otherwise.
func (b *BodyWriter) member(m []byte) {
	if b.err != nil || len(m) == 0 {
		return
	}
	if b.zip {
		b.endMember()
		if b.err == nil {
			_, b.err = b.w.Write(m)
		}
		return
	}
	r, err := gzip.NewReader(bytes.NewReader(m))
	if err != nil {
		b.err = err
		return
	}
	_, b.err = io.Copy(b.w, r)
}

func (b *BodyWriter) endMember() {
	if b.open {
		b.open = false
		if err := b.gz.Close(); err != nil && b.err == nil {
			b.err = err
		}
	}
}

// Close ends the body; it does not close the underlying writer.
func (b *BodyWriter) Close() error {
	b.endMember()
	if b.gz != nil {
		gzipWriters.Put(b.gz)
		b.gz = nil
	}
	return b.err
}
