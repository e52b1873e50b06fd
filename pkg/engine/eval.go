// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"

	"github.com/kuadrant/gateway-api-metrics-exporter/compat"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// ErrAbsent is the evaluation error of a gauge whose path leads to nothing:
// an optional field the object does not have (metadata.deletionTimestamp on
// an object not being deleted, a status its controller has not written). It
// is counted like every evaluation error (kube-state-metrics reports it too,
// with this text), but it says nothing is wrong; an error that is not it is a
// value of the wrong shape.
var ErrAbsent = errors.New("got nil while resolving path")

// LogLevel is the level to log an evaluation error at: debug for an absent
// optional field (ErrAbsent), warning for a value of the wrong shape.
func LogLevel(err error) slog.Level {
	if errors.Is(err, ErrAbsent) {
		return slog.LevelDebug
	}
	return slog.LevelWarn
}

type sample struct {
	labels labelSet
	value  float64
}

// evaluator turns one object into the samples of one family, with the
// semantics of KSM v2.20.0's compiledGauge/compiledInfo/compiledStateSet. Its
// slices are reused from object to object.
type evaluator struct {
	samples []sample
	onError func(f *spec.Family, err error)
	keys    []string
	names   names
}

func (e *evaluator) add() *sample {
	if len(e.samples) < cap(e.samples) {
		e.samples = e.samples[:len(e.samples)+1]
	} else {
		e.samples = append(e.samples, sample{})
	}
	s := &e.samples[len(e.samples)-1]
	s.labels = s.labels[:0]
	s.value = 0
	return s
}

// drop removes the last sample (one that turned out to have no value).
func (e *evaluator) drop() { e.samples = e.samples[:len(e.samples)-1] }

func (e *evaluator) fail(f *spec.Family, err error) {
	if e.onError != nil {
		e.onError(f, err)
	}
}

// eval fills e.samples for family f of object obj, sorted as KSM sorts them.
func (e *evaluator) eval(f *spec.Family, obj map[string]any) {
	e.samples = e.samples[:0]
	v := f.Each.Path.Get(obj)
	switch {
	case f.Each.Nested != nil:
		e.nested(f, v)
	case f.Type == spec.Gauge:
		e.gauge(f, v)
	case f.Type == spec.Info:
		e.info(f, v)
	case f.Type == spec.StateSet:
		e.stateSet(f, v)
	}
	for i := range e.samples {
		e.samples[i].labels.sort()
	}
	if len(e.samples) < 2 {
		return
	}
	slices.SortStableFunc(e.samples, func(a, b sample) int { return compareLabels(a.labels, b.labels) })
}

func (e *evaluator) gauge(f *spec.Family, v any) {
	each := &f.Each
	switch it := v.(type) {
	case map[string]any:
		// KSM's one-segment valueFrom special case: pick the entry named by it.
		single := ""
		if len(each.ValueFrom) == 1 && each.ValueFrom[0].Raw != "" && !containsComma(each.ValueFrom[0].Raw) {
			single = each.ValueFrom[0].Raw
		}
		if each.LabelFromKey == "" && len(each.ValueFrom) == 0 && len(each.Labels) == 0 {
			// Nothing can tell the entries apart: a map where the spec
			// expects a number. The samples stay KSM's; say it is odd.
			e.fail(f, fmt.Errorf("%s: expected a number, got a map (read entry by entry, as kube-state-metrics does)", each.Path))
		}
		keys := e.sortedKeys(it)
		defer func() { e.keys = keys[:0] }()
		for _, key := range keys {
			entry := it[key]
			s := e.add()
			if single != "" && key == single {
				val, err := compat.ToFloat64(entry, each.NilIsZero)
				if err != nil {
					e.drop()
					e.fail(f, fmt.Errorf("%s: [%s]: %w", each.Path, key, err))
					continue
				}
				s.value = val
			} else if !e.value(f, s, entry, false) {
				e.drop() // KSM drops this branch's conversion errors silently
				continue
			}
			if key != "" && each.LabelFromKey != "" {
				s.labels.set(spec.FixName(each.LabelFromKey), key)
			}
			e.addPathLabels(entry, each.Labels, &s.labels)
			// KSM evaluates the labels against the parent map as well, last.
			e.addPathLabels(v, each.Labels, &s.labels)
		}
	case []any:
		for i, el := range it {
			s := e.add()
			if !e.valueOrFail(f, s, el, fmt.Sprintf("[%d]: ", i)) {
				e.drop()
				continue
			}
			e.addPathLabels(el, each.Labels, &s.labels)
		}
	default:
		s := e.add()
		if !e.valueOrFail(f, s, v, "") {
			e.drop()
			return
		}
		e.addPathLabels(v, each.Labels, &s.labels)
	}
}

