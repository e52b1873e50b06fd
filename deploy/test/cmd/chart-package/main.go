// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Command chart-package packages the Helm chart for a release, with Helm's
// library (no helm binary, no network): Chart.yaml's version becomes the
// release's semantic version without its "v" (Helm's convention for chart
// versions) and appVersion the release tag itself, which is also the image
// tag the chart pulls by default (image.tag empty). `make release` runs it:
//
//	go run ./cmd/chart-package -chart ../helm/gateway-api-metrics-exporter -version v1.2.3 -out ../../bin/release
//
// and it prints the path of the .tgz it wrote.
package main

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
)

// SemVer is a release tag: v, then a semantic version (semver.org 2.0.0).
var SemVer = regexp.MustCompile(`^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-(0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(\.(0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*)?(\+[0-9a-zA-Z-]+(\.[0-9a-zA-Z-]+)*)?$`)

func main() {
	chartDir := flag.String("chart", "", "the chart's directory")
	version := flag.String("version", "", "the release tag, vMAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]")
	out := flag.String("out", ".", "directory to write the .tgz to")
	flag.Parse()
	path, err := pkg(*chartDir, *version, *out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chart-package:", err)
		os.Exit(1)
	}
	fmt.Println(path)
}

func pkg(chartDir, version, out string) (string, error) {
	if !SemVer.MatchString(version) {
		return "", fmt.Errorf("version %q is not a release tag vMAJOR.MINOR.PATCH (semver.org)", version)
	}
	chrt, err := loader.Load(chartDir)
	if err != nil {
		return "", err
	}
	chrt.Metadata.Version = strings.TrimPrefix(version, "v")
	chrt.Metadata.AppVersion = version
	if err := chrt.Validate(); err != nil {
		return "", err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	return chartutil.Save(chrt, out)
}
