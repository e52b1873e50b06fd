// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"testing"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
)

// limitedUser authenticates with a static token; TestForbiddenKind binds it to a
// ClusterRole that may list everything the exporter reads except httproutes.
var limitedUser = testenv.Token{Token: "e2e-limited-token", User: "e2e-limited", UID: "e2e-limited-uid"}

// throttledUser gets a tiny API Priority and Fairness share in
// TestThrottledByPriorityAndFairness, and revokedUser loses a permission
// while running in TestRBACRevoked.
var (
	throttledUser = testenv.Token{Token: "e2e-throttled-token", User: "e2e-throttled", UID: "e2e-throttled-uid"}
	revokedUser   = testenv.Token{Token: "e2e-revoked-token", User: "e2e-revoked", UID: "e2e-revoked-uid"}
)

// apiServerArgs: kube-apiserver ends open watches (watch mode's reflectors,
// the exporter's watch on CRDs) when it shuts down, as a production API
// server drains them, instead of waiting out its 60s shutdown timeout, which
// is past testenv's 20s stop bound in the restart tests.
var apiServerArgs = []string{"--shutdown-watch-termination-grace-period=2s"}

// TestMain starts one kube-apiserver + etcd for the package, with the Gateway
// API standard-channel CRDs of go.mod's sigs.k8s.io/gateway-api (v1.6.3) and the
// Kuadrant CRDs. Tests share it: each works in its own namespace and runs its
// own exporter with --namespaces=<that namespace>.
func TestMain(m *testing.M) {
	testenv.MainWithOptions(m, testenv.Options{ExtraTokens: []testenv.Token{limitedUser, throttledUser, revokedUser}, ExtraAPIServerArgs: apiServerArgs}, installCRDs)
}

func installCRDs(e *testenv.Env) error {
	ctx := context.Background()
	if err := e.InstallGatewayAPICRDs(ctx, "standard"); err != nil {
		return err
	}
	return e.InstallKuadrantCRDs(ctx)
}

// restartEnv is the control plane of the tests that stop the API server
// (restart_test.go, restart_watch_test.go): one of their own, with the same
// CRDs, so that no other test sees an outage, whatever order -shuffle runs
// them in. Each leaves it running when it ends.
func restartEnv(t *testing.T) *testenv.Env {
	t.Helper()
	return testenv.Separate(t, "restart", testenv.Options{ExtraAPIServerArgs: apiServerArgs}, installCRDs)
}
