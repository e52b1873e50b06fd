// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package live

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/kuadrant/gateway-api-metrics-exporter/deploy/test/render"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

const fieldManager = "deploy-test"

// appliedObject is one server-side applied object, for deleting it again.
type appliedObject struct {
	ri   dynamic.ResourceInterface
	id   string
	name string
}

// serverSideApply applies objs with applyObject, creating the namespaces
// they name first (as `helm install --create-namespace` does), and deletes
// them again when the test ends.
func serverSideApply(t *testing.T, env *testenv.Env, objs []render.Object) []appliedObject {
	t.Helper()
	return applyAll(t, env, objs, true)
}

// applyAsIs applies objs in their order, as `kubectl apply -f` does, with
// nothing created beforehand: a namespace the objects do not create
// themselves fails the apply.
func applyAsIs(t *testing.T, env *testenv.Env, objs []render.Object) []appliedObject {
	t.Helper()
	return applyAll(t, env, objs, false)
}

// ensureNamespaceOf creates o's namespace if it has one.
func ensureNamespaceOf(ctx context.Context, env *testenv.Env, o render.Object) error {
	if o.Namespace() == "" {
		return nil
	}
	return env.EnsureNamespace(ctx, o.Namespace())
}

func applyAll(t *testing.T, env *testenv.Env, objs []render.Object, createNamespaces bool) []appliedObject {
	t.Helper()
	ctx := context.Background()
	var applied []appliedObject
	t.Cleanup(func() { deleteApplied(t, applied) })
	for _, o := range objs {
		if createNamespaces {
			if err := ensureNamespaceOf(ctx, env, o); err != nil {
				t.Fatal(err)
			}
		}
		a, _, err := applyObject(ctx, env, o, false)
		if err != nil {
			t.Fatal(err)
		}
		if o.Kind() == "Namespace" {
			// Never deleted: without kube-controller-manager's namespace
			// controller a deleted namespace stays Terminating for good, and
			// the tests after this one install into it again.
			continue
		}
		applied = append(applied, a)
	}
	return applied
}

// applyObject server-side applies o with the dynamic client
// (types.ApplyPatchType) and strict field validation: a field the kind's
// schema does not know fails the request instead of being dropped with a
// warning. With dryRun the API server validates, defaults and prunes as for a
// real write and returns the object it would store, but stores nothing. A
// kind the API server does not serve is an error, and so is a namespace that
// does not exist (callers create it first where that is the intent).
func applyObject(ctx context.Context, env *testenv.Env, o render.Object, dryRun bool) (appliedObject, *unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{Object: map[string]any(o)}
	gvk := u.GroupVersionKind()
	m, err := env.RESTMapping(ctx, gvk)
	if err != nil {
		return appliedObject{}, nil, fmt.Errorf("%s %s: %w", gvk.Kind, u.GetName(), err)
	}
	var ri dynamic.ResourceInterface = env.Dynamic().Resource(m.Resource)
	id := gvk.Kind + " " + u.GetName()
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		if u.GetNamespace() == "" {
			return appliedObject{}, nil, fmt.Errorf("%s has no namespace", id)
		}
		ri = env.Dynamic().Resource(m.Resource).Namespace(u.GetNamespace())
		id = gvk.Kind + " " + u.GetNamespace() + "/" + u.GetName()
	}
	data, err := json.Marshal(u.Object)
	if err != nil {
		return appliedObject{}, nil, err
	}
	force := true
	opts := metav1.PatchOptions{FieldManager: fieldManager, Force: &force, FieldValidation: metav1.FieldValidationStrict}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	got, err := ri.Patch(ctx, u.GetName(), types.ApplyPatchType, data, opts)
	if err != nil {
		return appliedObject{}, nil, fmt.Errorf("server-side apply %s: %w", id, err)
	}
	return appliedObject{ri: ri, id: id, name: u.GetName()}, got, nil
}

func deleteApplied(t *testing.T, applied []appliedObject) {
	ctx := context.Background()
	bg := metav1.DeletePropagationBackground
	for i := len(applied) - 1; i >= 0; i-- {
		a := applied[i]
		if err := a.ri.Delete(ctx, a.name, metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete %s: %v", a.id, err)
		}
	}
}

