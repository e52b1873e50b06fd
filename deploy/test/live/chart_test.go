// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package live

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"

	"github.com/kuadrant/gateway-api-metrics-exporter/deploy/test/render"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// TestChartCombinationsOnAPIServer server-side applies Helm renderings with
// the chart's optional parts on (each alone, all together, all but
// sharding) to the real API server, then runs the exporter as the chart's
// ServiceAccount with the arguments and files of the rendered workload, read
// back from the API server: the CRS config from its ConfigMap, the web config
// from its Secret (TLS with a certificate of the test's own), and, when
// sharded, one exporter per StatefulSet pod, whose outputs must add up to
// the unsharded one with nothing lost or served twice.
func TestChartCombinationsOnAPIServer(t *testing.T) {
	env := testenv.Current(t)
	all := render.ChartFeatures{Sharded: true, ServiceMonitor: true, PrometheusRule: true, Dashboards: true, TLS: true, CustomCRS: true}
	allButSharded := all
	allButSharded.Sharded = false
	combos := []render.ChartFeatures{
		{Sharded: true}, {ServiceMonitor: true}, {PrometheusRule: true}, {Dashboards: true}, {TLS: true}, {CustomCRS: true},
		allButSharded, all,
	}
	admin, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	root := repoRoot(t)
	dashboardFiles, _ := filepath.Glob(filepath.Join(root, "deploy/dashboards/*.json"))
	for _, f := range combos {
		t.Run(f.Name(), func(t *testing.T) {
			ctx := context.Background()
			data, err := render.Helm(filepath.Join(root, render.ChartPath), "gateway-api-metrics-exporter", render.HelmNamespace, f.Values())
			if err != nil {
				t.Fatal(err)
			}
			objs, err := render.Objects(data)
			if err != nil {
				t.Fatal(err)
			}
			var sa, workload render.Object
			for _, o := range objs {
				switch o.Kind() {
				case "ServiceAccount":
					sa = o
				case "Deployment", "StatefulSet":
					workload = o
				}
			}
			var certPEM, keyPEM []byte
			if f.TLS {
				// The Secret a user (or cert-manager) provides.
				certPEM, keyPEM = selfSignedCert(t)
				objs = append(objs, render.Object{"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
					"metadata":   map[string]any{"name": render.TLSSecretName, "namespace": render.HelmNamespace},
					"stringData": map[string]any{"tls.crt": string(certPEM), "tls.key": string(keyPEM)}})
			}
			user, groups := serviceAccountUser(sa.Namespace(), sa.Name())
			cs, err := kubernetes.NewForConfig(impersonated(env, user, groups))
			if err != nil {
				t.Fatal(err)
			}
			probe := access{verb: "list", group: "gateway.networking.k8s.io", resource: "gateways"}
			waitAllowed(t, cs, probe, false)
			t.Cleanup(func() { waitAllowed(t, cs, probe, false) })
			serverSideApply(t, env, objs)
			waitAllowed(t, cs, probe, true)

			// Stored as rendered (spot checks).
			dashCMs, err := admin.CoreV1().ConfigMaps(render.HelmNamespace).List(ctx, metav1.ListOptions{LabelSelector: "grafana_dashboard=1"})
			if err != nil {
				t.Fatal(err)
			}
			if want := (len(dashboardFiles) - 1) * b2i(f.Dashboards); len(dashCMs.Items) != want {
				t.Errorf("%d dashboard ConfigMaps stored, want %d", len(dashCMs.Items), want)
			}

			// The exporter's command line and files, from the stored objects.
			c := render.Map(workload, "spec", "template", "spec", "containers", 0)
			var args []string
			dir := t.TempDir()
			var client *http.Client
			plan := defaultPlan(t)
			sharded := false
			for _, a := range render.List(c, "args") {
				arg := a.(string)
				switch {
				case strings.HasPrefix(arg, "--port="), strings.HasPrefix(arg, "--telemetry-port="):
					// loopback ports instead
				case strings.HasPrefix(arg, "--pod=") || strings.HasPrefix(arg, "--pod-namespace="):
					sharded = true
				case strings.HasPrefix(arg, "--custom-resource-state-config-file="):
					cm, err := admin.CoreV1().ConfigMaps(render.HelmNamespace).Get(ctx, "gateway-api-metrics-exporter-customresourcestate-config", metav1.GetOptions{})
					if err != nil {
						t.Fatal(err)
					}
					p := filepath.Join(dir, "crs.yaml")
					writeFile(t, p, cm.Data["config.yaml"])
					args = append(args, "--custom-resource-state-config-file="+p)
					if plan, _, err = spec.Load(p, []byte(cm.Data["config.yaml"])); err != nil {
						t.Fatalf("stored CRS config: %v", err)
					}
				case strings.HasPrefix(arg, "--tls-config="):
					sec, err := admin.CoreV1().Secrets(render.HelmNamespace).Get(ctx, "gateway-api-metrics-exporter-web-config", metav1.GetOptions{})
					if err != nil {
						t.Fatal(err)
					}
					tlsSec, err := admin.CoreV1().Secrets(render.HelmNamespace).Get(ctx, render.TLSSecretName, metav1.GetOptions{})
					if err != nil {
						t.Fatal(err)
					}
					writeFile(t, filepath.Join(dir, "tls.crt"), string(tlsSec.Data["tls.crt"]))
					writeFile(t, filepath.Join(dir, "tls.key"), string(tlsSec.Data["tls.key"]))
					// The pod mounts the Secret at /etc/tls; here it is dir.
					wc := strings.ReplaceAll(string(sec.Data["web-config.yaml"]), "/etc/tls/", dir+"/")
					p := filepath.Join(dir, "web-config.yaml")
					writeFile(t, p, wc)
					args = append(args, "--tls-config="+p)
					pool := x509.NewCertPool()
					pool.AppendCertsFromPEM(certPEM)
					client = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
				default:
					args = append(args, arg)
				}
			}
			if sharded != f.Sharded {
				t.Fatalf("rendered args %v: sharded %v, want %v", render.List(c, "args"), sharded, f.Sharded)
			}
			if client == nil {
				client = httpClient
			}
			kubeconfig := writeKubeconfig(t, env, user, groups)
			base := append(append(slices.Clone(loopbackArgs), "--kubeconfig="+kubeconfig), args...)
			run := func(name string, extra ...string) []string {
				x := startExporter(t, name, append(slices.Clone(base), extra...)...)
				url := x.MetricsURL
				if f.TLS {
					url = "https" + strings.TrimPrefix(url, "http")
					checkTLSOnly(t, x.MetricsURL)
				}
				return objectLines(waitAllUpWith(t, client, url, plan))
			}
			whole := run("exporter(" + f.Name() + ")")
			wantFamily := "gatewayapi_gateway_info{"
			if f.CustomCRS {
				wantFamily = "custom_gateway_info{"
			}
			if !slices.ContainsFunc(whole, func(l string) bool {
				return strings.HasPrefix(l, wantFamily) && strings.Contains(l, `name="demo-gateway"`)
			}) {
				t.Errorf("no %s line for demo-gateway in:\n%s", wantFamily, strings.Join(whole, "\n"))
			}
			if !f.Sharded {
				return
			}
			// One exporter per StatefulSet pod, as the pods would run.
			sts, err := admin.AppsV1().StatefulSets(render.HelmNamespace).Get(ctx, workload.Name(), metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]int{}
			for i := 0; i < int(*sts.Spec.Replicas); i++ {
				pod := fmt.Sprintf("%s-%d", sts.Name, i)
				createPodOf(t, env, sts.Name, string(sts.UID), pod, render.Map(workload, "spec", "template"))
				for _, l := range run("exporter("+pod+")", "--pod="+pod, "--pod-namespace="+render.HelmNamespace) {
					seen[l]++
				}
			}
			for _, l := range whole {
				if seen[l] != 1 {
					t.Errorf("served by %d shards, want 1: %s", seen[l], l)
				}
				delete(seen, l)
			}
			for l := range seen {
				t.Errorf("served by a shard, not by the unsharded exporter: %s", l)
			}
			t.Logf("%d object series split between %d shards, none lost or served twice", len(whole), *sts.Spec.Replicas)
		})
	}
}

