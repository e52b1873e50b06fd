// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package deploytest holds the tests of the deployment assets under deploy/:
// kustomize bases and overlays, the Helm chart, the alerting rules and the
// Grafana dashboards. It is a separate Go module so that Helm and kustomize
// stay out of the exporter's own dependencies.
//
//	cd deploy/test && go test ./...
//
// The tests in this package render and inspect the files. Package live
// (deploy/test/live) runs them against real servers: the manifests applied to
// a real kube-apiserver with the exporter running as their ServiceAccount,
// every dashboard query and alert evaluated by a real Prometheus (the old
// dashboards' queries against real kube-state-metrics output and ours for the
// same objects), and the old kube-state-metrics example Deployment run with our
// image. It needs the etcd/kube-apiserver binaries (`make kube-bins`) and
// prometheus; without them it skips locally and fails when CI=true.
//
// The checked-in generated files (dashboards, PrometheusRule, the chart's
// alerts) are written by `make generate` and checked by `make check-generated`.
package deploytest
