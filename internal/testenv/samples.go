// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package testenv

import (
	"bytes"
	"embed"
	"io/fs"
	"sort"
)

// SamplesNamespace is the namespace of the sample objects.
const SamplesNamespace = "demo"

//go:embed samples/*.yaml samples/kuadrant-newer/*.yaml samples/experimental/*.yaml
var samples embed.FS

// SamplesFS returns the sample objects as an FS whose root holds one *.yaml per kind.
func SamplesFS() fs.FS {
	sub, err := fs.Sub(samples, "samples")
	if err != nil {
		panic(err)
	}
	return sub
}

// Samples returns the sample objects as one multi-document YAML stream (files in
// name order): one object with status per Gateway API kind of the standard
// channel (v1) and per Kuadrant kind of InstallKuadrantCRDs, in namespace
// SamplesNamespace, with every field the embedded metrics-spec reads. Pass it
// to Env.Apply.
func Samples() []byte { return yamlStream("samples") }

// KuadrantNewerSamples are the sample objects of Kuadrant's kinds whose CRDs
// InstallNewerKuadrantCRDs installs (the Kuadrant instance,
// TokenRateLimitPolicy, the extensions.kuadrant.io policies), in namespace
// SamplesNamespace.
func KuadrantNewerSamples() []byte { return yamlStream("samples/kuadrant-newer") }

// ExperimentalSamples are the sample objects of the Gateway API experimental
// channel's kinds (XBackendTrafficPolicy, XBackend, XMesh).
func ExperimentalSamples() []byte { return yamlStream("samples/experimental") }

// AllSamples is Samples, KuadrantNewerSamples and ExperimentalSamples: one
// object of every kind of the embedded metrics-spec (METRICS.md's examples
// are rendered from them).
func AllSamples() []byte {
	return bytes.Join([][]byte{Samples(), KuadrantNewerSamples(), ExperimentalSamples()}, nil)
}

func yamlStream(dir string) []byte {
	entries, err := fs.ReadDir(samples, dir)
	if err != nil {
		panic(err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	var buf bytes.Buffer
	for _, en := range entries {
		if en.IsDir() {
			continue
		}
		b, err := fs.ReadFile(samples, dir+"/"+en.Name())
		if err != nil {
			panic(err)
		}
		buf.WriteString("---\n# " + en.Name() + "\n")
		buf.Write(bytes.TrimRight(b, "\n"))
		buf.WriteString("\n")
	}
	return buf.Bytes()
}
