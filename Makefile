# gateway-api-metrics-exporter
#
#   make run-local   local control plane + sample objects + the exporter on :8080
#   make test        the whole suite: generated files, vet, staticcheck, unit and
#                    e2e (race detector), compat (vs kube-state-metrics), deploy
#   make generate    METRICS.md, dashboards, PrometheusRule and the chart's alerts
#   make bench       benchmarks (compare runs with benchstat)
#   make release     VERSION=vX.Y.Z: image layout, binaries, packaged chart in bin/release
#   make headers     the license header on every Go file

GO            ?= go
BIN           := bin/gateway-api-metrics-exporter
VERSION       ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
REVISION      ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BRANCH        ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
# The commit's time, not the clock's, so that a rebuild of the same commit is
# byte-identical (the image digests too).
BUILD_DATE    ?= $(shell TZ=UTC git log -1 --format=%cd --date=format-local:%Y%m%d-%H:%M:%S 2>/dev/null || echo unknown)
# Prometheus exporters' build metadata (--version, gateway_metrics_build_info).
PROMVERSION   := github.com/prometheus/common/version
LDFLAGS       := -s -w -X $(PROMVERSION).Version=$(VERSION) -X $(PROMVERSION).Revision=$(REVISION) \
                 -X $(PROMVERSION).Branch=$(BRANCH) -X $(PROMVERSION).BuildUser=make -X $(PROMVERSION).BuildDate=$(BUILD_DATE)
# etcd and kube-apiserver: KUBE_BIN, else KUBEBUILDER_ASSETS (setup-envtest's
# directory, used as it is), else built from Go modules into a cache outside
# the clone (the first build takes 10-25 minutes on 2 cores). hack/kube-bins.sh
# and internal/testenv pick the same directory, so nothing is set here.
BENCH_COUNT   ?= 6
FUZZ_TIME     ?= 2m
# The packages of every module in go.work (hack/tools holds no code of ours).
ALL_PKGS      := ./... ./compat/ksmdiff/... ./deploy/test/... ./deploy/dashboards/gen/... ./hack/image/...
# Written by `make generate`; `make check-generated` fails when they differ.
GENERATED     := METRICS.md deploy/dashboards deploy/rules/prometheusrule.yaml deploy/kustomize/components/alerts deploy/helm/gateway-api-metrics-exporter/files/alerts.yaml deploy/helm/gateway-api-metrics-exporter/files/dashboards deploy/helm/gateway-api-metrics-exporter/README.md

.PHONY: all build kube-bins eg-bin test-bins ksm-bin run-local test test-go test-compat test-deploy test-fuzz test-image bench bench-modes fuzz generate docs check-generated lint-chart check-docs vet lint image release headers check-headers docker-image clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/gateway-api-metrics-exporter

kube-bins:
	@hack/kube-bins.sh >/dev/null

# Envoy Gateway's control plane (and its Helm chart, rendered), for
# e2e/envoygateway: built from its Go module into the same cache (the first
# build takes 8-10 minutes on 2 idle cores).
eg-bin:
	@hack/eg-bin.sh >/dev/null

# Both at once: on a fresh machine the two cold builds share the cores (each
# leaves one idle while it links), instead of one after the other.
test-bins:
	@hack/eg-bin.sh >/dev/null & eg=$$!; hack/kube-bins.sh >/dev/null; kube=$$?; wait $$eg && exit $$kube

run-local: build kube-bins
	$(GO) run ./hack/run-local --exporter=$(BIN)

vet:
	$(GO) vet $(ALL_PKGS)

STATICCHECK := bin/staticcheck
$(STATICCHECK): hack/tools/go.mod hack/tools/go.sum
	cd hack/tools && $(GO) build -o ../../$(STATICCHECK) honnef.co/go/tools/cmd/staticcheck

lint: $(STATICCHECK)
	$(STATICCHECK) $(ALL_PKGS)

test: check-headers check-generated vet lint test-go test-compat test-deploy test-fuzz test-image

# The license header on every Go file of every module (hack/headers):
# `make headers` adds it where missing, check-headers fails on a file without.
headers:
	$(GO) run ./hack/headers

check-headers:
	$(GO) run ./hack/headers -check

