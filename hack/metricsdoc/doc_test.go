package main

import (
	"os"
	"testing"
)

// METRICS.md is generated; this fails when it and metrics-spec disagree.
func TestMetricsDocInSync(t *testing.T) {
	want, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../METRICS.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatal("METRICS.md is out of date with metrics-spec/: run `make docs`")
	}
}
