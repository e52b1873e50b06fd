// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package metricsspec holds the default metric families, one file per kind, in
// kube-state-metrics' CustomResourceStateMetrics format. They are compiled
// into the binary and used when no --custom-resource-state-config(-file) is
// given.
package metricsspec

import "embed"

// FS holds the *.yaml spec files.
//
//go:embed *.yaml
var FS embed.FS
