package messages

import "github.com/holiman/uint256"

// EventType is an event's stable numeric code in the journal. Codes are
// never reused.
type EventType uint8

// Event type codes.
const (
	TypeBalanceUpdated EventType = 1
	TypeOrderPlaced    EventType = 2
	TypeTrade          EventType = 3
	TypeOrderRested    EventType = 4
	TypeOrderFinished  EventType = 5
	TypeStopTriggered  EventType = 6
	TypeOrderAmended   EventType = 7
	TypeCancelAfterSet EventType = 8
	TypeConfigSet      EventType = 9
	TypeMarketHalted   EventType = 10
)

// Event is an outcome: a state change already decided. Replay applies events
// without re-checking anything. An order command produces, in this order:
// OrderPlaced for the new order, one Trade per fill (each followed by
// OrderFinished for a maker it filled completely), then OrderRested if the
// remainder rests or OrderFinished if the order is done.
//
// Scope says which market and which users an event touches (scope.go).
type Event interface {
	Type() EventType
	Scope() Scope
}

// BalanceUpdated records an accepted balance.update; Change at prec_save.
type BalanceUpdated struct {
	User       uint32
	Asset      AssetID
	Business   string
	BusinessID uint64
	Change     uint256.Int
	Negative   bool
	Detail     []byte
	Time       int64
}

// A stop order's placement is OrderPlaced then OrderRested: it is open
// (pending) but held outside the book. When a trade reaches its stop price,
// StopTriggered makes it the taker of what follows, which is then what any
// new order of its type causes. A command's own events come first, then
// those of the stop orders its trades triggered, in the order they
// triggered.
//
// OrderPlaced records a new order as it was before matching, with its
// reservation: Order.Frozen units of FrozenAsset (stock for an ask, money
// for a bid) moved from available to frozen. Live, the shard made that move
// when it reserved the funds; on replay this event makes it.
type OrderPlaced struct {
	Order       Order
	FrozenAsset AssetID
}

// Trade records one fill between a resting maker and the incoming taker.
// Price at money_prec, Amount at stock_prec; the remaining fields are what
// the ledger moves, each at its asset's prec_save:
//
//	ask user: frozen Stock −StockQty;  available Money +Deal −AskFee
//	bid user: frozen Money −BidFrozen; available Money +(BidFrozen−Deal);
//	          available Stock +StockQty −BidFee
//	fee user: available Money +AskFee; available Stock +BidFee
type Trade struct {
	Market    MarketID
	DealID    uint64
	Time      int64
	TakerSide Side
	AskOrder  uint64
	BidOrder  uint64
	AskUser   uint32
	BidUser   uint32
	Price     int64
	Amount    int64
	Stock     AssetID
	Money     AssetID
	StockQty  uint256.Int
	Deal      uint256.Int
	AskFee    uint256.Int
	BidFee    uint256.Int
	BidFrozen uint256.Int
}

// OrderRested records that the taker's unfilled remainder now rests in the
// book, keeping its reservation.
type OrderRested struct {
	Market  MarketID
	OrderID uint64
	Time    int64
}

// OrderFinished records that an order left the market: filled, cancelled
// (Cancelled), or a market order done. Release units of Asset go back from
// frozen to available for User.
type OrderFinished struct {
	Market    MarketID
	OrderID   uint64
	User      uint32
	Time      int64
	Cancelled bool
	Asset     AssetID
	Release   uint256.Int
}

// StopTriggered records that a trade at Price (the market's last price)
// reached held stop order OrderID: it leaves the held set and is matched.
type StopTriggered struct {
	Market  MarketID
	OrderID uint64
	Time    int64
	Price   int64
}

// OrderAmended records that open order OrderID of User now has Amount
// (stock_prec) and Left, in the same place in the queue; Release units of
// Asset go back from frozen to available.
type OrderAmended struct {
	Market  MarketID
	OrderID uint64
	User    uint32
	Time    int64
	Amount  int64
	Left    int64
	Asset   AssetID
	Release uint256.Int
}

// CancelAfterSet records User's dead-man's switch in Market: at Deadline
// (Unix microseconds) the user's open orders there are cancelled. Deadline 0
// switches it off; that is also the first event of the record that fires it.
type CancelAfterSet struct {
	Market   MarketID
	User     uint32
	Deadline int64
	Time     int64
}

// Type implements Event.
func (*BalanceUpdated) Type() EventType { return TypeBalanceUpdated }

// Type implements Event.
func (*OrderPlaced) Type() EventType { return TypeOrderPlaced }

// Type implements Event.
func (*Trade) Type() EventType { return TypeTrade }

// Type implements Event.
func (*OrderRested) Type() EventType { return TypeOrderRested }

// Type implements Event.
func (*OrderFinished) Type() EventType { return TypeOrderFinished }

// Type implements Event.
func (*StopTriggered) Type() EventType { return TypeStopTriggered }

// Type implements Event.
func (*OrderAmended) Type() EventType { return TypeOrderAmended }

// Type implements Event.
func (*CancelAfterSet) Type() EventType { return TypeCancelAfterSet }

// Type implements Event.
func (*ConfigSet) Type() EventType { return TypeConfigSet }

// Type implements Event.
func (*MarketHalted) Type() EventType { return TypeMarketHalted }

// MarketHalted records that Market was halted (Halted) or resumed: while
// halted it refuses new orders (MarketHalt).
type MarketHalted struct {
	Market MarketID
	Halted bool
	Time   int64
}

// ConfigSet records the exchange's durable configuration from this record
// on: what gives the stored state its meaning (the fee account, the balance
// shard count, assets and markets with their ids and precisions) and the
// markets' trading rules. A new journal's first record holds one; start-up
// appends another when the configuration file adds assets or markets or
// changes a prec_show (internal/config CheckSpec says which changes are
// allowed), and so do the operator's asset.add, market.add and
// market.update at run time (runtime/configure.go). It is a record of its
// own.
// Ids are positions: asset i is Assets[i], market i is Markets[i]. Replay
// changes no balance or order for it.
type ConfigSet struct {
	FeeUser uint32
	Shards  uint32
	Assets  []AssetSpec
	Markets []MarketSpec
	// Fees says the markets' MakerFee and TakerFee are recorded: false only
	// in a ConfigSet written before they were durable (messages/codec),
	// whose markets take their fee rates from the configuration file.
	Fees bool
}

// AssetSpec is one asset of a ConfigSet.
type AssetSpec struct {
	Name     string
	PrecSave uint8
	PrecShow uint8
}

// MarketSpec is one market of a ConfigSet. MinAmount is at StockPrec;
// MaxOpenOrders 0 means no limit; MakerFee and TakerFee, the fee rates of
// the orders a websocket connection places, are at FeePrec.
type MarketSpec struct {
	Name          string
	Stock, Money  AssetID
	StockPrec     uint8
	MoneyPrec     uint8
	FeePrec       uint8
	MinAmount     int64
	MaxOpenOrders uint64
	STP           STP
	MakerFee      int64
	TakerFee      int64
}
