// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"archive/tar"
	"bytes"
	"crypto/x509"
	"debug/elf"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// The layout under test is the one `make image` wrote (make test-image sets
// IMAGE_LAYOUT); every expectation below is written from the spec of the
// image in main.go's comment and the issue, not read back from the layout.
func layoutDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("IMAGE_LAYOUT")
	if dir == "" {
		t.Skip("IMAGE_LAYOUT not set: run `make test-image`, which builds bin/image first")
	}
	return dir
}

func TestLayout(t *testing.T) {
	dir := layoutDir(t)

	// oci-layout and index.json as the image-spec asks.
	raw, err := os.ReadFile(filepath.Join(dir, "oci-layout"))
	if err != nil {
		t.Fatal(err)
	}
	var ol struct {
		Version string `json:"imageLayoutVersion"`
	}
	if err := json.Unmarshal(raw, &ol); err != nil || ol.Version != "1.0.0" {
		t.Errorf("oci-layout: %s (%v)", raw, err)
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	tm, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(tm.Manifests) != 1 || tm.Manifests[0].MediaType != types.OCIImageIndex {
		t.Fatalf("index.json must hold exactly one multi-arch index (crane push pushes it as is), got %+v", tm.Manifests)
	}
	ref := tm.Manifests[0].Annotations[RefName]
	if ref == "" {
		t.Errorf("index.json entry has no %s (skopeo's oci:DIR:TAG)", RefName)
	}
	idx, err := top.ImageIndex(tm.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	// Every blob is there, with the digest and size its descriptor says.
	if err := validate.Index(idx); err != nil {
		t.Fatalf("validate: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}

	var platforms []string
	for _, d := range im.Manifests {
		platforms = append(platforms, d.Platform.String())
		if d.MediaType != types.OCIManifestSchema1 {
			t.Errorf("%s: media type %s", d.Platform, d.MediaType)
		}
	}
	sort.Strings(platforms)
	if want := []string{"linux/amd64", "linux/arm64/v8"}; strings.Join(platforms, " ") != strings.Join(want, " ") {
		t.Errorf("platforms %v, want %v", platforms, want)
	}

	version, revision := im.Annotations[LabelVersion], im.Annotations[LabelRevision]
	if version == "" || len(revision) != 40 || version != ref {
		t.Errorf("index annotations: version %q (ref name %q), revision %q", version, ref, revision)
	}

	var amd64Binary []byte
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		bin := checkImage(t, img, d.Platform, version, revision)
		if d.Platform.Architecture == "amd64" {
			amd64Binary = bin
		}
		t.Logf("%s: %s", d.Platform, d.Digest)
	}

	// The amd64 binary, taken out of its layer, runs and tells the version
	// the labels say.
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skipf("cannot run a linux/amd64 binary on %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	if amd64Binary == nil {
		t.Fatal("no amd64 binary")
	}
	exe := filepath.Join(t.TempDir(), "gateway-api-metrics-exporter")
	if err := os.WriteFile(exe, amd64Binary, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(exe, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("--version: %v\n%s", err, out)
	}
	first := strings.SplitN(string(out), "\n", 2)[0]
	if want := "gateway-api-metrics-exporter, version " + version + " ("; !strings.HasPrefix(first, want) ||
		!strings.Contains(first, "revision: "+revision+")") {
		t.Errorf("--version says %q; want version %s and revision %s", first, version, revision)
	}
	if !strings.Contains(string(out), "platform:         linux/amd64") {
		t.Errorf("--version:\n%s", out)
	}
}

// checkImage checks one platform's config and files and returns its binary.
func checkImage(t *testing.T, img v1.Image, platform *v1.Platform, version, revision string) []byte {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	name := platform.String()
	if cf.OS != "linux" || cf.Architecture != platform.Architecture {
		t.Errorf("%s: config says %s/%s", name, cf.OS, cf.Architecture)
	}
	c := cf.Config
	if c.User != "65532:65532" {
		t.Errorf("%s: user %q, want 65532:65532 (nonroot)", name, c.User)
	}
	if strings.Join(c.Entrypoint, " ") != "/usr/local/bin/gateway-api-metrics-exporter" {
		t.Errorf("%s: entrypoint %q", name, c.Entrypoint)
	}
	if strings.Join(c.Cmd, " ") != "--port=8080 --telemetry-port=8081" {
		t.Errorf("%s: cmd %q", name, c.Cmd)
	}
	for _, port := range []string{"8080/tcp", "8081/tcp"} {
		if _, ok := c.ExposedPorts[port]; !ok {
			t.Errorf("%s: port %s not exposed", name, port)
		}
	}
	wantLabels := map[string]string{
		"org.opencontainers.image.source":   "https://github.com/kuadrant/gateway-api-metrics-exporter",
		"org.opencontainers.image.version":  version,
		"org.opencontainers.image.revision": revision,
	}
	for k, v := range wantLabels {
		if c.Labels[k] != v {
			t.Errorf("%s: label %s=%q, want %q", name, k, c.Labels[k], v)
		}
	}

	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]*tarEntry{}
	for _, l := range layers {
		if mt, _ := l.MediaType(); mt != types.OCILayer {
			t.Errorf("%s: layer media type %s", name, mt)
		}
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		readTar(t, rc, files)
		rc.Close()
	}
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	want := []string{
		"etc/", "etc/group", "etc/passwd", "etc/ssl/", "etc/ssl/certs/", "etc/ssl/certs/ca-certificates.crt",
		"home/", "home/nonroot/", "tmp/",
		"usr/", "usr/local/", "usr/local/bin/", "usr/local/bin/gateway-api-metrics-exporter",
	}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("%s: files\n%v\nwant\n%v", name, names, want)
	}
	created := cf.Created.Time
	for n, e := range files {
		if !e.modTime.Equal(created) {
			t.Errorf("%s: %s stamped %s, not the image's created time %s", name, n, e.modTime, created)
		}
	}
	if e := files["etc/passwd"]; e == nil || !strings.Contains(string(e.data), "\nnonroot:x:65532:65532:") {
		t.Errorf("%s: /etc/passwd has no nonroot 65532", name)
	}
	if e := files["home/nonroot/"]; e == nil || e.uid != 65532 {
		t.Errorf("%s: /home/nonroot not owned by 65532", name)
	}
	if e := files["tmp/"]; e == nil || e.mode&0o1777 != 0o1777 {
		t.Errorf("%s: /tmp is not world-writable and sticky", name)
	}
	if e := files["etc/ssl/certs/ca-certificates.crt"]; e == nil || countCerts(t, e.data) < 100 {
		t.Errorf("%s: CA bundle missing or has fewer than 100 certificates", name)
	}

	bin := files["usr/local/bin/gateway-api-metrics-exporter"]
	if bin == nil {
		return nil
	}
	if bin.mode&0o111 == 0 {
		t.Errorf("%s: binary mode %o is not executable", name, bin.mode)
	}
	checkELF(t, name, bin.data, platform.Architecture)
	return bin.data
}

type tarEntry struct {
	mode    int64
	uid     int
	modTime time.Time
	data    []byte
}

func readTar(t *testing.T, r io.Reader, into map[string]*tarEntry) {
	t.Helper()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		into[h.Name] = &tarEntry{mode: h.Mode, uid: h.Uid, modTime: h.ModTime, data: data}
	}
}

func countCerts(t *testing.T, data []byte) int {
	t.Helper()
	n := 0
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			t.Errorf("CA bundle: %v", err)
		}
		n++
	}
	return n
}