var podsGVR = schema.GroupVersionResource{Version: "v1", Resource: "pods"}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// createPodOf stores a Pod of the StatefulSet (no kubelet runs it: the
// exporter only reads its name and owner).
func createPodOf(t *testing.T, env *testenv.Env, sts, uid, name string, template map[string]any) {
	t.Helper()
	pod := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": name, "namespace": render.HelmNamespace,
			"labels":          render.Map(template, "metadata", "labels"),
			"ownerReferences": []any{map[string]any{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": sts, "uid": uid, "controller": true}}},
		"spec": render.Map(template, "spec"),
	}}
	ri := env.Dynamic().Resource(podsGVR).Namespace(render.HelmNamespace)
	if _, err := ri.Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod %s: %v", name, err)
	}
	t.Cleanup(func() { ri.Delete(context.Background(), name, metav1.DeleteOptions{}) })
}

// checkTLSOnly: the port speaks only TLS 1.3 (the chart's min_version here).
func checkTLSOnly(t *testing.T, httpURL string) {
	t.Helper()
	resp, err := httpClient.Get(httpURL + "/metrics")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP to the TLS port: status %d, want 400", resp.StatusCode)
		}
	}
	host := strings.TrimPrefix(httpURL, "http://")
	conn, err := tls.Dial("tcp", host, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12})
	if err == nil {
		conn.Close()
		t.Errorf("a TLS 1.2 handshake succeeded; the web config asks for TLS 1.3")
	}
}

// waitAllUpWith is waitAllUp over the given client and URL (HTTPS with TLS).
func waitAllUpWith(t *testing.T, client *http.Client, url string, plan *spec.Plan) []byte {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(url + "/metrics")
		if err != nil {
			t.Fatalf("GET %s/metrics: %v", url, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s/metrics: status %d, err %v", url, resp.StatusCode, err)
		}
		up := upByKind(t, body)
		var bad []string
		for _, k := range plan.Kinds {
			if up[k.GVK.Group+"/"+k.GVK.Kind] != 1 {
				bad = append(bad, k.GVK.Group+"/"+k.GVK.Kind)
			}
		}
		if len(bad) == 0 {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30s, kinds not up: %s\n%s", strings.Join(bad, ", "), upLines(body))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// objectLines are the sample lines about objects: not comments, not the
// exporter's own gateway_metrics_* families.
func objectLines(body []byte) []string {
	var out []string
	for _, l := range strings.Split(string(body), "\n") {
		if l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, "gateway_metrics_") {
			continue
		}
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

func selfSignedCert(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gateway-api-metrics-exporter"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}