# Unit and e2e tests of the main module, with the race detector; the packages
# that need the control plane (e2e, internal/testenv) start their own on loopback.
# The load test runs without it: the detector's CPU and memory overhead would
# turn a test of load and leaks into one of the detector. Every run shuffles
# the order of the tests (go test prints the seed: -shuffle=SEED repeats it),
# so that no test can depend on another having run before it.
LOAD_TESTS := ^TestSustainedConcurrentScrapes$$
SHUFFLE    ?= on
test-go: test-bins
	$(GO) test -race -count=1 -shuffle=$(SHUFFLE) -timeout 30m -skip '$(LOAD_TESTS)' ./...
	$(GO) test -count=1 -shuffle=$(SHUFFLE) -timeout 30m -run '$(LOAD_TESTS)' ./e2e

# Differential tests against kube-state-metrics (its own module).
test-compat:
	cd compat/ksmdiff && $(GO) test -count=1 -shuffle=$(SHUFFLE) -timeout 20m -v ./...

# deploy/test/live runs the real kube-state-metrics beside the exporter for
# the cutover proof (TestCutoverOldExample).
test-deploy: ksm-bin
	bash deploy/rules/test.sh
	cd deploy/test && $(GO) test -count=1 -shuffle=$(SHUFFLE) -timeout 20m ./...

# A short fuzz of the exposition round trip and of the projected decoder.
test-fuzz:
	$(GO) test -run '^$$' -fuzz FuzzRenderParses -fuzztime 15s ./pkg/engine
	$(GO) test -run '^$$' -fuzz FuzzDecodeProjected -fuzztime 15s ./pkg/objects

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzRenderParses -fuzztime $(FUZZ_TIME) ./pkg/engine
	$(GO) test -run '^$$' -fuzz FuzzDecodeProjected -fuzztime $(FUZZ_TIME) ./pkg/objects

# Benchmarks report ratios measured in the same run (see docs/benchmarks.md).
# The results land in bench/new.txt; a bench/old.txt from an earlier run (for
# example on main) is compared with benchstat.
BENCHSTAT := bin/benchstat
$(BENCHSTAT): hack/tools/go.mod
	cd hack/tools && $(GO) build -o ../../$(BENCHSTAT) golang.org/x/perf/cmd/benchstat

ksm-bin:
	@hack/ksm-bin.sh >/dev/null

bench: $(BENCHSTAT) kube-bins ksm-bin
	mkdir -p bench
	( cd compat/ksmdiff && $(GO) test -run '^$$' -bench 'LegacyRender|Memory|WatchScrape|RenderFile' -benchmem -count $(BENCH_COUNT) -timeout 60m . ; \
	  cd ../.. && $(GO) test -run '^$$' -bench 'Scrape' -benchmem -count $(BENCH_COUNT) -timeout 60m ./pkg/scrape ; \
	  $(GO) test -run '^$$' -bench 'RealAPIServer' -benchtime 3x -count $(BENCH_COUNT) -timeout 60m ./e2e 2>&1 | grep -v 'exporter: time=' ) | tee bench/new.txt
	@if [ -f bench/old.txt ]; then $(BENCHSTAT) bench/old.txt bench/new.txt; else $(BENCHSTAT) bench/new.txt; fi

# Every collection mode against the real kube-state-metrics binary on the real
# API server, one fresh process each (docs/benchmarks.md, "Collection modes at
# scale"). Long: BENCH_ROUTES=10000,40000 takes about 15 minutes, 100000 about
# 20 with BENCH_MODES=ksm,watch.
bench-modes: kube-bins ksm-bin
	mkdir -p bench
	$(GO) test -run '^$$' -bench Modes -benchtime 1x -timeout 120m ./e2e 2>&1 | grep -v 'exporter: time=' | tee bench/modes.txt

