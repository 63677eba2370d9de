// Package runtime assembles a Bourse node: it builds the actor system and the
// supervision tree (one supervisor per kind: markets, balance shards), wires
// the edges to the Router, and shuts everything down in order.
//
// Supervision is declared here and nowhere else: every supervisor restarts a
// failed child on its own (one-for-one) after an exponential backoff.
package runtime
