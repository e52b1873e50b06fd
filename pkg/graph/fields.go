// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package graph

import "github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"

// Refs says which references of its own objects a kind renders: a route's
// backendRefs and a listener's certificateRefs feed only the kind's own
// backend_ref_info and listener_certificate_ref_info, so when those are not
// served (backend_ref_info is opt-in) they are not decoded, and the graph
// keeps none (3 Refs and rule labels per route on the benchmark fixture).
type Refs struct{ Backends, Certificates bool }

// AddFields adds to a kind's projection what Extract reads of its objects,
// so that the one decode a LIST or watch event gets serves both the families
// and the graph.
func AddFields(root *objects.Fields, gk GK, refs Refs) {
	spec := root.Child("spec")
	whole := func(f *objects.Fields, keys ...string) {
		for _, k := range keys {
			f.Child(k).All = true
		}
	}
	switch RoleOf(gk) {
	case Route:
		whole(spec, "parentRefs")
		parents := root.Child("status").Child("parents")
		whole(parents, "parentRef")
		whole(parents.Child("conditions"), "type", "status")
		rules := spec.Child("rules")
		whole(rules, "name")
		if refs.Backends {
			whole(rules.Child("backendRefs"), "group", "kind", "name", "namespace", "port")
		}
	case Gateway, ListenerSet:
		whole(spec, "parentRef")
		listeners := spec.Child("listeners")
		whole(listeners, "name", "port", "protocol", "allowedRoutes")
		if refs.Certificates {
			whole(listeners.Child("tls"), "certificateRefs")
		}
	case Grant:
		whole(spec, "from", "to")
	case Policy:
		whole(spec, "targetRef", "targetRefs")
	}
}