func containsComma(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == ',' {
			return true
		}
	}
	return false
}

// value resolves valueFrom under el into s.value. It reports false when there
// is no sample; report says whether to log why.
func (e *evaluator) value(f *spec.Family, s *sample, el any, report bool) bool {
	ok, err := gaugeValue(&f.Each, s, el)
	if err != nil && report {
		e.fail(f, err)
	}
	return ok
}

func (e *evaluator) valueOrFail(f *spec.Family, s *sample, el any, where string) bool {
	ok, err := gaugeValue(&f.Each, s, el)
	if err != nil {
		e.fail(f, fmt.Errorf("%s: %s%w", f.Each.Path, where, err))
	}
	return ok
}

// gaugeValue is KSM's compiledGauge.value.
func gaugeValue(each *spec.Each, s *sample, el any) (bool, error) {
	got := each.ValueFrom.Get(el)
	if got == nil {
		if each.NilIsZero {
			s.value = 0
			return true, nil
		}
		if el == nil {
			return false, ErrAbsent
		}
		if len(each.ValueFrom) > 0 && !container(el) {
			// Not a missing field: a scalar where the spec looks into an
			// object (a status of another shape). KSM drops it silently;
			// we drop it too, but say why.
			return false, fmt.Errorf("%s: expected an object, got %T", each.ValueFrom, el)
		}
		return false, nil
	}
	val, err := compat.ToFloat64(got, each.NilIsZero)
	if err != nil {
		return false, fmt.Errorf("%s: %w", each.ValueFrom, err)
	}
	s.value = val
	return true, nil
}

func (e *evaluator) info(f *spec.Family, v any) {
	each := &f.Each
	switch it := v.(type) {
	case []any:
		for _, el := range it {
			e.infoOne(each, el)
		}
	case map[string]any:
		// KSM adds one sample per entry that yields labels of its own (in map
		// order: every info sample has the value 1, so order cannot matter)...
		// A non-empty path cannot resolve on a scalar entry: it has no labels.
		skipScalars := each.LabelFromKey == "" && !hasEmptyPath(each.Labels)
		for key, entry := range it {
			if skipScalars && !container(entry) {
				continue
			}
			s := e.add()
			s.value = 1
			if key != "" && each.LabelFromKey != "" {
				s.labels.set(spec.FixName(each.LabelFromKey), key)
			}
			e.addPathLabels(entry, each.Labels, &s.labels)
			if len(s.labels) == 0 {
				e.drop()
			}
		}
		// ...then the sample of the map itself.
		e.infoOne(each, v)
	default:
		e.infoOne(each, v)
	}
}

// infoOne emits a sample only when the element yields a label: an info sample
// made of base labels alone is dropped, as in KSM.
func (e *evaluator) infoOne(each *spec.Each, el any) {
	if el == nil {
		return
	}
	s := e.add()
	s.value = 1
	e.addPathLabels(el, each.Labels, &s.labels)
	if len(s.labels) == 0 {
		e.drop()
	}
}

func (e *evaluator) stateSet(f *spec.Family, v any) {
	if list, ok := v.([]any); ok {
		for _, el := range list {
			e.stateSetOne(f, el)
		}
		return
	}
	e.stateSetOne(f, v)
}

func (e *evaluator) stateSetOne(f *spec.Family, el any) {
	each := &f.Each
	got := each.ValueFrom.Get(el)
	if got == nil {
		return
	}
	str, ok := got.(string)
	if !ok {
		full := append(append(spec.Path{}, each.Path...), each.ValueFrom...)
		if len(each.ValueFrom) == 0 {
			full = each.Path
		}
		e.fail(f, fmt.Errorf("%s: expected value for path to be string, got %T", full, got))
		return
	}
	for _, state := range each.List {
		s := e.add()
		if str == state {
			s.value = 1
		}
		s.labels.set(spec.FixName(each.LabelName), state)
		e.addPathLabels(el, each.Labels, &s.labels)
	}
}

// nested is our extension: one sample per element of the innermost list, with
// labels from every level (inner levels win).
func (e *evaluator) nested(f *spec.Family, v any) {
	var outer labelSet
	e.elements(f, f.Each.Path, f.Each.LabelFromKey, v, func(key string, el any) {
		outer = outer[:0]
		if f.Each.LabelFromKey != "" {
			outer.set(spec.FixName(f.Each.LabelFromKey), key)
		}
		e.addPathLabels(el, f.Each.Labels, &outer)
		e.level(f, f.Each.Nested, el, outer)
	})
}

