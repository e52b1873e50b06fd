// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package dashboards

import (
	"strings"
)

// Every board selects by cluster and namespace (template variables), so that
// same-named objects of different namespaces or clusters never merge. The
// matchers are regular expressions: "All" is ".*", which also matches a
// series without the label (a Prometheus with one cluster has no cluster
// label at all).
const (
	clusterMatcher = `cluster=~"$cluster"`
	// objectScope selects the objects of the chosen clusters and namespaces.
	objectScope = clusterMatcher + `,namespace=~"$namespace"`
	// clusterScope selects the chosen clusters only: for the exporter's own
	// series, whose namespace (a target label) is the exporter's.
	clusterScope = clusterMatcher
)

// scoped adds the matchers (e.g. objectScope) to every vector selector of
// the PromQL expression expr: `m` becomes `m{matchers}` and `m{a="b"}` (or
// `{__name__=~"..."}`) gets them first, `m{matchers,a="b"}`. Unscoped
// undoes it, which is how the tests find the old dashboards' expressions in
// ours.
//
// It reads just enough PromQL to find selectors: string literals, range and
// subquery brackets, the label lists of by/without/on/ignoring/group_left/
// group_right, function calls and keywords are passed over; every other name
// is a metric.
func scoped(expr, matchers string) string {
	var b strings.Builder
	n := len(expr)
	for i := 0; i < n; {
		c := expr[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			j := skipString(expr, i)
			b.WriteString(expr[i:j])
			i = j
		case c == '[':
			j := strings.IndexByte(expr[i:], ']')
			if j < 0 {
				j = n - i - 1
			}
			b.WriteString(expr[i : i+j+1])
			i += j + 1
		case c == '{':
			b.WriteByte('{')
			b.WriteString(matchers)
			if k := nextNonSpace(expr, i+1); k < n && expr[k] != '}' {
				b.WriteByte(',')
			}
			j := skipMatchers(expr, i+1)
			b.WriteString(expr[i+1 : j])
			i = j
		case isNameStart(c):
			j := i
			for j < n && isNameChar(expr[j]) {
				j++
			}
			word := expr[i:j]
			b.WriteString(word)
			k := nextNonSpace(expr, j)
			switch {
			case labelListKeywords[word] && k < n && expr[k] == '(':
				// by (a, b): copy the label list as it is.
				end := strings.IndexByte(expr[k:], ')')
				if end < 0 {
					end = n - k - 1
				}
				b.WriteString(expr[j : k+end+1])
				i = k + end + 1
				continue
			case keywords[word], k < n && expr[k] == '(':
				// a keyword, or a function or aggregation call
			case k < n && expr[k] == '{':
				// the selector's braces get the matchers
			default:
				b.WriteString("{" + matchers + "}")
			}
			i = j
		case c >= '0' && c <= '9' || c == '.':
			// a number or a duration (offset 5m)
			j := i
			for j < n && (isNameChar(expr[j]) || expr[j] == '.') {
				j++
			}
			b.WriteString(expr[i:j])
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// Unscoped removes what scoped added (objectScope or clusterScope).
func Unscoped(expr string) string {
	for _, m := range []string{objectScope, clusterScope} {
		expr = strings.ReplaceAll(expr, "{"+m+"}", "")
		expr = strings.ReplaceAll(expr, "{"+m+",", "{")
	}
	return expr
}

// keywords are the names that are never a metric: operators, modifiers and
// aggregations (which may be followed by by/without instead of a
// parenthesis).
var keywords = map[string]bool{
	"and": true, "or": true, "unless": true, "atan2": true, "bool": true, "offset": true,
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"inf": true, "nan": true, "Inf": true, "NaN": true, "start": true, "end": true,
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
	"limitk": true, "limit_ratio": true,
}

// labelListKeywords take a parenthesised list of label names.
var labelListKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

func isNameStart(c byte) bool {
	return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isNameChar(c byte) bool { return isNameStart(c) || c >= '0' && c <= '9' }

func nextNonSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string literal starting at i.
func skipString(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch {
		case s[j] == '\\' && q != '`':
			j++
		case s[j] == q:
			return j + 1
		}
	}
	return len(s)
}

// skipMatchers returns the index after the '}' closing a matcher list that
// starts at i (after its '{'), passing over the strings in it.
func skipMatchers(s string, i int) int {
	for i < len(s) {
		switch s[i] {
		case '"', '\'', '`':
			i = skipString(s, i)
		case '}':
			return i + 1
		default:
			i++
		}
	}
	return len(s)
}

// scopedVariableQuery scopes the selector of a Grafana label_values(selector,
// label) query.
func scopedVariableQuery(query, matchers string) string {
	inner, ok := strings.CutPrefix(query, "label_values(")
	if !ok {
		return query
	}
	comma := strings.LastIndexByte(inner, ',')
	if comma < 0 {
		return query
	}
	return "label_values(" + scoped(inner[:comma], matchers) + inner[comma:]
}
