// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package current

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/harness"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
	metricsspec "github.com/kuadrant/gateway-api-metrics-exporter/metrics-spec"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// Condition timestamps used in the objects, and their Unix seconds as the
// exposition writes them (shortest float, as kube-state-metrics writes its
// created timestamps).
const (
	t0900 = "1.7680356e+09"  // 2026-01-10T09:00:00Z = 1768035600
	t0909 = "1.76803614e+09" // 2026-01-10T09:09:00Z = 1768036140
	t1200 = "1.7699472e+09"  // 2026-02-01T12:00:00Z = 1769947200
	t1230 = "1.769949e+09"   // 2026-02-01T12:30:00Z = 1769949000
)

// servedKind is one kind of the embedded spec and the version this API server
// serves it at (the spec's version where served, else the preferred one).
type servedKind struct{ Group, Kind, Version string }

// servedKinds: every kind of the embedded spec, all installed here.
var servedKinds = []servedKind{
	{"gateway.networking.k8s.io", "GatewayClass", "v1beta1"},
	{"gateway.networking.k8s.io", "Gateway", "v1beta1"},
	{"gateway.networking.k8s.io", "HTTPRoute", "v1beta1"},
	{"gateway.networking.k8s.io", "GRPCRoute", "v1"},        // spec: v1alpha2, not served
	{"gateway.networking.k8s.io", "TLSRoute", "v1alpha2"},   // the experimental channel still serves it
	{"gateway.networking.k8s.io", "TCPRoute", "v1alpha2"},   // ditto
	{"gateway.networking.k8s.io", "UDPRoute", "v1alpha2"},   // ditto
	{"gateway.networking.k8s.io", "BackendTLSPolicy", "v1"}, // spec: v1alpha2, not served (v1, v1alpha3 are)
	{"gateway.networking.k8s.io", "ListenerSet", "v1"},
	{"gateway.networking.k8s.io", "ReferenceGrant", "v1"},
	{"gateway.networking.x-k8s.io", "XBackendTrafficPolicy", "v1alpha1"},
	{"gateway.networking.x-k8s.io", "XBackend", "v1alpha1"},
	{"gateway.networking.x-k8s.io", "XMesh", "v1alpha1"},
	{"kuadrant.io", "TLSPolicy", "v1"},
	{"kuadrant.io", "DNSPolicy", "v1"},
	{"kuadrant.io", "RateLimitPolicy", "v1"},
	{"kuadrant.io", "AuthPolicy", "v1"},
	{"kuadrant.io", "DNSRecord", "v1alpha1"},
	{"kuadrant.io", "DNSHealthCheckProbe", "v1alpha1"},
	{"kuadrant.io", "Kuadrant", "v1beta1"},
	{"kuadrant.io", "TokenRateLimitPolicy", "v1alpha1"},
	{"extensions.kuadrant.io", "OIDCPolicy", "v1alpha1"},
	{"extensions.kuadrant.io", "PlanPolicy", "v1alpha1"},
	{"extensions.kuadrant.io", "TelemetryPolicy", "v1alpha1"},
	{"extensions.kuadrant.io", "ThreatPolicy", "v1alpha1"},
}

func upLine(k servedKind, v string) string {
	return fmt.Sprintf(`gateway_metrics_up{group=%q,kind=%q,version=%q} %s`, k.Group, k.Kind, k.Version, v)
}

// ---- exporter ----

type exporter struct{ *harness.Exporter }

// startExporter runs an exporter with the embedded spec that sees namespace
// ns only (cluster-scoped kinds are not limited by --namespaces).
func startExporter(t *testing.T, env *testenv.Env, ns string) *exporter {
	t.Helper()
	return &exporter{startWithArgs(t, env, "--namespaces="+ns)}
}

// startWithArgs runs an exporter that serves every family, the opt-in ones
// included (e2e's TestLeanDefaultAndOptIn checks the default).
func startWithArgs(t *testing.T, env *testenv.Env, args ...string) *harness.Exporter {
	t.Helper()
	all := append(slices.Clone(harness.LoopbackArgs), "--kubeconfig="+env.Kubeconfig, "--metric-opt-in-list=.*")
	return harness.Start(t, "exporter", append(all, args...)...)
}

