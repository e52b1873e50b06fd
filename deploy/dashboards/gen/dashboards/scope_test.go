// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package dashboards

import "testing"

// The expected expressions are written by hand: each selector, and nothing
// else, gets the matchers.
func TestScoped(t *testing.T) {
	const m = `c="1"`
	for _, c := range []struct{ in, want string }{
		{`up`, `up{c="1"}`},
		{`up{job="x"}`, `up{c="1",job="x"}`},
		{`up {job="x"}`, `up {c="1",job="x"}`},
		{`{__name__=~"a_.+_b", type="A"} == 0`, `{c="1",__name__=~"a_.+_b", type="A"} == 0`},
		{`count(a{n=~"$v"} > 0) or vector(0)`, `count(a{c="1",n=~"$v"} > 0) or vector(0)`},
		{`count by (namespace, name) (a == 0)`, `count by (namespace, name) (a{c="1"} == 0)`},
		{`sum(a) by (x) / on(x) group_left(y) b`, `sum(a{c="1"}) by (x) / on(x) group_left(y) b{c="1"}`},
		{`a * on(name, namespace, instance) group_right b{n="$g"}`, `a{c="1"} * on(name, namespace, instance) group_right b{c="1",n="$g"}`},
		{`histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m])))`, `histogram_quantile(0.99, sum by (le) (rate(h_bucket{c="1"}[5m])))`},
		{`label_replace(a, "dst", "$1", "src", "(.*)")`, `label_replace(a{c="1"}, "dst", "$1", "src", "(.*)")`},
		{`label_join(a{t="x{y}"}, "l", "/", "n")`, `label_join(a{c="1",t="x{y}"}, "l", "/", "n")`},
		{`time() - (a and on(x) (b == 0))`, `time() - (a{c="1"} and on(x) (b{c="1"} == 0))`},
		{`a unless on(x) b offset 5m`, `a{c="1"} unless on(x) b{c="1"} offset 5m`},
		{`max(a[5m:1m])`, `max(a{c="1"}[5m:1m])`},
		{`topk(5, a) > bool 1e3`, `topk(5, a{c="1"}) > bool 1e3`},
		{`a{}`, `a{c="1"}`},
	} {
		got := scoped(c.in, m)
		if got != c.want {
			t.Errorf("scoped(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

// Unscoped gives back what scoped was given.
func TestUnscoped(t *testing.T) {
	for _, in := range []string{
		`count by (namespace, name) (a{x="1"} == 0) or vector(0)`,
		`{__name__=~"a_.+"} * on(n) group_left() b`,
		`histogram_quantile(0.5, sum by (le) (rate(h_bucket[5m])))`,
	} {
		for _, m := range []string{objectScope, clusterScope} {
			if got := Unscoped(scoped(in, m)); got != in {
				t.Errorf("Unscoped(scoped(%q, %q)) = %q", in, m, got)
			}
		}
	}
	if got, want := scopedVariableQuery(`label_values(a{x="1"}, name)`, clusterScope), `label_values(a{cluster=~"$cluster",x="1"}, name)`; got != want {
		t.Errorf("scopedVariableQuery = %q, want %q", got, want)
	}
}
