package messages

import (
	"github.com/holiman/uint256"
)

// Command is a request to the exchange. Every command names the Address its
// reply goes to (ReplyTo); the actor that answers sends exactly one Reply
// there. Times are Unix microseconds read by the edge that built the command.
type Command interface{ command() }

// Address is where a reply goes. This package only carries it: the actor
// runtime that delivers replies defines it (package actors turns a process
// id into one and back), so the vocabulary and the pure cores built on it
// stay free of the actor library. An Address holds a pointer, so setting
// one in a command does not allocate.
type Address interface{ ReplyAddress() }

// BalanceQuery asks a user's balances; answered by the user's balance shard
// with *BalanceQueryReply. Assets empty means every configured asset.
type BalanceQuery struct {
	ReplyTo Address
	User    uint32
	Assets  []AssetID
}

// BalanceUpdate deposits (Change ≥ 0) or withdraws (Negative) Change units of
// Asset at its prec_save, idempotent on (User, Asset, Business, BusinessID).
// Answered with *StatusReply or ErrRepeatUpdate / ErrWithdrawNotEnough.
type BalanceUpdate struct {
	ReplyTo    Address
	User       uint32
	Asset      AssetID
	Business   string
	BusinessID uint64
	Change     uint256.Int
	Negative   bool
	Detail     []byte // a JSON object, as given
	Time       int64
}

// AssetSummary asks one balance shard for its partial sums of Assets (empty:
// all); answered with *AssetSummaryReply. The router sums the shards.
type AssetSummary struct {
	ReplyTo Address
	Assets  []AssetID
}

// PutLimit places a limit order. Amount at stock_prec, Price at money_prec,
// fee rates at fee_prec. Sent to the user's shard, which reserves the funds
// and forwards the same message to the market; answered with *OrderReply.
type PutLimit struct {
	ReplyTo  Address
	User     uint32
	Market   MarketID
	Side     Side
	Amount   int64
	Price    int64
	TakerFee int64
	MakerFee int64
	Source   string
	Time     int64
	// Reservation is set by the shard before it forwards the order: its id
	// for the funds it reserved (live only, see OrderPlaced).
	Reservation uint64
	// Options of order.put_limit_ex; zero values: viabtc's put_limit
	// (good till cancelled, may take liquidity, the market's STP mode).
	TIF      TimeInForce
	PostOnly bool
	STP      STP
	// ClientID: the client's order id ("" none). StopPrice (money_prec):
	// not 0 makes a stop-limit order (order.put_stop_limit).
	ClientID  string
	StopPrice int64
}

// TimeInForce says how long a limit order's unfilled part stays.
type TimeInForce uint8

// Times in force.
const (
	GTC TimeInForce = iota // good till cancelled: the remainder rests
	IOC                    // immediate or cancel: the remainder is cancelled
	FOK                    // fill or kill: filled entirely at once, or refused (code 12)
)

// STP is a self-trade prevention mode: what happens when an order would
// trade with a resting order of the same user.
type STP uint8

// Self-trade prevention modes. STPDefault takes the market's (config
// markets[].stp, default none).
const (
	STPDefault     STP = iota
	STPNone            // trade with yourself (viabtc)
	STPCancelTaker     // the incoming order's remainder is cancelled
	STPCancelMaker     // the resting order is cancelled; matching goes on
	STPCancelBoth      // both
)

var (
	tifNames = [...]string{GTC: "GTC", IOC: "IOC", FOK: "FOK"}
	stpNames = [...]string{STPDefault: "", STPNone: "none", STPCancelTaker: "cancel_taker", STPCancelMaker: "cancel_maker", STPCancelBoth: "cancel_both"}
)

// String returns the wire name: "GTC", "IOC" or "FOK".
func (t TimeInForce) String() string {
	if int(t) < len(tifNames) {
		return tifNames[t]
	}
	return "?"
}

// String returns the wire name: "none", "cancel_taker", "cancel_maker",
// "cancel_both", or "" for STPDefault.
func (s STP) String() string {
	if int(s) < len(stpNames) {
		return stpNames[s]
	}
	return "?"
}

// CancelAll cancels every resting order of User in Market, on one Side or
// (Side 0) both: one journal record. Answered with *CancelAllReply.
type CancelAll struct {
	ReplyTo Address
	User    uint32
	Market  MarketID
	Side    Side // 0: both sides
	Time    int64
}

// PutMarket places a market order: Amount is stock at stock_prec for an ask,
// money at money_prec for a bid (docs/protocol.md D8). Flow as PutLimit.
type PutMarket struct {
	ReplyTo  Address
	User     uint32
	Market   MarketID
	Side     Side
	Amount   int64
	TakerFee int64
	Source   string
	Time     int64
	// Reservation: as in PutLimit.
	Reservation uint64
	// Options: as in PutLimit; StopPrice not 0 makes a stop-market order
	// (order.put_stop_market).
	STP       STP
	ClientID  string
	StopPrice int64
}

