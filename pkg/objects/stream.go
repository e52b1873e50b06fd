// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package objects

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/bits"
	"os"
	"path/filepath"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Stream calls fn with every object of the given files and directories
// (walked, *.json, *.yaml and *.yml, in path order), one at a time, as the
// JSON text of that one object (valid during the call only). A JSON List is never decoded whole: its items
// are cut from the file as they are read, so that a 50 MB `kubectl get -o
// json` dump costs one object's memory, not the dump's decoded size.
func Stream(paths []string, fn func(raw []byte) error) error {
	files, err := Files(paths)
	if err != nil {
		return err
	}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		err = StreamReader(f, fn)
		_ = f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// Files lists the files Stream reads for paths, in the order it reads them.
func Files(paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			switch strings.ToLower(filepath.Ext(path)) {
			case ".json", ".yaml", ".yml":
				if !d.IsDir() {
					files = append(files, path)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}

// StreamReader is Stream for one JSON stream or multi-document YAML stream.
// Lists (`kind: List` or any `*List` with items) are expanded into their
// items, recursively; values that are not objects are skipped.
func StreamReader(r io.Reader, fn func(raw []byte) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		b, err := br.Peek(1)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			_, _ = br.ReadByte()
			continue
		case '{', '[':
			s := &scanner{r: br}
			return s.stream(fn)
		}
		return streamYAML(br, fn)
	}
}

func streamYAML(r *bufio.Reader, fn func(raw []byte) error) error {
	yr := utilyaml.NewYAMLReader(r)
	for {
		doc, err := yr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return err
		}
		if err := emit(js, fn); err != nil {
			return err
		}
	}
}

// listHead is what decides whether an object is a list.
var listHead = func() *Fields {
	f := &Fields{}
	f.Child("kind").All = true
	f.Child("items") // presence and type only
	return f
}()

// isList reports whether a decoded head (see listHead) is a list to expand,
// with Flatten's rule.
func isList(head any) bool {
	m, ok := head.(map[string]any)
	if !ok {
		return false
	}
	if _, ok := m["items"].([]any); !ok {
		return false
	}
	k, _ := m["kind"].(string)
	return k == "List" || strings.HasSuffix(k, "List")
}

// emit passes one value on: an object as it is, a list's items one by one
// (this path decodes the list whole; the scanner streams top-level lists
// without it), anything else not at all.
func emit(js []byte, fn func(raw []byte) error) error {
	return emitHinted(js, bytes.Contains(js, []byte(`"items"`)), fn)
}

// emitHinted is emit for a value known not to be a list unless mayBeList
// (it holds the string "items").
func emitHinted(js []byte, mayBeList bool, fn func(raw []byte) error) error {
	if !mayBeList {
		// Not a list (whatever else it is, the receiver decodes it): the
		// common case, decided without decoding anything.
		if t := bytes.TrimLeft(js, " \t\r\n"); len(t) == 0 || t[0] != '{' {
			_, err := DecodeJSON(js) // skipped, once it proves to be JSON
			return err
		}
		return fn(js)
	}
	head, err := DecodeProjected(js, listHead)
	if err != nil {
		return err
	}
	if _, ok := head.(map[string]any); !ok {
		return nil
	}
	if !isList(head) {
		return fn(js)
	}
	v, err := DecodeJSON(js)
	if err != nil {
		return err
	}
	for _, o := range Flatten(v) {
		b, err := json.Marshal(o)
		if err != nil {
			return err
		}
		if err := fn(b); err != nil {
			return err
		}
	}
	return nil
}

// scanner cuts JSON values from a reader without decoding them. It checks
// nesting and strings only; each value cut is decoded (and so validated) by
// whoever receives it.
type scanner struct {
	r   *bufio.Reader
	buf []byte // the value being cut
	// items: the value cut may hold the string "items" (it surely does not
	// when false), so may be a list.
	items bool
}

func (s *scanner) byte() (byte, error) {
	c, err := s.r.ReadByte()
	if errors.Is(err, io.EOF) {
		return 0, io.ErrUnexpectedEOF
	}
	return c, err
}

// next returns the next byte that is not white space; io.EOF at the end.
func (s *scanner) next() (byte, error) {
	for {
		c, err := s.r.ReadByte()
		if err != nil {
			return 0, err
		}
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c, nil
	}
}

