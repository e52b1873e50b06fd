// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package nowatchlist runs watch mode against a kube-apiserver without
// streaming lists (--feature-gates=WatchList=false, as a cluster that turned
// the gate off, or one older than v1.27, answers): watch mode must fall back
// to paginated LISTs and serve what list mode serves. It has its own control
// plane because the gate is the API server's.
package nowatchlist

import (
	"context"
	"testing"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
)

func TestMain(m *testing.M) {
	testenv.MainWithOptions(m, testenv.Options{ExtraAPIServerArgs: []string{"--feature-gates=WatchList=false"}}, func(e *testenv.Env) error {
		ctx := context.Background()
		if err := e.InstallGatewayAPICRDs(ctx, "standard"); err != nil {
			return err
		}
		return e.InstallKuadrantCRDs(ctx)
	})
}
