// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package harness

import "strings"

// SampleLines returns the sample lines of a text exposition body: no
// comments, no blank lines.
func SampleLines(body []byte) []string {
	var out []string
	for _, l := range strings.Split(string(body), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// MetricName is a sample line's metric name.
func MetricName(line string) string {
	if i := strings.IndexAny(line, "{ "); i >= 0 {
		return line[:i]
	}
	return line
}

// WithPrefix keeps the lines whose metric name starts with prefix.
func WithPrefix(lines []string, prefix string) []string {
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(MetricName(l), prefix) {
			out = append(out, l)
		}
	}
	return out
}
