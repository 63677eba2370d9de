package messages

// History: viabtc's readhistory methods (docs/protocol.md "History"),
// answered by the history store (persistence/history) from the rows it
// derived from the durable journal.
//
// Unlike the rest of the vocabulary, history names markets and assets by
// name and carries decimals as text: a history row keeps what was true when
// it was written (the market's name, the precision its values were
// printed at), whatever the configuration says today. Decimal fields are
// plain notation with trailing zeros stripped (docs/protocol.md D2), e.g. "0.5",
// "-1.25", "0". Times in records are Unix microseconds; the commands' time
// filters are Unix seconds, as on the wire.
//
// Every command is answered with *ErrorReply ErrInvalidArgument when a
// field is outside the range stated on it, ErrUnavailable when too many
// queries are pending (docs/protocol.md "History") and ErrInternal when the store fails.

// HistoryMaxLimit is the largest page the history commands accept.
const HistoryMaxLimit = 101

// BalanceHistory asks a user's balance changes, newest first: User ≥ 1;
// Asset and Business "" mean any, otherwise exact match; Start ≤ time < End
// (Unix seconds, 0 = unbounded; Start > End with End ≠ 0 is invalid);
// Offset ≥ 0, Limit 1..HistoryMaxLimit. Answered with *BalanceHistoryReply.
type BalanceHistory struct {
	User       uint32
	Asset      string
	Business   string
	Start, End int64
	Offset     int
	Limit      int
}

// FinishedOrders asks a user's finished orders in one market (exact name),
// newest first (order id descending): Side 0 (both), Ask or Bid; Start and
// End filter the creation time as in BalanceHistory; User, Offset and Limit
// as in BalanceHistory. Answered with *FinishedOrdersReply.
type FinishedOrders struct {
	User       uint32
	Market     string
	Side       Side
	Start, End int64
	Offset     int
	Limit      int
}

// FinishedOrderDetail asks one finished order (OrderID ≥ 1); answered with
// *FinishedOrderDetailReply.
type FinishedOrderDetail struct {
	OrderID uint64
}

// OrderDeals asks the deals of one order (OrderID ≥ 1), newest first, from
// that order's side; Offset and Limit as in BalanceHistory. Answered with
// *DealHistoryReply.
type OrderDeals struct {
	OrderID uint64
	Offset  int
	Limit   int
}

// UserDeals asks a user's deals in one market (exact name), newest first,
// a record per side the user took (both for a self-trade); User, Offset and
// Limit as in BalanceHistory. Answered with *DealHistoryReply.
type UserDeals struct {
	User   uint32
	Market string
	Offset int
	Limit  int
}

func (*BalanceHistory) command()      {}
func (*FinishedOrders) command()      {}
func (*FinishedOrderDetail) command() {}
func (*OrderDeals) command()          {}
func (*UserDeals) command()           {}

func (*BalanceHistory) historyCommand()      {}
func (*FinishedOrders) historyCommand()      {}
func (*FinishedOrderDetail) historyCommand() {}
func (*OrderDeals) historyCommand()          {}
func (*UserDeals) historyCommand()           {}

// BalanceRecord is one balance change: Change signed, Balance the total
// (available + frozen) after it, both at the asset's prec_save when
// written. Detail is the JSON object stored with the change (balance.update's
// detail with "id", or a deal leg's {"a","i","m","p"} and "f").
type BalanceRecord struct {
	Time     int64
	Asset    string
	Business string
	Change   string
	Balance  string
	Detail   []byte
}

// FinishedOrder is an order as it finished. FTime is its last change: the
// last fill, or the cancel (docs/protocol.md D7). Price and MakerFee are "0" for a
// market order; Amount is money for a market buy.
type FinishedOrder struct {
	ID        uint64
	CTime     int64
	FTime     int64
	User      uint32
	Market    string
	Source    string
	Type      OrderType
	Side      Side
	Price     string
	Amount    string
	TakerFee  string
	MakerFee  string
	DealStock string
	DealMoney string
	DealFee   string
	// The order options, as on Order; zero values are viabtc's behaviour
	// (and what orders finished before the history stored options have).
	// StopPrice is a decimal like Price, "" when the order is not a stop
	// order.
	ClientID  string
	StopPrice string
	Triggered bool
	TIF       TimeInForce
	PostOnly  bool
	STP       STP
}

// DealRecord is one side of a deal: the order OrderID of User, on Side,
// with Role, matched against DealOrderID. Deal is the money exchanged; Fee
// is what this side paid (money for an ask, stock for a bid) and DealFee
// what the other side paid.
type DealRecord struct {
	Time        int64
	User        uint32
	ID          uint64 // the deal id
	OrderID     uint64
	DealOrderID uint64
	Market      string
	Side        Side
	Role        Role
	Price       string
	Amount      string
	Deal        string
	Fee         string
	DealFee     string
}

// BalanceHistoryReply answers BalanceHistory.
type BalanceHistoryReply struct{ Records []BalanceRecord }

// FinishedOrdersReply answers FinishedOrders.
type FinishedOrdersReply struct{ Records []FinishedOrder }

// FinishedOrderDetailReply answers FinishedOrderDetail; Order is nil when
// no finished order has that id.
type FinishedOrderDetailReply struct{ Order *FinishedOrder }

// DealHistoryReply answers OrderDeals and UserDeals.
type DealHistoryReply struct{ Records []DealRecord }

func (*BalanceHistoryReply) reply()      {}
func (*FinishedOrdersReply) reply()      {}
func (*FinishedOrderDetailReply) reply() {}
func (*DealHistoryReply) reply()         {}
