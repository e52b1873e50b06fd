// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package live tests the deployment assets against real servers: the
// manifests are server-side applied to a real kube-apiserver (internal/testenv),
// with strict field validation, and the exporter runs with exactly the
// permissions of their ServiceAccount; every ServiceMonitor and PrometheusRule
// (each chart combination that renders one, the kustomize overlay and
// deploy/rules) is checked by the Prometheus Operator's own CRDs, read from
// the module cache at the version deploy/test/go.mod pins, and the stored
// rule groups by `promtool check rules`; the
// dashboards and alerts are evaluated by a real Prometheus scraping the real
// kube-state-metrics output, our output for the same objects and a live
// exporter; and the old kube-state-metrics example Deployment is run with our
// exporter in place of kube-state-metrics.
//
//	cd deploy/test && go test ./live -v
//
// Needs the etcd and kube-apiserver binaries (`make kube-bins`, see
// internal/testenv) and the prometheus binary (installed from Debian's
// "prometheus" package when missing and running as root). Without them the
// tests skip locally and fail when CI=true. The comparisons with
// kube-state-metrics need ../shared next to the repository (internal/refdata:
// skipped when absent, failed when CI=true).
package live
