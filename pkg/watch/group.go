// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package watch

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/klauspost/compress/s2"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
)

// groupSize is how many objects a sync packs together; a group that grows
// past twice as many (objects created between others) is split in two, and
// one that deletes leave with fewer than a quarter as many is merged with a
// neighbour, so that churn cannot leave the store in many small groups.
// Larger groups compress better (neighbours' families differ in little but
// their names) and cost more to repack when one of their objects changes.
const groupSize = 64

// object is one object's families as engine.Renderer.RenderOne makes them:
// family i is blob[ends[i-1]:ends[i]]; issues are what rendering it dropped
// or failed at (usually none).
type object struct {
	key    string // namespace/name (see objectKey)
	blob   []byte
	ends   []int32
	issues []engine.Issue
}

// group is a run of objects in key order (see objectKey), kept compressed
// family by family: family i of all the group's objects, one after the
// other, is one s2 block, so a scrape inflates
// a group's family straight into the body, and what neighbours share (family
// and label names, most label values) is stored about once. A group never
// changes once made: a change makes a new one, so a scrape may keep reading
// the old one without a lock.
type group struct {
	n    int
	keys string  // each object's key followed by a newline (in no name), in order
	blob []byte  // the families' blocks
	ends []int32 // family i's block ends at ends[i]
	lens []byte  // s2 block: uvarint length of family i of object j, object by object
	// What the group holds, counted when it is packed (a change repacks
	// the group, so the counts follow every upsert and remove): family i's
	// samples and bytes of text, and its objects' issues (Object: the
	// object's place in the group).
	series, size []int32
	issues       []engine.Issue
}

// tally is what the group holds, for engine.Renderer.AddPacked.
func (g *group) tally() engine.Tally {
	return engine.Tally{Series: g.series, Bytes: g.size, Issues: g.issues}
}

func (g *group) firstKey() string { return g.keys[:strings.IndexByte(g.keys, '\n')] }

func (g *group) lastKey() string {
	k := g.keys[:len(g.keys)-1]
	return k[strings.LastIndexByte(k, '\n')+1:]
}

func (g *group) has(key string) bool { return strings.Contains("\n"+g.keys, "\n"+key+"\n") }

// pack compresses objs, which are in key order, into a group. Called with
// mu held.
func (s *store) pack(objs []object) *group {
	families := len(objs[0].ends)
	g := &group{n: len(objs), ends: make([]int32, families), series: make([]int32, families), size: make([]int32, families)}
	var keys strings.Builder
	var lens []byte
	for j, o := range objs {
		keys.WriteString(o.key)
		keys.WriteByte('\n')
		for _, is := range o.issues {
			is.Object = int32(j)
			g.issues = append(g.issues, is)
		}
		start := int32(0)
		for _, end := range o.ends {
			lens = binary.AppendUvarint(lens, uint64(end-start))
			start = end
		}
	}
	g.keys = keys.String()
	// Groups are copied out of the reused buffers at their exact size:
	// encoders and append leave up to twice the room, which would be held
	// as long as the group.
	s.zbuf = s2.Encode(s.zbuf[:cap(s.zbuf)], lens)
	g.lens = slices.Clone(s.zbuf)
	blob := s.packed[:0]
	for i := range families {
		s.scratch = s.scratch[:0]
		for _, o := range objs {
			start := int32(0)
			if i > 0 {
				start = o.ends[i-1]
			}
			s.scratch = append(s.scratch, o.blob[start:o.ends[i]]...)
		}
		if len(s.scratch) > 0 {
			s.zbuf = s2.EncodeBetter(s.zbuf[:cap(s.zbuf)], s.scratch)
			blob = append(blob, s.zbuf...)
			// One line per sample: a label value escapes its newlines.
			g.series[i], g.size[i] = int32(bytes.Count(s.scratch, newline)), int32(len(s.scratch))
		}
		g.ends[i] = int32(len(blob))
	}
	g.blob = slices.Clone(blob)
	s.packed = blob
	return g
}