# Regenerates METRICS.md, the Grafana dashboards (deploy/dashboards, from
# deploy/dashboards/gen with grafana-foundation-sdk), the Helm chart's copies
# and README, and the PrometheusRule forms of the alerts.
CHART := deploy/helm/gateway-api-metrics-exporter
generate: docs
	mkdir -p bin
	cd deploy/dashboards/gen && $(GO) run . >/dev/null
	rm -rf $(CHART)/files/dashboards && mkdir -p $(CHART)/files/dashboards
	cp $$(ls deploy/dashboards/*.json | grep -v expressions.json) $(CHART)/files/dashboards/
	cd deploy/test && $(GO) run ./cmd/chart-readme > ../../bin/chart-readme.md
	mv bin/chart-readme.md $(CHART)/README.md
	$(GO) run ./deploy/rules/gen

docs:
	$(GO) run ./hack/metricsdoc > METRICS.md.tmp
	mv METRICS.md.tmp METRICS.md

# Runs `make generate` and fails if that changed any generated file (the tree
# is left regenerated: review and commit it), after lint-chart.
check-generated: lint-chart
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	tar -cf - $(GENERATED) | tar -xf - -C "$$tmp" && \
	$(MAKE) --no-print-directory -s generate && \
	stale=0 && for p in $(GENERATED); do diff -ru "$$tmp/$$p" "$$p" || stale=1; done && \
	if [ $$stale = 1 ]; then \
	  echo "check-generated: the files above were out of date: 'make generate' has rewritten them; review and commit them" >&2; exit 1; \
	fi

check-docs: check-generated

# `helm lint --strict` (Helm's library, in-process) on the chart with the
# default, full and sharded values, and plain lint with every feature on.
lint-chart:
	cd deploy/test && $(GO) test -count=1 -shuffle=$(SHUFFLE) -run '^(TestHelmLint|TestChartLintClean)$$' .

# The image, without a Docker engine: static binaries for each platform, then
# hack/image (go-containerregistry) writes a multi-arch OCI image layout to
# bin/image. Push it with `crane push bin/image $(IMAGE):TAG` (see README).
IMAGE           ?= ghcr.io/kuadrant/gateway-api-metrics-exporter
IMAGE_PLATFORMS ?= linux/amd64 linux/arm64
IMAGE_CREATED   ?= $(shell TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo 1970-01-01T00:00:00Z)

IMAGE_OUT       ?= bin/image

image:
	@set -e; for p in $(IMAGE_PLATFORMS); do \
	  echo "build $$p"; \
	  CGO_ENABLED=0 GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) build -trimpath -ldflags '$(LDFLAGS)' \
	    -o bin/$${p%/*}-$${p#*/}/gateway-api-metrics-exporter ./cmd/gateway-api-metrics-exporter; \
	done
	cd hack/image && $(GO) run . -out $(abspath $(IMAGE_OUT)) -version $(VERSION) -revision $(REVISION) -created $(IMAGE_CREATED) \
	  $(foreach p,$(IMAGE_PLATFORMS),-binary $(p)=../../bin/$(subst /,-,$(p))/gateway-api-metrics-exporter)

# A release, offline (Go module cache only): `make release VERSION=v1.2.3`
# (VERSION defaults to `git describe`, so on a tagged commit plain `make
# release` works). It refuses a VERSION that is not vMAJOR.MINOR.PATCH
# (semver.org) and writes to RELEASE_DIR: the image layout (image/, built by
# `make image` with that version), the binaries of IMAGE_PLATFORMS
# (gateway-api-metrics-exporter-OS-ARCH; --version reports VERSION), the
# chart packaged with Helm's library (version VERSION without its v,
# appVersion and default image tag VERSION) and SHA256SUMS.
# deploy/test/release_test.go runs it.
RELEASE_DIR     ?= bin/release
SEMVER_RE       := ^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$$

release:
	@echo '$(VERSION)' | grep -Eq '$(SEMVER_RE)' || { \
	  echo "release: VERSION '$(VERSION)' is not a release tag vMAJOR.MINOR.PATCH (semver.org); tag the commit (git tag v1.2.3) or pass VERSION=v1.2.3" >&2; exit 2; }
	rm -rf $(RELEASE_DIR) && mkdir -p $(RELEASE_DIR)
	$(MAKE) --no-print-directory image VERSION=$(VERSION) IMAGE_OUT=$(RELEASE_DIR)/image
	@set -e; for p in $(IMAGE_PLATFORMS); do \
	  cp bin/$${p%/*}-$${p#*/}/gateway-api-metrics-exporter $(RELEASE_DIR)/gateway-api-metrics-exporter-$${p%/*}-$${p#*/}; \
	done
	cd deploy/test && $(GO) run ./cmd/chart-package -chart ../helm/gateway-api-metrics-exporter -version $(VERSION) -out $(abspath $(RELEASE_DIR))
	cd $(RELEASE_DIR) && sha256sum gateway-api-metrics-exporter-* > SHA256SUMS
	@echo "release $(VERSION) in $(RELEASE_DIR): push the image with crane push $(RELEASE_DIR)/image $(IMAGE):$(VERSION)"

# Reads bin/image: config, layers, platforms, reproducibility, and runs the
# amd64 binary with --version.
test-image: image
	cd hack/image && IMAGE_LAYOUT=../../bin/image $(GO) test -count=1 -shuffle=$(SHUFFLE) .

# For Docker users: the same image from the Dockerfile (needs a Docker engine).
docker-image:
	docker build --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) -t $(IMAGE):$(VERSION) .

clean:
	rm -rf bin bench
