// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package objects

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// Fields says which parts of a JSON document to keep: a projection. A nil
// *Fields keeps nothing; All keeps the whole value. Lists are transparent: a
// list's elements are decoded with the list's own Fields.
type Fields struct {
	All      bool
	Children map[string]*Fields
	// Any applies to every key of a map, in addition to Children[key].
	Any *Fields
	// folded: Any is already merged into every Children entry (Compile).
	folded bool
	// keys and kids are Children as lists, when compiled and few: comparing
	// a handful of keys is cheaper than hashing one.
	keys []string
	kids []*Fields
}

// Compile returns f with Any folded into the named children, all the way
// down, so that decoding never merges projections key by key (the families
// over a list of conditions name the same keys for every element). The result
// must not be changed.
func (f *Fields) Compile() *Fields {
	return compile(f, map[*Fields]*Fields{})
}

func compile(f *Fields, done map[*Fields]*Fields) *Fields {
	if f == nil || f.All {
		return f
	}
	if c, ok := done[f]; ok {
		return c
	}
	out := &Fields{folded: true}
	done[f] = out
	out.Any = compile(f.Any, done)
	if len(f.Children) > 0 {
		out.Children = make(map[string]*Fields, len(f.Children))
		for k, c := range f.Children {
			if f.Any != nil {
				c = merge(c, f.Any)
			}
			out.Children[k] = compile(c, done)
		}
		if len(out.Children) <= 16 {
			for k, c := range out.Children {
				out.keys = append(out.keys, k)
				out.kids = append(out.kids, c)
			}
		}
	}
	return out
}

// Child returns (creating) the Fields for key.
func (f *Fields) Child(key string) *Fields {
	if f.Children == nil {
		f.Children = map[string]*Fields{}
	}
	c := f.Children[key]
	if c == nil {
		c = &Fields{}
		f.Children[key] = c
	}
	return c
}

// AnyChild returns (creating) the Fields applied to every key.
func (f *Fields) AnyChild() *Fields {
	if f.Any == nil {
		f.Any = &Fields{}
	}
	return f.Any
}

// lookup returns the Fields for key and, when it is one of f's keys, that
// key as a string: decoding uses it rather than making another.
func (f *Fields) lookup(key []byte) (*Fields, string) {
	if f.All {
		return f, ""
	}
	if f.keys != nil {
		for i, k := range f.keys {
			if k == string(key) {
				return f.kids[i], k
			}
		}
		return f.Any, ""
	}
	c := f.Children[string(key)] // no allocation: compiler-recognised conversion
	switch {
	case f.folded && c != nil:
		return c, ""
	case c == nil:
		return f.Any, ""
	case f.Any == nil:
		return c, ""
	}
	return merge(c, f.Any), ""
}

// merge combines two projections; Compile does it once per key, so that
// decoding only reaches it for projections that were not compiled.
func merge(a, b *Fields) *Fields {
	if a.All || b.All {
		return &Fields{All: true}
	}
	m := &Fields{Children: map[string]*Fields{}}
	for k, v := range a.Children {
		m.Children[k] = v
	}
	for k, v := range b.Children {
		if prev, ok := m.Children[k]; ok {
			m.Children[k] = merge(prev, v)
		} else {
			m.Children[k] = v
		}
	}
	switch {
	case a.Any != nil && b.Any != nil:
		m.Any = merge(a.Any, b.Any)
	case a.Any != nil:
		m.Any = a.Any
	default:
		m.Any = b.Any
	}
	return m
}

// DecodeProjected decodes the parts of a JSON document that f selects, into
// the same values DecodeJSON gives for them: maps, lists, strings (invalid
// UTF-8 replaced by U+FFFD), int64 for integers that fit, float64, bool, nil.
// Everything else is skipped without being decoded, which is most of a
// Kubernetes object for a typical spec.
func DecodeProjected(data []byte, f *Fields) (any, error) {
	var dd Decoder
	return dd.Decode(data, f)
}

