// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package repo finds the repository's root directory, for the tests and
// tools of every module in it (they run in their own package's directory).
package repo

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// MainModule is the module whose directory is the repository root.
const MainModule = "github.com/kuadrant/gateway-api-metrics-exporter"

// Root is the nearest directory at or above the working directory whose
// go.mod declares MainModule.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if modulePath(filepath.Join(dir, "go.mod")) == MainModule {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("repository root (the go.mod of " + MainModule + ") not found at or above the working directory")
		}
		dir = parent
	}
}

// Path is Root joined with rel (slash-separated), or an error naming rel.
func Path(rel string) (string, error) {
	root, err := Root()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, filepath.FromSlash(rel)), nil
}

// ReadFile reads the file at rel (slash-separated) under the root.
func ReadFile(rel string) ([]byte, error) {
	p, err := Path(rel)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}

func modulePath(gomod string) string {
	f, err := os.Open(gomod)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(s.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}
