// Package ledger is one balance shard's accounts: a pure state machine.
//
// For every (user, asset) it keeps available and frozen amounts at the
// asset's prec_save, as uint256 units. It imports no time, randomness, I/O or
// goroutines: times arrive in commands and events.
//
// Balance updates are decided (DecideUpdate: all checks, no mutation) and
// then applied (Apply). Order events decided by a market (OrderPlaced,
// Trade, OrderFinished) are applied for the users this shard owns. The one
// transient state outside events is a reservation: Reserve moves funds from
// available to frozen for an order in flight to its market; if the market
// rejects the order, Unreserve moves them back. On replay OrderPlaced makes
// that move instead (ApplyMode Replay).
//
// Idempotency keys (user, asset, business, business_id) of accepted updates
// are part of the state for the configured window, measured by the ledger's
// idempotency clock (Ledger.Clock): it follows the journaled time of the
// applied updates, never goes back and moves by at most 1/ClockSteps of the
// window per update, so a wall clock that jumps forward cannot expire the
// keys at once. A key accepted at clock a is a repeat through a + window
// included.
package ledger