// access is one SelfSubjectAccessReview question.
type access struct {
	verb, group, resource, namespace, name string
}

func (a access) String() string {
	r := a.resource
	if a.group != "" {
		r += "." + a.group
	}
	where := "cluster-wide"
	if a.namespace != "" {
		where = "in " + a.namespace
	}
	return fmt.Sprintf("%s %s %s", a.verb, r, where)
}

func allowed(t *testing.T, cs kubernetes.Interface, a access) bool {
	t.Helper()
	r, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(context.Background(), &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
			Verb: a.verb, Group: a.group, Resource: a.resource, Namespace: a.namespace, Name: a.name,
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("SelfSubjectAccessReview %s: %v", a, err)
	}
	return r.Status.Allowed
}

// waitAllowed polls until the answer for a is want: RBAC objects reach the
// authorizer through an informer.
func waitAllowed(t *testing.T, cs kubernetes.Interface, a access, want bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for allowed(t, cs, a) != want {
		if time.Now().After(deadline) {
			t.Fatalf("after 30s, %s is still allowed=%v", a, !want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// planResources maps every kind of plan to its resource on the API server.
// The spec may name a version the CRD no longer serves (the exporter then
// reads the preferred served version): the group and kind decide.
func planResources(t *testing.T, env *testenv.Env, plan *spec.Plan) []schema.GroupVersionResource {
	t.Helper()
	dc, err := discovery.NewDiscoveryClientForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	groups, err := restmapper.GetAPIGroupResources(dc)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDiscoveryRESTMapper(groups)
	var out []schema.GroupVersionResource
	for _, k := range plan.Kinds {
		gk := schema.GroupKind{Group: k.GVK.Group, Kind: k.GVK.Kind}
		m, err := mapper.RESTMapping(gk, k.GVK.Version)
		if meta.IsNoMatchError(err) {
			m, err = mapper.RESTMapping(gk)
		}
		if err != nil {
			t.Fatalf("kind %s.%s of the default spec is not served by the test API server: %v", k.GVK.Kind, k.GVK.Group, err)
		}
		out = append(out, m.Resource)
	}
	return out
}

func impersonated(env *testenv.Env, user string, groups []string) *rest.Config {
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	return cfg
}

// TestManifestsOnAPIServer server-side applies the kustomize base and the Helm
// chart with its default values to a real API server (one after the other,
// deleting the first before applying the second: they create the same
// objects), then, as their ServiceAccount, runs the exporter (every kind of the
// default spec must be up) and checks that it may not do more than list and
// watch the exported kinds.
func TestManifestsOnAPIServer(t *testing.T) {
	env := testenv.Current(t)
	plan := defaultPlan(t)
	resources := planResources(t, env, plan)
	admin, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range render.Renderings() {
		if r.Name != "kustomize-base" && r.Name != "helm-default" {
			continue
		}
		t.Run(r.Name, func(t *testing.T) {
			data, err := r.Build(repoRoot(t))
			if err != nil {
				t.Fatal(err)
			}
			objs, err := render.Objects(data)
			if err != nil {
				t.Fatal(err)
			}
			var sa render.Object
			for _, o := range objs {
				if o.Kind() == "ServiceAccount" {
					sa = o
				}
			}
			if sa == nil {
				t.Fatal("no ServiceAccount rendered")
			}
			user, groups := serviceAccountUser(sa.Namespace(), sa.Name())
			cfg := impersonated(env, user, groups)
			cs, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			probe := access{verb: "list", group: resources[0].Group, resource: resources[0].Resource}
			// A previous rendering's binding must be gone before this one is judged.
			waitAllowed(t, cs, probe, false)

			// Cleanups run last-in first-out: this one runs after
			// serverSideApply's deletion and waits for the authorizer to see
			// it, so that the next rendering starts from no permissions.
			t.Cleanup(func() { waitAllowed(t, cs, probe, false) })
			if strings.HasPrefix(r.Name, "kustomize-") {
				applyAsIs(t, env, objs) // `kubectl apply -k` creates nothing else
			} else {
				serverSideApply(t, env, objs)
			}
			waitAllowed(t, cs, probe, true)

			// The applied objects are stored as rendered (spot check).
			dep, err := admin.AppsV1().Deployments(sa.Namespace()).List(context.Background(), metav1.ListOptions{})
			if err != nil || len(dep.Items) != 1 || dep.Items[0].Spec.Template.Spec.ServiceAccountName != sa.Name() {
				t.Errorf("stored Deployments: %v, err %v; want one running as %s", len(dep.Items), err, sa.Name())
			}

			t.Run("exporter-as-serviceaccount", func(t *testing.T) {
				kubeconfig := writeKubeconfig(t, env, user, groups)
				x := startExporter(t, "exporter("+r.Name+")", append(slices.Clone(loopbackArgs), "--kubeconfig="+kubeconfig)...)
				body := waitAllUp(t, x, plan, 30*time.Second)
				for _, want := range []string{
					`gatewayapi_gateway_info{`, `name="demo-gateway"`,
					`gatewayapi_httproute_status_parents_conditions{`, `kuadrant_dnsrecord_created{`,
					`gatewayapi_authpolicy_status{`, `gatewayapi_listenerset_info{`,
				} {
					if !strings.Contains(string(body), want) {
						t.Errorf("/metrics lacks %s", want)
					}
				}
				t.Logf("every one of the %d kinds of the default spec has gateway_metrics_up 1 as %s", len(plan.Kinds), user)
			})

			t.Run("least-privilege", func(t *testing.T) {
				for _, gvr := range resources {
					for _, verb := range []string{"list", "watch"} {
						if a := (access{verb: verb, group: gvr.Group, resource: gvr.Resource}); !allowed(t, cs, a) {
							t.Errorf("the ServiceAccount may not %s", a)
						}
					}
					for _, verb := range []string{"get", "create", "update", "patch", "delete", "deletecollection"} {
						if a := (access{verb: verb, group: gvr.Group, resource: gvr.Resource, namespace: testenv.SamplesNamespace}); allowed(t, cs, a) {
							t.Errorf("the ServiceAccount may %s", a)
						}
					}
					if a := (access{verb: "update", group: gvr.Group, resource: gvr.Resource + "/status", namespace: testenv.SamplesNamespace}); allowed(t, cs, a) {
						t.Errorf("the ServiceAccount may %s", a)
					}
				}
				for _, a := range []access{
					{verb: "list", resource: "secrets"},
					{verb: "list", resource: "secrets", namespace: sa.Namespace()},
					{verb: "get", resource: "secrets", namespace: sa.Namespace()},
					{verb: "watch", resource: "secrets"},
					{verb: "create", resource: "configmaps", namespace: sa.Namespace()},
					{verb: "list", resource: "configmaps"},
					{verb: "list", resource: "pods"},
					{verb: "create", resource: "serviceaccounts/token", namespace: sa.Namespace(), name: sa.Name()},
					{verb: "delete", group: "gateway.networking.k8s.io", resource: "httproutes", namespace: testenv.SamplesNamespace},
					{verb: "get", group: "apps", resource: "statefulsets", namespace: sa.Namespace()},
					{verb: "escalate", group: "rbac.authorization.k8s.io", resource: "clusterroles"},
					{verb: "impersonate", resource: "users"},
				} {
					if allowed(t, cs, a) {
						t.Errorf("the ServiceAccount may %s", a)
					}
				}

				// The same, as direct calls (dry-run, so nothing changes should
				// one be allowed after all).
				ctx := context.Background()
				dryRun := []string{metav1.DryRunAll}
				if _, err := cs.CoreV1().Secrets("").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
					t.Errorf("list secrets: err %v, want 403 Forbidden", err)
				}
				if _, err := cs.CoreV1().Secrets(sa.Namespace()).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
					t.Errorf("list secrets in %s: err %v, want 403 Forbidden", sa.Namespace(), err)
				}
				cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "deploy-test", Namespace: sa.Namespace()}}
				if _, err := cs.CoreV1().ConfigMaps(sa.Namespace()).Create(ctx, cm, metav1.CreateOptions{DryRun: dryRun}); !apierrors.IsForbidden(err) {
					t.Errorf("create a ConfigMap: err %v, want 403 Forbidden", err)
				}
				dyn, err := dynamic.NewForConfig(cfg)
				if err != nil {
					t.Fatal(err)
				}
				httproutes := schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}
				if err := dyn.Resource(httproutes).Namespace(testenv.SamplesNamespace).Delete(ctx, "demo-route", metav1.DeleteOptions{DryRun: dryRun}); !apierrors.IsForbidden(err) {
					t.Errorf("delete HTTPRoute %s/demo-route: err %v, want 403 Forbidden", testenv.SamplesNamespace, err)
				}
				// What it may do: list an exported kind.
				if _, err := dyn.Resource(httproutes).List(ctx, metav1.ListOptions{}); err != nil {
					t.Errorf("list httproutes as the ServiceAccount: %v", err)
				}
			})
		})
	}
}

