// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package repo

import (
	"os"
	"path/filepath"
	"testing"
)

// The root is found from a package directory and from a nested module's (a
// go.mod of another module on the way up is passed over).
func TestRoot(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "repo", "repo.go")); err != nil {
		t.Fatalf("Root() = %s, which does not hold this package: %v", root, err)
	}
	t.Chdir(filepath.Join(root, "deploy", "test", "render"))
	if got, err := Root(); err != nil || got != root {
		t.Errorf("from deploy/test/render (module deploy/test): Root() = %q, %v; want %q", got, err, root)
	}
	t.Chdir(t.TempDir())
	if got, err := Root(); err == nil {
		t.Errorf("outside the repository: Root() = %q, want an error", got)
	}
}
