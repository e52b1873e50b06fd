// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package deploytest

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/kuadrant/gateway-api-metrics-exporter/deploy/test/render"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/repo"
	metricsspec "github.com/kuadrant/gateway-api-metrics-exporter/metrics-spec"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/engine"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/lint/support"
	"sigs.k8s.io/yaml"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

var (
	renderMu    sync.Mutex
	renderCache = map[string][]render.Object{}
)

// rendered builds the named rendering once per test binary.
func rendered(t *testing.T, name string) []render.Object {
	t.Helper()
	renderMu.Lock()
	defer renderMu.Unlock()
	if objs, ok := renderCache[name]; ok {
		return objs
	}
	for _, r := range render.Renderings() {
		if r.Name != name {
			continue
		}
		data, err := r.Build(repoRoot(t))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		objs, err := render.Objects(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		renderCache[name] = objs
		return objs
	}
	t.Fatalf("no rendering %q", name)
	return nil
}

func byKind(objs []render.Object, kind string) []render.Object {
	var out []render.Object
	for _, o := range objs {
		if o.Kind() == kind {
			out = append(out, o)
		}
	}
	return out
}

func one(t *testing.T, objs []render.Object, kind string) render.Object {
	t.Helper()
	l := byKind(objs, kind)
	if len(l) != 1 {
		t.Fatalf("want exactly one %s, got %d", kind, len(l))
	}
	return l[0]
}

func strs(v []any) []string {
	var out []string
	for _, x := range v {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// The resources the ClusterRole must grant list and watch on.
var wantClusterRole = map[string][]string{
	"apiextensions.k8s.io": {"customresourcedefinitions"},
	"gateway.networking.k8s.io": {
		"gatewayclasses", "gateways", "httproutes", "grpcroutes", "tlsroutes",
		"tcproutes", "udproutes", "backendtlspolicies", "listenersets", "referencegrants",
	},
	"gateway.networking.x-k8s.io": {"xbackendtrafficpolicies", "xbackends", "xmeshes"},
	"kuadrant.io": {
		"authpolicies", "ratelimitpolicies", "dnspolicies", "tlspolicies",
		"dnsrecords", "dnshealthcheckprobes", "kuadrants", "tokenratelimitpolicies",
	},
	"extensions.kuadrant.io": {"oidcpolicies", "planpolicies", "telemetrypolicies", "threatpolicies"},
	// Discovered Policy Attachment kinds of the implementations most users run.
	"gateway.envoyproxy.io": {"securitypolicies", "backendtrafficpolicies", "clienttrafficpolicies", "envoyextensionpolicies"},
}

// specResources is every resource the embedded metrics-spec reads, so that a
// kind added there cannot be left out of the ClusterRoles.
func specResources(t *testing.T) map[string][]string {
	t.Helper()
	plan, _, err := spec.LoadFS(metricsspec.FS)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, k := range plan.Kinds {
		out[k.GVK.Group] = append(out[k.GVK.Group], engine.PluralOf(k))
	}
	return out
}

var workloadRenderings = []string{
	"kustomize-base", "kustomize-servicemonitor", "kustomize-sharded",
	"helm-default", "helm-full", "helm-sharded",
}

func TestRenderingsBuild(t *testing.T) {
	for _, r := range render.Renderings() {
		t.Run(r.Name, func(t *testing.T) {
			objs := rendered(t, r.Name)
			if len(objs) == 0 {
				t.Fatal("no objects")
			}
			seen := map[string]bool{}
			for _, o := range objs {
				if o.Kind() == "" || o.Name() == "" || render.Str(o, "apiVersion") == "" {
					t.Errorf("object without apiVersion/kind/name: %v", o)
				}
				key := o.Kind() + "/" + o.Namespace() + "/" + o.Name()
				if seen[key] {
					t.Errorf("duplicate object %s", key)
				}
				seen[key] = true
				if o.Kind() == "Secret" {
					t.Errorf("renders a Secret %s", o.Name())
				}
				switch o.Kind() {
				case "ClusterRole", "ClusterRoleBinding":
				case "Namespace":
					if o.Name() != "monitoring" {
						t.Errorf("renders Namespace %s, want monitoring", o.Name())
					}
				default:
					if o.Namespace() != "monitoring" {
						t.Errorf("%s is in namespace %q, want monitoring", key, o.Namespace())
					}
				}
			}
		})
	}
}

// TestKustomizeCreatesItsNamespace: `kubectl apply -k` applies the objects in
// order, so each kustomization of a workload renders the Namespace of its
// namespaced objects before them (deploy/test/live applies the base to a
// clean API server).
func TestKustomizeCreatesItsNamespace(t *testing.T) {
	for _, name := range workloadRenderings {
		if !strings.HasPrefix(name, "kustomize-") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			created := map[string]bool{}
			for _, o := range rendered(t, name) {
				if o.Kind() == "Namespace" {
					created[o.Name()] = true
				}
				if ns := o.Namespace(); ns != "" && !created[ns] {
					t.Errorf("%s %s/%s comes before (or without) its Namespace", o.Kind(), ns, o.Name())
				}
			}
		})
	}
}

// TestRBACReadOnly: the ClusterRole only lists and watches, never touches
// Secrets, and covers every exported kind; a Role exists only for sharding.
func TestRBACReadOnly(t *testing.T) {
	for _, name := range workloadRenderings {
		t.Run(name, func(t *testing.T) {
			objs := rendered(t, name)
			cr := one(t, objs, "ClusterRole")
			granted := map[string]map[string]bool{}
			for _, rule := range render.List(cr, "rules") {
				verbs := strs(render.List(rule, "verbs"))
				res := strs(render.List(rule, "resources"))
				groups := strs(render.List(rule, "apiGroups"))
				if !reflect.DeepEqual(verbs, []string{"list", "watch"}) {
					t.Errorf("ClusterRole rule %v has verbs %v, want exactly [list watch]", res, verbs)
				}
				for _, x := range append(append(res, groups...), verbs...) {
					if x == "*" {
						t.Errorf("ClusterRole rule uses a wildcard: %v", rule)
					}
				}
				if slices.Contains(res, "secrets") || slices.Contains(groups, "") {
					t.Errorf("ClusterRole grants core resources: %v", rule)
				}
				for _, g := range groups {
					if granted[g] == nil {
						granted[g] = map[string]bool{}
					}
					for _, r := range res {
						granted[g][r] = true
					}
				}
			}
			for g, want := range specResources(t) {
				for _, r := range want {
					if !granted[g][r] {
						t.Errorf("ClusterRole lacks list/watch on %s.%s, which metrics-spec reads", r, g)
					}
				}
			}
			for g, want := range wantClusterRole {
				for _, r := range want {
					if !granted[g][r] {
						t.Errorf("ClusterRole lacks list/watch on %s.%s", r, g)
					}
				}
			}

			sa := one(t, objs, "ServiceAccount")
			crb := one(t, objs, "ClusterRoleBinding")
			if render.Str(crb, "roleRef", "name") != cr.Name() || render.Str(crb, "roleRef", "kind") != "ClusterRole" {
				t.Errorf("ClusterRoleBinding refers to %v", render.Get(crb, "roleRef"))
			}
			checkSubject(t, crb, sa)

			sharded := strings.HasSuffix(name, "sharded")
			roles := byKind(objs, "Role")
			if !sharded {
				if len(roles) != 0 {
					t.Errorf("unsharded rendering has a Role")
				}
				return
			}
			role := one(t, objs, "Role")
			workload := one(t, objs, "StatefulSet")
			for _, rule := range render.List(role, "rules") {
				res := strs(render.List(rule, "resources"))
				verbs := strs(render.List(rule, "verbs"))
				switch {
				case reflect.DeepEqual(res, []string{"pods"}):
					if !reflect.DeepEqual(verbs, []string{"get"}) {
						t.Errorf("sharding Role: pods verbs %v, want [get]", verbs)
					}
				case reflect.DeepEqual(res, []string{"statefulsets"}):
					if !reflect.DeepEqual(strs(render.List(rule, "resourceNames")), []string{workload.Name()}) {
						t.Errorf("sharding Role: statefulsets not limited to %s: %v", workload.Name(), rule)
					}
					for _, v := range verbs {
						if v != "get" && v != "list" && v != "watch" {
							t.Errorf("sharding Role: statefulsets verb %s", v)
						}
					}
				default:
					t.Errorf("sharding Role has an unexpected rule %v", rule)
				}
			}
			rb := one(t, objs, "RoleBinding")
			if render.Str(rb, "roleRef", "name") != role.Name() {
				t.Errorf("RoleBinding refers to %v", render.Get(rb, "roleRef"))
			}
			checkSubject(t, rb, sa)
		})
	}
}

func checkSubject(t *testing.T, binding, sa render.Object) {
	t.Helper()
	subs := render.List(binding, "subjects")
	if len(subs) != 1 || render.Str(subs[0], "kind") != "ServiceAccount" ||
		render.Str(subs[0], "name") != sa.Name() || render.Str(subs[0], "namespace") != sa.Namespace() {
		t.Errorf("%s %s subjects %v, want the ServiceAccount %s/%s", binding.Kind(), binding.Name(), subs, sa.Namespace(), sa.Name())
	}
}

func workload(t *testing.T, objs []render.Object, sharded bool) render.Object {
	t.Helper()
	deps, sts := byKind(objs, "Deployment"), byKind(objs, "StatefulSet")
	if sharded {
		if len(deps) != 0 || len(sts) != 1 {
			t.Fatalf("sharded: want 1 StatefulSet and no Deployment, got %d and %d", len(sts), len(deps))
		}
		return sts[0]
	}
	if len(deps) != 1 || len(sts) != 0 {
		t.Fatalf("want 1 Deployment and no StatefulSet, got %d and %d", len(deps), len(sts))
	}
	return deps[0]
}

func TestWorkload(t *testing.T) {
	for _, name := range workloadRenderings {
		t.Run(name, func(t *testing.T) {
			objs := rendered(t, name)
			sharded := strings.HasSuffix(name, "sharded")
			w := workload(t, objs, sharded)
			pod := render.Map(w, "spec", "template", "spec")
			sa := one(t, objs, "ServiceAccount")
			if render.Str(pod, "serviceAccountName") != sa.Name() {
				t.Errorf("serviceAccountName %q, want %q", render.Str(pod, "serviceAccountName"), sa.Name())
			}
			if render.Get(pod, "securityContext", "runAsNonRoot") != true {
				t.Errorf("pod securityContext.runAsNonRoot is not true")
			}
			if uid, _ := render.Get(pod, "securityContext", "runAsUser").(float64); uid == 0 {
				t.Errorf("pod runs as root (runAsUser %v)", render.Get(pod, "securityContext", "runAsUser"))
			}
			if render.Str(pod, "securityContext", "seccompProfile", "type") != "RuntimeDefault" {
				t.Errorf("pod seccompProfile is not RuntimeDefault")
			}
			if render.Get(pod, "hostNetwork") == true || render.Get(pod, "hostPID") == true {
				t.Errorf("pod uses host namespaces")
			}
			// the selector must match the pod template
			sel := render.Map(w, "spec", "selector", "matchLabels")
			labels := render.Map(w, "spec", "template", "metadata", "labels")
			for k, v := range sel {
				if labels[k] != v {
					t.Errorf("selector %s=%v does not match the pod labels", k, v)
				}
			}

			cs := render.List(pod, "containers")
			if len(cs) != 1 {
				t.Fatalf("want 1 container, got %d", len(cs))
			}
			c := cs[0]
			if img := render.Str(c, "image"); !strings.HasPrefix(img, "ghcr.io/kuadrant/gateway-api-metrics-exporter:") {
				t.Errorf("image %q", img)
			}
			sc := render.Map(c, "securityContext")
			if sc["allowPrivilegeEscalation"] != false || sc["readOnlyRootFilesystem"] != true {
				t.Errorf("container securityContext %v: want allowPrivilegeEscalation false, readOnlyRootFilesystem true", sc)
			}
			if !reflect.DeepEqual(strs(render.List(sc, "capabilities", "drop")), []string{"ALL"}) {
				t.Errorf("container does not drop ALL capabilities: %v", render.Get(sc, "capabilities"))
			}
			if render.Get(sc, "privileged") == true {
				t.Errorf("privileged container")
			}
			if render.Str(c, "livenessProbe", "httpGet", "path") != "/healthz" || render.Get(c, "livenessProbe", "httpGet", "port") != 8080.0 {
				t.Errorf("livenessProbe %v, want GET /healthz on 8080", render.Get(c, "livenessProbe"))
			}
			if render.Str(c, "readinessProbe", "httpGet", "path") != "/readyz" || render.Get(c, "readinessProbe", "httpGet", "port") != 8081.0 {
				t.Errorf("readinessProbe %v, want GET /readyz on 8081", render.Get(c, "readinessProbe"))
			}
			if render.Str(c, "resources", "requests", "cpu") == "" || render.Str(c, "resources", "requests", "memory") == "" ||
				render.Str(c, "resources", "limits", "memory") == "" {
				t.Errorf("resources %v: want cpu/memory requests and a memory limit", render.Get(c, "resources"))
			}
			ports := map[string]float64{}
			for _, p := range render.List(c, "ports") {
				ports[render.Str(p, "name")], _ = render.Get(p, "containerPort").(float64)
			}
			if !reflect.DeepEqual(ports, map[string]float64{"http-metrics": 8080, "telemetry": 8081}) {
				t.Errorf("container ports %v, want http-metrics 8080 and telemetry 8081", ports)
			}
			args := strs(render.List(c, "args"))
			for _, a := range []string{"--port=8080", "--telemetry-port=8081"} {
				if !slices.Contains(args, a) {
					t.Errorf("args %v lack %s", args, a)
				}
			}
			if sharded {
				if r, _ := render.Get(w, "spec", "replicas").(float64); r != 2 {
					t.Errorf("StatefulSet replicas %v, want 2", r)
				}
				for _, a := range []string{"--pod=$(POD_NAME)", "--pod-namespace=$(POD_NAMESPACE)"} {
					if !slices.Contains(args, a) {
						t.Errorf("args %v lack %s", args, a)
					}
				}
				env := map[string]string{}
				for _, e := range render.List(c, "env") {
					env[render.Str(e, "name")] = render.Str(e, "valueFrom", "fieldRef", "fieldPath")
				}
				if env["POD_NAME"] != "metadata.name" || env["POD_NAMESPACE"] != "metadata.namespace" {
					t.Errorf("env %v: want POD_NAME and POD_NAMESPACE from the downward API", env)
				}
			} else {
				for _, a := range args {
					if strings.HasPrefix(a, "--pod") {
						t.Errorf("unsharded workload has %s", a)
					}
				}
			}
		})
	}
}

func TestService(t *testing.T) {
	for _, name := range workloadRenderings {
		t.Run(name, func(t *testing.T) {
			objs := rendered(t, name)
			sharded := strings.HasSuffix(name, "sharded")
			w := workload(t, objs, sharded)
			svc := one(t, objs, "Service")
			labels := render.Map(w, "spec", "template", "metadata", "labels")
			sel := render.Map(svc, "spec", "selector")
			if len(sel) == 0 {
				t.Fatal("Service has no selector")
			}
			for k, v := range sel {
				if labels[k] != v {
					t.Errorf("Service selector %s=%v does not match the pods", k, v)
				}
			}
			ports := map[string]float64{}
			for _, p := range render.List(svc, "spec", "ports") {
				ports[render.Str(p, "name")], _ = render.Get(p, "port").(float64)
				if tp := render.Str(p, "targetPort"); tp != render.Str(p, "name") {
					t.Errorf("Service port %s targets %q", render.Str(p, "name"), tp)
				}
			}
			want := map[string]float64{"http-metrics": 8080, "telemetry": 8081}
			if name == "helm-default" || name == "helm-sharded" {
				// like the kube-state-metrics chart: telemetry only with selfMonitor.enabled
				want = map[string]float64{"http-metrics": 8080}
			}
			if !reflect.DeepEqual(ports, want) {
				t.Errorf("Service ports %v, want %v", ports, want)
			}
			if sharded {
				if render.Str(svc, "spec", "clusterIP") != "None" {
					t.Errorf("sharded Service is not headless")
				}
				if render.Str(w, "spec", "serviceName") != svc.Name() {
					t.Errorf("StatefulSet serviceName %q, want %q", render.Str(w, "spec", "serviceName"), svc.Name())
				}
			}
		})
	}
}

func TestServiceMonitor(t *testing.T) {
	for _, name := range []string{"kustomize-servicemonitor", "helm-full"} {
		t.Run(name, func(t *testing.T) {
			objs := rendered(t, name)
			sm := one(t, objs, "ServiceMonitor")
			svc := one(t, objs, "Service")
			if render.Str(sm, "apiVersion") != "monitoring.coreos.com/v1" {
				t.Errorf("apiVersion %s", render.Str(sm, "apiVersion"))
			}
			svcLabels := render.Map(svc, "metadata", "labels")
			for k, v := range render.Map(sm, "spec", "selector", "matchLabels") {
				if svcLabels[k] != v {
					t.Errorf("ServiceMonitor selector %s=%v does not match the Service", k, v)
				}
			}
			svcPorts := map[string]bool{}
			for _, p := range render.List(svc, "spec", "ports") {
				svcPorts[render.Str(p, "name")] = true
			}
			var eps []string
			for _, ep := range render.List(sm, "spec", "endpoints") {
				port := render.Str(ep, "port")
				eps = append(eps, port)
				if !svcPorts[port] {
					t.Errorf("endpoint port %s is not a Service port", port)
				}
				if render.Get(ep, "honorLabels") != true {
					t.Errorf("endpoint %s: honorLabels is not true", port)
				}
			}
			sort.Strings(eps)
			if !reflect.DeepEqual(eps, []string{"http-metrics", "telemetry"}) {
				t.Errorf("endpoints %v", eps)
			}
		})
	}
	for _, name := range []string{"kustomize-base", "kustomize-sharded", "helm-default", "helm-sharded"} {
		if n := len(byKind(rendered(t, name), "ServiceMonitor")); n != 0 {
			t.Errorf("%s renders %d ServiceMonitors, want none", name, n)
		}
	}
}

// TestHelmFull checks the optional parts of the chart.
func TestHelmFull(t *testing.T) {
	objs := rendered(t, "helm-full")
	sm := one(t, objs, "ServiceMonitor")
	if render.Str(sm, "metadata", "labels", "release") != "kube-prometheus-stack" {
		t.Errorf("ServiceMonitor additionalLabels not applied: %v", render.Get(sm, "metadata", "labels"))
	}
	for _, ep := range render.List(sm, "spec", "endpoints") {
		if render.Str(ep, "interval") != "30s" {
			t.Errorf("endpoint %s: interval %q, want the common 30s", render.Str(ep, "port"), render.Str(ep, "interval"))
		}
		want := ""
		if render.Str(ep, "port") == "http-metrics" {
			want = "25s"
		}
		if render.Str(ep, "scrapeTimeout") != want {
			t.Errorf("endpoint %s: scrapeTimeout %q, want %q", render.Str(ep, "port"), render.Str(ep, "scrapeTimeout"), want)
		}
	}

	// the PrometheusRule carries exactly the groups of deploy/rules/alerts.yaml
	pr := one(t, objs, "PrometheusRule")
	if render.Str(pr, "metadata", "labels", "release") != "kube-prometheus-stack" {
		t.Errorf("PrometheusRule additionalLabels not applied")
	}
	var alerts map[string]any
	if err := yaml.Unmarshal(readRepoFile(t, "deploy/rules/alerts.yaml"), &alerts); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(normalize(t, alerts["groups"]), normalize(t, render.Get(pr, "spec", "groups"))) {
		t.Errorf("the chart's PrometheusRule groups differ from deploy/rules/alerts.yaml")
	}

	// customResourceState: ConfigMap, mount and flag
	cm := one(t, objs, "ConfigMap")
	cfg := render.Str(cm, "data", "config.yaml")
	if !strings.Contains(cfg, "kind: CustomResourceStateMetrics") {
		t.Errorf("CRS ConfigMap data %q", cfg)
	}
	w := workload(t, objs, false)
	c := render.List(w, "spec", "template", "spec", "containers")[0]
	if !slices.Contains(strs(render.List(c, "args")), "--custom-resource-state-config-file=/etc/customresourcestate/config.yaml") {
		t.Errorf("args lack --custom-resource-state-config-file: %v", render.List(c, "args"))
	}
	vols := render.List(w, "spec", "template", "spec", "volumes")
	if len(vols) != 1 || render.Str(vols[0], "configMap", "name") != cm.Name() {
		t.Errorf("volumes %v do not mount ConfigMap %s", vols, cm.Name())
	}
	if render.Str(w, "spec", "template", "metadata", "annotations", "checksum/customresourcestate") == "" {
		t.Errorf("no checksum annotation for the CRS config")
	}

	// rbac.extraRules appended
	cr := one(t, objs, "ClusterRole")
	found := false
	for _, rule := range render.List(cr, "rules") {
		if slices.Contains(strs(render.List(rule, "resources")), "xbackendtrafficpolicies") {
			found = true
		}
	}
	if !found {
		t.Errorf("rbac.extraRules not appended to the ClusterRole")
	}

	// no CRS config by default: the metric set is built in
	for _, name := range []string{"helm-default", "kustomize-base"} {
		for _, o := range rendered(t, name) {
			if o.Kind() == "ConfigMap" {
				t.Errorf("%s renders a ConfigMap; the default metric set is built in", name)
			}
		}
	}
}

func normalize(t *testing.T, v any) any {
	t.Helper()
	data, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := yaml.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHelmValuesFollowKSM checks that values shared with the
// prometheus-community kube-state-metrics chart have the same names.
func TestHelmValuesFollowKSM(t *testing.T) {
	var values map[string]any
	if err := yaml.Unmarshal(readRepoFile(t, filepath.Join(render.ChartPath, "values.yaml")), &values); err != nil {
		t.Fatal(err)
	}
	for _, path := range [][]string{
		{"image", "registry"}, {"image", "repository"}, {"image", "tag"}, {"image", "pullPolicy"},
		{"customResourceState", "enabled"}, {"customResourceState", "config"},
		{"rbac", "create"}, {"rbac", "extraRules"},
		{"prometheus", "monitor", "enabled"}, {"prometheus", "monitor", "additionalLabels"}, {"prometheus", "monitor", "honorLabels"},
		{"securityContext"}, {"containerSecurityContext"}, {"resources"},
		{"selfMonitor", "enabled"}, {"selfMonitor", "telemetryPort"},
		{"replicas"}, {"autosharding", "enabled"},
		{"serviceAccount", "create"}, {"nodeSelector"}, {"tolerations"}, {"affinity"}, {"extraArgs"},
	} {
		m := map[string]any(values)
		for i, k := range path {
			v, ok := m[k]
			if !ok {
				t.Errorf("values.yaml lacks %s", strings.Join(path, "."))
				break
			}
			if i < len(path)-1 {
				m, _ = v.(map[string]any)
			}
		}
	}
}

// TestDashboardsKustomization: one ConfigMap per dashboard, labelled for the
// Grafana sidecar, holding the dashboard JSON unchanged.
func TestDashboardsKustomization(t *testing.T) {
	objs := rendered(t, "dashboards")
	dir := filepath.Join(repoRoot(t), "deploy/dashboards")
	files := loadDashboards(t, dir)
	cms := byKind(objs, "ConfigMap")
	if len(cms) != len(files) {
		t.Errorf("%d ConfigMaps for %d dashboards", len(cms), len(files))
	}
	data := map[string]string{}
	for _, cm := range cms {
		if render.Str(cm, "metadata", "labels", "grafana_dashboard") != "1" {
			t.Errorf("ConfigMap %s lacks the grafana_dashboard label", cm.Name())
		}
		for k, v := range render.Map(cm, "data") {
			data[k], _ = v.(string)
		}
	}
	for _, f := range files {
		want, err := os.ReadFile(filepath.Join(dir, f.name))
		if err != nil {
			t.Fatal(err)
		}
		if data[f.name] != string(want) {
			t.Errorf("no ConfigMap holds %s unchanged", f.name)
		}
	}
}

// TestWriteAll renders every manifest set to files, as the lead's e2e test
// will before applying them to an API server.
func TestWriteAll(t *testing.T) {
	dir := t.TempDir()
	paths, err := render.WriteAll(repoRoot(t), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != len(render.Renderings()) {
		t.Errorf("wrote %d files for %d renderings", len(paths), len(render.Renderings()))
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := render.Objects(data)
		if err != nil || len(objs) == 0 {
			t.Errorf("%s: %d objects, %v", p, len(objs), err)
		}
	}
	if testing.Verbose() {
		fmt.Println("rendered:", strings.Join(paths, " "))
	}
}

// TestHelmLint runs `helm lint` (in-process) on the chart with the default,
// full and sharded values.
func TestHelmLint(t *testing.T) {
	chartDir := filepath.Join(repoRoot(t), render.ChartPath)
	for name, values := range map[string]map[string]any{
		"default": {},
		"full":    render.HelmFullValues(),
		"sharded": render.HelmShardedValues(),
	} {
		t.Run(name, func(t *testing.T) {
			lint := action.NewLint()
			lint.Strict = true
			lint.Namespace = render.HelmNamespace
			kv, err := chartutil.ParseKubeVersion(render.KubeVersion)
			if err != nil {
				t.Fatal(err)
			}
			lint.KubeVersion = kv
			res := lint.Run([]string{chartDir}, values)
			for _, m := range res.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("helm lint: %s", m)
				} else {
					t.Logf("helm lint: %s", m)
				}
			}
			for _, err := range res.Errors {
				t.Errorf("helm lint: %v", err)
			}
		})
	}
}