// Cancel cancels an open order, named by OrderID or, when ClientID is not
// empty, by the user's client order id; sent to the market, answered with
// *OrderReply or ErrOrderNotFound / ErrUserNotMatch.
type Cancel struct {
	ReplyTo  Address
	User     uint32
	Market   MarketID
	OrderID  uint64
	ClientID string
	Time     int64
}

// Amend reduces an open limit order's Amount (stock_prec) in place, keeping
// its priority: the new amount must be less than the old and more than what
// has been dealt. The order is named as in Cancel. Answered with
// *OrderReply.
type Amend struct {
	ReplyTo  Address
	User     uint32
	Market   MarketID
	OrderID  uint64
	ClientID string
	Amount   int64
	Time     int64
}

// CancelAfter arms (Timeout > 0, microseconds) or disarms (0) User's
// dead-man's switch in Market: unless renewed, the user's open orders there
// are cancelled at Time+Timeout. Answered with *CancelAfterReply.
type CancelAfter struct {
	ReplyTo Address
	User    uint32
	Market  MarketID
	Timeout int64
	Time    int64
}

// MarketHalt halts Market (Halt) or resumes it (market.halt,
// market.resume): while halted the market refuses new orders with
// ErrMarketHalted; cancels, amends and dead-man's switches still work.
// Answered with *StatusReply, also when the market already was so (then
// nothing is journaled).
type MarketHalt struct {
	ReplyTo Address
	Market  MarketID
	Halt    bool
	Time    int64
}

// OrderBook lists one side of a market's book in priority order; answered
// with *OrderListReply.
type OrderBook struct {
	ReplyTo       Address
	Market        MarketID
	Side          Side
	Offset, Limit int
}

// OrderDepth asks aggregated price levels, merged to multiples of Interval
// (money_prec units; 0 = no merging); answered with *DepthReply.
type OrderDepth struct {
	ReplyTo  Address
	Market   MarketID
	Limit    int
	Interval int64
}

// OrderPending lists a user's resting orders in a market, newest first;
// answered with *OrderListReply.
type OrderPending struct {
	ReplyTo       Address
	User          uint32
	Market        MarketID
	Offset, Limit int
}

// OrderPendingDetail asks one open order, by OrderID or, when ClientID is
// not empty, by User's client order id; answered with *OrderDetailReply.
type OrderPendingDetail struct {
	ReplyTo  Address
	Market   MarketID
	OrderID  uint64
	User     uint32
	ClientID string
}

// MarketSummary asks a market's resting counts and amounts; answered with
// *MarketSummaryReply.
type MarketSummary struct {
	ReplyTo Address
	Market  MarketID
}

func (*BalanceQuery) command()       {}
func (*BalanceUpdate) command()      {}
func (*AssetSummary) command()       {}
func (*PutLimit) command()           {}
func (*PutMarket) command()          {}
func (*Cancel) command()             {}
func (*CancelAll) command()          {}
func (*Amend) command()              {}
func (*CancelAfter) command()        {}
func (*MarketHalt) command()         {}
func (*OrderBook) command()          {}
func (*OrderDepth) command()         {}
func (*OrderPending) command()       {}
func (*OrderPendingDetail) command() {}
func (*MarketSummary) command()      {}

// HistoryCommand is a Command answered by the history store (the readhistory
// methods, persistence/history) rather than by a market or shard actor.
type HistoryCommand interface {
	Command
	historyCommand()
}

// MarketDataCommand is a Command answered by the market data follower (the
// marketprice methods, persistence/marketdata).
type MarketDataCommand interface {
	Command
	marketDataCommand()
}

// ConfigCommand is an operator's change of the durable configuration
// (asset.add, market.add, market.update): the router hands it to the node,
// which checks it against the configuration in force, journals the whole
// new configuration as a ConfigSet and, once that is durable, applies it.
// Answered with *StatusReply, or code 1 naming the parameter and the rule
// it breaks (nothing changed).
type ConfigCommand interface {
	Command
	configCommand()
}

// AssetAdd lists a new asset (asset.add); its id is the next one.
// PrecShow < 0: PrecSave.
type AssetAdd struct {
	Name     string
	PrecSave int
	PrecShow int
}

// MarketAdd lists a new market of two listed assets (market.add); its id
// is the next one. MinAmount "" is the default (0.01), MaxOpenOrders 0 the
// default (1000; -1 no limit), STP "" none, FeePrec < 0 the default (4),
// MakerFee and TakerFee "" the default (0).
type MarketAdd struct {
	Name, Stock, Money   string
	StockPrec, MoneyPrec int
	FeePrec              int
	MinAmount            string
	MaxOpenOrders        int
	STP                  string
	MakerFee, TakerFee   string
}

// MarketUpdate changes a market's trading rules (market.update); a nil
// field is left as it is.
type MarketUpdate struct {
	Market        MarketID
	MinAmount     *string
	MaxOpenOrders *int
	STP           *string
	MakerFee      *string
	TakerFee      *string
}

func (*AssetAdd) command()           {}
func (*MarketAdd) command()          {}
func (*MarketUpdate) command()       {}
func (*AssetAdd) configCommand()     {}
func (*MarketAdd) configCommand()    {}
func (*MarketUpdate) configCommand() {}
