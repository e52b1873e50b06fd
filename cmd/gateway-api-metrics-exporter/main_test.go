// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/repo"
)

// The binary, built once: bad input must end in a clear message and a
// non-zero exit before anything is served.
var binary string

const (
	testVersion   = "9.8.7-test"
	testRevision  = "0123456789abcdef0123456789abcdef01234567"
	testBuildDate = "20260102-03:04:05"
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "exporter-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "gateway-api-metrics-exporter")
	// Built as the Makefile does, with known build metadata for the
	// --version and build_info tests.
	pv := "github.com/prometheus/common/version."
	ldflags := "-X " + pv + "Version=" + testVersion + " -X " + pv + "Revision=" + testRevision +
		" -X " + pv + "Branch=test -X " + pv + "BuildUser=tester -X " + pv + "BuildDate=" + testBuildDate
	if out, err := exec.Command("go", "build", "-trimpath", "-ldflags", ldflags, "-o", binary, ".").CombinedOutput(); err != nil {
		panic(string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func run(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	out, _ := cmd.CombinedOutput()
	return cmd.ProcessState.ExitCode(), string(out)
}

func TestBadInputExitsWithAReason(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	kubeconfig := write("kubeconfig", "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"https://127.0.0.1:1\"}}]\nusers: [{name: u, user: {token: x}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n")
	badSpec := write("spec.yaml", "spec:\n  resources:\n  - groupVersionKind: {group: g, version: v, kind: K}\n    metrics:\n    - name: x\n      each:\n        type: Histogram\n        gauge: {path: [a]}\n")
	badTLS := write("web.yaml", "tls_server_config:\n  cert_file: /nonexistent.crt\n  key_file: /nonexistent.key\n")
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"not a port", []string{"--port=abc"}, 2, `invalid argument "abc" for "--port"`},
		{"unknown flag", []string{"--no-such-flag"}, 2, "unknown flag: --no-such-flag"},
		{"shard out of range", []string{"--shard=3", "--total-shards=2"}, 2, "--shard must be between 0 and --total-shards-1"},
		{"bad collection", []string{"--collection=poll"}, 2, "--collection must be list or watch"},
		{"bad regexp", []string{"--metric-denylist=(?=x)"}, 2, "Go RE2 syntax"},
		{"missing kubeconfig", []string{"--kubeconfig=/nonexistent/kubeconfig"}, 1, "--kubeconfig: stat /nonexistent/kubeconfig"},
		{"unreadable kubeconfig", []string{"--kubeconfig=" + badSpec}, 1, "--kubeconfig"},
		{"bad tls config", []string{"--kubeconfig=" + kubeconfig, "--tls-config=" + badTLS}, 1, "--tls-config " + badTLS},
		{"missing tls config", []string{"--kubeconfig=" + kubeconfig, "--tls-config=/nonexistent.yaml"}, 1, "--tls-config /nonexistent.yaml"},
		{"bad spec", []string{"--kubeconfig=" + kubeconfig, "--custom-resource-state-config-file=" + badSpec}, 1, badSpec + ":7: metric \"x\": compiling metric: unknown metric type Histogram"},
		{"missing spec", []string{"--kubeconfig=" + kubeconfig, "--custom-resource-state-config-file=/nonexistent.yaml"}, 1, "reading --custom-resource-state-config-file"},
		{"render without paths", []string{"render"}, 2, "Usage: gateway-api-metrics-exporter render"},
		{"render bad spec", []string{"render", "--custom-resource-state-config-file=" + badSpec, dir}, 1, "unknown metric type Histogram"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out := run(t, c.args...)
			if code != c.code || !strings.Contains(out, c.want) {
				t.Errorf("exit %d, want %d; output must contain %q:\n%s", code, c.code, c.want, out)
			}
		})
	}
}

// Flags kube-state-metrics has and we do not apply are accepted, named in a
// warning, so existing manifests keep working.
func TestNotApplicableFlagsWarn(t *testing.T) {
	code, out := run(t, "--resources=pods", "--custom-resource-state-only", "--kubeconfig=/nonexistent")
	if code != 1 || !strings.Contains(out, "--resources is accepted but not applicable") || !strings.Contains(out, "--custom-resource-state-only is accepted but not applicable") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

func TestRenderGolden(t *testing.T) {
	dir := t.TempDir()
	obj := filepath.Join(dir, "gw.yaml")
	if err := os.WriteFile(obj, []byte("apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw, namespace: ns, creationTimestamp: \"2024-05-16T16:17:38Z\"}\nspec: {gatewayClassName: cls}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out := run(t, "render", obj)
	want := `gatewayapi_gateway_created{customresource_group="gateway.networking.k8s.io",customresource_kind="Gateway",customresource_version="v1",name="gw",namespace="ns"} 1.715876258e+09`
	if code != 0 || !strings.Contains(out, want+"\n") {
		t.Errorf("exit %d, want a line %s in:\n%s", code, want, out)
	}
}

// kube-state-metrics' `version` subcommand prints what --version prints.
func TestVersionSubcommand(t *testing.T) {
	code, out := run(t, "version")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	_, flag := run(t, "--version")
	if out != flag || !strings.HasPrefix(out, "gateway-api-metrics-exporter, version "+testVersion+" ") {
		t.Errorf("`version` printed:\n%s\n`--version` printed:\n%s", out, flag)
	}
}

// render serves what /metrics serves: the opt-in families only when
// --metric-opt-in-list names them.
func TestRenderOptIn(t *testing.T) {
	obj := filepath.Join(t.TempDir(), "gc.yaml")
	if err := os.WriteFile(obj, []byte("apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: gc, generation: 3, creationTimestamp: \"2024-05-16T16:17:38Z\"}\nspec: {controllerName: example.com/c}\n"+
		"status:\n  conditions:\n  - {type: Accepted, status: \"True\", observedGeneration: 3, lastTransitionTime: \"2024-05-16T16:17:38Z\"}\n  - {type: SupportedVersion, status: \"True\", observedGeneration: 2, lastTransitionTime: \"2024-05-16T16:17:38Z\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const labels = `{customresource_group="gateway.networking.k8s.io",customresource_kind="GatewayClass",customresource_version="v1",name="gc"`
	min := "gatewayapi_gatewayclass_status_observed_generation" + labels + "} 2\n"
	perCondition := "gatewayapi_gatewayclass_status_condition_observed_generation" + labels + `,type="SupportedVersion"} 2` + "\n"
	code, out := run(t, "render", obj)
	if code != 0 || !strings.Contains(out, min) || strings.Contains(out, "status_condition_observed_generation") || strings.Contains(out, "last_transition_time") {
		t.Errorf("default: exit %d, want %s and no per-condition family in:\n%s", code, min, out)
	}
	code, out = run(t, "render", "--metric-opt-in-list=gatewayapi_gatewayclass_status_condition_observed_generation", obj)
	if code != 0 || !strings.Contains(out, min) || !strings.Contains(out, perCondition) || strings.Contains(out, "last_transition_time") {
		t.Errorf("opted in: exit %d, want %s and %s in:\n%s", code, min, perCondition, out)
	}
	if code, out = run(t, "render", "--metric-opt-in-list=a(b", obj); code != 2 || !strings.Contains(out, "Go RE2 syntax") {
		t.Errorf("a bad regular expression: exit %d:\n%s", code, out)
	}
}

// --version prints the Prometheus exporters' block, from the values the build
// set, and exits 0 whatever else is on the command line.
func TestVersion(t *testing.T) {
	code, out := run(t, "--version", "--kubeconfig=/nonexistent", "--shard=5")
	want := []string{
		"gateway-api-metrics-exporter, version " + testVersion + " (branch: test, revision: " + testRevision + ")",
		"  build user:       tester",
		"  build date:       " + testBuildDate,
		"  go version:       " + runtime.Version(),
		"  platform:         " + runtime.GOOS + "/" + runtime.GOARCH,
	}
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < len(want) {
		t.Fatalf("got %d lines, want at least %d:\n%s", len(lines), len(want), out)
	}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("line %d: got %q, want %q", i+1, lines[i], w)
		}
	}
}

// The telemetry port serves gateway_metrics_build_info with the same values.
// The API server is unreachable: the exporter serves anyway (not ready).
func TestBuildInfoOnTelemetryPort(t *testing.T) {
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"https://127.0.0.1:1\"}}]\nusers: [{name: u, user: {token: x}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	port, telPort := freePort(t), freePort(t)
	cmd := exec.Command(binary, "--kubeconfig="+kubeconfig, "--host=127.0.0.1", "--telemetry-host=127.0.0.1",
		"--port="+strconv.Itoa(port), "--telemetry-port="+strconv.Itoa(telPort))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	url := "http://127.0.0.1:" + strconv.Itoa(telPort) + "/metrics"
	var body string
	// Polls until the listener is up (bounded count; not a pass/fail timing).
	for i := 0; i < 200 && body == ""; i++ {
		resp, err := http.Get(url)
		if err != nil {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
	}
	if body == "" {
		t.Fatalf("telemetry port never answered; exporter stderr:\n%s", stderr.String())
	}
	want := `gateway_metrics_build_info{branch="test",goarch="` + runtime.GOARCH + `",goos="` + runtime.GOOS +
		`",goversion="` + runtime.Version() + `",revision="` + testRevision + `",tags="unknown",version="` + testVersion + `"} 1`
	if !strings.Contains(body, want+"\n") {
		t.Errorf("want the line\n%s\nin:\n%s", want, grepLines(body, "build_info"))
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

var helpFlagRE = regexp.MustCompile(`(?m)^\s+(?:-(\w), )?--([a-z0-9-]+)`)

// TestHelpFlagsInREADME: every flag `--help` prints is in the README's flag
// tables, and --help says what --use-apiserver-cache really sends.
func TestHelpFlagsInREADME(t *testing.T) {
	code, out := run(t, "--help")
	if code != 0 {
		t.Fatalf("--help: exit %d\n%s", code, out)
	}
	readme, err := repo.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range helpFlagRE.FindAllStringSubmatch(out, -1) {
		n++
		name := "`--" + m[2] + "`"
		if m[1] != "" {
			name = "`-" + m[1] + "`" // -v, --v: KSM's own spelling
		}
		if !strings.Contains(string(readme), name) {
			t.Errorf("--help prints --%s, which README.md does not document (as %s)", m[2], name)
		}
	}
	if n < 30 {
		t.Fatalf("only %d flags found in --help:\n%s", n, out)
	}
	for _, want := range []string{"resourceVersion=1", "resourceVersionMatch=NotOlderThan"} {
		if !strings.Contains(out, want) {
			t.Errorf("--help does not say that --use-apiserver-cache sends %s", want)
		}
	}
}
