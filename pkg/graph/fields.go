// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package graph

import "github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"

// AddFields adds to a kind's projection what Extract reads of its objects,
// so that the one decode a LIST or watch event gets serves both the families
// and the graph.
func AddFields(root *objects.Fields, gk GK) {
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
		whole(rules.Child("backendRefs"), "group", "kind", "name", "namespace", "port")
	case Gateway, ListenerSet:
		whole(spec, "parentRef")
		listeners := spec.Child("listeners")
		whole(listeners, "name", "port", "protocol", "allowedRoutes")
		whole(listeners.Child("tls"), "certificateRefs")
	case Grant:
		whole(spec, "from", "to")
	case Policy:
		whole(spec, "targetRef", "targetRefs")
	}
}