// checkELF: a Linux executable for the platform, statically linked (no
// program interpreter: scratch has no libc).
func checkELF(t *testing.T, name string, data []byte, arch string) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Errorf("%s: binary is not ELF: %v", name, err)
		return
	}
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[arch]
	if f.Machine != want {
		t.Errorf("%s: binary machine %s, want %s", name, f.Machine, want)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s: binary is dynamically linked", name)
		}
	}
}

// The same inputs give the same digests: rebuilding from the binaries and
// metadata found in the layout reproduces the layout's index digest.
func TestReproducible(t *testing.T) {
	dir := layoutDir(t)
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	tm, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	idx, err := top.ImageIndex(tm.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	created, err := time.Parse(time.RFC3339, im.Annotations[LabelCreated])
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Binaries: map[string]string{}, Version: im.Annotations[LabelVersion],
		Revision: im.Annotations[LabelRevision], Source: im.Annotations[LabelSource], Created: created}
	tmp := t.TempDir()
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		layers, _ := img.Layers()
		files := map[string]*tarEntry{}
		for _, l := range layers {
			rc, err := l.Uncompressed()
			if err != nil {
				t.Fatal(err)
			}
			readTar(t, rc, files)
			rc.Close()
		}
		path := filepath.Join(tmp, d.Platform.Architecture)
		if err := os.WriteFile(path, files["usr/local/bin/gateway-api-metrics-exporter"].data, 0o755); err != nil {
			t.Fatal(err)
		}
		cfg.Binaries["linux/"+d.Platform.Architecture] = path
	}
	again, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := again.Digest()
	if got != tm.Manifests[0].Digest {
		t.Errorf("rebuilt index %s, layout has %s", got, tm.Manifests[0].Digest)
	}
	out := filepath.Join(tmp, "layout")
	if err := Write(out, again, cfg.Version); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"index.json", "oci-layout"} {
		a, _ := os.ReadFile(filepath.Join(dir, f))
		b, _ := os.ReadFile(filepath.Join(out, f))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs after a rebuild", f)
		}
	}
}

