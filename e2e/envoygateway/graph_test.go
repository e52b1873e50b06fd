// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package envoygateway

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/envoygateway"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/harness"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
)

// The attachment graph (METRICS.md) judges from the objects what the
// controller judges from the same objects, where both speak: this file holds
// the graph to Envoy Gateway's verdicts, read back from the API server and
// parsed here, never to the exporter's own output.
//
//   - a parentRef Envoy Gateway accepted (Accepted=True) is Accepted; one it
//     refused (Accepted=False) NotAccepted, but one it refused because the
//     listener does not exist (NoMatchingParent) ParentNotFound; a parentRef
//     to a Gateway that does not exist, for which it writes nothing,
//     ParentNotFound;
//   - a policy target it reports not found (an ancestor with TargetNotFound),
//     or whose policy it wrote nothing for as its target does not exist, has
//     target_resolved 0; the targets of a policy it accepted, 1;
//   - a backend of a route it reports RefNotPermitted (ResolvedRefs=False)
//     is permitted="false"; one in another namespace it resolved, "true".
//
// Where the two do not both speak, the graph goes further and this test does
// not compare: which policies apply through a refused parentRef, and which
// of two policies wins (Envoy Gateway's Overridden): METRICS.md says the
// graph counts policies through every parentRef but ParentNotFound ones, and
// models no precedence.

// graphVerdict is what the controller's statuses mean for one graph sample:
// "parent <route> <ref>", "target <policy> <ref>" or "backend <route> <ref>"
// to its state, target_resolved value or permitted value.
type graphVerdicts map[string]string

// graphFromController derives the graph's expected samples from the
// controller's statuses in st.
func graphFromController(t *testing.T, st state) graphVerdicts {
	t.Helper()
	want := graphVerdicts{}
	exists := func(k kindRef, ns, name string) bool {
		return slices.ContainsFunc(st[k], func(o *unstructured.Unstructured) bool { return o.GetNamespace() == ns && o.GetName() == name })
	}
	for _, k := range []kindRef{httpRouteKind, grpcRouteKind} {
		for _, o := range st[k] {
			route := k.Kind + " " + key(o)
			parents, _, _ := unstructured.NestedSlice(o.Object, "spec", "parentRefs")
			for _, p := range parents {
				ref := p.(map[string]any)
				r := refString(ref, o.GetNamespace(), false)
				var entry map[string]any
				for _, e := range entries(o, "status", "parents") {
					if str(e, "controllerName") == envoygateway.ControllerName && refString(e["parentRef"].(map[string]any), o.GetNamespace(), false) == r {
						entry = e
					}
				}
				ns := str(ref, "namespace")
				if ns == "" {
					ns = o.GetNamespace()
				}
				state := ""
				switch {
				case entry == nil && !exists(gatewayKind, ns, str(ref, "name")):
					state = "ParentNotFound"
				case entry == nil:
					t.Fatalf("%s: Envoy Gateway wrote no status for parentRef %s of an existing Gateway", route, r)
				default:
					for _, c := range condsOf(entry, "conditions") {
						if c.Type != "Accepted" {
							continue
						}
						switch {
						case c.Status == "True":
							state = "Accepted"
						case c.Reason == "NoMatchingParent":
							state = "ParentNotFound"
						default:
							state = "NotAccepted"
						}
					}
				}
				want["parent "+route+" "+r] = state
			}
			// Backends: what ResolvedRefs says of the route's references, on
			// every parent the controller wrote (they agree here).
			refused := false
			for _, e := range entries(o, "status", "parents") {
				for _, c := range condsOf(e, "conditions") {
					refused = refused || c.Type == "ResolvedRefs" && c.Reason == "RefNotPermitted"
				}
			}
			rules, _, _ := unstructured.NestedSlice(o.Object, "spec", "rules")
			for _, rule := range rules {
				backends, _, _ := unstructured.NestedSlice(rule.(map[string]any), "backendRefs")
				for _, b := range backends {
					ref := b.(map[string]any)
					ns := str(ref, "namespace")
					if ns == "" || ns == o.GetNamespace() {
						continue // same namespace: nothing to permit
					}
					v := "true"
					if refused {
						v = "false"
					}
					want["backend "+route+" "+ns+"/"+str(ref, "name")] = v
				}
			}
		}
	}
	for _, k := range policyKinds {
		for _, o := range st[k] {
			policy := k.Kind + " " + key(o)
			notFound := map[string]bool{}
			for _, a := range entries(o, "status", "ancestors") {
				for _, c := range condsOf(a, "conditions") {
					if c.Type == "Accepted" && c.Reason == "TargetNotFound" {
						notFound[refString(a["ancestorRef"].(map[string]any), o.GetNamespace(), false)] = true
					}
				}
			}
			wrote := len(entries(o, "status", "ancestors")) > 0
			targets, _, _ := unstructured.NestedSlice(o.Object, "spec", "targetRefs")
			for _, tr := range targets {
				ref := tr.(map[string]any)
				r := refString(ref, o.GetNamespace(), false)
				v := "1"
				switch {
				case notFound[r]:
					v = "0"
				case !wrote:
					// Nothing written: Envoy Gateway found no target (it
					// writes no TargetNotFound for a missing route).
					v = "0"
				}
				want["target "+policy+" "+str(ref, "kind")+" "+r] = v
			}
		}
	}
	return want
}

