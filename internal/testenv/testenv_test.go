// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package testenv_test

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"sort"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
)

// noRBAC is a user that authenticates but has no role bindings.
var noRBAC = testenv.Token{Token: "no-rbac-token", User: "no-rbac", UID: "no-rbac-uid"}

func TestMain(m *testing.M) {
	testenv.MainWithOptions(m, testenv.Options{ExtraTokens: []testenv.Token{noRBAC}}, func(e *testenv.Env) error {
		ctx := context.Background()
		if err := e.InstallGatewayAPICRDs(ctx, "standard"); err != nil {
			return err
		}
		return e.InstallKuadrantCRDs(ctx)
	})
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestSamplesRoundTrip applies the samples and checks every object's status was
// stored exactly as written (CRD validation passed, the status subresource took it,
// and no defaulting changed it).
func TestSamplesRoundTrip(t *testing.T) {
	env := testenv.Current(t)
	ctx := ctxT(t)

	docs, err := testenv.SplitYAML(testenv.Samples())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	objs, err := env.Apply(ctx, testenv.SamplesNamespace, testenv.Samples())
	if err != nil {
		t.Fatalf("Apply(samples): %v", err)
	}
	t.Logf("applied %d samples in %s", len(objs), time.Since(start).Round(time.Millisecond))
	if len(objs) != len(docs) {
		t.Fatalf("Apply returned %d objects for %d documents", len(objs), len(docs))
	}

	want := map[string]bool{
		"gateway.networking.k8s.io/v1 GatewayClass": true, "gateway.networking.k8s.io/v1 Gateway": true,
		"gateway.networking.k8s.io/v1 ListenerSet": true, "gateway.networking.k8s.io/v1 HTTPRoute": true,
		"gateway.networking.k8s.io/v1 GRPCRoute": true, "gateway.networking.k8s.io/v1 TLSRoute": true,
		"gateway.networking.k8s.io/v1 TCPRoute": true, "gateway.networking.k8s.io/v1 UDPRoute": true,
		"gateway.networking.k8s.io/v1 BackendTLSPolicy": true, "gateway.networking.k8s.io/v1 ReferenceGrant": true,
		"kuadrant.io/v1 AuthPolicy": true, "kuadrant.io/v1 RateLimitPolicy": true,
		"kuadrant.io/v1 DNSPolicy": true, "kuadrant.io/v1 TLSPolicy": true,
		"kuadrant.io/v1alpha1 DNSRecord": true, "kuadrant.io/v1alpha1 DNSHealthCheckProbe": true,
	}
	for i, doc := range docs {
		var src map[string]any
		if err := sigsyaml.Unmarshal(doc, &src); err != nil {
			t.Fatal(err)
		}
		sample := &unstructured.Unstructured{Object: src}
		gvk := sample.GroupVersionKind()
		id := gvk.GroupVersion().String() + " " + gvk.Kind
		delete(want, id)
		t.Run(gvk.Kind, func(t *testing.T) {
			wantStatus, ok := src["status"]
			if !ok && gvk.Kind != "ReferenceGrant" { // the one kind without a status
				t.Fatalf("sample %s has no status", id)
			}
			if got := objs[i].Object["status"]; !reflect.DeepEqual(norm(t, got), norm(t, wantStatus)) {
				t.Errorf("Apply returned a different status for %s %s:\n got %s\nwant %s", id, sample.GetName(), js(got), js(wantStatus))
			}
			// Read back with a fresh GET.
			if sample.GetNamespace() == "" && gvk.Kind != "GatewayClass" {
				t.Errorf("sample %s has no namespace", id)
			}
			ri, err := env.ResourceFor(ctx, objs[i])
			if err != nil {
				t.Fatal(err)
			}
			got, err := ri.Get(ctx, sample.GetName(), metav1.GetOptions{})
			if err != nil {
				t.Fatalf("get %s: %v", id, err)
			}
			if gvk.Kind != "GatewayClass" && got.GetNamespace() != testenv.SamplesNamespace {
				t.Errorf("%s namespace = %q, want %q", id, got.GetNamespace(), testenv.SamplesNamespace)
			}
			if !reflect.DeepEqual(norm(t, got.Object["status"]), norm(t, wantStatus)) {
				t.Errorf("stored status differs for %s %s:\n got %s\nwant %s", id, sample.GetName(), js(got.Object["status"]), js(wantStatus))
			}
			conds, found, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
			if gvk.Kind != "HTTPRoute" && gvk.Kind != "GRPCRoute" && gvk.Kind != "TLSRoute" && gvk.Kind != "TCPRoute" &&
				gvk.Kind != "UDPRoute" && gvk.Kind != "BackendTLSPolicy" && gvk.Kind != "ReferenceGrant" && (!found || len(conds) == 0) {
				t.Errorf("%s: no status.conditions", id)
			}
		})
	}
	if len(want) > 0 {
		var missing []string
		for k := range want {
			missing = append(missing, k)
		}
		sort.Strings(missing)
		t.Errorf("samples lack kinds: %v", missing)
	}
}

// TestKubeconfigForWithoutRBAC: a user without role bindings is authenticated but
// may not list httproutes.
func TestKubeconfigForWithoutRBAC(t *testing.T) {
	env := testenv.Current(t)
	ctx := ctxT(t)
	gvr := schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}

	if _, err := env.Dynamic().Resource(gvr).Namespace(testenv.SamplesNamespace).List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("admin list httproutes: %v", err)
	}

	kc, err := env.KubeconfigFor(noRBAC.Token)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatalf("load %s: %v", kc, err)
	}
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = dc.Resource(gvr).Namespace(testenv.SamplesNamespace).List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("no-RBAC user listing httproutes: err = %v, want 403 Forbidden", err)
	}
	t.Logf("as expected: %v", err)

	// The admin kubeconfig file works too.
	acfg, err := clientcmd.BuildConfigFromFlags("", env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	adc, err := dynamic.NewForConfig(acfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := adc.Resource(gvr).List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("admin kubeconfig %s: %v", env.Kubeconfig, err)
	}
}

// TestAPIServerRestart: data survives an apiserver outage (etcd keeps running).
func TestAPIServerRestart(t *testing.T) {
	env := testenv.Current(t)
	ctx := ctxT(t)
	ns := schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	if err := env.EnsureNamespace(ctx, "restart-test"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := env.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	t.Logf("apiserver stopped in %s", time.Since(start).Round(time.Millisecond))
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	_, err := env.Dynamic().Resource(ns).Get(short, "restart-test", metav1.GetOptions{})
	cancel()
	if err == nil {
		t.Fatal("GET succeeded while the apiserver was stopped")
	}
	start = time.Now()
	if err := env.RestartAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("apiserver ready again in %s", time.Since(start).Round(time.Millisecond))
	if _, err := env.Dynamic().Resource(ns).Get(ctx, "restart-test", metav1.GetOptions{}); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}

func TestGatewayAPICRDDir(t *testing.T) {
	dir, err := testenv.GatewayAPICRDDir("standard")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir + "/gateway.networking.k8s.io_httproutes.yaml"); err != nil {
		t.Fatal(err)
	}
	if _, err := testenv.GatewayAPICRDDir("bogus"); err == nil {
		t.Fatal("channel bogus: no error")
	}
}

// norm round-trips v through JSON so int64/float64 and map types compare equal.
func norm(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
