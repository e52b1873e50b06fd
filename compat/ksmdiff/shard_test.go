// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package ksmdiff

import (
	"fmt"
	"hash/fnv"
	"testing"

	jump "github.com/dgryski/go-jump"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/scrape"
)

// KSM shards with jump.Hash(fnv64a(uid), n); --shard/--total-shards must
// pick the same objects here, or a mixed fleet would drop or double objects.
func TestShardingMatchesKSM(t *testing.T) {
	for n := 1; n <= 7; n++ {
		for i := 0; i < 2000; i++ {
			uid := fmt.Sprintf("%08x-aaaa-bbbb-cccc-%012d", i*7919, i)
			h := fnv.New64a()
			h.Write([]byte(uid))
			if want, got := int(jump.Hash(h.Sum64(), n)), scrape.ShardOf(uid, n); got != want {
				t.Fatalf("uid %s, %d shards: ours %d, KSM %d", uid, n, got, want)
			}
		}
	}
}
