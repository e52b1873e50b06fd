// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package envoygateway

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/envoygateway"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/harness"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
)

// ---- the objects, as the API server holds them ----

const gwGroup = "gateway.networking.k8s.io"

// kindRef is a kind the test reads back: its resource and the labels the
// exporter gives its families.
type kindRef struct {
	Group, Version, Kind, Resource string
	Namespaced                     bool
}

func (k kindRef) gvr() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: k.Group, Version: k.Version, Resource: k.Resource}
}

var (
	gatewayClassKind = kindRef{gwGroup, "v1", "GatewayClass", "gatewayclasses", false}
	gatewayKind      = kindRef{gwGroup, "v1", "Gateway", "gateways", true}
	httpRouteKind    = kindRef{gwGroup, "v1", "HTTPRoute", "httproutes", true}
	grpcRouteKind    = kindRef{gwGroup, "v1", "GRPCRoute", "grpcroutes", true}
	// Envoy Gateway's Policy Attachment kinds (served as the discovered
	// gatewayapi_policy_* families). The scenario has objects of the first
	// three; the others are read too, so that a line for them would show.
	policyKinds = []kindRef{
		{envoygateway.PolicyGroup, "v1alpha1", "ClientTrafficPolicy", "clienttrafficpolicies", true},
		{envoygateway.PolicyGroup, "v1alpha1", "BackendTrafficPolicy", "backendtrafficpolicies", true},
		{envoygateway.PolicyGroup, "v1alpha1", "SecurityPolicy", "securitypolicies", true},
		{envoygateway.PolicyGroup, "v1alpha1", "EnvoyExtensionPolicy", "envoyextensionpolicies", true},
		{envoygateway.PolicyGroup, "v1alpha1", "EnvoyPatchPolicy", "envoypatchpolicies", true},
	}
)

// state is every object of the kinds above, as listed from the API server.
type state map[kindRef][]*unstructured.Unstructured

func readState(ctx context.Context, t *testing.T, env *testenv.Env) state {
	t.Helper()
	st := state{}
	for _, k := range append([]kindRef{gatewayClassKind, gatewayKind, httpRouteKind, grpcRouteKind}, policyKinds...) {
		l, err := env.Dynamic().Resource(k.gvr()).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatalf("list %s: %v", k.Resource, err)
		}
		for i := range l.Items {
			st[k] = append(st[k], &l.Items[i])
		}
	}
	return st
}

// cond is one status condition.
type cond struct {
	Type, Status, Reason, Message, LastTransitionTime string
	ObservedGeneration                                *int64
}

func condsOf(m map[string]any, path ...string) []cond {
	raw, _, _ := unstructured.NestedSlice(m, path...)
	var out []cond
	for _, r := range raw {
		c, _ := r.(map[string]any)
		if c == nil {
			continue
		}
		x := cond{}
		x.Type, _ = c["type"].(string)
		x.Status, _ = c["status"].(string)
		x.Reason, _ = c["reason"].(string)
		x.Message, _ = c["message"].(string)
		x.LastTransitionTime, _ = c["lastTransitionTime"].(string)
		if og, ok := c["observedGeneration"].(int64); ok {
			x.ObservedGeneration = &og
		}
		out = append(out, x)
	}
	return out
}

