// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package envoygateway runs the exporter beside a real Gateway API
// controller: Envoy Gateway's control plane (internal/envoygateway), on the
// package's own API server, reconciles a scenario of GatewayClass, Gateways,
// routes, ReferenceGrants and its own policies, and writes their statuses as
// it does in a cluster. Every condition it wrote, read back from the API
// server and turned into sample lines by the test itself, must be what the
// exporter serves, in list and in watch mode, and nothing else; then the
// scenario changes while both run, and the lines follow the controller.
package envoygateway

import (
	"testing"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/envoygateway"
)

// TestMain starts one kube-apiserver + etcd and one Envoy Gateway for the
// package (its CRDs: the Gateway API v1.6.1 experimental channel it is built
// against, and its own).
func TestMain(m *testing.M) {
	envoygateway.Main(m, nil)
}