// TestKustomizeBaseOnCleanAPIServer applies deploy/kustomize/base, as
// `kubectl apply -k deploy/kustomize/base` does (the rendered objects in
// their order, nothing created beforehand), to an API server of its own that
// has never seen a namespace monitoring: every object must be created.
func TestKustomizeBaseOnCleanAPIServer(t *testing.T) {
	testenv.Current(t) // skips, or fails in CI, like every test here without the binaries
	ctx := testenv.Context(t)
	env, err := testenv.Start(ctx, testenv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Error(err)
		}
	})
	var base render.Rendering
	for _, r := range render.Renderings() {
		if r.Name == "kustomize-base" {
			base = r
		}
	}
	data, err := base.Build(repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := render.Objects(data)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	namespaces := map[string]bool{}
	for _, o := range objs {
		if o.Namespace() != "" {
			namespaces[o.Namespace()] = true
		}
	}
	for ns := range namespaces {
		if _, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("namespace %s on a fresh API server: err %v, want 404", ns, err)
		}
	}
	applyAsIs(t, env, objs)
	for ns := range namespaces {
		dep, err := cs.AppsV1().Deployments(ns).Get(ctx, "gateway-api-metrics-exporter", metav1.GetOptions{})
		if err != nil {
			t.Errorf("the Deployment in %s: %v", ns, err)
			continue
		}
		t.Logf("%d objects applied to a clean API server; Deployment %s/%s stored", len(objs), dep.Namespace, dep.Name)
	}
}

