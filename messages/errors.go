package messages

import "fmt"

// Error is a wire error: viabtc's numeric code and message. Codes 10–12 mean
// different things for different methods, so the catalogue below has one
// value per (code, meaning); two Errors are the same error when code and
// message match. Codes are never reused for a new meaning.
type Error struct {
	Code    int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s (code %d)", e.Message, e.Code) }

// Is reports whether target is an *Error with the same code and message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Message == e.Message
}

// The error catalogue (docs/protocol.md "Errors").
var (
	ErrInvalidArgument   = &Error{1, "invalid argument"}
	ErrInternal          = &Error{2, "internal error"}
	ErrUnavailable       = &Error{3, "service unavailable"}
	ErrMethodNotFound    = &Error{4, "method not found"}
	ErrServiceTimeout    = &Error{5, "service timeout"}
	ErrRequireAuth       = &Error{6, "require authentication"}
	ErrTooManyRequests   = &Error{7, "too many requests"}           // Bourse: a rate limit (README "Limits")
	ErrLimitExceeded     = &Error{8, "limit exceeded"}              // Bourse: a configured count limit (README "Limits")
	ErrOutcomeUnknown    = &Error{9, "outcome unknown"}             // Bourse: the journal failed and could not tell whether the write is kept; the node stops
	ErrRepeatUpdate      = &Error{10, "repeat update"}              // balance.update
	ErrBalanceNotEnough  = &Error{10, "balance not enough"}         // order.put_*
	ErrWithdrawNotEnough = &Error{11, "balance not enough"}         // balance.update
	ErrAmountTooSmall    = &Error{11, "amount too small"}           // order.put_*
	ErrNoEnoughTrader    = &Error{12, "no enough trader"}           // order.put_market
	ErrOrderNotFound     = &Error{10, "order not found"}            // order.cancel
	ErrUserNotMatch      = &Error{11, "user not match"}             // order.cancel
	ErrWouldTake         = &Error{13, "order would take liquidity"} // order.put_limit_ex, post_only
	ErrClientIDInUse     = &Error{14, "client order id in use"}     // order.put_*_ex, order.put_stop_*
	ErrStopWouldTrigger  = &Error{15, "stop price already reached"} // order.put_stop_*
	ErrMarketHalted      = &Error{16, "market halted"}              // order.put_*: market.halt
)

// Catalogue lists every error above, for documentation and tests.
var Catalogue = []*Error{
	ErrInvalidArgument, ErrInternal, ErrUnavailable, ErrMethodNotFound,
	ErrServiceTimeout, ErrRequireAuth, ErrTooManyRequests, ErrLimitExceeded, ErrOutcomeUnknown, ErrRepeatUpdate, ErrBalanceNotEnough,
	ErrWithdrawNotEnough, ErrAmountTooSmall, ErrNoEnoughTrader,
	ErrOrderNotFound, ErrUserNotMatch, ErrWouldTake, ErrClientIDInUse, ErrStopWouldTrigger,
	ErrMarketHalted,
}
