// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package ksmdiff

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Block is one family as written: its HELP/TYPE lines (none when KSM
// suppressed them) and its samples.
type Block struct {
	Name    string
	Headers []string
	Samples []string
}

// Split cuts an exposition body into family blocks. KSM writes objects in
// random order, so samples are sorted; headers keep their order.
func Split(body []byte) []Block {
	var out []Block
	var cur *Block
	for _, line := range strings.Split(strings.TrimSuffix(string(body), "\n"), "\n") {
		if line == "" || line == "# EOF" {
			continue
		}
		name := line
		if strings.HasPrefix(line, "# HELP ") || strings.HasPrefix(line, "# TYPE ") {
			name = strings.SplitN(line[7:], " ", 2)[0]
		} else if i := strings.IndexAny(line, "{ "); i >= 0 {
			name = line[:i]
		}
		if cur == nil || cur.Name != name {
			out = append(out, Block{Name: name})
			cur = &out[len(out)-1]
		}
		if strings.HasPrefix(line, "#") {
			cur.Headers = append(cur.Headers, line)
		} else {
			cur.Samples = append(cur.Samples, line)
		}
	}
	for i := range out {
		sort.Strings(out[i].Samples)
	}
	return out
}

// leadingDigitLabel finds a label name that starts with a digit: KSM emits
// such names verbatim (and Prometheus rejects the scrape); we prefix "_".
var leadingDigitLabel = regexp.MustCompile(`([{,])([0-9][a-zA-Z0-9_]*)="`)

// Normalize applies to KSM's output the differences we make on purpose
// (METRICS.md, "Where we differ from kube-state-metrics"): a label name that
// starts with a digit gets a "_" prefix; and a series that KSM writes more than
// once (two list elements of one object with the same labels) is written once
// by us. For such a series the value on both sides becomes "DUP", since KSM's
// choice of order among them is random. It reports how many KSM lines were
// folded away.
func Normalize(ours, ksm []byte) (o, k []byte, folded int) {
	fixed := leadingDigitLabel.ReplaceAll(ksm, []byte(`${1}_${2}="`))
	count := map[string]int{}
	kl := strings.Split(string(fixed), "\n")
	for _, l := range kl {
		if l != "" && !strings.HasPrefix(l, "#") {
			count[series(l)]++
		}
	}
	seen := map[string]bool{}
	var kout []string
	for _, l := range kl {
		if l == "" || strings.HasPrefix(l, "#") || count[series(l)] == 1 {
			kout = append(kout, l)
			continue
		}
		folded++
		if !seen[series(l)] {
			seen[series(l)] = true
			kout = append(kout, series(l)+" DUP")
		}
	}
	var oout []string
	for _, l := range strings.Split(string(ours), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") && count[series(l)] > 1 {
			l = series(l) + " DUP"
		}
		oout = append(oout, l)
	}
	return []byte(strings.Join(oout, "\n")), []byte(strings.Join(kout, "\n")), folded - len(seen)
}

// series is a sample line without its value.
func series(line string) string {
	if i := strings.LastIndexByte(line, ' '); i >= 0 {
		return line[:i]
	}
	return line
}

// Diff compares two bodies family by family: header lines must be identical
// and sample lines identical as sorted sets. only restricts the comparison to
// the families KSM wrote (ours may add new ones) when true.
func Diff(ours, ksm []byte, onlyKSMFamilies bool) (compared int, diffs []string) {
	o, k := index(Split(ours)), index(Split(ksm))
	var ob, kb []string
	for _, b := range Split(ours) {
		ob = append(ob, b.Name)
	}
	for _, b := range Split(ksm) {
		kb = append(kb, b.Name)
	}
	if !onlyKSMFamilies && strings.Join(ob, "\n") != strings.Join(kb, "\n") {
		diffs = append(diffs, fmt.Sprintf("family order differs:\nours: %v\nksm:  %v", ob, kb))
	}
	for name, kf := range k {
		of, ok := o[name]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("family %s: missing from ours", name))
			continue
		}
		if strings.Join(of.Headers, "\n") != strings.Join(kf.Headers, "\n") {
			diffs = append(diffs, fmt.Sprintf("family %s headers:\nours: %q\nksm:  %q", name, of.Headers, kf.Headers))
		}
		compared += len(kf.Headers) + len(kf.Samples)
		diffs = append(diffs, lineDiff(name, of.Samples, kf.Samples)...)
	}
	if !onlyKSMFamilies {
		for name := range o {
			if _, ok := k[name]; !ok {
				diffs = append(diffs, fmt.Sprintf("family %s: only in ours", name))
			}
		}
	}
	sort.Strings(diffs)
	return compared, diffs
}

// index merges blocks of the same family (KSM writes a repeated family name
// as separate blocks).
func index(bs []Block) map[string]*Block {
	m := map[string]*Block{}
	for i := range bs {
		b := bs[i]
		if prev, ok := m[b.Name]; ok {
			prev.Headers = append(prev.Headers, b.Headers...)
			prev.Samples = append(prev.Samples, b.Samples...)
			sort.Strings(prev.Samples)
			continue
		}
		m[b.Name] = &b
	}
	return m
}

func lineDiff(name string, ours, ksm []string) []string {
	var d []string
	i, j := 0, 0
	for i < len(ours) || j < len(ksm) {
		switch {
		case j == len(ksm) || (i < len(ours) && ours[i] < ksm[j]):
			d = append(d, fmt.Sprintf("family %s: only ours: %s", name, ours[i]))
			i++
		case i == len(ours) || ksm[j] < ours[i]:
			d = append(d, fmt.Sprintf("family %s: only ksm:  %s", name, ksm[j]))
			j++
		default:
			i++
			j++
		}
	}
	return d
}
