// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package current

// It deletes a CRD the other tests use, and installs it again before it
// ends: the tests run one at a time, and what the others check (their own
// objects, the families served, see checkCoverage) does not depend on
// whether it ran before them.

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/harness"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
)

// TestCRDDisappearsAndReturns: a CRD deleted while the exporter runs takes
// its kind's series away (no gateway_metrics_up 0: a cluster without the CRD
// is not a failing one) and leaves every other kind complete; installed again,
// the kind is back.
func TestCRDDisappearsAndReturns(t *testing.T) {
	env := envFor(t)
	ns := nsFor(t)
	applyYAML(t, env, ns, `apiVersion: extensions.kuadrant.io/v1alpha1
kind: ThreatPolicy
metadata: {name: edge-threats}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: edge}
  threshold: 5
---
apiVersion: gateway.networking.k8s.io/v1
kind: ReferenceGrant
metadata: {name: allow-routes}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: apps}]
  to: [{group: "", kind: Service}]
`)
	x := startExporter(t, env, ns)
	threat := servedKind{"extensions.kuadrant.io", "ThreatPolicy", "v1alpha1"}
	refGrant := `gatewayapi_referencegrant_from_info{customresource_group="gateway.networking.k8s.io",customresource_kind="ReferenceGrant",customresource_version="v1",from_group="gateway.networking.k8s.io",from_kind="HTTPRoute",from_namespace="apps",name="allow-routes",namespace="` + ns + `"} 1`

	lines := x.scrape(t)
	var up []string
	for _, k := range servedKinds {
		up = append(up, upLine(k, "1"))
	}
	assertLines(t, "before: gateway_metrics_up", harness.WithPrefix(lines, "gateway_metrics_up"), up)
	if len(harness.WithPrefix(lines, "gatewayapi_threatpolicy_")) == 0 {
		t.Fatalf("before: no ThreatPolicy series")
	}

	const crdName = "threatpolicies.extensions.kuadrant.io"
	crds := env.Dynamic().Resource(testenv.CRDGVR)
	if err := crds.Delete(ctxFor(t), crdName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	reinstalled := false
	t.Cleanup(func() {
		if !reinstalled {
			waitCRDGone(t, env, crdName)
			if err := env.InstallCRDs(ctxFor(t), filepath.Join(kuadrantCRDs, "extensions.kuadrant.io_threatpolicies.yaml")); err != nil {
				t.Errorf("reinstall %s: %v", crdName, err)
			}
		}
	})
	waitCRDGone(t, env, crdName)

	// Discovery is asked on every scrape; the API server's own discovery
	// may take a moment to drop the group.
	var wantUp []string
	for _, k := range servedKinds {
		if k != threat {
			wantUp = append(wantUp, upLine(k, "1"))
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		lines = x.scrape(t)
		if len(harness.WithPrefix(lines, "gatewayapi_threatpolicy_")) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	assertLines(t, "CRD deleted: gateway_metrics_up", harness.WithPrefix(lines, "gateway_metrics_up"), wantUp)
	if got := harness.WithPrefix(lines, "gatewayapi_threatpolicy_"); len(got) != 0 {
		t.Errorf("CRD deleted: ThreatPolicy series still served:\n%s", strings.Join(got, "\n"))
	}
	if !contains(lines, refGrant) {
		t.Errorf("CRD deleted: the other kinds must stay complete; missing %s", refGrant)
	}

	if err := env.InstallCRDs(ctxFor(t), filepath.Join(kuadrantCRDs, "extensions.kuadrant.io_threatpolicies.yaml")); err != nil {
		t.Fatal(err)
	}
	reinstalled = true
	deadline = time.Now().Add(30 * time.Second)
	for {
		lines = x.scrape(t)
		if contains(lines, upLine(threat, "1")) || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	assertLines(t, "CRD back: gateway_metrics_up", harness.WithPrefix(lines, "gateway_metrics_up"), up)
	// Deleting the CRD deleted its objects: none is served.
	if got := harness.WithPrefix(lines, "gatewayapi_threatpolicy_"); len(got) != 0 {
		t.Errorf("CRD back: series of objects deleted with the CRD:\n%s", strings.Join(got, "\n"))
	}
	if !contains(lines, refGrant) {
		t.Errorf("CRD back: missing %s", refGrant)
	}
}

// waitCRDGone waits until the CRD is deleted (its objects removed first).
func waitCRDGone(t *testing.T, env *testenv.Env, name string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, err := env.Dynamic().Resource(testenv.CRDGVR).Get(ctxFor(t), name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("CRD %s not deleted after 60s (last error %v)", name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func contains(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}
