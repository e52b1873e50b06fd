// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package markdown

import "testing"

// The anchors GitHub shows for these headings (written by hand from
// github.com's rendering of this repository's documents).
func TestAnchor(t *testing.T) {
	for heading, want := range map[string]string{
		"GatewayMetricsExporterAbsent":                                    "gatewaymetricsexporterabsent",
		"Exporter health (in every /metrics body)":                        "exporter-health-in-every-metrics-body",
		"`render` on a large file (issue 12, item 4)":                     "render-on-a-large-file-issue-12-item-4",
		"Collection modes at scale (issue 12)":                            "collection-modes-at-scale-issue-12",
		"Nested iteration: the one extension to the CRS format":           "nested-iteration-the-one-extension-to-the-crs-format",
		"Versions: what the old configuration misses on current clusters": "versions-what-the-old-configuration-misses-on-current-clusters",
	} {
		if got := Anchor(heading); got != want {
			t.Errorf("Anchor(%q) = %q, want %q", heading, got, want)
		}
	}
}
