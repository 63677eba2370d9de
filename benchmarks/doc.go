// Package benchmarks holds the harnesses that reproduce every figure in
// RESULTS.md.
//
//   - pipeline_test.go: in-process actor pipeline (edge-less): balance shard →
//     market → reply, driven with protoactor Send and a collector actor, no
//     futures on the hot path. Run with
//     go test -run XXX -bench Pipeline -benchtime 3s ./benchmarks
//   - cmd/loadgen: HTTP JSON-RPC load generator for order.put_limit against a
//     running bourse (closed loop or fixed-rate open loop).
//   - cmd/baseline: a bare net/http server answering a fixed JSON body, to
//     measure the loopback HTTP ceiling with the same load generator.
//   - cmd/harness: throughput vs latency. One seeded workload
//     (internal/workload: resting, crossing and market orders and cancels,
//     Zipf-skewed over markets and users, books pre-filled with 1,000 orders
//     over 750 levels) injected open loop at rising rates into each mode —
//     book, inproc, sync, batch, http and the baseline — until it saturates;
//     writes harness.md and harness*.png here. `make bench` runs it short,
//     `make bench-full` long.
//
// Other _test.go files here reuse the pipeline harness (startPipeline,
// drive, workload) for durable and recovery figures; see their headers.
// RESULTS.md holds the figures, the machine and the exact commands.
//
// The package itself has no API; it exists to hold the benchmarks.
package benchmarks
