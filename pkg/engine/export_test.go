// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package engine

// SetBatchBytes changes how much JSON text a batch of AddFiles holds, until
// the returned function is called.
func SetBatchBytes(n int) (restore func()) {
	old := batchBytes
	batchBytes = n
	return func() { batchBytes = old }
}

// SetChunk and SetRawBudget change when families are held in segments and
// compressed (see Renderer.spill and Offline.grew), until restored.
func SetChunk(n int) (restore func()) {
	old := chunk
	chunk = n
	return func() { chunk = old }
}

func SetRawBudget(n int) (restore func()) {
	old := rawBudget
	rawBudget = n
	return func() { rawBudget = old }
}
