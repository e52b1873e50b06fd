// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package scrape

import (
	"cmp"
	"slices"
	"sync"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
)

// Limits are the cardinality guard (--max-series-per-family, --max-series):
// 0 is no limit. They count the samples of the spec's families, as served
// (every kind contributing to a family name counted together); the
// exporter's own health families are always served.
type Limits struct {
	SeriesPerFamily int
	Series          int
}

// The limits a family can be withheld for, named after their flags.
const (
	LimitFamily = "max-series-per-family"
	LimitBody   = "max-series"
)

// FamilyState is one family as the last collection (list mode) or the
// stores at the last scrape (watch mode) held it: what its kinds rendered,
// whether it was served, and which limits it ever crossed since the
// exporter started.
type FamilyState struct {
	Name string
	engine.FamilyStats
	// Withheld is the limit that kept the family out of the body ("": it
	// was served).
	Withheld string
	// Crossed lists the limits the family went over at least once since the
	// exporter started (sorted).
	Crossed []string
}

// guard is the Core's family accounting: the limits, and the families of the
// last result.
type guard struct {
	limits Limits
	mu     sync.Mutex
	state  map[string]FamilyState
}

// account totals the families of a result's kinds, decides which are
// withheld, logs each crossing once and hands the new state to the
// observer. Families of a kind that is down keep their last state (a kind
// that could not be read says nothing about its families); those of no kind
// of the result are forgotten.
func (c *Core) account(kinds []KindResult) map[string]bool {
	totals := map[string]*engine.FamilyStats{}
	var order []string
	down := map[string]bool{}
	for _, kr := range kinds {
		switch {
		case kr.Up && kr.Renderer != nil:
			stats := kr.Renderer.Stats()
			for i, f := range kr.Kind.Families {
				t := totals[f.Name]
				if t == nil {
					t = &engine.FamilyStats{}
					totals[f.Name] = t
					order = append(order, f.Name)
				}
				if i < len(stats) {
					t.Add(stats[i])
				}
			}
		case !kr.NotServed && kr.Kind != nil:
			for _, f := range kr.Kind.Families {
				down[f.Name] = true
			}
		}
	}
	withheld := c.guard.decide(totals, order)

	g := &c.guard
	g.mu.Lock()
	defer g.mu.Unlock()
	next := make(map[string]FamilyState, len(totals))
	for _, name := range order {
		prev := g.state[name]
		st := FamilyState{Name: name, FamilyStats: *totals[name], Withheld: withheld[name], Crossed: prev.Crossed}
		if st.Withheld != prev.Withheld {
			c.logCrossing(st, prev.Withheld)
		}
		if st.Withheld != "" && !slices.Contains(st.Crossed, st.Withheld) {
			st.Crossed = slices.Sorted(slices.Values(append(slices.Clone(st.Crossed), st.Withheld)))
		}
		next[name] = st
	}
	for name, st := range g.state {
		if _, ok := next[name]; !ok && down[name] {
			next[name] = st
		}
	}
	g.state = next
	if c.obs != nil {
		states := make([]FamilyState, 0, len(next))
		for _, st := range next {
			states = append(states, st)
		}
		slices.SortFunc(states, func(a, b FamilyState) int { return cmp.Compare(a.Name, b.Name) })
		c.obs.Families(states)
	}
	if len(withheld) == 0 {
		return nil
	}
	set := make(map[string]bool, len(withheld))
	for name := range withheld {
		set[name] = true
	}
	return set
}

// decide is the guard itself: a family over SeriesPerFamily is withheld
// whole; then, while the body is over Series, the largest family left is
// withheld (ties: by name). It returns the withheld families and why.
func (g *guard) decide(totals map[string]*engine.FamilyStats, names []string) map[string]string {
	withheld := map[string]string{}
	body := 0
	var served []string
	for _, name := range names {
		n := totals[name].Series
		if g.limits.SeriesPerFamily > 0 && n > g.limits.SeriesPerFamily {
			withheld[name] = LimitFamily
			continue
		}
		body += n
		served = append(served, name)
	}
	if g.limits.Series <= 0 || body <= g.limits.Series {
		return withheld
	}
	slices.SortFunc(served, func(a, b string) int {
		return cmp.Or(cmp.Compare(totals[b].Series, totals[a].Series), cmp.Compare(a, b))
	})
	for _, name := range served {
		if body <= g.limits.Series {
			break
		}
		withheld[name] = LimitBody
		body -= totals[name].Series
	}
	return withheld
}

// logCrossing names a family once when it goes over a limit and once when it
// is served again: a family that stays over is not logged at every scrape.
func (c *Core) logCrossing(st FamilyState, was string) {
	switch st.Withheld {
	case LimitFamily:
		c.log.Warn("family over --max-series-per-family: none of its samples are served until it is back under (gateway_metrics_family_over_limit)",
			"family", st.Name, "series", st.Series, "limit", c.guard.limits.SeriesPerFamily)
	case LimitBody:
		c.log.Warn("body over --max-series: family dropped, largest first, none of its samples are served until the body fits (gateway_metrics_family_over_limit)",
			"family", st.Name, "series", st.Series, "limit", c.guard.limits.Series)
	default:
		c.log.Info("family back under its limit: served again", "family", st.Name, "series", st.Series, "was_over", was)
	}
}
