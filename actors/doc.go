// Package actors holds Bourse's actors and the pure state machines they wrap.
//
//   - market: one actor per market, owning its order book (market/book).
//   - balance: one actor per balance shard (user_id % N), owning its ledger
//     (balance/ledger).
//   - Router: the Exchange that edges call; it routes each command to the
//     owning actor and awaits the reply.
//
// The cores (book, ledger, fixed) are pure: no I/O, no clock, no goroutines.
package actors
