// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package live

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/kuadrant/gateway-api-metrics-exporter/deploy/test/render"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/app"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

const (
	oldKSMRel       = "anchors/gateway-api-state-metrics/config/examples/kube-state-metrics"
	oldCRSConfigRel = "anchors/gateway-api-state-metrics/config/kuadrant/custom-resource-state.yaml"
	ourImage        = "ghcr.io/kuadrant/gateway-api-metrics-exporter:latest"
)

// oldDeployment is the container of the old example kube-state-metrics
// Deployment, with the image replaced by ours.
type oldDeployment struct {
	Image        string
	Args         []string
	Command      []string
	Ports        map[string]int // container port name -> number
	VolumeMounts map[string]string
	Probes       map[string]probe // livenessProbe, readinessProbe, startupProbe
}

type probe struct {
	Path string
	Port int
}

func readOldDeployment(t *testing.T, path string) oldDeployment {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var o render.Object
	if err := yaml.Unmarshal(data, &o); err != nil {
		t.Fatal(err)
	}
	if o.Kind() != "Deployment" {
		t.Fatalf("%s: kind %s, want Deployment", path, o.Kind())
	}
	cs := render.List(o, "spec", "template", "spec", "containers")
	if len(cs) != 1 {
		t.Fatalf("%s: %d containers, want 1", path, len(cs))
	}
	c := cs[0].(map[string]any)
	c["image"] = ourImage // the swap: nothing else changes
	d := oldDeployment{Image: render.Str(c, "image"), Ports: map[string]int{}, VolumeMounts: map[string]string{}, Probes: map[string]probe{}}
	for _, a := range render.List(c, "args") {
		d.Args = append(d.Args, a.(string))
	}
	for _, a := range render.List(c, "command") {
		d.Command = append(d.Command, a.(string))
	}
	for _, p := range render.List(c, "ports") {
		n, _ := render.Get(p, "containerPort").(float64)
		d.Ports[render.Str(p, "name")] = int(n)
	}
	for _, m := range render.List(c, "volumeMounts") {
		d.VolumeMounts[render.Str(m, "name")] = render.Str(m, "mountPath")
	}
	for _, name := range []string{"livenessProbe", "readinessProbe", "startupProbe"} {
		pr := render.Map(c, name)
		if pr == nil {
			continue
		}
		if render.Map(pr, "httpGet") == nil {
			t.Fatalf("%s: %s is not an httpGet probe: %v", path, name, pr)
		}
		var port int
		switch v := render.Get(pr, "httpGet", "port").(type) {
		case float64:
			port = int(v)
		case string:
			var ok bool
			if port, ok = d.Ports[v]; !ok {
				t.Fatalf("%s: %s names port %q, which the container does not declare", path, name, v)
			}
		}
		d.Probes[name] = probe{Path: render.Str(pr, "httpGet", "path"), Port: port}
	}
	return d
}

