// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package telemetry

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/scrape"
)

// The families' state is served as gauges, the last state given; a family
// has a gateway_metrics_family_over_limit series per limit it ever crossed,
// 1 while it is withheld for it.
func TestFamilies(t *testing.T) {
	m := New()
	if n := testutil.CollectAndCount(m.families); n != 0 {
		t.Errorf("%d series before any collection", n)
	}
	m.Families([]scrape.FamilyState{
		{Name: "a", FamilyStats: engine.FamilyStats{Series: 3, Bytes: 300, Duplicates: 1, Errors: 2}},
		{Name: "b", FamilyStats: engine.FamilyStats{Series: 9, Bytes: 900}, Withheld: scrape.LimitFamily, Crossed: []string{scrape.LimitFamily}},
		{Name: "c", FamilyStats: engine.FamilyStats{Series: 1, Bytes: 90}, Crossed: []string{scrape.LimitBody, scrape.LimitFamily}},
	})
	want := `
# HELP gateway_metrics_family_bytes Bytes of the family's samples in the text format (without HELP and TYPE), as gateway_metrics_family_series counts them.
# TYPE gateway_metrics_family_bytes gauge
gateway_metrics_family_bytes{family="a"} 300
gateway_metrics_family_bytes{family="b"} 900
gateway_metrics_family_bytes{family="c"} 90
# HELP gateway_metrics_family_duplicates Samples of the family not served because another element of the same object produced the same series, in the objects gateway_metrics_family_series counts.
# TYPE gateway_metrics_family_duplicates gauge
gateway_metrics_family_duplicates{family="a"} 1
gateway_metrics_family_duplicates{family="b"} 0
gateway_metrics_family_duplicates{family="c"} 0
# HELP gateway_metrics_family_evaluation_errors Evaluations of the family that failed for an object (a value that is not a number, a path that does not resolve), in the objects gateway_metrics_family_series counts.
# TYPE gateway_metrics_family_evaluation_errors gauge
gateway_metrics_family_evaluation_errors{family="a"} 2
gateway_metrics_family_evaluation_errors{family="b"} 0
gateway_metrics_family_evaluation_errors{family="c"} 0
# HELP gateway_metrics_family_over_limit 1 while the family is withheld from /metrics for being over limit (--max-series-per-family, or --max-series: the body's largest families go first), 0 once it is served again; only families that crossed the limit since the exporter started have a series.
# TYPE gateway_metrics_family_over_limit gauge
gateway_metrics_family_over_limit{family="b",limit="max-series-per-family"} 1
gateway_metrics_family_over_limit{family="c",limit="max-series"} 0
gateway_metrics_family_over_limit{family="c",limit="max-series-per-family"} 0
# HELP gateway_metrics_family_series Samples of the family in the last /metrics collection (list mode) or in the watch stores at the last scrape (watch mode), all kinds of the family together; served unless gateway_metrics_family_over_limit is 1.
# TYPE gateway_metrics_family_series gauge
gateway_metrics_family_series{family="a"} 3
gateway_metrics_family_series{family="b"} 9
gateway_metrics_family_series{family="c"} 1
`
	if err := testutil.CollectAndCompare(m.families, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	m.Families([]scrape.FamilyState{{Name: "a"}})
	if n := testutil.CollectAndCount(m.families, "gateway_metrics_family_series"); n != 1 {
		t.Errorf("%d series after a state of one family, want 1", n)
	}
	problems, err := testutil.GatherAndLint(m.Registry)
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "gateway_metrics_family_") {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
	}
	if err != nil {
		t.Error(err)
	}
}
