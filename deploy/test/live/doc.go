// Package live tests the deployment assets against real servers: the
// manifests are server-side applied to a real kube-apiserver (internal/testenv) and
// the exporter runs with exactly the permissions of their ServiceAccount; the
// dashboards and alerts are evaluated by a real Prometheus scraping the real
// kube-state-metrics output, our output for the same objects and a live
// exporter; and the old kube-state-metrics example Deployment is run with our
// exporter in place of kube-state-metrics.
//
//	cd deploy/test && go test ./live -v
//
// Needs the etcd and kube-apiserver binaries (`make kube-bins`, see
// internal/testenv) and the prometheus binary (installed from Debian's
// "prometheus" package when missing and running as root). Without them the
// tests skip locally and fail when CI=true. The comparisons with
// kube-state-metrics need ../shared next to the repository (internal/refdata:
// skipped when absent, failed when CI=true).
package live
