// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package e2e holds the end-to-end tests of the exporter: each test starts the
// exporter in-process (app.Run) against a real kube-apiserver (internal/testenv),
// scrapes it over HTTP and compares the exposition line by line, in the style
// of redis_exporter's tests. There is no non-test code here.
//
// Run with `go test ./e2e/` after `make kube-bins` (hack/kube-bins.sh); without
// the binaries the tests skip (in CI, CI=true, they fail). When the expected
// lines of a kind test must change, E2E_DUMP=1 prints the lines served, with
// ${NS} and ${CREATED:<name>} put back, to review and paste.
package e2e
