// Package deploytest holds the tests of the deployment assets under deploy/:
// kustomize bases and overlays, the Helm chart, the alerting rules and the
// Grafana dashboards. It is a separate Go module so that Helm and kustomize
// stay out of the exporter's own dependencies.
//
//	cd deploy/test && go test ./...
//
// Regenerate the checked-in generated files with
//
//	cd deploy/dashboards/gen && go run .
//	cd deploy/test && go test ./... -run 'TestPrometheusRule|TestHelmAlerts' -update
package deploytest