// graphServed is what the exporter's graph families say of the same.
func graphServed(t *testing.T, x *harness.Exporter) graphVerdicts {
	t.Helper()
	c := &http.Client{Timeout: 60 * time.Second}
	resp, err := c.Get(x.MetricsURL + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("the body is not valid text exposition: %v", err)
	}
	got := graphVerdicts{}
	for name, mf := range fams {
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			obj := l["customresource_kind"] + " " + l["namespace"] + "/" + l["name"]
			switch {
			case name == "gatewayapi_httproute_parent_attachment" || name == "gatewayapi_grpcroute_parent_attachment":
				if l["state"] == "Stale" {
					got["stale "+obj] = l["parent_name"]
					continue
				}
				ref := l["parent_namespace"] + "/" + l["parent_name"]
				if l["parent_section_name"] != "" {
					ref += "/" + l["parent_section_name"]
				}
				got["parent "+obj+" "+ref] = l["state"]
			case name == "gatewayapi_policy_target_resolved":
				ns := l["target_namespace"]
				if ns == "" {
					ns = l["namespace"]
				}
				ref := ns + "/" + l["target_name"]
				if l["target_section_name"] != "" {
					ref += "/" + l["target_section_name"]
				}
				got["target "+obj+" "+l["target_kind"]+" "+ref] = fmt.Sprint(value(m))
			case (name == "gatewayapi_httproute_backend_ref_info" || name == "gatewayapi_grpcroute_backend_ref_info") && l["backend_namespace"] != l["namespace"]:
				got["backend "+obj+" "+l["backend_namespace"]+"/"+l["backend_name"]] = l["permitted"]
			}
		}
	}
	return got
}

// graphAgrees polls until x's graph families say what the controller's
// statuses, as the API server holds them at that moment, mean for every
// object of the scenario's kinds (a generous bound: watch mode follows
// events, and the controller may still write).
func graphAgrees(t *testing.T, env *testenv.Env, mode string, x *harness.Exporter) {
	t.Helper()
	ctx := testenv.Context(t)
	deadline := time.Now().Add(90 * time.Second)
	for {
		want := graphFromController(t, readState(ctx, t, env))
		got := graphServed(t, x)
		var d []string
		for k, v := range want {
			if got[k] != v {
				d = append(d, fmt.Sprintf("  %s: the controller says %q, the exporter %q", k, v, got[k]))
			}
		}
		for k, v := range got {
			if _, ok := want[k]; !ok {
				d = append(d, fmt.Sprintf("  %s: the exporter says %q, the controller nothing", k, v))
			}
		}
		if len(d) == 0 {
			keys := make([]string, 0, len(want))
			for k := range want {
				keys = append(keys, k+": "+want[k])
			}
			sort.Strings(keys)
			t.Logf("%s mode: the graph agrees with Envoy Gateway on %d verdicts:\n  %s", mode, len(want), strings.Join(keys, "\n  "))
			return
		}
		if time.Now().After(deadline) {
			sort.Strings(d)
			t.Fatalf("%s mode: the attachment graph disagrees with Envoy Gateway:\n%s", mode, strings.Join(d, "\n"))
		}
		time.Sleep(200 * time.Millisecond) // poll interval, not an assertion
	}
}
