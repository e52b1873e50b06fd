// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package once remembers which messages were already logged, in bounded
// memory: a persistent problem is one log line, not one per scrape, and keys
// built from error text (which carries values and URLs) cannot grow the set
// without limit.
package once

import (
	"strings"
	"sync"
)

// Set is a bounded set of keys. When it is full, new keys are not remembered
// and First reports false for them: past the bound a problem is counted
// elsewhere (telemetry) but no longer logged, so a flood of distinct errors
// can neither grow memory nor flood the log.
type Set struct {
	mu       sync.Mutex
	max      int
	keys     map[string]struct{}
	overflow bool
}

// New makes a set holding at most max keys.
func New(max int) *Set { return &Set{max: max, keys: map[string]struct{}{}} }

// First reports whether key is new, and remembers it. full is true the first
// time a key could not be remembered because the set is full, so that the
// caller can log that once.
func (s *Set) First(key string) (first, full bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[key]; ok {
		return false, false
	}
	if len(s.keys) >= s.max {
		full = !s.overflow
		s.overflow = true
		return false, full
	}
	s.keys[key] = struct{}{}
	return true, false
}

// Forget drops a key, so that the problem is logged again if it comes back.
func (s *Set) Forget(key string) {
	s.mu.Lock()
	delete(s.keys, key)
	s.mu.Unlock()
}

// ForgetPrefix drops every key starting with prefix (a kind that recovered
// forgets all its failure reasons).
func (s *Set) ForgetPrefix(prefix string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.keys {
		if strings.HasPrefix(k, prefix) {
			delete(s.keys, k)
		}
	}
	if len(s.keys) < s.max {
		s.overflow = false
	}
}

// Len is the number of keys remembered.
func (s *Set) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.keys)
}