// value cuts the value that starts with c (already read) into s.buf.
func (s *scanner) value(c byte) ([]byte, error) {
	s.buf = append(s.buf[:0], c)
	s.items = false
	switch c {
	case '{', '[':
		depth, inString := 1, false
		for depth > 0 {
			// Copy runs of plain bytes at once: a value is mostly them.
			if _, err := s.r.Peek(1); err != nil {
				return nil, unexpected(err)
			}
			chunk, _ := s.r.Peek(s.r.Buffered())
			n := 0
			for n < len(chunk) && depth > 0 {
				if inString {
					// Strings are most of an object: eight bytes at a
					// time, then byte by byte, to the next quote or
					// backslash.
					for n+8 <= len(chunk) {
						if m := quoteOrBackslash(binary.LittleEndian.Uint64(chunk[n:])); m != 0 {
							n += bits.TrailingZeros64(m) / 8
							break
						}
						n += 8
					}
					for n < len(chunk) && chunk[n] != '"' && chunk[n] != '\\' {
						n++
					}
					if n == len(chunk) {
						continue
					}
					if chunk[n] == '\\' {
						n++
						if n == len(chunk) {
							// The escaped byte is in the next chunk: take
							// this one without the backslash and re-read.
							n--
							goto flush
						}
						n++
						continue
					}
					n++
					inString = false
					continue
				}
				b := chunk[n]
				n++
				switch b {
				case '"':
					inString = true
					if len(chunk)-n < 6 || string(chunk[n:n+6]) == `items"` {
						s.items = true // or the string goes on in the next chunk
					}
				case '{', '[':
					depth++
				case '}', ']':
					depth--
				}
			}
		flush:
			if n == 0 {
				// A lone backslash at the end of the buffer.
				b, err := s.byte()
				if err != nil {
					return nil, err
				}
				e, err := s.byte()
				if err != nil {
					return nil, err
				}
				s.buf = append(s.buf, b, e)
				continue
			}
			s.buf = append(s.buf, chunk[:n]...)
			_, _ = s.r.Discard(n)
		}
		return s.buf, nil
	case '"':
		for {
			b, err := s.byte()
			if err != nil {
				return nil, err
			}
			s.buf = append(s.buf, b)
			if b == '\\' {
				e, err := s.byte()
				if err != nil {
					return nil, err
				}
				s.buf = append(s.buf, e)
				continue
			}
			if b == '"' {
				return s.buf, nil
			}
		}
	}
	// A number or literal: up to the next delimiter.
	for {
		b, err := s.r.Peek(1)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return s.buf, nil
			}
			return nil, err
		}
		switch b[0] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return s.buf, nil
		}
		_, _ = s.r.ReadByte()
		s.buf = append(s.buf, b[0])
	}
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// stream reads a JSON stream: top-level arrays are expanded into their
// elements, top-level objects with an `items` array are read item by item.
func (s *scanner) stream(fn func(raw []byte) error) error {
	for {
		c, err := s.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch c {
		case '[':
			err = s.elements(func(raw []byte) error { return emitHinted(raw, s.items, fn) })
		case '{':
			err = s.object(fn)
		default:
			// A scalar at the top level: not an object, skipped once it
			// proves to be valid JSON.
			var v []byte
			if v, err = s.value(c); err == nil {
				_, err = DecodeJSON(v)
			}
		}
		if err != nil {
			return err
		}
	}
}

// elements calls fn with each element of an array whose '[' was read.
func (s *scanner) elements(fn func(raw []byte) error) error {
	c, err := s.next()
	if err != nil {
		return unexpected(err)
	}
	if c == ']' {
		return nil
	}
	for {
		v, err := s.value(c)
		if err != nil {
			return err
		}
		if err := fn(v); err != nil {
			return err
		}
		c, err = s.next()
		if err != nil {
			return unexpected(err)
		}
		switch c {
		case ']':
			return nil
		case ',':
			if c, err = s.next(); err != nil {
				return unexpected(err)
			}
		default:
			return fmt.Errorf("invalid character %q after an array element", c)
		}
	}
}

// object reads a top-level object whose '{' was read. Its `items`, when an
// array, are passed on one by one as they are cut; the other members are
// kept. At the end the object is known: a list (kind List or *List), whose
// items were the objects, or a plain object, which is passed on whole.
//
// A list's items come before its kind in `kubectl -o json` output, so items
// are passed on before the kind is known. An object that has a top-level
// `items` array and is not a list is not a Kubernetes object: it is refused
// with an error rather than held in memory in case it might be one.
func (s *scanner) object(fn func(raw []byte) error) error {
	var members bytes.Buffer
	members.WriteByte('{')
	streamed := false
	c, err := s.next()
	if err != nil {
		return unexpected(err)
	}
	for c != '}' {
		if c != '"' {
			return fmt.Errorf("invalid character %q looking for an object key", c)
		}
		k, err := s.value(c)
		if err != nil {
			return err
		}
		var key string
		if err := json.Unmarshal(k, &key); err != nil {
			return err
		}
		if c, err = s.next(); err != nil || c != ':' {
			return fmt.Errorf("expected ':' after object key %q", key)
		}
		if c, err = s.next(); err != nil {
			return unexpected(err)
		}
		if key == "items" && c == '[' {
			streamed = true
			if err := s.elements(func(raw []byte) error { return emitHinted(raw, s.items, fn) }); err != nil {
				return err
			}
		} else {
			if members.Len() > 1 {
				members.WriteByte(',')
			}
			members.Write(k) // before s.value reuses the buffer k is in
			members.WriteByte(':')
			v, err := s.value(c)
			if err != nil {
				return err
			}
			members.Write(v)
		}
		if c, err = s.next(); err != nil {
			return unexpected(err)
		}
		switch c {
		case ',':
			if c, err = s.next(); err != nil {
				return unexpected(err)
			}
		case '}':
		default:
			return fmt.Errorf("invalid character %q after object key %q", c, key)
		}
	}
	members.WriteByte('}')
	head, err := DecodeProjected(members.Bytes(), listHead)
	if err != nil {
		return err
	}
	if !streamed {
		return fn(members.Bytes())
	}
	kind, _ := head.(map[string]any)["kind"].(string)
	if kind == "List" || strings.HasSuffix(kind, "List") {
		return nil
	}
	return fmt.Errorf("an object of kind %q has a top-level items array: only lists may", kind)
}
