// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package envoygateway

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/envoygateway"
	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
)

// verdicts is the controller's judgement of every object, one line per
// status entry: "<Kind> <ns>/<name> <where>: <Type>=<Status>(<Reason>) ...",
// <where> being "" (the object's own conditions), "listener <name>",
// "parent <ns>/<name>[/<section>]" or "ancestor <Kind> <ns>/<name>[/<section>]",
// conditions in type order; "<Kind> <ns>/<name>: no status" for an object the
// controller wrote nothing for. It also reports whether every condition the
// controller wrote observed the object's current generation.
func verdicts(st state) (lines []string, current bool) {
	current = true
	line := func(k kindRef, o *unstructured.Unstructured, where string, cs []cond) string {
		sort.Slice(cs, func(i, j int) bool { return cs[i].Type < cs[j].Type })
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s", k.Kind, key(o))
		if where != "" {
			b.WriteString(" " + where)
		}
		b.WriteString(":")
		for _, c := range cs {
			fmt.Fprintf(&b, " %s=%s(%s)", c.Type, c.Status, c.Reason)
			if c.ObservedGeneration == nil || *c.ObservedGeneration != o.GetGeneration() {
				current = false
			}
		}
		return b.String()
	}
	for _, k := range append([]kindRef{gatewayClassKind, gatewayKind, httpRouteKind, grpcRouteKind}, policyKinds...) {
		for _, o := range st[k] {
			n := len(lines)
			if cs := condsOf(o.Object, "status", "conditions"); len(cs) > 0 {
				lines = append(lines, line(k, o, "", cs))
			}
			for _, ls := range entries(o, "status", "listeners") {
				lines = append(lines, line(k, o, "listener "+str(ls, "name"), condsOf(ls, "conditions")))
			}
			for _, p := range entries(o, "status", "parents") {
				if str(p, "controllerName") != envoygateway.ControllerName {
					continue
				}
				ref := p["parentRef"].(map[string]any)
				lines = append(lines, line(k, o, "parent "+refString(ref, o.GetNamespace(), false), condsOf(p, "conditions")))
			}
			for _, a := range entries(o, "status", "ancestors") {
				if str(a, "controllerName") != envoygateway.ControllerName {
					continue
				}
				ref := a["ancestorRef"].(map[string]any)
				lines = append(lines, line(k, o, "ancestor "+refString(ref, o.GetNamespace(), true), condsOf(a, "conditions")))
			}
			if len(lines) == n {
				lines = append(lines, fmt.Sprintf("%s %s: no status", k.Kind, key(o)))
			}
		}
	}
	sort.Strings(lines)
	return lines, current
}

func key(o *unstructured.Unstructured) string {
	if o.GetNamespace() == "" {
		return o.GetName()
	}
	return o.GetNamespace() + "/" + o.GetName()
}

func refString(ref map[string]any, defaultNS string, withKind bool) string {
	ns := str(ref, "namespace")
	if ns == "" {
		ns = defaultNS
	}
	s := ns + "/" + str(ref, "name")
	if sec := str(ref, "sectionName"); sec != "" {
		s += "/" + sec
	}
	if p := str(ref, "port"); p != "" {
		s += ":" + p
	}
	if withKind {
		s = str(ref, "kind") + " " + s
	}
	return s
}

// awaitVerdicts polls the API server until the controller's verdicts are
// exactly want (written by hand from the Gateway API's and Envoy Gateway's
// documented semantics for the scenario) and every condition it wrote
// observed its object's current generation; it returns the state then.
func awaitVerdicts(t *testing.T, env *testenv.Env, phase string, want []string) state {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	want = append([]string(nil), want...)
	sort.Strings(want)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st := readState(ctx, t, env)
		got, current := verdicts(st)
		if current && strings.Join(got, "\n") == strings.Join(want, "\n") {
			t.Logf("%s: the controller's verdicts:\n  %s", phase, strings.Join(got, "\n  "))
			return st
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, l := range want {
				if !contains(got, l) {
					fmt.Fprintf(&b, "  missing:    %s\n", l)
				}
			}
			for _, l := range got {
				if !contains(want, l) {
					fmt.Fprintf(&b, "  unexpected: %s\n", l)
				}
			}
			t.Fatalf("%s: the controller's verdicts (current generations: %v) are not the expected ones:\n%s\nall:\n  %s",
				phase, current, b.String(), strings.Join(got, "\n  "))
		}
		time.Sleep(200 * time.Millisecond) // poll interval, not an assertion
	}
}

func contains(lines []string, l string) bool {
	for _, x := range lines {
		if x == l {
			return true
		}
	}
	return false
}
