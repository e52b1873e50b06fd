module github.com/kuadrant/gateway-api-metrics-exporter/deploy/dashboards/gen

go 1.26.0

require github.com/grafana/grafana-foundation-sdk/go v0.0.22 // indirect
