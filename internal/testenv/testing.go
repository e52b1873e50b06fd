// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package testenv

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Context is a context for one test's API calls, ended with the test.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

var nonDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// Namespace is the test's own namespace, prefix-<test name>, a valid DNS
// label. Nothing deletes namespaces: every package run gets a fresh API server.
func Namespace(t testing.TB, prefix string) string {
	n := prefix + "-" + nonDNS.ReplaceAllString(strings.ToLower(strings.TrimPrefix(t.Name(), "Test")), "-")
	if len(n) > 63 {
		n = strings.TrimRight(n[:63], "-")
	}
	return n
}

// ApplyYAML creates the objects of a YAML stream in ns, with ${NS} replaced by
// ns, and sets their status (Apply); it fails the test on error.
func (e *Env) ApplyYAML(t testing.TB, ns, yaml string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := e.Apply(Context(t), ns, []byte(strings.ReplaceAll(yaml, "${NS}", ns)))
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return objs
}
