// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package live

import (
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/harness"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/refdata"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/repo"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
	metricsspec "github.com/kuadrant/gateway-api-metrics-exporter/metrics-spec"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// fixtures are applied next to the samples (see TestMain).
//
//go:embed testdata/fixtures.yaml
var fixtures []byte

// currentFixtures are objects of the kinds only Kuadrant's current CRDs and
// the Gateway API experimental channel serve (see TestMain).
//
//go:embed testdata/current.yaml
var currentFixtures []byte

const fixturesNamespace = "deploy-test-fixtures"

func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// sharedDir returns the reference-data folder after checking that every rel
// is in it (internal/refdata): the test skips without it locally and fails in
// CI.
func sharedDir(t testing.TB, rel ...string) string {
	t.Helper()
	return refdata.Require(t, rel...)
}

// defaultPlan is the embedded metrics-spec, what the image serves without a
// --custom-resource-state-config(-file).
func defaultPlan(t testing.TB) *spec.Plan {
	t.Helper()
	plan, _, err := spec.LoadFS(metricsspec.FS)
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

// ---- the exporter, in-process ----

// exporter is one exporter started in-process (internal/harness).
type exporter struct{ *harness.Exporter }

// loopbackArgs make the exporter listen on kernel-chosen loopback ports.
var loopbackArgs = harness.LoopbackArgs

// startExporter runs app.Parse(args) and app.Run with exactly args (which must
// bind loopback port 0), waits until it serves and stops it when the test ends.
func startExporter(t testing.TB, name string, args ...string) *exporter {
	t.Helper()
	return &exporter{harness.Start(t, name, args...)}
}

var httpClient = &http.Client{Timeout: 60 * time.Second}

// get GETs url and returns status, Content-Type and body.
func get(t testing.TB, url string) (int, string, []byte) {
	t.Helper()
	resp, err := httpClient.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

// scrape GETs /metrics of x and requires a 200 with a valid text exposition.
func (x *exporter) scrape(t testing.TB) []byte {
	t.Helper()
	status, _, body := get(t, x.MetricsURL+"/metrics")
	if status != http.StatusOK {
		t.Fatalf("GET %s/metrics: status %d, want 200; body:\n%s", x.MetricsURL, status, body)
	}
	if _, err := parseText(body); err != nil {
		t.Fatalf("GET %s/metrics: not valid text exposition: %v", x.MetricsURL, err)
	}
	return body
}

func parseText(body []byte) (map[string]*dto.MetricFamily, error) {
	p := expfmt.NewTextParser(model.LegacyValidation)
	return p.TextToMetricFamilies(bytes.NewReader(body))
}

// upByKind returns gateway_metrics_up per "group/kind" from a body.
func upByKind(t testing.TB, body []byte) map[string]float64 {
	t.Helper()
	fams, err := parseText(body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	f := fams["gateway_metrics_up"]
	if f == nil {
		return out
	}
	for _, m := range f.GetMetric() {
		var group, kind string
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "group":
				group = l.GetValue()
			case "kind":
				kind = l.GetValue()
			}
		}
		out[group+"/"+kind] = m.GetGauge().GetValue()
	}
	return out
}

// waitAllUp scrapes x until every kind of plan has gateway_metrics_up 1 (RBAC
// changes reach the API server's authorizer through an informer, so a fresh
// binding can take a moment), and returns the last body.
func waitAllUp(t testing.TB, x *exporter, plan *spec.Plan, within time.Duration) []byte {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		body := x.scrape(t)
		up := upByKind(t, body)
		var bad []string
		for _, k := range plan.Kinds {
			key := k.GVK.Group + "/" + k.GVK.Kind
			if v, ok := up[key]; !ok {
				bad = append(bad, key+" (no gateway_metrics_up series)")
			} else if v != 1 {
				bad = append(bad, fmt.Sprintf("%s (gateway_metrics_up %v)", key, v))
			}
		}
		if len(bad) == 0 {
			return body
		}
		if time.Now().After(deadline) {
			sort.Strings(bad)
			t.Fatalf("after %v, kinds not up: %s\n%s", within, strings.Join(bad, ", "), upLines(body))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func upLines(body []byte) string {
	var b strings.Builder
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, "gateway_metrics_up") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// ---- kubeconfigs ----

// writeKubeconfig writes a kubeconfig for env that authenticates with the
// admin token and, when user is set, impersonates user and groups (the
// kubeconfig's users[].user.as / as-groups).
func writeKubeconfig(t testing.TB, env *testenv.Env, user string, groups []string) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["testenv"] = &clientcmdapi.Cluster{
		Server:                   env.URL,
		CertificateAuthorityData: env.Config.TLSClientConfig.CAData,
	}
	cfg.AuthInfos["user"] = &clientcmdapi.AuthInfo{Token: env.AdminToken, Impersonate: user, ImpersonateGroups: groups}
	cfg.Contexts["testenv"] = &clientcmdapi.Context{Cluster: "testenv", AuthInfo: "user"}
	cfg.CurrentContext = "testenv"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// serviceAccountUser is the user name and groups a ServiceAccount token
// authenticates as.
func serviceAccountUser(namespace, name string) (string, []string) {
	return "system:serviceaccount:" + namespace + ":" + name,
		[]string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"}
}

// ---- tools ----

var (
	toolMu      sync.Mutex
	toolTried   = map[string]bool{}
	aptAttempts = map[string]error{}
)

func inCI() bool { return testenv.InCI() }

// requireTool returns the path of a Prometheus tool (prometheus, promtool).
// When it is missing and we are root on a Debian-like system, it installs
// Debian's "prometheus" package, as deploy/rules/test.sh does. Otherwise it
// skips the test, or fails it when CI=true.
func requireTool(t testing.TB, name string) string {
	t.Helper()
	toolMu.Lock()
	defer toolMu.Unlock()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	var why string
	if os.Geteuid() == 0 {
		if _, err := exec.LookPath("apt-get"); err == nil {
			if !toolTried["prometheus"] {
				toolTried["prometheus"] = true
				t.Logf("%s not found: installing Debian package 'prometheus'", name)
				aptAttempts["prometheus"] = aptInstall("prometheus")
			}
			if p, err := exec.LookPath(name); err == nil {
				return p
			}
			if err := aptAttempts["prometheus"]; err != nil {
				why = err.Error()
			} else {
				why = "Debian's prometheus package is installed, but " + name + " is still not in PATH"
			}
		} else {
			why = "no apt-get to install it with"
		}
	} else {
		why = "not root, so not installing Debian's prometheus package"
	}
	msg := fmt.Sprintf("%s not in PATH (%s); install Prometheus (Debian package 'prometheus')", name, why)
	if inCI() {
		t.Fatalf("CI=true: %s", msg)
	}
	t.Skipf("skipping: %s", msg)
	return ""
}

func aptInstall(pkg string) error {
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	for _, args := range [][]string{{"update", "-qq"}, {"install", "-y", "-qq", "--no-install-recommends", pkg}} {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}
