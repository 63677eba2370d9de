package messages

import "github.com/holiman/uint256"

// Reply answers one Command. A failed command is answered with *ErrorReply.
type Reply interface{ reply() }

// ErrorReply carries a catalogue error.
type ErrorReply struct{ Err *Error }

// StatusReply is viabtc's {"status":"success"}.
type StatusReply struct{}

// BalanceQueryReply lists balances in the order of the query's assets (all
// configured assets, in configuration order, when the query named none).
type BalanceQueryReply struct {
	Assets   []AssetID
	Balances []Balance
}

// AssetSummaryRow is one asset's totals over the accounts of one shard (or,
// once the router has summed them, of all shards). Amounts at prec_save.
type AssetSummaryRow struct {
	Asset          AssetID
	AvailableCount int
	Available      uint256.Int
	FrozenCount    int
	Frozen         uint256.Int
}

// AssetSummaryReply answers AssetSummary.
type AssetSummaryReply struct{ Rows []AssetSummaryRow }

// OrderReply carries an order as it stands after the command.
type OrderReply struct{ Order Order }

// CancelAllReply answers CancelAll: how many orders were cancelled.
type CancelAllReply struct{ Count int }

// CancelAfterReply answers CancelAfter: the switch's deadline (Unix
// microseconds), 0 when it is off.
type CancelAfterReply struct{ Deadline int64 }

// OrderListReply is a page of orders plus the total count.
type OrderListReply struct {
	Total  int
	Orders []Order
}

// DepthLevel is one price level: Price at money_prec, Amount (Σ left) at
// stock_prec.
type DepthLevel struct {
	Price  int64
	Amount int64
}

// DepthReply answers OrderDepth, best levels first on each side.
type DepthReply struct{ Asks, Bids []DepthLevel }

// OrderDetailReply answers OrderPendingDetail; Order is nil when the order
// is not resting in that market.
type OrderDetailReply struct{ Order *Order }

// MarketSummaryReply answers MarketSummary; amounts at stock_prec.
type MarketSummaryReply struct {
	Market    MarketID
	AskCount  int
	AskAmount int64
	BidCount  int
	BidAmount int64
	// Halted: the market is halted (market.halt).
	Halted bool
}

func (*ErrorReply) reply()         {}
func (*StatusReply) reply()        {}
func (*BalanceQueryReply) reply()  {}
func (*AssetSummaryReply) reply()  {}
func (*OrderReply) reply()         {}
func (*CancelAllReply) reply()     {}
func (*CancelAfterReply) reply()   {}
func (*OrderListReply) reply()     {}
func (*DepthReply) reply()         {}
func (*OrderDetailReply) reply()   {}
func (*MarketSummaryReply) reply() {}
