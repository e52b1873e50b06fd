// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/harness"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
	metricsspec "github.com/kuadrant/gateway-api-metrics-exporter/metrics-spec"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// ---- the exporter under test ----

// exporter is one exporter started in-process (internal/harness), with an
// HTTP client that shows the raw Content-Encoding.
type exporter struct {
	*harness.Exporter
	client *http.Client
}

// logLines returns the exporter's log lines so far that contain substr.
func (x *exporter) logLines(substr string) []string { return x.LogLines(substr) }

// startExporter runs the exporter with args (flags as on the command line) on
// loopback ports chosen by the kernel, waits until it serves, and stops it when
// the test ends.
func startExporter(t testing.TB, args ...string) *exporter {
	t.Helper()
	x := &exporter{
		Exporter: harness.Start(t, "exporter", append(slices.Clone(harness.LoopbackArgs), args...)...),
		client: &http.Client{
			Timeout:   60 * time.Second,
			Transport: &http.Transport{DisableCompression: true}, // see the raw Content-Encoding
		},
	}
	t.Cleanup(x.client.CloseIdleConnections)
	return x
}

// response is one HTTP answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
	Took   time.Duration
}

// get GETs url with the given header name/value pairs.
func (x *exporter) get(t *testing.T, url string, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	start := time.Now()
	resp, err := x.client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: body, Took: time.Since(start)}
}

// scrape GETs /metrics on the main port and requires a 200.
func (x *exporter) scrape(t *testing.T, header ...string) response {
	t.Helper()
	r := x.get(t, x.MetricsURL+"/metrics", header...)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /metrics: status %d, want 200; body:\n%s", r.Status, r.Body)
	}
	return r
}

// ---- the exposition ----

// parseText parses body as the Prometheus text format (legacy names, as
// Prometheus scrapes it) and fails the test if it is not valid.
func parseText(t *testing.T, body []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("the body is not valid text exposition: %v\n%s", err, body)
	}
	return fams
}

// seriesOf is a sample line without its value.
func seriesOf(line string) string {
	if i := strings.LastIndexByte(line, ' '); i >= 0 {
		return line[:i]
	}
	return line
}

// checkNoDuplicateSeries fails for a series that appears twice.
func checkNoDuplicateSeries(t *testing.T, lines []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, l := range lines {
		s := seriesOf(l)
		if seen[s] {
			t.Errorf("duplicate series: %s", s)
		}
		seen[s] = true
	}
}

// named keeps the lines of the metric called name.
func named(lines []string, name string) []string {
	var out []string
	for _, l := range lines {
		if harness.MetricName(l) == name {
			out = append(out, l)
		}
	}
	return out
}

// without drops the lines of the named metrics.
func without(lines []string, names ...string) []string {
	var out []string
	for _, l := range lines {
		drop := false
		for _, n := range names {
			if harness.MetricName(l) == n {
				drop = true
			}
		}
		if !drop {
			out = append(out, l)
		}
	}
	return out
}

var nameLabelRE = regexp.MustCompile(`[{,]name="([^"]*)"`)

// nameLabel returns the value of a line's name label ("" if none).
func nameLabel(line string) string {
	if m := nameLabelRE.FindStringSubmatch(line); m != nil {
		return m[1]
	}
	return ""
}

// assertLines compares two sets of whole sample lines and lists the differences.
func assertLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	g, w := sorted(got), sorted(want)
	if strings.Join(g, "\n") == strings.Join(w, "\n") {
		return
	}
	count := func(ls []string) map[string]int {
		m := map[string]int{}
		for _, l := range ls {
			m[l]++
		}
		return m
	}
	gc, wc := count(g), count(w)
	var msg strings.Builder
	for _, l := range w {
		if gc[l] < wc[l] {
			fmt.Fprintf(&msg, "  missing:    %s\n", l)
			gc[l]++
		}
	}
	gc = count(g)
	for _, l := range g {
		if wc[l] < gc[l] {
			fmt.Fprintf(&msg, "  unexpected: %s\n", l)
			wc[l]++
		}
	}
	t.Errorf("%s: %d lines, want %d:\n%s", what, len(got), len(want), msg.String())
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// ---- the exporter's health families ----

// kindInfo is one kind of the default metrics-spec.
type kindInfo struct {
	Group, Kind string
	SpecVersion string // the version metrics-spec names
	ReadVersion string // the version read from this apiserver (Gateway API v1.6.3 standard)
	Plural      string
}

