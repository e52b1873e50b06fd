// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package compat holds everything that exists only because kube-state-metrics
// v2.20.0 does it that way: how a JSON value becomes a sample value or a label
// value, how label names are sanitised, how a kind is pluralised. Each function
// names the KSM code it mirrors; the differential tests in compat/ksmdiff prove
// that the bytes match.
package compat
