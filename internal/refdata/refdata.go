// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package refdata locates the project's reference data: real
// kube-state-metrics output, the old gateway-api-state-metrics configs,
// manifests and dashboards. It is not in the repository; it lives in
// ../shared beside the clone (SHARED_DIR overrides).
//
// The tests that read it are the compatibility proofs, so they must not pass
// by skipping where it matters: with CI set (true or 1) missing data fails the
// test; elsewhere the test is skipped with a message naming what is missing.
package refdata

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kuadrant/gateway-api-metrics-exporter/internal/repo"
)

// InCI reports whether CI is true or 1: there, tests that cannot run for a
// missing dependency fail instead of skipping.
func InCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1"
}

// Dir is the reference-data folder: $SHARED_DIR, else ../shared beside the
// repository root (found above the working directory).
func Dir() (string, error) {
	if dir := os.Getenv("SHARED_DIR"); dir != "" {
		return dir, nil
	}
	root, err := repo.Root()
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(root), "shared"), nil
}

// Require returns Dir after checking that every rel exists under it. When one
// is missing the test fails in CI and is skipped elsewhere.
func Require(t testing.TB, rel ...string) string {
	t.Helper()
	dir, err := find(rel)
	if err != nil {
		missing(t, err)
	}
	return dir
}

// Optional is Require for a test that also checks things without the data:
// it returns false (after logging why) instead of skipping. In CI missing data
// still fails the test.
func Optional(t testing.TB, rel ...string) (string, bool) {
	t.Helper()
	dir, err := find(rel)
	if err != nil {
		if InCI() {
			missing(t, err)
		}
		t.Logf("reference data not available, checking less: %v", err)
		return "", false
	}
	return dir, true
}

func missing(t testing.TB, err error) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI is set, so the reference data is required: %v", err)
	}
	t.Skipf("skipping: %v (with CI set this fails)", err)
}

func find(rel []string) (string, error) {
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	for _, r := range rel {
		if _, err := os.Stat(filepath.Join(dir, r)); err != nil {
			return "", fmt.Errorf("%s not found (the reference data lives in ../shared beside the clone; SHARED_DIR overrides)", filepath.Join(dir, r))
		}
	}
	if len(rel) == 0 {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return "", fmt.Errorf("reference data folder %s not found (../shared beside the clone; SHARED_DIR overrides)", dir)
		}
	}
	return dir, nil
}
