package messages

import "github.com/holiman/uint256"

// Side is an order's side, with viabtc's wire values.
type Side uint8

// Order sides.
const (
	Ask Side = 1 // sell stock for money
	Bid Side = 2 // buy stock with money
)

// Opposite returns the other side.
func (s Side) Opposite() Side { return 3 - s }

// OrderType is limit or market, with viabtc's wire values.
type OrderType uint8

// Order types.
const (
	Limit  OrderType = 1
	Market OrderType = 2
)

// Role is a trade participant's role, with viabtc's wire values.
type Role uint8

// Trade roles.
const (
	Maker Role = 1
	Taker Role = 2
)

// AssetID indexes configuration's asset list; MarketID its market list.
type (
	AssetID  uint16
	MarketID uint16
)

// Order is a snapshot of one order as the market actor holds it. Units:
// Price at the market's money_prec; Amount, Left and DealStock at stock_prec
// (for a market buy, Amount is money at money_prec and Left is unused: the
// unspent money is Frozen); TakerFee and MakerFee at fee_prec; DealMoney and
// Frozen-in-money at the money asset's prec_save; Frozen-in-stock at the stock
// asset's prec_save; DealFee at the prec_save of the asset the owner receives
// (stock for a bid, money for an ask). Times are Unix microseconds.
type Order struct {
	ID        uint64
	Market    MarketID
	Type      OrderType
	Side      Side
	User      uint32
	CTime     int64
	MTime     int64
	Price     int64
	Amount    int64
	TakerFee  int64
	MakerFee  int64
	Left      int64
	DealStock int64
	DealMoney uint256.Int
	DealFee   uint256.Int
	Frozen    uint256.Int
	Source    string
	// Bourse's order options (README "Order options"); zero values are
	// viabtc's behaviour. ClientID is the client's id, unique among the
	// user's open orders in the market. StopPrice (money_prec), if not 0,
	// makes a stop order: it is held, not matched, until a trade in the
	// market prints at or beyond it; Triggered says that has happened (the
	// order then behaves as a new order of its Type). TIF, PostOnly and STP
	// as in PutLimit.
	ClientID  string
	StopPrice int64
	Triggered bool
	TIF       TimeInForce
	PostOnly  bool
	STP       STP
}

// Held reports whether o is a stop order waiting for its trigger.
func (o *Order) Held() bool { return o.StopPrice != 0 && !o.Triggered }

// Balance is one user's holding of one asset at the asset's prec_save.
type Balance struct {
	Available uint256.Int
	Frozen    uint256.Int
}