// get GETs url and returns the status and body.
func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	c := &http.Client{Timeout: 60 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// scrape GETs /metrics, requires a 200 and a body Prometheus parses, and
// returns its sample lines.
func (x *exporter) scrape(t *testing.T) []string {
	t.Helper()
	st, body := get(t, x.MetricsURL+"/metrics")
	if st != http.StatusOK {
		t.Fatalf("GET /metrics: %d\n%s", st, body)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	if _, err := p.TextToMetricFamilies(bytes.NewReader(body)); err != nil {
		t.Fatalf("the body is not valid text exposition: %v\n%s", err, body)
	}
	var out []string
	seen := map[string]bool{}
	for _, l := range strings.Split(string(body), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if s := l[:strings.LastIndexByte(l, ' ')]; seen[s] {
			t.Errorf("duplicate series %s", s)
		} else {
			seen[s] = true
		}
		out = append(out, l)
	}
	recordServed(out)
	return out
}

// telemetry returns the sample lines of the telemetry port.
func (x *exporter) telemetry(t *testing.T) []string {
	t.Helper()
	_, body := get(t, x.TelemetryURL+"/metrics")
	return harness.SampleLines(body)
}

// assertLines compares two sets of whole sample lines and lists the differences.
func assertLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	g, w := slices.Clone(got), slices.Clone(want)
	sort.Strings(g)
	sort.Strings(w)
	if slices.Equal(g, w) {
		return
	}
	var msg strings.Builder
	for _, l := range w {
		if !slices.Contains(g, l) {
			fmt.Fprintf(&msg, "  missing:    %s\n", l)
		}
	}
	for _, l := range g {
		if !slices.Contains(w, l) {
			fmt.Fprintf(&msg, "  unexpected: %s\n", l)
		}
	}
	t.Errorf("%s: %d lines, want %d:\n%s", what, len(got), len(want), msg.String())
}

// ---- objects ----

func ctxFor(t *testing.T) context.Context { return testenv.Context(t) }

// nsFor is the test's own namespace: cur-<test name>.
func nsFor(t *testing.T) string { return testenv.Namespace(t, "cur") }

func applyYAML(t *testing.T, env *testenv.Env, ns, yaml string) []*unstructured.Unstructured {
	t.Helper()
	return env.ApplyYAML(t, ns, yaml)
}

func seconds(ts time.Time) string {
	return strconv.FormatFloat(float64(ts.Unix()), 'g', -1, 64)
}

// ---- one test per kind ----

// kindCase is the test of one kind: apply Objects (${NS} is the test's
// namespace), scrape an exporter that watches that namespace, and compare
// every sample line of the kind's families with Want.
//
// Want is written by hand, per object name, in a short form:
// `family{own labels} value`, where family is the name after Prefix. The
// labels every sample of the kind carries (customresource_group/kind/version,
// name, and namespace unless ClusterScoped) are added, and the labels sorted
// as the exposition sorts them. ${CREATED} is the object's creationTimestamp
// and ${GEN} its metadata.generation, both as the API server set them.
type kindCase struct {
	Group, Kind, Version string // Version: the one read
	Prefix               string
	ClusterScoped        bool
	Objects              string
	Want                 map[string][]string
	// Prepare, if set, runs after the objects are applied and before the
	// exporter starts.
	Prepare func(t *testing.T, env *testenv.Env, ns string, objs []*unstructured.Unstructured)
}

var shortRE = regexp.MustCompile(`^([a-z0-9_]+)(?:\{(.*)\})? (\S+)$`)
var labelRE = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

func (c *kindCase) expand(t *testing.T, ns string, objs []*unstructured.Unstructured) []string {
	t.Helper()
	byName := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		if o.GetKind() == c.Kind {
			byName[o.GetName()] = o
		}
	}
	var out []string
	for name, shorts := range c.Want {
		name = strings.ReplaceAll(name, "${NS}", ns)
		o := byName[name]
		if o == nil {
			t.Fatalf("Want names %s, which the objects do not hold", name)
		}
		for _, s := range shorts {
			s = strings.NewReplacer("${NS}", ns, "${CREATED}", seconds(o.GetCreationTimestamp().Time),
				"${GEN}", strconv.FormatInt(o.GetGeneration(), 10)).Replace(s)
			m := shortRE.FindStringSubmatch(s)
			if m == nil {
				t.Fatalf("bad expected line %q", s)
			}
			labels := map[string]string{
				"customresource_group": c.Group, "customresource_kind": c.Kind, "customresource_version": c.Version,
				"name": name,
			}
			if !c.ClusterScoped {
				labels["namespace"] = ns
			}
			for _, l := range labelRE.FindAllStringSubmatch(m[2], -1) {
				labels[l[1]] = l[2]
			}
			var keys []string
			for k := range labels {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var b strings.Builder
			b.WriteString(c.Prefix + m[1] + "{")
			for i, k := range keys {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, "%s=\"%s\"", k, labels[k])
			}
			b.WriteString("} " + m[3])
			out = append(out, b.String())
		}
	}
	return out
}