// Head returns the apiVersion and kind of an object's JSON text, reading its
// members only up to both (Kubernetes writes them first) and skipping the
// values of any before them.
func Head(data []byte) (apiVersion, kind string, err error) {
	d := decoder{data: data}
	d.ws()
	if d.i >= len(d.data) || d.data[d.i] != '{' {
		return "", "", d.errorf("not an object")
	}
	d.i++
	found := 0
	for found < 2 {
		d.ws()
		if d.i >= len(d.data) {
			return "", "", errEOF
		}
		switch d.data[d.i] {
		case '}':
			return apiVersion, kind, nil
		case ',':
			d.i++
			d.ws()
		}
		if d.i >= len(d.data) || d.data[d.i] != '"' {
			return "", "", d.errorf("expected an object key")
		}
		key, _, err := d.rawString()
		if err != nil {
			return "", "", err
		}
		d.ws()
		if d.i >= len(d.data) || d.data[d.i] != ':' {
			return "", "", d.errorf("expected ':'")
		}
		d.i++
		d.ws()
		var dst *string
		switch string(key) {
		case "apiVersion":
			dst = &apiVersion
		case "kind":
			dst = &kind
		}
		if dst == nil || d.i >= len(d.data) || d.data[d.i] != '"' {
			if err := d.skip(); err != nil {
				return "", "", err
			}
			continue
		}
		raw, escaped, err := d.rawString()
		if err != nil {
			return "", "", err
		}
		if escaped {
			*dst = d.unescape(raw)
		} else {
			*dst = string(raw)
		}
		found++
	}
	return apiVersion, kind, nil
}

// A Decoder decodes document after document as DecodeProjected does, sharing
// its interned strings between them: objects read one at a time repeat their
// condition types, kinds and controller names as much as a LIST page does.
type Decoder struct {
	intern map[string]any // see decoder.interned
	recent *recentCache   // likewise
	stack  []any          // list elements being decoded
	arena  []byte         // see decoder.keep
	// Borrow makes string values (not keys) that need no unescaping and are
	// not interned point into the data decoded rather than copies of it.
	// They are valid only as long as the data is left unchanged, so only for
	// a caller that drops the object, and whatever holds its values, before
	// it reuses the data.
	Borrow bool
}

// Decode is DecodeProjected.
func (dd *Decoder) Decode(data []byte, f *Fields) (any, error) {
	d := decoder{data: data, intern: dd.intern, recent: dd.recent, borrow: dd.Borrow, stack: dd.stack, arena: dd.arena}
	defer func() { dd.intern, dd.recent, dd.stack, dd.arena = d.intern, d.recent, d.stack, d.arena }()
	d.ws()
	v, err := d.value(f)
	if err != nil {
		return nil, err
	}
	d.ws()
	if d.i != len(d.data) {
		return nil, d.errorf("unexpected data after the top-level value")
	}
	return v, nil
}

type decoder struct {
	data   []byte
	i      int
	buf    []byte
	intern map[string]any
	recent *recentCache
	borrow bool
	stack  []any
	arena  []byte
}

// Short strings are interned, already boxed: condition types and statuses,
// groups, kinds and controller names repeat in every object of a page, and a
// lookup costs less than the two allocations of a new string in an
// interface (its bytes, and its header). Strings are most of a decoded
// object's values. The table is bounded; past it, a string is boxed anew.
const (
	internMax   = 48   // longest string interned
	internLimit = 4096 // strings a decoder interns
)

