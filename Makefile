# otelcol-events — the commands of the README:
#   make run    start the single-node collector (embedded ClickHouse, API on :8080)
#   make run-kafka  the same API through Kafka and a ClickHouse server (collector-config.yaml)
#   make test   install and start every service, then run every test
SHELL := /bin/bash
.DEFAULT_GOAL := help

ROOT        := $(abspath .)
CACHE       := $(ROOT)/.cache
BUILDER_VER := v0.165.0
# One directory per version: a builder left from an older pin is not reused.
BUILDER     := $(CACHE)/builder/$(BUILDER_VER)/builder
BINARY      := $(ROOT)/bin/otelcol-events
DIST_DIR    := $(ROOT)/cmd/otelcol-events
CHDB_LIB    := $(CACHE)/chdb/libchdb.so
GO_SOURCES  := $(shell find . -name '*.go' -not -path './cmd/*' -not -path './.cache/*' -not -name '*_test.go') $(shell find . -name '*.sql' -not -path './.cache/*') docs/openapi.yaml go.mod go.sum
# The eventsquery dashboard is embedded in the binary too.
GO_SOURCES  += $(wildcard extension/eventsqueryextension/ui/*)
# Fuzz budgets are counts of executions, not durations: with a duration, Go
# 1.26's fuzz coordinator can fail a run with a bare "context deadline
# exceeded" when the time is up (golang/go#75804). About 10-20 s each here.
FUZZTIME       ?= 100000x
FUZZTIME_BATCH ?= 30000x
# Each execution of FuzzRoundTrip writes and reads both engines (about 15 a
# second here).
FUZZTIME_ROUNDTRIP ?= 300x
# FuzzOperations runs a program of up to 64 operations on both engines
# (about 7 a second here).
FUZZTIME_OPERATIONS ?= 150x

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

.PHONY: run
run: $(BINARY) chdb ## start the single-node collector (API on http://localhost:8080)
	CHDB_LIB=$(CHDB_LIB) $(BINARY) --config $(ROOT)/config/single-node.yaml

.PHONY: run-kafka
run-kafka: $(BINARY) services ## start Kafka and ClickHouse, create the topic (KAFKA_TOPIC, KAFKA_PARTITIONS), run collector-config.yaml (API on http://localhost:8080)
	scripts/services.sh topic
	$(BINARY) --config $(ROOT)/collector-config.yaml

.PHONY: test
test: services chdb ## start the services and run every test (Go, end-to-end, Python, fuzz, benchmark smoke)
	$(MAKE) check-generated
	go vet ./...
	CHDB_LIB=$(CHDB_LIB) go test -race -count=1 -timeout 20m ./...
	$(MAKE) fuzz
	$(MAKE) build
	$(MAKE) genai-venv
	CHDB_LIB=$(CHDB_LIB) OTELCOL_EVENTS_BIN=$(BINARY) go test -count=1 -tags e2e -timeout 15m ./test/e2e/...
	$(MAKE) test-api-spec
	CHDB_LIB=$(CHDB_LIB) go run ./benchmark -quick -collector $(BINARY)
	$(MAKE) test-python
	$(MAKE) test-browser

# Cases per operation and phase of test-api-spec's run without credentials
# (its runs with config/api-keys.yaml take less): with 50, about 3 800
# cases, and about 7 000 for the three runs in a minute, on the 2-core test
# machine.
SCHEMATHESIS_MAX_EXAMPLES ?= 50

.PHONY: test-api-spec
test-api-spec: $(BINARY) chdb ## schemathesis (pinned, installed into .cache) with every check, against single-node collectors it starts (without keys, then with config/api-keys.yaml)
	CHDB_LIB=$(CHDB_LIB) SCHEMATHESIS_MAX_EXAMPLES=$(SCHEMATHESIS_MAX_EXAMPLES) scripts/schemathesis.sh check $(BINARY)

.PHONY: bench
bench: services chdb $(BINARY) ## benchmark with same-run ceilings on a collector it starts (BENCH_FLAGS, e.g. -topology kafka; env INSERT_COUNT ...)
	CHDB_LIB=$(CHDB_LIB) go run ./benchmark -collector $(BINARY) $(BENCH_FLAGS)

.PHONY: fuzz
fuzz: ## run the fuzz tests for a bounded time each
	CHDB_LIB=$(CHDB_LIB) go test -run '^$$' -fuzz '^FuzzRoundTrip$$' -fuzztime $(FUZZTIME_ROUNDTRIP) -fuzzminimizetime 20x ./internal/storage
	CHDB_LIB=$(CHDB_LIB) go test -run '^$$' -fuzz '^FuzzOperations$$' -fuzztime $(FUZZTIME_OPERATIONS) -fuzzminimizetime 20x ./internal/storage
	go test -run '^$$' -fuzz '^FuzzDecodeBody$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 100x ./receiver/eventsreceiver
	go test -run '^$$' -fuzz '^FuzzSplitBatch$$' -fuzztime $(FUZZTIME_BATCH) -fuzzminimizetime 100x ./receiver/eventsreceiver
	go test -run '^$$' -fuzz '^FuzzScanBody$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 100x ./receiver/eventsreceiver

.PHONY: test-python
test-python: $(BINARY) chdb ## the Python SDK's unit and integration tests
	python3 -m pip install --quiet --disable-pip-version-check -e sdk/python
	cd sdk/python && CHDB_LIB=$(CHDB_LIB) OTELCOL_EVENTS_BIN=$(BINARY) python3 -m pytest -q

.PHONY: test-browser
test-browser: $(BINARY) chdb ## the dashboard in headless Chromium (scripts/chromium.sh installs it); screenshots in bin/browser-test
	@chromium=$$(scripts/chromium.sh) && cd test/browser && go vet ./... && \
	  CHROMIUM=$$chromium CHDB_LIB=$(CHDB_LIB) OTELCOL_EVENTS_BIN=$(BINARY) BROWSER_TEST_OUT=$(ROOT)/bin/browser-test \
	  go test -count=1 -timeout 5m ./...

.PHONY: genai-venv
genai-venv: ## install the Python app of the GenAI end-to-end test (openai + OpenAI instrumentation, pinned) under .cache
	@scripts/genai-venv.sh

.PHONY: services
services: ## install and start Kafka (127.0.0.1:9092) and ClickHouse (127.0.0.1:9000, :8123)
	scripts/services.sh up

.PHONY: services-down
services-down: ## stop Kafka and ClickHouse
	scripts/services.sh down

.PHONY: chdb
chdb: ## install the embedded ClickHouse engine (libchdb) and print its path
	@scripts/services.sh chdb

$(BUILDER):
	GOBIN=$(dir $(BUILDER)) go install go.opentelemetry.io/collector/cmd/builder@$(BUILDER_VER)

.PHONY: generate
generate: $(BUILDER) ## regenerate cmd/otelcol-events from builder-config.yaml
	mkdir -p $(DIST_DIR)
	$(BUILDER) --config builder-config.yaml --skip-compilation

.PHONY: check-generated
check-generated: $(BUILDER) ## fail when cmd/otelcol-events is stale against builder-config.yaml
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	sed "s#output_path: ./cmd/otelcol-events#output_path: $$tmp/dist#; s#=> ../../#=> $(ROOT)#" builder-config.yaml > $$tmp/builder-config.yaml; \
	$(BUILDER) --config $$tmp/builder-config.yaml --skip-compilation >/dev/null 2>$$tmp/log || { cat $$tmp/log; exit 1; }; \
	sed -i "s#=> $(ROOT)#=> ../../#" $$tmp/dist/go.mod; \
	for f in main.go components.go main_others.go main_windows.go go.mod; do \
	  diff -u $(DIST_DIR)/$$f $$tmp/dist/$$f || { echo "cmd/otelcol-events/$$f is stale: run make generate"; exit 1; }; \
	done; echo "cmd/otelcol-events is up to date with builder-config.yaml"

.PHONY: build
build: $(BINARY) ## build bin/otelcol-events from cmd/otelcol-events

$(BINARY): $(GO_SOURCES) $(wildcard $(DIST_DIR)/*.go) $(DIST_DIR)/go.mod
	cd $(DIST_DIR) && CGO_ENABLED=0 go build -trimpath -o $(BINARY) .

.PHONY: clean
clean: ## remove build output (keeps .cache)
	rm -rf bin
