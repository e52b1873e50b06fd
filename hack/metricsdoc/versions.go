// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/version"
	"sigs.k8s.io/yaml"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/testenv"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/source"
)

// demoServed is what the API server of `make run-local` serves (its CRDs:
// testenv.DemoCRDs), as the exporter's discovery sees it: per group and
// kind, the served versions, the group's preferred version first. The
// exporter reads the version a spec kind names where it is served, else the
// preferred one (source.Served.Pick), and labels the samples with it.
func demoServed() (source.Served, error) {
	docs, err := testenv.DemoCRDs("experimental")
	if err != nil {
		return nil, err
	}
	type crd struct {
		Kind string `json:"kind"`
		Spec struct {
			Group string `json:"group"`
			Names struct {
				Kind   string `json:"kind"`
				Plural string `json:"plural"`
			} `json:"names"`
			Scope    string `json:"scope"`
			Versions []struct {
				Name   string `json:"name"`
				Served bool   `json:"served"`
			} `json:"versions"`
		} `json:"spec"`
	}
	var crds []crd
	groupVersions := map[string]map[string]bool{}
	for _, d := range docs {
		var c crd
		if err := yaml.Unmarshal(d, &c); err != nil {
			return nil, err
		}
		if c.Kind != "CustomResourceDefinition" {
			continue
		}
		crds = append(crds, c)
		for _, v := range c.Spec.Versions {
			if v.Served {
				if groupVersions[c.Spec.Group] == nil {
					groupVersions[c.Spec.Group] = map[string]bool{}
				}
				groupVersions[c.Spec.Group][v.Name] = true
			}
		}
	}
	// The API server prefers a group's highest version in Kubernetes' order
	// (v1 > v1beta1 > v1alpha2 ...) among those its CRDs serve.
	preferred := map[string]string{}
	for g, vs := range groupVersions {
		var list []string
		for v := range vs {
			list = append(list, v)
		}
		sort.Slice(list, func(i, j int) bool { return version.CompareKubeAwareVersionStrings(list[i], list[j]) > 0 })
		preferred[g] = list[0]
	}
	served := source.Served{}
	for _, c := range crds {
		k := source.Key(c.Spec.Group, c.Spec.Names.Kind)
		for _, v := range c.Spec.Versions {
			if !v.Served {
				continue
			}
			r := source.Resource{Group: c.Spec.Group, Version: v.Name, Kind: c.Spec.Names.Kind, Plural: c.Spec.Names.Plural, Namespaced: c.Spec.Scope == "Namespaced"}
			if v.Name == preferred[c.Spec.Group] {
				served[k] = append([]source.Resource{r}, served[k]...)
			} else {
				served[k] = append(served[k], r)
			}
		}
	}
	return served, nil
}

// readAs sets obj's apiVersion to the version the exporter reads its kind at
// for a spec that names declared.
func readAs(served source.Served, obj map[string]any, declared string) error {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	group, _, ok := strings.Cut(apiVersion, "/")
	if !ok {
		return fmt.Errorf("%s %v: apiVersion %q without a group", kind, obj["metadata"], apiVersion)
	}
	r, ok := served.Pick(group, declared, kind)
	if !ok {
		return fmt.Errorf("the demo control plane serves no %s.%s", kind, group)
	}
	obj["apiVersion"] = group + "/" + r.Version
	return nil
}
