package engine

// SetBatchBytes changes how much JSON text a batch of AddFiles holds, until
// the returned function is called.
func SetBatchBytes(n int) (restore func()) {
	old := batchBytes
	batchBytes = n
	return func() { batchBytes = old }
}
