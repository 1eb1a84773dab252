# pmsync — the two commands every newcomer needs are `make demo` and `make test`.
GO        ?= go
PKGS      ?= ./...
BIN       ?= bin/pmsync
FUZZTIME  ?= 5m
SOAKKILLS ?= 1000
export GOFLAGS ?= -mod=mod

.PHONY: all build test unit browser demo bench fuzz soak lint vet fmt clean

all: build

VERSION   ?= $(shell git describe --tags 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)

build:
	$(GO) build -ldflags "-X main.version=$(VERSION) -X main.commit=$(COMMIT)" -o $(BIN) ./cmd/pmsync

## test: everything CI runs — vet, the race-enabled unit/integration tests, the dashboard browser test.
test: vet unit browser

vet:
	$(GO) vet $(PKGS)
	cd deploy && $(GO) vet ./...

unit:
	$(GO) test -race -count=1 -timeout 9m $(PKGS)
	cd deploy && $(GO) test -count=1 ./...

## browser: the dashboard's headless-Chromium test (needs /usr/bin/chromium; .ci/run installs it).
browser:
	PMSYNC_BROWSER_TEST=1 $(GO) test -count=1 -timeout 3m -run TestDashboardBrowser ./sync/...

## demo: pmsync against the built-in GitHub, GitLab and Jira simulators; no accounts needed.
demo: build
	./$(BIN) demo

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 1x -timeout 30m ./... | tee bench.out
	$(GO) run ./internal/benchreport < bench.out

fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

soak:
	PMSYNC_CHAOS_ITEMS=30 PMSYNC_SOAK_KILLS=$(SOAKKILLS) $(GO) test -race -count=1 -timeout 120m -run 'Soak|Kill|Hostile' ./...

lint: fmt vet

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

clean:
	rm -rf bin bench.out