// interned returns raw as a boxed string (its bytes in the arena), from the
// intern table when it is short. In front of the table, which costs a hash
// and a probe, are a direct-mapped cache of the table's strings met last
// (a few loads and one comparison: the strings that repeat most, condition
// types and statuses, stay in it) and a bit set of the hashes of the
// strings in the table, which tells most strings that are not in it (names,
// UIDs: most of those a decoder meets once its table is full) without a
// probe.
func (d *decoder) interned(raw []byte) any {
	if len(raw) > internMax {
		return d.boxed(raw)
	}
	if d.recent == nil {
		d.recent = new(recentCache)
	}
	h := shortHash(raw)
	slot := &d.recent.slots[h>>55]              // 9 bits
	if slot.s == string(raw) && slot.v != nil { // no allocation: a comparison the compiler recognises
		return slot.v
	}
	bit, word := uint64(1)<<(h&63), &d.recent.inTable[(h>>6)%uint64(len(d.recent.inTable))]
	var v any
	if *word&bit != 0 {
		v = d.intern[string(raw)] // no allocation either
	}
	if v == nil {
		if len(d.intern) >= internLimit {
			// Not cached: a borrowed string must not outlive its data,
			// and one in the arena would keep its block alive.
			return d.boxed(raw)
		}
		if d.intern == nil {
			d.intern = make(map[string]any, 64)
		}
		s := d.keep(raw)
		v = s
		d.intern[s] = v
		*word |= bit
	}
	slot.s, _ = v.(string)
	slot.v = v
	return v
}

// recentCache is the cache and the bit set in front of the intern table.
type recentCache struct {
	slots [512]struct {
		s string
		v any
	}
	inTable [1024]uint64 // a bit per hash of a string in the table
}

// shortHash is a cheap hash of a short string: its length and its first
// and last eight bytes (or all of them), mixed.
func shortHash(b []byte) uint64 {
	n := len(b)
	var x uint64
	switch {
	case n >= 8:
		x = binary.LittleEndian.Uint64(b) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(b[n-8:]), 31)
	case n >= 4:
		x = uint64(binary.LittleEndian.Uint32(b)) | uint64(binary.LittleEndian.Uint32(b[n-4:]))<<32
	default:
		for _, c := range b {
			x = x<<8 | uint64(c)
		}
	}
	x = (x ^ uint64(n)) * 0x9e3779b97f4a7c15
	return x ^ x>>29
}

// internString is interned for a map key.
func (d *decoder) internString(raw []byte) string {
	s, _ := d.interned(raw).(string)
	return s
}

// boxed returns raw as a new boxed string: borrowed from the data when the
// decoder may, else its bytes copied into the arena.
func (d *decoder) boxed(raw []byte) any {
	if d.borrow && len(raw) > 0 {
		// The data outlives the decoded values: the caller's promise.
		return unsafe.String(&raw[0], len(raw))
	}
	return d.keep(raw)
}

// arenaChunk is the size of the blocks the decoder copies string bytes
// into: one allocation for the bytes of many strings, rather than one each.
// A string keeps its whole block alive, and the blocks are as short-lived as
// the objects decoded from them; the bounded intern table keeps at most
// internLimit strings, and so blocks, beyond them.
const arenaChunk = 8 << 10

// keep copies b into the arena and returns it as a string. Bytes once in the
// arena are never written again (a full block is left, not reused), which is
// what unsafe.String asks.
func (d *decoder) keep(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > arenaChunk/8 {
		return string(b)
	}
	if cap(d.arena)-len(d.arena) < len(b) {
		d.arena = make([]byte, 0, arenaChunk)
	}
	start := len(d.arena)
	d.arena = append(d.arena, b...)
	return unsafe.String(&d.arena[start], len(b))
}

var errEOF = errors.New("unexpected end of JSON input")

func (d *decoder) errorf(format string, args ...any) error {
	return fmt.Errorf("json: offset %d: %s", d.i, fmt.Sprintf(format, args...))
}

func (d *decoder) ws() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// value decodes one value with projection f (nil: skip it).
func (d *decoder) value(f *Fields) (any, error) {
	if d.i >= len(d.data) {
		return nil, errEOF
	}
	if f == nil {
		return nil, d.skip()
	}
	switch c := d.data[d.i]; {
	case c == '{':
		return d.object(f)
	case c == '[':
		return d.array(f)
	case c == '"':
		return d.str()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	}
	return nil, d.errorf("invalid character %q", d.data[d.i])
}

