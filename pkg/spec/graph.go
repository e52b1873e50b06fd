// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package spec

import (
	"fmt"
	"slices"
	"strings"
)

// Relation is what a graph family (each.graph, this project's extension)
// reports about an object: something that depends on other objects, computed
// by pkg/graph rather than read from the object's own fields.
type Relation uint8

const (
	NoRelation Relation = iota
	// ParentAttachment: a route's parentRefs, each with its attachment state.
	ParentAttachment
	// EffectivePolicy: the policies that apply to a route, and how.
	EffectivePolicy
	// PolicyCoverage: per policy kind, whether one applies to a route.
	PolicyCoverage
	// BackendRefs: a route's backendRefs, each permitted or not.
	BackendRefs
	// TargetResolved: whether each target of a policy exists.
	TargetResolved
	// ListenerCertificateRefs: a listener's certificateRefs, each permitted
	// or not (Gateway, ListenerSet).
	ListenerCertificateRefs
)

var relationNames = []string{
	ParentAttachment:        "ParentAttachment",
	EffectivePolicy:         "EffectivePolicy",
	PolicyCoverage:          "PolicyCoverage",
	BackendRefs:             "BackendRefs",
	TargetResolved:          "TargetResolved",
	ListenerCertificateRefs: "ListenerCertificateRefs",
}

func (r Relation) String() string {
	if int(r) < len(relationNames) && relationNames[r] != "" {
		return relationNames[r]
	}
	return fmt.Sprintf("Relation(%d)", r)
}

// ParseRelation reads each.graph.
func ParseRelation(s string) (Relation, error) {
	if i := slices.Index(relationNames, s); i > 0 {
		return Relation(i), nil
	}
	return NoRelation, fmt.Errorf("unknown relation %q (want one of %s)", s, strings.Join(relationNames[1:], ", "))
}

// HasGraph reports whether any family of the plan is a graph family: only
// then is the attachment graph built (a kube-state-metrics config never has
// one, so it costs such a config nothing).
func (p *Plan) HasGraph() bool {
	for _, k := range p.Kinds {
		if k.HasGraph() {
			return true
		}
	}
	return false
}

// Renders reports whether a family of the kind is a graph family of
// relation r.
func (k *Kind) Renders(r Relation) bool {
	for _, f := range k.Families {
		if f.Graph == r {
			return true
		}
	}
	return false
}

// HasGraph reports whether any family of the kind is a graph family.
func (k *Kind) HasGraph() bool {
	for _, f := range k.Families {
		if f.Graph != NoRelation {
			return true
		}
	}
	return false
}
