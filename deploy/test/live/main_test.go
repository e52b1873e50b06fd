package live

import (
	"context"
	"os"
	"testing"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/testenv"
)

// TestMain starts one kube-apiserver + etcd for the package with the Gateway
// API standard-channel CRDs (go.mod's sigs.k8s.io/gateway-api), the Kuadrant
// CRDs and the sample objects (one object with status per kind, namespace
// demo), plus fixtures (testdata/fixtures.yaml) that give the new dashboard
// panels about unhealthy objects something to show.
func TestMain(m *testing.M) {
	testenv.Main(m, func(e *testenv.Env) error {
		ctx := context.Background()
		if err := e.InstallGatewayAPICRDs(ctx, "standard"); err != nil {
			return err
		}
		if err := e.InstallKuadrantCRDs(ctx); err != nil {
			return err
		}
		if _, err := e.Apply(ctx, testenv.SamplesNamespace, testenv.Samples()); err != nil {
			return err
		}
		if _, err := e.Apply(ctx, fixturesNamespace, fixtures); err != nil {
			return err
		}
		// A policy kind no spec declares, for the Policy Attachment dashboard.
		if err := e.InstallCRDs(ctx, "testdata/policies.yaml"); err != nil {
			return err
		}
		objs, err := os.ReadFile("testdata/policy-objects.yaml")
		if err != nil {
			return err
		}
		_, err = e.Apply(ctx, fixturesNamespace, objs)
		return err
	})
}
