# Bourse — the two commands are `make run` and `make test`.
GO       ?= go
SHELL    := /bin/bash
BIN      := bin/bourse
FUZZTIME ?= 10s

.PHONY: screenshots run build test lint bench bench-full bench-ws bench-followers fuzz soak outage verify clean simulate simulate-cluster webperf

## run: build and start the exchange on the embedded default config (HTTP on 127.0.0.1:8080, websocket on
## :8090, web console on :8070); RUN_FLAGS adds flags, e.g. RUN_FLAGS="-dev-auth -http-token secret"
RUN_FLAGS ?=
run: build
	./$(BIN) -data-dir ./data $(RUN_FLAGS)

build:
	$(GO) build -o $(BIN) ./cmd/bourse

## test: vet, then the whole test suite with the race detector; the end lists the skipped tests and why
## (MySQL/Redis tests use 127.0.0.1:3306 and :6379 when BOURSE_TEST_MYSQL_DSN/BOURSE_TEST_REDIS_ADDR are unset)
test: lint
	@mkdir -p bin && $(GO) build -o bin/testsummary ./internal/testenv/testsummary
	set -o pipefail; $(GO) test -race -count=1 -json ./... | ./bin/testsummary

## lint: gofmt and go vet must be clean
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## bench: the benchmarks behind benchmarks/RESULTS.md (short version, ~10 min): go test benchmarks, the open-loop
## harness (every mode, rates 1-2-5 × 10^k, 2 s steps) → benchmarks/harness.md and benchmarks/harness*.png, the
## followers at a tenth of the full size, and the websocket tables with 1,000 connections
bench:
	$(GO) test -run XXX -bench . -skip BenchmarkFollowers -benchmem ./actors/... ./benchmarks/...
	$(GO) run ./benchmarks/cmd/harness -ladder short -step 2s -out benchmarks/harness
	$(GO) test -run XXX -bench BenchmarkFollowers -benchtime=30000x -timeout 30m ./benchmarks/
	$(MAKE) bench-ws WS_CONNS=1000 WS_ROUNDS=5 WS_SECONDS=5s

## bench-ws: the websocket tables (idle memory, fan-out, pushes/s) against a bourse it starts; WS_CONNS connections
WS_CONNS   ?= 10000
WS_ROUNDS  ?= 10
WS_SECONDS ?= 10s
WS_ADDRS   := -http 127.0.0.1:18180 -ws 127.0.0.1:18190
bench-ws: build
	$(GO) build -o bin/wsbench ./benchmarks/cmd/wsbench
	./bin/wsbench -mode idle -bin $(BIN) $(WS_ADDRS) -conns $(WS_CONNS) -settle 5s
	./bin/wsbench -mode fanout -bin $(BIN) $(WS_ADDRS) -conns $(WS_CONNS) -rounds $(WS_ROUNDS)
	./bin/wsbench -mode throughput -bin $(BIN) $(WS_ADDRS) -conns $(WS_CONNS) -rate 1000 -duration $(WS_SECONDS)

## bench-full: the long version (~45 min): 3 runs of every go test benchmark at full size, then the harness with
## rates 1-1.5-2-3-5-7 × 10^k and 10 s steps → benchmarks/harness-full.md and benchmarks/harness-full*.png
bench-full:
	BOURSE_BENCH_FULL=1 $(GO) test -run XXX -bench . -skip BenchmarkFollowers -benchmem -count 3 -timeout 90m ./actors/... ./benchmarks/...
	$(GO) run ./benchmarks/cmd/harness -ladder full -step 10s -out benchmarks/harness-full
	$(MAKE) bench-followers
	$(MAKE) bench-ws

## bench-followers: each journal follower's lag behind a node at 100k orders/s (MySQL/Redis sinks need the BOURSE_TEST_* variables)
bench-followers:
	$(GO) test -run XXX -bench BenchmarkFollowers -benchtime=300000x -timeout 30m ./benchmarks/

## soak: 100 rounds of kill -9 under load (BOURSE_KILL_ARGS adds server flags)
soak:
	BOURSE_KILL_ROUNDS=100 $(GO) test -count=1 -run TestKill9 -v -timeout 30m ./cmd/bourse

## simulate: the seeded whole-tree simulation for 5,000 seeds (make test runs 300; BOURSE_SIM_SEED=N reruns one)
simulate:
	BOURSE_SIM_SEEDS=$${BOURSE_SIM_SEEDS:-5000} $(GO) test -count=1 -run TestSimulation -v -timeout 60m ./runtime

## simulate-cluster: the deterministic Raft cluster simulation (internal/clustersim) for 1,000 seeds on 3 and 5 nodes
## (make test runs 2; BOURSE_CLUSTER_SEED=N reruns one with its trace)
simulate-cluster:
	BOURSE_CLUSTER_SEEDS=$${BOURSE_CLUSTER_SEEDS:-1000} $(GO) test -count=1 -run TestSimulate -v -timeout 120m ./internal/clustersim

## outage: 10 rounds of MariaDB, Redis and Kafka outages (each cut alone, then all three) under load, through
## test-controlled proxies (needs BOURSE_TEST_MYSQL_DSN and BOURSE_TEST_REDIS_ADDR; see RELIABILITY.md)
outage:
	BOURSE_OUTAGE_ROUNDS=10 $(GO) test -count=1 -run TestOutage -v -timeout 30m ./cmd/bourse

## verify: recover ./data offline and check the invariants (stop the node first)
verify: build
	./$(BIN) verify -data-dir ./data

## fuzz: run every fuzz target for FUZZTIME each
fuzz:
	$(GO) test -run XXX -fuzz FuzzParse -fuzztime $(FUZZTIME) ./actors/fixed
	$(GO) test -run XXX -fuzz FuzzBookCommands -fuzztime $(FUZZTIME) ./actors/market/book
	$(GO) test -run XXX -fuzz '^FuzzDecodeRequest$$' -fuzztime $(FUZZTIME) ./edges/httprpc
	$(GO) test -run XXX -fuzz '^FuzzMethodParams$$' -fuzztime $(FUZZTIME) ./edges/httprpc
	$(GO) test -run XXX -fuzz '^FuzzEntryPoints$$' -fuzztime $(FUZZTIME) ./edges/httprpc
	$(GO) test -run XXX -fuzz '^FuzzDecodeRequest$$' -fuzztime $(FUZZTIME) ./edges/ws
	$(GO) test -run XXX -fuzz '^FuzzWSEntryPoints$$' -fuzztime $(FUZZTIME) ./edges/ws
	$(GO) test -run XXX -fuzz FuzzDecode -fuzztime $(FUZZTIME) ./messages/codec
	$(GO) test -run XXX -fuzz FuzzAppendStripped -fuzztime $(FUZZTIME) ./internal/wire

## screenshots: drive the web console in headless Chromium and rewrite docs/web-trader.png and docs/web-ops.png
screenshots:
	$(GO) test -count=1 -run '^TestWebConsole$$' ./cmd/bourse -args -screenshots

## webperf: the web console's timing test alone (1,000 trades/s for 10 s into an open trader page; needs chromium)
webperf:
	BOURSE_TEST_WEBPERF=1 $(GO) test -count=1 -v -run '^TestWebConsolePerf$$' ./cmd/bourse

clean:
	rm -rf bin