// TestExporterNeedsOnlyList runs the exporter as a ServiceAccount that may
// only list the kinds of the default spec: no watch, no
// CustomResourceDefinitions, nothing else. Every kind must be up.
func TestExporterNeedsOnlyList(t *testing.T) {
	env := testenv.Current(t)
	plan := defaultPlan(t)
	const ns, name = "deploy-test-list-only", "list-only"
	byGroup := map[string][]any{}
	var groups []string
	for _, gvr := range planResources(t, env, plan) {
		if _, ok := byGroup[gvr.Group]; !ok {
			groups = append(groups, gvr.Group)
		}
		byGroup[gvr.Group] = append(byGroup[gvr.Group], gvr.Resource)
	}
	var rules []any
	for _, g := range groups {
		rules = append(rules, map[string]any{"apiGroups": []any{g}, "resources": byGroup[g], "verbs": []any{"list"}})
	}
	objs := []render.Object{
		{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": map[string]any{"name": name, "namespace": ns}},
		{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": map[string]any{"name": "deploy-test-list-only"}, "rules": rules},
		{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": map[string]any{"name": "deploy-test-list-only"},
			"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "deploy-test-list-only"},
			"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": name, "namespace": ns}}},
	}
	serverSideApply(t, env, objs)
	user, userGroups := serviceAccountUser(ns, name)
	cs, err := kubernetes.NewForConfig(impersonated(env, user, userGroups))
	if err != nil {
		t.Fatal(err)
	}
	last := rules[len(rules)-1].(map[string]any)
	waitAllowed(t, cs, access{verb: "list", group: last["apiGroups"].([]any)[0].(string), resource: byGroup[groups[len(groups)-1]][0].(string)}, true)
	x := startExporter(t, "exporter(list-only)", append(slices.Clone(loopbackArgs), "--kubeconfig="+writeKubeconfig(t, env, user, userGroups))...)
	waitAllUp(t, x, plan, 30*time.Second)
	t.Logf("list alone on the %d kinds suffices: every kind is up without watch or CustomResourceDefinitions access", len(plan.Kinds))
}
