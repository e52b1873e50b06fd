// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Command headers puts the license header on every Go file of the
// repository (every module, generated code included) and, with -check,
// lists the files that lack it and fails. `make headers` applies it, `make
// check-headers` (part of `make test`) checks it; it is idempotent, so it
// can be run again after merging branches that add files.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Header is the license header: the SPDX short form, after a copyright line
// without a year (it never needs updating).
const Header = "// Copyright The gateway-api-metrics-exporter Authors\n// SPDX-License-Identifier: Apache-2.0\n"

// skipDirs are not walked: build output, benchmark results, VCS data.
var skipDirs = map[string]bool{".git": true, "bin": true, "bench": true, "node_modules": true}

func main() {
	check := flag.Bool("check", false, "list the Go files without the header and exit 1 if any; change nothing")
	root := flag.String("root", ".", "repository root")
	flag.Parse()
	files, err := goFiles(*root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "headers:", err)
		os.Exit(1)
	}
	var missing []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, "headers:", err)
			os.Exit(1)
		}
		if HasHeader(data) {
			continue
		}
		missing = append(missing, f)
		if !*check {
			if err := os.WriteFile(f, WithHeader(data), 0o644); err != nil {
				fmt.Fprintln(os.Stderr, "headers:", err)
				os.Exit(1)
			}
		}
	}
	switch {
	case *check && len(missing) > 0:
		fmt.Fprintf(os.Stderr, "headers: %d Go files lack the license header (run make headers):\n  %s\n", len(missing), strings.Join(missing, "\n  "))
		os.Exit(1)
	case !*check:
		fmt.Printf("headers: added to %d of %d Go files\n", len(missing), len(files))
	}
}

// goFiles lists the .go files under root, sorted.
func goFiles(root string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && skipDirs[d.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, ".go") && d.Type().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// HasHeader reports whether a Go file starts with the header.
func HasHeader(src []byte) bool { return bytes.HasPrefix(src, []byte(Header)) }

// WithHeader returns src with the header on top, followed by a blank line so
// that it never becomes part of the package's doc comment and a //go:build
// line stays a build constraint (which only comments and blank lines may
// precede).
func WithHeader(src []byte) []byte {
	if HasHeader(src) {
		return src
	}
	out := make([]byte, 0, len(Header)+1+len(src))
	out = append(out, Header...)
	out = append(out, '\n')
	return append(out, src...)
}