// unpack inflates a group back into its objects, to change one. Called with
// mu held.
func (s *store) unpack(g *group) ([]object, error) {
	lens, err := s2.Decode(nil, g.lens)
	if err != nil {
		return nil, err
	}
	families := len(g.ends)
	size := make([][]int32, g.n) // size[j][i]: object j's family i
	for j := range size {
		size[j] = make([]int32, families)
		for i := range families {
			v, k := binary.Uvarint(lens)
			if k <= 0 {
				return nil, fmt.Errorf("corrupt group: lengths end early")
			}
			size[j][i], lens = int32(v), lens[k:]
		}
	}
	fams := make([][]byte, families)
	total, start := 0, int32(0)
	for i, end := range g.ends {
		if end < start || int(end) > len(g.blob) {
			return nil, fmt.Errorf("corrupt group: family %d ends at %d of %d bytes", i, end, len(g.blob))
		}
		if end > start {
			if fams[i], err = s.Unpack(nil, g.blob[start:end]); err != nil {
				return nil, err
			}
		}
		total += len(fams[i])
		start = end
	}
	// Each object's blob, family by family, laid out from the families'
	// blocks: object j's family i follows objects 0..j-1's.
	objs := make([]object, g.n)
	all := make([]byte, 0, total)
	keys := strings.Split(g.keys[:len(g.keys)-1], "\n")
	if len(keys) != g.n {
		return nil, fmt.Errorf("corrupt group: %d keys for %d objects", len(keys), g.n)
	}
	for j := range objs {
		from := len(all)
		ends := make([]int32, families)
		for i := range families {
			n := size[j][i]
			if n < 0 || int(n) > len(fams[i]) {
				return nil, fmt.Errorf("corrupt group: family %d shorter than its lengths", i)
			}
			all = append(all, fams[i][:n]...)
			fams[i] = fams[i][n:]
			ends[i] = int32(len(all) - from)
		}
		objs[j] = object{key: keys[j], blob: all[from:len(all):len(all)], ends: ends}
	}
	for _, is := range g.issues {
		if is.Object < 0 || int(is.Object) >= len(objs) {
			return nil, fmt.Errorf("corrupt group: an issue of object %d of %d", is.Object, len(objs))
		}
		objs[is.Object].issues = append(objs[is.Object].issues, is)
	}
	return objs, nil
}

var newline = []byte{'\n'}

// find is the index of the group o's key falls in: the last whose first key
// is not after it (0 when it comes before every group).
func find(groups []*group, key string) int {
	i := sort.Search(len(groups), func(i int) bool { return groups[i].firstKey() > key })
	return max(i-1, 0)
}

// upsert puts o in its place in groups, replacing an object of the same key,
// and returns the groups. It fails only if a group cannot be read back (a
// bug, not a cluster state; the caller reads the scope anew). Called with mu
// held.
func (s *store) upsert(groups []*group, o object) ([]*group, error) {
	if len(groups) == 0 {
		return []*group{s.pack([]object{o})}, nil
	}
	i := find(groups, o.key)
	objs, err := s.unpack(groups[i])
	if err != nil {
		return groups, err
	}
	j, found := slices.BinarySearchFunc(objs, o.key, func(a object, k string) int { return strings.Compare(a.key, k) })
	if found {
		objs[j] = o
	} else {
		objs = slices.Insert(objs, j, o)
	}
	if len(objs) <= 2*groupSize {
		groups[i] = s.pack(objs)
		return groups, nil
	}
	half := len(objs) / 2
	return slices.Replace(groups, i, i+1, s.pack(objs[:half]), s.pack(objs[half:])), nil
}

// remove takes the object of key out of groups, if it is there. Called with
// mu held.
func (s *store) remove(groups []*group, key string) ([]*group, error) {
	if len(groups) == 0 {
		return groups, nil
	}
	i := find(groups, key)
	if !groups[i].has(key) {
		return groups, nil
	}
	objs, err := s.unpack(groups[i])
	if err != nil {
		return groups, err
	}
	objs = slices.DeleteFunc(objs, func(o object) bool { return o.key == key })
	if len(objs) == 0 {
		return slices.Delete(groups, i, i+1), nil
	}
	if len(objs) < groupSize/4 && len(groups) > 1 {
		return s.merge(groups, i, objs)
	}
	groups[i] = s.pack(objs)
	return groups, nil
}

// merge packs objs, what is left of groups[i], with the smaller of its
// neighbours, as one group or, past 2*groupSize, two halves. Called with mu
// held.
func (s *store) merge(groups []*group, i int, objs []object) ([]*group, error) {
	j := i + 1 // the neighbour: the next group, or the previous one if smaller
	if j == len(groups) || (i > 0 && groups[i-1].n < groups[j].n) {
		j = i - 1
	}
	other, err := s.unpack(groups[j])
	if err != nil {
		return groups, err
	}
	if j < i {
		objs = append(other, objs...)
	} else {
		objs = append(objs, other...)
	}
	first := min(i, j)
	if len(objs) <= 2*groupSize {
		return slices.Replace(groups, first, first+2, s.pack(objs)), nil
	}
	half := len(objs) / 2
	return slices.Replace(groups, first, first+2, s.pack(objs[:half]), s.pack(objs[half:])), nil
}
