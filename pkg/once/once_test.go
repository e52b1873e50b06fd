// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package once

import (
	"fmt"
	"testing"
)

func TestFirstForgetAndBound(t *testing.T) {
	s := New(3)
	if first, _ := s.First("a"); !first {
		t.Fatal("a is new")
	}
	if first, _ := s.First("a"); first {
		t.Fatal("a again is not new")
	}
	s.First("k/1")
	s.First("k/2")
	first, full := s.First("d")
	if first || !full {
		t.Fatalf("past the bound: first=%v full=%v, want false true", first, full)
	}
	if _, full := s.First("e"); full {
		t.Fatal("full is reported once")
	}
	s.ForgetPrefix("k/")
	if s.Len() != 1 {
		t.Fatalf("len = %d after ForgetPrefix, want 1", s.Len())
	}
	if first, _ := s.First("d"); !first {
		t.Fatal("room again after forgetting")
	}
	s.Forget("a")
	if first, _ := s.First("a"); !first {
		t.Fatal("a is new after Forget")
	}
	for i := range 1000 {
		s.First(fmt.Sprint(i))
	}
	if s.Len() > 3 {
		t.Fatalf("len = %d, want at most 3", s.Len())
	}
}