// graphFamilies are the attachment graph's families (each.graph) of the
// embedded spec.
var graphFamilies = func() map[string]bool {
	plan, _, err := spec.LoadFS(metricsspec.FS)
	if err != nil {
		panic(err)
	}
	out := map[string]bool{}
	for _, k := range plan.Kinds {
		for _, f := range k.Families {
			if f.Graph != spec.NoRelation {
				out[f.Name] = true
			}
		}
	}
	return out
}()

func isGraph(name string) bool { return graphFamilies[name] }

func runKindCase(t *testing.T, c kindCase) []string {
	t.Helper()
	env := envFor(t)
	recordKindTested(c.Kind)
	ns := nsFor(t)
	objs := applyYAML(t, env, ns, c.Objects)
	if c.Prepare != nil {
		c.Prepare(t, env, ns, objs)
		// Read the objects back: Prepare may have changed them.
		for i, o := range objs {
			ri, err := env.ResourceFor(ctxFor(t), o)
			if err != nil {
				t.Fatal(err)
			}
			if objs[i], err = ri.Get(ctxFor(t), o.GetName(), metav1.GetOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	names := map[string]bool{}
	for _, o := range objs {
		if o.GetKind() == c.Kind {
			names[o.GetName()] = true
		}
	}
	x := startExporter(t, env, ns)
	lines := x.scrape(t)

	var up []string
	for _, k := range servedKinds {
		up = append(up, upLine(k, "1"))
	}
	assertLines(t, "gateway_metrics_up", harness.WithPrefix(lines, "gateway_metrics_up"), up)

	// The attachment graph's families are compared by graph_test.go,
	// which writes the objects they speak of; a case here only if it lists
	// one.
	graphed := false
	for _, ls := range c.Want {
		for _, l := range ls {
			graphed = graphed || isGraph(c.Prefix+harness.MetricName(l))
		}
	}
	var got []string
	for _, l := range harness.WithPrefix(lines, c.Prefix) {
		if !graphed && isGraph(harness.MetricName(l)) {
			continue
		}
		// Cluster-scoped kinds are not limited by --namespaces: keep only
		// this test's objects.
		if m := regexp.MustCompile(`[{,]name="([^"]*)"`).FindStringSubmatch(l); m != nil && names[m[1]] {
			got = append(got, l)
		}
	}
	assertLines(t, c.Kind+" families", got, c.expand(t, ns, objs))
	for _, l := range x.telemetry(t) {
		// A legacy deleted family without nilIsZero reports "got nil" for
		// every object not being deleted, as kube-state-metrics does.
		if strings.HasPrefix(l, "gateway_metrics_family_evaluation_errors{") && strings.Contains(l, `family="`+c.Prefix) &&
			!strings.Contains(l, `_deleted"}`) && !strings.HasSuffix(l, " 0") {
			t.Errorf("evaluation errors for objects written from the CRD schema: %s", l)
		}
	}
	return lines
}
