// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	metricsspec "github.com/kuadrant/gateway-api-metrics-exporter/metrics-spec"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/source"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// syncBuffer is a log destination written by Run's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// kubeconfigFor points at server with a token; nothing is contacted until
// the exporter lists.
func kubeconfigFor(t *testing.T, server string) string {
	return writeFile(t, "kubeconfig", "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \""+server+"\"}}]\n"+
		"users: [{name: u, user: {token: x}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n")
}

func mustParse(t *testing.T, args ...string) *Options {
	t.Helper()
	o, err := Parse(args, io.Discard)
	if err != nil {
		t.Fatalf("Parse(%q): %v", args, err)
	}
	return o
}

func TestParseValidates(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--port=70000"}, "--port 70000 is not a port"},
		{[]string{"--telemetry-port=-1"}, "--telemetry-port -1 is not a port"},
		{[]string{"--total-shards=0"}, "--total-shards must be at least 1"},
		{[]string{"--shard=2", "--total-shards=2"}, "--shard must be between 0 and --total-shards-1 (1), got 2"},
		{[]string{"--pod=ksm-0"}, "--pod and --pod-namespace go together"},
		{[]string{"--metric-allowlist=a", "--metric-denylist=b"}, "mutually exclusive"},
		{[]string{"--collection=poll"}, `--collection must be list or watch, got "poll"`},
		{[]string{"--max-series-per-family=-1"}, "--max-series-per-family must be 0 (no limit) or more, got -1"},
		{[]string{"--max-series=-5"}, "--max-series must be 0 (no limit) or more, got -5"},
		{[]string{"--auto-gomemlimit-ratio=1.5"}, "--auto-gomemlimit-ratio must be in (0, 1]"},
		{[]string{"--metric-denylist=(?!x)"}, "Go RE2 syntax"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	}
	for _, c := range cases {
		_, err := Parse(c.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", c.args, err, c.want)
		}
	}
	// Both KSM spellings, and -v.
	o := mustParse(t, "--namespaces", "a,b", "--namespaces-denylist=b", "-v", "4", "--scrape-timeout=3s")
	if strings.Join(o.Namespaces, "|") != "a|b" || strings.Join(o.NamespacesDeny, "|") != "b" || o.Verbosity != 4 || o.ScrapeTimeout != 3*time.Second {
		t.Errorf("parsed %+v", o)
	}
	if len(o.Warnings()) != 0 {
		t.Errorf("warnings for applicable flags: %q", o.Warnings())
	}
	o = mustParse(t, "--resources=pods", "--logtostderr")
	if w := strings.Join(o.Warnings(), "\n"); !strings.Contains(w, "--resources is accepted but not applicable") || !strings.Contains(w, "--logtostderr is accepted but not applicable") {
		t.Errorf("warnings: %q", o.Warnings())
	}
}

// --metric-allowlist/--metric-denylist: regular expressions matching anywhere
// in the family name, as in KSM.
func TestFamilyFilter(t *testing.T) {
	names := []string{"gatewayapi_gateway_info", "gatewayapi_gateway_status", "gatewayapi_httproute_info"}
	cases := []struct {
		args []string
		want []string
	}{
		{nil, names},
		{[]string{"--metric-allowlist=gatewayapi_gateway_info"}, []string{"gatewayapi_gateway_info"}},
		{[]string{"--metric-allowlist=_info$, gatewayapi_gateway_status"}, names},
		{[]string{"--metric-allowlist=httproute"}, []string{"gatewayapi_httproute_info"}},
		{[]string{"--metric-denylist=gatewayapi_gateway_.*"}, []string{"gatewayapi_httproute_info"}},
		{[]string{"--metric-denylist=^nothing$"}, names},
	}
	for _, c := range cases {
		keep := mustParse(t, c.args...).familyFilter()
		var got []string
		for _, n := range names {
			if keep(&spec.Family{Name: n}) {
				got = append(got, n)
			}
		}
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%q keeps %v, want %v", c.args, got, c.want)
		}
	}
}