func (e *evaluator) level(f *spec.Family, lv *spec.Level, parent any, outer labelSet) {
	if !container(parent) {
		// A scalar where the enclosing level expected an object to look
		// into: the status does not have the shape the spec describes.
		e.fail(f, fmt.Errorf("%s: expected an object or a list, got %T", lv.Path, parent))
		return
	}
	if lv.Aggregate != spec.NoAggregate {
		e.aggregate(f, lv, parent, outer)
		return
	}
	e.elements(f, lv.Path, lv.LabelFromKey, lv.Path.Get(parent), func(key string, el any) {
		labels := outer
		if lv.LabelFromKey != "" || lv.Nested != nil {
			labels = slices.Clone(outer)
			if lv.LabelFromKey != "" {
				labels.set(spec.FixName(lv.LabelFromKey), key)
			}
		}
		if lv.Nested != nil {
			e.addPathLabels(el, lv.Labels, &labels)
			e.level(f, lv.Nested, el, labels)
			return
		}
		s := e.add()
		s.labels = append(s.labels, labels...)
		e.addPathLabels(el, lv.Labels, &s.labels)
		if f.Type == spec.Info {
			s.value = 1
			if len(s.labels) == 0 {
				e.drop()
			}
			return
		}
		got := lv.ValueFrom.Get(el)
		if got == nil {
			if !lv.NilIsZero {
				e.drop()
				if len(lv.ValueFrom) > 0 && !container(el) {
					e.fail(f, fmt.Errorf("%s: %s: expected an object, got %T", lv.Path, lv.ValueFrom, el))
				}
			}
			return
		}
		val, err := compat.ToFloat64(got, lv.NilIsZero)
		if err != nil {
			e.drop()
			e.fail(f, fmt.Errorf("%s: %s: %w", lv.Path, lv.ValueFrom, err))
			return
		}
		s.value = val
	})
}

// aggregate folds the values of the elements lv iterates under parent into
// one sample with the enclosing levels' labels (outer). An element without
// the value is skipped, as it yields no sample without aggregate; one whose
// value is not a number is skipped and reported. No element with a value:
// no sample. NaN loses to any number.
func (e *evaluator) aggregate(f *spec.Family, lv *spec.Level, parent any, outer labelSet) {
	var acc float64
	found := false
	forEach(lv.Path.Get(parent), func(el any) {
		got := lv.ValueFrom.Get(el)
		if got == nil && !lv.NilIsZero {
			if len(lv.ValueFrom) > 0 && !container(el) {
				e.fail(f, fmt.Errorf("%s: %s: expected an object, got %T", lv.Path, lv.ValueFrom, el))
			}
			return
		}
		v, err := compat.ToFloat64(got, lv.NilIsZero)
		if err != nil {
			e.fail(f, fmt.Errorf("%s: %s: %w", lv.Path, lv.ValueFrom, err))
			return
		}
		switch {
		case !found, math.IsNaN(acc):
			acc = v
		case lv.Aggregate == spec.Min && v < acc, lv.Aggregate == spec.Max && v > acc:
			acc = v
		}
		found = true
	})
	if found {
		s := e.add()
		s.labels = append(s.labels, outer...)
		s.value = acc
	}
}

// elements visits what one level iterates: the elements of a list (or a
// single non-nil value) or, with labelFromKey, every entry of a map in key
// order, each entry's value iterated the same way.
func (e *evaluator) elements(f *spec.Family, p spec.Path, labelFromKey string, v any, fn func(key string, el any)) {
	if labelFromKey == "" {
		forEach(v, func(el any) { fn("", el) })
		return
	}
	m, ok := v.(map[string]any)
	if !ok {
		if v != nil {
			e.fail(f, fmt.Errorf("%s: labelFromKey %s expects a map, got %T", p, labelFromKey, v))
		}
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		forEach(m[k], func(el any) { fn(k, el) })
	}
}

// forEach visits the elements of a list, or a single non-nil value.
func forEach(v any, fn func(any)) {
	switch x := v.(type) {
	case nil:
	case []any:
		for _, el := range x {
			if el != nil {
				fn(el)
			}
		}
	default:
		fn(v)
	}
}

func container(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return true
	}
	return false
}

func hasEmptyPath(labels []spec.PathLabel) bool {
	for i := range labels {
		if len(labels[i].Path) == 0 {
			return true
		}
	}
	return false
}