func entries(o *unstructured.Unstructured, path ...string) []map[string]any {
	raw, _, _ := unstructured.NestedSlice(o.Object, path...)
	var out []map[string]any
	for _, r := range raw {
		if m, ok := r.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func str(m map[string]any, path ...string) string {
	v, found, _ := unstructured.NestedFieldNoCopy(m, path...)
	if !found || v == nil {
		return ""
	}
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	default:
		return fmt.Sprint(x)
	}
}

// ---- the lines the controller's statuses mean, written by the test ----

// samples maps a series (name{labels}, labels sorted, empty ones dropped:
// Prometheus does not tell an empty label from a missing one) to its value.
type samples map[string]float64

func seriesKey(name string, labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k, v := range labels {
		if v != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", k, labels[k])
	}
	b.WriteByte('}')
	return b.String()
}

func with(base map[string]string, kv ...string) map[string]string {
	m := make(map[string]string, len(base)+len(kv)/2)
	for k, v := range base {
		m[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// condFamilies are the three families of a list of conditions: the value
// (1 when True, 0 otherwise, as kube-state-metrics reads "False" and
// "Unknown"), its observedGeneration and its lastTransitionTime in Unix
// seconds.
// condFamilies are the families of one list of conditions: each
// condition's status, observedGeneration and lastTransitionTime (the last two
// opt-in), and the entry's lowest observedGeneration (entry).
type condFamilies struct{ value, observed, transition, entry string }

func (s samples) addConds(t *testing.T, f condFamilies, labels map[string]string, conds []cond) {
	t.Helper()
	lowest, found := int64(0), false
	for _, c := range conds {
		if c.ObservedGeneration != nil && (!found || *c.ObservedGeneration < lowest) {
			lowest, found = *c.ObservedGeneration, true
		}
	}
	if found {
		s[seriesKey(f.entry, labels)] = float64(lowest)
	}
	for _, c := range conds {
		l := with(labels, "type", c.Type)
		v := 0.0
		if c.Status == "True" {
			v = 1
		}
		s[seriesKey(f.value, l)] = v
		if c.ObservedGeneration != nil {
			s[seriesKey(f.observed, l)] = float64(*c.ObservedGeneration)
		}
		if c.LastTransitionTime != "" {
			ts, err := time.Parse(time.RFC3339, c.LastTransitionTime)
			if err != nil {
				t.Fatalf("lastTransitionTime %q: %v", c.LastTransitionTime, err)
			}
			s[seriesKey(f.transition, l)] = float64(ts.Unix())
		}
	}
}

func familiesOf(prefix, entry string) condFamilies {
	return condFamilies{prefix, prefix + "_observed_generation", prefix + "_last_transition_time", entry}
}

var (
	gatewayClassConds = condFamilies{"gatewayapi_gatewayclass_status", "gatewayapi_gatewayclass_status_condition_observed_generation", "gatewayapi_gatewayclass_status_condition_last_transition_time", "gatewayapi_gatewayclass_status_observed_generation"}
	gatewayConds      = condFamilies{"gatewayapi_gateway_status", "gatewayapi_gateway_status_condition_observed_generation", "gatewayapi_gateway_status_condition_last_transition_time", "gatewayapi_gateway_status_observed_generation"}
	listenerConds     = familiesOf("gatewayapi_gateway_status_listeners_conditions", "gatewayapi_gateway_status_listeners_observed_generation")
	httpRouteConds    = familiesOf("gatewayapi_httproute_status_parents_conditions", "gatewayapi_httproute_status_parents_observed_generation")
	grpcRouteConds    = familiesOf("gatewayapi_grpcroute_status_parents_conditions", "gatewayapi_grpcroute_status_parents_observed_generation")
	ancestorConds     = familiesOf("gatewayapi_policy_ancestor_condition", "gatewayapi_policy_ancestor_observed_generation")
	policyConds       = familiesOf("gatewayapi_policy_status_condition", "gatewayapi_policy_status_observed_generation")
)

const (
	attachedRoutesFamily    = "gatewayapi_gateway_status_listener_attached_routes"
	addressFamily           = "gatewayapi_gateway_status_address_info"
	supportedFeaturesFamily = "gatewayapi_gatewayclass_status_supported_features"
)

// checkedFamilies are the families compared whole: every line the exporter
// serves in them must be one the test derived from the controller's
// statuses, and the reverse.
var checkedFamilies = func() []string {
	var out []string
	for _, f := range []condFamilies{gatewayClassConds, gatewayConds, listenerConds, httpRouteConds, grpcRouteConds, ancestorConds, policyConds} {
		out = append(out, f.value, f.observed, f.transition, f.entry)
	}
	return append(out, attachedRoutesFamily, addressFamily, supportedFeaturesFamily)
}()

// versions is the version the exporter reads each kind at (group/kind ->
// version), from its gateway_metrics_up lines: the spec's, which for
// kube-state-metrics compatibility is v1beta1 for Gateway, GatewayClass and
// HTTPRoute where served. The statuses are the same at every version.
type versions map[string]string

func common(vs versions, k kindRef, o *unstructured.Unstructured) map[string]string {
	l := map[string]string{
		"customresource_group": k.Group, "customresource_kind": k.Kind, "customresource_version": vs[k.Group+"/"+k.Kind],
		"name": o.GetName(),
	}
	if k.Namespaced {
		l["namespace"] = o.GetNamespace()
	}
	return l
}

// expected is what the exporter must serve in checkedFamilies for st.
func expected(t *testing.T, st state, vs versions) samples {
	t.Helper()
	s := samples{}
	for _, o := range st[gatewayClassKind] {
		l := common(vs, gatewayClassKind, o)
		s.addConds(t, gatewayClassConds, l, condsOf(o.Object, "status", "conditions"))
		for _, f := range entries(o, "status", "supportedFeatures") {
			s[seriesKey(supportedFeaturesFamily, with(l, "features", str(f, "name")))] = 1
		}
	}
	for _, o := range st[gatewayKind] {
		l := common(vs, gatewayKind, o)
		s.addConds(t, gatewayConds, l, condsOf(o.Object, "status", "conditions"))
		for _, a := range entries(o, "status", "addresses") {
			s[seriesKey(addressFamily, with(l, "type", str(a, "type"), "value", str(a, "value")))] = 1
		}
		for _, ls := range entries(o, "status", "listeners") {
			ll := with(l, "listener_name", str(ls, "name"))
			if n, err := strconv.ParseFloat(str(ls, "attachedRoutes"), 64); err == nil {
				s[seriesKey(attachedRoutesFamily, ll)] = n
			}
			s.addConds(t, listenerConds, ll, condsOf(ls, "conditions"))
		}
	}
	for _, rk := range []struct {
		k kindRef
		f condFamilies
	}{{httpRouteKind, httpRouteConds}, {grpcRouteKind, grpcRouteConds}} {
		for _, o := range st[rk.k] {
			l := common(vs, rk.k, o)
			for _, p := range entries(o, "status", "parents") {
				pl := with(l, "controller_name", str(p, "controllerName"),
					"parent_group", str(p, "parentRef", "group"), "parent_kind", str(p, "parentRef", "kind"),
					"parent_name", str(p, "parentRef", "name"), "parent_namespace", str(p, "parentRef", "namespace"),
					"parent_section_name", str(p, "parentRef", "sectionName"), "parent_port", str(p, "parentRef", "port"))
				s.addConds(t, rk.f, pl, condsOf(p, "conditions"))
			}
		}
	}
	for _, k := range policyKinds {
		for _, o := range st[k] {
			l := with(common(vs, k, o), "policy_group", k.Group, "policy_kind", k.Kind)
			s.addConds(t, policyConds, l, condsOf(o.Object, "status", "conditions"))
			for _, a := range entries(o, "status", "ancestors") {
				al := with(l, "controller_name", str(a, "controllerName"),
					"ancestor_group", str(a, "ancestorRef", "group"), "ancestor_kind", str(a, "ancestorRef", "kind"),
					"ancestor_name", str(a, "ancestorRef", "name"), "ancestor_namespace", str(a, "ancestorRef", "namespace"),
					"ancestor_section_name", str(a, "ancestorRef", "sectionName"))
				s.addConds(t, ancestorConds, al, condsOf(a, "conditions"))
			}
		}
	}
	return s
}

// ---- what the exporter serves ----

// served scrapes x and returns its samples in checkedFamilies, parsed by
// Prometheus' own text parser, and its gateway_metrics_up lines (group/kind ->
// value) with the versions they name.
func served(t *testing.T, x *harness.Exporter) (samples, map[string]float64, versions) {
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
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d\n%s", resp.StatusCode, body)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("the body is not valid text exposition: %v", err)
	}
	s, up, vs := samples{}, map[string]float64{}, versions{}
	for name, mf := range fams {
		if name != "gateway_metrics_up" && !slices.Contains(checkedFamilies, name) {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			v := value(m)
			if name == "gateway_metrics_up" {
				up[l["group"]+"/"+l["kind"]] = v
				vs[l["group"]+"/"+l["kind"]] = l["version"]
				continue
			}
			k := seriesKey(name, l)
			if _, dup := s[k]; dup {
				t.Errorf("duplicate series %s", k)
			}
			s[k] = v
		}
	}
	return s, up, vs
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	default:
		return m.GetUntyped().GetValue()
	}
}

// diff lists what want has and got lacks or has otherwise, and what got has
// beyond want.
func diff(got, want samples) string {
	var b strings.Builder
	keys := make([]string, 0, len(want)+len(got))
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		w, inW := want[k]
		g, inG := got[k]
		switch {
		case inW && !inG:
			fmt.Fprintf(&b, "  missing:    %s %v\n", k, w)
		case !inW && inG:
			fmt.Fprintf(&b, "  unexpected: %s %v\n", k, g)
		case g != w:
			fmt.Fprintf(&b, "  value:      %s %v, want %v\n", k, g, w)
		}
	}
	return b.String()
}

// agree polls until x serves exactly what the controller's statuses, as the
// API server holds them at that moment, mean (a generous bound: watch mode
// follows events, and the controller may still write).
func agree(t *testing.T, env *testenv.Env, mode string, x *harness.Exporter) samples {
	t.Helper()
	ctx := testenv.Context(t)
	deadline := time.Now().Add(90 * time.Second)
	for {
		st := readState(ctx, t, env)
		got, up, vs := served(t, x)
		// Every kind read is up (a watch-mode kind is down until its first
		// list has arrived; a policy kind is up once discovered).
		var down []string
		for _, k := range append([]kindRef{gatewayClassKind, gatewayKind, httpRouteKind, grpcRouteKind}, policyKinds[:3]...) {
			if up[k.Group+"/"+k.Kind] != 1 {
				down = append(down, fmt.Sprintf("%s (gateway_metrics_up %v)", k.Kind, up[k.Group+"/"+k.Kind]))
			}
		}
		want := expected(t, st, vs)
		d := diff(got, want)
		if d == "" && len(down) == 0 {
			return want
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s mode: the exporter does not serve what the controller wrote (%d lines, want %d; kinds not up: %v):\n%s", mode, len(got), len(want), down, d)
		}
		time.Sleep(200 * time.Millisecond) // poll interval, not an assertion
	}
}
