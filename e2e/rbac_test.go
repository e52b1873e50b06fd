// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/harness"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
)

// revokedRBAC lets e2e-revoked list everything the exporter reads, with
// httproutes granted by a binding of their own that the test deletes.
const revokedRBAC = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: e2e-revoked-most
rules:
- apiGroups: [gateway.networking.k8s.io]
  resources: [gatewayclasses, gateways, grpcroutes, tlsroutes, tcproutes, udproutes, backendtlspolicies, listenersets, referencegrants]
  verbs: [list, watch]
- apiGroups: [apiextensions.k8s.io]
  resources: [customresourcedefinitions]
  verbs: [list, watch]
- apiGroups: [kuadrant.io]
  resources: [authpolicies, ratelimitpolicies, dnspolicies, tlspolicies, dnsrecords, dnshealthcheckprobes]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: e2e-revoked-most
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: e2e-revoked-most}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: e2e-revoked}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: e2e-revoked-routes
rules:
- apiGroups: [gateway.networking.k8s.io]
  resources: [httproutes]
  verbs: [list, watch]
`

const routesBinding = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: e2e-revoked-routes
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: e2e-revoked-routes}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: e2e-revoked}
`

// TestRBACRevoked: the permission to list httproutes is revoked while the
// exporter runs. List mode: the next scrapes report HTTPRoute
// gateway_metrics_up 0 with none of its lines, every other kind whole, status
// 200, one log line naming the resource; once granted again, everything is
// served as before. Watch mode: an exporter started without the permission
// reports HTTPRoute down the same way, and its reflector picks the kind up
// once the permission is granted. (A watch already open when the permission
// is revoked keeps running until the API server ends it, as in KSM: the API
// server authorizes a watch when it opens.)
func TestRBACRevoked(t *testing.T) {
	env := testenv.Current(t)
	ns := nsFor(t)
	applySamples(t, env, ns)
	applyYAML(t, env, ns, revokedRBAC+"---\n"+routesBinding)
	kc, err := env.KubeconfigFor(revokedUser.Token)
	if err != nil {
		t.Fatal(err)
	}
	ref := startExporter(t, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns)
	want := kindLines(ref.scrape(t).Body)
	x := startExporter(t, "--kubeconfig="+kc, "--namespaces="+ns)
	// The authorizer learns of new bindings through an informer.
	waitBody(t, x, "every kind up with the permissions granted", func(lines []string) bool {
		_, up := kindsOf(lines)
		return !strings.Contains(strings.Join(mapValues(up), ""), "0")
	})
	assertLines(t, "granted", kindLines(x.scrape(t).Body), want)

	bindings := env.Dynamic().Resource(schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"})
	if err := bindings.Delete(ctxFor(t), "e2e-revoked-routes", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	lines := waitBody(t, x, "HTTPRoute down after the revocation", func(lines []string) bool {
		assertKindsWholeOrDown(t, "while revoking", lines, want)
		_, up := kindsOf(lines)
		return up["HTTPRoute"] == "0"
	})
	_, up := kindsOf(lines)
	for kind, v := range up {
		if kind != "HTTPRoute" && v != "1" {
			t.Errorf("%s down although only httproutes were revoked", kind)
		}
	}
	assertKindsWholeOrDown(t, "revoked", lines, want)
	if got := x.logLines("RBAC forbids"); len(got) != 1 || !strings.Contains(got[0], "httproutes.gateway.networking.k8s.io") {
		t.Errorf("want one log line naming httproutes.gateway.networking.k8s.io, got %q", got)
	}

	w := startExporter(t, "--kubeconfig="+kc, "--namespaces="+ns, "--collection=watch")
	wl := waitBody(t, w, "watch mode: every other kind up", func(lines []string) bool {
		_, up := kindsOf(lines)
		n := 0
		for _, v := range up {
			if v == "1" {
				n++
			}
		}
		return n == len(defaultKinds)-1
	})
	if _, up := kindsOf(wl); up["HTTPRoute"] != "0" {
		t.Errorf("watch mode without the permission: HTTPRoute up %q, want 0", up["HTTPRoute"])
	}
	assertKindsWholeOrDown(t, "watch mode, revoked", wl, want)

	applyYAML(t, env, ns, routesBinding)
	for name, e := range map[string]*exporter{"list": x, "watch": w} {
		waitBody(t, e, name+" mode: HTTPRoute back", func(lines []string) bool {
			_, up := kindsOf(lines)
			return up["HTTPRoute"] == "1"
		})
		after := e.scrape(t)
		assertAllUp(t, harness.SampleLines(after.Body))
		assertLines(t, name+" mode after the permission is granted again", kindLines(after.Body), want)
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
