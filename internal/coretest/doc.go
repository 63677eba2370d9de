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
// Files: engine.go (glue and invariants), ref.go (the reference), gen.go
// (command streams from a seed or a fuzzer's bytes), diff.go (the
// differential driver), cmd.go (the command vocabulary, decimals as
// strings), format.go (text for scripts and failure messages).
package coretest
