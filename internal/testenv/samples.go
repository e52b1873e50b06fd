package testenv

import (
	"bytes"
	"embed"
	"io/fs"
	"sort"
)

// SamplesNamespace is the namespace of the sample objects.
const SamplesNamespace = "demo"

//go:embed samples/*.yaml
var samples embed.FS

// SamplesFS returns the sample objects as an FS whose root holds one *.yaml per kind.
func SamplesFS() fs.FS {
	sub, err := fs.Sub(samples, "samples")
	if err != nil {
		panic(err)
	}
	return sub
}

// Samples returns all sample objects as one multi-document YAML stream (files in
// name order): one object with status per Gateway API kind (v1) and per Kuadrant
// kind, in namespace SamplesNamespace. Pass it to Env.Apply.
func Samples() []byte {
	entries, err := fs.ReadDir(samples, "samples")
	if err != nil {
		panic(err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	var buf bytes.Buffer
	for _, en := range entries {
		b, err := fs.ReadFile(samples, "samples/"+en.Name())
		if err != nil {
			panic(err)
		}
		buf.WriteString("---\n# " + en.Name() + "\n")
		buf.Write(bytes.TrimRight(b, "\n"))
		buf.WriteString("\n")
	}
	return buf.Bytes()
}
