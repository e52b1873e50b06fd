// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package live

import (
	"context"
	"fmt"
	"os"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
)

// currentCRDs is whether Kuadrant's current CRDs (from the shared folder) are
// installed, and with them the fixtures of today's kinds.
var currentCRDs bool

// TestMain starts one kube-apiserver + etcd for the package with the Gateway
// API experimental-channel CRDs (go.mod's sigs.k8s.io/gateway-api), Kuadrant's
// current CRDs (as e2e/current; outside CI, where the shared folder may be
// missing, testenv's minimal ones, newer kinds included), the
// Prometheus Operator's ServiceMonitor and PrometheusRule CRDs
// (prometheusOperatorCRDs) and the sample objects (one object with status per
// kind, namespace demo), plus fixtures (testdata/fixtures.yaml, and
// testdata/current.yaml for today's kinds) that give the new dashboard panels
// and alerts something to show, one of them with a stale status (makeStale).
func TestMain(m *testing.M) {
	testenv.Main(m, func(e *testenv.Env) error {
		ctx := context.Background()
		if err := e.InstallGatewayAPICRDs(ctx, "experimental"); err != nil {
			return err
		}
		if dir, ok := testenv.KuadrantCurrentCRDDir(); ok {
			if err := e.InstallCRDs(ctx, dir); err != nil {
				return err
			}
			currentCRDs = true
		} else {
			if testenv.InCI() {
				return fmt.Errorf("Kuadrant's current CRDs are not at %s; CI needs the shared folder beside the repository (or SHARED_DIR)", dir)
			}
			fmt.Fprintf(os.Stderr, "Kuadrant's current CRDs are not at %s: installing the minimal ones; the panels and alerts of today's kinds are not checked (in CI this fails)\n", dir)
			if err := e.InstallKuadrantCRDs(ctx); err != nil {
				return err
			}
			// The default spec's Kuadrant kinds testenv does not install
			// (e2e runs without them): Kuadrant, TokenRateLimitPolicy,
			// extensions.
			if err := e.InstallNewerKuadrantCRDs(ctx); err != nil {
				return err
			}
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
		fixtureObjects := currentFixtures
		if !currentCRDs {
			if fixtureObjects, err = os.ReadFile("testdata/kuadrant-newer-objects.yaml"); err != nil {
				return err
			}
		}
		if _, err := e.Apply(ctx, fixturesNamespace, fixtureObjects); err != nil {
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
