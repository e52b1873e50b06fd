// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package deploytest

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/kuadrant/gateway-api-metrics-exporter/deploy/test/render"
)

// makeRelease runs `make release` in the repository with args and returns
// its combined output and error.
func makeRelease(t *testing.T, args ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("skipping: no make")
	}
	cmd := exec.Command("make", append([]string{"--no-print-directory", "-C", repoRoot(t), "release"}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestReleaseRefusesNonSemver: make release refuses a VERSION that is not a
// release tag, before building anything.
func TestReleaseRefusesNonSemver(t *testing.T) {
	dir := t.TempDir()
	for _, v := range []string{"1.2.3", "v1.2", "latest", "v1.2.3-", "v01.2.3", "9195b74-dirty"} {
		out, err := makeRelease(t, "VERSION="+v, "RELEASE_DIR="+dir)
		if err == nil || !strings.Contains(out, "is not a release tag") {
			t.Errorf("VERSION=%s: err %v, output:\n%s", v, err, out)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a refused release wrote %d files", len(entries))
	}
}

// TestRelease runs `make release VERSION=v9.8.7-rc.1` (amd64 only, to keep
// it short) into a temp dir: the packaged chart's version, appVersion and
// default image tag, the image's version label and ref name, and the
// binary's --version all say that version; nothing says latest.
func TestRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping in -short: builds the binary and the image")
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("skipping: runs the linux/amd64 binary it builds")
	}
	const version = "v9.8.7-rc.1"
	dir := t.TempDir()
	out, err := makeRelease(t, "VERSION="+version, "RELEASE_DIR="+dir, "IMAGE_PLATFORMS=linux/amd64")
	if err != nil {
		t.Fatalf("make release: %v\n%s", err, out)
	}

	// The chart.
	tgz := filepath.Join(dir, "gateway-api-metrics-exporter-9.8.7-rc.1.tgz")
	chrt, err := loader.Load(tgz)
	if err != nil {
		t.Fatalf("the packaged chart: %v\n%s", err, out)
	}
	if chrt.Metadata.Version != "9.8.7-rc.1" || chrt.Metadata.AppVersion != version {
		t.Errorf("Chart.yaml version %q appVersion %q, want 9.8.7-rc.1 and %s", chrt.Metadata.Version, chrt.Metadata.AppVersion, version)
	}
	if tag, _ := chrt.Values["image"].(map[string]any)["tag"].(string); tag != "" {
		t.Errorf("values image.tag %q: the default must be the appVersion", tag)
	}
	manifest, err := render.Helm(tgz, "r", render.HelmNamespace, nil)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := render.Objects(manifest)
	if err != nil {
		t.Fatal(err)
	}
	_, c := containerOf(t, objs)
	if img := render.Str(c, "image"); img != "ghcr.io/kuadrant/gateway-api-metrics-exporter:"+version {
		t.Errorf("the packaged chart's default image is %s", img)
	}
	if strings.Contains(string(manifest), "latest") {
		t.Errorf("the packaged chart renders 'latest' somewhere")
	}

	// The image layout: one index, the platform's manifest, its config.
	blob := func(digest string) []byte {
		t.Helper()
		algo, hex, _ := strings.Cut(digest, ":")
		data, err := os.ReadFile(filepath.Join(dir, "image", "blobs", algo, hex))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	type descriptor struct {
		MediaType   string            `json:"mediaType"`
		Digest      string            `json:"digest"`
		Annotations map[string]string `json:"annotations"`
		Platform    *struct {
			OS, Architecture string
		} `json:"platform"`
	}
	var layout struct{ Manifests []descriptor }
	data, err := os.ReadFile(filepath.Join(dir, "image", "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &layout); err != nil || len(layout.Manifests) != 1 {
		t.Fatalf("index.json: %v, %d entries", err, len(layout.Manifests))
	}
	if ref := layout.Manifests[0].Annotations["org.opencontainers.image.ref.name"]; ref != version {
		t.Errorf("the layout's ref name is %q, want %s", ref, version)
	}
	var index struct{ Manifests []descriptor }
	if err := json.Unmarshal(blob(layout.Manifests[0].Digest), &index); err != nil || len(index.Manifests) != 1 {
		t.Fatalf("image index: %v, %d manifests", err, len(index.Manifests))
	}
	var manifestDoc struct{ Config descriptor }
	if err := json.Unmarshal(blob(index.Manifests[0].Digest), &manifestDoc); err != nil {
		t.Fatal(err)
	}
	var config struct {
		Architecture string
		Config       struct{ Labels map[string]string }
	}
	if err := json.Unmarshal(blob(manifestDoc.Config.Digest), &config); err != nil {
		t.Fatal(err)
	}
	if config.Architecture != "amd64" || config.Config.Labels["org.opencontainers.image.version"] != version ||
		config.Config.Labels["org.opencontainers.image.licenses"] != "Apache-2.0" {
		t.Errorf("image config: architecture %s, labels %v", config.Architecture, config.Config.Labels)
	}

	// The binary.
	bin := filepath.Join(dir, "gateway-api-metrics-exporter-linux-amd64")
	got, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(got), "gateway-api-metrics-exporter, version "+version+" ") {
		t.Errorf("%s --version: %v\n%s", bin, err, got)
	}
	sums, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	if err != nil || !strings.Contains(string(sums), "gateway-api-metrics-exporter-linux-amd64") {
		t.Errorf("SHA256SUMS: %v\n%s", err, sums)
	}
}