func (d *decoder) literal(lit string) error {
	if len(d.data)-d.i < len(lit) || string(d.data[d.i:d.i+len(lit)]) != lit {
		return d.errorf("invalid literal")
	}
	d.i += len(lit)
	return nil
}

func (d *decoder) object(f *Fields) (any, error) {
	d.i++ // {
	m := map[string]any{}
	d.ws()
	if d.i < len(d.data) && d.data[d.i] == '}' {
		d.i++
		return m, nil
	}
	for {
		d.ws()
		if d.i >= len(d.data) || d.data[d.i] != '"' {
			return nil, d.errorf("expected a key")
		}
		raw, escaped, err := d.rawString()
		if err != nil {
			return nil, err
		}
		d.ws()
		if d.i >= len(d.data) || d.data[d.i] != ':' {
			return nil, d.errorf("expected ':'")
		}
		d.i++
		d.ws()
		var child *Fields
		var key string
		if escaped {
			key = d.unescape(raw)
			child, _ = f.lookup([]byte(key))
		} else {
			child, key = f.lookup(raw)
		}
		if child == nil {
			if err := d.skip(); err != nil {
				return nil, err
			}
		} else {
			if key == "" {
				key = d.internString(raw)
			}
			v, err := d.value(child)
			if err != nil {
				return nil, err
			}
			m[key] = v
		}
		d.ws()
		if d.i >= len(d.data) {
			return nil, errEOF
		}
		switch d.data[d.i] {
		case ',':
			d.i++
		case '}':
			d.i++
			return m, nil
		default:
			return nil, d.errorf("expected ',' or '}'")
		}
	}
}

func (d *decoder) array(f *Fields) (any, error) {
	d.i++ // [
	d.ws()
	if d.i < len(d.data) && d.data[d.i] == ']' {
		d.i++
		return []any{}, nil
	}
	// Elements gather on a stack shared with nested lists, and the list is
	// made once at its size rather than grown.
	base := len(d.stack)
	defer func() {
		clear(d.stack[base:])
		d.stack = d.stack[:base]
	}()
	for {
		d.ws()
		v, err := d.value(f)
		if err != nil {
			return nil, err
		}
		d.stack = append(d.stack, v)
		d.ws()
		if d.i >= len(d.data) {
			return nil, errEOF
		}
		switch d.data[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			return append([]any(nil), d.stack[base:]...), nil
		default:
			return nil, d.errorf("expected ',' or ']'")
		}
	}
}

// rawString returns the bytes between the quotes and whether they hold an
// escape or a byte that is not ASCII (and so may not be valid UTF-8).
func (d *decoder) rawString() ([]byte, bool, error) {
	d.i++ // "
	start := d.i
	escaped := false
	var or byte
	data := d.data
	// One pass, byte by byte: strings in Kubernetes objects are short, and
	// for them a loop beats searching for the quote and then the backslash.
	seg := d.i // where the current run of plain bytes began
	for i := d.i; i < len(data); {
		// Eight bytes at a time while none is special.
		for i+8 <= len(data) {
			x := binary.LittleEndian.Uint64(data[i:])
			m := specialBytes(x)
			if m == 0 {
				or |= byte(x>>56 | x>>48 | x>>40 | x>>32 | x>>24 | x>>16 | x>>8 | x)
				i += 8
				continue
			}
			n := bits.TrailingZeros64(m) / 8
			for _, c := range data[i : i+n] {
				or |= c
			}
			i += n
			break
		}
		if i >= len(data) {
			break
		}
		c := data[i]
		if !stringSpecial[c] {
			or |= c
			i++
			continue
		}
		switch {
		case c == '"':
			d.i = i + 1
			return data[start:i], escaped || or >= utf8.RuneSelf, nil
		case c == '\\':
			escaped = true
			i += 2
			seg = i
		default:
			if bytes.IndexByte(data[i:], '"') < 0 {
				return nil, false, errEOF // the string never ends
			}
			d.i = seg
			return nil, false, d.errorf("control character in string")
		}
	}
	return nil, false, errEOF
}

