# Minkube's Makefile. `make help` lists the targets.
SHELL := /usr/bin/env bash
.DEFAULT_GOAL := help

GO        ?= go
BIN       ?= bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -X main.version=$(VERSION) -X main.gitCommit=$(COMMIT)
DATA_DIR  ?= .minkube
TEST_FLAGS ?= -race -count=1 -timeout 25m

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make \033[36m<target>\033[0m\n"} \
		/^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2 } \
		/^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Build

.PHONY: build
build: ## Build minkube and mkctl into bin/.
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/minkube ./cmd/minkube
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/mkctl ./cmd/mkctl

.PHONY: images
images: ## Build the test image minkube/testapp:dev (FROM scratch; no registry needed).
	hack/images.sh

##@ Run

.PHONY: run
run: build images ## Run a manager and a worker (embedded store) with the example manifests; prints the dashboard's address; mkctl works in another terminal.
	$(BIN)/minkube dev --data-dir $(DATA_DIR) --manifests-dir manifests

##@ Test

.PHONY: tools
tools: ## Install what the tests use when it is missing: Chromium, ip, iptables, dig, curl (hack/tools.sh).
	hack/tools.sh

.PHONY: test
test: tools images ## Run every test (unit, Docker, CLI, browser, end-to-end; the network partition tests need root) with -race.
	$(GO) test $(TEST_FLAGS) ./...

.PHONY: verify
verify: ## Fail on gofmt, go vet or go mod tidy drift.
	@out="$$(gofmt -l $$(git ls-files '*.go'))"; if [[ -n "$$out" ]]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) mod tidy -diff

.PHONY: bench
bench: images ## Run the benchmarks (figures for the closing notes).
	hack/bench.sh

.PHONY: clean
clean: ## Remove built binaries, the dev data dir and the containers and network of the cluster `make run` made (no other's).
	@for cluster in $$(cut -d' ' -f1 $(DATA_DIR)/worker-*.cluster 2>/dev/null | sort -u); do \
		ids="$$(docker ps -aq --filter label=io.minkube.cluster=$$cluster 2>/dev/null)"; \
		if [[ -n "$$ids" ]]; then echo "removing the containers of cluster $$cluster"; docker rm -f $$ids >/dev/null; fi; \
	done
	@for f in $(DATA_DIR)/worker-*.cluster; do \
		[[ -e "$$f" ]] || continue; name="$${f##*/worker-}"; name="$${name%.cluster}"; \
		ids="$$(docker network ls -q --filter label=io.minkube.network=$$name 2>/dev/null)"; \
		if [[ -n "$$ids" ]]; then echo "removing the network of worker $$name"; docker network rm $$ids >/dev/null || true; fi; \
	done
	rm -rf $(BIN) $(DATA_DIR)