// defaultKinds are the 16 kinds of the embedded metrics-spec whose CRDs this
// package installs (uninstalledKinds are the others).
var defaultKinds = []kindInfo{
	{"gateway.networking.k8s.io", "GatewayClass", "v1beta1", "v1beta1", "gatewayclasses"},
	{"gateway.networking.k8s.io", "Gateway", "v1beta1", "v1beta1", "gateways"},
	{"gateway.networking.k8s.io", "HTTPRoute", "v1beta1", "v1beta1", "httproutes"},
	{"gateway.networking.k8s.io", "GRPCRoute", "v1alpha2", "v1", "grpcroutes"},
	{"gateway.networking.k8s.io", "TLSRoute", "v1alpha2", "v1", "tlsroutes"},
	{"gateway.networking.k8s.io", "TCPRoute", "v1alpha2", "v1", "tcproutes"},
	{"gateway.networking.k8s.io", "UDPRoute", "v1alpha2", "v1", "udproutes"},
	{"gateway.networking.k8s.io", "BackendTLSPolicy", "v1alpha2", "v1", "backendtlspolicies"},
	{"gateway.networking.k8s.io", "ListenerSet", "v1", "v1", "listenersets"},
	{"kuadrant.io", "TLSPolicy", "v1", "v1", "tlspolicies"},
	{"kuadrant.io", "DNSPolicy", "v1", "v1", "dnspolicies"},
	{"kuadrant.io", "RateLimitPolicy", "v1", "v1", "ratelimitpolicies"},
	{"kuadrant.io", "AuthPolicy", "v1", "v1", "authpolicies"},
	{"kuadrant.io", "DNSRecord", "v1alpha1", "v1alpha1", "dnsrecords"},
	{"kuadrant.io", "DNSHealthCheckProbe", "v1alpha1", "v1alpha1", "dnshealthcheckprobes"},
	{"gateway.networking.k8s.io", "ReferenceGrant", "v1", "v1", "referencegrants"},
}

// uninstalledKinds are the kinds of the embedded metrics-spec whose CRDs
// (Gateway API experimental, Kuadrant's newer kinds) this package does not
// install: they have no series, except where nothing could be discovered,
// which leaves every kind of the spec down at the version it names. The
// e2e/current package tests them.
var uninstalledKinds = []kindInfo{
	{"gateway.networking.x-k8s.io", "XBackendTrafficPolicy", "v1alpha1", "", "xbackendtrafficpolicies"},
	{"gateway.networking.x-k8s.io", "XBackend", "v1alpha1", "", "xbackends"},
	{"gateway.networking.x-k8s.io", "XMesh", "v1alpha1", "", "xmeshes"},
	{"extensions.kuadrant.io", "OIDCPolicy", "v1alpha1", "", "oidcpolicies"},
	{"extensions.kuadrant.io", "PlanPolicy", "v1alpha1", "", "planpolicies"},
	{"extensions.kuadrant.io", "TelemetryPolicy", "v1alpha1", "", "telemetrypolicies"},
	{"extensions.kuadrant.io", "ThreatPolicy", "v1alpha1", "", "threatpolicies"},
	{"kuadrant.io", "Kuadrant", "v1beta1", "", "kuadrants"},
	{"kuadrant.io", "TokenRateLimitPolicy", "v1alpha1", "", "tokenratelimitpolicies"},
}

// specKinds are all kinds of the embedded metrics-spec.
func specKinds() []kindInfo { return append(slices.Clone(defaultKinds), uninstalledKinds...) }

func upLine(group, kind, version, value string) string {
	return fmt.Sprintf(`gateway_metrics_up{group=%q,kind=%q,version=%q} %s`, group, kind, version, value)
}

var healthRE = regexp.MustCompile(`^(gateway_metrics_up|gateway_metrics_scrape_duration_seconds)\{group="([^"]*)",kind="([^"]*)",version="([^"]*)"\} (\S+)$`)

// healthSample is one gateway_metrics_up or scrape_duration sample.
type healthSample struct{ Version, Value string }

// health returns family's samples keyed by group/kind.
func health(lines []string, family string) map[string]healthSample {
	out := map[string]healthSample{}
	for _, l := range lines {
		if m := healthRE.FindStringSubmatch(l); m != nil && m[1] == family {
			out[m[2]+"/"+m[3]] = healthSample{m[4], m[5]}
		}
	}
	return out
}

