module github.com/kuadrant/gateway-api-metrics-exporter/deploy/dashboards/gen

go 1.26.0