// TestDropInSwap takes the old example kube-state-metrics Deployment of
// gateway-api-state-metrics, replaces only its image by ours, and checks that
// the exporter accepts its arguments, serves its probes and, run with those
// arguments and the mounted gateway-api-state-metrics config, serves the
// gatewayapi_* metrics of the samples.
func TestDropInSwap(t *testing.T) {
	shared := sharedDir(t, oldKSMRel)
	env := testenv.Current(t)
	dep := readOldDeployment(t, filepath.Join(shared, oldKSMRel, "deployment.yaml"))
	if len(dep.Command) > 0 {
		t.Errorf("the old Deployment sets command %q; our image's entrypoint would be replaced", dep.Command)
	}
	t.Logf("old Deployment, image swapped to %s: args %q, probes %v, ports %v", dep.Image, dep.Args, dep.Probes, dep.Ports)

	// 1. Every argument is accepted as it is.
	var stderr bytes.Buffer
	opts, err := app.Parse(dep.Args, &stderr)
	if err != nil {
		t.Fatalf("app.Parse(%q) (the old Deployment's args): %v\n%s", dep.Args, err, stderr.String())
	}

	// 2. Its probes and ports are ours: the metrics port serves
	// /metrics, /healthz, /livez and /; the telemetry port /metrics, /readyz and /.
	served := map[int][]string{
		opts.Port:          {"/metrics", "/healthz", "/livez", "/"},
		opts.TelemetryPort: {"/metrics", "/readyz", "/"},
	}
	for name, p := range dep.Probes {
		if !slices.Contains(served[p.Port], p.Path) {
			t.Errorf("%s GET %s on port %d: we serve %v on %d and %v on %d", name, p.Path, p.Port,
				served[opts.Port], opts.Port, served[opts.TelemetryPort], opts.TelemetryPort)
		}
	}
	for name, port := range dep.Ports {
		if port != opts.Port && port != opts.TelemetryPort {
			t.Errorf("container port %s (%d) is neither --port %d nor --telemetry-port %d", name, port, opts.Port, opts.TelemetryPort)
		}
	}

	// 3. Run it. The config file the Deployment mounts (ConfigMap
	// custom-resource-state) is the old project's config, placed under a temp
	// dir standing in for the mount path. The Deployment binds the fixed
	// default ports 8080/8081 on all interfaces, which a test cannot rely on:
	// --host/--port/--telemetry-host/--telemetry-port are appended to bind
	// kernel-chosen loopback ports instead, and --kubeconfig points at the
	// test API server (in a pod the in-cluster config is used).
	mountRoot := t.TempDir()
	args := slices.Clone(dep.Args)
	crs, err := os.ReadFile(filepath.Join(shared, oldCRSConfigRel))
	if err != nil {
		t.Fatal(err)
	}
	mounted := false
	for vol, mp := range dep.VolumeMounts {
		dir := filepath.Join(mountRoot, mp)
		for i, a := range args {
			if strings.Contains(a, mp+"/") {
				args[i] = strings.ReplaceAll(a, mp+"/", dir+"/")
				mounted = true
			}
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if vol == "custom-resource-state" {
			if err := os.WriteFile(filepath.Join(dir, "custom-resource-state.yaml"), crs, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !mounted {
		t.Logf("no argument refers to a mounted file")
	}
	overrides := append(slices.Clone(loopbackArgs), "--kubeconfig="+env.Kubeconfig)
	t.Logf("running with args %q + %q", args, overrides)
	x := startExporter(t, "exporter(drop-in)", append(args, overrides...)...)
	if x.Options.CRSConfigFile == "" || !strings.HasPrefix(x.Options.CRSConfigFile, mountRoot) {
		t.Errorf("--custom-resource-state-config-file = %q, want the mounted old config", x.Options.CRSConfigFile)
	}
	urlFor := map[int]string{opts.Port: x.MetricsURL, opts.TelemetryPort: x.TelemetryURL}
	for name, p := range dep.Probes {
		status, _, body := get(t, urlFor[p.Port]+p.Path)
		if status != http.StatusOK {
			t.Errorf("%s GET %s (port %d): status %d, want 200: %s", name, p.Path, p.Port, status, body)
		}
	}
	// Readiness follows the first collection; poll it like a kubelet would.
	body := waitDropInMetrics(t, x, 30*time.Second)
	n := 0
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, "gatewayapi_") {
			n++
		}
	}
	t.Logf("/metrics serves %d gatewayapi_* samples with the old config; gateway_metrics_up:\n%s", n, upLines(body))
	up := upByKind(t, body)
	if len(up) == 0 {
		t.Errorf("no gateway_metrics_up series")
	}
	for k, v := range up {
		if v != 1 {
			t.Errorf("gateway_metrics_up{%s} = %v with the old config (admin credentials)", k, v)
		}
	}
	for _, want := range []string{"gatewayapi_gateway_info{", "gatewayapi_httproute_parent_info{", "gatewayapi_gatewayclass_status{", `name="demo-gateway"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestDropInSwapOldRBAC runs the swapped Deployment as it would run in a
// cluster that keeps the old example's ServiceAccount, ClusterRole and
// binding: every kind the old ClusterRole lets it list must be up, every other
// kind of the old config down (gateway_metrics_up 0), as kube-state-metrics
// could not list them either.
func TestDropInSwapOldRBAC(t *testing.T) {
	shared := sharedDir(t, oldKSMRel)
	env := testenv.Current(t)
	dir := filepath.Join(shared, oldKSMRel)
	dep := readOldDeployment(t, filepath.Join(dir, "deployment.yaml"))
	var objs []render.Object
	var sa, role render.Object
	for _, f := range []string{"service-account.yaml", "cluster-role.yaml", "cluster-role-binding.yaml"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		o, err := render.Objects(data)
		if err != nil || len(o) != 1 {
			t.Fatalf("%s: %d objects, %v", f, len(o), err)
		}
		switch o[0].Kind() {
		case "ServiceAccount":
			sa = o[0]
		case "ClusterRole":
			role = o[0]
		}
		objs = append(objs, o...)
	}
	if sa == nil || role == nil {
		t.Fatal("no ServiceAccount or ClusterRole in the old example")
	}
	listable := map[string]bool{} // group/resource
	for _, r := range render.List(role, "rules") {
		if !slices.Contains(strs(render.List(r, "verbs")), "list") {
			continue
		}
		for _, g := range strs(render.List(r, "apiGroups")) {
			for _, res := range strs(render.List(r, "resources")) {
				listable[g+"/"+res] = true
			}
		}
	}

	// The old config, at the path the Deployment mounts it.
	mountRoot := t.TempDir()
	args := slices.Clone(dep.Args)
	for _, mp := range dep.VolumeMounts {
		for i, a := range args {
			args[i] = strings.ReplaceAll(a, mp+"/", filepath.Join(mountRoot, mp)+"/")
		}
		if err := os.MkdirAll(filepath.Join(mountRoot, mp), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	crs, err := os.ReadFile(filepath.Join(shared, oldCRSConfigRel))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mountRoot, "custom-resource-state", "custom-resource-state.yaml"), crs, 0o644); err != nil {
		t.Fatal(err)
	}
	plan, _, err := spec.Load(oldCRSConfigRel, crs)
	if err != nil {
		t.Fatal(err)
	}
	resources := planResources(t, env, plan)

	user, groups := serviceAccountUser(sa.Namespace(), sa.Name())
	cs, err := kubernetes.NewForConfig(impersonated(env, user, groups))
	if err != nil {
		t.Fatal(err)
	}
	serverSideApply(t, env, objs)
	waitAllowed(t, cs, access{verb: "list", group: "gateway.networking.k8s.io", resource: "gateways"}, true)

	x := startExporter(t, "exporter(drop-in, old RBAC)", append(args, append(slices.Clone(loopbackArgs), "--kubeconfig="+writeKubeconfig(t, env, user, groups))...)...)
	body := waitDropInMetrics(t, x, 30*time.Second)
	up := upByKind(t, body)
	var down []string
	for i, k := range plan.Kinds {
		key := k.GVK.Group + "/" + k.GVK.Kind
		want := 0.0
		if listable[resources[i].Group+"/"+resources[i].Resource] {
			want = 1
		} else {
			down = append(down, key)
		}
		if got, ok := up[key]; !ok || got != want {
			t.Errorf("gateway_metrics_up{%s} = %v (present %v), want %v: the old ClusterRole lets it list %s: %v",
				key, got, ok, want, resources[i].Resource, want == 1)
		}
	}
	t.Logf("as %s with the old ClusterRole: %d kinds up; down as expected (the old ClusterRole cannot list them): %v", user, len(plan.Kinds)-len(down), down)
}

func strs(v []any) []string {
	var out []string
	for _, x := range v {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func waitDropInMetrics(t *testing.T, x *exporter, within time.Duration) []byte {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		body := x.scrape(t)
		if bytes.Contains(body, []byte("\ngatewayapi_")) {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v /metrics serves no gatewayapi_* sample:\n%s", within, body)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
