package live

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
)

// TestMain starts one kube-apiserver + etcd for the package with the Gateway
// API standard-channel CRDs (go.mod's sigs.k8s.io/gateway-api) and its
// experimental gateway.networking.x-k8s.io ones, the Kuadrant CRDs (testenv's
// and testdata/kuadrant-newer), the Prometheus Operator's ServiceMonitor and
// PrometheusRule CRDs (prometheusOperatorCRDs) and the sample objects (one
// object with status per kind, namespace demo), plus fixtures
// (testdata/fixtures.yaml) that give the new dashboard panels about unhealthy
// objects something to show, one of them with a stale status (makeStale).
func TestMain(m *testing.M) {
	testenv.Main(m, func(e *testenv.Env) error {
		ctx := context.Background()
		if err := e.InstallGatewayAPICRDs(ctx, "standard"); err != nil {
			return err
		}
		// The default spec's gateway.networking.x-k8s.io kinds.
		experimental, err := testenv.GatewayAPICRDDir("experimental")
		if err != nil {
			return err
		}
		xk8s, err := filepath.Glob(filepath.Join(experimental, "gateway.networking.x-k8s.io_*.yaml"))
		if err != nil || len(xk8s) == 0 {
			return fmt.Errorf("no gateway.networking.x-k8s.io CRDs in %s (%v)", experimental, err)
		}
		if err := e.InstallCRDs(ctx, xk8s...); err != nil {
			return err
		}
		if err := e.InstallKuadrantCRDs(ctx); err != nil {
			return err
		}
		// The default spec's Kuadrant kinds testenv does not install (e2e
		// runs without them): Kuadrant, TokenRateLimitPolicy, extensions.
		if err := e.InstallCRDs(ctx, "testdata/kuadrant-newer"); err != nil {
			return err
		}
		monitoring, err := prometheusOperatorCRDs()
		if err != nil {
			return err
		}
		if err := e.InstallCRDs(ctx, monitoring...); err != nil {
			return err
		}
		if _, err := e.Apply(ctx, testenv.SamplesNamespace, testenv.Samples()); err != nil {
			return err
		}
		if _, err := e.Apply(ctx, fixturesNamespace, fixtures); err != nil {
			return err
		}
		newer, err := os.ReadFile("testdata/kuadrant-newer-objects.yaml")
		if err != nil {
			return err
		}
		if _, err := e.Apply(ctx, fixturesNamespace, newer); err != nil {
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
		if _, err = e.Apply(ctx, fixturesNamespace, objs); err != nil {
			return err
		}
		return makeStale(ctx, e)
	})
}

// makeStale changes the spec of the fixture GatewayClass after its status was
// written: metadata.generation becomes 2 while its condition still says
// observedGeneration 1, as when its controller has not reconciled the change
// (the freshness panels and ControllerNotReconciling).
func makeStale(ctx context.Context, e *testenv.Env) error {
	dyn, err := dynamic.NewForConfig(e.Config)
	if err != nil {
		return err
	}
	gc := dyn.Resource(schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "gatewayclasses"})
	obj, err := gc.Get(ctx, "deploy-test-unaccepted", metav1.GetOptions{})
	if err != nil {
		return err
	}
	if err := unstructured.SetNestedField(obj.Object, "changed after the status was written", "spec", "description"); err != nil {
		return err
	}
	_, err = gc.Update(ctx, obj, metav1.UpdateOptions{})
	return err
}
