// Package book is one market's order book: a pure state machine.
//
// It imports no time, randomness, I/O or goroutines: the time of a command
// arrives in the command, ids come from counters in the book's own state, and
// the same commands produce the same events and the same state, byte for byte.
//
// Every change goes through two steps. Decide (PutLimit, PutMarket, Cancel)
// runs every check without mutating anything and returns the events the
// command causes, or a catalogue error with the book unchanged. Apply mutates
// the book by one event. Live, the market actor calls Execute (decide, then
// apply each event); on replay the journal's events are applied directly with
// the very same Apply.
//
// Matching is price-time priority with the maker's price, exactly as viabtc
// (docs/protocol.md "Order semantics"): fees in the asset received, truncated toward zero when
// applied to a balance, market buys spending money truncated at money_prec
// (docs/protocol.md D8). Quantities are fixed-point units (package actors/fixed).
//
// Order ids and deal ids are unique across markets: id = seq<<10 | market,
// where seq counts from 1 in each market. They never repeat, also across
// restarts, because the counters are part of the replayed state.
package book
