// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package current runs the exporter against a real API server holding the CRDs
// a cluster serves today: the Gateway API v1.6.3 experimental channel of
// go.mod's sigs.k8s.io/gateway-api, and Kuadrant's current CRDs (read from
// the shared reference folder beside the repository, never copied into it).
// One test per kind applies objects whose statuses are written from the CRDs'
// status schemas and requires exactly the listed sample lines.
package current

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
)

// skipReason is set when the Kuadrant CRDs are not available locally.
var skipReason string

// kuadrantCRDs is the directory of Kuadrant's current CRDs.
var kuadrantCRDs string

func TestMain(m *testing.M) {
	dir, ok := testenv.KuadrantCurrentCRDDir()
	if !ok {
		if testenv.InCI() {
			fmt.Fprintf(os.Stderr, "FAIL: Kuadrant's current CRDs are not at %s; CI needs the shared folder beside the repository (or SHARED_DIR)\n", dir)
			os.Exit(1)
		}
		skipReason = fmt.Sprintf("Kuadrant's current CRDs are not at %s (the shared folder beside the repository; SHARED_DIR overrides); skipping (in CI this fails)", dir)
		fmt.Fprintln(os.Stderr, skipReason)
		os.Exit(m.Run())
	}
	kuadrantCRDs = dir
	testenv.AfterTests(checkCoverage)
	testenv.Main(m, func(e *testenv.Env) error {
		ctx := context.Background()
		if err := e.InstallGatewayAPICRDs(ctx, "experimental"); err != nil {
			return err
		}
		return e.InstallCRDs(ctx, dir)
	})
}

// envFor is testenv.Current, or a skip where the CRDs are missing.
func envFor(t *testing.T) *testenv.Env {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	return testenv.Current(t)
}
