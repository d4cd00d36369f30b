# loraedge: `make run` shows it working, `make test` proves it.
GO       ?= go
BIN      := bin/loraedge
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
FUZZTIME ?= 3s

.PHONY: all build run test unit fuzz bench lint crashtest clean dist smoke-arm64

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/loraedge

# The daemon with its built-in defaults, fed by the built-in simulator on
# loopback; data goes to ./data, the web page is at http://127.0.0.1:8080/
# (token: $(DEMO_TOKEN)). Ctrl-C stops it.
DEMO_TOKEN ?= loraedge-demo-admin-token
run: build
	LORAEDGE_HTTP_ADMIN_TOKEN=$(DEMO_TOKEN) $(BIN) run --simulate --data-dir ./data \
	  --listen 127.0.0.1:1700 --http 127.0.0.1:8080 --log-format text

# A county network on loopback: three instances (`loraedge county init`
# writes their configs, certificates and peer table to $(COUNTY_DIR)) fed by
# the simulator's county scenario at $(COUNTY_SPEED) virtual seconds per
# real second; web pages at http://127.0.0.1:8081/ .. :8083/ (token:
# $(DEMO_TOKEN)). Ctrl-C stops all of it. COUNTY_INIT_FLAGS moves the ports,
# e.g. '--gwmp-port 21701 --http-port 28081 --roaming-port 28441'.
COUNTY_DIR ?= ./county
COUNTY_SPEED ?= 120
COUNTY_INIT_FLAGS ?=
.PHONY: county
county: build
	bash scripts/county.sh $(BIN) $(COUNTY_DIR) $(DEMO_TOKEN) $(COUNTY_SPEED) $(COUNTY_INIT_FLAGS)

# Every test, then a short run of every fuzz target.
test: lint
	bash scripts/test.sh

# The inner loop: every test that needs no external server (-short skips
# the ones that start Mosquitto, InfluxDB, Chromium or pdftoppm).
unit:
	$(GO) test -short -count=1 -timeout 5m ./...

fuzz:
	FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh

# Every benchmark, after a warm-up run; the store's side-by-side ones need
# InfluxDB and VictoriaMetrics (built once by install-deps.sh). The table
# of bytes per point (store, InfluxDB, VictoriaMetrics) closes the output.
bench:
	bash scripts/install-deps.sh victoria-metrics
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 1x -count 1 ./... >/dev/null
	$(GO) test -run '^$$' -bench . -benchmem ./... | tee bench.out
	@echo; echo "bytes per point | data set | points | store on disk (in use) | store encoded | InfluxDB on disk | InfluxDB TSM | VictoriaMetrics on disk | VictoriaMetrics encoded |"
	@grep -o '| [a-z0-9-]* | [0-9]* | .*|$$' bench.out || true

# gofmt, go vet and golangci-lint (pinned; scripts/install-deps.sh builds
# it once with go install). Settings and the reasons for each exclusion are
# in .golangci.yml.
GOBIN_DIR := $(shell $(GO) env GOBIN)
ifeq ($(GOBIN_DIR),)
GOBIN_DIR := $(shell $(GO) env GOPATH)/bin
endif
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@bash scripts/install-deps.sh --only golangci-lint
	$(GOBIN_DIR)/golangci-lint run ./...

clean:
	rm -rf bin dist data county bench.out loadtest.json

# Static builds for amd64, arm64, armv7, armv5, mipsle (softfloat) and
# .deb packages for amd64/arm64/armhf, in dist/.
dist:
	bash scripts/dist.sh

# The arm64 build under qemu-user against the simulator.
smoke-arm64:
	bash scripts/smoke-arm64.sh

# The load test: the built daemon as a child process with 1,000 ABP devices
# under rising uplink rates from 4 virtual gateways; prints a table and
# writes loadtest.json. LOADTEST_FLAGS adds or overrides flags, e.g.
# LOADTEST_FLAGS='--rates 500,2000 --step 5s'.
LOADTEST_FLAGS ?=
.PHONY: loadtest
loadtest: build
	$(BIN) bench uplinks --binary $(BIN) --devices 1000 --gateways 4 \
	  --rates 500,1000,2000,4000,6000,8000 --step 10s --json loadtest.json $(LOADTEST_FLAGS)

# The store's crash test with many more kill -9 cycles than make test runs.
CRASH_CYCLES ?= 500
.PHONY: crashtest
crashtest:
	$(GO) test ./internal/store -run TestCrashRecovery -count=1 -crashcycles=$(CRASH_CYCLES) -timeout 2h -v

# The reliability suite at length: kill -9 loop, Mosquitto/InfluxDB
# outages, disk full (tmpfs, needs root), data clock jumps, malformed UDP
# flood; each scenario under load for SOAK_DURATION. `make test` runs the
# same tests for a few seconds each.
SOAK_DURATION ?= 10m
.PHONY: soak
soak:
	$(GO) test ./internal/soak -run . -count=1 -soak.duration=$(SOAK_DURATION) -timeout 2h -v