// Bad input is refused with a reason.
func TestBuildRefusesIncompleteInput(t *testing.T) {
	if _, err := Build(Config{}); err == nil || !strings.Contains(err.Error(), "no -binary") {
		t.Errorf("no binaries: %v", err)
	}
	cfg := Config{Binaries: map[string]string{"linux/amd64": "/nonexistent"}, Version: "v1", Revision: "r"}
	if _, err := Build(cfg); err == nil || !strings.Contains(err.Error(), "-created") {
		t.Errorf("no created: %v", err)
	}
	cfg.Created = time.Unix(0, 0)
	if _, err := Build(cfg); err == nil || !strings.Contains(err.Error(), "/nonexistent") {
		t.Errorf("missing binary: %v", err)
	}
	if err := (binaryFlag{}).Set("amd64"); err == nil {
		t.Error("-binary amd64 accepted")
	}
}

// The image name the Makefile pushes is the one the manifests pull.
func TestImageReferencesMatch(t *testing.T) {
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join("..", "..", p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	const name = "ghcr.io/kuadrant/gateway-api-metrics-exporter"
	if !strings.Contains(read("Makefile"), "IMAGE           ?= "+name+"\n") {
		t.Errorf("Makefile IMAGE is not %s", name)
	}
	for _, f := range []string{"deploy/kustomize/base/kustomization.yaml", "deploy/kustomize/base/deployment.yaml",
		"deploy/kustomize/overlays/sharded/kustomization.yaml", "deploy/kustomize/overlays/sharded/statefulset.yaml"} {
		if !strings.Contains(read(f), name+"\n") {
			t.Errorf("%s does not reference %s", f, name)
		}
	}
	values := read("deploy/helm/gateway-api-metrics-exporter/values.yaml")
	if !strings.Contains(values, "  registry: ghcr.io\n  repository: kuadrant/gateway-api-metrics-exporter\n") {
		t.Errorf("Helm values image.registry/repository do not make %s", name)
	}
}