// assertAllUp requires gateway_metrics_up 1 (read version) and a
// scrape_duration sample for each of the 15 default kinds, and nothing else.
func assertAllUp(t *testing.T, lines []string) {
	t.Helper()
	var want []string
	for _, k := range defaultKinds {
		want = append(want, upLine(k.Group, k.Kind, k.ReadVersion, "1"))
	}
	assertLines(t, "gateway_metrics_up", harness.WithPrefix(lines, "gateway_metrics_up"), want)
	dur := health(lines, "gateway_metrics_scrape_duration_seconds")
	if len(dur) != len(defaultKinds) {
		t.Errorf("gateway_metrics_scrape_duration_seconds has %d samples, want %d", len(dur), len(defaultKinds))
	}
	for _, k := range defaultKinds {
		d, ok := dur[k.Group+"/"+k.Kind]
		if !ok || d.Version != k.ReadVersion {
			t.Errorf("gateway_metrics_scrape_duration_seconds for %s/%s: %+v, want version %s", k.Group, k.Kind, d, k.ReadVersion)
			continue
		}
		if v, err := strconv.ParseFloat(d.Value, 64); err != nil || v < 0 {
			t.Errorf("gateway_metrics_scrape_duration_seconds for %s: value %q", k.Kind, d.Value)
		}
	}
}

// assertHealthLast requires the exporter's health families after every kind
// family (at the end of the body, before # EOF in OpenMetrics).
func assertHealthLast(t *testing.T, lines []string) {
	t.Helper()
	health := false
	for _, l := range lines {
		isHealth := strings.HasPrefix(l, "gateway_metrics_")
		if health && !isHealth {
			t.Errorf("kind family after the health families: %s", l)
			return
		}
		health = health || isHealth
	}
	if !health {
		t.Errorf("no health families in the body")
	}
}

// ---- objects ----

func ctxFor(t testing.TB) context.Context { return testenv.Context(t) }

// nsFor is the test's own namespace: e2e-<test name>. Nothing deletes
// namespaces here, and every test run gets a fresh apiserver.
func nsFor(t *testing.T) string { return testenv.Namespace(t, "e2e") }

// applyYAML creates the objects of a YAML stream, with ${NS} replaced by ns,
// and sets their status (testenv.Env.Apply).
func applyYAML(t *testing.T, env *testenv.Env, ns, yaml string) []*unstructured.Unstructured {
	t.Helper()
	return env.ApplyYAML(t, ns, yaml)
}

// applyFile is applyYAML for testdata/<name>.
func applyFile(t *testing.T, env *testenv.Env, ns, name string) []*unstructured.Unstructured {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return applyYAML(t, env, ns, string(b))
}

// applySamples applies testenv.Samples() (one object of each of the 16
// kinds, with status) into ns, with the GatewayClass renamed to <ns>-class.
func applySamples(t *testing.T, env *testenv.Env, ns string) []*unstructured.Unstructured {
	t.Helper()
	y := string(testenv.Samples())
	y = strings.ReplaceAll(y, "namespace: "+testenv.SamplesNamespace+"\n", "namespace: "+ns+"\n")
	y = strings.ReplaceAll(y, "demo-class", ns+"-class")
	return applyYAML(t, env, ns, y)
}

// created is the value of a *_created sample for obj: its creationTimestamp as
// Unix seconds, formatted as the exporter (and KSM) formats floats.
func created(obj *unstructured.Unstructured) string {
	return strconv.FormatFloat(float64(obj.GetCreationTimestamp().Unix()), 'g', -1, 64)
}

// expand replaces ${NS} and ${CREATED:<object name>} in the expected lines.
func expand(t *testing.T, ns string, objs []*unstructured.Unstructured, extra []string, lines []string) []string {
	t.Helper()
	r := append([]string{"${NS}", ns}, extra...)
	for _, o := range objs {
		r = append(r, "${CREATED:"+strings.ReplaceAll(o.GetName(), ns, "${NS}")+"}", created(o))
	}
	rep := strings.NewReplacer(r...)
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = rep.Replace(l)
		if strings.Contains(out[i], "${") {
			t.Fatalf("unexpanded placeholder in %s", out[i])
		}
	}
	return out
}

// ---- one test per kind ----