// --metric-opt-in-list, as in KSM: an opt-in family is served when an entry
// (a regular expression, matching anywhere) names it; other families are
// untouched; the allow and deny lists apply on top.
func TestOptInList(t *testing.T) {
	fams := []*spec.Family{
		{Name: "gatewayapi_gateway_status"},
		{Name: "gatewayapi_gateway_status_condition_observed_generation", OptIn: true},
		{Name: "gatewayapi_gateway_status_condition_last_transition_time", OptIn: true},
		{Name: "gatewayapi_httproute_status_parents_conditions_observed_generation", OptIn: true},
	}
	cases := []struct {
		args []string
		want []int
	}{
		{nil, []int{0}},
		{[]string{"--metric-opt-in-list=gatewayapi_gateway_status_condition_observed_generation"}, []int{0, 1}},
		{[]string{"--metric-opt-in-list=_observed_generation$"}, []int{0, 1, 3}},
		{[]string{"--metric-opt-in-list= last_transition , httproute"}, []int{0, 2, 3}},
		{[]string{"--metric-opt-in-list=.*"}, []int{0, 1, 2, 3}},
		{[]string{"--metric-opt-in-list=.*", "--metric-denylist=httproute"}, []int{0, 1, 2}},
		{[]string{"--metric-opt-in-list=gateway_", "--metric-allowlist=observed"}, []int{1}},
		{[]string{"--metric-opt-in-list=kube_pod_nodeselectors"}, []int{0}},
	}
	for _, c := range cases {
		keep := mustParse(t, c.args...).familyFilter()
		var got []int
		for i, f := range fams {
			if keep(f) {
				got = append(got, i)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%q serves %v, want %v", c.args, got, c.want)
		}
	}
	if _, err := Parse([]string{"--metric-opt-in-list=a(b"}, io.Discard); err == nil || !strings.Contains(err.Error(), `entry "a(b"`) {
		t.Errorf("a bad regular expression: %v", err)
	}
}

const twoFamilies = `kind: CustomResourceStateMetrics
spec:
  resources:
  - groupVersionKind: {group: gateway.networking.k8s.io, version: v1, kind: Gateway}
    metricNamePrefix: gw
    metrics:
    - {name: created, help: c, each: {type: Gauge, gauge: {path: [metadata, creationTimestamp]}}}
    - {name: deleted, help: d, each: {type: Gauge, gauge: {path: [metadata, deletionTimestamp]}}}
`

func familyNames(p *spec.Plan) []string {
	var out []string
	for _, k := range p.Kinds {
		for _, f := range k.Families {
			out = append(out, f.Name)
		}
	}
	return out
}

func TestLoadPlan(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	file := writeFile(t, "crs.yaml", strings.ReplaceAll(twoFamilies, "Prefix: gw", "Prefix: fromfile"))

	// Inline YAML wins over the file, as in KSM.
	p, err := LoadPlan(twoFamilies, file, false, log)
	if err != nil || strings.Join(familyNames(p), " ") != "gw_created gw_deleted" {
		t.Errorf("inline and file: %v %v, want the inline spec's families", familyNames(p), err)
	}
	p, err = LoadPlan("", file, false, log)
	if err != nil || strings.Join(familyNames(p), " ") != "fromfile_created fromfile_deleted" {
		t.Errorf("file: %v %v", familyNames(p), err)
	}
	embedded, err := LoadPlan("", "", false, log)
	if err != nil || len(embedded.Kinds) < 10 {
		t.Fatalf("embedded metrics-spec: %v kinds, %v", len(embedded.Kinds), err)
	}
	missing := filepath.Join(t.TempDir(), "absent.yaml")
	if _, err := LoadPlan("", missing, false, log); err == nil || !strings.Contains(err.Error(), "reading --custom-resource-state-config-file") {
		t.Errorf("missing file: %v", err)
	}
	// --continue-without-custom-resource-state-config-file: the embedded spec.
	p, err = LoadPlan("", missing, true, log)
	if err != nil || len(p.Kinds) != len(embedded.Kinds) {
		t.Errorf("missing file, continue: %d kinds, %v; want the embedded %d", len(p.Kinds), err, len(embedded.Kinds))
	}
	if _, err := LoadPlan("kind: CustomResourceStateMetrics\nspec: {resources: [{groupVersionKind: {group: g, version: v, kind: K}, metrics: [{name: x, each: {type: Histogram}}]}]}\n", "", false, log); err == nil || !strings.Contains(err.Error(), "invalid metrics spec") {
		t.Errorf("bad spec: %v", err)
	}

	// FilterPlan keeps the kind and drops the families.
	p, _ = LoadPlan(twoFamilies, "", false, log)
	f := FilterPlan(p, mustParse(t, "--metric-denylist=deleted").familyFilter())
	if strings.Join(familyNames(f), " ") != "gw_created" || len(f.Kinds) != 1 || len(p.Kinds[0].Families) != 2 {
		t.Errorf("filtered %v (kinds %d), original keeps %d families", familyNames(f), len(f.Kinds), len(p.Kinds[0].Families))
	}
}

// Run binds both ports, reports them through OnServing, serves, and returns
// nil once its context ends. An API server that cannot be reached does not
// stop it: the kinds are reported down.
func TestRunReportsAddressesAndServes(t *testing.T) {
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + dead.Addr().String()
	dead.Close() // nothing listens there any more

	o := mustParse(t, "--host=127.0.0.1", "--port=0", "--telemetry-host=127.0.0.1", "--telemetry-port=0",
		"--kubeconfig="+kubeconfigFor(t, deadURL), "--resources=pods", "--scrape-timeout=2s", "--custom-resource-state-config="+twoFamilies)
	addrs := make(chan [2]net.Addr, 1)
	o.OnServing = func(m, tel net.Addr) { addrs <- [2]net.Addr{m, tel} }
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Run(ctx, o, NewLogger(&logs, 0)) }()

	var a [2]net.Addr
	select {
	case a = <-addrs:
	case err := <-errc:
		t.Fatalf("Run returned before serving: %v\n%s", err, logs.String())
	}
	for i, addr := range a {
		if tcp, ok := addr.(*net.TCPAddr); !ok || tcp.Port == 0 || !tcp.IP.IsLoopback() {
			t.Errorf("address %d reported as %v, want a bound loopback port", i, addr)
		}
	}
	get := func(addr net.Addr, path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + addr.String() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get(a[0], "/healthz"); code != 200 {
		t.Errorf("/healthz on the reported metrics address: %d", code)
	}
	if code, _ := get(a[1], "/readyz"); code != 503 {
		t.Errorf("/readyz without any successful discovery: %d, want 503", code)
	}
	up0 := `gateway_metrics_up{group="gateway.networking.k8s.io",kind="Gateway",version="v1"} 0`
	if code, b := get(a[0], "/metrics"); code != 200 || !strings.Contains(b, "\n"+up0+"\n") || strings.Contains(b, "gw_created") {
		t.Errorf("/metrics with the API server unreachable: %d, want 200 with %s and no family:\n%s", code, up0, b)
	}
	if code, b := get(a[1], "/metrics"); code != 200 || !strings.Contains(b, "gateway_metrics_scrapes_total") {
		t.Errorf("telemetry /metrics: %d\n%s", code, b)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("Run after its context ended: %v", err)
	}
	if !strings.Contains(logs.String(), "--resources is accepted but not applicable") {
		t.Errorf("the not-applicable flag is not named in the log:\n%s", logs.String())
	}
	// The config leaves out every family of the embedded spec: said once.
	if n := strings.Count(logs.String(), "families of the embedded metrics-spec"); n != 1 {
		t.Errorf("%d log lines name the families the config leaves out, want 1:\n%s", n, logs.String())
	}
	// The ports are released.
	for _, addr := range a {
		l, err := net.Listen("tcp", addr.String())
		if err != nil {
			t.Errorf("%v still bound after Run returned: %v", addr, err)
			continue
		}
		l.Close()
	}
}

// Bad input fails before anything is bound, and OnServing is never called.
func TestRunFailsBeforeServing(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	kubeconfig := kubeconfigFor(t, "https://127.0.0.1:1")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--kubeconfig=/nonexistent/kubeconfig"}, "--kubeconfig: stat /nonexistent/kubeconfig"},
		{[]string{"--kubeconfig=" + kubeconfig, "--tls-config=/nonexistent/web.yaml"}, "--tls-config /nonexistent/web.yaml"},
		{[]string{"--kubeconfig=" + kubeconfig, "--custom-resource-state-config=spec: [}"}, "invalid metrics spec"},
		{[]string{"--kubeconfig=" + kubeconfig, "--collection=watch", "--custom-resource-state-config=" + strings.ReplaceAll(twoFamilies, "version: v1", `version: "*"`)}, `uses a "*" version or kind`},
		{[]string{"--kubeconfig=" + kubeconfig, "--port=" + strconv.Itoa(busyPort)}, "--host/--port"},
		{[]string{"--kubeconfig=" + kubeconfig, "--telemetry-port=" + strconv.Itoa(busyPort)}, "--telemetry-host/--telemetry-port"},
	}
	for _, c := range cases {
		args := append([]string{"--host=127.0.0.1", "--port=0", "--telemetry-host=127.0.0.1", "--telemetry-port=0"}, c.args...)
		o := mustParse(t, args...)
		var served atomic.Bool
		o.OnServing = func(net.Addr, net.Addr) { served.Store(true) }
		err := Run(context.Background(), o, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: Run = %v, want an error containing %q", c.args, err, c.want)
		}
		if served.Load() {
			t.Errorf("%q: OnServing was called", c.args)
		}
	}
}

