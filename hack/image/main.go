// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Command image builds the exporter's container image without a Docker
// engine: a multi-arch OCI image index written as an OCI image layout
// (index.json, oci-layout, blobs/sha256/...), from binaries built beforehand
// (see the Makefile's image target).
//
//	go run . -out ../../bin/image -binary linux/amd64=../../bin/linux-amd64/gateway-api-metrics-exporter \
//	    -binary linux/arm64=... -version v1.2.3 -revision <sha> -created 2026-01-02T03:04:05Z
//
// Each platform's image is two layers on nothing (scratch):
//   - base: /etc/passwd and /etc/group with root, nobody and nonroot (65532),
//     /etc/ssl/certs/ca-certificates.crt, /home/nonroot and /tmp, as
//     distroless static has them;
//   - the static binary at /usr/local/bin/gateway-api-metrics-exporter.
//
// The CA bundle is Mozilla's root set as golang.org/x/crypto/x509roots/fallback
// ships it (pinned in go.mod), not the build machine's file, so that the same
// commit gives the same digests everywhere. Every timestamp is -created (the
// commit's time); nothing depends on the clock, the user or file order.
package main

import (
	"archive/tar"
	"bytes"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// Paths and identity inside the image; the Dockerfile uses the same.
const (
	BinaryPath = "/usr/local/bin/gateway-api-metrics-exporter"
	User       = "65532:65532"
	CABundle   = "/etc/ssl/certs/ca-certificates.crt"
)

// Label names (OCI image-spec annotations, used as config labels).
const (
	LabelSource   = "org.opencontainers.image.source"
	LabelVersion  = "org.opencontainers.image.version"
	LabelRevision = "org.opencontainers.image.revision"
	LabelCreated  = "org.opencontainers.image.created"
	LabelTitle    = "org.opencontainers.image.title"
	LabelLicenses = "org.opencontainers.image.licenses"
	RefName       = "org.opencontainers.image.ref.name"
)

// Config is what an image is built from.
type Config struct {
	// Binaries by platform ("linux/amd64"): paths of static binaries.
	Binaries map[string]string
	Version  string
	Revision string
	Source   string
	Created  time.Time
}

type binaryFlag map[string]string

func (b binaryFlag) String() string { return fmt.Sprint(map[string]string(b)) }
func (b binaryFlag) Set(s string) error {
	platform, path, ok := strings.Cut(s, "=")
	if !ok || !strings.HasPrefix(platform, "linux/") {
		return fmt.Errorf("want linux/ARCH=PATH, got %q", s)
	}
	b[platform] = path
	return nil
}

func main() {
	cfg := Config{Binaries: map[string]string{}}
	out := flag.String("out", "bin/image", "directory of the OCI image layout to write (replaced)")
	flag.Var(binaryFlag(cfg.Binaries), "binary", "linux/ARCH=PATH of a static binary (repeat per platform)")
	flag.StringVar(&cfg.Version, "version", "", "image version (label and ref name)")
	flag.StringVar(&cfg.Revision, "revision", "", "source revision (label)")
	flag.StringVar(&cfg.Source, "source", "https://github.com/kuadrant/gateway-api-metrics-exporter", "source repository (label)")
	created := flag.String("created", "", "RFC 3339 time stamped on every file and the config (the commit's time)")
	flag.Parse()
	t, err := time.Parse(time.RFC3339, *created)
	if err != nil {
		fail(fmt.Errorf("-created: %w", err))
	}
	cfg.Created = t.UTC()
	idx, err := Build(cfg)
	if err != nil {
		fail(err)
	}
	if err := Write(*out, idx, cfg.Version); err != nil {
		fail(err)
	}
	d, _ := idx.Digest()
	fmt.Printf("wrote %s: index %s\n", *out, d)
	m, _ := idx.IndexManifest()
	for _, desc := range m.Manifests {
		fmt.Printf("  %s/%s %s\n", desc.Platform.OS, desc.Platform.Architecture, desc.Digest)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "image:", err)
	os.Exit(1)
}

// Build assembles the multi-arch index. Platforms are added in sorted order.
func Build(cfg Config) (v1.ImageIndex, error) {
	if len(cfg.Binaries) == 0 {
		return nil, errors.New("no -binary given")
	}
	if cfg.Version == "" || cfg.Revision == "" || cfg.Created.IsZero() {
		return nil, errors.New("-version, -revision and -created are required")
	}
	base, err := baseLayer(cfg.Created)
	if err != nil {
		return nil, err
	}
	platforms := make([]string, 0, len(cfg.Binaries))
	for p := range cfg.Binaries {
		platforms = append(platforms, p)
	}
	sort.Strings(platforms)

	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range platforms {
		arch := strings.TrimPrefix(p, "linux/")
		bin, err := os.ReadFile(cfg.Binaries[p])
		if err != nil {
			return nil, err
		}
		binLayer, err := layer(cfg.Created, []file{
			{name: "usr/", mode: 0o755, dir: true},
			{name: "usr/local/", mode: 0o755, dir: true},
			{name: "usr/local/bin/", mode: 0o755, dir: true},
			{name: strings.TrimPrefix(BinaryPath, "/"), mode: 0o755, data: bin},
		})
		if err != nil {
			return nil, err
		}
		img, err := image(cfg, arch, base, binLayer)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		platform := &v1.Platform{OS: "linux", Architecture: arch}
		if arch == "arm64" {
			platform.Variant = "v8"
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: platform},
		})
	}
	return mutate.Annotations(idx, labels(cfg)).(v1.ImageIndex), nil
}

