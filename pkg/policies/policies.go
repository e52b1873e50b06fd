// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package policies finds the Policy Attachment kinds (GEP-713) that a cluster
// serves, from its CustomResourceDefinitions, and gives every kind that the
// spec does not declare the one generic set of families of families.yaml.
package policies

import (
	_ "embed"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/version"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// Label marks a CRD as a policy (GEP-713: value "Direct" or "Inherited").
const Label = "gateway.networking.k8s.io/policy"

//go:embed families.yaml
var familiesYAML []byte

// template is families.yaml compiled once; every discovered kind shares its
// (immutable) families.
var template = mustTemplate()

func mustTemplate() *spec.Kind {
	plan, _, err := spec.Load("pkg/policies/families.yaml", familiesYAML)
	if err != nil || len(plan.Kinds) != 1 {
		panic(fmt.Sprintf("pkg/policies/families.yaml: %v", err))
	}
	k := plan.Kinds[0]
	// policy_group and policy_kind are the group and kind actually read, as
	// the engine fills customresource_group/kind.
	for _, f := range k.Families {
		for i := range f.Common {
			switch f.Common[i].Name {
			case "policy_group":
				f.Common[i].GVK = spec.GVKGroup
			case "policy_kind":
				f.Common[i].GVK = spec.GVKKind
			}
		}
	}
	return k
}

// Template is the compiled families.yaml, for documentation.
func Template() *spec.Kind { return template }

// CRD is a policy kind found in a CustomResourceDefinition.
type CRD struct {
	Name                         string // the CRD's name, plural.group
	Group, Version, Kind, Plural string
	Namespaced                   bool
	// Why says what made it a policy: the GEP-713 label, or its schema.
	Why string
}

// Detect reports whether a CustomResourceDefinition (apiextensions.k8s.io/v1,
// as decoded JSON) defines a policy: it carries the GEP-713 label, or a
// served version's schema has spec.targetRef or spec.targetRefs and
// status.ancestors or status.conditions. Version is the served version to
// read, the highest by Kubernetes' version ordering (what discovery prefers).
func Detect(crd map[string]any) (CRD, bool) {
	md, _ := crd["metadata"].(map[string]any)
	sp, _ := crd["spec"].(map[string]any)
	names, _ := sp["names"].(map[string]any)
	c := CRD{}
	c.Name, _ = md["name"].(string)
	c.Group, _ = sp["group"].(string)
	c.Kind, _ = names["kind"].(string)
	c.Plural, _ = names["plural"].(string)
	c.Namespaced = sp["scope"] == "Namespaced"
	if c.Group == "" || c.Kind == "" || c.Plural == "" {
		return c, false
	}
	var served []map[string]any
	versions, _ := sp["versions"].([]any)
	for _, v := range versions {
		if vm, ok := v.(map[string]any); ok && vm["served"] == true {
			if name, _ := vm["name"].(string); name != "" {
				served = append(served, vm)
			}
		}
	}
	if len(served) == 0 {
		return c, false
	}
	sort.SliceStable(served, func(i, j int) bool {
		return version.CompareKubeAwareVersionStrings(served[i]["name"].(string), served[j]["name"].(string)) > 0
	})
	c.Version = served[0]["name"].(string)

	labels, _ := md["labels"].(map[string]any)
	if v, ok := labels[Label].(string); ok {
		c.Why = "label " + Label + "=" + v
		return c, true
	}
	for _, v := range served {
		if policyShape(v) {
			c.Why = "schema of " + v["name"].(string)
			return c, true
		}
	}
	return c, false
}

// Fields is the projection of a CustomResourceDefinition that Detect and the
// watcher read: its name, policy label, group, scope and names, each
// version's name and served flag and whether its schema has the properties
// that make a policy (as empty maps: their own schemas are skipped), and its
// conditions' types and statuses. A CRD's schemas are nearly all its bytes
// (a megabyte for Envoy Gateway's EnvoyProxy); read through this projection
// they are skipped as the JSON is read, never decoded.
func Fields() *objects.Fields { return crdFields }

var crdFields = func() *objects.Fields {
	f := &objects.Fields{}
	md := f.Child("metadata")
	md.Child("name").All = true
	md.Child("labels").Child(Label).All = true
	sp := f.Child("spec")
	sp.Child("group").All = true
	sp.Child("scope").All = true
	sp.Child("names").Child("kind").All = true
	sp.Child("names").Child("plural").All = true
	v := sp.Child("versions") // a list: its elements are read with this
	v.Child("name").All = true
	v.Child("served").All = true
	root := v.Child("schema").Child("openAPIV3Schema").Child("properties")
	for _, k := range []string{"targetRef", "targetRefs"} {
		root.Child("spec").Child("properties").Child(k)
	}
	for _, k := range []string{"ancestors", "conditions"} {
		root.Child("status").Child("properties").Child(k)
	}
	c := f.Child("status").Child("conditions")
	c.Child("type").All = true
	c.Child("status").All = true
	return f.Compile()
}()

func policyShape(v map[string]any) bool {
	root := props(objects.Dig(v, "schema", "openAPIV3Schema"))
	s, st := props(root["spec"]), props(root["status"])
	return (s["targetRef"] != nil || s["targetRefs"] != nil) && (st["ancestors"] != nil || st["conditions"] != nil)
}

func props(schema any) map[string]any {
	p, _ := objects.Dig(schema, "properties").(map[string]any)
	return p
}

// Kinds makes one spec kind per policy CRD that plan does not declare (a kind
// declared at any version, or a "*" kind of its group, keeps its declared
// families and nothing more). keep is what the flags serve (the opt-in list,
// --metric-allowlist/denylist; nil: keep all); a kind left without families
// is not read at all. Graph families come only with a plan that has some: a
// kube-state-metrics config builds no graph. The result is sorted by group
// and kind.
func Kinds(crds []CRD, plan *spec.Plan, keep func(*spec.Family) bool) []*spec.Kind {
	declared := map[string]bool{}
	for _, k := range plan.Kinds {
		declared[k.GVK.Group+"/"+k.GVK.Kind] = true
	}
	families := template.Families
	if graph := plan.HasGraph(); keep != nil || !graph {
		families = nil
		for _, f := range template.Families {
			if (keep == nil || keep(f)) && (graph || f.Graph == spec.NoRelation) {
				families = append(families, f)
			}
		}
	}
	if len(families) == 0 {
		return nil
	}
	var out []*spec.Kind
	seen := map[string]bool{}
	for _, c := range crds {
		key := c.Group + "/" + c.Kind
		if declared[key] || declared[c.Group+"/*"] || seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, &spec.Kind{
			GVK:        spec.GroupVersionKind{Group: c.Group, Version: c.Version, Kind: c.Kind},
			Plural:     c.Plural,
			Families:   families,
			File:       "discovered CRD " + c.Name + " (" + c.Why + ")",
			Line:       template.Line,
			Discovered: true,
		})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].GVK, out[j].GVK
		if a.Group != b.Group {
			return a.Group < b.Group
		}
		return a.Kind < b.Kind
	})
	return out
}
