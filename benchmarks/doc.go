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
//
// Other _test.go files here reuse the pipeline harness (startPipeline,
// drive, workload) for durable and recovery figures; see their headers.
// RESULTS.md holds the figures, the machine and the exact commands.
//
// The package itself has no API; it exists to hold the benchmarks.
package benchmarks
