// Package coretest is the shared test harness of Bourse's pure cores (order
// book, ledger): the engine glue the actors perform, invariant checks, a
// plain shopspring/decimal reference implementation of matching, and a
// random command generator. It is imported by tests only.
//
// Engine wires the cores the way the market and balance actors do: the
// user's shard checks the arguments and reserves the funds, the market's
// book decides and applies the command, and every shard applies the events
// for the users it owns; on a book error the shard takes the reservation
// back. Alongside, a shadow book and ledger apply the same events in Replay
// mode, as journal replay would, and must decide the next command exactly as
// the live cores do.
//
// The generator is the project's one source of seeded workloads: the
// differential test and the fuzzer here, and, through internal/testnode,
// the runtime tests that play commands through a live node. A failing run
// writes its commands as an op log that $BOURSE_OPLOG replays.
//
// Files: engine.go (glue and invariants), ref.go (the reference), gen.go
// (command streams from a seed or a fuzzer's bytes), diff.go (the
// differential driver), cmd.go (the command vocabulary, decimals as
// strings, and the exchange command each one is), oplog.go (streams as
// text), format.go (text for scripts and failure messages).
package coretest