// specialBytes has the high bit set in (at least) the lowest byte of x that
// is a quote, a backslash or a control character, if any (bytes above it
// may be marked falsely), and is 0 when there is none.
func specialBytes(x uint64) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	q := x ^ ('"' * lo)
	b := x ^ ('\\' * lo)
	return ((x - 0x20*lo) | (q - lo) | (b - lo)) & ^x & hi
}

// quoteOrBackslash is specialBytes for the quote and the backslash only.
func quoteOrBackslash(x uint64) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	q := x ^ ('"' * lo)
	b := x ^ ('\\' * lo)
	return ((q - lo) | (b - lo)) & ^x & hi
}

// stringSpecial marks the bytes that end a run of plain bytes in a string:
// the quote, the backslash and the control characters JSON refuses.
var stringSpecial = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

func (d *decoder) str() (any, error) {
	raw, escaped, err := d.rawString()
	if err != nil {
		return nil, err
	}
	if !escaped {
		return d.interned(raw), nil
	}
	return d.unescape(raw), nil
}

// unescape decodes a JSON string body exactly as encoding/json does,
// including U+FFFD for invalid UTF-8 and for unpaired surrogates; its bytes
// are in the arena.
func (d *decoder) unescape(s []byte) string {
	b := d.buf[:0]
	for r := 0; r < len(s); {
		c := s[r]
		switch {
		case c == '\\' && r+1 < len(s):
			r++
			switch s[r] {
			case '"', '\\', '/', '\'':
				b = append(b, s[r])
				r++
			case 'b':
				b = append(b, '\b')
				r++
			case 'f':
				b = append(b, '\f')
				r++
			case 'n':
				b = append(b, '\n')
				r++
			case 'r':
				b = append(b, '\r')
				r++
			case 't':
				b = append(b, '\t')
				r++
			case 'u':
				r--
				rr := getu4(s[r:])
				if rr < 0 {
					b = append(b, s[r:]...) // malformed: keep as is
					r = len(s)
					break
				}
				r += 6
				if utf16.IsSurrogate(rr) {
					rr1 := getu4(s[r:])
					if dec := utf16.DecodeRune(rr, rr1); dec != utf8.RuneError {
						r += 6
						b = utf8.AppendRune(b, dec)
						break
					}
					rr = utf8.RuneError
				}
				b = utf8.AppendRune(b, rr)
			default:
				b = append(b, s[r])
				r++
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			r++
		default:
			rr, size := utf8.DecodeRune(s[r:])
			if rr == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, s[r:r+size]...)
			}
			r += size
		}
	}
	d.buf = b
	return d.keep(b)
}

// getu4 decodes \uXXXX at the start of s, or returns -1.
func getu4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c = c - '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// number keeps client-go's rule: an integer that fits is int64, anything
// else float64.
func (d *decoder) number() (any, error) {
	start := d.i
	for d.i < len(d.data) {
		c := d.data[d.i]
		if (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			d.i++
			continue
		}
		break
	}
	tok := d.data[start:d.i]
	if i, err := strconv.ParseInt(string(tok), 10, 64); err == nil {
		return i, nil
	}
	f, err := strconv.ParseFloat(string(tok), 64)
	if err != nil {
		return nil, d.errorf("number %s: %v", tok, err)
	}
	return f, nil
}

// skip passes over one value without decoding it.
func (d *decoder) skip() error {
	depth := 0
	for d.i < len(d.data) {
		switch c := d.data[d.i]; c {
		case '"':
			if _, _, err := d.rawString(); err != nil {
				return err
			}
			if depth == 0 {
				return nil
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth < 0 {
				return d.errorf("unbalanced %q", c)
			}
			if depth == 0 {
				d.i++
				return nil
			}
		default:
			if depth == 0 {
				// A scalar: up to the next delimiter.
				for d.i < len(d.data) {
					switch d.data[d.i] {
					case ',', '}', ']', ' ', '\t', '\n', '\r':
						return nil
					}
					d.i++
				}
				return nil
			}
		}
		d.i++
	}
	return errEOF
}
