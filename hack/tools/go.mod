// Developer tools pinned for the Makefile (benchstat for `make bench`,
// staticcheck for `make lint`); kept out of the main module's dependency graph.
module github.com/kuadrant/gateway-api-metrics-exporter/hack/tools

go 1.26.0

require (
	golang.org/x/perf v0.0.0-20260908200009-22c9c6c9d4da
	honnef.co/go/tools v0.8.2
)

require (
	github.com/BurntSushi/toml v1.6.0 // indirect
	github.com/aclements/go-moremath v0.0.0-20210112150236-f10218a38794 // indirect
	golang.org/x/exp/typeparams v0.0.0-20231108232855-2478ac86f678 // indirect
	golang.org/x/mod v0.41.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/tools v0.51.0 // indirect
)