// --pod/--pod-namespace: the shard is the pod's ordinal, the total its
// StatefulSet's replicas, read from the API server (a fake one here).
func TestAutoShard(t *testing.T) {
	var requests atomic.Int32
	replicas := "3"
	owner := `"ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "gw-metrics", "controller": true, "uid": "u"}]`
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/v1/namespaces/monitoring/pods/gw-metrics-2":
			_, _ = io.WriteString(w, `{"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "gw-metrics-2", `+owner+`}}`)
		case "/api/v1/namespaces/monitoring/pods/orphan-1":
			_, _ = io.WriteString(w, `{"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "orphan-1"}}`)
		case "/apis/apps/v1/namespaces/monitoring/statefulsets/gw-metrics":
			_, _ = io.WriteString(w, `{"kind": "StatefulSet", "apiVersion": "apps/v1", "spec": {"replicas": `+replicas+`}}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer api.Close()
	c, err := source.New(&rest.Config{Host: api.URL})
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	log := NewLogger(&logs, 0)

	shard := autoShard(c, "gw-metrics-2", "monitoring", log)
	if s, n := shard(); s != 2 || n != 3 {
		t.Errorf("gw-metrics-2 of 3 replicas: shard %d of %d, want 2 of 3", s, n)
	}
	// Re-read at most every 30s: a second call does not ask again.
	replicas = "5"
	before := requests.Load()
	if s, n := shard(); s != 2 || n != 3 || requests.Load() != before {
		t.Errorf("second call: shard %d of %d after %d more requests; want the cached 2 of 3 and none", s, n, requests.Load()-before)
	}

	if s, n := autoShard(c, "orphan-1", "monitoring", log)(); s != 0 || n != 1 {
		t.Errorf("pod without a StatefulSet: shard %d of %d, want 0 of 1", s, n)
	}
	if s, n := autoShard(c, "gone-0", "monitoring", log)(); s != 0 || n != 1 {
		t.Errorf("pod that cannot be read: shard %d of %d, want 0 of 1", s, n)
	}
	if autoShard(c, "no-ordinal", "monitoring", log) != nil {
		t.Error("a pod name without an ordinal must turn sharding off")
	}
	for _, want := range []string{"pod has no controlling StatefulSet", "cannot read own pod", "is not a StatefulSet pod name"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

// A mounted config that leaves out families of the embedded metrics-spec is
// told so once at start: which families (by kind when there are many), and
// that dropping the config flag serves them. Families the allow/denylist
// drops are not named.
func TestLeftOutFamiliesAreNamed(t *testing.T) {
	embedded, _, err := spec.LoadFS(metricsspec.FS)
	if err != nil {
		t.Fatal(err)
	}
	if msg := leftOut(embedded, embedded, nil); msg != "" {
		t.Errorf("the embedded spec itself leaves out nothing, got %q", msg)
	}

	// All of the embedded spec but two Gateway families, written here.
	var gatewayFamilies []string
	for _, k := range embedded.Kinds {
		if k.GVK.Kind == "Gateway" {
			for _, f := range k.Families {
				gatewayFamilies = append(gatewayFamilies, f.Name)
			}
		}
	}
	if len(gatewayFamilies) < 3 {
		t.Fatalf("embedded Gateway families: %v", gatewayFamilies)
	}
	drop := map[string]bool{gatewayFamilies[0]: true, gatewayFamilies[2]: true}
	some := FilterPlan(embedded, func(f *spec.Family) bool { return !drop[f.Name] })
	msg := leftOut(embedded, some, nil)
	want := "leaves out 2 families of the embedded metrics-spec (" + gatewayFamilies[0] + ", " + gatewayFamilies[2] + "); run without --custom-resource-state-config(-file) to serve them"
	if !strings.Contains(msg, want) {
		t.Errorf("got %q\nwant it to contain %q", msg, want)
	}
	// --metric-denylist of one of them: only the other is named.
	if msg := leftOut(embedded, some, func(f *spec.Family) bool { return f.Name != gatewayFamilies[0] }); !strings.Contains(msg, "leaves out 1 families of the embedded metrics-spec ("+gatewayFamilies[2]+")") {
		t.Errorf("with the denylist: %q", msg)
	}

	// A config of one Gateway family (twoFamilies, above): every other
	// family is left out; too many to name, so by kind with counts.
	one, _, err := spec.Load("one.yaml", []byte(twoFamilies))
	if err != nil {
		t.Fatal(err)
	}
	total := len(familyNames(embedded))
	msg = leftOut(embedded, one, nil)
	if !strings.Contains(msg, fmt.Sprintf("leaves out %d families", total)) || !strings.Contains(msg, "(by kind: ") {
		t.Errorf("got %q", msg)
	}
	for _, kind := range []string{"Gateway", "GatewayClass", "HTTPRoute", "AuthPolicy"} {
		if !regexp.MustCompile(fmt.Sprintf(`[:,] %s %d[,)]`, kind, familiesOf(embedded, kind))).MatchString(msg) {
			t.Errorf("%s and its %d families not named in %q", kind, familiesOf(embedded, kind), msg)
		}
	}
}

func familiesOf(p *spec.Plan, kind string) int {
	n := 0
	for _, k := range p.Kinds {
		if k.GVK.Kind == kind {
			n += len(k.Families)
		}
	}
	return n
}