func labels(cfg Config) map[string]string {
	return map[string]string{
		LabelSource:   cfg.Source,
		LabelVersion:  cfg.Version,
		LabelRevision: cfg.Revision,
		LabelCreated:  cfg.Created.Format(time.RFC3339),
		LabelTitle:    "gateway-api-metrics-exporter",
		LabelLicenses: "Apache-2.0",
	}
}

func image(cfg Config, arch string, layers ...v1.Layer) (v1.Image, error) {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	var adds []mutate.Addendum
	for _, l := range layers {
		adds = append(adds, mutate.Addendum{Layer: l, MediaType: types.OCILayer,
			History: v1.History{Created: v1.Time{Time: cfg.Created}, CreatedBy: "hack/image"}})
	}
	img, err := mutate.Append(img, adds...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	if arch == "arm64" {
		cf.Variant = "v8"
	}
	cf.Created = v1.Time{Time: cfg.Created}
	cf.Author = ""
	cf.Config = v1.Config{
		User:       User,
		Entrypoint: []string{BinaryPath},
		// 8080: /metrics /healthz /livez /   8081 (telemetry): /metrics /readyz /
		Cmd:          []string{"--port=8080", "--telemetry-port=8081"},
		Env:          []string{"PATH=/usr/local/bin:/usr/bin:/bin", "SSL_CERT_FILE=" + CABundle},
		WorkingDir:   "/",
		ExposedPorts: map[string]struct{}{"8080/tcp": {}, "8081/tcp": {}},
		Labels:       labels(cfg),
	}
	return mutate.ConfigFile(img, cf)
}

// Write replaces dir with an OCI image layout whose index.json has one entry:
// the multi-arch index, named by version (so that `crane push DIR REF` pushes
// the index, and `skopeo copy --all oci:DIR:VERSION ...` finds it).
func Write(dir string, idx v1.ImageIndex, version string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendIndex(idx, layout.WithAnnotations(map[string]string{RefName: version}))
}

type file struct {
	name     string
	mode     int64
	uid, gid int
	dir      bool
	data     []byte
}

func baseLayer(created time.Time) (v1.Layer, error) {
	var certs bytes.Buffer
	for root := range bundle.Roots() {
		if err := pem.Encode(&certs, &pem.Block{Type: "CERTIFICATE", Bytes: root.Certificate}); err != nil {
			return nil, err
		}
	}
	return layer(created, []file{
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/group", mode: 0o644, data: []byte("root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n")},
		{name: "etc/passwd", mode: 0o644, data: []byte(
			"root:x:0:0:root:/root:/sbin/nologin\n" +
				"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n" +
				"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{name: "etc/ssl/", mode: 0o755, dir: true},
		{name: "etc/ssl/certs/", mode: 0o755, dir: true},
		{name: strings.TrimPrefix(CABundle, "/"), mode: 0o644, data: certs.Bytes()},
		{name: "home/", mode: 0o755, dir: true},
		{name: "home/nonroot/", mode: 0o700, uid: 65532, gid: 65532, dir: true},
		{name: "tmp/", mode: 0o1777, dir: true},
	})
}

// layer is a gzipped tar of files, in the order given, all stamped created.
func layer(created time.Time, files []file) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, Uid: f.uid, Gid: f.gid, ModTime: created, Format: tar.FormatPAX}
		if f.dir {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
}