// kindCase is the test of one kind: apply testdata/<File>, scrape an exporter
// that watches the test's namespace, and compare every sample line of the
// kind's families with Want.
type kindCase struct {
	File                 string
	Group, Kind, Version string // Version: the one read (customresource_version)
	Prefix               string // the families' common prefix, e.g. "gatewayapi_gateway_"
	Want                 []string
	// Prepare, if set, runs after the objects are applied and before the
	// exporter starts; it returns more placeholder/value pairs for Want.
	Prepare func(t *testing.T, env *testenv.Env, ns string, objs []*unstructured.Unstructured) []string
}

func runKindCase(t *testing.T, c kindCase) (lines []string, x *exporter) {
	t.Helper()
	env := testenv.Current(t)
	ns := nsFor(t)
	objs := applyFile(t, env, ns, c.File)
	names := map[string]bool{}
	for _, o := range objs {
		if o.GetKind() == c.Kind {
			names[o.GetName()] = true
		}
	}
	var extra []string
	if c.Prepare != nil {
		extra = c.Prepare(t, env, ns, objs)
	}
	x = startExporter(t, "--kubeconfig="+env.Kubeconfig, "--namespaces="+ns)
	r := x.scrape(t)
	parseText(t, r.Body)
	lines = harness.SampleLines(r.Body)
	checkNoDuplicateSeries(t, lines)
	assertAllUp(t, lines)
	assertHealthLast(t, lines)

	// The freshness families (metadata.generation, each condition's
	// observedGeneration and lastTransitionTime) are checked by e2e/current
	// for every kind, the attachment graph's by graph_test.go; a case here
	// compares them only if it lists one.
	fresh, graphed := false, false
	for _, l := range c.Want {
		fresh = fresh || isFreshness(harness.MetricName(l))
		graphed = graphed || isGraph(harness.MetricName(l))
	}
	var got []string
	for _, l := range harness.WithPrefix(lines, c.Prefix) {
		if !fresh && isFreshness(harness.MetricName(l)) || !graphed && isGraph(harness.MetricName(l)) {
			continue
		}
		// Cluster-scoped kinds are not limited by --namespaces: keep only
		// the objects of this test.
		if names[nameLabel(l)] {
			got = append(got, l)
		}
		if !strings.Contains(l, `customresource_version="`+c.Version+`"`) || !strings.Contains(l, `customresource_kind="`+c.Kind+`"`) ||
			!strings.Contains(l, `customresource_group="`+c.Group+`"`) {
			t.Errorf("line without customresource_group/kind/version %s/%s/%s: %s", c.Group, c.Kind, c.Version, l)
		}
	}
	if os.Getenv("E2E_DUMP") != "" {
		r := []string{ns, "${NS}"}
		for i := 0; i+1 < len(extra); i += 2 {
			r = append(r, " "+extra[i+1], " "+extra[i])
		}
		for _, o := range objs {
			r = append(r, " "+created(o), " ${CREATED:"+strings.ReplaceAll(o.GetName(), ns, "${NS}")+"}")
		}
		rep := strings.NewReplacer(r...)
		for _, l := range sorted(got) {
			fmt.Printf("\t\t\t`%s`,\n", rep.Replace(l))
		}
	}
	assertLines(t, c.Kind+" families", got, expand(t, ns, objs, extra, c.Want))
	if t.Failed() {
		t.Logf("whole body:\n%s", r.Body)
	}
	return lines, x
}

// graphFamilies are the attachment graph's families (each.graph) of the
// embedded spec and of discovered policies.
var graphFamilies = func() map[string]bool {
	plan, _, err := spec.LoadFS(metricsspec.FS)
	if err != nil {
		panic(err)
	}
	out := map[string]bool{"gatewayapi_policy_target_resolved": true}
	for _, k := range plan.Kinds {
		for _, f := range k.Families {
			if f.Graph != spec.NoRelation {
				out[f.Name] = true
			}
		}
	}
	return out
}()

// isGraph tells the attachment graph's families by name: what they say of an
// object depends on objects of other kinds.
func isGraph(name string) bool { return graphFamilies[name] }

// withoutGraph drops the lines of the attachment graph's families.
func withoutGraph(lines []string) []string {
	var out []string
	for _, l := range lines {
		if !isGraph(harness.MetricName(l)) {
			out = append(out, l)
		}
	}
	return out
}

// isFreshness tells the freshness families by name.
func isFreshness(name string) bool {
	return strings.HasSuffix(name, "_metadata_generation") || strings.HasSuffix(name, "_observed_generation") ||
		strings.HasSuffix(name, "_last_transition_time")
}
